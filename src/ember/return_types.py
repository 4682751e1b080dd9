"""``ember.return_types``: the named tuples ops return (``max`` with a dim gives
``return_types.max(values=..., indices=...)``), as ``torch.return_types``."""

from ._ops._select import RETURN_TYPES

globals().update(RETURN_TYPES)

__all__ = sorted(RETURN_TYPES)
