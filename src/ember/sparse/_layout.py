"""``torch.layout`` objects: ``ember.strided``, ``ember.sparse_coo`` and the compressed
layouts ``sparse_csr``, ``sparse_csc``, ``sparse_bsr``, ``sparse_bsc``.

A layout says how a tensor's elements are stored. PyTorch code compares them by identity
(``x.layout == torch.strided``) and prints them as ``torch.strided``; they pickle as
``torch.serialization._get_layout(name)``, which is what checkpoints hold.
"""

from __future__ import annotations


class layout:
    """How a tensor is stored (``torch.layout``); the instances are singletons."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self):
        from ..serialization import _get_layout

        return (_get_layout, (repr(self),))

    def __eq__(self, other):
        # Older ember code kept Tensor.layout as the string "torch.strided".
        if isinstance(other, str):
            return other == repr(self)
        return self is other

    def __hash__(self):
        return hash(self._name)


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")
_BY_NAME = {repr(x): x for x in (strided, sparse_coo, sparse_csr, sparse_csc, sparse_bsr,
                                  sparse_bsc)}


def layout_from_name(name):
    """The layout object ``name`` (``"torch.sparse_coo"``) or a layout denotes."""
    if isinstance(name, layout):
        return name
    return _BY_NAME.get(name, name)
