"""The quantized operators FX lowering calls, registered as ``ember.ops.quantized.*``
with PyTorch's names and argument order: ``add`` / ``add_relu`` / ``mul`` / ``mul_relu``
(two quantized tensors re-quantized to given parameters, or a tensor and a number with
parameters derived from the input's) and ``linear`` (a packed int8 weight).

The arithmetic is PyTorch's CPU kernels' (QuantizedOpKernels.cpp), step for step,
because a different but equally reasonable order lands one integer off now and then:

* ``mul`` and ``add`` of a number stay in the integers: ``(a - za) * (b - zb)`` or
  ``a - z + round(c / s)``, then ``requantize_from_int``: ``z' + rint(float(v) * m)``
  with the float32 multiplier ``m = sa * sb * (1 / s')`` (``s / s'`` for the number).
* ``add`` of two tensors dequantizes both in float32, adds and quantizes. Its SIMD
  body dequantizes as one fused multiply-add, ``fma(s, q, float(s * -z))``, and
  quantizes as ``rint(float(x * (1 / s'))) + z'``; its scalar tail (the last
  ``numel % width`` elements of each contiguous run) dequantizes as
  ``float((q - z) * double(s))`` and rounds after adding the zero point in float32,
  ``rint(float(x * (1 / s')) + z')``. The two round apart for a few inputs in a
  million, so the elements are split as PyTorch splits them.
"""

from __future__ import annotations

import numpy as np

import ember

# Elements of one quantized SIMD vector per CPU capability (Vectorized<qint8>::size(), the
# same for quint8); DEFAULT dequantizes with the scalar formula, so no element differs.
_SIMD_WIDTH = {"AVX512": 64, "AVX2": 32}
_GRAIN_SIZE = 32768  # at::internal::GRAIN_SIZE: TensorIterator splits larger loops


def _qparts(qa):
    """(array module, integer array, scale, zero point, qmin, qmax, numpy int type)."""
    from ...._ops._util import xp_of
    from ...._ops.quantized import _QRANGE

    np_int, qmin, qmax = _QRANGE[qa.dtype]
    ints = qa.int_repr()._data
    return xp_of(ints), ints, qa.q_scale(), qa.q_zero_point(), qmin, qmax, np_int


def _wrap(ints, qa, scale, zero_point, np_int):
    from ...._ops.quantized import _new_qtensor, per_tensor_affine

    return _new_qtensor(ints.astype(np_int), qa.dtype, per_tensor_affine, scale, zero_point)


def _requantize_from_int(xp, values, multiplier, zero_point, qmin, qmax, relu):
    """at::native::requantize_from_int: ``z + lrintf(float(v) * m)`` in float32 (ties to
    even), clamped; fused relu keeps values at or above the zero point (0.0)."""
    scaled = values.astype(xp.float32) * xp.float32(multiplier)
    ints = xp.rint(scaled).astype(xp.int64) + zero_point
    return xp.clip(ints, zero_point if relu else qmin, qmax)


def _scalar_mul(qa, c, relu):
    """``quantized::mul`` by a number: the integers are kept (mirrored for c < 0) and
    the scale scaled, as PyTorch's kernel does; c == 0 gives zeros with scale 1."""
    xp, ints, scale, zero_point, qmin, qmax, np_int = _qparts(qa)
    if c == 0:
        return _wrap(ints * 0, qa, 1.0, 0, np_int)
    if c > 0:
        out, out_scale, out_zp = ints.astype(xp.int64), c * scale, zero_point
    else:
        out, out_scale, out_zp = qmax + qmin - ints.astype(xp.int64), -c * scale, \
            qmax - (zero_point - qmin)
    if relu:
        out = xp.maximum(out, out_zp)
    return _wrap(out, qa, out_scale, out_zp, np_int)


def _scalar_add(qa, c, relu):
    """``quantized::add`` of a number: a shift of the zero point by ``round(c / s)`` when
    it stays in range (integers kept), else the range grown to take the shift (the zero
    point at the range's end, the scale from the rounded shift, as PyTorch derives
    them) and the integers re-quantized onto it."""
    xp, ints, scale, zero_point, qmin, qmax, np_int = _qparts(qa)
    c_q = round(c / scale)  # nearbyint: half to even
    shifted = zero_point - c_q
    if qmin <= shifted <= qmax:
        out = xp.maximum(ints, ints.dtype.type(shifted)) if relu else ints.copy()
        return _wrap(out, qa, scale, shifted, np_int)
    if shifted < qmin:
        out_scale, out_zp = float(qmax - shifted) / float(qmax - qmin) * scale, qmin
    else:
        out_scale, out_zp = float(shifted - qmin) / float(qmax - qmin) * scale, qmax
    f32 = xp.float32
    multiplier = f32(scale) * (f32(1.0) / f32(out_scale))
    values = ints.astype(xp.int64) - zero_point + c_q
    out = _requantize_from_int(xp, values, multiplier, out_zp, qmin, qmax, relu)
    return _wrap(out, qa, out_scale, out_zp, np_int)


def _simd_positions(xp, out_shape, shapes, width):
    """Where PyTorch's loop takes the SIMD body: TensorIterator coalesces the trailing
    dimensions every operand walks contiguously into one run (a broadcast operand walks
    with stride 0), splits the flat index range among threads past the grain size, and
    each piece of a run is done ``width`` elements at a time, the rest one by one."""
    ndim = len(out_shape)
    strides = []
    for shape in shapes:  # C-contiguous strides of the operand broadcast to out_shape
        shape = (1,) * (ndim - len(shape)) + tuple(shape)
        stride, acc = [0] * ndim, 1
        for k in range(ndim - 1, -1, -1):
            stride[k] = acc if shape[k] != 1 else 0
            acc *= shape[k]
        strides.append(stride)
    dims = [k for k in range(ndim) if out_shape[k] != 1]
    run = 1
    if dims:
        inner = dims[-1]
        run = out_shape[inner]
        for k in reversed(dims[:-1]):
            if any(s[inner] * run != s[k] for s in strides):
                break
            run *= out_shape[k]
    numel = 1
    for size in out_shape:
        numel *= size
    index = xp.arange(numel)
    start, end = index - index % run, index - index % run + run
    threads = min(ember.get_num_threads(), -(-numel // _GRAIN_SIZE))
    if numel > _GRAIN_SIZE and threads > 1:
        chunk = -(-numel // threads)
        start = xp.maximum(start, index - index % chunk)
        end = xp.minimum(end, index - index % chunk + chunk)
    return ((index - start) < (end - start) // width * width).reshape(out_shape)


def _dequantize_as_kernel(xp, ints, scale, zero_point, simd):
    """float32 values of the integers, by the scalar formula or, where ``simd``, by the
    fused multiply-add (exact in float64: both terms are multiples of ulp(scale) below
    2**33 of them, so one rounding to float32 remains)."""
    f32, f64 = xp.float32, xp.float64
    scalar = ((ints.astype(f64) - zero_point) * f64(f32(scale))).astype(f32)
    if simd is None or zero_point == 0:  # no premultiplied term: the forms agree
        return scalar
    premul = f64(f32(f32(scale) * f32(-zero_point)))
    fused = (ints.astype(f64) * f64(f32(scale)) + premul).astype(f32)
    return xp.where(simd, fused, scalar)


def _check_same_dtype(qa, qb, what):
    if qa.dtype != qb.dtype:
        raise RuntimeError(f"{what} operands should have same data type.")


def _tensor_add(qa, qb, scale, zero_point, relu):
    """``quantized::add`` of two tensors (see the module docstring)."""
    _check_same_dtype(qa, qb, "Add")
    from ....backends.cpu import get_cpu_capability

    xp, a, a_scale, a_zp, qmin, qmax, np_int = _qparts(qa)
    _, b, b_scale, b_zp, _, _, _ = _qparts(qb)
    out_shape = np.broadcast_shapes(a.shape, b.shape)
    width = _SIMD_WIDTH.get(get_cpu_capability())
    simd = None
    if width and (a_zp or b_zp or zero_point):
        simd = _simd_positions(xp, out_shape, (a.shape, b.shape), width)
    total = (_dequantize_as_kernel(xp, a, a_scale, a_zp, simd)
             + _dequantize_as_kernel(xp, b, b_scale, b_zp, simd))
    if relu:
        total = xp.maximum(total, xp.float32(0.0))
    scaled = xp.broadcast_to(total * (xp.float32(1.0) / xp.float32(scale)), out_shape)
    out = xp.rint(scaled + xp.float32(zero_point))  # the scalar tail: rounded after the add
    if simd is not None and zero_point:
        out = xp.where(simd, xp.rint(scaled) + zero_point, out)
    return _wrap(xp.clip(out, qmin, qmax), qa, scale, zero_point, np_int)


def _tensor_mul(qa, qb, scale, zero_point, relu):
    """``quantized::mul`` of two tensors: the centred integers' product requantized."""
    _check_same_dtype(qa, qb, "Mul")
    xp, a, a_scale, a_zp, qmin, qmax, np_int = _qparts(qa)
    _, b, b_scale, b_zp, _, _, _ = _qparts(qb)
    f32 = xp.float32
    multiplier = f32(a_scale) * f32(b_scale) * (f32(1.0) / f32(scale))
    product = (a.astype(xp.int64) - a_zp) * (b.astype(xp.int64) - b_zp)
    out = _requantize_from_int(xp, product, multiplier, zero_point, qmin, qmax, relu)
    return _wrap(out, qa, scale, zero_point, np_int)


def _quantized_binary(tensor_op, scalar_op, relu):
    """``quantized::add``-style op: with a tensor for ``qb`` the result takes the given
    parameters (the operands' own may differ); with a number they follow from the
    input's."""

    def call(qa, qb, scale=None, zero_point=None):
        if not isinstance(qb, ember.Tensor):
            return scalar_op(qa, float(qb), relu)
        return tensor_op(qa, qb, float(scale), int(zero_point), relu)

    return call


def _register_quantized_ops():
    from .... import ops
    from ...._ops import _quantized_kernels

    def linear(X, W_prepack, Y_scale_i, Y_zero_point_i):  # noqa: N803 - torch's schema
        return _quantized_kernels.linear_quantized(X, W_prepack, float(Y_scale_i),
                                                   int(Y_zero_point_i))

    ops._register("quantized", "linear", "default", linear)
    for name, tensor_op, scalar_op, relu in (
            ("add", _tensor_add, _scalar_add, False), ("add_relu", _tensor_add, _scalar_add, True),
            ("mul", _tensor_mul, _scalar_mul, False), ("mul_relu", _tensor_mul, _scalar_mul, True)):
        ops._register("quantized", name, "default", _quantized_binary(tensor_op, scalar_op, relu))


_register_quantized_ops()
