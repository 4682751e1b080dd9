"""``torch.sym_int``, ``sym_max``, ``sym_sum`` and friends: int/float/bool helpers that
stay symbolic on symbolic numbers and are plain Python on concrete ones.

In eager code they are Python's ``int``, ``max``, ``sum``, ... with PyTorch's promotion
rules (a float anywhere makes the result a float). On the traced numbers of
``ember.export`` (``x.size(0)`` while a trace runs, which are ``ember.SymInt``) they also
record a graph node, so an exported graph recomputes ``sym_max(s0, 4)`` for new sizes
instead of freezing the example's value.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from ._sym import SymBool, SymFloat, SymInt

__all__ = [
    "sym_int", "sym_float", "sym_max", "sym_min", "sym_not", "sym_ite", "sym_sum", "sym_sqrt",
    "sym_fresh_size", "sym_constrain_range", "sym_constrain_range_for_size",
]

_NUMBER_TYPES = (np.integer, np.floating, builtins.int, builtins.float)
_FLOAT_TYPES = (np.floating, builtins.float)
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def _traced(args):
    """The export tracer recording now, when one of ``args`` is a traced number."""
    import sys

    symbolic = sys.modules.get("ember.export._symbolic")
    if symbolic is None or not any(isinstance(a, symbolic._Traced) for a in args):
        return None
    return symbolic._active()


def _record(fn, args, value, expr):
    """``value`` computed by ``fn(*args)``; as a traced number (with a graph node calling
    ``fn``) while an export trace runs and an argument is traced."""
    tracer = _traced(args)
    if tracer is None:
        return value
    from .export._symbolic import _Traced, traced_number

    node_args = tuple(a.node if isinstance(a, _Traced) else a for a in args)
    target = getattr(fn, "_export_original", fn)  # the function, not the tracer's wrapper
    node = tracer.graph.create_node("call_function", target, node_args, {}, name=fn.__name__)
    node.meta["sym_expr"] = expr
    return traced_number(value, node, expr)


def _expr(value):
    return getattr(value, "expr", repr(value))


def sym_int(a):
    """``int(a)``, truncating toward zero; a symbolic int is returned as it is."""
    if isinstance(a, SymInt):
        return a
    if isinstance(a, SymFloat):
        return _record(sym_int, (a,), math.trunc(builtins.float(a)), f"trunc({_expr(a)})")
    return builtins.int(a)


def sym_float(a):
    """``float(a)``; a symbolic float is returned as it is."""
    if isinstance(a, SymFloat):
        return a
    if isinstance(a, SymInt) and isinstance(a, builtins.int):
        return _record(sym_float, (a,), builtins.float(a), f"float({_expr(a)})")
    return builtins.float(a)


def _check_number(value):
    if not isinstance(value, _NUMBER_TYPES):
        raise AssertionError(f"expected {_NUMBER_TYPES}, got {type(value)}")


def _extremum(fn, pick, name, a, b):
    _check_number(a)
    _check_number(b)
    value = pick(a, b)
    if isinstance(a, _FLOAT_TYPES) or isinstance(b, _FLOAT_TYPES):
        value = builtins.float(value)  # PyTorch promotes: max(1, 1.0) is 1.0 either way
    return _record(fn, (a, b), value, f"{name}({_expr(a)}, {_expr(b)})")


def sym_max(a, b):
    """``max(a, b)`` of ints and floats, a float when either is (PyTorch's promotion)."""
    return _extremum(sym_max, builtins.max, "Max", a, b)


def sym_min(a, b):
    """``min(a, b)`` of ints and floats, a float when either is (PyTorch's promotion)."""
    return _extremum(sym_min, builtins.min, "Min", a, b)


def sym_not(a):
    """``not a`` (a one-element tensor counts by its value)."""
    return _record(sym_not, (a,), not a, f"Not({_expr(a)})")


def sym_ite(b, t, f):
    """``t if b else f``: ``b`` a bool, ``t`` and ``f`` of one type."""
    if not isinstance(b, (SymBool, builtins.bool)):
        raise AssertionError(f"expected SymBool or bool, got {type(b)}")
    if type(t) is not type(f) and not (isinstance(t, SymInt) and isinstance(f, SymInt)):
        raise AssertionError(f"type mismatch: {type(t)} vs {type(f)}")
    return t if b else f


def sym_sum(*args):
    """The sum of ``args`` (``sym_sum([a, b, c])`` or ``sym_sum(a, b, c)``), from 0."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = args[0]
    if args and builtins.all(isinstance(a, builtins.int) for a in args):
        total = builtins.sum(builtins.int(a) for a in args)  # plain ints: one node, not n
        expr = " + ".join(_expr(a) for a in args)
        return _record(sym_sum, tuple(args), total, expr)
    return builtins.sum(args)


def sym_sqrt(a):
    """``math.sqrt(a)``, a float."""
    return _record(sym_sqrt, (a,), math.sqrt(a), f"sqrt({_expr(a)})")


def sym_fresh_size(expr):
    """A size equal to ``expr`` (in eager code, ``expr`` as an int)."""
    from ._ops.creation import tensor

    return tensor(expr).item()


def _size_value(size, name):
    from ._tensor import Tensor

    if isinstance(size, Tensor):
        if size.numel() != 1:
            raise TypeError(f"{name}(): argument 'size' (position 1) must be Number, not Tensor")
        return builtins.int(size.item())
    if not isinstance(size, (builtins.int, builtins.float, np.integer, np.floating)):
        raise TypeError(f"{name}(): argument 'size' (position 1) must be Number, "
                        f"not {type(size).__name__}")
    return builtins.int(size)


def _check_range(size, low, high, name):
    value = _size_value(size, name)
    if high < low:
        raise RuntimeError(f"Max must be greater than or equal to min. Got min={low} max={high}")
    if not low <= value <= high:
        raise RuntimeError(f"Invalid value range for {value} between [{low}, {high}].")


def sym_constrain_range(size, *, min=None, max=None) -> None:  # noqa: A002 - PyTorch's names
    """Assert ``min <= size <= max`` (an export hint for data-dependent sizes; eager code
    checks the value it has)."""
    _check_range(size, _INT64_MIN if min is None else min, _INT64_MAX if max is None else max,
                 "sym_constrain_range")


def sym_constrain_range_for_size(size, *, min=None, max=None) -> None:  # noqa: A002
    """As ``sym_constrain_range`` for a value used as a size: ``min`` defaults to 0."""
    _check_range(size, 0 if min is None else min, _INT64_MAX if max is None else max,
                 "sym_constrain_range_for_size")
