"""Upsample, UpsamplingNearest2d, UpsamplingBilinear2d (as torch.nn.modules.upsampling)."""

from __future__ import annotations

from ..._ops.resample import interpolate
from .module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]


def _stored_factor(scale_factor):
    """Upsample keeps its factor as a float, or a tuple of floats; a missing (or zero)
    factor is None, leaving ``size`` to decide."""
    if not isinstance(scale_factor, tuple):
        return float(scale_factor) if scale_factor else None
    return tuple(map(float, scale_factor))


class Upsample(Module):
    """Module form of ``F.interpolate``; the attribute names (``name`` included) are
    PyTorch's, as pickles and TorchScript read them.

    Example::

        >>> m = nn.Upsample(scale_factor=2, mode="nearest")
        >>> m(torch.randn(1, 1, 2, 2)).shape
        torch.Size([1, 1, 4, 4])
    """

    __constants__ = ["size", "scale_factor", "mode", "align_corners", "name",
                     "recompute_scale_factor"]

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                 ) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        self.scale_factor = _stored_factor(scale_factor)
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def __setstate__(self, state):
        """Modules pickled before ``recompute_scale_factor`` existed behaved as True."""
        state.setdefault("recompute_scale_factor", True)
        super().__setstate__(state)

    def extra_repr(self) -> str:
        by = "size" if self.scale_factor is None else "scale_factor"
        return f"{by}={getattr(self, by)!r}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Deprecated: ``Upsample(mode='nearest')``."""

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Deprecated: ``Upsample(mode='bilinear', align_corners=True)``."""

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
