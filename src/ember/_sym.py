"""``torch.SymInt``, ``torch.SymFloat``, ``torch.SymBool``: the types of symbolic sizes and
numbers, so code written for PyTorch (``isinstance(d, torch.SymInt)`` on the shapes in an
exported graph's ``node.meta["val"]``) runs on ember.

ember has no symbolic-shape engine. A dynamic dimension of ``ember.export`` is a named
symbol (``s0``) carrying its example size as a hint: that is ``SymInt`` itself. The
traced numbers of ``ember.export._symbolic`` (``x.size(0)``, ``t.item()`` while a trace
runs: ints and floats that also record graph nodes) register as ``SymInt`` / ``SymFloat``.
Small on purpose: ``ember`` imports it at start-up, ``ember.export`` only on first use.
"""

from __future__ import annotations

import abc

__all__ = ["SymBool", "SymFloat", "SymInt"]


class SymInt(metaclass=abc.ABCMeta):
    """A symbolic int: a dynamic dimension's name in the graph (``s0``, as a sympy symbol
    prints), its example size (``hint``) and the ``Dim`` it came from."""

    def __init__(self, name: str, hint: int, dim=None) -> None:
        self.name, self.hint, self.dim = name, hint, dim

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(self.name, spec)

    def __reduce__(self):
        return (SymInt, (self.name, self.hint, self.dim))


class SymFloat(metaclass=abc.ABCMeta):
    """A symbolic float: in ember, a float read out of a traced tensor (registered by
    ``ember.export``); it has no instances of its own."""


class SymBool(metaclass=abc.ABCMeta):
    """A symbolic bool: ember's export guards on concrete bools, so none exist; the class
    is here for ``isinstance`` checks written for PyTorch."""


SymInt.__module__ = SymFloat.__module__ = SymBool.__module__ = "ember"
