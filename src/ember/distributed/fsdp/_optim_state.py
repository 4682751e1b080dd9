"""FSDP optimizer state dicts: between the optimizer's per-shard state and PyTorch's
checkpoint layout, keyed by original parameter name with every tensor whole.

Each FSDP unit's state tensors are assembled as flat shards (without use_orig_params they
are the flat parameter's own; with it each original parameter's 1-D piece is placed at its
offset), gathered across the ranks and cut at the original parameters' boundaries. Loading
goes back the same way: concatenate, take this rank's chunk (or piece). Scalars ("step")
are copied per parameter. SHARDED_STATE_DICT cuts the whole tensors into dim-0 chunks.
"""

from __future__ import annotations

import copy

import ember

from .._shard.sharded_tensor import ShardedTensor
from ._state_dict import FSDP_WRAPPED_MODULE as _PREFIX
from ._state_dict import _chunk_sharded
from .api import (FullOptimStateDictConfig, LocalOptimStateDictConfig,
                  ShardedOptimStateDictConfig)


def _clean(name: str) -> str:
    return name.replace(_PREFIX + ".", "").replace("." + _PREFIX, "").replace(_PREFIX, "")


def _param_map(model) -> dict:
    """id(optimizer parameter) -> (handle or None, [(fqn, info or None)])."""
    from .fully_sharded_data_parallel import FullyShardedDataParallel
    found = {}
    for name, unit in model.named_modules():
        if not isinstance(unit, FullyShardedDataParallel) or unit._handle is None:
            continue
        handle, prefix = unit._handle, _clean(name)
        entries = [((f"{prefix}.{info.fqn}" if prefix else info.fqn), info)
                   for info in handle.infos]
        if handle.use_orig_params:
            for fqn, info in entries:
                found[id(info.param)] = (handle, [(fqn, info)])
        else:
            found[id(handle.flat_param)] = (handle, entries)
    for name, param in model.named_parameters():
        found.setdefault(id(param), (None, [(_clean(name), None)]))
    return found


def _units(model) -> list:
    from .fully_sharded_data_parallel import FullyShardedDataParallel
    return FullyShardedDataParallel.fsdp_modules(model)


def _gather_flat(handle, local_flat):
    """The whole (unpadded) flat buffer from every rank's flat shard."""
    if not handle.sharded:
        return local_flat
    out = local_flat.new_empty(handle.chunk_numel * handle.world_size)
    handle.state._dist.all_gather_into_tensor(out, local_flat.contiguous(),
                                              group=handle.state.process_group)
    return out[:handle.numel]


def _whole_states(handle, params_state, entries) -> dict:
    """fqn -> {key: value} with whole tensors, from one handle's optimizer states."""
    states = [s for s in params_state if s]
    if handle.use_orig_params and handle.sharded:
        # a rank whose pieces of this unit are all empty holds no state for it: agree on
        # the keys (and an example of each) so every rank runs the same gathers
        everyone = [None] * handle.world_size
        mine = {k: (v.dtype, v.dim(), v.item() if v.dim() == 0 else None)
                if isinstance(v, ember.Tensor) else v
                for k, v in (states[0].items() if states else ())}
        handle.state._dist.all_gather_object(everyone, mine, group=handle.state.process_group)
        example = next((found for found in everyone if found), None)
        if example is None:
            return {}
        if not states:
            states = [{k: (ember.zeros(0, dtype=v[0]) if v[1] > 0
                           else ember.tensor(v[2], dtype=v[0])) if isinstance(v, tuple) else v
                       for k, v in example.items()}]
    if not states:
        return {}
    keys = list(states[0])
    if not handle.use_orig_params:
        # PyTorch's order when unflattening: the tensors first, then the scalars ("step")
        keys.sort(key=lambda k: not (isinstance(states[0][k], ember.Tensor)
                                     and states[0][k].dim() > 0))
    return _assemble(handle, params_state, entries, states, keys)


def _assemble(handle, params_state, entries, states, keys) -> dict:
    result = {fqn: {} for fqn, _ in entries}
    for key in keys:
        sample = states[0][key]
        if not isinstance(sample, ember.Tensor) or sample.dim() == 0:
            for fqn, _ in entries:
                value = sample
                result[fqn][key] = value.detach().clone() if isinstance(value, ember.Tensor) \
                    else copy.deepcopy(value)
            continue
        if handle.use_orig_params:
            flat = ember.zeros(handle.chunk_numel, dtype=sample.dtype, device=sample.device)
            for state, (_, info) in zip(params_state, entries):
                start, end = handle._local_range(info)
                if state and end > start:
                    flat[start:end] = state[key].reshape(-1)
        else:
            flat = sample.detach().reshape(-1)
        whole = _gather_flat(handle, flat)
        for fqn, info in entries:
            result[fqn][key] = whole[info.start:info.end].reshape(info.shape).clone()
    return result


def optim_state_dict(model, optim, optim_state_dict=None) -> dict:
    units = _units(model)
    config = units[0]._optim_state_dict_config if units else FullOptimStateDictConfig()
    if isinstance(config, LocalOptimStateDictConfig):
        raise NotImplementedError("ember's FSDP.optim_state_dict supports FULL_STATE_DICT "
                                  "and SHARDED_STATE_DICT; LOCAL_STATE_DICT is not built")
    mapping = _param_map(model)
    state_out, groups_out = {}, []
    for group in optim.param_groups:
        names = []
        # units with use_orig_params are gathered handle by handle, so the collectives
        # match on every rank whatever state each piece holds
        by_handle = {}
        for param in group["params"]:
            handle, entries = mapping[id(param)]
            names += [fqn for fqn, _ in entries]
            by_handle.setdefault(id(handle) if handle else id(param), []).append(
                (handle, entries, optim.state.get(param, {})))
        for members in by_handle.values():
            handle = members[0][0]
            if handle is None:
                for _, entries, state in members:
                    if state:
                        state_out[entries[0][0]] = {
                            k: v.detach().clone() if isinstance(v, ember.Tensor)
                            else copy.deepcopy(v) for k, v in state.items()}
                continue
            # one flat parameter, or the handle's original parameters in this group
            entries = [e for _, group_entries, _ in members for e in group_entries]
            params_state = [state for _, _, state in members]
            state_out.update(_whole_states(handle, params_state, entries))
        groups_out.append({**{k: copy.deepcopy(v) for k, v in group.items() if k != "params"},
                           "params": names})
    ordered = {}
    for group in groups_out:
        for name in group["params"]:
            if name in state_out:
                ordered[name] = state_out[name]
    if any(unit._use_orig_params for unit in units):  # PyTorch's order then: by name
        ordered = dict(sorted(ordered.items()))
    if isinstance(config, ShardedOptimStateDictConfig) and units:
        unit = units[0]
        for per_param in ordered.values():
            for key, value in per_param.items():
                if isinstance(value, ember.Tensor) and value.dim() > 0:
                    per_param[key] = _chunk_sharded(value, unit)
    elif getattr(config, "rank0_only", False) and units and units[0].rank != 0:
        return {}
    return {"state": ordered, "param_groups": groups_out}


def optim_state_dict_to_load(model, optim, optim_state_dict) -> dict:
    mapping = _param_map(model)
    saved = optim_state_dict["state"]
    state, groups, index = {}, [], 0
    for group, saved_group in zip(optim.param_groups, optim_state_dict["param_groups"]):
        ids = []
        for param in group["params"]:
            handle, entries = mapping[id(param)]
            per_fqn = [{k: (v.full_tensor() if isinstance(v, ShardedTensor) else v)
                        for k, v in saved.get(fqn, {}).items()} for fqn, _ in entries]
            if any(per_fqn):
                state[index] = _local_state(handle, entries, per_fqn)
            ids.append(index)
            index += 1
        groups.append({**{k: v for k, v in saved_group.items() if k != "params"},
                       "params": ids})
    return {"state": state, "param_groups": groups}


def _local_state(handle, entries, per_fqn) -> dict:
    """One optimizer parameter's state from the whole per-name states."""
    sample = next(s for s in per_fqn if s)
    result = {}
    for key, value in sample.items():
        if not isinstance(value, ember.Tensor) or value.dim() == 0:
            result[key] = value.clone() if isinstance(value, ember.Tensor) else value
            continue
        if handle is None:
            result[key] = value.clone()
            continue
        if handle.use_orig_params:
            info = entries[0][1]
            start, end = handle._local_range(info)
            lo = handle.rank * handle.chunk_numel if handle.sharded else 0
            flat = value.reshape(-1)[start + lo - info.start:end + lo - info.start]
            result[key] = flat.clone() if handle.sharded else value.clone()
            continue
        pieces, offset = [], 0
        for (fqn, info), state in zip(entries, per_fqn):
            if info.start > offset:
                pieces.append(ember.zeros(info.start - offset, dtype=value.dtype))
            pieces.append(state[key].reshape(-1).to(value.dtype))
            offset = info.end
        whole = ember.cat(pieces)
        if handle.sharded:
            padded = handle.chunk_numel * handle.world_size
            whole = ember.cat([whole, whole.new_zeros(padded - whole.numel())])
            lo = handle.rank * handle.chunk_numel
            whole = whole[lo:lo + handle.chunk_numel]
        result[key] = whole.clone()
    return result
