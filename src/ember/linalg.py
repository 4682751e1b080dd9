"""ember.linalg: norms, inverses, solvers and decompositions with gradients."""

from __future__ import annotations

__all__: list[str] = []
