"""Module's state_dict / load_state_dict machinery. The override points are PyTorch's
(``_save_to_state_dict``, ``_load_from_state_dict`` with their signatures, the four kinds
of state-dict hooks, ``get_extra_state``/``set_extra_state``), so subclasses written for
PyTorch (BatchNorm's version upgrade, quantized modules) plug in unchanged; so are the
``_metadata`` layout and the error texts."""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Mapping

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ..parameter import Parameter, is_lazy
from ._hooks import _IncompatibleKeys

# Key (after the module's prefix) under which get_extra_state()'s value is saved;
# PyTorch's name, also re-exported from module.py as PyTorch does.
_EXTRA_STATE_KEY_SUFFIX = "_extra_state"


def _copy_into(dst, src):
    """``dst.copy_(src)`` without recording: cast and move src, write in place, bump the
    version (load_state_dict must keep the Parameter objects optimizers hold)."""
    data = src.to(device=dst.device, dtype=dst.dtype)._data
    dst._data[...] = data
    dst._vc[0] += 1


def _saved_tensors(module):
    """``(name, tensor)`` of what a module saves itself: its parameters, then its
    persistent buffers, leaving out the ones set to None."""
    skip = module._non_persistent_buffers_set
    for name, value in module._parameters.items():
        if value is not None:
            yield name, value
    for name, value in module._buffers.items():
        if value is not None and name not in skip:
            yield name, value


def _overrides(module, method_name):
    """Whether the module's class supplies its own extra-state method."""
    return getattr(type(module), method_name) is not getattr(_StateDict, method_name)


def _quoted(keys):
    return ", ".join(f'"{k}"' for k in keys)


class _StateDict:
    """Mixed into Module: saving and loading parameters and persistent buffers."""

    def get_extra_state(self):
        raise RuntimeError(
            "Reached a code path in Module.get_extra_state() that should never be called.")

    def set_extra_state(self, state) -> None:
        raise RuntimeError(
            "Reached a code path in Module.set_extra_state() that should never be called.")

    def _save_to_state_dict(self, destination, prefix, keep_vars) -> None:
        for name, value in _saved_tensors(self):
            destination[prefix + name] = value if keep_vars else value.detach()
        if _overrides(self, "get_extra_state"):
            destination[prefix + _EXTRA_STATE_KEY_SUFFIX] = self.get_extra_state()

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers by dotted name (detached unless
        ``keep_vars``), with PyTorch's keys and ``_metadata``. The old positional form
        ``state_dict(destination, prefix, keep_vars)`` is still read."""
        legacy = dict(zip(("destination", "prefix", "keep_vars"), args))
        if destination is None:
            destination = legacy.get("destination")
        if prefix == "":
            prefix = legacy.get("prefix", prefix)
        if keep_vars is False:
            keep_vars = legacy.get("keep_vars", keep_vars)
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        own_metadata = {"version": self._version}
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = own_metadata
        for pre_hook in self._state_dict_pre_hooks.values():
            pre_hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for child_name, child in self._modules.items():
            if child is not None:
                child.state_dict(destination=destination, prefix=f"{prefix}{child_name}.",
                                 keep_vars=keep_vars)
        for post_hook in self._state_dict_hooks.values():
            returned = post_hook(self, destination, prefix, own_metadata)
            if returned is None:
                continue
            # Hooks registered through the public API edit in place; the private
            # (_register_state_dict_hook) kind may hand back a replacement.
            if getattr(post_hook, "_from_public_api", False):
                raise RuntimeError("state_dict post-hook must return None")
            destination = returned
        return destination

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        for pre_hook in self._load_state_dict_pre_hooks.values():
            pre_hook(state_dict, prefix, local_metadata, strict, missing_keys,
                     unexpected_keys, error_msgs)
        own = dict(_saved_tensors(self))
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, current in own.items():
            key = prefix + name
            if key in state_dict:
                self._load_one(name, current, key, state_dict[key], assign, error_msgs)
            elif strict:
                missing_keys.append(key)
        extra_key = prefix + _EXTRA_STATE_KEY_SUFFIX
        if _overrides(self, "set_extra_state"):
            if extra_key in state_dict:
                self.set_extra_state(state_dict[extra_key])
            elif strict:
                missing_keys.append(extra_key)
        elif strict and extra_key in state_dict:
            unexpected_keys.append(extra_key)
        if not strict:
            return
        for key in state_dict:
            if not key.startswith(prefix) or key == extra_key:
                continue
            head, dot, _ = key[len(prefix):].partition(".")
            known = self._modules if dot else own
            if head not in known:
                unexpected_keys.append(key)

    def _load_one(self, name, current, key, incoming, assign, error_msgs):
        """Load ``incoming`` into the parameter or buffer ``name``: a shape or type
        problem is reported into ``error_msgs`` (raised together at the end), not
        raised here."""
        if not isinstance(incoming, Tensor):
            error_msgs.append(
                f'While copying the parameter named "{key}", expected torch.Tensor or '
                f"Tensor-like object from checkpoint but received {type(incoming)}")
            return
        lazy = is_lazy(current)
        if not lazy:
            # a 0-d tensor accepts a one-element 1-d one (checkpoints of older versions)
            if current.dim() == 0 and tuple(incoming.shape) == (1,):
                incoming = incoming[0]
            if incoming.shape != current.shape:
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape {incoming.shape} "
                    f"from checkpoint, the shape in current model is {current.shape}.")
                return
        if not (assign or lazy) and current.is_meta and not incoming.is_meta:
            warnings.warn(
                f"for {key}: copying from a non-meta parameter in the checkpoint to a meta "
                "parameter in the current model, which is a no-op. (Did you mean to pass "
                "`assign=True` to assign items in the state dictionary to their "
                "corresponding key in the module instead of copying them in place?)",
                stacklevel=3)
        try:
            with no_grad():
                if assign:
                    setattr(self, name, _as_kind_of(current, incoming))
                    return
                if lazy:
                    current.materialize(incoming.shape)
                _copy_into(current, incoming)
        except Exception as ex:  # noqa: BLE001 - PyTorch reports any copy failure
            error_msgs.append(
                f'While copying the parameter named "{key}", whose dimensions in the model '
                f"are {current.size()} and whose dimensions in the checkpoint are "
                f"{incoming.size()}, an exception occurred : {ex.args}.")

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy parameters and buffers from ``state_dict``; returns the named tuple
        ``(missing_keys, unexpected_keys)``; with ``strict`` a mismatch raises PyTorch's
        RuntimeError text."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        metadata = getattr(state_dict, "_metadata", None)
        state = OrderedDict(state_dict)
        if metadata is not None:
            state._metadata = metadata
        report = _IncompatibleKeys([], [])
        errors: list[str] = []
        _load_subtree(self, state, "", metadata, assign, report, errors)
        if strict:
            for label, keys in (("Unexpected", report.unexpected_keys),
                                ("Missing", report.missing_keys)):
                if keys:
                    errors.insert(0, f"{label} key(s) in state_dict: {_quoted(keys)}. ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:"
                               "\n\t" + "\n\t".join(errors))
        return report


def _as_kind_of(current, incoming):
    """With ``assign=True`` the loaded tensor replaces the module's; it stays a Parameter
    (with the old one's requires_grad) where the old one was."""
    if not isinstance(current, Parameter):
        return incoming
    if not isinstance(incoming, Parameter):
        return Parameter(incoming, current.requires_grad)
    incoming.requires_grad_(current.requires_grad)
    return incoming


def _load_subtree(module, state, prefix, metadata, assign, report, errors):
    """Load ``module`` and then its children (each seeing only the keys under its
    prefix); a module's load-state-dict post-hooks run after its whole subtree."""
    own_metadata = {} if metadata is None else metadata.get(prefix[:-1], {})
    if assign:
        own_metadata["assign_to_params_buffers"] = assign
    module._load_from_state_dict(state, prefix, own_metadata, True, report.missing_keys,
                                 report.unexpected_keys, errors)
    for child_name, child in module._modules.items():
        if child is None:
            continue
        child_prefix = f"{prefix}{child_name}."
        below = {k: v for k, v in state.items() if k.startswith(child_prefix)}
        _load_subtree(child, below, child_prefix, metadata, assign, report, errors)
    for post_hook in module._load_state_dict_post_hooks.values():
        if post_hook(module, report) is not None:
            raise AssertionError(
                "Hooks registered with ``register_load_state_dict_post_hook`` are not "
                "expected to return new values, if incompatible_keys need to be "
                "modified, it should be done inplace.")
