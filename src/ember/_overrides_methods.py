"""Own function objects for Tensor methods and for ``ember``'s aliases (see
``_own_tensor_methods``), kept apart from overrides.py for its size."""

from __future__ import annotations

import importlib
import types as _types

from ._tensor import Tensor


def _copy_function(fn, name: str, module: str, qualname: str):
    """A new function object running ``fn``'s code (same globals, defaults and cells),
    named ``name`` and found by pickle as ``module.qualname``."""
    copy = _types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__,
                               fn.__closure__)
    copy.__kwdefaults__ = fn.__kwdefaults__
    copy.__dict__.update(fn.__dict__)
    copy.__doc__ = fn.__doc__
    copy.__module__, copy.__qualname__ = module, qualname
    return copy


def _own_tensor_methods() -> None:
    """Give each Tensor method bound from an op family, and each alias in ``ember``
    (``absolute`` of ``abs``, ``clip`` of ``clamp``), its own function object: a copy
    sharing the code, so calls cost the same. ``ember/__init__`` calls this once the op
    families are bound.

    PyTorch hands ``torch.Tensor.sum`` to ``__torch_function__`` for ``x.sum()``,
    ``torch.sum`` for ``torch.sum(x)`` and ``torch.absolute`` for ``torch.absolute(x)``;
    with one object for all of them, handlers testing ``func is torch.Tensor.sum``,
    logging ``func.__name__`` or calling ``resolve_name`` could not tell them apart. Each
    copy is its own row in the dispatch table, so installing swaps every one."""
    for name, fn in list(vars(Tensor).items()):
        if type(fn) is _types.FunctionType and not fn.__qualname__.startswith("Tensor."):
            setattr(Tensor, name, _copy_function(fn, name, Tensor.__module__, f"Tensor.{name}"))
    ember = importlib.import_module("ember")
    for name, fn in list(vars(ember).items()):
        if (type(fn) is _types.FunctionType and not name.startswith("_")
                and fn.__name__ != name and fn.__module__.startswith("ember.")):
            setattr(ember, name, _copy_function(fn, name, "ember", name))
