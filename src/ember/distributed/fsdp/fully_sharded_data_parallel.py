"""FullyShardedDataParallel (FSDP1): each wrapped unit keeps 1/world_size of its
parameters, gathers them for its forward and backward, and reduce-scatters the gradients.

The sharding itself lives in ``_flat_param.FlatParamHandle``; this file is the Module
users wrap: construction (process group, auto-wrapping, ignored modules, state sync), the
forward that gathers around the wrapped module's call, ``no_sync``, ``clip_grad_norm_``,
``summon_full_params``, the state-dict types and ``fsdp_modules``. The state-dict keys
are PyTorch's: the ``_fsdp_wrapped_module.`` prefix and the flat parameter disappear from
full and sharded state dicts, which hold the original parameter names.

ember runs collectives in order on the calling thread, so prefetching changes nothing
observable. FULL_SHARD frees each inner unit's gathered parameters after its forward and
gathers them again in backward (``_reshard``); SHARD_GRAD_OP keeps them until backward.
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings
from enum import Enum, auto

import ember

from ... import nn
from ..._tensor import Tensor, _make
from ...autograd.grad_mode import no_grad
from . import _reshard, _state_dict
from ._flat_param import FlatParamHandle, _predivide_factor
from ._state_dict import FLAT_PARAM, FSDP_PREFIX, FSDP_WRAPPED_MODULE  # noqa: F401 - also here, as in PyTorch
from .api import (BackwardPrefetch, CPUOffload, FullOptimStateDictConfig, FullStateDictConfig,
                  LocalOptimStateDictConfig, LocalStateDictConfig, MixedPrecision,
                  ShardedOptimStateDictConfig, ShardedStateDictConfig, ShardingStrategy,
                  StateDictSettings, StateDictType)
from .wrap import _auto_wrap

__all__ = ["FullyShardedDataParallel"]


_CONFIG_TYPES = {
    StateDictType.FULL_STATE_DICT: (FullStateDictConfig, FullOptimStateDictConfig),
    StateDictType.LOCAL_STATE_DICT: (LocalStateDictConfig, LocalOptimStateDictConfig),
    StateDictType.SHARDED_STATE_DICT: (ShardedStateDictConfig, ShardedOptimStateDictConfig),
}


class TrainingState(Enum):
    IDLE = auto()
    FORWARD_BACKWARD = auto()
    SUMMON_FULL_PARAMS = auto()


def _cast_floats(value, dtype):
    """Cast every floating tensor inside ``value`` (nested tuples, lists, dicts)."""
    if isinstance(value, Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, (list, tuple)):
        cast = [_cast_floats(item, dtype) for item in value]
        return type(value)(cast) if not hasattr(value, "_fields") else type(value)(*cast)
    if isinstance(value, dict):
        return {key: _cast_floats(item, dtype) for key, item in value.items()}
    return value


class FullyShardedDataParallel(nn.Module):
    """Shard ``module``'s parameters across the ranks of ``process_group``.

    Args:
        module: the module to wrap; with ``auto_wrap_policy`` its submodules the policy
            picks become inner FSDP units first.
        process_group: the group to shard over (default: the world); for HYBRID_SHARD a
            ``(intra_group, inter_group)`` pair.
        sharding_strategy: a ``ShardingStrategy`` (default FULL_SHARD).
        cpu_offload, mixed_precision, backward_prefetch: see ``api``.
        ignored_modules / ignored_states: modules (or parameters) left unsharded.
        use_orig_params: keep the original Parameters registered (as 1-D views of this
            rank's shard) so optimizers and ``named_parameters`` see them.

    Example::

        model = FSDP(Net(), auto_wrap_policy=ModuleWrapPolicy({Block}))
        loss = model(x).sum(); loss.backward(); optimizer.step()
    """

    def __init__(self, module: nn.Module, process_group=None, sharding_strategy=None,
                 cpu_offload: CPUOffload | None = None, auto_wrap_policy=None,
                 backward_prefetch=BackwardPrefetch.BACKWARD_PRE,
                 mixed_precision: MixedPrecision | None = None, ignored_modules=None,
                 param_init_fn=None, device_id=None, sync_module_states: bool = False,
                 forward_prefetch: bool = False, limit_all_gathers: bool = True,
                 use_orig_params: bool = False, ignored_states=None, device_mesh=None):
        super().__init__()
        from ... import distributed as dist

        self._dist = dist
        if ignored_modules is not None and ignored_states is not None:
            raise ValueError("Cannot pass both ignored_modules and ignored_states at the same "
                             "time. Please just pass ignored_states.")
        self.sharding_strategy = sharding_strategy or ShardingStrategy.FULL_SHARD
        self._init_process_group(process_group, auto_wrap_policy, device_mesh)
        self.cpu_offload = cpu_offload or CPUOffload()
        self.backward_prefetch = backward_prefetch
        self.forward_prefetch = forward_prefetch
        self.limit_all_gathers = limit_all_gathers
        self.mixed_precision = mixed_precision
        self._use_orig_params = use_orig_params
        self._sync_gradients = True
        self._is_root = None
        self.training_state = TrainingState.IDLE
        self._state_dict_type = StateDictType.FULL_STATE_DICT
        self._state_dict_config = FullStateDictConfig()
        self._optim_state_dict_config = FullOptimStateDictConfig()
        self._buffer_dtypes = None
        ignored_modules, ignored_params = self._ignored(module, ignored_modules, ignored_states)
        self._ignored_modules, self._ignored_params = ignored_modules, ignored_params
        self.compute_device = self._compute_device(module, device_id)
        if param_init_fn is not None:
            param_init_fn(module)
        if auto_wrap_policy is not None:
            root_kwargs = {
                "process_group": process_group, "sharding_strategy": sharding_strategy,
                "cpu_offload": cpu_offload, "backward_prefetch": backward_prefetch,
                "mixed_precision": mixed_precision, "param_init_fn": param_init_fn,
                "device_id": device_id, "sync_module_states": sync_module_states,
                "forward_prefetch": forward_prefetch, "limit_all_gathers": limit_all_gathers,
                "use_orig_params": use_orig_params, "device_mesh": device_mesh}
            if self.sharding_strategy in (ShardingStrategy.HYBRID_SHARD,
                                          ShardingStrategy._HYBRID_SHARD_ZERO2) \
                    and process_group is None:
                root_kwargs["process_group"] = (self.process_group, self._inter_node_pg)
            _auto_wrap(module, auto_wrap_policy, FullyShardedDataParallel, ignored_modules,
                       ignored_params, root_kwargs)
        self._fsdp_wrapped_module = module
        managed = self._managed_params(module)
        if sync_module_states:
            self._sync_module_states(module, managed)
        self._handle = FlatParamHandle(managed, module, self) if managed else None
        _state_dict.register_hooks(self)

    # -- construction --------------------------------------------------------------------

    def _init_process_group(self, process_group, policy, device_mesh) -> None:
        dist = self._dist
        if process_group is not None and device_mesh is not None:
            raise ValueError("Cannot pass both process_group and device_mesh at the same "
                             "time. Please just pass only one of them.")
        self._inter_node_pg = None
        hybrid = self.sharding_strategy in (ShardingStrategy.HYBRID_SHARD,
                                            ShardingStrategy._HYBRID_SHARD_ZERO2)
        if hybrid:
            if process_group is None and policy is None and device_mesh is None:
                raise ValueError(f"Manual wrapping with {self.sharding_strategy} requires "
                                 "explicit specification of process group or device_mesh.")
            if device_mesh is not None:
                if device_mesh.ndim != 2:
                    raise ValueError(f"Expected device_mesh to have ndim=2 but got "
                                     f"{device_mesh.ndim}")
                self._inter_node_pg = device_mesh.get_group(mesh_dim=0)
                self.process_group = device_mesh.get_group(mesh_dim=1)
            elif process_group is None:
                # every rank of an ember run is on one host: the intra-node group is the
                # world and there is no other node to replicate across
                self.process_group = dist._group._default_group()
            elif isinstance(process_group, tuple) and len(process_group) == 2:
                self.process_group, self._inter_node_pg = process_group
                if self._inter_node_pg is not None and self._inter_node_pg.size() == 1:
                    self._inter_node_pg = None
            else:
                raise ValueError("Expected process_group to be passed in as either None or "
                                 "Tuple[dist.ProcessGroup, dist.ProcessGroup] but got "
                                 f"{type(process_group)}")
        elif device_mesh is not None:
            self.process_group = device_mesh.get_group(mesh_dim=0)
        else:
            self.process_group = (process_group if process_group is not None
                                  else dist._group._default_group())
        self.rank, self.world_size = self.process_group.rank(), self.process_group.size()
        data_parallel = self.world_size * (self._inter_node_pg.size()
                                           if self._inter_node_pg is not None else 1)
        self._gradient_predivide_factor = _predivide_factor(data_parallel)
        self._gradient_postdivide_factor = data_parallel / self._gradient_predivide_factor

    def _compute_device(self, module, device_id):
        """device_id, else the parameters' accelerator, else the current CUDA device
        (parameters on the CPU are moved there); with none of these PyTorch refuses."""
        if device_id is not None:
            device = device_id if isinstance(device_id, ember.device) else ember.device(device_id)
            if device.type != "cpu":  # PyTorch moves the module to device_id
                module.to(device)
            return device
        found = None
        for param in module.parameters():
            if param in self._ignored_params or param.device.type in ("cpu", "meta"):
                continue
            if found is not None and param.device.type != found.type:
                raise RuntimeError("FSDP does not support modules with different device types "
                                   f"but got params on {found.type} and {param.device.type}")
            found = found or param.device
        if found is not None:
            return found
        if not ember.cuda.is_available():
            raise RuntimeError("FSDP needs a non-CPU accelerator device, but no accelerator "
                               "device is detected.")
        found = ember.device("cuda", ember.cuda.current_device())
        module.to(found)
        return found

    @staticmethod
    def _ignored(module, ignored_modules, ignored_states) -> tuple:
        """The ignored modules (with their submodules) and the parameters they hold."""
        modules, params = set(), set()
        for item in ignored_states or ignored_modules or ():
            if isinstance(item, nn.Module):
                if isinstance(item, FullyShardedDataParallel):
                    raise ValueError("`ignored_modules` should not include FSDP modules")
                modules.update(item.modules())
            elif isinstance(item, Tensor):
                params.add(item)
            else:
                raise TypeError("`ignored_modules` should be an iterable of `torch.nn.Module`"
                                f"s but got {type(item)}")
        for ignored in modules:
            params.update(ignored.parameters())
        for inner in module.modules():
            if isinstance(inner, FullyShardedDataParallel):
                modules.update(inner._ignored_modules)
                params.update(inner._ignored_params)
        return modules, params

    def _managed_params(self, module) -> list:
        """Parameters of ``module``'s tree outside inner units and ignored modules."""
        inner = set()
        for sub in module.modules():
            if isinstance(sub, FullyShardedDataParallel):
                inner.update(id(p) for p in sub.parameters())
                handle = sub._handle
                if handle is not None:
                    inner.update(id(i.param) for i in handle.infos)
        return [p for p in module.parameters()
                if id(p) not in inner and p not in self._ignored_params
                and not getattr(p, "_fsdp_flattened", False)]

    def _sync_module_states(self, module, params) -> None:
        """Broadcast rank 0's parameters and buffers (sync_module_states=True). PyTorch
        does this only for accelerator tensors, and so does ember."""
        if any(t.device.type == "cpu" for t in [*module.parameters(), *module.buffers()]):
            raise ValueError("The module has CPU parameters or buffers when "
                             "`sync_module_states=True`, which requires them to be on GPU. "
                             "Please specify the `device_id` argument or move the module to "
                             "GPU before passing it to FSDP.")
        with no_grad():
            for tensor in [*params, *(b for b in module.buffers())]:
                self._dist.broadcast(tensor.detach(), src=self.process_group.ranks[0]
                                     if hasattr(self.process_group, "ranks") else 0,
                                     group=self.process_group)

    # -- module protocol -------------------------------------------------------------------

    @property
    def module(self) -> nn.Module:
        """The wrapped module."""
        return self._fsdp_wrapped_module

    def __getattr__(self, name: str):
        """Attributes the wrapper lacks are the wrapped module's (as PyTorch's)."""
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == FSDP_WRAPPED_MODULE:  # not set yet: do not recurse
                raise
            return getattr(self._fsdp_wrapped_module, name)

    def __getitem__(self, key):
        return self._fsdp_wrapped_module.__getitem__(key)

    def named_parameters(self, *args, **kwargs):
        """As Module's, but inside summon_full_params the wrapper prefix is dropped."""
        strip = self.training_state == TrainingState.SUMMON_FULL_PARAMS
        for name, param in super().named_parameters(*args, **kwargs):
            yield (name.replace(FSDP_PREFIX, "") if strip else name), param

    def named_buffers(self, *args, **kwargs):
        strip = self.training_state == TrainingState.SUMMON_FULL_PARAMS
        for name, buffer in super().named_buffers(*args, **kwargs):
            yield (name.replace(FSDP_PREFIX, "") if strip else name), buffer

    @property
    def _flat_param(self):
        return self._handle.flat_param if self._handle is not None else None

    @staticmethod
    def fsdp_modules(module: nn.Module, root_only: bool = False) -> list:
        """Every FSDP instance in ``module``'s tree (only the outermost with root_only)."""
        found = [m for m in module.modules() if isinstance(m, FullyShardedDataParallel)]
        if not root_only:
            return found
        inner = {id(m) for outer in found for m in outer.modules() if m is not outer}
        return [m for m in found if id(m) not in inner]

    def check_is_root(self) -> bool:
        self._lazy_init()
        return bool(self._is_root)

    def _lazy_init(self) -> None:
        """The first FSDP called (or asked) in a tree becomes its root."""
        if self._is_root is not None:
            return
        self._is_root = True
        for inner in self.modules():
            if inner is not self and isinstance(inner, FullyShardedDataParallel):
                inner._is_root = False
        # each unit's buffers in its own MixedPrecision.buffer_dtype (the originals are
        # remembered: state dicts save them in their own dtype)
        self._buffer_dtypes = {}
        with no_grad():
            for unit in self.fsdp_modules(self):
                mp = unit.mixed_precision
                if mp is None or mp.buffer_dtype is None:
                    continue
                for owner in unit._managed_modules():
                    for name, buffer in owner._buffers.items():
                        if buffer is not None and buffer.is_floating_point():
                            self._buffer_dtypes[(id(owner), name)] = buffer.dtype
                            owner._buffers[name] = buffer.to(mp.buffer_dtype)

    def _managed_modules(self) -> list:
        """The modules of this unit's tree outside inner units."""
        found, stack = [], [self._fsdp_wrapped_module]
        while stack:
            module = stack.pop()
            found.append(module)
            stack.extend(child for child in module.children()
                         if not isinstance(child, FullyShardedDataParallel))
        return found

    def forward(self, *args, **kwargs):
        self._lazy_init()
        mp = self.mixed_precision
        if mp is not None and mp.param_dtype is not None and (
                mp.cast_forward_inputs or (self._is_root and mp.cast_root_forward_inputs)):
            args, kwargs = _cast_floats(args, mp.param_dtype), _cast_floats(kwargs,
                                                                            mp.param_dtype)
        handle = self._handle
        if handle is None:
            return self._fsdp_wrapped_module(*args, **kwargs)
        self.training_state = TrainingState.FORWARD_BACKWARD
        full = handle.unshard_for_compute(ember.is_grad_enabled())
        # FULL_SHARD frees the gathered parameters after forward and gathers them again
        # in backward; like PyTorch, not for the root, whose backward comes right after
        reshard = (handle.sharded and not self._is_root and self.sharding_strategy in (
            ShardingStrategy.FULL_SHARD, ShardingStrategy.HYBRID_SHARD))
        saving = (_reshard.saving_locations(handle, full) if reshard and full.requires_grad
                  else contextlib.nullcontext())
        try:
            with saving:
                return self._fsdp_wrapped_module(*args, **kwargs)
        finally:
            handle.reshard_after_compute()
            if reshard:
                _reshard.free_gathered(handle, full)
            self.training_state = TrainingState.IDLE

    # -- gradient control ------------------------------------------------------------------

    @contextlib.contextmanager
    def no_sync(self):
        """Accumulate gradients locally (unsharded) without communicating; the first
        backward after the context reduces them together with its own."""
        self._lazy_init()
        if not self._is_root:
            raise RuntimeError("`no_sync()` on inner FSDP instances is not supported. Please "
                               "call `no_sync()` on root FSDP module.")
        units = self.fsdp_modules(self)
        previous = [unit._sync_gradients for unit in units]
        for unit in units:
            unit._sync_gradients = False
        try:
            yield
        finally:
            for unit, flag in zip(units, previous):
                unit._sync_gradients = flag

    def clip_grad_norm_(self, max_norm, norm_type=2.0) -> Tensor:
        """Clip the gradients of every parameter in the tree by their total norm, which is
        computed across the ranks (sharded gradients summed, replicated ones once)."""
        self._lazy_init()
        if not self._is_root:
            raise RuntimeError("`clip_grad_norm_()` should only be called on the root FSDP "
                               "instance")
        handles = [unit._handle for unit in self.fsdp_modules(self) if unit._handle]
        if all(not handle.sharded for handle in handles):
            return nn.utils.clip_grad_norm_(self.parameters(), max_norm, norm_type)
        max_norm, norm_type = float(max_norm), float(norm_type)
        sharded, replicated, seen = [], [], set()
        for handle in handles:
            target = sharded if handle.sharded else replicated
            params = ([i.param for i in handle.infos] if handle.use_orig_params
                      else [handle.flat_param])
            for param in params:
                if id(param) not in seen:
                    seen.add(id(param))
                    target.append(param)
        for param in self.parameters():
            if id(param) not in seen:
                seen.add(id(param))
                replicated.append(param)
        grads = [p.grad for p in sharded + replicated if p.grad is not None]
        local_sharded = _grad_norm(sharded, norm_type)
        local_replicated = _grad_norm(replicated, norm_type) if replicated else None
        if norm_type == math.inf:
            total = (ember.maximum(local_sharded, local_replicated)
                     if local_replicated is not None else local_sharded)
            self._dist.all_reduce(total, op=self._dist.ReduceOp.MAX, group=self.process_group)
        else:
            total = local_sharded ** norm_type
            self._dist.all_reduce(total, group=self.process_group)
            if local_replicated is not None:
                total = total + local_replicated ** norm_type
            total = total ** (1.0 / norm_type)
        clip_coef = ember.clamp(max_norm / (total + 1e-6), max=1.0)
        with no_grad():
            for grad in grads:
                grad.mul_(clip_coef.to(grad.dtype))
        if not grads:
            warnings.warn(f"Called FSDP.clip_grad_norm_() on rank {self.rank} with no "
                          f"gradients -- returning the total norm in the default dtype "
                          f"{total.dtype}", stacklevel=2)
            return total
        dtype = functools.reduce(ember.promote_types, [g.dtype for g in grads])
        return total.to(dtype)

    # -- full parameters -------------------------------------------------------------------

    @staticmethod
    @contextlib.contextmanager
    def summon_full_params(module: nn.Module, recurse: bool = True, writeback: bool = True,
                           rank0_only: bool = False, offload_to_cpu: bool = False,
                           with_grads: bool = False):
        """Inside the context every FSDP unit of ``module`` (only the outermost ones
        unless ``recurse``) holds its whole parameters; with ``writeback`` changes made
        to them are written back to the shards on exit."""
        units = FullyShardedDataParallel.fsdp_modules(module, root_only=not recurse)
        for unit in units:
            unit._check_summon(writeback, rank0_only, offload_to_cpu, with_grads)
        entered = []
        try:
            for unit in units:
                entered.append((unit, unit._summon_enter(rank0_only, with_grads)))
            yield
        finally:
            for unit, full in reversed(entered):
                unit._summon_exit(full, writeback)

    def _check_summon(self, writeback, rank0_only, offload_to_cpu, with_grads) -> None:
        if self.training_state == TrainingState.FORWARD_BACKWARD:
            raise AssertionError("Cannot manually unshard parameters during forward/backward")
        if self.training_state == TrainingState.SUMMON_FULL_PARAMS:
            raise AssertionError("Cannot manually unshard parameters when already "
                                 "unsharding parameters")
        if with_grads and (offload_to_cpu or not self._use_orig_params):
            raise NotImplementedError(
                f"with_grads={with_grads}, use_orig_params={self._use_orig_params}, "
                f"offload_to_cpu={offload_to_cpu} is not supported yet")
        if offload_to_cpu and self._handle is not None and not self._handle.sharded:
            raise NotImplementedError("offload_to_cpu=True and NO_SHARD is not supported yet")
        if writeback and rank0_only:
            raise NotImplementedError("writeback=True and rank0_only=True is not supported yet")

    def _summon_enter(self, rank0_only, with_grads):
        """Gather and register the original parameters as whole Parameters (views of the
        gathered buffer, so in-place writes land in it)."""
        self.training_state = TrainingState.SUMMON_FULL_PARAMS
        handle = self._handle
        if handle is None:
            return None
        full = handle.gather()
        if rank0_only and self.rank != 0:
            return None  # the other ranks keep their shards
        unpadded = _make(full._data[:handle.numel])
        handle.register_as_params(unpadded)
        if with_grads:
            grad = handle.gather_grad()
            for info in handle.infos:
                info.param._grad = (None if grad is None else _make(
                    grad._data[info.start:info.end].reshape(tuple(info.shape))))
        return unpadded

    def _summon_exit(self, full, writeback) -> None:
        self.training_state = TrainingState.IDLE
        handle = self._handle
        if handle is None or full is None:
            return
        if writeback:
            handle.write_back(full)
        handle.restore_registration()

    # -- state-dict types ------------------------------------------------------------------

    @staticmethod
    def set_state_dict_type(module, state_dict_type, state_dict_config=None,
                            optim_state_dict_config=None) -> StateDictSettings:
        """Set the state-dict type of every FSDP unit in ``module``; returns the previous
        settings."""
        config_type, optim_config_type = _CONFIG_TYPES[state_dict_type]
        state_dict_config = state_dict_config or config_type()
        optim_state_dict_config = optim_state_dict_config or optim_config_type()
        if type(state_dict_config) is not config_type:
            raise RuntimeError(f"Expected state_dict_config of type {config_type} but got "
                               f"{type(state_dict_config)}")
        if type(optim_state_dict_config) is not optim_config_type:
            raise RuntimeError(f"Expected optim_state_dict_config of type {optim_config_type} "
                               f"but got {type(optim_state_dict_config)}")
        previous = None
        for unit in FullyShardedDataParallel.fsdp_modules(module):
            if previous is None:
                previous = StateDictSettings(unit._state_dict_type, unit._state_dict_config,
                                             unit._optim_state_dict_config)
            unit._state_dict_type = state_dict_type
            unit._state_dict_config = state_dict_config
            unit._optim_state_dict_config = optim_state_dict_config
        return previous

    @staticmethod
    def get_state_dict_type(module) -> StateDictSettings:
        """The state-dict settings shared by every FSDP unit in ``module``."""
        settings = None
        for unit in FullyShardedDataParallel.fsdp_modules(module):
            mine = StateDictSettings(unit._state_dict_type, unit._state_dict_config,
                                     unit._optim_state_dict_config)
            if settings is None:
                settings = mine
            elif mine != settings:
                raise AssertionError("All FSDP modules must have the same state dict settings."
                                     f"Got {mine} and {settings}.")
        if settings is None:
            raise ValueError("No FSDP instance found in the module.")
        return settings

    @staticmethod
    @contextlib.contextmanager
    def state_dict_type(module, state_dict_type, state_dict_config=None,
                        optim_state_dict_config=None):
        """Use ``state_dict_type`` for ``module.state_dict()``/``load_state_dict`` and
        ``FSDP.optim_state_dict`` inside the context."""
        previous = FullyShardedDataParallel.set_state_dict_type(
            module, state_dict_type, state_dict_config, optim_state_dict_config)
        try:
            yield
        finally:
            if previous is not None:
                FullyShardedDataParallel.set_state_dict_type(
                    module, previous.state_dict_type, previous.state_dict_config,
                    previous.optim_state_dict_config)

    # -- optimizer state -------------------------------------------------------------------

    @staticmethod
    def optim_state_dict(model, optim, optim_state_dict=None, group=None) -> dict:
        """The optimizer's state keyed by original parameter names, every state tensor
        whole (FULL_STATE_DICT, the default), as PyTorch saves it."""
        from ._optim_state import optim_state_dict
        return optim_state_dict(model, optim, optim_state_dict)

    @staticmethod
    def optim_state_dict_to_load(model, optim, optim_state_dict, is_named_optimizer=False,
                                 load_directly=False, group=None) -> dict:
        """Turn a state dict from ``optim_state_dict`` into one ``optim.load_state_dict``
        takes for this rank's shards (loaded at once with ``load_directly``)."""
        from ._optim_state import optim_state_dict_to_load
        result = optim_state_dict_to_load(model, optim, optim_state_dict)
        if load_directly:
            optim.load_state_dict(result)
            return {}
        return result


def _grad_norm(params, norm_type) -> Tensor:
    """The norm of the parameters' gradients seen as one vector, in float32."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return ember.tensor(0.0)
    norms = [ember.linalg.vector_norm(g.detach(), norm_type, dtype=ember.float32)
             for g in grads]
    return ember.linalg.vector_norm(ember.stack(norms), norm_type, dtype=ember.float32)
