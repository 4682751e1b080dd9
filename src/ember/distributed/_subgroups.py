"""Subgroups in bulk (``new_subgroups``, ``new_subgroups_by_enumeration``) and the
collectives PyTorch keeps beside the main ones: the coalesced forms (several tensors in
one message; deprecated, with PyTorch's FutureWarning) and the ``*_single`` names of
``all_gather_into_tensor`` and ``reduce_scatter_tensor``.
"""

from __future__ import annotations

import warnings

from ._collectives import (_check_same_dtype, _check_tensor, _check_tensor_list,
                           all_gather_into_tensor, all_reduce, reduce_scatter_tensor)
from ._group import ReduceOp, _op_type, _resolve, get_process_group_ranks, get_rank
from ._group import get_world_size, new_group

__all__ = [
    "all_gather_coalesced", "all_gather_single", "all_reduce_coalesced", "new_subgroups",
    "new_subgroups_by_enumeration", "reduce_scatter_single", "supports_complex",
]

_DEPRECATED = ("`torch.distributed.{}` will be deprecated. If you must use it, please "
               "revisit our documentation later at "
               "https://pytorch.org/docs/main/distributed.html#collective-functions")


def new_subgroups_by_enumeration(ranks_per_subgroup_list, timeout=None, backend=None,
                                 pg_options=None, group_desc=None):
    """One group per list of global ranks (the lists must not overlap; a rank may be in
    none). Every process calls it. Returns (this process's subgroup or None, all the
    subgroups this process created)."""
    if ranks_per_subgroup_list is None or len(ranks_per_subgroup_list) == 0:
        raise ValueError("The arg 'ranks_per_subgroup_list' cannot be empty")
    subgroups, current, owner = [], None, {}
    my_rank = get_rank()
    for ranks in ranks_per_subgroup_list:
        subgroup = new_group(ranks=ranks, timeout=timeout, backend=backend,
                             pg_options=pg_options, group_desc=group_desc)
        subgroups.append(subgroup)
        for rank in ranks:
            if rank in owner:
                raise ValueError(f"Rank {rank} has appeared in both subgroup {owner[rank]} "
                                 f"and {ranks}")
            owner[rank] = ranks
            if rank == my_rank:
                current = subgroup
    return current, subgroups


def new_subgroups(group_size=None, group=None, timeout=None, backend=None, pg_options=None,
                  group_desc=None):
    """Split ``group`` (the world by default) into consecutive subgroups of
    ``group_size`` ranks. Returns (this process's subgroup, all the subgroups).

    Example::

        >>> current, subgroups = dist.new_subgroups(2)   # world of 4: [0, 1] and [2, 3]
        >>> dist.all_reduce(tensor, group=current)
    """
    if group_size is None:
        from .. import cuda
        if not cuda.is_available():
            raise ValueError("Default group size only takes effect when CUDA is available."
                             "If your subgroup using a backend that does not depend on CUDA,"
                             "please pass in 'group_size' correctly.")
        group_size = cuda.device_count()
    if group_size <= 0:
        raise ValueError(f"The arg 'group_size' ({group_size}) must be positive")
    world_size = get_world_size(group=group)
    if world_size < group_size:
        raise ValueError(f"The arg 'group_size' ({group_size}) must not exceed the world "
                         f"size ({world_size})")
    if world_size % group_size != 0:
        raise ValueError(f"The world size ({world_size}) must be divisible by "
                         f"'group_size={group_size}'")
    ranks = get_process_group_ranks(group) if group is not None else list(range(world_size))
    return new_subgroups_by_enumeration(
        [ranks[start:start + group_size] for start in range(0, len(ranks), group_size)],
        timeout=timeout, backend=backend, pg_options=pg_options, group_desc=group_desc)


def all_gather_single(output_tensor, input_tensor, group=None, async_op=False):
    """``all_gather_into_tensor`` under the name PyTorch 2.13 added for it."""
    return all_gather_into_tensor(output_tensor, input_tensor, group=group, async_op=async_op)


def reduce_scatter_single(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """``reduce_scatter_tensor`` under the name PyTorch 2.13 added for it."""
    return reduce_scatter_tensor(output, input, op=op, group=group, async_op=async_op)


def _flatten(tensors):
    from .._ops.shape_copy import cat
    return cat([tensor.detach().reshape(-1) for tensor in tensors])


def _unflatten_into(flat, tensors, offset=0):
    """Copy consecutive pieces of ``flat`` into ``tensors``; the offset after them."""
    from ..autograd import no_grad
    with no_grad():
        for tensor in tensors:
            count = tensor.numel()
            tensor.copy_(flat[offset:offset + count].view(tensor.shape))
            offset += count
    return offset


def _finish(work, unpack, async_op):
    """The Future of ``unpack()`` once ``work`` is done (``async_op``), else wait."""
    future = work.get_future().then(lambda _: unpack())
    if async_op:
        return future
    future.wait()
    return None


def supports_complex(reduceOp) -> bool:  # noqa: N803 - PyTorch's argument name
    """Whether ``reduceOp`` is defined on complex numbers (not MAX, MIN, PRODUCT or the
    bitwise ones)."""
    return _op_type(reduceOp) not in (ReduceOp.MAX, ReduceOp.MIN, ReduceOp.PRODUCT,
                                      ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR)


def all_reduce_coalesced(tensors, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """``all_reduce`` of several tensors of one dtype in one message (deprecated in
    PyTorch). With ``async_op`` it returns a Future of the tensors."""
    warnings.warn(_DEPRECATED.format("all_reduce_coalesced"), FutureWarning, stacklevel=2)
    from .._tensor import Tensor
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    _check_tensor_list(tensors, "tensor")
    _check_same_dtype(*tensors)
    if _resolve(group) is None:
        return None
    op_type = _op_type(op)
    if any(tensor.is_complex() for tensor in tensors) and not supports_complex(op_type):
        raise ValueError(f"all_reduce does not support RedOpType.{op_type.name} on complex "
                         f"tensors")
    if not tensors:
        return None
    flat = _flatten(tensors)
    work = all_reduce(flat, op=op, group=group, async_op=True)
    return _finish(work, lambda: (_unflatten_into(flat, tensors), tensors)[1], async_op)


def all_gather_coalesced(output_tensor_lists, input_tensor_list, group=None,
                         async_op: bool = False):
    """Every rank's ``input_tensor_list`` into ``output_tensor_lists[rank]`` in one message
    (deprecated in PyTorch). With ``async_op`` it returns a Future of the outputs."""
    warnings.warn(_DEPRECATED.format("all_gather_coalesced"), FutureWarning, stacklevel=2)
    pg = _resolve(group)
    if pg is None:
        return None
    _check_tensor_list(input_tensor_list, "input_tensor_list")
    _check_same_dtype(*input_tensor_list)
    if not isinstance(output_tensor_lists, list):
        raise TypeError("Invalid function argument: output_tensor_lists should be a list")
    for output_tensor_list in output_tensor_lists:
        _check_tensor_list(output_tensor_list, "output_tensor_lists")
        _check_same_dtype(*output_tensor_list)
    if len(output_tensor_lists) != pg.size():
        raise RuntimeError(f"all_gather_coalesced: output_tensor_lists must hold one list per "
                           f"rank ({pg.size()}), got {len(output_tensor_lists)}")
    for output_tensor_list in output_tensor_lists:
        shapes = [tuple(tensor.shape) for tensor in output_tensor_list]
        if shapes != [tuple(tensor.shape) for tensor in input_tensor_list]:
            raise RuntimeError(f"all_gather_coalesced: output tensor shapes {shapes} do not "
                               f"match the input tensor shapes "
                               f"{[tuple(t.shape) for t in input_tensor_list]}")
    for tensor in input_tensor_list:
        _check_tensor(tensor, "input_tensor_list")
    flat = _flatten(input_tensor_list)
    gathered = flat.new_empty((pg.size() * flat.numel(),))
    work = all_gather_into_tensor(gathered, flat, group=group, async_op=True)

    def unpack():
        offset = 0
        for output_tensor_list in output_tensor_lists:
            offset = _unflatten_into(gathered, output_tensor_list, offset)
        return output_tensor_lists
    return _finish(work, unpack, async_op)
