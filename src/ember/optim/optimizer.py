"""Optimizer base: parameter groups, per-parameter state, state_dict, hooks.

The layout of ``state_dict()`` is PyTorch's exactly (state keyed by the parameter's
integer index across groups, groups carrying every hyper-parameter and a ``params`` index
list), so a PyTorch optimizer's state_dict loads here and the reverse.
"""

from __future__ import annotations

import functools
import itertools
from collections import OrderedDict, defaultdict
from copy import deepcopy
from typing import Any, Callable

import ember
from ember import Tensor
from ember._backend.graph_capture import ACTIVE as _CAPTURING
from ember.utils.hooks import RemovableHandle as _RemovableHandle

__all__ = [
    "Optimizer", "register_optimizer_step_post_hook", "register_optimizer_step_pre_hook",
    "required",
]


class _RequiredParameter:
    """Marks a hyper-parameter every group must give (PyTorch's ``required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _add_hook(hooks: OrderedDict, hook: Callable, prepend: bool = False) -> _RemovableHandle:
    handle = _RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


_global_optimizer_pre_hooks: OrderedDict = OrderedDict()
_global_optimizer_post_hooks: OrderedDict = OrderedDict()


def register_optimizer_step_pre_hook(hook: Callable) -> _RemovableHandle:
    """A pre hook run before every optimizer's step (before the instance's own)."""
    return _add_hook(_global_optimizer_pre_hooks, hook)


def register_optimizer_step_post_hook(hook: Callable) -> _RemovableHandle:
    """A post hook run after every optimizer's step (after the instance's own)."""
    return _add_hook(_global_optimizer_post_hooks, hook)


def _hooked_step(step):
    """Wrap a subclass's ``step`` so step pre/post hooks run around it.

    As in PyTorch, hooks get ``(optimizer, args, kwargs)`` with ``args`` including the
    optimizer itself, and a pre hook may return replacement ``(args, kwargs)``.
    """

    @functools.wraps(step)
    def wrapper(*args, **kwargs):
        self = args[0]
        if _CAPTURING[0] and "capturable" in self.defaults:
            _refuse_capture(self)
        # Global pre hooks run before the instance's; post hooks in the mirror order.
        for hook in itertools.chain(_global_optimizer_pre_hooks.values(),
                                    self._optimizer_step_pre_hooks.values()):
            replaced = hook(self, args, kwargs)
            if replaced is None:
                continue
            if not (isinstance(replaced, tuple) and len(replaced) == 2):
                raise RuntimeError(
                    f"{step} must return None or a tuple of (new_args, new_kwargs), "
                    f"but got {replaced}."
                )
            args, kwargs = replaced
        out = step(*args, **kwargs)
        if self.__dict__.get("_step_tracked_by_lr_scheduler", False):
            self._opt_called = True  # lets the scheduler warn about a step() order mistake
        for hook in itertools.chain(self._optimizer_step_post_hooks.values(),
                                    _global_optimizer_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    wrapper.hooked = True
    return wrapper


def _refuse_capture(optimizer):
    """PyTorch's optimizers with a ``capturable`` flag keep their step count on the device
    when it is set and refuse capture otherwise; ember's keep it on the host, so a captured
    step would replay one step's bias correction forever: refused either way."""
    name = type(optimizer).__name__
    if not all(group.get("capturable") for group in optimizer.param_groups):
        raise RuntimeError(f"Attempting CUDA graph capture of step() for an instance of {name} "
                           "but param_groups' capturable is False.")
    raise RuntimeError(f"Attempting CUDA graph capture of step() for an instance of {name}: "
                       "ember keeps its step count on the host, so it cannot be captured "
                       "(SGD can)")


def _typename(obj) -> str:
    # Lazy: ember.nn imports optimizers' users; the one typename helper lives with Module.
    from ember.nn.modules.module import _typename as typename

    return typename(obj)


def _to_ember(value):
    """A tensor from another library (a PyTorch state_dict) as an ember Tensor."""
    if isinstance(value, Tensor) or not hasattr(value, "numpy") or not hasattr(value, "dtype"):
        return value
    if hasattr(value, "detach"):
        value = value.detach().cpu()
    return ember.tensor(value.numpy())


# Every per-instance hook table, by PyTorch's attribute names (user code inspects them).
_HOOK_TABLES = tuple(f"_optimizer_{kind}_hooks" for kind in (
    "step_pre", "step_post", "state_dict_pre", "state_dict_post",
    "load_state_dict_pre", "load_state_dict_post"))


def _fold_hooks(hooks: OrderedDict, value, *lead):
    """Call each hook with ``(*lead, value)``; a hook returning something replaces value."""
    for hook in hooks.values():
        replaced = hook(*lead, value)
        if replaced is not None:
            value = replaced
    return value


def _split_names(entries: list) -> tuple[list, list]:
    """``[(name, tensor) | tensor, ...]`` -> (tensors, names of those that had one)."""
    tensors = [e[1] if isinstance(e, tuple) else e for e in entries]
    names = [e[0] for e in entries if isinstance(e, tuple)]
    return tensors, names


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of Tensors, or of dicts defining parameter groups (each with a
            ``params`` entry and any hyper-parameter overriding ``defaults``).
        defaults: the default hyper-parameters of every group.
    """

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._ensure_hook_tables()
        if not getattr(type(self).step, "hooked", False):
            type(self).step = _hooked_step(type(self).step)
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                "dicts, but got " + _typename(params)
            )
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        given = list(params)
        if not given:
            raise ValueError("optimizer got an empty parameter list")
        # A flat list of tensors is one group; otherwise every entry is a group dict.
        for group in given if isinstance(given[0], dict) else [{"params": given}]:
            self.add_param_group(group)

    def _ensure_hook_tables(self) -> None:
        for attr in _HOOK_TABLES:
            if attr not in self.__dict__:
                setattr(self, attr, OrderedDict())

    # -- pickling and printing -------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._ensure_hook_tables()  # hooks are not pickled
        # Groups saved by an older version may lack newer hyper-parameters.
        optional = {k: v for k, v in self.defaults.items() if v is not required}
        for group in self.param_groups:
            for name, value in optional.items():
                group.setdefault(name, value)

    def __repr__(self) -> str:
        def block(index, group):
            settings = "".join(f"    {k}: {group[k]}\n" for k in sorted(group) if k != "params")
            return f"\nParameter Group {index}\n{settings}"

        groups = "".join(block(i, g) for i, g in enumerate(self.param_groups))
        return f"{type(self).__name__} ({groups})"

    # -- groups ------------------------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (e.g. when unfreezing).

        Checks run in PyTorch's order, so the same bad input raises the same error.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        given = param_group["params"]
        if isinstance(given, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        tensors, names = _split_names([given] if isinstance(given, Tensor) else list(given))
        param_group["params"] = tensors
        if names:
            if len(names) < len(tensors):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing"
                )
            param_group["param_names"] = names
        self._check_optimizable(tensors)
        for key, value in self.defaults.items():
            if value is required and key not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization "
                    f"parameter {key}"
                )
            param_group.setdefault(key, value)
        if len(set(tensors)) < len(tensors):
            import warnings

            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, "
                "this will cause an error; see github.com/pytorch/pytorch/issues/40967 for more "
                "information",
                stacklevel=3,
            )
        named = "param_names" in param_group
        if any(("param_names" in other) != named for other in self.param_groups):
            raise ValueError(
                "all optimizer param groups should be with/without names. "
                f"cannot add param group {'with' if named else 'without'} names to the optimizer"
            )
        taken = {id(p) for other in self.param_groups for p in other["params"]}
        if any(id(p) in taken for p in tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def _check_optimizable(self, tensors: list) -> None:
        """Only tensors, and (unless the optimizer is differentiable) only graph leaves."""
        leaves_only = not self.defaults.get("differentiable", None)
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    + _typename(t)
                )
            if leaves_only and not (t.is_leaf or t.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

    # -- gradients and stepping --------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every optimized parameter (to None by default)."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                # Zero in place, cut from any graph the gradient was built in.
                if grad.grad_fn is None:
                    grad.requires_grad_(False)
                else:
                    grad.detach_()
                grad[...] = 0

    def step(self, closure: Callable | None = None):
        raise NotImplementedError

    # -- hooks -------------------------------------------------------------------------

    def register_step_pre_hook(self, hook: Callable) -> _RemovableHandle:
        """``hook(optimizer, args, kwargs)`` runs before each step; it may return new
        ``(args, kwargs)``."""
        return _add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> _RemovableHandle:
        """``hook(optimizer, args, kwargs)`` runs after each step."""
        return _add_hook(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False):
        """``hook(optimizer)`` runs before ``state_dict()`` builds the dict."""
        return _add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False):
        """``hook(optimizer, state_dict)``; a returned dict replaces the result."""
        return _add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable, prepend: bool = False):
        """``hook(optimizer, state_dict)``; a returned dict is loaded instead."""
        return _add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable, prepend: bool = False):
        """``hook(optimizer)`` runs once the state is loaded."""
        return _add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # -- state_dict --------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}``.

        Parameters are replaced by their position across all groups, so the dict does not
        depend on object identity and can be loaded into a fresh optimizer. A parameter
        listed twice in a group takes the later position, as in PyTorch.
        """
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        index_of: dict[int, int] = {}
        start = 0
        for group in self.param_groups:
            # Built whole before merging: within a group the later position wins, while
            # a parameter an earlier group already numbered keeps that number.
            index_of.update({id(p): at for at, p in enumerate(group["params"], start)
                             if id(p) not in index_of})
            start += len(group["params"])
        packed_groups = [
            {**{k: v for k, v in group.items() if k != "params"},
             "params": [index_of[id(p)] for p in group["params"]]}
            for group in self.param_groups
        ]
        packed_state = {
            (index_of[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()
        }
        saved = {"state": packed_state, "param_groups": packed_groups}
        return _fold_hooks(self._optimizer_state_dict_post_hooks, saved, self)

    @staticmethod
    def _cast_state_value(param: Tensor, value, key=None):
        """Move loaded state next to its parameter: floating tensors also take its dtype,
        except ``step`` (a counter, left exactly as saved); containers are walked."""
        value = _to_ember(value)
        if isinstance(value, dict):
            return {k: Optimizer._cast_state_value(param, v, key=k) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(Optimizer._cast_state_value(param, v) for v in value)
        if not isinstance(value, Tensor) or key == "step":
            return value
        same_kind = param.is_floating_point() and value.is_floating_point()
        return value.to(device=param.device, **({"dtype": param.dtype} if same_kind else {}))

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load state saved by ``state_dict()`` (of ember or PyTorch)."""
        state_dict = _fold_hooks(self._optimizer_load_state_dict_pre_hooks,
                                 dict(state_dict), self)
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        pairs = list(zip(self.param_groups, saved_groups))
        if any(len(mine["params"]) != len(theirs["params"]) for mine, theirs in pairs):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of "
                "optimizer's group"
            )
        param_at = {index: p for mine, theirs in pairs
                    for index, p in zip(theirs["params"], mine["params"])}
        state: defaultdict = defaultdict(dict)
        for key, value in state_dict["state"].items():
            param = param_at.get(key, _UNMATCHED)
            if param is _UNMATCHED:
                state[key] = value  # state not tied to a parameter is kept as saved
            else:
                state[param] = self._cast_state_value(param, value)
        # The saved hyper-parameters win; the parameters (and names, if unsaved) are ours.
        for mine, theirs in pairs:
            theirs["params"] = mine["params"]
            if "param_names" in mine:
                theirs.setdefault("param_names", mine["param_names"])
        self.__setstate__({"state": state, "param_groups": [theirs for _, theirs in pairs]})
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)


_UNMATCHED = object()
