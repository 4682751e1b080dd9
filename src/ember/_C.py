"""``torch._C``: what PyTorch's C module holds of the ``__torch_function__`` protocol
(``torch._C._disabled_torch_function_impl``, ``torch._C.DisableTorchFunctionSubclass``, the
mode stack): the switches ember.overrides reads on every dispatched call. ember has no C
module; this is plain Python state.
"""

# ruff: noqa: N999  (the module is named as PyTorch's)

from __future__ import annotations

_SUBCLASS_ON = [True]  # False under DisableTorchFunctionSubclass / DisableTorchFunction
_MODES_ON = [True]  # False under DisableTorchFunction
_MODE_STACK: list = []
# _SLOW[0]: every call must go through _dispatch (a mode is active); read by trampolines
_SLOW = [False]


def _refresh():
    _SLOW[0] = bool(_MODE_STACK) and _MODES_ON[0]


class DisableTorchFunctionSubclass:
    """``torch._C.DisableTorchFunctionSubclass``: inside, subclasses' ``__torch_function__``
    is not called (modes still are)."""

    def __enter__(self):
        self._previous = _SUBCLASS_ON[0]
        _SUBCLASS_ON[0] = False
        return self

    def __exit__(self, *exc):
        _SUBCLASS_ON[0] = self._previous


class DisableTorchFunction:
    """``torch._C.DisableTorchFunction``: inside, neither subclasses nor modes are called."""

    def __enter__(self):
        self._previous = (_SUBCLASS_ON[0], _MODES_ON[0])
        _SUBCLASS_ON[0] = _MODES_ON[0] = False
        _refresh()
        return self

    def __exit__(self, *exc):
        _SUBCLASS_ON[0], _MODES_ON[0] = self._previous
        _refresh()


def _is_torch_function_enabled() -> bool:
    return _SUBCLASS_ON[0]


def _is_torch_function_mode_enabled() -> bool:
    return _SLOW[0]


def _len_torch_function_stack() -> int:
    return len(_MODE_STACK)


def _get_function_stack_at(index: int):
    return _MODE_STACK[index]


def _has_torch_function(args) -> bool:
    from .overrides import has_torch_function

    return has_torch_function(args)


def _has_torch_function_unary(arg) -> bool:
    return _has_torch_function((arg,))


def _has_torch_function_variadic(*args) -> bool:
    return _has_torch_function(args)


class _DisabledTorchFunctionImpl:
    """``torch._C._disabled_torch_function_impl``: run ``func`` with subclass dispatch off
    and return its result unconverted. A callable object, not a function, so that as a
    class attribute (``__torch_function__ = _disabled_torch_function_impl``) it does not
    bind to instances, as PyTorch's builtin does not."""

    __slots__ = ()
    __name__ = "_disabled_torch_function_impl"

    def __call__(self, func, types, args=(), kwargs=None):
        with DisableTorchFunctionSubclass():
            return func(*args, **(kwargs or {}))

    def __repr__(self):
        return "<built-in function _disabled_torch_function_impl>"


_disabled_torch_function_impl = _DisabledTorchFunctionImpl()
