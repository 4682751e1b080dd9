"""ember.signal: torch.signal (its ``windows`` module of window functions)."""

from . import windows

__all__ = ["windows"]
