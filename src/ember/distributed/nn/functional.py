"""ember.distributed.nn.functional (PyTorch's ``torch.distributed.nn.functional``):
collectives that autograd differentiates. Each backward is the collective that carries
the gradient the other way: all_reduce's gradient is all_reduce of the gradients (SUM),
all_gather's is reduce_scatter, broadcast's is a reduce to the source (zero elsewhere),
reduce_scatter's is all_gather, reduce's is a broadcast from the destination, all_to_all's
is all_to_all back. As in PyTorch, every rank must take part in the backward of each
collective (use its output in the loss), or the backward collectives wait for it. The
inputs are not written to (the collectives run on clones), so they can sit anywhere in a
graph."""

from __future__ import annotations

from ... import distributed as dist
from ...autograd import Function

__all__ = ["all_gather", "all_reduce", "all_to_all", "broadcast", "reduce", "reduce_scatter"]


def _world(group):
    return dist.get_world_size(group), dist.get_rank(group)


class _AllReduce(Function):
    @staticmethod
    def forward(ctx, op, group, tensor):
        ctx.group = group
        result = tensor.clone()
        dist.all_reduce(result, op=op, group=group)
        return result

    @staticmethod
    def backward(ctx, grad):
        return None, None, _AllReduce.apply(dist.ReduceOp.SUM, ctx.group, grad)


class _AllGather(Function):
    @staticmethod
    def forward(ctx, group, tensor):
        ctx.group = group
        size, _ = _world(group)
        gathered = [tensor.new_empty(tensor.shape) for _ in range(size)]
        dist.all_gather(gathered, tensor.contiguous(), group=group)
        return tuple(gathered)

    @staticmethod
    def backward(ctx, *grads):
        return None, _ReduceScatter.apply(dist.ReduceOp.SUM, ctx.group, *grads)


class _ReduceScatter(Function):
    @staticmethod
    def forward(ctx, op, group, *inputs):
        ctx.group = group
        output = inputs[0].new_empty(inputs[0].shape)
        dist.reduce_scatter(output, [t.contiguous() for t in inputs], op=op, group=group)
        return output

    @staticmethod
    def backward(ctx, grad):
        return (None, None, *_AllGather.apply(ctx.group, grad))


class _Broadcast(Function):
    @staticmethod
    def forward(ctx, src, group, tensor):
        ctx.src, ctx.group = src, group
        result = tensor.clone()
        dist.broadcast(result, src, group=group)
        return result

    @staticmethod
    def backward(ctx, grad):
        summed = grad.clone()
        dist.reduce(summed, ctx.src, op=dist.ReduceOp.SUM, group=ctx.group)
        if dist.get_rank() != ctx.src:
            summed = summed.zero_()
        return None, None, summed


class _Reduce(Function):
    @staticmethod
    def forward(ctx, dst, op, group, tensor):
        ctx.dst, ctx.group = dst, group
        result = tensor.clone()
        dist.reduce(result, dst, op=op, group=group)
        return result

    @staticmethod
    def backward(ctx, grad):
        return None, None, None, _Broadcast.apply(ctx.dst, ctx.group, grad)


class _AllToAll(Function):
    @staticmethod
    def forward(ctx, group, shapes, *inputs):
        ctx.group = group
        ctx.input_shapes = [t.shape for t in inputs]
        outputs = [inputs[0].new_empty(shape) for shape in shapes]
        dist.all_to_all(outputs, [t.contiguous() for t in inputs], group=group)
        return tuple(outputs)

    @staticmethod
    def backward(ctx, *grads):
        return (None, None, *_AllToAll.apply(ctx.group, ctx.input_shapes, *grads))


def reduce(tensor, dst, op=dist.ReduceOp.SUM, group=None):
    """``tensor`` reduced onto rank ``dst`` (other ranks get an unspecified value, as
    PyTorch's); the gradient of ``dst`` is broadcast back to every rank."""
    return _Reduce.apply(dst, op, group, tensor)


def all_to_all(output_tensor_list, input_tensor_list, group=None):
    """Slot ``j`` of the result is rank ``j``'s slot for this rank (``output_tensor_list``
    gives the shapes, as PyTorch's); gradients travel back the same way."""
    shapes = [t.shape for t in output_tensor_list]
    return _AllToAll.apply(group, shapes, *input_tensor_list)


def all_reduce(tensor, op=dist.ReduceOp.SUM, group=None):
    """``tensor`` reduced over the group, as a new tensor (the gradient is all-reduced
    with SUM, as PyTorch's for every op)."""
    return _AllReduce.apply(op, group, tensor)


def all_gather(tensor, group=None):
    """A tuple of every rank's ``tensor``; each rank's gradient is the sum over ranks of
    the gradients of its slot."""
    return _AllGather.apply(group, tensor)


def reduce_scatter(output, input_list, op=dist.ReduceOp.SUM, group=None):
    """This rank's slot of ``input_list`` reduced over the group (``output`` gives the
    shape and is returned filled, as PyTorch's)."""
    import ember
    result = _ReduceScatter.apply(op, group, *input_list)
    with ember.no_grad():
        output.copy_(result)
    return result


def broadcast(tensor, src, group=None):
    """``tensor`` of rank ``src`` on every rank; the gradients are summed onto ``src``."""
    return _Broadcast.apply(src, group, tensor)
