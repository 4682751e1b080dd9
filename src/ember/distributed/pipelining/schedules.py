"""Pipeline schedules, as ``torch.distributed.pipelining.schedules``: which stage runs
which microbatch's forward or backward, in what order, on every rank.

A schedule is a list of actions per rank, ``(kind, stage_index, mb_index)`` with kind
``"F"`` (forward), ``"B"`` (full backward), ``"I"`` (input gradient only) or ``"W"``
(weight gradient only). One executor runs any list: sends are non-blocking and receives
block just before a stage needs their data, so an order that respects the data
dependencies within each rank (every schedule here) cannot deadlock.

After the last action the parameter gradients, summed over microbatches, are divided by
the microbatch count (``scale_grads=True``), so a mean loss per microbatch gives the
full batch's mean gradient, as PyTorch's.
"""

from collections.abc import Callable

import ember
from ember.autograd import grad as _autograd_grad

from .microbatch import (
    _TARGET_CHUNK_SPEC, TensorChunkSpec, _split_tensor, merge_chunks,
    split_args_kwargs_into_chunks,
)
from .stage import _BACKWARD

__all__ = ["PipelineScheduleSingle", "PipelineScheduleMulti", "ScheduleGPipe",
           "Schedule1F1B", "ScheduleInterleaved1F1B", "ScheduleLoopedBFS",
           "ScheduleInterleavedZeroBubble"]


class _PipelineSchedule:
    """Microbatching, loss and gradient bookkeeping shared by every schedule."""

    def __init__(self, stages: list, n_microbatches: int, loss_fn: Callable | None = None,
                 args_chunk_spec: tuple[TensorChunkSpec, ...] | None = None,
                 kwargs_chunk_spec: dict[str, TensorChunkSpec] | None = None,
                 output_merge_spec=None, scale_grads: bool = True):
        self._stages = stages
        self._n_microbatches = n_microbatches
        self._loss_fn = loss_fn
        self._args_chunk_spec = args_chunk_spec
        self._kwargs_chunk_spec = kwargs_chunk_spec
        self._output_merge_spec = output_merge_spec
        self.scale_grads = scale_grads
        self._has_backward = loss_fn is not None
        self._internal_losses = {}
        self._num_stages = stages[0].num_stages
        self.pp_group_size = stages[0].group_size
        self.rank = stages[0].group_rank
        mail = {}
        for stage in stages:
            stage._local_mail = mail

    # -- the public entry points ---------------------------------------------------------

    def step(self, *args, target=None, losses: list | None = None,
             return_outputs: bool = True, loss_kwargs: dict | None = None, **kwargs):
        """Run one iteration on a whole batch: the first stage's rank passes the model's
        inputs, the last stage's rank the ``target``; the batch is split into
        ``n_microbatches`` chunks. ``losses`` (a list) receives each microbatch's loss on
        the last stage's rank, which also gets the merged output back (others ``None``)."""
        if self._has_backward and not ember.is_grad_enabled():
            raise RuntimeError(
                "step() requires gradients to be enabled for backward computation; "
                "it should not be used under torch.no_grad() context. "
                "Please call eval() instead.")
        for stage in self._stages:
            stage.has_backward = self._has_backward
            stage.clear_runtime_states()
        args_split, kwargs_split = self._split_inputs(args, kwargs)
        targets_split = (_split_tensor(target, _TARGET_CHUNK_SPEC, self._n_microbatches)
                         if target is not None else None)
        self._step_microbatches(args_split, kwargs_split, targets_split, losses,
                                loss_kwargs)
        for stage in self._stages:
            if stage.is_last and return_outputs:
                return merge_chunks(stage.output_chunks, self._output_merge_spec)
        return None

    def eval(self, *args, target=None, losses: list | None = None, **kwargs):
        """``step`` without backward (forward and loss only)."""
        has_backward = self._has_backward
        try:
            self._has_backward = False
            return self.step(*args, target=target, losses=losses, **kwargs)
        finally:
            self._has_backward = has_backward

    # -- pieces --------------------------------------------------------------------------

    def _split_inputs(self, args: tuple, kwargs: dict | None):
        if args or kwargs:
            return split_args_kwargs_into_chunks(args, kwargs, self._n_microbatches,
                                                 self._args_chunk_spec,
                                                 self._kwargs_chunk_spec)
        return [()] * self._n_microbatches, [{}] * self._n_microbatches

    def _check_inputs(self, arg_mbs=None, kwarg_mbs=None, target_mbs=None, losses=None):
        def check_type_and_len(mbs, name: str):
            if not isinstance(mbs, list):
                raise TypeError(f"{name} must be a list but got a {type(mbs)}")
            if len(mbs) != self._n_microbatches:
                raise ValueError(f"Expecting {self._n_microbatches} {name} but got {len(mbs)}")

        if arg_mbs is not None:
            check_type_and_len(arg_mbs, "arg_mbs")
        else:
            arg_mbs = [()] * self._n_microbatches
        if kwarg_mbs is not None:
            check_type_and_len(kwarg_mbs, "kwarg_mbs")
        else:
            kwarg_mbs = [{}] * self._n_microbatches
        if target_mbs is not None:
            check_type_and_len(target_mbs, "target_mbs")
        if losses is not None and not isinstance(losses, list):
            raise TypeError(f"losses must be a list but got a {type(losses)}")
        return arg_mbs, kwarg_mbs

    def _actions(self) -> list:
        """This rank's ordered ``(kind, stage_index, mb_index)`` actions."""
        raise NotImplementedError

    def _step_microbatches(self, arg_mbs=None, kwarg_mbs=None, target_mbs=None,
                           losses=None, loss_kwargs=None) -> None:
        """Run this rank's actions over already split microbatches."""
        arg_mbs, kwarg_mbs = self._check_inputs(arg_mbs, kwarg_mbs, target_mbs, losses)
        by_index = {stage.stage_index: stage for stage in self._stages}
        for stage in sorted(self._stages, key=lambda s: s.stage_index):
            stage._prepare_forward_infra(arg_mbs[0], kwarg_mbs[0])
        self._internal_losses = {}
        pending_weight = {}
        for kind, stage_index, mb in self._actions():
            stage = by_index[stage_index]
            if kind == "F":
                first_args = arg_mbs[mb] if stage.is_first else ()
                output = stage.forward_one_chunk(mb, first_args, kwarg_mbs[mb])
                if stage.is_last and self._loss_fn is not None:
                    loss = self._loss_fn(output, target_mbs[mb], **(loss_kwargs or {}))
                    self._internal_losses[mb] = loss
            elif kind == "B":
                stage.backward_one_chunk(mb, self._internal_losses.get(mb))
            elif kind == "I":
                pending_weight[(stage_index, mb)] = self._backward_input(stage, mb)
            elif kind == "W":
                roots, grads = pending_weight.pop((stage_index, mb))
                ember.autograd.backward(roots, grads, inputs=list(stage.submod.parameters()))
        for stage in self._stages:
            stage._wait_sends()
            if self._has_backward and self.scale_grads:
                stage.scale_grads(self._n_microbatches)
        self._update_losses(losses)

    def _backward_input(self, stage, mb):
        """Zero bubble's first half: the input gradient only (sent on at once); the graph
        is kept for the weight half, which a later ``W`` action runs."""
        outputs, inputs = stage.fwd_cache.pop(mb)
        if stage.is_last:
            roots, grads = [self._internal_losses[mb]], [None]
        else:
            received = stage._recv(stage.outputs_meta, stage.stage_index + 1, _BACKWARD)
            pairs = [(o, g) for o, g in zip(outputs, received) if o.requires_grad]
            roots, grads = [o for o, _ in pairs], [g for _, g in pairs]
        if not stage.is_first:
            input_grads = _autograd_grad(roots, inputs, grads, retain_graph=True,
                                         allow_unused=True)
            input_grads = [g if g is not None else ember.zeros_like(a)
                           for g, a in zip(input_grads, inputs)]
            stage._send(input_grads, stage.stage_index - 1, _BACKWARD)
        return roots, grads

    def _update_losses(self, losses) -> None:
        holds_last = any(stage.is_last for stage in self._stages)
        if holds_last and losses is not None:
            if len(self._internal_losses) != self._n_microbatches:
                raise RuntimeError(f"Expecting {self._n_microbatches} losses but got "
                                   f"{len(self._internal_losses)}")
            losses.clear()
            losses.extend(self._internal_losses[mb] for mb in range(self._n_microbatches))
        self._internal_losses = {}


class PipelineScheduleSingle(_PipelineSchedule):
    """A schedule with one stage per rank."""

    def __init__(self, stage, n_microbatches: int, loss_fn: Callable | None = None,
                 args_chunk_spec=None, kwargs_chunk_spec=None, output_merge_spec=None,
                 scale_grads: bool = True):
        super().__init__([stage], n_microbatches, loss_fn, args_chunk_spec,
                         kwargs_chunk_spec, output_merge_spec, scale_grads)
        self._stage = stage


class ScheduleGPipe(PipelineScheduleSingle):
    """Every microbatch's forward, then every microbatch's backward."""

    def _actions(self) -> list:
        index, count = self._stage.stage_index, self._n_microbatches
        forwards = [("F", index, mb) for mb in range(count)]
        if not self._has_backward:
            return forwards
        return forwards + [("B", index, mb) for mb in range(count)]


class Schedule1F1B(PipelineScheduleSingle):
    """One forward, one backward: after a warm-up of ``num_stages - 1 - stage_index``
    forwards each stage alternates, which bounds the activations it holds."""

    def __init__(self, stage, n_microbatches: int, loss_fn: Callable | None = None,
                 args_chunk_spec=None, kwargs_chunk_spec=None, output_merge_spec=None,
                 scale_grads: bool = True):
        super().__init__(stage, n_microbatches, loss_fn, args_chunk_spec, kwargs_chunk_spec,
                         output_merge_spec, scale_grads)
        if n_microbatches < self._num_stages:
            raise ValueError(f"Number of microbatches ({n_microbatches}) must be greater than "
                             f"or equal to the number of stages ({self._num_stages}).")

    def _actions(self) -> list:
        index, count = self._stage.stage_index, self._n_microbatches
        if not self._has_backward:
            return [("F", index, mb) for mb in range(count)]
        warmup = min(count, self._num_stages - 1 - index)
        actions = [("F", index, mb) for mb in range(warmup)]
        for step in range(count - warmup):
            actions += [("F", index, warmup + step), ("B", index, step)]
        return actions + [("B", index, mb) for mb in range(count - warmup, count)]


class PipelineScheduleMulti(_PipelineSchedule):
    """A schedule with several stages per rank (stage ``i`` on rank ``i % group_size``)."""

    def __init__(self, stages: list, n_microbatches: int, loss_fn: Callable | None = None,
                 args_chunk_spec=None, kwargs_chunk_spec=None, output_merge_spec=None,
                 scale_grads: bool = True):
        super().__init__(stages, n_microbatches, loss_fn, args_chunk_spec,
                         kwargs_chunk_spec, output_merge_spec, scale_grads)
        for stage in stages:
            if stage.stage_index_to_group_rank[stage.stage_index] != self.rank:
                raise RuntimeError(f"Stage {stage.stage_index} does not belong to rank "
                                   f"{self.rank} in a looped schedule")
        self.n_local_stages = len(stages)
        self._local_indices = sorted(stage.stage_index for stage in stages)


class ScheduleLoopedBFS(PipelineScheduleMulti):
    """Breadth first: each local stage runs every microbatch's forward before the next
    local stage starts; backwards run in the reverse stage order."""

    def _actions(self) -> list:
        count = self._n_microbatches
        actions = [("F", s, mb) for s in self._local_indices for mb in range(count)]
        if self._has_backward:
            actions += [("B", s, mb) for s in reversed(self._local_indices)
                        for mb in reversed(range(count))]
        return actions


class ScheduleInterleaved1F1B(PipelineScheduleMulti):
    """1F1B over several local stages (Megatron's interleaving): microbatches go through
    the local stages in rounds of ``n_microbatches // number_of_rounds``; a deeper
    warm-up lets the other ranks' stages fill in between."""

    def __init__(self, stages: list, n_microbatches: int, loss_fn: Callable | None = None,
                 args_chunk_spec=None, kwargs_chunk_spec=None, output_merge_spec=None,
                 scale_grads: bool = True):
        super().__init__(stages, n_microbatches, loss_fn, args_chunk_spec,
                         kwargs_chunk_spec, output_merge_spec, scale_grads)
        self.number_of_rounds = max(1, n_microbatches // self.pp_group_size)
        self.microbatches_per_round = n_microbatches // self.number_of_rounds
        if n_microbatches % self.number_of_rounds != 0:
            raise ValueError(
                "Interleaved 1F1B requires the number of microbatches to be a "
                f"multiple of the number of rounds ({self.number_of_rounds}), "
                f"but got {n_microbatches}.")

    def _ordered(self, k: int, backward: bool) -> tuple[int, int]:
        per_round, local = self.microbatches_per_round, self.n_local_stages
        chunk = (k // per_round) % local
        if backward:
            chunk = local - 1 - chunk
        mb = (k // (per_round * local)) * per_round + k % per_round
        return self._local_indices[chunk], mb

    def _warmup(self) -> int:
        total = self.n_local_stages * self._n_microbatches
        warmup = ((self.n_local_stages - 1) * self.microbatches_per_round
                  + 2 * (self.pp_group_size - 1 - self.rank))
        return min(total, warmup)

    def _actions(self) -> list:
        total = self.n_local_stages * self._n_microbatches
        forwards = [("F", *self._ordered(k, False)) for k in range(total)]
        if not self._has_backward:
            return forwards
        backwards = [("B", *self._ordered(k, True)) for k in range(total)]
        warmup = self._warmup()
        actions = forwards[:warmup]
        for k in range(total - warmup):
            actions += [forwards[warmup + k], backwards[k]]
        return actions + backwards[total - warmup:]


class ScheduleInterleavedZeroBubble(ScheduleInterleaved1F1B):
    """Interleaved 1F1B with each backward split in two: the input gradient (``I``) runs
    where 1F1B's backward would, so the previous stage gets it as early, and the weight
    gradient (``W``) waits until after the next forward, filling what would be a bubble.

    The order of actions is ember's own (1F1B's order with the weight halves deferred by
    one forward), not PyTorch's bubble-filling table; the gradients are the same.
    """

    def _actions(self) -> list:
        actions, deferred = [], []
        for kind, stage_index, mb in super()._actions():
            if kind == "B":
                actions.append(("I", stage_index, mb))
                deferred.append(("W", stage_index, mb))
                continue
            actions.append((kind, stage_index, mb))
            if deferred:
                actions.append(deferred.pop(0))
        return actions + deferred


