"""Quantized tensors and fake quantization, as ``torch.quantize_per_tensor`` and friends.

A quantized tensor is a ``QuantizedTensor``: a ``Tensor`` whose array holds the integer
representation (int8 for qint8, uint8 for quint8, int32 for qint32) and whose quantizer
(scheme, scale, zero point, axis) lives beside it. Keeping the integers as the array,
rather than a float copy, is what makes a quantized model small and lets the quantized
modules (``ember.nn.quantized``) run integer matmuls on them directly.

Rounding follows PyTorch's CPU kernels: ``q = zero_point + nearbyint(x * (1.0f / scale))``
in float32 (``nearbyint`` rounds half to even, as NumPy's ``rint``), then clamped to the
dtype's range; ``dequantize`` is ``(q - zero_point) * scale`` in float32.

Fake quantization (quantization-aware training) is ``fake_quantize.py``.
"""

from __future__ import annotations

import numpy as np

from .._backend import dtypes as _dt
from .._tensor import _init_fields
from ..autograd.function import QuantizedArgument
from ._quantized_dispatch import integer_method
from ._util import Tensor, _make, xp_of

__all__ = [
    "dequantize", "fake_quantize_per_channel_affine", "fake_quantize_per_tensor_affine",
    "per_channel_affine", "per_channel_affine_float_qparams", "per_channel_symmetric",
    "per_tensor_affine", "per_tensor_symmetric", "qscheme", "quantize_per_channel",
    "quantize_per_tensor", "quantize_per_tensor_dynamic",
]


class qscheme:
    """A quantization scheme, printed as PyTorch prints it (``torch.per_tensor_affine``)."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):  # pickled by name: unpickling gives the module's own object
        return self.name


per_tensor_affine = qscheme("per_tensor_affine")
per_channel_affine = qscheme("per_channel_affine")
per_tensor_symmetric = qscheme("per_tensor_symmetric")
per_channel_symmetric = qscheme("per_channel_symmetric")
per_channel_affine_float_qparams = qscheme("per_channel_affine_float_qparams")

# quantized dtype -> (integer NumPy dtype, qmin, qmax)
_QRANGE = {
    _dt.qint8: (np.dtype(np.int8), -128, 127),
    _dt.quint8: (np.dtype(np.uint8), 0, 255),
    _dt.qint32: (np.dtype(np.int32), -(2**31), 2**31 - 1),
}


def _torch_type_name(np_dtype):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
            "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}.get(str(np_dtype), str(np_dtype))


def _check_qdtype(dtype):
    if dtype not in _QRANGE:
        raise RuntimeError(
            f"ScalarType {_torch_type_name(dtype.np) if dtype.np is not None else dtype.name}"
            " is not supported in new_qtensor."
        )
    return _QRANGE[dtype]


def _check_float_input(x):
    if x._data.dtype != np.float32:
        raise RuntimeError(
            f"Quantize only works on Float Tensor, got {_torch_type_name(x._data.dtype)}"
        )


def _quantized_values(xp, array, scale, zero_point, qmin, qmax, fused=False):
    """nearbyint(x * float(1 / scale) + zero_point) clamped to [qmin, qmax], as a float
    array of integer values (the integer kernels use them as is, without a cast).

    PyTorch's kernels differ in one rounding step, and matching it matters at ties: the
    per-tensor int8 paths (fbgemm) use one fused multiply-add, emulated here exactly in
    float64 (a float32 product fits in 48 bits); the others round the product to float32
    before adding the zero point. ``scale``/``zero_point`` broadcast against ``array``.
    """
    inv_scale = xp.float32(1.0) / xp.asarray(scale, dtype=xp.float32)
    x = array.astype(xp.float32, copy=False)
    if fused:
        wide = x.astype(xp.float64)
        wide *= inv_scale.astype(xp.float64)
        wide += xp.asarray(zero_point, dtype=xp.float64)
        shifted = xp.asarray(wide.astype(xp.float32))
    else:
        shifted = xp.asarray(x * inv_scale)  # an array even for 0-d input
        shifted += xp.asarray(zero_point, dtype=xp.float32)
    xp.rint(shifted, out=shifted)
    if qmax > 2**24:  # int32 bounds are not float32 values: clamp in float64
        shifted = shifted.astype(xp.float64)
    return xp.clip(shifted, qmin, qmax, out=shifted)


def _quantize_array(xp, array, scale, zero_point, qdtype, fused=False):
    """The integer representation (see ``_quantized_values``) in the dtype's array type."""
    np_int, qmin, qmax = _QRANGE[qdtype]
    return _quantized_values(xp, array, scale, zero_point, qmin, qmax, fused).astype(np_int)


class QuantizedTensor(Tensor):
    """A tensor of qint8/quint8/qint32 integers with its quantizer (``torch`` keeps this in
    ``Tensor`` itself; a subclass keeps the float hot path free of quantizer checks)."""

    is_quantized = True

    @property
    def _plain_dispatch(self):
        """Read by Function.apply for Tensor subclasses only: hands the op to
        ``_quantized_dispatch`` (torch's quantized kernel or torch's refusal)."""
        raise QuantizedArgument

    @property
    def dtype(self):
        return self.__dict__["_qdtype"]

    @property
    def requires_grad(self):
        return False

    @requires_grad.setter
    def requires_grad(self, flag):
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad=True):
        if requires_grad:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        return self

    def int_repr(self):
        return _make(self._data.copy())

    def dequantize(self):
        xp = xp_of(self._data)
        scale, zero_point = self._broadcast_qparams(xp)
        centred = self._data.astype(xp.int64) - zero_point
        # per-tensor: float32 arithmetic; per-channel scales are float64 and so is the product
        # (float qparams: q - zp is exact in float64, so float32 throughout, as PyTorch's)
        return _make((centred.astype(scale.dtype) * scale).astype(xp.float32, copy=False))

    def _broadcast_qparams(self, xp):
        """scale (float32 per tensor, float64 per channel, as PyTorch keeps them) and
        zero_point (int64; float qparams: float32), shaped to broadcast against the data."""
        d = self.__dict__
        if d["_qscheme"] is per_tensor_affine:
            return xp.float32(d["_scale"]), d["_zero_point"]
        shape = [1] * self._data.ndim
        shape[d["_axis"]] = -1
        scale = d["_scale"]._data.reshape(shape)
        return scale, d["_zero_point"]._data.reshape(shape)  # kept as _per_channel_kind's

    def qscheme(self):
        return self.__dict__["_qscheme"]

    def q_scale(self):
        self._expect_scheme(per_tensor_affine)
        return self.__dict__["_scale"]

    def q_zero_point(self):
        self._expect_scheme(per_tensor_affine)
        return self.__dict__["_zero_point"]

    def q_per_channel_scales(self):
        self._expect_scheme(per_channel_affine, per_channel_affine_float_qparams)
        return _make(self.__dict__["_scale"]._data.copy())

    def q_per_channel_zero_points(self):
        self._expect_scheme(per_channel_affine, per_channel_affine_float_qparams)
        return _make(self.__dict__["_zero_point"]._data.copy())

    def q_per_channel_axis(self):
        self._expect_scheme(per_channel_affine, per_channel_affine_float_qparams)
        return self.__dict__["_axis"]

    def _expect_scheme(self, scheme, *alike):
        if self.__dict__["_qscheme"] not in (scheme, *alike):
            wanted = ("kPerTensorAffine" if scheme is per_tensor_affine else
                      "kPerChannelAffine || quantizer->qscheme() == kPerChannelAffineFloatQParams")
            raise RuntimeError(
                f"Expected quantizer->qscheme() == {wanted} to be true, but got false.  (Could "
                "this error message be improved?  If so, please report an enhancement request "
                "to PyTorch.)"
            )

    def element_size(self):
        return self._data.dtype.itemsize

    def __reduce_ex__(self, protocol):
        """Pickled (multiprocessing, copy, a pickled model) with its quantizer."""
        d = self.__dict__
        return (_new_qtensor, (self._data, d["_qdtype"], d["_qscheme"], d["_scale"],
                               d["_zero_point"], d["_axis"]))

    def numpy(self, *, force=False):
        raise TypeError(f"Got unsupported ScalarType {_QNAME[self.dtype]}")

    def __repr__(self, *, tensor_contents=None):
        from .._backend import get_default_device
        from .._tensor_str import _add_suffixes, _tensor_str

        array = self.dequantize()._host_array()  # printed from the host, as any tensor
        prefix = "tensor("
        indent = len(prefix)
        body = "[]" if array.size == 0 else _tensor_str(array, indent)
        d = self.__dict__
        suffixes = []
        if self.device.type != get_default_device().type:
            suffixes.append(f"device='{self.device}'")  # before the quantizer, as PyTorch's
        suffixes += [f"size={tuple(array.shape)}", f"dtype={self.dtype}",
                     f"quantization_scheme={d['_qscheme']}"]
        if d["_qscheme"] is per_tensor_affine:
            suffixes += [f"scale={d['_scale']}", f"zero_point={d['_zero_point']}"]
        else:
            suffixes += [f"scale={d['_scale']!r}", f"zero_point={d['_zero_point']!r}",
                         f"axis={d['_axis']}"]
        return _add_suffixes(prefix + body, suffixes, indent)

    __str__ = __repr__

    # Views of a per-tensor quantized tensor are quantized with the same parameters, as
    # PyTorch's (slicing, reshape, transpose). Per-channel: reshapes keep the axis number,
    # as torch's do; other views that move the axis raise rather than guess it.
    def _rewrap(self, array, keeps_axis=False):
        d = self.__dict__
        if d["_qscheme"] is not per_tensor_affine and not keeps_axis:
            raise NotImplementedError(
                "views of per-channel quantized tensors that move the channel axis are not "
                "supported"
            )
        return _new_qtensor(array, self.dtype, d["_qscheme"], d["_scale"], d["_zero_point"],
                            d["_axis"])

    def __getitem__(self, index):
        return self._rewrap(self.int_repr()[index]._data)

    def view(self, *shape):
        return self._rewrap(self.int_repr().view(*shape)._data, keeps_axis=True)

    def reshape(self, *shape):
        return self._rewrap(self.int_repr().reshape(*shape)._data, keeps_axis=True)

    def _strided(self, array):
        if self.__dict__["_qscheme"] is not per_tensor_affine:
            raise RuntimeError("Setting strides is possible only on uniformly quantized tensor")
        return self._rewrap(array)

    def transpose(self, dim0, dim1):
        return self._strided(self.int_repr().transpose(dim0, dim1)._data)

    def permute(self, *dims):
        return self._strided(self.int_repr().permute(*dims)._data)

    def t(self):
        return self._strided(self.int_repr().t()._data)

    def flatten(self, start_dim=0, end_dim=-1):
        return self._rewrap(self.int_repr().flatten(start_dim, end_dim)._data, keeps_axis=True)

    def clone(self, *, memory_format=None):
        return self._rewrap(self._data.copy(), keeps_axis=True)

    def contiguous(self, memory_format=None):
        return self._rewrap(self._data.copy(), keeps_axis=True)

    def detach(self):
        return self

    def item(self):
        return self.dequantize().item()  # torch reads a quantized scalar as its float

    def tolist(self):
        raise RuntimeError("load_scalar: invalid type")  # torch reads no quantized scalars

    def float(self):
        raise RuntimeError("Creation of quantized tensor requires quantized dtype like "
                           "torch.quint8")

    def to(self, *args, **kwargs):
        """Another device keeps the quantizer (the integers and any per-channel parameters
        move together, as PyTorch's ``_to_copy`` does); another dtype raises, as the
        integers would otherwise silently become a plain tensor."""
        from .._backend.device import device as device_type

        target, dtype = kwargs.get("device"), kwargs.get("dtype")
        for arg in args:
            if isinstance(arg, Tensor):
                target, dtype = arg.device, arg.dtype
            elif isinstance(arg, (str, int, device_type)):
                target = arg
            elif arg is not None and not isinstance(arg, bool):
                dtype = arg
        if dtype is not None and dtype is not self.dtype:
            self.float()
        if target is None or device_type(target) == self.device or (
                device_type(target).index is None and device_type(target).type == self.device.type):
            return self
        d = self.__dict__
        moved = self.int_repr().to(target)._data
        scale, zero_point = d["_scale"], d["_zero_point"]
        if d["_qscheme"] is not per_tensor_affine:
            scale, zero_point = scale.to(target), zero_point.to(target)
        return _new_qtensor(moved, self.dtype, d["_qscheme"], scale, zero_point, d["_axis"])

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        return self.to("cuda" if device is None else device)

    def cpu(self, memory_format=None):
        return self.to("cpu")

for _name in ("expand", "expand_as", "flip", "narrow", "select", "index_select",
              "unsqueeze", "max", "min", "topk", "sort", "view_as", "repeat", "squeeze",
              "split", "chunk", "unbind", "tensor_split"):
    setattr(QuantizedTensor, _name, integer_method(_name))

_QNAME = {_dt.qint8: "QInt8", _dt.quint8: "QUInt8", _dt.qint32: "QInt32"}


def _new_qtensor(int_array, qdtype, scheme, scale, zero_point, axis=None):
    t = object.__new__(QuantizedTensor)
    _init_fields(t, int_array)
    t.__dict__.update(_qdtype=qdtype, _qscheme=scheme, _scale=scale,
                      _zero_point=zero_point, _axis=axis)
    return t


def quantize_per_tensor(input, scale, zero_point, dtype):
    """Quantize ``input`` (float32) to ``dtype`` with one scale and zero point.

    ``input`` may be a list of tensors with tensors of scales and zero points (one each),
    as PyTorch's overload; the result is then a tuple.
    """
    if isinstance(input, (list, tuple)):
        scales = [float(s) for s in scale.tolist()]
        zero_points = [int(z) for z in zero_point.tolist()]
        return tuple(quantize_per_tensor(x, s, z, dtype)
                     for x, s, z in zip(input, scales, zero_points))
    _, qmin, qmax = _check_qdtype(dtype)
    scale = float(scale.item() if isinstance(scale, Tensor) else scale)
    zero_point = int(zero_point.item() if isinstance(zero_point, Tensor) else zero_point)
    if zero_point > qmax:
        raise RuntimeError(
            f"quantize_tensor_per_tensor_affine zero_point {zero_point} is above upper bound."
        )
    if zero_point < qmin:
        raise RuntimeError(
            f"quantize_tensor_per_tensor_affine zero_point {zero_point} is below lower bound."
        )
    _check_float_input(input)
    xp = xp_of(input._data)
    q = _quantize_array(xp, input._data, scale, zero_point, dtype, dtype is not _dt.qint32)
    return _new_qtensor(q, dtype, per_tensor_affine, scale, zero_point)


def _per_channel_kind(float_zero_points):
    """(scheme, scale dtype, zero point dtype) of a per-channel quantizer, as PyTorch's."""
    if float_zero_points:
        return per_channel_affine_float_qparams, np.float32, np.float32
    return per_channel_affine, np.float64, np.int64


def quantize_per_channel(input, scales, zero_points, axis, dtype):
    """Quantize ``input`` with one scale and zero point per slice along ``axis``; the
    scales are kept as float64 and the zero points as int64, as PyTorch keeps them; float
    zero points make its float-qparams scheme (embedding rows: both float32, unrounded,
    q = rint(x * (1 / scale) + zero_point) in float32 with 1 / 0 taken as 1)."""
    _check_qdtype(dtype)
    ndim = input._data.ndim
    if not 0 <= axis < ndim:
        raise RuntimeError(
            "Channel axis out of range in per channel affine quantization. Got: "
            f"{axis}Expected: [0, {ndim})"
        )
    channels = input._data.shape[axis]
    if scales.numel() != channels:
        raise RuntimeError(
            f"length of scales must equal to channel, expected {channels} got, {scales.numel()}"
        )
    if zero_points.numel() != channels:
        raise RuntimeError(
            f"length of zero_points must equal to channel expected {channels} got, "
            f"{zero_points.numel()}"
        )
    _check_float_input(input)
    xp = xp_of(input._data)
    # kept beside the integers, on their device (q_per_channel_scales() reads them there)
    scheme, scale_dtype, zero_dtype = _per_channel_kind(zero_points.dtype.is_floating_point)
    scale_t = scales.detach().to(input.device, _dt.from_numpy_dtype(scale_dtype)).clone()
    zero_t = zero_points.detach().to(input.device, _dt.from_numpy_dtype(zero_dtype)).clone()
    shape = [1] * ndim
    shape[axis] = -1
    scale = scale_t._data.reshape(shape)
    if scheme is per_channel_affine_float_qparams:
        scale = xp.where(scale == 0, xp.float32(1), scale)
    q = _quantize_array(xp, input._data, scale, zero_t._data.reshape(shape), dtype)
    return _new_qtensor(q, dtype, scheme, scale_t, zero_t, axis)


def choose_qparams(min_val, max_val, qmin, qmax, reduce_range=False, preserve_sparsity=False):
    """PyTorch's ChooseQuantizationParams (the one the dynamic kernels use): the range is
    widened to hold 0, the scale is (max - min) / (qmax - qmin) in float64 from float32
    bounds, and the zero point is taken from whichever end loses less precision."""
    min_val = min(float(np.float32(min_val)), 0.0)
    max_val = max(float(np.float32(max_val)), 0.0)
    if reduce_range:
        qmin, qmax = qmin // 2, qmax // 2
    if min_val < 0 and max_val > 0 and preserve_sparsity:
        sym_qmin = -((qmax - qmin) // 2 + 1)
        sym_qmax = (qmax - qmin) // 2
        max_scale = max(abs(min_val / sym_qmin), abs(max_val / sym_qmax))
        min_val, max_val = max_scale * sym_qmin, max_scale * sym_qmax
    scale = (max_val - min_val) / (qmax - qmin)
    if float(np.float32(scale)) == 0.0 or np.isinf(np.float32(1.0) / np.float32(scale)):
        scale = 0.1
    small = float(np.float32(6.1e-5))
    if scale < small:
        amplifier = small / scale
        if min_val == 0.0:
            max_val = small * (qmax - qmin)
        elif max_val == 0.0:
            min_val = -small * (qmax - qmin)
        else:
            min_val, max_val = min_val * amplifier, max_val * amplifier
        scale = small
    from_min = qmin - min_val / scale
    from_max = qmax - max_val / scale
    from_min_error = abs(qmin) - abs(min_val / scale)
    from_max_error = abs(qmax) - abs(max_val / scale)
    initial = from_min if from_min_error < from_max_error else from_max
    if min_val < 0 and max_val > 0 and preserve_sparsity:
        initial = (qmin + qmax) / 2
    zero_point = qmin if initial < qmin else qmax if initial > qmax else int(np.rint(initial))
    return scale, zero_point


def quantize_per_tensor_dynamic(input, dtype, reduce_range):
    """Quantize with parameters chosen from the tensor's own range (the activation path
    of dynamic quantization)."""
    if dtype not in (_dt.qint8, _dt.quint8):
        raise RuntimeError(
            "Expected dtype to be quint8 or qint8, but got " + repr(dtype)
        )
    _, qmin, qmax = _QRANGE[dtype]
    _check_float_input(input)
    data = input._data
    low = float(data.min()) if data.size else 0.0
    high = float(data.max()) if data.size else 0.0
    scale, zero_point = choose_qparams(low, high, qmin, qmax, reduce_range)
    return quantize_per_tensor(input, scale, zero_point, dtype)


def dequantize(tensor):
    """The float32 values a quantized tensor stands for; a list gives a list."""
    if isinstance(tensor, (list, tuple)):
        return [dequantize(t) for t in tensor]
    return tensor.dequantize()


# Methods every Tensor has: on a float tensor, dequantize is the identity and the
# quantizer accessors raise as PyTorch's dispatcher does for a non-quantized tensor.
def _not_quantized(name):
    def method(self, *args, **kwargs):
        raise NotImplementedError(
            f"Could not run 'aten::{name}' with arguments from the '{backend_name(self)}' "
            "backend. This could be because the operator doesn't exist for this backend"
        )

    method.__name__ = name
    return method


def backend_name(tensor):
    """The dispatch key PyTorch names in "Could not run ..." errors for ``tensor``."""
    device = "CUDA" if tensor.device.type == "cuda" else "CPU"
    return f"Quantized{device}" if tensor.is_quantized else device


def refuse_on_device(op, tensor):
    """PyTorch's quantized kernels (fbgemm/qnnpack: packed int8 weights, integer GEMMs)
    run on the CPU only; on a CUDA tensor it refuses them with this error, and so do we,
    rather than run a kernel PyTorch users could not run on that device either."""
    if tensor.device.type != "cpu":
        raise NotImplementedError(
            f"Could not run '{op}' with arguments from the '{backend_name(tensor)}' backend. "
            "This could be because the operator doesn't exist for this backend, or was "
            "omitted during the selective/custom build process (if using custom build). "
            f"'{op}' is only available for these backends: [QuantizedCPU] (move the model "
            "and its inputs to the cpu)."
        )


def _float_dequantize(self):
    return self


TENSOR_METHODS = {"dequantize": _float_dequantize}
for _name in ("int_repr", "q_scale", "q_zero_point", "q_per_channel_scales",
              "q_per_channel_zero_points", "q_per_channel_axis", "qscheme"):
    TENSOR_METHODS[_name] = _not_quantized(_name)


# ---------------------------------------------------------------------------
# Checkpoints: PyTorch's record of a quantized tensor, read and written
# ---------------------------------------------------------------------------

_QSTORAGE = {_dt.qint8: "QInt8Storage", _dt.quint8: "QUInt8Storage",
             _dt.qint32: "QInt32Storage"}
_QDTYPE_OF_ARRAY = {np.dtype(np.int8): _dt.qint8, np.dtype(np.uint8): _dt.quint8,
                    np.dtype(np.int32): _dt.qint32}


def checkpoint_reduce(writer, tensor):
    """``torch._utils._rebuild_qtensor(storage, offset, size, stride, quantizer_params,
    requires_grad, hooks)`` for ember's checkpoint writer: the integers go in a
    QInt8/QUInt8/QInt32 storage, the quantizer beside them, as ``torch.save`` writes."""
    from .._serialization_format import TorchGlobal, _Reduce

    plain = writer.tensor(_make(tensor._data))
    storage, offset, size, stride = plain.args[:4]
    key, root, _ = next(e for e in writer.storages.values() if e[0] == storage.key)
    writer.storages[id(root)] = (key, root, _QSTORAGE[tensor.dtype])
    storage.storage_name = _QSTORAGE[tensor.dtype]
    d = tensor.__dict__
    if d["_qscheme"] is per_tensor_affine:
        params = (TorchGlobal("torch", "per_tensor_affine"), d["_scale"], d["_zero_point"])
    else:
        # float qparams too (their float zero points tell them apart), as torch.save
        params = (TorchGlobal("torch", "per_channel_affine"), writer.tensor(d["_scale"]),
                  writer.tensor(d["_zero_point"]), d["_axis"])
    hooks = _Reduce(TorchGlobal("collections", "OrderedDict"), ())
    return _Reduce(TorchGlobal("torch._utils", "_rebuild_qtensor"),
                   (storage, offset, size, stride, params, False, hooks))


def rebuild_qtensor(storage, storage_offset, size, stride, quantizer_params,
                    requires_grad=False, backward_hooks=None):
    """What ``torch._utils._rebuild_qtensor`` loads as (the reader's allow-list)."""
    from .._serialization_format import view_storage

    array = view_storage(storage, storage_offset, size, stride)
    qdtype = _QDTYPE_OF_ARRAY[array.dtype]
    scheme = quantizer_params[0]
    if scheme is per_tensor_affine:
        return _new_qtensor(array, qdtype, scheme, float(quantizer_params[1]),
                            int(quantizer_params[2]))
    if scheme in (per_channel_affine, per_channel_affine_float_qparams):
        scales, zero_points, axis = quantizer_params[1:4]
        scheme, scale_dtype, zero_dtype = _per_channel_kind(zero_points.dtype.is_floating_point)
        return _new_qtensor(array, qdtype, scheme, _make(scales._data.astype(scale_dtype)),
                            _make(zero_points._data.astype(zero_dtype)), int(axis))
    raise RuntimeError(f"Can't deserialize quantized tensor with qscheme {scheme}")


def checkpoint_globals():
    """Names a checkpoint of quantized tensors refers to, for the reader's allow-list."""
    names = {"torch._utils._rebuild_qtensor": rebuild_qtensor}
    for scheme in (per_tensor_affine, per_channel_affine, per_tensor_symmetric,
                   per_channel_symmetric, per_channel_affine_float_qparams):
        names[f"torch.{scheme.name}"] = scheme
    from .._serialization_format import StorageType

    for qdtype, storage_name in _QSTORAGE.items():
        names[f"torch.{qdtype.name}"] = qdtype
        # the storage holds the plain integers; rebuild_qtensor adds the quantizer
        names[f"torch.{storage_name}"] = StorageType(_dt.from_numpy_dtype(qdtype.np))
    return names


# fake quantization lives beside this module; its two functions are ember's (and torch's)
# top-level names, exported from here with the rest of the family
from .fake_quantize import (  # noqa: E402,F401
    fake_quantize_per_channel_affine, fake_quantize_per_tensor_affine)
