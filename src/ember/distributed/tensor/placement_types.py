"""Placements (``torch.distributed.tensor.placement_types``): how a DTensor's global value
lives on one dimension of its DeviceMesh.

- ``Shard(dim)``: each rank holds one ``torch.chunk`` piece of tensor dimension ``dim``
  (uneven pieces as chunk cuts them: the first ranks hold ``ceil(n / k)``, the last ones
  may hold fewer or nothing).
- ``Replicate()``: every rank holds the whole value.
- ``Partial(reduce_op)``: every rank holds a term; the value is their reduction
  (``"sum"``, ``"avg"``, ``"max"``, ``"min"``), taken when redistributed.
"""

from __future__ import annotations

__all__ = ["Partial", "Placement", "Replicate", "Shard"]


class Placement:
    """The base of the three placements; the ``is_*`` queries are what rules ask."""

    __slots__ = ()

    def is_shard(self, dim: int | None = None) -> bool:
        return isinstance(self, Shard) and (dim is None or self.dim == dim)

    def is_replicate(self) -> bool:
        return isinstance(self, Replicate)

    def is_partial(self, reduce_op: str | None = None) -> bool:
        return isinstance(self, Partial) and (reduce_op is None or self.reduce_op == reduce_op)


class Shard(Placement):
    """Tensor dimension ``dim`` is split across the mesh dimension, as ``torch.chunk``."""

    __slots__ = ("dim",)

    def __init__(self, dim: int = 0):
        self.dim = dim

    def __eq__(self, other):
        return isinstance(other, Shard) and other.dim == self.dim

    def __hash__(self):
        return hash(("shard", self.dim))

    def __repr__(self):
        return f"Shard(dim={self.dim})"

    def __str__(self):
        return f"S({self.dim})"


class Replicate(Placement):
    """Every rank of the mesh dimension holds the whole tensor."""

    __slots__ = ()

    def __eq__(self, other):
        return isinstance(other, Replicate)

    def __hash__(self):
        return -1

    def __repr__(self):
        return "Replicate()"

    def __str__(self):
        return "R"


_REDUCE_OPS = ("sum", "avg", "max", "min")


class Partial(Placement):
    """Every rank holds a term; the tensor is their ``reduce_op`` across the mesh
    dimension."""

    __slots__ = ("reduce_op",)

    def __init__(self, reduce_op: str = "sum"):
        self.reduce_op = reduce_op

    def __eq__(self, other):
        return isinstance(other, Partial) and other.reduce_op == self.reduce_op

    def __hash__(self):
        return 1 + hash(self.reduce_op)

    def __repr__(self):
        return f"Partial({self.reduce_op})"

    def __str__(self):
        return f"P({self.reduce_op})"
