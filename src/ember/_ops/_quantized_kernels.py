"""Integer kernels of the quantized modules: int8 x uint8 products accumulated exactly.

PyTorch's fbgemm kernels multiply uint8 activations by int8 weights, accumulate in int32
and rescale the sums to float. NumPy has no fast integer GEMM (its integer matmul is a
plain loop), so the centred integers ``q - zero_point`` go through a float BLAS GEMM
instead: every product and partial sum is an integer, and a float holds integers exactly
up to 2**24 (float32) or 2**53 (float64). The GEMM dtype is chosen from the bound
``K * max|a| * max|b|``, so the result equals the int32 accumulation bit for bit: the
arithmetic is int32's, only the instruction set differs.

The weight side is prepared once ("packed", as fbgemm packs its weights): centred,
transposed and cast to the GEMM dtype, with its float32 scales.
"""

from __future__ import annotations

from ._util import _make, xp_of
from .conv import conv2d
from .quantized import (
    _new_qtensor,
    _quantize_array,
    _quantized_values,
    backend_name,
    choose_qparams,
    per_tensor_affine,
    refuse_on_device,
)

_EXACT_FLOAT32 = 2**24


def _weight_parts(xp, qweight):
    """(centred integer weights as int64, float32 scales per output row, max |centred|)."""
    d = qweight.__dict__
    ints = qweight._data.astype(xp.int64)
    rows = ints.shape[0]
    if d["_qscheme"] is per_tensor_affine:
        centred = ints - d["_zero_point"]
        scales = xp.full(rows, xp.float32(d["_scale"]), dtype=xp.float32)
    else:
        if d["_axis"] != 0:
            raise RuntimeError("quantized linear/conv weights must be quantized along axis 0")
        shape = (rows,) + (1,) * (ints.ndim - 1)
        centred = ints - d["_zero_point"]._data.reshape(shape)
        scales = d["_scale"]._data.astype(xp.float32)
    bound = int(abs(centred).max()) if centred.size else 0
    return centred, scales, bound


class PackedWeight:
    """An int8 weight prepared for the integer GEMM: ``centred`` holds ``q - zero_point``
    as float32 (exact: |centred| <= 255) in the weight's own shape, with the float32
    scales per output channel and the float bias kept beside the quantized weight."""

    __slots__ = ("bias", "bound", "centred", "qweight", "scales")

    def __init__(self, qweight, bias, op="quantized::linear_prepack"):
        refuse_on_device(op, qweight)
        xp = xp_of(qweight._data)
        centred, self.scales, self.bound = _weight_parts(xp, qweight)
        self.qweight = qweight
        self.bias = bias
        self.centred = centred.astype(xp.float32)

    def in_dtype(self, xp, k, a_bound):
        """The centred weight in the GEMM dtype that keeps these sums exact."""
        if k * a_bound * self.bound < _EXACT_FLOAT32:
            return self.centred
        return self.centred.astype(xp.float64)


def _centred_product(xp, a_centred, a_bound, packed):
    """Exact sum_k a[m, k] * w[n, k] as float integers (the int32 accumulator)."""
    if a_centred.shape[-1] != packed.centred.shape[-1]:
        raise RuntimeError(
            f"The number of rows in the packB should be equal to K: {a_centred.shape[-1]}")
    weight = packed.in_dtype(xp, a_centred.shape[-1], a_bound)
    return a_centred.astype(weight.dtype) @ weight.T


def linear_dynamic(input, packed, reduce_range=True):
    """PyTorch's quantized::linear_dynamic: quantize the activations to uint8 with
    parameters from their own range, multiply in integers, rescale to float32, add bias."""
    refuse_on_device("quantized::linear_dynamic", input)
    x = input._data
    xp = xp_of(x)
    k = x.shape[-1]
    flat = x.reshape(-1, k)
    low = float(flat.min()) if flat.size else 0.0
    high = float(flat.max()) if flat.size else 0.0
    scale, zero_point = choose_qparams(low, high, 0, 255, reduce_range)
    centred = _quantized_values(xp, flat, scale, zero_point, 0, 255, fused=True)
    centred -= zero_point  # exact: small integers in float32
    # the range chosen maps onto [0, 127] (reduce_range) or [0, 255]; rounding can reach
    # one past the top, hence 128 rather than 127
    a_bound = max(zero_point, (128 if reduce_range else 255) - zero_point)
    acc = _centred_product(xp, centred, a_bound, packed)
    acc = acc.astype(xp.float32, copy=False)
    acc *= xp.float32(scale) * packed.scales
    if packed.bias is not None:
        acc += packed.bias._data.astype(xp.float32)
    return _make(acc.reshape(x.shape[:-1] + (acc.shape[-1],)))


def _requantize(xp, real, scale, zero_point, qdtype):
    q = _quantize_array(xp, real, scale, zero_point, qdtype, fused=True)
    return _new_qtensor(q, qdtype, per_tensor_affine, float(scale), int(zero_point))


def _activation_parts(qinput, op="linear"):
    if not qinput.is_quantized:  # e.g. a float tensor, or a quantized one that went
        # through an ember function which does not read quantizers (ember.flatten(q))
        raise NotImplementedError(
            f"Could not run 'quantized::{op}' with arguments from the "
            f"'{backend_name(qinput)}' backend: it "
            f"takes a quantized tensor, got {qinput.dtype} (quantize with a QuantStub or "
            "quantize_per_tensor; use the tensor's own view methods, q.flatten(1))")
    d = qinput.__dict__
    if d["_qscheme"] is not per_tensor_affine:
        raise RuntimeError("quantized modules expect per-tensor quantized activations")
    zero_point = d["_zero_point"]
    return d["_scale"], zero_point, qinput._data.astype(xp_of(qinput._data).int32) - zero_point


def linear_quantized(qinput, packed, scale, zero_point, relu=False):
    """quantized::linear: uint8 activations x int8 weights, int32 sums, float bias added
    after rescaling, result re-quantized to ``scale``/``zero_point`` (quint8)."""
    refuse_on_device("quantized::linear", qinput)
    xp = xp_of(qinput._data)
    x_scale, x_zp, centred = _activation_parts(qinput)
    k = centred.shape[-1]
    flat = centred.reshape(-1, k)
    acc = _centred_product(xp, flat, max(x_zp, 255 - x_zp), packed)
    real = acc.astype(xp.float32) * (xp.float32(x_scale) * packed.scales)
    if packed.bias is not None:
        real += packed.bias._data.astype(xp.float32)
    if relu:
        real = xp.maximum(real, 0)
    real = real.reshape(qinput._data.shape[:-1] + (real.shape[-1],))
    return _requantize(xp, real, scale, zero_point, qinput.dtype)


def conv2d_quantized(qinput, packed, stride, padding, dilation, groups, scale, zero_point,
                     relu=False):
    """quantized::conv2d: zero padding in the centred integers is the input's zero point,
    which stands for 0.0, as PyTorch pads; the integer sums run through ember's float
    conv (im2col + one GEMM) in a dtype where they are exact."""
    refuse_on_device("quantized::conv2d.new", qinput)
    xp = xp_of(qinput._data)
    x_scale, x_zp, centred = _activation_parts(qinput, "conv2d.new")
    weight = packed.in_dtype(xp, packed.centred[0].size, max(x_zp, 255 - x_zp))
    acc = conv2d(_make(centred.astype(weight.dtype)), _make(weight), None, stride, padding,
                 dilation, groups)._data
    multiplier = (xp.float32(x_scale) * packed.scales).reshape(1, -1, 1, 1)
    real = acc.astype(xp.float32) * multiplier
    if packed.bias is not None:
        real += packed.bias._data.astype(xp.float32).reshape(1, -1, 1, 1)
    if relu:
        real = xp.maximum(real, 0)
    return _requantize(xp, real, scale, zero_point, qinput.dtype)


def relu_quantized(qinput, upper=None):
    """relu (or relu6 with ``upper=6``) in the integers: clamp at the zero point, which
    stands for 0.0, and at the integer standing for ``upper``; the quantizer is kept."""
    xp = xp_of(qinput._data)
    d = qinput.__dict__
    _, x_zp, _ = _activation_parts(qinput, "relu")
    low = x_zp
    high = None
    if upper is not None:
        high = int(_quantize_array(xp, xp.asarray(upper, dtype=xp.float32), d["_scale"], x_zp,
                                   qinput.dtype, fused=True))
    ints = xp.clip(qinput._data, low, high) if high is not None else \
        xp.maximum(qinput._data, qinput._data.dtype.type(low))
    return _new_qtensor(ints, qinput.dtype, per_tensor_affine, d["_scale"], x_zp)


def linear_dynamic_fp16(input, weight_fp16, bias):
    """quantized::linear_dynamic_fp16: weights rounded to float16, math in float32."""
    refuse_on_device("quantized::linear_dynamic_fp16", input)
    xp = xp_of(input._data)
    out = input._data.astype(xp.float32) @ weight_fp16._data.astype(xp.float32).T
    if bias is not None:
        out += bias._data.astype(xp.float32)
    return _make(out)


def rewrap_quantized(qinput, values):
    """Integer values (as floats) computed from ``qinput``'s integers, quantized with
    ``qinput``'s own per-tensor parameters (for order-preserving ops such as max pool)."""
    _, x_zp, _ = _activation_parts(qinput, "max_pool2d")
    d = qinput.__dict__
    ints = values._data.astype(qinput._data.dtype)
    return _new_qtensor(ints, qinput.dtype, per_tensor_affine, d["_scale"], x_zp)
