"""ZeroRedundancyOptimizer (PyTorch's ``torch.distributed.optim.ZeroRedundancyOptimizer``):
any optimizer, with its state sharded across ranks (ZeRO stage 1).

Every rank holds every parameter, but each parameter belongs to one rank, which alone
keeps its optimizer state (momentum, Adam's moments) and updates it. ``step()`` runs the
local optimizer on this rank's shard and then broadcasts each shard from its owner, so
every rank ends the step with the same parameters while optimizer memory drops by about
the world size. Gradients must already agree across ranks (DDP averages them).

The partition is PyTorch's: within each parameter group, largest parameters first, each
to the rank with the fewest elements so far, so checkpoints and shard sizes match.
"""

from __future__ import annotations

import copy
from typing import Any

from ...optim.optimizer import Optimizer
from ..algorithms.join import Join, Joinable, JoinHook

__all__ = ["ZeroRedundancyOptimizer"]


class _ZeROJoinHook(JoinHook):
    """A joined rank still owns a shard: it steps it (with the gradients it has) and
    broadcasts it, matching the ``step()`` of the ranks still training."""

    def __init__(self, zero):
        self.zero = zero

    def main_hook(self) -> None:
        self.zero.step()


class ZeroRedundancyOptimizer(Optimizer, Joinable):
    """Wrap ``optimizer_class`` so each rank keeps the state of a shard of the parameters.

    Args:
        params: parameters or parameter groups, as for any optimizer (every rank passes
            the same ones in the same order).
        optimizer_class: the local optimizer's class (``torch.optim.Adam``, ...).
        process_group: the group to shard over (the world by default).
        parameters_as_bucket_view: accepted; ember broadcasts each parameter on its own.
        overlap_with_ddp: not supported (it needs DDP's fused step-in-hook mode).
        **defaults: the local optimizer's keyword arguments (``lr=...``).

    Example::

        >>> ddp = DDP(model)
        >>> opt = ZeroRedundancyOptimizer(ddp.parameters(), optimizer_class=torch.optim.Adam,
        ...                               lr=0.01)
        >>> ddp(x).sum().backward()
        >>> opt.step()
    """

    def __init__(self, params, optimizer_class: type, process_group=None,
                 parameters_as_bucket_view: bool = False, overlap_with_ddp: bool = False,
                 **defaults: Any):
        if overlap_with_ddp:
            raise NotImplementedError("ember's ZeroRedundancyOptimizer does not implement "
                                      "overlap_with_ddp=True")
        from .. import GroupMember, get_global_rank, get_rank, get_world_size
        self.initialized = False
        self._partition_cache = []
        Optimizer.__init__(self, params, defaults)
        Joinable.__init__(self)
        self.process_group = GroupMember.WORLD if process_group is None else process_group
        self.world_size = get_world_size(self.process_group)
        self.rank = get_rank(self.process_group)
        self.global_rank = get_global_rank(self.process_group, self.rank)
        self.parameters_as_bucket_view = parameters_as_bucket_view
        self._optim_defaults = defaults
        self._optim_constructor = optimizer_class
        self.optim = optimizer_class(self._partition_parameters()[self.rank], **defaults)
        # the local optimizer's defaults (momentum=0, betas, ...) show in param_groups too
        self._sync_param_groups(self.optim.param_groups, self.param_groups)
        self._all_state_dicts = []
        self.initialized = True

    # -- the partition ---------------------------------------------------------------------

    def _partition_parameters(self) -> list:
        """Per rank, its parameter groups (each group's hyper-parameters, its share of
        the group's parameters)."""
        if not self._partition_cache:
            per_rank = [[] for _ in range(self.world_size)]
            sizes = [0] * self.world_size
            for group in self.param_groups:
                shares = [[] for _ in range(self.world_size)]
                for param in sorted(group["params"], key=lambda t: t.numel(), reverse=True):
                    owner = sizes.index(min(sizes))
                    shares[owner].append(param)
                    sizes[owner] += param.numel()
                for owner, share in enumerate(shares):
                    rank_group = copy.copy(group)
                    rank_group["params"] = share
                    per_rank[owner].append(rank_group)
            self._partition_cache = per_rank
        return self._partition_cache

    def _param_to_index(self) -> dict:
        params = [p for group in self.param_groups for p in group["params"]]
        return {id(p): index for index, p in enumerate(params)}

    def _owner_of(self) -> dict:
        return {id(p): rank for rank, groups in enumerate(self._partition_parameters())
                for group in groups for p in group["params"]}

    @staticmethod
    def _sync_param_groups(source, destination) -> None:
        """Copy the hyper-parameters (not the parameters) group by group."""
        for source_group, destination_group in zip(source, destination):
            for key, value in source_group.items():
                if key != "params":
                    destination_group[key] = value

    def add_param_group(self, param_group: dict) -> None:
        """Add a group on every rank (call it on all ranks): the partition is redone and
        this rank's share of the new group joins the local optimizer."""
        super().add_param_group(param_group)
        if self.initialized:
            self._partition_cache = []
            groups = self._partition_parameters()[self.rank]
            if len(groups) == len(self.optim.param_groups) + 1:
                self.optim.add_param_group(groups[-1])

    # -- stepping --------------------------------------------------------------------------

    def step(self, closure=None, **kwargs):
        """Update this rank's shard with the local optimizer, then broadcast every shard
        from its owner. Returns the closure's loss, if any."""
        Join.notify_join_context(self)
        self._sync_param_groups(self.param_groups, self.optim.param_groups)
        if closure is None:
            loss = self.optim.step(**kwargs)
        else:
            loss = self.optim.step(closure=closure, **kwargs)
        self._sync_param_groups(self.optim.param_groups, self.param_groups)
        self._sync_params()
        return loss

    def _sync_params(self) -> None:
        from ...autograd.grad_mode import no_grad
        from .. import broadcast, get_global_rank
        works = []
        with no_grad():
            for owner, groups in enumerate(self._partition_parameters()):
                source = get_global_rank(self.process_group, owner)
                for group in groups:
                    works += [broadcast(p.detach(), src=source, group=self.process_group,
                                        async_op=True) for p in group["params"]]
            for work in works:
                work.wait()

    # -- checkpoints -----------------------------------------------------------------------

    def consolidate_state_dict(self, to: int = 0) -> None:
        """Gather every rank's shard of the optimizer state on rank ``to`` (call it on all
        ranks), so that ``state_dict()`` there holds the whole state."""
        from .. import gather_object, get_global_rank
        self._sync_param_groups(self.param_groups, self.optim.param_groups)
        local = copy.deepcopy(self.optim.state_dict())
        gathered = [None] * self.world_size if self.rank == to else None
        gather_object(local, gathered, dst=get_global_rank(self.process_group, to),
                      group=self.process_group)
        self._all_state_dicts = gathered if self.rank == to else []

    def state_dict(self) -> dict:
        """The whole optimizer state, in the layout a plain optimizer over the same
        parameters saves (only on the rank ``consolidate_state_dict`` gathered on)."""
        if not self._all_state_dicts:
            raise RuntimeError(f"Optimizer state has not been consolidated on this rank. "
                               f"Please call `consolidate_state_dict(to={self.rank})` on all "
                               f"ranks beforehand if you meant to save the global state.")
        state_dict = super().state_dict()
        index_of = self._param_to_index()
        for rank, local in enumerate(self._all_state_dicts):
            global_groups = self._partition_parameters()[rank]
            for local_group, global_group in zip(local["param_groups"], global_groups):
                for local_index, param in zip(local_group["params"], global_group["params"]):
                    if local_index in local["state"]:
                        state_dict["state"][index_of[id(param)]] = local["state"][local_index]
        state_dict["state"] = dict(sorted(state_dict["state"].items()))
        return state_dict

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a whole state (from ``state_dict()``); each rank keeps its shard's. As
        PyTorch's, it takes the saved tensors as they are (no copy on the same device)
        and sets the entries of other ranks' parameters in ``state_dict`` to None."""
        params = [p for group in self.param_groups for p in group["params"]]
        owner = self._owner_of()
        for index, value in list(state_dict["state"].items()):
            param = params[index]
            if owner[id(param)] != self.rank:
                state_dict["state"][index] = None
            else:
                self.optim.state[param] = self._cast_state_value(param, value)
        super().load_state_dict(state_dict)
        self._sync_param_groups(state_dict["param_groups"], self.param_groups)
        self._sync_param_groups(self.param_groups, self.optim.param_groups)

    # -- Join --------------------------------------------------------------------------------

    def join_hook(self, **kwargs) -> JoinHook:
        return _ZeROJoinHook(self)

    @property
    def join_device(self):
        return self.param_groups[0]["params"][0].device

    @property
    def join_process_group(self):
        return self.process_group
