"""Shared pieces of the transform classes: the callable base and ember-RNG draws."""

from __future__ import annotations

import ember


def _uniform(low: float, high: float) -> float:
    return float(ember.empty(1).uniform_(float(low), float(high)).item())


def _randint(low: int, high: int) -> int:
    return int(ember.randint(low, high, size=(1,)).item())


def _coin(p: float) -> bool:
    return float(ember.rand(1).item()) < p


class _Transform:
    """Base: a callable whose ``forward`` does the work, as torchvision's nn.Module ones."""

    def __call__(self, img):
        return self.forward(img)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"
