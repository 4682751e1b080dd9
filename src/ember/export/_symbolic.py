"""Traced Python numbers: sizes of dynamic dimensions (``SymInt``) and values read out of
traced tensors with ``item()`` (``SymInt`` / ``SymFloat``). Each is the example's value
plus the graph node computing it at run time, so ``x.view(x.size(0), -1)`` or
``x * x.sum().item()`` stay correct on other inputs. Arithmetic on them records
``operator`` nodes while a trace runs; anything else uses the example's value.
"""

from __future__ import annotations

import operator
import threading

from .. import _sym

_ACTIVE = threading.local()


def _active():
    return getattr(_ACTIVE, "tracer", None)


class _Traced:
    """Shared arithmetic of SymInt and SymFloat."""

    __slots__ = ()

    def _binary(self, other, op, symbol, reflected=False):
        plain = self._plain()
        other_plain = other._plain() if isinstance(other, _Traced) else other
        value = op(other_plain, plain) if reflected else op(plain, other_plain)
        tracer = _active()
        if tracer is None or isinstance(other, bool) or not isinstance(other, (int, float)):
            return value
        theirs = other.node if isinstance(other, _Traced) else other
        args = (theirs, self.node) if reflected else (self.node, theirs)
        node = tracer.graph.create_node("call_function", op, args, {}, name=op.__name__)
        left = other.expr if isinstance(other, _Traced) else repr(other)
        expr = f"{left} {symbol} {self.expr}" if reflected else f"{self.expr} {symbol} {left}"
        node.meta["sym_expr"] = expr
        return traced_number(value, node, expr)

    def __add__(self, other):
        return self._binary(other, operator.add, "+")

    def __radd__(self, other):
        return self._binary(other, operator.add, "+", True)

    def __sub__(self, other):
        return self._binary(other, operator.sub, "-")

    def __rsub__(self, other):
        return self._binary(other, operator.sub, "-", True)

    def __mul__(self, other):
        return self._binary(other, operator.mul, "*")

    def __rmul__(self, other):
        return self._binary(other, operator.mul, "*", True)

    def __truediv__(self, other):
        return self._binary(other, operator.truediv, "/")

    def __rtruediv__(self, other):
        return self._binary(other, operator.truediv, "/", True)

    def __floordiv__(self, other):
        return self._binary(other, operator.floordiv, "//")

    def __rfloordiv__(self, other):
        return self._binary(other, operator.floordiv, "//", True)


class SymInt(_Traced, int):
    """A traced int: the example's value plus the node that computes it."""

    def __new__(cls, value: int, node, expr: str):
        obj = int.__new__(cls, value)
        obj.node, obj.expr = node, expr
        return obj

    def _plain(self) -> int:
        return int(self)

    def __repr__(self) -> str:
        return str(int(self))

    def __reduce__(self):
        return (int, (int(self),))


class SymFloat(_Traced, float):
    """A traced float (``x.sum().item()``)."""

    def __new__(cls, value: float, node, expr: str):
        obj = float.__new__(cls, value)
        obj.node, obj.expr = node, expr
        return obj

    def _plain(self) -> float:
        return float(self)

    def __repr__(self) -> str:
        return repr(float(self))

    def __reduce__(self):
        return (float, (float(self),))


# torch.SymInt / torch.SymFloat in isinstance checks, as PyTorch's traced numbers are
_sym.SymInt.register(SymInt)
_sym.SymFloat.register(SymFloat)


def traced_number(value, node, expr: str):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return SymInt(value, node, expr)
    if isinstance(value, float):
        return SymFloat(value, node, expr)
    return value


class GuardOnDataDependentSymNode(RuntimeError):
    """Python control flow on a traced tensor's value (``if x.sum() > 0:``), which an
    exported graph cannot hold (PyTorch's ``torch.fx.experimental.symbolic_shapes``
    error of this name)."""


# While ``draft_export`` traces: the list its data-dependent branches are reported to
# (the branch then follows the example's value instead of raising); None otherwise.
draft_failures: list = [None]


def data_dependent_error(index: int) -> GuardOnDataDependentSymNode:
    expr = f"Eq(u{index}, 1)"
    return GuardOnDataDependentSymNode(
        f"Could not guard on data-dependent expression {expr} (unhinted: {expr}).  "
        "(Size-like symbols: none)\n\nconsider using data-dependent friendly APIs such as "
        "guard_or_false, guard_or_true and statically_known_true.\n\nember.export records "
        "tensor operations; the branch taken here depends on the values of a traced "
        "tensor (`if tensor:` / `bool(tensor)`), so no single graph is right for every "
        "input. Compute both branches with ember.where, or branch on shapes instead.")
