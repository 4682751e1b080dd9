"""Top-level helpers: finfo/iinfo, promotion queries, thread and determinism settings,
the legacy tensor types (``FloatTensor``, ...), ``typename`` and ``compile``."""

from __future__ import annotations

import os
import warnings

import numpy as np

from ._backend import dtypes as _dt
from ._backend.dtypes import get_default_dtype, promote_np, result_np, set_default_dtype, to_dtype
from ._ops._factory import DETERMINISTIC as _deterministic
from ._tensor import _LEGACY_TYPES, Tensor


# ---------------------------------------------------------------------------
# finfo / iinfo
# ---------------------------------------------------------------------------


def _np_finfo(np_dtype):
    if np_dtype.kind == "V" or np_dtype.itemsize == 1:  # ml_dtypes' types: its own finfo
        import ml_dtypes

        return ml_dtypes.finfo(np_dtype)
    return np.finfo(np_dtype)


class finfo:
    """Machine limits of a floating dtype, as ``torch.finfo`` (complex: of its real part)."""

    def __init__(self, type=None):  # noqa: A002 - PyTorch's argument name
        d = get_default_dtype() if type is None else to_dtype(type)
        if d.is_complex:
            d = d.to_real()
        if not d.is_floating_point:
            raise TypeError(
                "torch.finfo() requires a floating point input type. Use torch.iinfo to "
                "handle 'torch.finfo'"
            )
        info = _np_finfo(d.numpy_dtype)
        self.bits = d.itemsize * 8
        # c10's numeric_limits<Float8_e5m2fnuz>::epsilon is 2**-3 (ml_dtypes: 2**-2)
        self.eps = 0.125 if d is _dt.float8_e5m2fnuz else float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = float(info.tiny)
        self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(np.floor(-np.log10(self.eps)))
        self.dtype = d.name

    def __repr__(self):
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
            f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, "
            f"dtype={self.dtype})"
        )

    __str__ = __repr__

    def __eq__(self, other):
        return isinstance(other, finfo) and other.dtype == self.dtype

    def __hash__(self):
        return hash(("finfo", self.dtype))


class iinfo:
    """Limits of an integer dtype, as ``torch.iinfo``."""

    def __init__(self, type):  # noqa: A002
        d = to_dtype(type)
        if d is _dt.bool_:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if d.is_floating_point or d.is_complex:
            raise TypeError(
                "torch.iinfo() requires an integer input type. Use torch.finfo to handle "
                "'torch.iinfo'"
            )
        info = np.iinfo(d.numpy_dtype)
        self.bits = int(info.bits)
        self.max = int(info.max)
        self.min = int(info.min)
        self.dtype = d.name

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"

    __str__ = __repr__

    def __eq__(self, other):
        return isinstance(other, iinfo) and other.dtype == self.dtype

    def __hash__(self):
        return hash(("iinfo", self.dtype))


# ---------------------------------------------------------------------------
# Tensor and dtype queries
# ---------------------------------------------------------------------------


def _require_tensor(fn_name, value):
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{fn_name}(): argument 'input' (position 1) must be Tensor, not "
            f"{type(value).__name__}"
        )


def is_floating_point(input) -> bool:
    _require_tensor("is_floating_point", input)
    return input.is_floating_point()


def is_complex(input) -> bool:
    _require_tensor("is_complex", input)
    return input.is_complex()


def is_nonzero(input) -> bool:
    """True when a one-element tensor is non-zero (errors as ``bool(tensor)`` does)."""
    _require_tensor("is_nonzero", input)
    return bool(input)


def is_storage(obj) -> bool:
    return type(obj).__module__ == "ember._storage"  # TypedStorage, UntypedStorage


def _operand(value):
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, (bool, int, float, complex)):
        return value
    raise TypeError(
        f"result_type(): argument 'other' must be Tensor or Number, not {type(value).__name__}"
    )


def result_type(tensor1, tensor2):
    """The dtype ``tensor1 op tensor2`` computes in (tensors outrank 0-d outrank scalars)."""
    if isinstance(tensor1, Tensor) and isinstance(tensor2, Tensor):
        _check_bare_unsigned(tensor1.dtype, tensor2.dtype)
    return _dt.from_numpy_dtype(result_np(_operand(tensor1), _operand(tensor2)))


_BARE_UNSIGNED = ("uint16", "uint32", "uint64")
_SCALAR_NAMES = {"uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64"}


def _check_bare_unsigned(a, b):
    """PyTorch promotes uint16/32/64 only with themselves or with floating types."""
    if a is b or not (a.name in _BARE_UNSIGNED or b.name in _BARE_UNSIGNED):
        return
    if a.is_floating_point or b.is_floating_point:
        return
    from ._ops._util import type_name

    names = [_SCALAR_NAMES.get(d.name) or type_name(d.numpy_dtype) for d in (a, b)]
    raise RuntimeError(
        "Promotion for uint16, uint32, uint64 types is not supported, attempted to promote "
        f"{names[0]} and {names[1]}"
    )


def promote_types(type1, type2):
    a, b = to_dtype(type1), to_dtype(type2)
    _check_bare_unsigned(a, b)
    return _dt.from_numpy_dtype(promote_np(a.numpy_dtype, b.numpy_dtype))


def can_cast(from_, to):
    """PyTorch's rule: no complex->real, no float->integer, no non-bool->bool."""
    src, dst = to_dtype(from_), to_dtype(to)
    if src.is_complex and not dst.is_complex:
        return False
    if src.is_floating_point and not (dst.is_floating_point or dst.is_complex):
        return False
    if src is not _dt.bool_ and dst is _dt.bool_:
        return False
    return True


# ---------------------------------------------------------------------------
# Determinism and threads
# ---------------------------------------------------------------------------

# use_deterministic_algorithms's settings: the ops layer's dict, where the empty
# factories read them (fill_uninitialized_memory); imported above as _deterministic.


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Recorded for code that sets it; ember's NumPy kernels are deterministic already."""
    _deterministic["enabled"] = bool(mode)
    _deterministic["warn_only"] = bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic["enabled"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _deterministic["warn_only"]


_matmul_precision = {"value": "highest"}


def set_float32_matmul_precision(precision: str) -> None:
    """Recorded for code that sets it (``"high"`` lets PyTorch use TF32 on GPUs); ember's
    float32 GEMMs always run in full float32."""
    if not isinstance(precision, str):
        raise RuntimeError(f"set_float32_matmul_precision expects a str, but got "
                           f"{type(precision).__name__}")
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _matmul_precision["value"] = precision


def get_float32_matmul_precision() -> str:
    return _matmul_precision["value"]


_threads = {"count": None}


def _threadpool_limits(count):
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl.threadpool_limits(limits=count, user_api="blas")


def set_num_threads(num: int) -> None:
    """Limit BLAS threads (through threadpoolctl when installed; otherwise only recorded)."""
    if not isinstance(num, int) or isinstance(num, bool) or num <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    _threads["count"] = num
    _threadpool_limits(num)


def get_num_threads() -> int:
    if _threads["count"] is not None:
        return _threads["count"]
    try:
        import threadpoolctl

        counts = [info["num_threads"] for info in threadpoolctl.threadpool_info()
                  if info.get("user_api") == "blas"]
        if counts:
            return max(counts)
    except ImportError:
        pass
    return os.cpu_count() or 1


_interop = {"count": None}


def set_num_interop_threads(num: int) -> None:
    if not isinstance(num, int) or num <= 0:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    _interop["count"] = num


def get_num_interop_threads() -> int:
    return _interop["count"] or os.cpu_count() or 1


# ---------------------------------------------------------------------------
# Legacy tensor types: FloatTensor and friends
# ---------------------------------------------------------------------------


class _LegacyTensorMeta(type):
    """``isinstance(x, FloatTensor)`` is true for CPU float32 tensors, as in PyTorch;
    calling the class builds a plain ``Tensor`` of that dtype."""

    def __instancecheck__(cls, obj):
        return (isinstance(obj, Tensor) and obj._data.dtype == cls._dtype.np
                and obj.device.type == "cpu")

    def __call__(cls, *args, device=None, **kwargs):
        if kwargs:
            name = next(iter(kwargs))
            raise TypeError(
                f"new() received an invalid combination of arguments - got an unexpected "
                f"keyword argument '{name}'"
            )
        if len(args) == 1 and isinstance(args[0], Tensor):
            source = args[0]
            if source._data.dtype != cls._dtype.np:
                raise TypeError(
                    f"expected {cls._dtype} tensor (got {source.dtype} tensor)"
                )
            return source
        from ._ops.creation import _legacy_new
        from ._tensor import _make

        return _make(_legacy_new(args, device, cls._dtype))

    @property
    def dtype(cls):
        return cls._dtype

    @property
    def is_cuda(cls):
        return False

    def __repr__(cls):
        return f"<class 'torch.{cls.__name__}'>"


def _legacy_class(name, d):
    return _LegacyTensorMeta(name, (), {"_dtype": d, "__module__": "ember"})


FloatTensor = _legacy_class("FloatTensor", _dt.float32)
DoubleTensor = _legacy_class("DoubleTensor", _dt.float64)
HalfTensor = _legacy_class("HalfTensor", _dt.float16)
BFloat16Tensor = _legacy_class("BFloat16Tensor", _dt.bfloat16)
ByteTensor = _legacy_class("ByteTensor", _dt.uint8)
CharTensor = _legacy_class("CharTensor", _dt.int8)
ShortTensor = _legacy_class("ShortTensor", _dt.int16)
IntTensor = _legacy_class("IntTensor", _dt.int32)
LongTensor = _legacy_class("LongTensor", _dt.int64)
BoolTensor = _legacy_class("BoolTensor", _dt.bool_)

_LEGACY_BY_NAME = {cls.__name__: cls for cls in (
    FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor, ByteTensor, CharTensor,
    ShortTensor, IntTensor, LongTensor, BoolTensor,
)}
assert set(_LEGACY_BY_NAME) == set(_LEGACY_TYPES)


def typename(obj) -> str:
    """``'torch.FloatTensor'`` for tensors, the qualified class name otherwise."""
    if isinstance(obj, Tensor):
        return obj.type()
    qualname = getattr(type(obj), "__qualname__", type(obj).__name__)
    module = getattr(type(obj), "__module__", "")
    if module in ("builtins", "", None):
        return qualname
    if module.startswith("ember"):
        module = "torch" + module[len("ember"):]
    return f"{module}.{qualname}"


def set_default_tensor_type(t) -> None:
    """Deprecated in PyTorch: sets the default float dtype from a legacy type."""
    if isinstance(t, str):
        name = t.split(".")[-1]
        if name not in _LEGACY_BY_NAME:
            raise TypeError(f"invalid type: '{t}'")
        t = _LEGACY_BY_NAME[name]
    if not isinstance(t, _LegacyTensorMeta):
        raise TypeError(f"invalid type: '{t}'")
    if not t.dtype.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    set_default_dtype(t.dtype)


# ---------------------------------------------------------------------------
# compile
# ---------------------------------------------------------------------------


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
            options=None, disable=False):
    """A no-op backend: a function comes back unchanged; a module comes back wrapped in an
    ``OptimizedModule`` as PyTorch's does (its ``_orig_mod``, ``_orig_mod.``-prefixed
    state_dict keys), calling the module eagerly. Used as a decorator, the same.

    ember runs eagerly on NumPy/CuPy and has no graph compiler; code written for
    ``torch.compile`` keeps working and gives the same results, only without speed-up.
    """
    if model is None:
        def decorate(fn):
            return compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                           mode=mode, options=options, disable=disable)

        return decorate
    if not callable(model):
        raise RuntimeError("Expected a function or nn.Module, got " + type(model).__name__)
    from .nn.modules.module import Module

    if disable or not isinstance(model, Module):
        return model
    from types import SimpleNamespace

    from ._dynamo.eval_frame import OptimizedModule

    options_used = SimpleNamespace(backend=backend, mode=mode, options=options,
                                   fullgraph=fullgraph, dynamic=dynamic)
    return OptimizedModule(model, options_used)


__all__ = [
    "finfo", "iinfo", "is_floating_point", "is_complex", "is_nonzero", "is_storage",
    "result_type", "promote_types", "can_cast", "use_deterministic_algorithms",
    "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled",
    "set_float32_matmul_precision", "get_float32_matmul_precision", "set_num_threads", "get_num_threads", "set_num_interop_threads",
    "get_num_interop_threads", "FloatTensor", "DoubleTensor", "HalfTensor",
    "BFloat16Tensor", "ByteTensor", "CharTensor", "ShortTensor", "IntTensor", "LongTensor",
    "BoolTensor", "typename", "set_default_tensor_type", "compile",
]
