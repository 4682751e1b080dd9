"""``torch._C``: the names of PyTorch's C module that Python code using the
``__torch_function__`` protocol reaches for (``torch._C._disabled_torch_function_impl``,
``torch._C.DisableTorchFunctionSubclass``). ember has no C module; these are the
protocol's Python implementation in ``ember.overrides``.
"""

# ruff: noqa: F401  (re-exports)

from .overrides import (
    DisableTorchFunction,
    DisableTorchFunctionSubclass,
    _disabled_torch_function_impl,
    _is_torch_function_enabled,
    _is_torch_function_mode_enabled,
    has_torch_function as _has_torch_function,
    has_torch_function_unary as _has_torch_function_unary,
    has_torch_function_variadic as _has_torch_function_variadic,
)
from .overrides import _MODE_STACK as _mode_stack


def _len_torch_function_stack() -> int:
    return len(_mode_stack)


def _get_function_stack_at(index: int):
    return _mode_stack[index]
