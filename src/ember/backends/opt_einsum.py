"""ember.backends.opt_einsum: PyTorch's switch for contraction-path optimisation in einsum.

ember's einsum always lets NumPy (or CuPy) pick a contraction path, so these flags change
nothing; they are validated and recorded as PyTorch's are, so scripts that set them run.
``is_available()`` says whether the ``opt_einsum`` package is importable, as in PyTorch.
"""

from __future__ import annotations

from contextlib import contextmanager

try:
    import opt_einsum as _opt_einsum
except ImportError:
    _opt_einsum = None

__all__ = ["enabled", "flags", "get_opt_einsum", "is_available", "set_flags", "strategy"]


def is_available() -> bool:
    return _opt_einsum is not None


def get_opt_einsum():
    """The ``opt_einsum`` module when installed, else None."""
    return _opt_einsum


enabled = is_available()
strategy = "auto" if is_available() else None


def _set_enabled(value: bool) -> None:
    global enabled
    if value and not is_available():
        raise ValueError(
            f"opt_einsum is not available, so setting `enabled` to {value} will not reap the "
            "benefits of calculating an optimal path for einsum. torch.einsum will fall back "
            "to contracting from left to right. To enable this optimal path calculation, "
            "please install opt-einsum.")
    enabled = value


def _set_strategy(value: str) -> None:
    global strategy
    if not is_available():
        raise ValueError(
            f"opt_einsum is not available, so setting `strategy` to {value} will not be "
            "meaningful. torch.einsum will bypass path calculation and simply contract from "
            "left to right. Please install opt_einsum or unset `strategy`.")
    if not enabled:
        raise ValueError(
            f"opt_einsum is not enabled, so setting a `strategy` to {value} will not be "
            "meaningful. torch.einsum will bypass path calculation and simply contract from "
            "left to right. Please set `enabled` to `True` as well or unset `strategy`.")
    if value not in ("auto", "greedy", "optimal"):
        raise ValueError("`strategy` must be one of the following: [auto, greedy, optimal] "
                         f"but is {value}")
    strategy = value


def set_flags(_enabled=None, _strategy=None):
    """Set the flags given (not None), checked as PyTorch checks them; returns the previous
    ``(enabled, strategy)``."""
    previous = (enabled, strategy if is_available() else None)
    if _enabled is not None:
        _set_enabled(_enabled)
    if _strategy is not None:
        _set_strategy(_strategy)
    return previous


@contextmanager
def flags(enabled=None, strategy=None):
    previous = set_flags(enabled, strategy)
    try:
        yield
    finally:
        set_flags(*previous)
