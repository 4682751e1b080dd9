"""ember.nn.attention (PyTorch's ``torch.nn.attention``): choosing the kernels behind
``F.scaled_dot_product_attention``.

ember has one attention kernel, the math formulation, on every device. The switches are
still honoured as PyTorch honours them: a backend set in which no kernel can run on the
query's device makes ``scaled_dot_product_attention`` raise PyTorch's error. On the cpu
PyTorch runs the math kernel and its flash kernel (the same numbers up to rounding), so
either enables ember's; on cuda any of the four does.
"""

from __future__ import annotations

import contextlib
from enum import Enum

from ...backends import cuda as _cuda_flags
from ._registry import (
    activate_flash_attention_impl,
    current_flash_attention_impl,
    list_flash_attention_impls,
    register_flash_attention_impl,
    restore_flash_attention_impl,
)

__all__ = [
    "WARN_FOR_UNFUSED_KERNELS", "SDPBackend", "activate_flash_attention_impl",
    "current_flash_attention_impl", "list_flash_attention_impls", "register_flash_attention_impl",
    "restore_flash_attention_impl", "sdpa_kernel",
]

WARN_FOR_UNFUSED_KERNELS = False


class SDPBackend(Enum):
    """The kernels ``scaled_dot_product_attention`` may choose from."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


# Each backend's switch in ember.backends.cuda (OVERRIDEABLE and ERROR have none there).
_FLAG = {SDPBackend.MATH: "math", SDPBackend.FLASH_ATTENTION: "flash",
         SDPBackend.EFFICIENT_ATTENTION: "mem_efficient", SDPBackend.CUDNN_ATTENTION: "cudnn",
         SDPBackend.OVERRIDEABLE: "overrideable"}


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority: bool = False):
    """Enable only ``backends`` (one SDPBackend or a list) inside the block; the switches
    in force before it come back on exit, also after an exception.

    ``set_priority`` orders PyTorch's choice among several enabled fused kernels; ember's
    single kernel makes the order moot, so it is accepted and has no effect.
    """
    if isinstance(backends, SDPBackend):
        backends = [backends]
    elif not isinstance(backends, list):  # PyTorch checks only the container's type
        raise AssertionError(  # noqa: TRY004 - PyTorch's assert, so AssertionError
            "Backend must be an instance of SDPBackend or a list of SDPBackend instances, "
            f"got {type(backends).__name__}")
    previous = dict(_cuda_flags._sdp)
    try:
        for flag in _FLAG.values():
            _cuda_flags._sdp[flag] = False
        for backend in backends:
            if backend in _FLAG:
                _cuda_flags._sdp[_FLAG[backend]] = True
        yield {}
    finally:
        _cuda_flags._sdp.clear()
        _cuda_flags._sdp.update(previous)


def _check_kernel_available(device_type: str) -> None:
    """Raise PyTorch's error when the enabled switches leave no kernel for the device."""
    flags = _cuda_flags._sdp
    if flags["math"] or flags["flash"]:
        return
    usable = ("math", "flash") if device_type == "cpu" else (
        "math", "flash", "mem_efficient", "cudnn")
    if not any(flags[name] for name in usable):
        raise RuntimeError(
            "No viable backend for scaled_dot_product_attention was found. This is likely "
            "due to turning off both the math kernel and the fused kernels.")
