"""FSDP's state-dict hooks: what ``state_dict()`` / ``load_state_dict()`` of a wrapped
model hold under each ``StateDictType``, with PyTorch's keys.

FULL and SHARDED: before the traversal the unit gathers its flat parameter and registers
the original parameters again (as views of the gathered buffer), so the ordinary traversal
emits the original keys in the original order; afterwards the ``_fsdp_wrapped_module.``
prefix is dropped, and the values are cloned (FULL) or cut into this rank's dim-0 chunk
(SHARDED, a ShardedTensor). Loading runs the same registration, lets the ordinary copy
write into the gathered buffer, and writes this rank's chunk back. LOCAL saves and loads
the flat shard itself under ``<prefix>_flat_param``.
"""

from __future__ import annotations

import ember

from ..._tensor import _make
from .._shard.sharded_tensor import Shard, ShardedTensor, ShardMetadata, init_from_local_shards
from .api import FullStateDictConfig, StateDictType

FSDP_WRAPPED_MODULE = "_fsdp_wrapped_module"
FSDP_PREFIX = FSDP_WRAPPED_MODULE + "."
FLAT_PARAM = "_flat_param"


def register_hooks(fsdp) -> None:
    fsdp.register_state_dict_pre_hook(_pre_state_dict)
    fsdp._register_state_dict_hook(_post_state_dict)
    fsdp._register_load_state_dict_pre_hook(_pre_load_state_dict, with_module=True)
    fsdp.register_load_state_dict_post_hook(_post_load_state_dict)


def _needs_sharding(fsdp, what: str) -> None:
    if fsdp._handle is not None and not fsdp._handle.sharded:
        raise RuntimeError(f"``{what}`` can only be used when parameters are flatten and "
                           "sharded.")


def _unshard_as_params(fsdp) -> None:
    handle = fsdp._handle
    full = handle.gather()
    fsdp._state_dict_full = _make(full._data[:handle.numel])
    handle.register_as_params(fsdp._state_dict_full)


def _replace_prefix(state_dict, old: str, new: str) -> None:
    """Rename ``old...`` keys to ``new...`` keeping the dict's order."""
    if not any(key.startswith(old) for key in state_dict):
        return
    items = list(state_dict.items())
    state_dict.clear()
    for key, value in items:
        state_dict[new + key[len(old):] if key.startswith(old) else key] = value


def _param_keys(fsdp, prefix) -> list:
    handle = fsdp._handle
    names = [info.fqn for info in handle.infos] + [fqn for _, _, fqn, _ in handle.shared]
    return [prefix + name for name in names]


# -- saving -----------------------------------------------------------------------------

def _kind(fsdp):
    """The unit's state-dict type; PyTorch saves a NO_SHARD unit's LOCAL state dict with
    the original keys and whole values, as FULL does."""
    kind = fsdp._state_dict_type
    if (kind == StateDictType.LOCAL_STATE_DICT and fsdp._handle is not None
            and not fsdp._handle.sharded):
        return StateDictType.FULL_STATE_DICT
    return kind


def _pre_state_dict(fsdp, prefix, keep_vars) -> None:
    fsdp._lazy_init()
    kind = _kind(fsdp)
    if kind == StateDictType.LOCAL_STATE_DICT:
        return  # PyTorch's check for a sharded strategy is in a hook it never calls
    if kind == StateDictType.SHARDED_STATE_DICT:
        _needs_sharding(fsdp, "sharded_state_dict")
    if fsdp._handle is not None:
        _unshard_as_params(fsdp)


def _post_state_dict(fsdp, state_dict, prefix, local_metadata):
    kind = _kind(fsdp)
    handle = fsdp._handle
    if kind == StateDictType.LOCAL_STATE_DICT:
        _local_post(fsdp, state_dict, prefix)
        return None
    if handle is not None:
        handle.restore_registration()
        fsdp._state_dict_full = None
    _replace_prefix(state_dict, prefix + FSDP_PREFIX, prefix)
    config = fsdp._state_dict_config
    if (kind == StateDictType.FULL_STATE_DICT and isinstance(config, FullStateDictConfig)
            and config.rank0_only and fsdp.rank != 0):
        for key in [k for k in state_dict if k.startswith(prefix)]:
            del state_dict[key]
        return None
    if handle is not None:
        for key in _param_keys(fsdp, prefix):
            value = state_dict[key]
            if kind == StateDictType.SHARDED_STATE_DICT:
                state_dict[key] = _chunk_sharded(value.detach(), fsdp)
            elif not getattr(value, "_has_been_cloned", False):
                state_dict[key] = value.detach().clone()
                state_dict[key]._has_been_cloned = True
    _restore_buffer_dtypes(fsdp, state_dict, prefix)
    return None


def _restore_buffer_dtypes(fsdp, state_dict, prefix) -> None:
    """Buffers held in MixedPrecision's buffer_dtype are saved in their own dtype."""
    root = fsdp
    if not root._buffer_dtypes:
        return
    for name, owner in fsdp.named_modules():
        for buffer_name in owner._buffers:
            dtype = root._buffer_dtypes.get((id(owner), buffer_name))
            key = prefix + (f"{name}.{buffer_name}" if name else buffer_name)
            key = key.replace(FSDP_PREFIX, "")
            if dtype is not None and key in state_dict:
                state_dict[key] = state_dict[key].to(dtype)


def _chunk_sharded(tensor, fsdp) -> ShardedTensor:
    """This rank's ``tensor.chunk(world_size)`` piece along dim 0 as a ShardedTensor."""
    world, rank = fsdp.world_size, fsdp.rank
    chunks = tensor.chunk(world, dim=0)
    width = -(-tensor.shape[0] // world) if tensor.dim() else 0
    rest = [0] * max(tensor.dim() - 1, 0)
    local = []
    if len(chunks) > rank:
        local.append(Shard.from_tensor_and_offsets(chunks[rank].clone(), [width * rank, *rest],
                                                   rank))
    offsets, metadata = 0, []
    for r, chunk in enumerate(chunks):
        metadata.append(ShardMetadata([offsets, *rest], list(chunk.shape),
                                      f"rank:{r}/{tensor.device}"))
        offsets += chunk.shape[0]
    return init_from_local_shards(local, tuple(tensor.shape), process_group=fsdp.process_group,
                                  shards_metadata=metadata, dtype=tensor.dtype)


def _local_post(fsdp, state_dict, prefix) -> None:
    """LOCAL_STATE_DICT: the flat shard without its padding, as a 1-D ShardedTensor of
    the unpadded flat size."""
    _replace_prefix(state_dict, prefix + FSDP_PREFIX, prefix)
    handle = fsdp._handle
    if handle is None:
        return
    for key in _param_keys(fsdp, prefix):  # use_orig_params: the views are not saved
        state_dict.pop(key, None)
    flat = handle.flat_param.detach()
    valid = flat.numel() - handle.flat_param._shard_numel_padded
    local = []
    if valid > 0:
        local.append(Shard.from_tensor_and_offsets(flat[:valid].view(valid),
                                                   [flat.numel() * fsdp.rank], fsdp.rank))
    state_dict[prefix + FLAT_PARAM] = init_from_local_shards(
        local, handle.numel,
        process_group=fsdp.process_group, dtype=flat.dtype)


# -- loading ----------------------------------------------------------------------------

def _pre_load_state_dict(fsdp, state_dict, prefix, *args) -> None:
    fsdp._lazy_init()
    kind = fsdp._state_dict_type
    handle = fsdp._handle
    if kind == StateDictType.LOCAL_STATE_DICT:
        _needs_sharding(fsdp, "local_state_dict")
        if handle is not None:
            _local_pre_load(fsdp, state_dict, prefix)
        _replace_prefix(state_dict, prefix, prefix + FSDP_PREFIX)
        return
    if kind == StateDictType.SHARDED_STATE_DICT:
        if handle is not None and not handle.sharded:
            raise RuntimeError("load_sharded_state_dict can only be called when parameters "
                               "are flattened and sharded.")
        if handle is not None:
            for key in _param_keys(fsdp, prefix):
                if isinstance(state_dict.get(key), ShardedTensor):
                    state_dict[key] = state_dict[key].full_tensor()
    if handle is not None:
        _unshard_as_params(fsdp)
    _replace_prefix(state_dict, prefix, prefix + FSDP_PREFIX)


def _local_pre_load(fsdp, state_dict, prefix) -> None:
    handle = fsdp._handle
    key = prefix + FLAT_PARAM
    value = state_dict.pop(key, None)
    if value is None:
        raise RuntimeError("No `FlatParameter` in `state_dict` for this FSDP instance but "
                           "it has parameters")
    shards = value.local_shards() if isinstance(value, ShardedTensor) else None
    if shards is not None:
        if len(shards) > 1:
            raise RuntimeError("load_local_state_dict assume one shard per ShardedTensor.")
        tensor = shards[0].tensor if shards else handle.flat_param.new_zeros(0)
    else:
        tensor = value
    flat = handle.flat_param
    if tensor.numel() < flat.numel():
        tensor = ember.cat([tensor.reshape(-1).to(flat.dtype),
                            flat.new_zeros(flat.numel() - tensor.numel())])
    elif tensor.numel() > flat.numel():
        raise AssertionError(f"Local shard size = {flat.numel()} and the tensor in the "
                             f"state_dict is {tensor.numel()}.")
    for param_key in _param_keys(fsdp, prefix):
        state_dict.pop(param_key, None)
    if handle.use_orig_params:
        handle.write_back_local(tensor)
    else:
        state_dict[key] = tensor


def _post_load_state_dict(fsdp, incompatible_keys) -> None:
    for keys in (incompatible_keys.missing_keys, incompatible_keys.unexpected_keys):
        keys[:] = [key.replace(FSDP_PREFIX, "") for key in keys]
    handle = fsdp._handle
    if handle is None or fsdp._state_dict_type == StateDictType.LOCAL_STATE_DICT:
        return
    full = getattr(fsdp, "_state_dict_full", None)
    if full is None:
        return
    handle.write_back(full)
    handle.restore_registration()
    fsdp._state_dict_full = None
