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


def _weak_all(tables) -> tuple:
    return tuple(weakref.ref(table) for table in tables)


class RemovableHandle:
    """What ``register_*hook`` returns: ``remove()`` (or leaving a ``with`` block) unhooks.

    ``hooks_dict`` maps ids to hooks; ``extra_dict`` (one dict or a list of them) holds
    per-hook flags under the same id, dropped together with the hook. Only weak references
    are kept, so an outstanding handle never keeps a module or optimizer alive.

    Example::

        >>> handle = module.register_forward_hook(hook)
        >>> with handle:  # removed when the block ends
        ...     module(x)
    """

    id: int
    next_id: int = 0  # class-wide counter: ids stay unique across every hook table
    _item = _NO_ITEM  # a list handle's own hook (see _list_handle)

    def __init__(self, hooks_dict: Any, *, extra_dict: Any = None) -> None:
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self._take_id()
        many = extra_dict if isinstance(extra_dict, list) else ()
        self.extra_dict_ref = _weak_all([extra_dict] if isinstance(extra_dict, dict) else many)

    def _take_id(self) -> None:
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id = self.id + 1

    def remove(self) -> None:
        """Unhook; a second call, or one after the tables died, does nothing."""
        owner = self.hooks_dict_ref()
        if self._item is not _NO_ITEM:  # list handle: find the hook by identity
            if owner is not None:
                at = next((i for i, h in enumerate(owner) if h is self._item), None)
                if at is not None:
                    del owner[at]
            return
        for table in (owner, *(ref() for ref in self.extra_dict_ref)):
            if table is not None:
                table.pop(self.id, None)

    # Pickled as (hooks, id, extras), PyTorch's layout, so handles travel between the two.
    def __getstate__(self):
        extras = tuple(ref() for ref in self.extra_dict_ref)
        return self.hooks_dict_ref(), self.id, extras

    def __setstate__(self, state) -> None:
        owner, self.id, *rest = state
        # A handle whose table was already gone pickles None and must stay dead.
        self.hooks_dict_ref = weakref.ref(OrderedDict()) if owner is None else _ref(owner)
        # Later handles must not reuse the id of one loaded from disk.
        RemovableHandle.next_id = max(RemovableHandle.next_id, self.id + 1)
        extras = rest[0] if rest else None
        self.extra_dict_ref = () if extras is None else _weak_all(extras)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, type: object, value: object, tb: object) -> None:
        self.remove()


def _list_handle(hook_list: list, hook) -> RemovableHandle:
    """The handle for a hook kept in an autograd hook list (node or tensor hooks)."""
    handle = RemovableHandle.__new__(RemovableHandle)
    handle.hooks_dict_ref = _StrongRef(hook_list)
    handle._take_id()
    handle.extra_dict_ref = ()
    handle._item = hook
    return handle


# The attribute PyTorch's serializer looks for; one spelling for the setter and the check.
_UNSERIALIZABLE = "__torch_unserializable__"


def unserializable_hook(f):
    """Decorator: pickling a tensor that carries hook ``f`` drops it without a warning.

    For hooks that are meant to live only in this process (logging, debugging).
    """
    setattr(f, _UNSERIALIZABLE, True)
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
        if not hasattr(hook, _UNSERIALIZABLE):
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
