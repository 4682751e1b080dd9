"""The function transforms' pytree: ``ember.utils._pytree`` (one implementation), plus
``broadcast_prefix`` for vmap's in_dims / out_dims."""

from __future__ import annotations

from ember.utils._pytree import (  # noqa: F401 - re-exported for the transforms
    TreeSpec,
    _broadcast_to_and_flatten,
    tree_flatten,
    tree_map,
    tree_unflatten,
)


def broadcast_prefix(prefix, spec):
    """Flatten ``prefix`` (a nest whose leaves stand for whole subtrees of ``spec``, as
    vmap's in_dims and out_dims do) to one value per leaf of ``spec``; None where the
    two structures do not line up."""
    return _broadcast_to_and_flatten(prefix, spec)
