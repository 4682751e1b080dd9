"""DistributedDataParallel: one model replica per process, gradients averaged over MPI.

At construction every rank takes rank 0's parameters and buffers. During backward each
parameter's post-accumulate-grad hook marks it ready; parameters are grouped into
buckets (in reverse registration order, about the order backward produces gradients),
and a bucket whose gradients are all ready is flattened into one tensor and all-reduced
asynchronously while backward goes on. When the last expected gradient arrives, the
hook waits for every bucket, divides by the world size and writes the averages back into
``.grad``, so ``optimizer.step()`` right after ``backward()`` sees averaged gradients on
every rank, as in PyTorch.

``find_unused_parameters=True`` walks the autograd graph of the forward's outputs to
learn which parameters will get no gradient; those count as ready with zeros, and a
parameter no rank used keeps ``grad=None``. Without it, a parameter that gets no gradient
leaves the reduction unfinished and the next forward raises PyTorch's error.
"""

from __future__ import annotations

import contextlib

from ... import _tensor
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ..modules.module import Module

__all__ = ["DistributedDataParallel"]

_UNFINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. "
    "This error indicates that your module has parameters that were not used in producing "
    "loss. You can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `torch.nn.parallel.DistributedDataParallel`, and by "
    "making sure all `forward` function outputs participate in calculating loss. "
    "Parameter indices which did not receive grad for rank {rank}: {indices}"
)


def _tensors_in(value):
    """Every Tensor inside a forward's output (nested tuples, lists, dicts)."""
    if isinstance(value, _tensor.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors_in(item)


def _reachable_leaves(outputs) -> set:
    """ids of the leaf tensors the graph of ``outputs`` reaches (iterative walk)."""
    seen, leaves = set(), set()
    stack = [t.grad_fn for t in _tensors_in(outputs) if t.grad_fn is not None]
    stack += [t for t in _tensors_in(outputs) if t.grad_fn is None and t.requires_grad]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, _tensor.Tensor):
            leaves.add(id(node))
            continue
        variable = getattr(node, "variable", None)
        if variable is not None:
            leaves.add(id(variable))
        for edge in getattr(node, "next_functions", ()) or ():
            if edge is not None and edge[0] is not None:
                stack.append(edge[0])
    return leaves


class _Bucket:
    __slots__ = ("flat", "params", "pending", "work")

    def __init__(self, params):
        self.params = params
        self.pending = len(params)
        self.flat = None
        self.work = None


class DistributedDataParallel(Module):
    """Data parallelism across processes: wrap the model after ``init_process_group``.

    Args:
        module: the model; every rank builds the same one.
        process_group: the group to average over (the world by default).
        broadcast_buffers: copy rank 0's buffers (batch-norm statistics) into every rank
            at the start of each forward.
        bucket_cap_mb: bucket size for the gradient all-reduces (PyTorch's 25 MiB).
        find_unused_parameters: look for parameters the forward did not use.
        device_ids, output_device, dim, gradient_as_bucket_view, static_graph: accepted
            for compatibility; ember keeps one device per process and plain ``.grad``.

    Example::

        >>> dist.init_process_group("gloo")
        >>> model = DistributedDataParallel(Net())
        >>> loss_fn(model(x), y).backward()   # grads are averaged over all ranks here
        >>> optimizer.step()
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, init_sync=True, process_group=None,
                 bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None, skip_all_reduce_unused_params=False):
        super().__init__()
        from ... import distributed as dist
        self.module = module
        self.device_ids = list(device_ids) if device_ids else None
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.process_group = dist.GroupMember.WORLD if process_group is None else process_group
        self._dist = dist
        self._world = dist.get_world_size(self.process_group)
        self._rank = dist.get_rank(self.process_group)
        unique, seen = [], set()
        for param in module.parameters():
            if param.requires_grad and id(param) not in seen:
                seen.add(id(param))
                unique.append(param)
        if not unique:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        self._params = unique
        self._verify_same_model()
        if init_sync:
            self._broadcast([*self._params, *module.buffers()])
        cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self._buckets = self._make_buckets(cap)
        self._bucket_of = {id(p): b for b in self._buckets for p in b.params}
        self._ready, self._next, self._unused = set(), 0, []
        self._armed = self._got_hook = False
        self._hook_handles = [p.register_post_accumulate_grad_hook(self._grad_ready)
                              for p in self._params]

    # -- construction --------------------------------------------------------------------

    def _verify_same_model(self) -> None:
        shapes = [tuple(p.shape) for p in self._params]
        everyone = [None] * self._world
        self._dist.all_gather_object(everyone, shapes, group=self.process_group)
        for rank, theirs in enumerate(everyone):
            if len(theirs) != len(shapes):
                raise RuntimeError(f"DDP expects same model across all ranks, but Rank "
                                   f"{self._rank} has {len(shapes)} params, while rank {rank} "
                                   f"has inconsistent {len(theirs)} params.")
            for index, (mine, other) in enumerate(zip(shapes, theirs)):
                if mine != other:
                    raise RuntimeError(f"DDP expects same model across all ranks, but Rank "
                                       f"{self._rank} has parameter {index} of shape "
                                       f"{list(mine)}, while rank {rank} has {list(other)}.")

    def _broadcast(self, tensors) -> None:
        """Rank 0's values (group rank 0) into every rank's ``tensors``."""
        source = self._dist.get_global_rank(self.process_group, 0) if self._world else 0
        with no_grad():
            works = [self._dist.broadcast(t.detach(), src=source, group=self.process_group,
                                          async_op=True) for t in tensors]
            for work in works:
                work.wait()

    def _make_buckets(self, cap_bytes):
        buckets, current, size, key = [], [], 0, None
        for param in reversed(self._params):
            param_key = (param.dtype, str(param.device))
            nbytes = param.numel() * param.element_size()
            if current and (param_key != key or size + nbytes > cap_bytes):
                buckets.append(_Bucket(current))
                current, size = [], 0
            current.append(param)
            size += nbytes
            key = param_key
        if current:
            buckets.append(_Bucket(current))
        return buckets

    # -- forward ---------------------------------------------------------------------------

    def forward(self, *inputs, **kwargs):
        syncing = is_grad_enabled() and self.require_backward_grad_sync
        if syncing and self._got_hook:
            missing = [i for i, p in enumerate(self._params) if id(p) not in self._ready]
            raise RuntimeError(_UNFINISHED.format(rank=self._rank, indices=missing))
        if self.broadcast_buffers and self.require_forward_param_sync and self._world > 1:
            buffers = list(self.module.buffers())
            if buffers:
                self._broadcast(buffers)
        # As PyTorch: buffers sync when the previous forward was a synchronising one.
        self.require_forward_param_sync = syncing
        output = self.module(*inputs, **kwargs)
        if syncing:
            self._unused = []
            if self.find_unused_parameters:
                used = _reachable_leaves(output)
                self._unused = [p for p in self._params if id(p) not in used]
            self._arm()
        return output

    def _arm(self) -> None:
        """Start a round: expect every parameter's gradient; the forward's unused ones
        are ready at once (zeros)."""
        self._ready = set()
        self._next = 0
        self._got_hook = False
        for bucket in self._buckets:
            bucket.pending, bucket.flat, bucket.work = len(bucket.params), None, None
        self._armed = True
        for param in self._unused:
            self._mark_ready(param)

    # -- backward ----------------------------------------------------------------------------

    def _grad_ready(self, param) -> None:
        # As PyTorch: only a backward through a synchronising forward's graph averages
        # (a forward inside no_sync(), or a second backward through a finished round, not).
        if not self._armed or id(param) in self._ready:
            return
        self._got_hook = True
        self._mark_ready(param)

    def _mark_ready(self, param) -> None:
        self._ready.add(id(param))
        self._bucket_of[id(param)].pending -= 1
        # Buckets start in index order on every rank, whatever order their gradients
        # complete in: MPI needs every rank to issue its collectives in the same order.
        while self._next < len(self._buckets) and self._buckets[self._next].pending == 0:
            self._launch(self._buckets[self._next])
            self._next += 1
        if len(self._ready) == len(self._params):
            self._finish()

    def _launch(self, bucket) -> None:
        """Flatten the bucket's gradients (zeros for unused ones) and start the sum."""
        from ... import cat, zeros
        unused = {id(p) for p in self._unused}
        with no_grad():
            pieces = [zeros(p.numel(), dtype=p.dtype, device=p.device)
                      if p.grad is None or id(p) in unused else p.grad.detach().reshape(-1)
                      for p in bucket.params]
            bucket.flat = cat(pieces) if len(pieces) > 1 else pieces[0].clone()
        bucket.work = self._dist.all_reduce(bucket.flat, group=self.process_group,
                                            async_op=True)

    def _finish(self) -> None:
        """Wait for every bucket, average, write back into ``.grad``."""
        used_anywhere = None
        if self.find_unused_parameters:  # every rank takes part, used or not
            from ... import tensor
            unused = {id(p) for p in self._unused}
            mask = tensor([0 if id(p) in unused else 1 for p in self._params])
            self._dist.all_reduce(mask, op=self._dist.ReduceOp.MAX, group=self.process_group)
            used_anywhere = {id(p) for p, flag in zip(self._params, mask.tolist()) if flag}
        with no_grad():
            for bucket in self._buckets:
                bucket.work.wait()
                bucket.flat.div_(self._world)
                offset = 0
                for param in bucket.params:
                    count = param.numel()
                    average = bucket.flat[offset:offset + count].view(param.shape)
                    offset += count
                    if param.grad is not None:
                        param.grad.copy_(average)
                    elif used_anywhere is None or id(param) in used_anywhere:
                        param.grad = average.clone()
                bucket.flat, bucket.work = None, None
        self._armed = False
        self._got_hook = False

    # -- the rest of PyTorch's surface ---------------------------------------------------

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward accumulates gradients locally without communicating; the first
        synchronised backward after it averages the accumulated gradients."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def join(self, divide_by_initial_world_size=True, enable=True,
             throw_on_early_termination=False):
        raise NotImplementedError("ember's DistributedDataParallel does not implement join(); "
                                  "give every rank the same number of batches "
                                  "(DistributedSampler does)")

    def register_comm_hook(self, state, hook):
        raise NotImplementedError("ember's DistributedDataParallel does not implement "
                                  "communication hooks")

    def _set_static_graph(self) -> None:
        self.static_graph = True
