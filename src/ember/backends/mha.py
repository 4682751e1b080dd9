"""ember.backends.mha: the switch for PyTorch's fused MultiheadAttention/TransformerEncoder
inference path. ember has one attention path, so the flag is only recorded."""

from __future__ import annotations

_is_fastpath_enabled: bool = True


def get_fastpath_enabled() -> bool:
    return _is_fastpath_enabled


def set_fastpath_enabled(value: bool) -> None:
    global _is_fastpath_enabled
    _is_fastpath_enabled = value


__all__ = ["get_fastpath_enabled", "set_fastpath_enabled"]
