"""``loss_parallel``: inside it, ``cross_entropy`` takes a DTensor input sharded on the
class dimension (``Shard(class_dim)`` on a 1-D mesh) without gathering it, with a plain
tensor target taken as replicated. The loss is built from DTensor ops, so autograd gives
the input's gradient in the input's placements:

    lse    = log(sum_c exp(x - max)) + max     (a per-row max and a sum across ranks)
    picked = sum_c x * onehot(target)          (each rank holds its classes' columns)
    loss   = lse - picked, masked by ignore_index, reduced as asked

Other inputs (replicated, or with ``label_smoothing``) are computed on the gathered input,
which gives the same values.
"""

from __future__ import annotations

import contextlib

import ember

from .._api import DTensor
from .._dispatch import _LOSS_PARALLEL
from ..placement_types import Replicate, Shard

__all__ = ["loss_parallel"]


@contextlib.contextmanager
def loss_parallel():
    before = _LOSS_PARALLEL[0]
    _LOSS_PARALLEL[0] = True
    try:
        yield
    finally:
        _LOSS_PARALLEL[0] = before


def _class_sharded(input) -> bool:
    class_dim = 1 if input.ndim > 1 else 0
    return input.device_mesh.ndim == 1 and input.placements[0] == Shard(class_dim)


def sharded_cross_entropy(args, kwargs):
    """``cross_entropy`` of a class-sharded DTensor (NotImplemented where it does not
    apply: the caller then gathers)."""
    names = ("input", "target", "weight", "size_average", "ignore_index", "reduce",
             "reduction", "label_smoothing")
    bound = dict(zip(names, args))
    bound.update(kwargs)
    input, target = bound["input"], bound["target"]
    if not isinstance(input, DTensor) or not _class_sharded(input) or \
            bound.get("weight") is not None or bound.get("label_smoothing", 0.0) or \
            bound.get("size_average") is not None or bound.get("reduce") is not None:
        return NotImplemented
    if not input.dtype.is_floating_point or input.ndim not in (1, 2):
        return NotImplemented
    mesh = input.device_mesh
    if isinstance(target, DTensor):
        target = target.full_tensor()
    ignore_index = bound.get("ignore_index", -100)
    reduction = bound.get("reduction", "mean")
    single = input.ndim == 1
    if single:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    classes = input.shape[1]
    with ember.no_grad():
        row_max = input.detach().amax(1, keepdim=True).full_tensor()
    shifted = input - DTensor.from_local(row_max, mesh, [Replicate()])
    lse = shifted.exp().sum(1).redistribute(mesh, [Replicate()]).log()
    kept = target != ignore_index
    onehot = ember.nn.functional.one_hot(target.masked_fill(~kept, 0), classes)
    onehot = ember.distributed.tensor.distribute_tensor(
        onehot.to(input.dtype), mesh, [Shard(1)], src_data_rank=None)
    picked = (shifted * onehot).sum(1).redistribute(mesh, [Replicate()])
    mask = DTensor.from_local(kept.to(input.dtype), mesh, [Replicate()])
    losses = (lse - picked) * mask
    if reduction == "none":
        return losses[0] if single else losses
    total = losses.sum()
    if reduction == "sum":
        return total
    return total / DTensor.from_local(kept.sum().to(input.dtype), mesh, [Replicate()])
