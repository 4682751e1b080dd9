"""``torch._C``: what PyTorch's C module holds of the ``__torch_function__`` protocol
(``torch._C._disabled_torch_function_impl``, ``torch._C.DisableTorchFunctionSubclass``, the
mode stack): the switches ember.overrides reads on every dispatched call. ember has no C
module; this is plain Python state.
"""

# ruff: noqa: N999  (the module is named as PyTorch's)

from __future__ import annotations

import threading


class _ThreadState(threading.local):
    """Per thread, as PyTorch's: the Disable switches and the mode stack."""

    def __init__(self):
        self.subclass_on = True  # False under DisableTorchFunctionSubclass / DisableTorchFunction
        self.modes_on = True  # False under DisableTorchFunction
        self.modes: list = []


_STATE = _ThreadState()
# _SLOW[0]: some thread has a mode pushed, so trampolines take the slow path (which reads
# this thread's stack); a global list read by every trampoline, not a thread-local lookup
_SLOW = [False]
_PUSHED = [0]
_LOCK = threading.Lock()


def _push_mode(mode) -> None:
    with _LOCK:
        _STATE.modes.append(mode)
        _PUSHED[0] += 1
        _SLOW[0] = True


def _pop_mode(mode) -> None:
    with _LOCK:
        stack = _STATE.modes
        if stack and stack[-1] is mode:
            stack.pop()
        else:
            stack.remove(mode)
        _PUSHED[0] -= 1
        _SLOW[0] = _PUSHED[0] > 0


def _mode_active() -> bool:
    """Whether this thread's calls go to a mode."""
    state = _STATE
    return bool(state.modes) and state.modes_on


class DisableTorchFunctionSubclass:
    """``torch._C.DisableTorchFunctionSubclass``: inside, subclasses' ``__torch_function__``
    is not called (modes still are)."""

    def __enter__(self):
        self._previous = _STATE.subclass_on
        _STATE.subclass_on = False
        return self

    def __exit__(self, *exc):
        _STATE.subclass_on = self._previous


class DisableTorchFunction:
    """``torch._C.DisableTorchFunction``: inside, neither subclasses nor modes are called."""

    def __enter__(self):
        state = _STATE
        self._previous = (state.subclass_on, state.modes_on)
        state.subclass_on = state.modes_on = False
        return self

    def __exit__(self, *exc):
        _STATE.subclass_on, _STATE.modes_on = self._previous


def _is_torch_function_enabled() -> bool:
    return _STATE.subclass_on


def _is_torch_function_mode_enabled() -> bool:
    return _mode_active()


def _len_torch_function_stack() -> int:
    return len(_STATE.modes)


def _get_function_stack_at(index: int):
    return _STATE.modes[index]


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
