"""``torch.storage``: the storage classes' public module.

The classes live in ``ember._storage`` (and the legacy per-dtype ones in
``ember._storage_legacy``); this is where PyTorch code imports them from
(``from torch.storage import UntypedStorage``), with PyTorch's helpers for the
TypedStorage deprecation warning.
"""

from __future__ import annotations

import warnings

from ._storage import TypedStorage, UntypedStorage, _StorageBase, _warned  # noqa: F401

__all__ = ["TypedStorage", "UntypedStorage"]

_always_warn = [False]


def _get_always_warn_typed_storage_removal() -> bool:
    return _always_warn[0]


def _set_always_warn_typed_storage_removal(always_warn: bool) -> None:
    if not isinstance(always_warn, bool):
        raise AssertionError(f"always_warn must be bool, got {type(always_warn)}")
    _always_warn[0] = always_warn


def _warn_typed_storage_removal(stacklevel: int = 2) -> None:
    """PyTorch's deprecation warning for TypedStorage: once per process (the flag
    ``tensor.storage()`` also sets), or every time after
    ``_set_always_warn_typed_storage_removal(True)``."""
    if _always_warn[0] or not _warned[0]:
        warnings.warn(
            "TypedStorage is deprecated. It will be removed in the future and UntypedStorage "
            "will be the only storage class. This should only matter to you if you are "
            "using storages directly.  To access UntypedStorage directly, use "
            "tensor.untyped_storage() instead of tensor.storage()", UserWarning,
            stacklevel=stacklevel + 1)
        _warned[0] = True


def _reset_warn_typed_storage_removal() -> None:
    _warned[0] = False
