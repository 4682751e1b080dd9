"""``torch.version``: what environment checks print (``torch.version.cuda`` is None on a
CPU-only build; here it is the CUDA runtime CuPy was built against, when CuPy is
installed)."""

from __future__ import annotations

from . import __version__

__all__ = ["__version__", "debug", "cuda", "git_version", "hip", "xpu"]

debug = False
git_version = "Unknown"
hip = None
xpu = None


def _cuda_runtime() -> str | None:
    try:
        import cupy
    except Exception:  # CuPy missing or without a usable CUDA: a CPU-only build
        return None
    try:
        version = cupy.cuda.runtime.runtimeGetVersion()
    except Exception:
        return None
    return f"{version // 1000}.{version % 1000 // 10}"


cuda = _cuda_runtime()
