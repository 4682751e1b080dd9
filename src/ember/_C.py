"""``torch._C``: the names of PyTorch's C module that Python code using the
``__torch_function__`` protocol reaches for (``torch._C._disabled_torch_function_impl``,
``torch._C.DisableTorchFunctionSubclass``). ember has no C module; these are the
protocol's Python implementation in ``ember.overrides``.
"""

# ruff: noqa: F401, N999  (re-exports; the module is named as PyTorch's)

from . import overrides as _overrides
from .overrides import (
    DisableTorchFunction,
    DisableTorchFunctionSubclass,
    _disabled_torch_function_impl,
    _is_torch_function_enabled,
    _is_torch_function_mode_enabled,
)

_has_torch_function = _overrides.has_torch_function
_has_torch_function_unary = _overrides.has_torch_function_unary
_has_torch_function_variadic = _overrides.has_torch_function_variadic


def _len_torch_function_stack() -> int:
    return len(_overrides._MODE_STACK)


def _get_function_stack_at(index: int):
    return _overrides._MODE_STACK[index]
