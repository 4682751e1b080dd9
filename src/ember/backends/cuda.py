"""ember.backends.cuda: matmul precision flags and scaled-dot-product switches (recorded)."""

from __future__ import annotations

import contextlib
import warnings


class _MatmulFlags:
    """``ember.backends.cuda.matmul``: PyTorch's cuBLAS precision switches."""

    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True

    def __repr__(self):
        return f"<ember.backends.cuda.matmul allow_tf32={self.allow_tf32}>"


matmul = _MatmulFlags()

# The scaled-dot-product switches, shared with ember.nn.attention.sdpa_kernel.
_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True, "overrideable": True}


def is_built() -> bool:
    """Whether ember can drive CUDA at all (CuPy importable with a GPU)."""
    from .. import cuda as _cuda

    return _cuda.is_available()


def flash_sdp_enabled() -> bool:
    return _sdp["flash"]


def enable_flash_sdp(enabled: bool) -> None:
    _sdp["flash"] = bool(enabled)


def mem_efficient_sdp_enabled() -> bool:
    return _sdp["mem_efficient"]


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _sdp["mem_efficient"] = bool(enabled)


def math_sdp_enabled() -> bool:
    return _sdp["math"]


def enable_math_sdp(enabled: bool) -> None:
    _sdp["math"] = bool(enabled)


def cudnn_sdp_enabled() -> bool:
    return _sdp["cudnn"]


def enable_cudnn_sdp(enabled: bool) -> None:
    _sdp["cudnn"] = bool(enabled)


@contextlib.contextmanager
def sdp_kernel(enable_flash: bool = True, enable_math: bool = True,
               enable_mem_efficient: bool = True, enable_cudnn: bool = True):
    """The deprecated spelling of ``ember.nn.attention.sdpa_kernel`` (keyword switches)."""
    warnings.warn(
        "`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context "
        "manager will be removed. Please see `torch.nn.attention.sdpa_kernel()` for the new "
        "context manager, with updated signature.", FutureWarning, stacklevel=3)
    previous = dict(_sdp)
    try:
        _sdp.update(flash=bool(enable_flash), math=bool(enable_math),
                    mem_efficient=bool(enable_mem_efficient), cudnn=bool(enable_cudnn))
        yield {}
    finally:
        _sdp.clear()
        _sdp.update(previous)


__all__ = [
    "cudnn_sdp_enabled",
    "enable_cudnn_sdp",
    "enable_flash_sdp",
    "enable_math_sdp",
    "enable_mem_efficient_sdp",
    "flash_sdp_enabled",
    "is_built",
    "math_sdp_enabled",
    "matmul",
    "mem_efficient_sdp_enabled",
    "sdp_kernel",
]
