"""ember.backends.cpu: the CPU capability string PyTorch reports."""

from __future__ import annotations


def get_cpu_capability() -> str:
    """The SIMD level NumPy's kernels were dispatched to (``'AVX2'``, ``'AVX512'``, ...)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # NumPy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as features
    for name in ("AVX512F", "AVX2"):
        if features.get(name):
            return name.replace("F", "") if name == "AVX512F" else name
    return "DEFAULT"


__all__ = ["get_cpu_capability"]
