"""Grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode.

Each works as a context manager and as a decorator, as in PyTorch. The flag lives in a
one-element list so the hot path reads it with a single index.
"""

from __future__ import annotations

import functools
import inspect

_grad_enabled = [True]
_inference = [False]


def is_grad_enabled() -> bool:
    return _grad_enabled[0]


def is_inference_mode_enabled() -> bool:
    return _inference[0]


class _DecoratorContextManager:
    """Context manager that also decorates functions and generator functions."""

    def __call__(self, func):
        if inspect.isclass(func):
            raise RuntimeError("grad mode decorators cannot decorate a class")
        if inspect.isgeneratorfunction(func):

            @functools.wraps(func)
            def generator_wrapper(*args, **kwargs):
                gen = func(*args, **kwargs)
                try:
                    with self.clone():
                        response = gen.send(None)
                    while True:
                        try:
                            request = yield response
                        except GeneratorExit:
                            with self.clone():
                                gen.close()
                            raise
                        except BaseException as exc:
                            with self.clone():
                                response = gen.throw(exc)
                        else:
                            with self.clone():
                                response = gen.send(request)
                except StopIteration as stop:
                    # PEP 479: a StopIteration escaping a generator becomes RuntimeError.
                    return stop.value

            return generator_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)

        return wrapper

    def clone(self):
        return self.__class__()


class no_grad(_DecoratorContextManager):
    """Disable gradient recording inside the block."""

    def __init__(self, orig_func=None):
        self._prev = None
        # Support the bare-decorator form `@no_grad` as well as `@no_grad()`.
        self._orig = orig_func

    def __new__(cls, orig_func=None):
        if orig_func is None or not callable(orig_func):
            return super().__new__(cls)
        return cls()(orig_func)

    def __enter__(self):
        self._prev = _grad_enabled[0]
        _grad_enabled[0] = False

    def __exit__(self, *exc):
        _grad_enabled[0] = self._prev


class enable_grad(_DecoratorContextManager):
    """Enable gradient recording inside the block (undoes an outer no_grad)."""

    def __new__(cls, orig_func=None):
        if orig_func is None or not callable(orig_func):
            return super().__new__(cls)
        return cls()(orig_func)

    def __init__(self, orig_func=None):
        self._prev = None

    def __enter__(self):
        self._prev = _grad_enabled[0]
        _grad_enabled[0] = True

    def __exit__(self, *exc):
        _grad_enabled[0] = self._prev


class set_grad_enabled(_DecoratorContextManager):
    """Set grad mode to ``mode``; it takes effect immediately, as in PyTorch."""

    def __init__(self, mode: bool):
        self._prev = _grad_enabled[0]
        self.mode = bool(mode)
        _grad_enabled[0] = self.mode

    def __enter__(self):
        _grad_enabled[0] = self.mode

    def __exit__(self, *exc):
        _grad_enabled[0] = self._prev

    def clone(self):
        return self.__class__(self.mode)


class inference_mode(_DecoratorContextManager):
    """Like no_grad (ember keeps no extra view/version bookkeeping to skip)."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):
            return cls(True)(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)
        self._prev = None
        self._prev_inf = None

    def __enter__(self):
        self._prev = _grad_enabled[0]
        self._prev_inf = _inference[0]
        if self.mode:
            _grad_enabled[0] = False
            _inference[0] = True

    def __exit__(self, *exc):
        _grad_enabled[0] = self._prev
        _inference[0] = self._prev_inf

    def clone(self):
        return self.__class__(self.mode)
