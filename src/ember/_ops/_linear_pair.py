"""A linear array map and its adjoint as two Functions, each the other's backward.

im2col/col2im (unfold/fold) and average pooling/its adjoint are such pairs: the gradient
of a linear map is its adjoint applied to the upstream gradient, and the adjoint's
gradient is the map again, so double backward (and beyond) comes for free. One base class
serves every pair instead of each pair writing the same two classes.
"""

from __future__ import annotations

from ..autograd.function import Function


class _LinearMap(Function):
    """Subclass with ``_map = staticmethod(array_fn)`` (``array_fn(array, geo)``) and set
    ``_adjoint`` to the subclass applying the adjoint map once both classes exist."""

    _array_io = True
    _map = None
    _adjoint = None

    @staticmethod
    def forward(ctx, x, geo):
        ctx.geo = geo
        return type(ctx)._map(x, geo)

    @staticmethod
    def backward(ctx, grad):
        return type(ctx)._adjoint.apply(grad, ctx.geo), None

    @staticmethod
    def _array_backward(ctx, grad):
        """No graph is being built: apply the adjoint to the array directly."""
        return type(ctx)._adjoint._map(grad, ctx.geo), None


def linear_map_pair(forward_map, adjoint_map, forward_cls, adjoint_cls):
    """Give two empty ``_LinearMap`` subclasses their maps and point each at the other."""
    forward_cls._map = staticmethod(forward_map)
    adjoint_cls._map = staticmethod(adjoint_map)
    forward_cls._adjoint = adjoint_cls
    adjoint_cls._adjoint = forward_cls
