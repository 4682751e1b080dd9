"""``ember.utils.hooks``: the handle every ``register_*hook`` returns, as
``torch.utils.hooks``.

One class serves modules, optimizers and autograd nodes/tensors. PyTorch keys hooks by
``handle.id`` in dicts and keeps only weak references to them, so a handle never keeps a
module or optimizer alive. ember's autograd keeps node and tensor hooks in plain lists
(the engine walks them on the hot path); such a handle (``_list_handle``) holds its list
strongly, as lists cannot be weakly referenced, and removes its own hook by identity.
"""

from __future__ import annotations

import warnings
import weakref
from collections import OrderedDict
from typing import Any, Self

# BackwardHook is served by the module __getattr__ below.
__all__ = ["BackwardHook", "RemovableHandle", "unserializable_hook", "warn_if_has_hooks"]  # noqa: F822

_NO_ITEM = object()


class _StrongRef:
    """A callable reference to an object that cannot be weakly referenced (a list)."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __call__(self):
        return self.obj


def _ref(container):
    return _StrongRef(container) if type(container) is list else weakref.ref(container)


class RemovableHandle:
    """A handle which provides the capability to remove a hook.

    Args:
        hooks_dict (dict): A dictionary of hooks, indexed by hook ``id``.
        extra_dict (Union[dict, List[dict]]): An additional dictionary or list of
            dictionaries whose keys will be deleted when the same keys are
            removed from ``hooks_dict``.

    Example::

        >>> handle = module.register_forward_hook(hook)
        >>> with handle:  # removed when the block ends
        ...     module(x)
    """

    id: int
    next_id: int = 0
    _item = _NO_ITEM  # a list handle's own hook (see _list_handle)

    def __init__(self, hooks_dict: Any, *, extra_dict: Any = None) -> None:
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        self.extra_dict_ref: tuple = ()
        if isinstance(extra_dict, dict):
            self.extra_dict_ref = (weakref.ref(extra_dict),)
        elif isinstance(extra_dict, list):
            self.extra_dict_ref = tuple(weakref.ref(d) for d in extra_dict)

    def remove(self) -> None:
        hooks = self.hooks_dict_ref()
        item = self._item
        if item is not _NO_ITEM:
            if hooks is not None:
                for index, hook in enumerate(hooks):
                    if hook is item:
                        del hooks[index]
                        break
            return
        if hooks is not None and self.id in hooks:
            del hooks[self.id]
        for ref in self.extra_dict_ref:
            extra_dict = ref()
            if extra_dict is not None and self.id in extra_dict:
                del extra_dict[self.id]

    def __getstate__(self):
        return (self.hooks_dict_ref(), self.id, tuple(ref() for ref in self.extra_dict_ref))

    def __setstate__(self, state) -> None:
        if state[0] is None:
            self.hooks_dict_ref = weakref.ref(OrderedDict())  # a dead reference
        else:
            self.hooks_dict_ref = _ref(state[0])
        self.id = state[1]
        RemovableHandle.next_id = max(RemovableHandle.next_id, self.id + 1)
        if len(state) < 3 or state[2] is None:
            self.extra_dict_ref = ()
        else:
            self.extra_dict_ref = tuple(weakref.ref(d) for d in state[2])

    def __enter__(self) -> Self:
        return self

    def __exit__(self, type: object, value: object, tb: object) -> None:
        self.remove()


def _list_handle(hook_list: list, hook) -> RemovableHandle:
    """The handle for a hook kept in an autograd hook list (node or tensor hooks)."""
    handle = RemovableHandle.__new__(RemovableHandle)
    handle.hooks_dict_ref = _StrongRef(hook_list)
    handle.id = RemovableHandle.next_id
    RemovableHandle.next_id += 1
    handle.extra_dict_ref = ()
    handle._item = hook
    return handle


def unserializable_hook(f):
    """Mark a function as an unserializable hook with this decorator.

    This suppresses warnings that would otherwise arise if you attempt
    to serialize a tensor that has a hook.
    """
    f.__torch_unserializable__ = True
    return f


def _tensor_hooks(tensor) -> list:
    """The backward hooks registered on ``tensor``: a leaf keeps them itself, a non-leaf
    on the node that produces it, keyed by output number."""
    hooks = getattr(tensor, "_backward_hooks", None)
    if hooks:
        return list(hooks.values()) if isinstance(hooks, dict) else list(hooks)
    node = getattr(tensor, "grad_fn", None)
    if node is None:
        return list(getattr(tensor, "_hooks", None) or ())
    table = getattr(node, "_tensor_pre_hooks", None) or {}
    return list(table.get(tensor._output_nr, ()))


def warn_if_has_hooks(tensor) -> None:
    """Warn once per backward hook on ``tensor`` that pickling drops it, unless the hook
    was marked with :func:`unserializable_hook`."""
    for hook in _tensor_hooks(tensor):
        if not hasattr(hook, "__torch_unserializable__"):
            warnings.warn(f"backward hook {hook!r} on tensor will not be "
                          "serialized.  If this is expected, you can "
                          "decorate the function with @torch.utils.hooks.unserializable_hook "
                          "to suppress this warning", stacklevel=2)


def __getattr__(name):
    # BackwardHook lives with Module's hook machinery (nn sits above utils); imported on
    # first use so this module stays importable from autograd.
    if name == "BackwardHook":
        from ..nn.modules._hooks import _BackwardHook

        return _BackwardHook
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
