"""``torch.export.Dim``: naming the input dimensions an exported program accepts at any
size (within ``[min, max]``), and checking the inputs it is called with."""

from __future__ import annotations

import math
from enum import Enum

from .._sym import SymInt

__all__ = ["Dim", "dims"]


class UserError(Exception):
    """An export argument PyTorch rejects (``torch._dynamo.exc.UserError``)."""


class _DimHintType(Enum):
    AUTO = 0
    STATIC = 1
    DYNAMIC = 2


class _DimHint:
    """``Dim.AUTO`` / ``Dim.DYNAMIC`` / ``Dim.STATIC``, optionally bounded."""

    def __init__(self, type_: _DimHintType, min: int | None = None,
                 max: int | None = None) -> None:
        self.type, self.min, self.max = type_, min, max

    def __call__(self, min: int | None = None, max: int | None = None) -> _DimHint:
        if self.type == _DimHintType.STATIC:
            raise TypeError("Dim.STATIC cannot be called")
        return _DimHint(self.type, min, max)

    def __repr__(self) -> str:
        parts = [self.type.name]
        if self.min is not None:
            parts.append(f"min={self.min}")
        if self.max is not None:
            parts.append(f"max={self.max}")
        return f"DimHint({', '.join(parts)})"


class Dim:
    """A named dynamic dimension: ``Dim("batch", min=2, max=64)``.

    Example::

        batch = Dim("batch", max=64)
        ep = torch.export.export(model, (x,), dynamic_shapes={"x": {0: batch}})
    """

    AUTO = _DimHint(_DimHintType.AUTO)
    DYNAMIC = _DimHint(_DimHintType.DYNAMIC)
    STATIC = _DimHint(_DimHintType.STATIC)

    def __init__(self, name: str, *, min: int | None = None,
                 max: int | None = None) -> None:
        low = 0 if min is None else min
        high = math.inf if max is None else max
        if not high > low:
            raise AssertionError(f"Cannot create Dim with inconsistent min={min}, max={max}")
        if not name.isidentifier():
            raise AssertionError(f"Dim name must be a valid identifier, got {name}")
        self.__name__ = name
        self.min = low
        self.max = high

    def _unsupported(self, other):
        raise NotImplementedError(f"ember.export does not support derived Dims ({self.__name__} "
                                  f"with {other})")

    __add__ = __radd__ = __sub__ = __mul__ = __rmul__ = _unsupported

    def __repr__(self) -> str:
        low = None if self.min == 2 else self.min
        high = None if self.max == math.inf else self.max
        if low is None and high is None:
            return f"Dim('{self.__name__}')"
        if low is None:
            return f"Dim('{self.__name__}', max={high})"
        if high is None:
            return f"Dim('{self.__name__}', min={low})"
        return f"Dim('{self.__name__}', min={low}, max={high})"


def dims(*names: str, min: int | None = None, max: int | None = None) -> tuple:
    """Several ``Dim``s with the same bounds."""
    return tuple(Dim(name, min=min, max=max) for name in names)


class RangeConstraint:
    """``VR[lower, upper]`` as PyTorch prints a symbol's value range."""

    def __init__(self, lower: int, upper: float) -> None:
        self.lower, self.upper = lower, upper

    def __repr__(self) -> str:
        upper = "int_oo" if self.upper == math.inf else self.upper
        return f"VR[{self.lower}, {upper}]"

    def __eq__(self, other) -> bool:
        return isinstance(other, RangeConstraint) and (self.lower, self.upper) == (
            other.lower, other.upper)

    def __hash__(self) -> int:
        return hash((self.lower, self.upper))


# A dynamic dimension's name in the graph (``s0``): ``torch.SymInt`` (see ember._sym)
Symbol = SymInt
