"""The quantized operators FX lowering calls, registered as ``ember.ops.quantized.*``
with PyTorch's names and argument order: ``add`` / ``add_relu`` / ``mul`` / ``mul_relu``
(two quantized tensors re-quantized to given parameters, or a tensor and a number with
parameters derived from the input's) and ``linear`` (a packed int8 weight)."""

from __future__ import annotations

import ember


def _scalar_mul(qa, c):
    """``quantized::mul`` by a number: the integers are kept (mirrored for c < 0) and
    the scale scaled, as PyTorch's kernel does; c == 0 gives zeros with scale 1."""
    from ...._ops.quantized import _QRANGE, _new_qtensor, per_tensor_affine

    _, qmin, qmax = _QRANGE[qa.dtype]
    ints = qa.int_repr()._data
    scale, zero_point = qa.q_scale(), qa.q_zero_point()
    if c == 0:
        return _new_qtensor(ints * 0, qa.dtype, per_tensor_affine, 1.0, 0)
    if c > 0:
        return _new_qtensor(ints.copy(), qa.dtype, per_tensor_affine, c * scale, zero_point)
    mirrored = (qmax - (ints.astype("int64") - qmin)).astype(ints.dtype)
    return _new_qtensor(mirrored, qa.dtype, per_tensor_affine, -c * scale,
                        qmax - (zero_point - qmin))


def _scalar_add(qa, c):
    """``quantized::add`` of a number: a shift of the zero point when it stays in range
    (integers kept), else a re-quantization onto the range grown to include the shift
    (PyTorch's kernel)."""
    from ...._ops.quantized import _QRANGE, _new_qtensor, per_tensor_affine

    _, qmin, qmax = _QRANGE[qa.dtype]
    scale, zero_point = qa.q_scale(), qa.q_zero_point()
    shifted = zero_point - round(c / scale)  # half to even, as nearbyint
    if qmin <= shifted <= qmax:
        return _new_qtensor(qa.int_repr()._data.copy(), qa.dtype, per_tensor_affine, scale,
                            shifted)
    if shifted < qmin:
        new_scale = ((qmax - zero_point) * scale + c) / (qmax - qmin)
        new_zero_point = qmin
    else:
        new_scale = ((zero_point - qmin) * scale - c) / (qmax - qmin)
        new_zero_point = qmax
    return ember.quantize_per_tensor(qa.dequantize() + c, new_scale, new_zero_point, qa.dtype)


def _quantized_binary(op, relu, scalar_op):
    """``quantized::add``-style op: the real-valued result re-quantized to the given
    parameters (the operands' own parameters may differ); with a number for ``qb`` the
    output parameters follow from the input's."""

    def call(qa, qb, scale=None, zero_point=None):
        if not isinstance(qb, ember.Tensor):
            out = scalar_op(qa, float(qb))
            return ember.relu(out) if relu else out
        real = op(qa.dequantize(), qb.dequantize())
        if relu:
            real = ember.relu(real)
        return ember.quantize_per_tensor(real, float(scale), int(zero_point), qa.dtype)

    return call


def _register_quantized_ops():
    from .... import ops
    from ...._ops import _quantized_kernels

    def linear(X, W_prepack, Y_scale_i, Y_zero_point_i):  # noqa: N803 - torch's schema
        return _quantized_kernels.linear_quantized(X, W_prepack, float(Y_scale_i),
                                                   int(Y_zero_point_i))

    ops._register("quantized", "linear", "default", linear)
    for name, op, relu, scalar_op in (
            ("add", ember.add, False, _scalar_add), ("add_relu", ember.add, True, _scalar_add),
            ("mul", ember.mul, False, _scalar_mul), ("mul_relu", ember.mul, True, _scalar_mul)):
        ops._register("quantized", name, "default", _quantized_binary(op, relu, scalar_op))


_register_quantized_ops()
