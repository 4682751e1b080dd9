"""``ember.autograd``: Function, the backward engine, grad modes, gradcheck."""

from . import forward_ad, functional, grad_mode, graph, profiler
from ._engine_flags import is_multithreading_enabled, set_multithreading_enabled
from .engine import backward, detect_anomaly, grad, is_anomaly_enabled, set_detect_anomaly
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .variable import Variable

__all__ = [
    "Function", "FunctionCtx", "GradcheckError", "Variable", "backward", "detect_anomaly",
    "enable_grad", "forward_ad", "functional", "grad", "grad_mode", "gradcheck", "gradgradcheck",
    "graph", "inference_mode", "is_anomaly_enabled", "is_grad_enabled", "is_inference_mode_enabled",
    "is_multithreading_enabled", "set_multithreading_enabled",
    "no_grad", "once_differentiable", "profiler", "set_detect_anomaly", "set_grad_enabled",
]
