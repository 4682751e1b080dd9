"""Moving a DTensor's local pieces between placements, and the autograd Functions that
carry those moves (and the gradient fix-ups of local ops) through backward.

A DTensor's local tensor is an ordinary ember tensor: ops on DTensors run as local ops
on those tensors, and autograd records the local ops. What autograd cannot know is the
placement of a gradient. The invariant kept here, as PyTorch's DTensor does: the gradient
that reaches a DTensor has the DTensor's placements, with ``Partial`` read as
``Replicate`` (the gradient of a sum of terms is the whole gradient, on every rank).
``_Redistribute.backward`` moves a gradient back from the target placements to the
source ones under that reading; ``_GradAllReduce`` sums the local gradients of a
replicated input that ranks used differently (a local op whose output is sharded or
partial along that mesh dimension).
"""

from __future__ import annotations

import ember
from ember.autograd import Function

from .. import _collectives
from .placement_types import Replicate, Shard

__all__: list = []

_SUM = "sum"


def chunk_bounds(size: int, count: int, index: int) -> tuple:
    """(start, length) of piece ``index`` when ``size`` elements are cut in ``count``
    pieces as ``torch.chunk`` cuts them (pieces past the end are empty)."""
    piece = -(-size // count) if count else 0
    start = min(index * piece, size)
    return start, max(0, min(size, start + piece) - start)


def local_shape_and_offset(global_shape, mesh, placements) -> tuple:
    """The shape of this rank's piece and where it starts in the global tensor (nested
    ``Shard`` of one dimension over several mesh dimensions cuts the cut piece again)."""
    shape, offset = list(global_shape), [0] * len(global_shape)
    coordinate = mesh.get_coordinate()
    if coordinate is None:  # a rank outside the mesh holds nothing
        return (0,) * len(shape), tuple(offset)
    for mesh_dim, placement in enumerate(placements):
        if isinstance(placement, Shard):
            start, length = chunk_bounds(shape[placement.dim], mesh.size(mesh_dim),
                                         coordinate[mesh_dim])
            shape[placement.dim] = length
            offset[placement.dim] += start
    return tuple(shape), tuple(offset)


def _shape_at(global_shape, mesh, placements, mesh_dim) -> list:
    """The tensor's shape as mesh dimension ``mesh_dim`` sees it: cut by the shards of the
    mesh dimensions before it."""
    return list(local_shape_and_offset(global_shape, mesh, placements[:mesh_dim])[0])


# -- the per-mesh-dimension moves (plain tensors, no autograd) ----------------------------

def _all_reduce(local, mesh, mesh_dim, reduce_op):
    """The reduction of every rank's term (``avg`` as a sum divided, which every backend
    has)."""
    out = local.contiguous().clone()
    op = {"sum": "SUM", "avg": "SUM", "max": "MAX", "min": "MIN"}[reduce_op]
    _collectives.all_reduce(out, op=getattr(_collectives.ReduceOp, op),
                            group=mesh.get_group(mesh_dim))
    if reduce_op == "avg":
        out = out / mesh.size(mesh_dim)
    return out


def _all_gather(local, mesh, mesh_dim, dim, full_size):
    """The whole of tensor dimension ``dim`` from every rank's ``torch.chunk`` piece:
    pieces are padded to the largest one, gathered, and cut back."""
    count = mesh.size(mesh_dim)
    piece = -(-full_size // count)
    padded = local
    if local.shape[dim] < piece:
        pad_shape = list(local.shape)
        pad_shape[dim] = piece - local.shape[dim]
        padded = ember.cat([local, ember.zeros(pad_shape, dtype=local.dtype,
                                               device=local.device)], dim)
    padded = padded.contiguous()
    gathered = [ember.empty_like(padded) for _ in range(count)]
    _collectives.all_gather(gathered, padded, group=mesh.get_group(mesh_dim))
    pieces = [part.narrow(dim, 0, chunk_bounds(full_size, count, index)[1])
              for index, part in enumerate(gathered)]
    return ember.cat(pieces, dim)


def _shard(local, mesh, mesh_dim, dim):
    """This rank's ``torch.chunk`` piece of tensor dimension ``dim``."""
    start, length = chunk_bounds(local.shape[dim], mesh.size(mesh_dim),
                                 mesh.get_local_rank(mesh_dim))
    return local.narrow(dim, start, length).contiguous()


def _partition(local, mesh, mesh_dim, reduce_op):
    """Replicate -> Partial: terms whose reduction is the value (PyTorch's
    ``_partition_value``: a sum's terms are value / n)."""
    if reduce_op == _SUM:
        return local / mesh.size(mesh_dim)
    if reduce_op in ("avg", "max", "min"):
        return local.clone()
    raise ValueError(f"Replicate to Partial({reduce_op}) conversion is not supported.")


def transform(local, mesh, source, target, global_shape):
    """``local`` (a plain tensor holding this rank's piece under ``source``) as the piece
    under ``target``. Mesh dimensions that change are first made Replicate, innermost
    first (a Shard after the first change is gathered too, so nested shards of one tensor
    dimension come back whole), then cut to their targets outermost first."""
    current = list(source)
    changed = [dim for dim in range(len(source)) if source[dim] != target[dim]]
    if not changed:
        return local
    first = changed[0]
    with ember.no_grad():
        for mesh_dim in reversed(range(first, len(current))):
            placement = current[mesh_dim]
            if placement.is_replicate():
                continue
            if placement == target[mesh_dim] and not placement.is_shard():
                continue  # an unchanged Partial commutes with the other moves
            if placement.is_shard():
                full = _shape_at(global_shape, mesh, current, mesh_dim)[placement.dim]
                local = _all_gather(local, mesh, mesh_dim, placement.dim, full)
            else:
                local = _all_reduce(local, mesh, mesh_dim, placement.reduce_op)
            current[mesh_dim] = Replicate()
        for mesh_dim in range(first, len(current)):
            wanted = target[mesh_dim]
            if current[mesh_dim] == wanted:
                continue
            if wanted.is_shard():
                local = _shard(local, mesh, mesh_dim, wanted.dim)
            elif wanted.is_partial():
                local = _partition(local, mesh, mesh_dim, wanted.reduce_op)
            current[mesh_dim] = wanted
    return local


def as_gradient_placements(placements) -> tuple:
    """The placements a gradient of a tensor with ``placements`` arrives in."""
    return tuple(Replicate() if p.is_partial() else p for p in placements)


# -- autograd -------------------------------------------------------------------------------

class _Redistribute(Function):
    """source placements -> target placements; backward moves the gradient back."""

    @staticmethod
    def forward(ctx, local, mesh, source, target, global_shape, grad_source=None):
        ctx.mesh, ctx.source, ctx.target, ctx.global_shape = mesh, source, target, global_shape
        ctx.grad_source = grad_source
        out = transform(local.detach(), mesh, source, target, global_shape)
        return out.clone() if out is local else out

    @staticmethod
    def backward(ctx, grad):
        grad_from = ctx.grad_source or as_gradient_placements(ctx.target)
        moved = transform(grad, ctx.mesh, grad_from, as_gradient_placements(ctx.source),
                          ctx.global_shape)
        for mesh_dim, (source, target) in enumerate(zip(ctx.source, ctx.target)):
            if source.is_partial("avg") and target != source:
                # each of the n terms of an average moves it by 1/n
                moved = moved / ctx.mesh.size(mesh_dim)
        return moved, None, None, None, None, None


def redistribute_local(local, mesh, source, target, global_shape):
    """The autograd-recorded move of a plain local tensor."""
    source, target = tuple(source), tuple(target)
    if source == target:
        return local
    return _Redistribute.apply(local, mesh, source, target, tuple(global_shape))


def regrad_local(local, mesh, placements, grad_placements, global_shape):
    """An identity whose backward reads the arriving gradient as ``grad_placements``
    (``to_local(grad_placements=...)``) and moves it to ``placements``."""
    grad_placements = tuple(grad_placements)
    if grad_placements == as_gradient_placements(placements):
        return local
    return _Redistribute.apply(local, mesh, tuple(placements), tuple(placements),
                               tuple(global_shape), grad_placements)


class _GradAllReduce(Function):
    """Identity forward; backward sums the gradient over mesh dimensions ``mesh_dims``
    (a replicated input that the ranks used for different pieces of the output)."""

    @staticmethod
    def forward(ctx, local, mesh, mesh_dims):
        ctx.mesh, ctx.mesh_dims = mesh, mesh_dims
        return local.view_as(local)

    @staticmethod
    def backward(ctx, grad):
        for mesh_dim in ctx.mesh_dims:
            grad = _all_reduce(grad, ctx.mesh, mesh_dim, _SUM)
        return grad, None, None


def grad_all_reduce(local, mesh, mesh_dims):
    if not mesh_dims or not local.requires_grad:
        return local
    return _GradAllReduce.apply(local, mesh, tuple(mesh_dims))
