"""DistributedDataParallel: one model replica per process, gradients averaged over MPI.

At construction every rank takes rank 0's parameters and buffers. During backward each
parameter's post-accumulate-grad hook marks it ready; parameters are grouped into
buckets, and a bucket whose gradients are all ready is flattened into one tensor,
divided by the world size and all-reduced asynchronously while backward goes on. When
the last expected gradient arrives, the hook waits for every bucket and writes the
averages back into ``.grad``, so ``optimizer.step()`` right after ``backward()`` sees
averaged gradients on every rank, as in PyTorch.

Buckets follow PyTorch's reducer: the first iteration reduces one bucket in registration
order (with ``find_unused_parameters`` and no ``static_graph``: buckets of the reversed
registration order, never rebuilt); after the first synchronised iteration (the second
with ``static_graph``) they are rebuilt in the order the gradients became ready on rank
0, the first bucket capped at 1 MiB when ``bucket_cap_mb`` is left at its default, the
others at ``bucket_cap_mb``; a bucket closes once it reaches its cap. Each bucket owns a
flat buffer; ``gradient_as_bucket_view=True`` makes the parameters' ``.grad`` views into
it, so the all-reduce averages them in place with no copy back.

``register_comm_hook(state, hook)`` replaces the divide-and-sum of each bucket with
``hook(state, GradBucket)``, whose future's tensor becomes the bucket's gradients.
``join()`` (a ``Joinable`` for ``torch.distributed.algorithms.Join``) lets ranks with
fewer inputs shadow the others' collectives with zero gradients.

``find_unused_parameters=True`` walks the autograd graph of the forward's outputs to
learn which parameters will get no gradient; those count as ready with zeros, and a
parameter no rank used keeps ``grad=None``. ``static_graph=True`` does that walk once, in
the first iteration, and reuses its answer. Without it, a parameter that gets no gradient
leaves the reduction unfinished and the next forward raises PyTorch's error.
"""

from __future__ import annotations

import contextlib
import inspect
import sys

from ... import _tensor
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...distributed._grad_bucket import (
    _DEFAULT_FIRST_BUCKET_BYTES,
    _compute_bucket_assignment_by_size,
)
from ...distributed.algorithms.join import Join, Joinable, JoinHook, _JoinConfig
from ..modules.module import Module

__all__ = ["DistributedDataParallel"]

_UNFINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. "
    "This error indicates that your module has parameters that were not used in producing "
    "loss. You can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `torch.nn.parallel.DistributedDataParallel`, and by \n"
    "making sure all `forward` function outputs participate in calculating loss. \n"
    "If you already have done the above, then the distributed data parallel module wasn't "
    "able to locate the output tensors in the return value of your module's `forward` "
    "function. Please include the loss function and the structure of the return value of "
    "`forward` of your module when reporting this issue (e.g. list, dict, iterable).\n"
    "Parameter indices which did not receive grad for rank {rank}: {indices}\n"
    " In addition, you can set the environment variable TORCH_DISTRIBUTED_DEBUG to either "
    "INFO or DETAIL to print out information about which particular parameters did not "
    "receive gradient on this rank as part of this error"
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
    """Some parameters' gradients, reduced together through one flat ``buffer``
    (``views``: one view of it per parameter, shaped like the parameter)."""

    __slots__ = ("buffer", "index", "indices", "limit", "params", "pending", "views", "work")

    def __init__(self, index, params, indices, limit):
        from ... import zeros
        self.index, self.params, self.indices, self.limit = index, params, indices, limit
        self.pending = len(params)
        self.buffer = zeros(sum(p.numel() for p in params), dtype=params[0].dtype,
                            device=params[0].device)
        self.views, offset = [], 0
        for param in params:
            self.views.append(self.buffer[offset:offset + param.numel()].view(param.shape))
            offset += param.numel()
        self.work = None  # a Work (built-in all-reduce) or a Future (communication hook)

    def nbytes(self) -> int:
        return self.buffer.numel() * self.buffer.element_size()


class DistributedDataParallel(Module, Joinable):
    """Data parallelism across processes: wrap the model after ``init_process_group``.

    Args:
        module: the model; every rank builds the same one.
        process_group: the group to average over (the world by default).
        broadcast_buffers: copy rank 0's buffers (batch-norm statistics) into every rank
            at the start of each forward.
        bucket_cap_mb: bucket size for the gradient all-reduces (PyTorch's 25 MiB).
        find_unused_parameters: look for parameters the forward did not use.
        gradient_as_bucket_view: make ``.grad`` views into the buckets' flat buffers
            (no copy, no second gradient-sized allocation per step).
        static_graph: the set of used parameters and the graph are the same every
            iteration (learnt from the first, so unused parameters need no flag).
        device_ids, output_device, dim: accepted for compatibility; ember keeps one
            device per process.

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
        self._index_of = {id(p): i for i, p in enumerate(self._params)}
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb)
                                    * 1024 * 1024)
        self._first_bucket_bytes_cap = (_DEFAULT_FIRST_BUCKET_BYTES if bucket_cap_mb is None
                                        else self.bucket_bytes_cap)
        # As PyTorch: one bucket at first, then rebuilt in the gradients' ready order
        # after one synchronised round (two with a static graph); with unused-parameter
        # detection on a dynamic graph, capped buckets of reversed order, kept for good.
        dynamic_unused = find_unused_parameters and not static_graph
        self._rebuild_at = None if dynamic_unused else (2 if static_graph else 1)
        self._rebuilt = False
        self._rebuilt_info = None
        self._rounds = 0
        self._ready_order = []
        self._static_unused = None  # static_graph: what the first forward left unused
        self._static_used = None  # ... and the ids some rank used in the first round
        limits = [2 ** 63 - 1]
        if dynamic_unused:
            limits = ([self._first_bucket_bytes_cap, self.bucket_bytes_cap]
                      if self._first_bucket_bytes_cap < self.bucket_bytes_cap
                      else [self.bucket_bytes_cap])
        indices, caps = _compute_bucket_assignment_by_size(self._params, limits)
        self._set_buckets(list(reversed(indices)), list(reversed(caps)))
        self._initial_bucket_sizes = [b.nbytes() for b in self._buckets]
        self._ready, self._next, self._unused, self._unused_ids = set(), 0, [], set()
        self._armed = self._got_hook = False
        self._hook_handles = [p.register_post_accumulate_grad_hook(self._grad_ready)
                              for p in self._params]
        # As PyTorch's reducer, hold each parameter's AccumulateGrad node, and give it
        # PyTorch's priority (its sequence number is the largest): a gradient is
        # accumulated, and its bucket launched, as soon as it is computed, while backward
        # goes on, instead of after the rest of the graph. Among gradients ready at once
        # the later-registered parameter goes first (a layer's bias before its weight).
        from ...autograd.function import accumulator_of
        self._grad_accumulators = [accumulator_of(p) for p in self._params]
        for index, node in enumerate(self._grad_accumulators):
            node._seq = sys.maxsize - len(self._params) + index
        self._comm_hook = self._comm_state = None
        self._join_config = _JoinConfig.construct_disabled_join_config()
        self._divide_by_initial_world_size = True
        self._div_factor = self._world

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

    def _broadcast(self, tensors, group_source=0) -> None:
        """Group rank ``group_source``'s values into every rank's ``tensors``."""
        source = self._dist.get_global_rank(self.process_group, group_source)
        with no_grad():
            works = [self._dist.broadcast(t.detach(), src=source, group=self.process_group,
                                          async_op=True) for t in tensors]
            for work in works:
                work.wait()

    def _set_buckets(self, bucket_indices, limits) -> None:
        self._buckets = [_Bucket(n, [self._params[i] for i in members], list(members), limit)
                         for n, (members, limit) in enumerate(zip(bucket_indices, limits))]
        self._bucket_of = {id(p): b for b in self._buckets for p in b.params}
        self._slot_of = {id(p): (b, k) for b in self._buckets for k, p in enumerate(b.params)}
        if self.gradient_as_bucket_view:  # existing gradients move into the buffers
            with no_grad():
                for bucket in self._buckets:
                    for param, view in zip(bucket.params, bucket.views):
                        if param.grad is not None:
                            view.copy_(param.grad)
                            param.grad = view

    def _rebuild_buckets(self) -> None:
        """Rebuild in rank 0's gradient-ready order once enough synchronised rounds went
        by (every rank counts the same rounds, joined ranks' shadow rounds included, so
        all rebuild at the same iteration)."""
        if self._rebuilt or self._rebuild_at is None or self._rounds < self._rebuild_at:
            return
        self._rebuilt = True
        order = list(dict.fromkeys(self._ready_order))  # a joined rank recorded nothing
        missing = [i for i in range(len(self._params)) if i not in set(order)]
        # a static graph's unused parameters are ready at the end of backward, in order
        order += missing if self.static_graph else missing[::-1]
        shared = [order]
        source = self._dist.get_global_rank(self.process_group, 0)
        self._dist.broadcast_object_list(shared, src=source, group=self.process_group)
        order = shared[0]
        indices, caps = _compute_bucket_assignment_by_size(
            [self._params[i] for i in order],
            [self._first_bucket_bytes_cap, self.bucket_bytes_cap], tensor_indices=order)
        self._set_buckets(indices, caps)
        self._rebuilt_info = ([b.nbytes() for b in self._buckets], indices)

    # -- forward ---------------------------------------------------------------------------

    def forward(self, *inputs, **kwargs):
        syncing = is_grad_enabled() and self.require_backward_grad_sync
        if syncing and self._got_hook:
            missing = [i for i, p in enumerate(self._params) if id(p) not in self._ready]
            raise RuntimeError(_UNFINISHED.format(
                rank=self._rank, indices=" ".join(map(str, missing))))
        # Inside ``join()``: tell the ranks that ran out of inputs this one still trains
        # (their main hook answers each collective below, in this order).
        notify = Join.notify_join_context(self)
        self._div_factor = self._world
        if notify is not None and not self._divide_by_initial_world_size:
            notify.wait()
            self._div_factor = int(notify.result()[0].item())  # ranks still training
        joining = self._join_config.enable
        if self._will_sync_buffers():
            source = self._find_common_rank(self._rank, True) if joining else 0
            self._broadcast(list(self.module.buffers()), source)
        if joining:
            self._global_backward_sync(joined=False)
        if syncing:  # the rebuild broadcasts: after the collectives a joined rank shadows
            self._rebuild_buckets()
        # As PyTorch: buffers sync when the previous forward was a synchronising one.
        self.require_forward_param_sync = syncing
        output = self.module(*inputs, **kwargs)
        if syncing:
            self._unused = []
            if self.find_unused_parameters or (self.static_graph and self._static_unused is None):
                used = _reachable_leaves(output)
                self._unused = [p for p in self._params if id(p) not in used]
                if self.static_graph:
                    self._static_unused = self._unused
            elif self.static_graph:
                self._unused = self._static_unused
            self._arm()
        return output

    def _will_sync_buffers(self) -> bool:
        return (self.broadcast_buffers and self.require_forward_param_sync and self._world > 1
                and any(True for _ in self.module.buffers()))

    def _find_common_rank(self, rank, candidate) -> int:
        """The highest group rank among the ranks with ``candidate`` True."""
        from ... import tensor
        chosen = tensor([rank if candidate else -1])
        self._dist.all_reduce(chosen, op=self._dist.ReduceOp.MAX, group=self.process_group)
        if chosen.item() == -1:
            raise ValueError("BUG! Expected rank_cond to be true for at least one process.")
        return int(chosen.item())

    def _global_backward_sync(self, joined) -> bool:
        """Whether any rank still training will average gradients this iteration."""
        from ... import tensor
        flag = tensor([0.0 if joined or not self.require_backward_grad_sync else 1.0])
        self._dist.all_reduce(flag, group=self.process_group)
        return flag.item() != 0

    def _arm(self) -> None:
        """Start a round: expect every parameter's gradient; the forward's unused ones
        are ready at once (zeros)."""
        self._ready = set()
        self._unused_ids = {id(p) for p in self._unused}
        self._ready_order = []
        self._next = 0
        self._got_hook = False
        for bucket in self._buckets:
            bucket.pending, bucket.work = len(bucket.params), None
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
        if not self._rebuilt and not (self.static_graph and id(param) in self._unused_ids):
            self._ready_order.append(self._index_of[id(param)])
        self._bucket_of[id(param)].pending -= 1
        # Buckets start in index order on every rank, whatever order their gradients
        # complete in: MPI needs every rank to issue its collectives in the same order.
        while self._next < len(self._buckets) and self._buckets[self._next].pending == 0:
            self._launch(self._buckets[self._next])
            self._next += 1
        if len(self._ready) == len(self._params):
            self._finish()

    def _launch(self, bucket) -> None:
        """Gather the bucket's gradients into its buffer (zeros for unused ones; nothing
        to copy for gradients that already are views of it) and start the reduction:
        the communication hook's, or a sum of the pre-divided gradients."""
        unused = self._unused_ids
        as_view = self.gradient_as_bucket_view
        with no_grad():
            for param, view in zip(bucket.params, bucket.views):
                grad = param.grad
                if grad is None or id(param) in unused:
                    view.zero_()
                elif grad is not view and (grad.data_ptr() != view.data_ptr()
                                           or grad.shape != view.shape):
                    view.copy_(grad)
                    if as_view:
                        param.grad = view
        bucket.work = self._reduce(bucket, bucket.buffer)

    def _reduce(self, bucket, flat):
        """Start reducing ``flat`` (the bucket's gradients); a Work or a Future."""
        if self._comm_hook is not None:
            from ...distributed import GradBucket
            grad_bucket = GradBucket(bucket.index, flat, bucket.params,
                                     bucket.index == len(self._buckets) - 1)
            with no_grad():
                return self._comm_hook(self._comm_state, grad_bucket)
        with no_grad():
            flat.div_(self._div_factor)  # before the sum, as PyTorch (no overflow)
        return self._dist.all_reduce(flat, group=self.process_group, async_op=True)

    def _reduced(self, bucket) -> None:
        """Wait for the bucket's reduction and leave the averages in its buffer."""
        if self._comm_hook is None:
            bucket.work.wait()
            return
        result = bucket.work.wait()
        if not isinstance(result, _tensor.Tensor) or result.numel() != bucket.buffer.numel():
            raise RuntimeError("The communication hook's future must hold a tensor with the "
                               f"bucket's {bucket.buffer.numel()} elements, got {result!r}")
        if result.data_ptr() != bucket.buffer.data_ptr() or result.dtype != bucket.buffer.dtype:
            with no_grad():
                bucket.buffer.copy_(result.reshape(-1))

    def _finish(self) -> None:
        """Wait for every bucket and write the averages back into ``.grad``."""
        used_anywhere = None
        if self.find_unused_parameters:  # every rank takes part, used or not
            used_anywhere = self._used_anywhere({id(p) for p in self._unused})
        elif self.static_graph:  # learnt once: the graph does not change
            if self._static_used is None:
                self._static_used = self._used_anywhere({id(p) for p in self._unused})
            used_anywhere = self._static_used
        as_view = self.gradient_as_bucket_view
        with no_grad():
            for bucket in self._buckets:
                self._reduced(bucket)
                for param, view in zip(bucket.params, bucket.views):
                    grad = param.grad
                    if as_view:
                        if grad is not None or used_anywhere is None or id(param) in used_anywhere:
                            param.grad = view
                    elif grad is not None:
                        grad.copy_(view)
                    elif used_anywhere is None or id(param) in used_anywhere:
                        param.grad = view.clone()
                bucket.work = None
        self._armed = False
        self._got_hook = False
        self._rounds += 1

    def _used_anywhere(self, unused) -> set:
        """ids of the parameters some rank used (a joined rank passes all unused)."""
        from ... import tensor
        mask = tensor([0 if id(p) in unused else 1 for p in self._params])
        self._dist.all_reduce(mask, op=self._dist.ReduceOp.MAX, group=self.process_group)
        return {id(p) for p, flag in zip(self._params, mask.tolist()) if flag}

    # -- uneven inputs ---------------------------------------------------------------------

    def join(self, divide_by_initial_world_size: bool = True, enable: bool = True,
             throw_on_early_termination: bool = False):
        """A context manager for ranks with different numbers of inputs: a rank that ran
        out shadows the others' collectives with zero gradients until all are done, then
        every rank takes the model of a rank that joined last.

        Args:
            divide_by_initial_world_size: average over the world size (joined ranks
                count as zero gradients), or over the ranks still training.
            enable: False makes it a no-op.
            throw_on_early_termination: raise on every rank once one runs out.
        """
        return Join([self], enable, throw_on_early_termination,
                    divide_by_initial_world_size=divide_by_initial_world_size)

    def join_hook(self, **kwargs) -> JoinHook:
        return _DDPJoinHook(self, kwargs.get("divide_by_initial_world_size", True))

    @property
    def join_device(self):
        return self._params[0].device

    @property
    def join_process_group(self):
        return self.process_group

    def _shadow_iteration(self) -> None:
        """A joined rank's side of one training iteration of the others."""
        if self._will_sync_buffers():
            self._broadcast(list(self.module.buffers()), self._find_common_rank(self._rank,
                                                                                 False))
        should_sync = self._global_backward_sync(joined=True)
        self.require_forward_param_sync = should_sync
        if not should_sync:
            return
        self._rebuild_buckets()
        from ... import zeros
        pending = []
        for bucket in self._buckets:
            count = sum(p.numel() for p in bucket.params)
            flat = zeros(count, dtype=bucket.params[0].dtype, device=bucket.params[0].device)
            pending.append(self._reduce(bucket, flat))
        for work in pending:
            work.wait()
        if self.find_unused_parameters:
            self._used_anywhere({id(p) for p in self._params})
        elif self.static_graph and self._static_used is None:
            self._static_used = self._used_anywhere({id(p) for p in self._params})
        self._rounds += 1

    def _sync_final_model(self, is_last_joiner) -> None:
        source = self._find_common_rank(self._rank, is_last_joiner)
        tensors = [*self._params, *(self.module.buffers() if self.broadcast_buffers else ())]
        self._broadcast(tensors, source)

    # -- communication hooks -----------------------------------------------------------------

    def register_comm_hook(self, state: object, hook) -> None:
        """Replace the gradient all-reduce: ``hook(state, bucket)`` gets each bucket as
        a ``dist.GradBucket`` and returns a ``torch.futures.Future`` of a tensor with the
        bucket's elements, which becomes the bucket's gradients. The hook does its own
        averaging (``default_hooks.allreduce_hook`` divides by the world size).

        Example::

            >>> from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
            >>> ddp.register_comm_hook(None, default_hooks.fp16_compress_hook)
        """
        from ...distributed import GradBucket
        if not callable(hook):
            raise TypeError("Communication hook must be callable.")
        signature = inspect.signature(hook)
        bucket_parameter = signature.parameters.get("bucket")
        annotation = getattr(bucket_parameter, "annotation", inspect.Parameter.empty)
        if annotation is not inspect.Parameter.empty and annotation is not GradBucket:
            raise ValueError("Communication hook: bucket annotation should be "
                             "dist.GradBucket.")
        from ...futures import Future
        returns = signature.return_annotation
        if returns is not inspect.Signature.empty and returns != Future[_tensor.Tensor]:
            raise ValueError("Communication hook: return annotation should be "
                             "torch.futures.Future[torch.Tensor].")
        if self._comm_hook is not None:
            raise RuntimeError("register_comm_hook or register_builtin_comm_hook can only be "
                               "called once.")
        self._comm_state, self._comm_hook = state, hook

    def _register_builtin_comm_hook(self, comm_hook_type) -> None:
        """``register_comm_hook`` with a ``dist.BuiltinCommHookType``: ALLREDUCE (the
        default averaging) or FP16_COMPRESS, over this DDP's process group."""
        from ...distributed import BuiltinCommHookType
        from ...distributed.algorithms.ddp_comm_hooks import default_hooks
        if not isinstance(comm_hook_type, BuiltinCommHookType):
            raise TypeError("_register_builtin_comm_hook(): incompatible function arguments: "
                            f"expected a BuiltinCommHookType, got {comm_hook_type!r}")
        hook = (default_hooks.allreduce_hook if comm_hook_type is BuiltinCommHookType.ALLREDUCE
                else default_hooks.fp16_compress_hook)
        self.register_comm_hook(self.process_group, hook)

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

    def _set_static_graph(self) -> None:
        self.static_graph = True

    def _get_ddp_logging_data(self) -> dict:
        """Part of PyTorch's ``DDPLoggingData``: the configuration and the buckets (sizes
        in bytes, in bucket order, as comma-separated strings like PyTorch's)."""
        data = {"world_size": self._world, "rank": self._rank,
                "module_name": type(self.module).__name__,
                "device_ids": "" if not self.device_ids else " ".join(map(str, self.device_ids)),
                "output_device": -1 if self.output_device is None else self.output_device,
                "broadcast_buffers": int(self.broadcast_buffers),
                "has_sync_bn": int(any(type(m).__name__ == "SyncBatchNorm"
                                       for m in self.module.modules())),
                "bucket_cap_bytes": self.bucket_bytes_cap,
                "find_unused_parameters": int(self.find_unused_parameters),
                "gradient_as_bucket_view": int(self.gradient_as_bucket_view),
                "backend_name": self._dist.get_backend(self.process_group),
                "bucket_sizes": ", ".join(map(str, self._initial_bucket_sizes)),
                "num_parameter_tensors": len(self._params),
                "total_parameter_size_bytes": sum(p.numel() * p.element_size()
                                                  for p in self._params),
                "has_rebuilt_buckets": int(self._rebuilt)}
        if self.static_graph:
            data["static_graph"] = 1
        if self._rebuilt_info is not None:
            sizes, indices = self._rebuilt_info
            data["rebuilt_bucket_sizes"] = ", ".join(map(str, sizes))
            data["rebuilt_per_bucket_param_indices"] = ", ".join(
                " ".join(map(str, members)) for members in indices)
        return data


class _DDPJoinHook(JoinHook):
    """DDP's side of ``Join``: shadow each iteration, then agree on the final model."""

    def __init__(self, ddp, divide_by_initial_world_size):
        self.ddp = ddp
        ddp._divide_by_initial_world_size = divide_by_initial_world_size

    def main_hook(self) -> None:
        self.ddp._shadow_iteration()

    def post_hook(self, is_last_joiner: bool) -> None:
        self.ddp._sync_final_model(is_last_joiner)
