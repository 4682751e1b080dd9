"""Quantized tensors through ember's ops: torch's results, or torch's refusal.

PyTorch dispatches every op on a quantized tensor to a QuantizedCPU kernel: a few exist
(views, relu, pooling, cat, upsampling) and return quantized tensors; every other op
raises "Could not run 'aten::...' with arguments from the 'QuantizedCPU' backend". ember's
ops would otherwise compute on the integer representation and return a plain integer
tensor (wrong values: relu of a quint8 with zero_point 10 is not ``max(q, 0)``).

Design (the float hot path pays nothing measurable):

- ``Function.apply`` unwraps arguments with ``type(arg) is Tensor or isinstance(arg,
  Tensor) and arg._plain_dispatch``: plain Tensors stop at the first test; only subclasses
  read ``_plain_dispatch``, a class attribute (True on Tensor, so a Parameter pays one
  attribute read) that QuantizedTensor makes a property raising ``QuantizedArgument``.
  The unwrapping loop sits in a ``try`` (free in CPython 3.11 unless raised) whose
  handler hands the whole call to ``quantized_apply`` here. ``apply_binary`` (operator
  slots) does the same; ``apply_unary`` sends a non-plain argument to ``apply``.
- Fast paths that bypass ``apply`` and would accept integers decline for quantized
  inputs: ``shape._plain_view`` (view/reshape/flatten) after its own tests, stack's
  ``_host_unrecorded``; max/avg/adaptive pooling branch on ``is_quantized`` at their
  entry, as torch's own pooling entry points do. Float fast paths guarded by a float
  dtype test (reductions, elementwise math) already fall back to ``apply`` for the
  integer arrays a QuantizedTensor holds. QuantizedTensor's own methods cover the
  method forms of flip/narrow/select/expand/max/sort/... whose no-grad fast paths skip
  ``apply``; the function forms' fast paths (flip, narrow, select, index_select,
  max/min, topk; repeat_interleave through index_select) hand a quantized input to
  those methods, behind one ``type(input) is not Tensor`` test on the no-grad branch.

``quantized_apply`` looks the op up by its class name:

- ``_INTEGER_OPS``: the op only moves or copies elements (views, split, nearest
  upsampling, pixel shuffle, unfold...): it runs on the integers and each output is
  re-wrapped with the input's quantizer, as PyTorch's kernels do.
- ``_CENTRED_OPS`` (avg / adaptive avg pooling, bilinear upsampling): torch's kernels
  average ``q - zero_point`` and round half to even; so do we, exactly.
- ``_REQUANT_OPS`` (mean, hardtanh/relu6, clamp, constant pad): dequantize, run the float
  op, quantize with the input's own scale and zero point.
- relu clamps the integers at the zero point; sigmoid/tanh quantize with torch's fixed
  output parameters; cat/stack re-quantize every input to the first one's parameters.
- anything else raises torch's NotImplementedError naming the aten op (number operands of
  arithmetic: torch's ``empty_strided`` RuntimeError).

Per-channel tensors follow torch: reshapes keep the axis number, clone keeps the
quantizer, permute/transpose and cat raise torch's RuntimeErrors, the per-tensor kernels
(relu, pooling...) raise its ``qscheme() == kPerTensorAffine`` check.
"""

from __future__ import annotations

import re

from ._util import Tensor, _make, xp_of

_BINARY = frozenset({"Add", "Sub", "Mul", "Div"})
_INTEGER_OPS = frozenset({
    "View", "UnsafeView", "Permute", "Transpose", "T", "Squeeze", "_SqueezeDim",
    "_SqueezeDims", "Unsqueeze", "Split", "Unbind", "GetItem", "Repeat", "Clone",
    "UpsampleNearest1D", "UpsampleNearest2D", "UpsampleNearest3D", "ChannelShuffle",
    "PixelShuffle", "PixelUnshuffle", "Expand", "Flip", "Narrow", "Select", "Slice",
    "IndexSelect", "Contiguous", "TakeAlong", "Unfold",
})
# averaging kernels that work on q - zero_point and round the average (lrint), with the
# input's own parameters: run the float op on the centred integers, round, re-centre
_CENTRED_OPS = frozenset({"_AvgPool", "_AdaptiveAvgPool", "UpsampleBilinear2D"})
_REQUANT_OPS = frozenset({
    "Mean", "MeanDim", "_MeanDim",
    "Hardtanh", "_ClampScalar", "Clamp", "ConstantPad",
})
# activations with torch's own quantized kernels (quantized_activations.py): op name ->
# (module function, how many of the op's arguments after the input it takes)
_ACTIVATIONS = {
    "LeakyRelu": ("leaky_relu", 1), "Threshold": ("threshold", 2), "Gelu": ("gelu", 1),
    "Hardsigmoid": ("hardsigmoid", 0),
}
# aten overload names torch's refusal quotes, where it is not the op's plain snake name
_ATEN_NAMES = {
    "Add": "add.out", "Sub": "sub.out", "Mul": "mul.out", "Div": "div.out",
    "Sum": "sum.IntList_out", "SumDim": "sum.IntList_out", "Exp": "exp.out",
    "Log": "log.out", "Matmul": "bmm.out", "Bmm": "bmm.out", "Mm": "mm",
    "Softmax": "_softmax.out", "LogSoftmax": "_log_softmax.out", "Hardswish": "hardswish",
    "Roll": "roll", "Pow": "pow.Tensor_Scalar_out", "Neg": "neg.out", "Abs": "abs.out",
    "Sqrt": "sqrt.out", "Maximum": "maximum.out", "Minimum": "minimum.out",
    "Where": "where.self", "Elu": "elu.out", "_EluInplace": "elu.out", "Celu": "elu.out",
    "_CeluInplace": "elu.out", "Silu": "silu.out", "Mish": "mish.out",
    "Softplus": "softplus.out",
}


# ops whose quantized kernels give fixed output parameters (their range is known):
# (scale, zero point) for quint8 and qint8, as torch's qsigmoid / qtanh choose them
_FIXED_QPARAMS = {
    "Sigmoid": {"quint8": (1.0 / 256, 0), "qint8": (1.0 / 256, -128)},
    "Tanh": {"quint8": (2.0 / 256, 128), "qint8": (2.0 / 256, 0)},
}


def _fixed_qparams(cls, q, name):
    """dequantize, the float op, quantize with the op's fixed output parameters."""
    from .quantized import _new_qtensor, _quantize_array, per_tensor_affine

    params = _FIXED_QPARAMS[name].get(q.dtype.name)
    if params is None:  # qint32: torch has no kernel
        refuse(name.lower(), "QuantizedCPU")
    scale, zero_point = params
    out = cls.apply(q.dequantize())
    ints = _quantize_array(xp_of(out._data), out._data, scale, zero_point, q.dtype, True)
    return _new_qtensor(ints, q.dtype, per_tensor_affine, scale, zero_point)


def _aten_name(cls):
    name = cls._op_name
    if name in _ATEN_NAMES:
        return _ATEN_NAMES[name]
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name.lstrip("_")).lower()


def refuse(op, backend="QuantizedCPU"):
    """torch's dispatcher error for an op with no kernel for ``backend``."""
    raise NotImplementedError(
        f"Could not run 'aten::{op}' with arguments from the '{backend}' backend. This could "
        "be because the operator doesn't exist for this backend, or was omitted during the "
        "selective/custom build process (if using custom build)."
    )


def _isq(a):
    return isinstance(a, Tensor) and a.is_quantized


def _quantized_args(args):
    return [a for a in args if _isq(a)]


def _per_tensor(q, op=None):
    """The quantizer fields of a per-tensor ``q``; per-channel raises torch's check."""
    from .quantized import per_tensor_affine

    q._expect_scheme(per_tensor_affine)  # torch's quantized kernels: per-tensor only
    return q.__dict__


# per-channel tensors: torch keeps the axis number through reshapes (View/UnsafeView),
# refuses strided views and cat with these texts
_PER_CHANNEL_VIEWS = frozenset({"View", "UnsafeView"})
_STRIDES = "Setting strides is possible only on uniformly quantized tensor"
_PER_CHANNEL_REFUSED = {"Permute": _STRIDES, "Transpose": _STRIDES, "T": _STRIDES,
                        "Cat": "Only per-tensor quantization is supported in 'cat'!",
                        "Stack": "Only per-tensor quantization is supported in 'cat'!"}


def _per_channel(cls, name, first, args, kwargs):
    if name in _PER_CHANNEL_REFUSED:
        raise RuntimeError(_PER_CHANNEL_REFUSED[name])
    if name in _PER_CHANNEL_VIEWS:
        return _wrap(cls.apply(*[_make(a._data) if _isq(a) else a for a in args], **kwargs),
                     first)
    return None


def _wrap(out, like):
    from .quantized import _new_qtensor

    d = like.__dict__
    return _new_qtensor(out._data, like.dtype, d["_qscheme"], d["_scale"], d["_zero_point"],
                        d["_axis"])


def _requantize(out, like):
    from .quantized import _new_qtensor, _quantize_array, per_tensor_affine

    d = like.__dict__
    xp = xp_of(out._data)
    ints = _quantize_array(xp, out._data, d["_scale"], d["_zero_point"], like.dtype,
                           like.dtype is not _qint32())
    return _new_qtensor(ints, like.dtype, per_tensor_affine, d["_scale"], d["_zero_point"])


_QNAMES = {"qint8": "QInt8", "quint8": "QUInt8", "qint32": "QInt32"}


def _centred(q):
    """``q - zero_point`` as float32 (exact: small integers)."""
    xp = xp_of(q._data)
    return _make((q._data.astype(xp.int64) - q.__dict__["_zero_point"]).astype(xp.float32))


def _recentre(out, like):
    """An average of centred integers back to ``like``'s quantizer: add the zero point,
    then round half to even (lrint), in torch's order (ties differ for an odd zero
    point), and clamp to the dtype's range."""
    from .quantized import _QRANGE, _new_qtensor

    xp = xp_of(out._data)
    np_int, qmin, qmax = _QRANGE[like.dtype]
    d = like.__dict__
    ints = xp.clip(xp.rint(out._data + xp.float32(d["_zero_point"])), qmin, qmax)
    ints = ints.astype(np_int)
    return _new_qtensor(ints, like.dtype, d["_qscheme"], d["_scale"], d["_zero_point"])


def _qint32():
    from .._backend import dtypes

    return dtypes.qint32


def _each(result, fn, like):
    if type(result) is tuple:
        return tuple(fn(r, like) if r is not None else None for r in result)
    if isinstance(result, list):
        return [fn(r, like) for r in result]
    return fn(result, like)


def quantized_apply(cls, args, kwargs):
    """``cls.apply(*args, **kwargs)`` where an argument is a QuantizedTensor (called while
    apply handles the QuantizedArgument signal, which a user's traceback should not show)."""
    from ..autograd.function import QuantizedArgument

    try:
        return _quantized_apply(cls, args, kwargs)
    except Exception as exc:
        if isinstance(exc.__context__, QuantizedArgument):
            exc.__suppress_context__ = True
        raise


def _quantized_apply(cls, args, kwargs):
    from .quantized import per_tensor_affine

    name = cls._op_name
    qargs = _quantized_args(args)
    first = qargs[0]
    op = _aten_name(cls)
    if first.__dict__["_qscheme"] is not per_tensor_affine:
        out = _per_channel(cls, name, first, args, kwargs)
        if out is not None:
            return out
        if name in _INTEGER_OPS or name in _REQUANT_OPS or name in _CENTRED_OPS \
                or name in _FIXED_QPARAMS or name in _ACTIVATIONS or name == "Relu":
            _per_tensor(first)  # torch's per-tensor check
    if name in ("Cat", "Stack"):
        return _cat(cls, args, kwargs, qargs)
    if name in _FIXED_QPARAMS:
        return _fixed_qparams(cls, first, name)
    if name in _BINARY and first.device.type == "cpu" and \
            any(isinstance(a, (bool, int, float)) for a in args):
        # a quantized CPU tensor and a Python number: torch fails allocating the result
        raise RuntimeError("empty_strided not supported on quantized tensors yet see "
                           "https://github.com/pytorch/pytorch/issues/74540")
    if name == "ChannelShuffle" and first.dtype.name != "quint8":
        raise RuntimeError("Quantized channel shuffle works only on QUInt8 but got "
                           f"{_QNAMES[first.dtype.name]}")
    if name in _INTEGER_OPS:
        plain = [_make(a._data) if _isq(a) else a for a in args]
        return _each(cls.apply(*plain, **kwargs), _wrap, first)
    if name in _CENTRED_OPS:
        plain = [_centred(a) if _isq(a) else a for a in args]
        return _each(cls.apply(*plain, **kwargs), _recentre, first)
    if name in _ACTIVATIONS:
        from . import quantized_activations
        from .quantized import backend_name

        if first.device.type != "cpu":  # torch's kernels are QuantizedCPU only
            refuse(op, backend_name(first))

        kernel, count = _ACTIVATIONS[name]
        return getattr(quantized_activations, kernel)(first, *args[1:1 + count])
    if name in _REQUANT_OPS:
        plain = [a.dequantize() if _isq(a) else a for a in args]
        return _each(cls.apply(*plain, **kwargs), _requantize, first)
    if name == "Relu":
        from ._quantized_kernels import relu_quantized

        return relu_quantized(first)
    from .quantized import backend_name

    refuse(op, backend_name(first))


def _cat(cls, args, kwargs, qargs):
    """torch's quantized cat: every input quantized, the result carries the first one's
    scale and zero point, the others are re-quantized to them."""
    from .quantized import backend_name

    dim, _, *tensors = args
    first = tensors[0]
    if not first.is_quantized:
        refuse("cat.out", "CPU")
    _per_tensor(first, "cat")
    ints = []
    for t in tensors:
        if not t.is_quantized:
            raise NotImplementedError(
                "Could not run 'aten::cat' with arguments from the 'CPU' backend with a "
                f"'{backend_name(first)}' tensor: all inputs of a quantized cat must be "
                "quantized")
        same = (t.dtype is first.dtype and
                t.__dict__["_qscheme"] is first.__dict__["_qscheme"] and
                t.__dict__["_scale"] == first.__dict__["_scale"] and
                t.__dict__["_zero_point"] == first.__dict__["_zero_point"])
        ints.append(_make(t._data) if same else _make(_requantize(t.dequantize(), first)._data))
    return _wrap(cls.apply(dim, ints[0]._data.dtype, *ints, **kwargs), first)


def quantized_call(fn, mode, input, *args, **kwargs):
    """A function entry point (pooling) given a quantized ``input``: ``mode`` "ints" runs
    ``fn`` on the integers (max pooling: order-preserving), "requant" on the dequantized
    values and quantizes the result with the input's parameters (average pooling)."""
    op = fn.__name__.lstrip("_")
    _per_tensor(input, op)
    if mode == "ints":
        result = fn(_make(input._data), *args, **kwargs)
        if type(result) is tuple:  # (values, indices)
            return (_wrap(result[0], input),) + result[1:]
        return _wrap(result, input)
    if mode == "centred":
        return _recentre(fn(_centred(input), *args, **kwargs), input)
    return _requantize(fn(input.dequantize(), *args, **kwargs), input)


# ---------------------------------------------------------------------------
# QuantizedTensor methods whose fast paths skip Function.apply
# ---------------------------------------------------------------------------


def _per_channel_axis(name, axis, ndim, args, kwargs):
    """The channel axis after ``name(*args)`` on a per-channel tensor, as torch keeps it
    (dims before the axis shift it; the axis itself is not moved), or None where torch's
    per-tensor check applies instead."""
    if kwargs or not args or type(args[0]) is not int:
        return None
    dim = args[0]
    if name == "unsqueeze":
        dim = dim + ndim + 1 if dim < 0 else dim
        return axis + 1 if dim <= axis else axis
    dim = dim + ndim if dim < 0 else dim
    if name == "narrow" and dim != axis:
        return axis
    if name in ("select", "squeeze") and dim < axis:
        return axis - 1
    if name in ("select", "squeeze") and dim > axis:
        return axis
    return None


_ONLY_PER_TENSOR = ("{} operator for quantized tensors only works for per tensor quantized "
                    "tensors. Please open an issue on https://github.com/pytorch/pytorch/issues "
                    "if you need per channel quantized tensor support.")
# torch's own refusals of these ops on a per-channel tensor (others: its generic check)
_PER_CHANNEL_METHOD_ERRORS = {
    "flip": _STRIDES,
    "index_select": "Only per_tensor quantized quantized tensors are supported by "
                    "index_select.",
    "max": _ONLY_PER_TENSOR.format("Max"), "min": _ONLY_PER_TENSOR.format("Min"),
    "topk": "Top-K is only supported on per-tensor quantization",
    "select": "Expected quantizer->qscheme() == kPerChannelAffine || quantizer->qscheme() "
              "== kPerChannelAffineFloatQParams to be true, but got false.  (Could this error "
              "message be improved?  If so, please report an enhancement request to "
              "PyTorch.)",
}


def _narrow_channels(q, dim, start, length):
    """narrow along a per-channel tensor's own axis: torch keeps the axis and slices the
    scales and zero points with the channels."""
    from .quantized import _new_qtensor

    d = q.__dict__
    out = Tensor.narrow(_make(q._data), dim, start, length)._data
    start = int(start) + q._data.shape[d["_axis"]] if int(start) < 0 else int(start)
    return _new_qtensor(out, q.dtype, d["_qscheme"], d["_scale"][start:start + length],
                        d["_zero_point"][start:start + length], d["_axis"])


def quantized_inplace(input, result):
    """``input`` takes ``result``'s integers and quantizer in place (torch's in-place
    activations with their own output grid, hardsigmoid_)."""
    input._data[...] = result._data
    input.__dict__.update({k: result.__dict__[k] for k in
                           ("_qscheme", "_scale", "_zero_point", "_axis")})
    input._vc[0] += 1
    return input


def require_float_or_quantized(input, kernel_name):
    """The float-dtype check of activations that torch also computes on quantized
    tensors: a quantized input passes (its op's ``apply`` brings it here), any other
    non-float input gets the kernel's NotImplementedError. One dtype test, as before."""
    if input._data.dtype.kind not in "fcV" and not input.is_quantized:
        from ._util import type_name

        raise NotImplementedError(
            f'"{kernel_name}" not implemented for \'{type_name(input._data.dtype)}\'')


def integer_method(name):
    """A Tensor method whose fast path (no graph to record) skips Function.apply and
    only moves elements: run on the integers, re-wrap the values with the quantizer, as
    torch's QuantizedCPU kernels (flip, narrow, max, sort...). Per-channel: the axis
    torch keeps for unsqueeze/squeeze/select/narrow, torch's per-tensor check otherwise."""
    def method(self, *args, **kwargs):  # Tensor's methods are bound after this module
        from .quantized import _new_qtensor, per_tensor_affine

        d = self.__dict__
        if d["_qscheme"] is not per_tensor_affine:
            axis = _per_channel_axis(name, d["_axis"], self._data.ndim, args, kwargs)
            if axis is not None:
                out = getattr(Tensor, name)(_make(self._data), *args, **kwargs)._data
                return _new_qtensor(out, self.dtype, d["_qscheme"], d["_scale"],
                                    d["_zero_point"], axis)
            if name == "narrow" and not kwargs and len(args) == 3:
                return _narrow_channels(self, *args)
            if name in _PER_CHANNEL_METHOD_ERRORS:
                raise RuntimeError(_PER_CHANNEL_METHOD_ERRORS[name])
        _per_tensor(self, name)
        result = getattr(Tensor, name)(_make(self._data), *args, **kwargs)
        if isinstance(result, Tensor):
            return self._rewrap(result._data)
        if type(result) in (tuple, list):  # split / chunk / unbind
            return tuple(self._rewrap(part._data) for part in result)
        # (values, indices) return types: the values are quantized, the indices are not
        return type(result)(self._rewrap(result[0]._data), *result[1:])

    method.__name__ = name
    return method
