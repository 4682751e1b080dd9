"""autograd.functional: jacobian, hessian, vjp, jvp, hvp."""

from __future__ import annotations

__all__: list[str] = []
