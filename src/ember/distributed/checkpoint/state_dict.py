"""Model and optimizer state dicts under canonical names (PyTorch's
``torch.distributed.checkpoint.state_dict``): parameter names as the unwrapped model
names them (DDP's ``module.`` prefix dropped) and optimizer state keyed by those names
instead of parameter positions, so a checkpoint does not depend on how the model was
wrapped or how many optimizers hold its parameters.

FSDP (FSDP1) models go through FSDP's own state-dict types: SHARDED_STATE_DICT by
default (ShardedTensor values, which the checkpoint writes piecewise), FULL_STATE_DICT with
``full_state_dict``; their optimizer state through ``FSDP.optim_state_dict``. DTensor
parameters (tensor parallel): ``full_state_dict`` gathers them, and loading a full state
dict cuts each rank's piece back out."""

from __future__ import annotations

import contextlib
import gc
from dataclasses import asdict, dataclass, field
from itertools import chain
from typing import Any

import ember
from ember.nn.modules._hooks import _IncompatibleKeys

from .utils import _is_dtensor, _loaded_class

__all__ = ["StateDictOptions", "get_model_state_dict", "get_optimizer_state_dict",
           "get_state_dict", "set_model_state_dict", "set_optimizer_state_dict",
           "set_state_dict"]

_PG = "param_groups"
_PARAMS = "params"
_STATE = "state"


@dataclass
class StateDictOptions:
    """How the get/set functions work.

    - ``full_state_dict``: DTensors are gathered into whole tensors (and, when setting,
      whole tensors are cut into each rank's pieces).
    - ``cpu_offload``: tensors moved to the CPU; with ``full_state_dict`` under a process
      group only rank 0 keeps them (the others get an empty dict).
    - ``ignore_frozen_params``: leave out parameters that do not require grad.
    - ``strict``: passed to ``load_state_dict``; missing optimizer state raises.
    - ``flatten_optimizer_state_dict``: optimizer state as one flat dict
      (``state.<fqn>.<name>``, ``param_groups.<fqn>.<option>``).
    """

    full_state_dict: bool = False
    cpu_offload: bool = False
    ignore_frozen_params: bool = False
    keep_submodule_prefixes: bool = True
    strict: bool = True
    broadcast_from_rank0: bool = False
    flatten_optimizer_state_dict: bool = False
    dsd_fqn_modifiers: str = "_fqn_modifiers"


@dataclass
class _StateDictInfo(StateDictOptions):
    fqn_param_mapping: dict = field(default_factory=dict)
    shared_params_mapping: dict = field(default_factory=dict)
    handle_model: bool = True
    handle_optim: bool = True
    fsdp_context: Any = contextlib.nullcontext
    fsdp_modules: list = field(default_factory=list)


def _fsdp_context(model, options: StateDictOptions):
    """FSDP's state-dict type for these options (SHARDED, or FULL with full_state_dict),
    as a context to enter around state_dict/load_state_dict; None without FSDP."""
    import functools

    fsdp = _fsdp_class()
    modules = fsdp.fsdp_modules(model) if fsdp is not None else []
    if not modules:
        return contextlib.nullcontext, []
    from ember.distributed import fsdp as fsdp_api
    if options.full_state_dict:
        kind = fsdp_api.StateDictType.FULL_STATE_DICT
        config = fsdp_api.FullStateDictConfig(offload_to_cpu=options.cpu_offload,
                                              rank0_only=options.cpu_offload)
        optim_config = fsdp_api.FullOptimStateDictConfig(
            offload_to_cpu=options.cpu_offload,
            rank0_only=options.cpu_offload or options.broadcast_from_rank0)
    else:
        kind = fsdp_api.StateDictType.SHARDED_STATE_DICT
        config = fsdp_api.ShardedStateDictConfig(offload_to_cpu=options.cpu_offload)
        optim_config = fsdp_api.ShardedOptimStateDictConfig(offload_to_cpu=options.cpu_offload)
    return functools.partial(_fsdp_class().state_dict_type, model, kind, config,
                             optim_config), modules


@contextlib.contextmanager
def _gc_context():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _is_ddp(module) -> bool:
    from ember.nn.parallel import DistributedDataParallel

    return isinstance(module, DistributedDataParallel)


def _fsdp_class():
    """FSDP's class, or None when FSDP was never imported (then no module is one)."""
    return _loaded_class("ember.distributed.fsdp.fully_sharded_data_parallel",
                         "FullyShardedDataParallel")


def _get_fqns(model, name: str, skip_ddp_prefix: bool = True) -> set:
    """The canonical names of the state entry ``name`` of ``model``: DDP's ``module.``
    left out unless ``skip_ddp_prefix`` is False, FSDP's wrapper names left out, and an
    FSDP flat parameter named by all the original parameters it holds."""
    if "." not in name:
        return {name}
    parts, current = [], model
    names = name.split(".")
    fsdp = _fsdp_class()
    for i, part in enumerate(names):
        if fsdp is not None and isinstance(current, fsdp):
            if i < len(names) - 1 and names[i + 1] == "_flat_param":
                prefix = ".".join(parts)
                prefix = f"{prefix}." if prefix else ""
                return {f"{prefix}{fqn}" for fqn in current._flat_param._fqns}
            current = current._fsdp_wrapped_module
            if part != "_fsdp_wrapped_module":
                parts.append(part)
                current = getattr(current, part)
            continue
        if _is_ddp(current):
            if part != "module":
                raise AssertionError(f"Expected 'module', got '{part}'")
            current = current.module
            if not skip_ddp_prefix:
                parts.append(part)
            continue
        parts.append(part)
        if part == "_extra_state":
            if i != len(names) - 1:
                raise RuntimeError("Expect `_extra_state` to be the last obj name")
        else:
            current = getattr(current, part)
    return {".".join(parts)}


def _iterate_valid_model_state(model):
    """(name, tensor) of every parameter and persistent buffer, each module visited once."""
    visited = set()

    def recurse(module, prefix):
        visited.add(id(module))
        prefix = f"{prefix}." if prefix else ""
        for name, child in module.named_children():
            if id(child) not in visited:
                yield from recurse(child, f"{prefix}{name}")
        for name, obj in chain(module.named_buffers(recurse=False),
                               module.named_parameters(recurse=False)):
            if name not in module._non_persistent_buffers_set:
                yield f"{prefix}{name}", obj

    yield from recurse(model, "")


def _verify_options(model, optims: tuple, optim_only: bool, *, submodules=None,
                    options: StateDictOptions | None = None) -> _StateDictInfo:
    if optim_only and not optims:
        raise RuntimeError("Optimizers are not passed in but optim_only is set to True.")
    if submodules:
        raise NotImplementedError("submodules is deprecated in PyTorch; filter the returned "
                                  "state_dict instead")
    options = options or StateDictOptions()
    if options.broadcast_from_rank0 and not options.full_state_dict:
        raise ValueError("full_state_dict must be True when broadcast_from_rank0 is True.")
    fqn_param_mapping, shared = {}, {}
    for name, param in _iterate_valid_model_state(model):
        fqns = _get_fqns(model, name)
        known = fqn_param_mapping.get(param)
        if known is not None:
            known.update(fqns)
            shared[param] = known
        else:
            fqn_param_mapping[param] = set(fqns)
        for fqn in fqns:
            fqn_param_mapping[fqn] = param
    for param, fqns in list(shared.items()):
        for fqn in fqns:
            shared[fqn] = param
    context, fsdp_modules = _fsdp_context(model, options)
    return _StateDictInfo(**asdict(options), fqn_param_mapping=fqn_param_mapping,
                          shared_params_mapping=shared, handle_model=not optim_only,
                          handle_optim=len(optims) > 0, fsdp_context=context,
                          fsdp_modules=fsdp_modules)


def _verify_state_dict(model_state_dict: dict, optim_state_dict: dict,
                       info: _StateDictInfo) -> None:
    if (info.handle_model and not model_state_dict and not info.ignore_frozen_params
            and not (info.cpu_offload and info.full_state_dict) and info.strict
            and not info.broadcast_from_rank0):
        import ember.distributed as dist

        # PyTorch's message names the rank (and, without a process group, asking for it
        # raises its ValueError instead: kept, as the same mistake fails the same way)
        raise RuntimeError("The option indicates that model state_dict is required to save "
                           "or load, but model state_dict is empty."
                           f"rank = dist.get_rank()={dist.get_rank()}.")
    if (info.handle_optim and not optim_state_dict
            and not (info.cpu_offload and info.full_state_dict)
            and not info.broadcast_from_rank0):
        raise RuntimeError("The option indicates that model state_dict is required to save, "
                           f"or load but optim state_dict is empty. {optim_state_dict}")


# -- gathering and cutting DTensors ------------------------------------------------------


def _map_tensors(value, fn):
    if isinstance(value, ember.Tensor):
        return fn(value)
    if isinstance(value, dict):
        return type(value)((k, _map_tensors(v, fn)) for k, v in value.items())
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_map_tensors(v, fn) for v in value)
    return value


def _maybe_full_or_cpu_state_dict(state_dict: dict, info: _StateDictInfo) -> dict:
    import ember.distributed as dist

    if info.full_state_dict:
        def gather(tensor):
            if _is_dtensor(tensor):
                tensor = tensor.full_tensor()
            return tensor.cpu() if info.cpu_offload else tensor

        gathered = _map_tensors(state_dict, gather)
        if info.cpu_offload and dist.is_initialized() and dist.get_rank() != 0:
            return {}
        return gathered
    if info.cpu_offload:
        return _map_tensors(state_dict, lambda t: t.cpu())
    return state_dict


def _distribute_value(full, local):
    """A whole tensor ``full`` as ``local`` holds it: a DTensor's piece cut from it (and
    wrapped with the same mesh and placements), or the tensor on ``local``'s device."""
    if not isinstance(full, ember.Tensor) or _is_dtensor(full):
        return full
    if _is_dtensor(local):
        from ember.distributed.tensor._redistribute import local_shape_and_offset

        sizes, offsets = local_shape_and_offset(local.shape, local.device_mesh,
                                                local.placements)
        piece = full
        for dim, (offset, size) in enumerate(zip(offsets, sizes)):
            piece = piece.narrow(dim, offset, size)
        piece = piece.to(local.to_local().device).contiguous()
        return type(local).from_local(piece, local.device_mesh, local.placements,
                                  shape=local.shape, stride=local.stride())
    if isinstance(local, ember.Tensor):
        return full.to(local.device)
    return full


# -- model --------------------------------------------------------------------------------


@ember.no_grad()
def _get_model_state_dict(model, info: _StateDictInfo) -> dict:
    if not info.handle_model:
        return {}
    with info.fsdp_context():
        state_dict = model.state_dict()
    for key in list(state_dict.keys()):
        fqn = next(iter(_get_fqns(model, key)))
        if fqn != key:
            state_dict[fqn] = state_dict.pop(key)
    if info.ignore_frozen_params:
        for key, param in model.named_parameters():
            if not param.requires_grad:
                for fqn in _get_fqns(model, key):
                    state_dict.pop(fqn)
    return _maybe_full_or_cpu_state_dict(state_dict, info)


@ember.no_grad()
def _load_model_state_dict(model, state_dict: dict, info: _StateDictInfo):
    if not info.handle_model or not state_dict:
        return _IncompatibleKeys([], [])
    local_state_dict = {}
    for key, value in _iterate_valid_model_state(model):
        fqns = sorted(_get_fqns(model, key))
        with_prefix = sorted(_get_fqns(model, key, skip_ddp_prefix=False))
        for fqn, fqn_with_prefix in zip(fqns, with_prefix):
            if fqn != fqn_with_prefix:
                loaded = state_dict.pop(fqn, None)
                if loaded is None:
                    if info.strict:
                        raise RuntimeError(f"Missing key: {fqn}.")
                else:
                    state_dict[fqn_with_prefix] = loaded
            local_state_dict[fqn_with_prefix] = value
    if info.full_state_dict and not info.fsdp_modules:  # FSDP's FULL type cuts its own
        for key, local in local_state_dict.items():
            if key in state_dict:
                state_dict[key] = _distribute_value(state_dict[key], local)
    with info.fsdp_context():
        return model.load_state_dict(state_dict, strict=info.strict)


# -- optimizer ----------------------------------------------------------------------------


def _init_optim_state(optim) -> None:
    """Create the optimizer's state (a step with zero gradients and learning rate 0) so
    that a state dict has every entry to load into."""
    if optim.state:
        return
    for group in optim.param_groups:
        for param in group[_PARAMS]:
            if param.grad is not None:
                return
    for group in optim.param_groups:
        for param in group[_PARAMS]:
            if param.requires_grad:
                param.grad = ember.zeros_like(param)
    lrs = []
    for group in optim.param_groups:
        if "lr" in group:
            lrs.append(group["lr"])
            group["lr"] = ember.tensor(0.0) if isinstance(group["lr"], ember.Tensor) else 0.0
    optim.step(closure=None)
    for group in optim.param_groups:
        if "lr" in group:
            group["lr"] = lrs.pop(0)
    optim.zero_grad(set_to_none=True)


def _flatten_optim_state_dict(state_dict: dict) -> dict:
    def flatten_nested(nested, prefix):
        flat = {}
        for key, value in nested.items():
            full_key = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                flat.update(flatten_nested(value, full_key))
            else:
                if not isinstance(value, (ember.Tensor, int, float)):
                    raise NotImplementedError("Flattening optimizer state_dict only supports "
                                              "tensor, int, float, dict states now. "
                                              f"Type is {type(value)}.")
                flat[full_key] = value
        return flat

    flat = {}
    for fqn, state in state_dict[_STATE].items():
        flat.update(flatten_nested(state, f"{_STATE}.{fqn}"))
    for group in state_dict[_PG]:
        options = {k: v for k, v in group.items() if k != _PARAMS}
        for fqn in group[_PARAMS]:
            for k, v in options.items():
                flat[f"{_PG}.{fqn}.{k}"] = v
    return flat


def _unflatten_optim_state_dict(optim, state_dict: dict, info: _StateDictInfo) -> dict:
    def nested_under(prefix):
        nested = {}
        for key, value in state_dict.items():
            if key.startswith(prefix + "."):
                parts = key[len(prefix) + 1:].split(".")
                target = nested
                for part in parts[:-1]:
                    target = target.setdefault(part, {})
                target[parts[-1]] = value
        return nested

    state, groups = {}, []
    for group in optim.param_groups:
        groups.append({_PARAMS: []})
        for param in group[_PARAMS]:
            for fqn in info.fqn_param_mapping[param]:
                if fqn in info.shared_params_mapping and not any(
                        f"{_PG}.{fqn}.{k}" in state_dict for k in group if k != _PARAMS):
                    continue
                groups[-1][_PARAMS].append(fqn)
                if not param.requires_grad:
                    continue
                state[fqn] = {}
                for name in optim.state[param]:
                    key = f"{_STATE}.{fqn}.{name}"
                    state[fqn][name] = state_dict[key] if key in state_dict else nested_under(key)
        first = groups[-1][_PARAMS][0]
        for k in group:
            if k == _PARAMS:
                continue
            value = state_dict[f"{_PG}.{first}.{k}"]
            if k in groups[-1] and groups[-1][k] != value:
                raise RuntimeError("All the parameters in the same parameter group should have "
                                   f"the same saved param_group value. But {first}.{k} is "
                                   f"{value} while other(s) is {groups[-1][k]}.")
            groups[-1][k] = value
    return {_STATE: state, _PG: groups}


@ember.no_grad()
def _get_optim_state_dict(model, optimizers: tuple, info: _StateDictInfo) -> dict:
    if not info.handle_optim:
        return {}
    result = {_STATE: {}, _PG: []}
    for optim in optimizers:
        _init_optim_state(optim)
        osd = optim.state_dict()
        if info.fsdp_modules:
            with info.fsdp_context():
                osd = _fsdp_class().optim_state_dict(model, optim, osd)
            result[_STATE].update(osd[_STATE])
            result[_PG].extend(osd[_PG])
            continue
        params = list(chain.from_iterable(g[_PARAMS] for g in optim.param_groups))
        position = {id(p): i for i, p in enumerate(params)}
        fqn_of = {}
        for key, param in model.named_parameters():
            if id(param) in position:
                fqn_of[position[id(param)]] = next(iter(_get_fqns(model, key)))
        for key in list(osd[_STATE].keys()):
            osd[_STATE][fqn_of[key]] = osd[_STATE].pop(key)
        for group in osd[_PG]:
            group[_PARAMS] = [fqn_of[pid] for pid in group[_PARAMS]]
        result[_STATE].update(osd[_STATE])
        result[_PG].extend(osd[_PG])
    if info.flatten_optimizer_state_dict:
        result = _flatten_optim_state_dict(result)
    return _maybe_full_or_cpu_state_dict(result, info)


def _split_optim_state_dict(model, optim, optim_state_dict: dict, info: _StateDictInfo) -> dict:
    """The part of a (possibly several optimizers') FQN-keyed state dict that belongs to
    ``optim``, in its group order."""
    if all(isinstance(k, int) for k in optim_state_dict[_STATE]):
        return optim_state_dict
    state, groups, group_of = {}, [], {}
    for group in optim.param_groups:
        groups.append({_PARAMS: []})
        for param in group[_PARAMS]:
            for fqn in info.fqn_param_mapping[param]:
                if fqn in info.shared_params_mapping and not any(
                        fqn in g[_PARAMS] for g in optim_state_dict[_PG]):
                    continue
                groups[-1][_PARAMS].append(fqn)
                if param.requires_grad:
                    if fqn in optim_state_dict[_STATE]:
                        state[fqn] = optim_state_dict[_STATE][fqn]
                    elif info.strict:
                        raise RuntimeError(
                            f"Missing optimizer state for parameter '{fqn}' in checkpoint. "
                            "The parameter requires gradients but has no saved optimizer "
                            "state. To load anyway, use StateDictOptions(strict=False).")
                for loaded in optim_state_dict[_PG]:
                    if fqn in loaded[_PARAMS]:
                        group_of[id(loaded)] = len(groups) - 1
    for loaded in optim_state_dict[_PG]:
        index = group_of.get(id(loaded), -1)
        if index != -1:
            groups[index].update({k: v for k, v in loaded.items() if k != _PARAMS})
    return {_STATE: state, _PG: groups}


@ember.no_grad()
def _load_optim_state_dict(model, optimizers: tuple, state_dict: dict,
                           info: _StateDictInfo) -> None:
    if not info.handle_optim:
        return
    for optim in optimizers:
        _init_optim_state(optim)
        if not state_dict:
            osd = {}
        elif _STATE in state_dict:
            osd = _split_optim_state_dict(model, optim, state_dict, info)
        else:
            osd = _unflatten_optim_state_dict(optim, state_dict, info)
        if info.fsdp_modules:
            with info.fsdp_context():
                osd = _fsdp_class().optim_state_dict_to_load(model, optim, osd)
        elif info.full_state_dict and osd:
            for group in optim.param_groups:
                for param in group[_PARAMS]:
                    for fqn in info.fqn_param_mapping[param]:
                        if fqn in osd[_STATE]:
                            osd[_STATE][fqn] = {
                                k: _distribute_value(v, param) if getattr(v, "ndim", 0) else v
                                for k, v in osd[_STATE][fqn].items()}
        optim.load_state_dict(osd)


# -- the public functions -----------------------------------------------------------------


def _as_tuple(optimizers) -> tuple:
    return (optimizers,) if isinstance(optimizers, ember.optim.Optimizer) else tuple(optimizers)


def get_model_state_dict(model, *, submodules=None,
                         options: StateDictOptions | None = None) -> dict:
    """``model``'s state dict under canonical names (see the module docstring)."""
    with _gc_context():
        info = _verify_options(model, (), optim_only=False, submodules=submodules,
                               options=options)
        state_dict = _get_model_state_dict(model, info)
        _verify_state_dict(state_dict, {}, info)
        return state_dict


def get_optimizer_state_dict(model, optimizers, *, submodules=None,
                             options: StateDictOptions | None = None) -> dict:
    """The optimizers' combined state dict, keyed by parameter names."""
    with _gc_context():
        optimizers = _as_tuple(optimizers)
        info = _verify_options(model, optimizers, optim_only=True, submodules=submodules,
                               options=options)
        state_dict = _get_optim_state_dict(model, optimizers, info)
        _verify_state_dict({}, state_dict, info)
        return state_dict


def get_state_dict(model, optimizers, *, submodules=None,
                   options: StateDictOptions | None = None) -> tuple:
    """(model state dict, optimizer state dict), both under canonical names.

    Example::

        >>> model_sd, optim_sd = get_state_dict(ddp_model, optimizer)
        >>> dcp.save({"model": model_sd, "optim": optim_sd}, checkpoint_id="ckpt")
    """
    with _gc_context():
        optimizers = _as_tuple(optimizers)
        info = _verify_options(model, optimizers, optim_only=False, submodules=submodules,
                               options=options)
        model_state_dict = _get_model_state_dict(model, info)
        optim_state_dict = _get_optim_state_dict(model, optimizers, info)
        _verify_state_dict(model_state_dict, optim_state_dict, info)
        return model_state_dict, optim_state_dict


def set_model_state_dict(model, model_state_dict: dict, *,
                         options: StateDictOptions | None = None):
    """Load a state dict from ``get_model_state_dict`` (returns missing/unexpected keys)."""
    with _gc_context():
        info = _verify_options(model, (), optim_only=False, options=options)
        _verify_state_dict(model_state_dict, {}, info)
        return _load_model_state_dict(model, model_state_dict, info)


def set_optimizer_state_dict(model, optimizers, optim_state_dict: dict, *,
                             options: StateDictOptions | None = None) -> None:
    """Load a state dict from ``get_optimizer_state_dict`` into the optimizers."""
    with _gc_context():
        optimizers = _as_tuple(optimizers)
        info = _verify_options(model, optimizers, optim_only=True, options=options)
        _verify_state_dict({}, optim_state_dict, info)
        _load_optim_state_dict(model, optimizers, optim_state_dict, info)


def set_state_dict(model, optimizers, *, model_state_dict: dict, optim_state_dict: dict,
                   options: StateDictOptions | None = None):
    """Load both state dicts (the counterpart of ``get_state_dict``)."""
    with _gc_context():
        optimizers = _as_tuple(optimizers)
        info = _verify_options(model, optimizers, optim_only=not model_state_dict,
                               options=options)
        _verify_state_dict(model_state_dict, optim_state_dict, info)
        _load_optim_state_dict(model, optimizers, optim_state_dict, info)
        return _load_model_state_dict(model, model_state_dict, info)


FQNS_T = set
PrimitiveType = Any
ValueType = Any
DictValueType = dict
ListDictValueType = list
OptimizerStateType = dict
