"""``ember.autocast`` / ``ember.amp.autocast``: mixed precision by op lists, as PyTorch.

Inside an autocast region, ops on PyTorch's "lower precision" list (matmul, linear,
convolutions, ...) cast their floating inputs to the autocast dtype (bfloat16 on cpu by
default, float16 on cuda), ops on the "float32" list (softmax, losses, norms,
reductions that overflow easily) cast them up to float32, and "promote" ops run in the
widest input dtype. The lists name ember's op classes (the Function subclasses in
``ember._ops``), so one table decides, and ``Function.apply`` consults it only while
autocast is on.
"""

from __future__ import annotations

import functools

import numpy as np

from .._backend import autocast_state
from .._backend import dtypes as _dt
from . import _switches
from ._switches import get_autocast_dtype, is_autocast_enabled  # noqa: F401 - re-exported

LOWER_PRECISION = {
    "Matmul", "Mm", "Bmm", "Addmm", "Addmv", "Addbmm", "Baddbmm", "Linear", "Bilinear",
    "Conv", "ConvNd", "_Conv", "ConvTranspose", "ConvTransposeNd", "Prelu", "PReLU",
    "ScaledDotProductAttention", "Einsum",
    # ember's op classes for these (their _op_name), which the names above missed
    "_Bmm", "_Baddbmm", "_Addmm", "PreluKernel", "_ConvInputGrad",
}
_LOSSES_FP32 = {
    "MseLoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "KlDiv", "NllLoss", "NLLLoss",
    "CrossEntropy", "BinaryCrossEntropy", "BinaryCrossEntropyWithLogits", "CtcLoss",
    "CTCLoss", "MarginRankingLoss", "SoftMarginLoss", "MultiMarginLoss",
    "MultilabelMarginLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss", "PoissonNllLoss",
    "TripletMarginLoss",
    # cross_entropy and nll_loss are these two fused Functions (_ops/_cross_entropy.py)
    "_IndexTargetLoss", "_ProbabilityTargetLoss",
}
# PyTorch keeps separate float32 lists per device; cpu's is mostly losses and linalg.
FLOAT32 = {
    "cuda": _LOSSES_FP32 | {
        "Acos", "Asin", "Cosh", "Erfinv", "Exp", "Expm1", "Log", "Log10", "Log2", "Log1p",
        "Reciprocal", "Rsqrt", "Sinh", "Tan", "Pow", "Softplus", "LayerNorm", "GroupNorm",
        "Norm", "Softmax", "SafeSoftmax", "LogSoftmax", "Logsumexp", "LogSumExp", "Cumsum", "Cumprod",
        "Prod", "Sum", "Cdist", "Dist",
    },
    "cpu": _LOSSES_FP32 | {
        "Prod", "Quantile", "Cdist", "Trace", "Cholesky", "Inv", "Inverse", "Pinv",
        "AvgPool3d", "MaxPool3d", "GridSample", "Solve", "Det", "Slogdet", "Svd", "Qr", "Eigh",
        "ReflectionPad1D", "ReflectionPad2D", "ReplicationPad1D", "ReplicationPad2D",
        "ReplicationPad3D", "_GridSampler2D", "_GridSampler3D", "CTC",
    },
}
# Ops run in their widest input dtype. cpu's list (stack, cat, index_copy) names no ember
# class that needs it: cat and stack promote anyway. dot, vdot and mv are "_Dot".
PROMOTE = {
    "cuda": {"Addcdiv", "Addcmul", "Atan2", "Cross", "Dot", "_Dot", "Tensordot", "IndexPut",
             "ScatterAdd"},
    "cpu": set(),
}
# LAPACK-backed linalg, FFT, addbmm and linalg.vecdot check dtypes before any Function runs:
# their entry points carry ember._ops._autocast's wrappers, which name them in its lists.

_LISTED = LOWER_PRECISION | FLOAT32["cuda"] | FLOAT32["cpu"] | PROMOTE["cuda"]

_SUPPORTED = {"cpu": (_dt.bfloat16, _dt.float16), "cuda": (_dt.float16, _dt.bfloat16)}


def cast_args(cls, args):
    """The arguments ``cls`` should see under the active autocast policy."""
    name = cls._op_name  # the Function's class name (its __name__ is the node's)
    if name not in _LISTED:
        return args
    from .._backend.device import device_of
    from .._tensor import Tensor

    active = autocast_state.ACTIVE[0]
    floats = [a for a in args if isinstance(a, Tensor) and a._data.dtype.kind in "fV"]
    if not floats:
        return args
    device_type = device_of(floats[0]._data).type
    if device_type not in active:
        return args
    if name in LOWER_PRECISION:
        policy = "lower"
    elif name in FLOAT32[device_type]:
        policy = "fp32"
    elif name in PROMOTE[device_type]:
        policy = "promote"
    else:
        return args
    if policy == "lower":
        target = active[device_type]
    elif policy == "fp32":
        target = np.dtype(np.float32)
    else:
        target = floats[0]._data.dtype
        for a in floats[1:]:
            target = _dt.promote_np(target, a._data.dtype)
    result = []
    for a in args:
        if (isinstance(a, Tensor) and a._data.dtype.kind in "fV" and a._data.dtype != target
                and (policy == "promote" or a._data.dtype != np.float64)):
            # PyTorch's lower/fp32 casts skip float64 (autocast's is_eligible)
            a = a.to(_dt.from_numpy_dtype(target))
        result.append(a)
    return tuple(result)


class autocast:
    """``with ember.autocast("cpu"):`` (or ``device_type="cuda"``, ``dtype=...``); also a
    decorator."""

    def __init__(self, device_type="cuda", dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(
                f"Expected `device_type` of type `str`, got: `{type(device_type)}`"
            )
        if device_type not in _SUPPORTED:
            raise RuntimeError(
                f"User specified an unsupported autocast device_type '{device_type}'"
            )
        # no dtype: the device's configured one (set_autocast_dtype, or an outer region's)
        dtype = get_autocast_dtype(device_type) if dtype is None else _dt.to_dtype(dtype)
        if enabled and dtype not in _SUPPORTED[device_type]:
            raise RuntimeError(
                f"In {device_type} autocast, but the target dtype is not supported. "
                f"Disabling autocast.\n{device_type} Autocast only supports dtypes of "
                + " and ".join(str(d) for d in _SUPPORTED[device_type]) + " currently."
            )
        self.device = device_type
        self.fast_dtype = dtype
        self._enabled = bool(enabled)
        self._cache_enabled = (_switches.CACHE_ENABLED[0] if cache_enabled is None
                               else bool(cache_enabled))
        self._previous = None

    def __enter__(self):
        self._previous = (autocast_state.ACTIVE[0], _switches.DTYPES[self.device],
                          _switches.CACHE_ENABLED[0])
        _switches.DTYPES[self.device] = self.fast_dtype
        _switches.CACHE_ENABLED[0] = self._cache_enabled
        _switches.autocast_increment_nesting()
        state = dict(self._previous[0] or {})
        if self._enabled:
            state[self.device] = self.fast_dtype.numpy_dtype
        else:
            state.pop(self.device, None)
        autocast_state.ACTIVE[0] = state or None
        return self

    def __exit__(self, *exc):
        if _switches.autocast_decrement_nesting() == 0:
            _switches.clear_autocast_cache()
        (autocast_state.ACTIVE[0], _switches.DTYPES[self.device],
         _switches.CACHE_ENABLED[0]) = self._previous
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return func(*args, **kwargs)

        return wrapper


def is_autocast_available(device_type: str) -> bool:
    return device_type in _SUPPORTED


def custom_fwd(fwd=None, *, device_type="cuda", cast_inputs=None):
    """Decorator for a custom Function's forward: run it with autocast state as given."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def wrapper(*args, **kwargs):
        if cast_inputs is None:
            return fwd(*args, **kwargs)
        from .._tensor import Tensor

        cast = tuple(
            a.to(cast_inputs) if isinstance(a, Tensor) and a.is_floating_point() else a
            for a in args
        )
        with autocast(device_type, enabled=False):
            return fwd(*cast, **kwargs)

    return wrapper


def custom_bwd(bwd=None, *, device_type="cuda"):
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd


autocast_state.cast = cast_args
