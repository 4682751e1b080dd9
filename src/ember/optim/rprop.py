"""Rprop: resilient backpropagation, sign-based steps with adaptive sizes."""

from __future__ import annotations

import ember

from ._common import bump_step, check_common, zero_step
from ._flat import ElementwiseOptimizer
from ._inplace import addcmul_, clamp_, copy_

__all__ = ["Rprop"]


class Rprop(ElementwiseOptimizer):
    """Each element's step size grows by ``etaplus`` while its gradient keeps its sign and
    shrinks by ``etaminus`` when it flips (that step is then skipped), within
    ``step_sizes``; the parameter moves by ``-sign(g) * step_size``."""

    def __init__(self, params, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_common(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {
            "lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach,
            "maximize": maximize, "differentiable": differentiable, "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _init_state(self, p, group) -> dict:
        lr = group["lr"]  # a complex p steps its (re, im) pairs: lr for both, as PyTorch
        return {"step": zero_step(), "prev": ember.zeros_like(p),
                "step_size": ember.full_like(p, complex(lr, lr) if p.is_complex() else lr)}

    def _update(self, p, grad, state, group) -> None:
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        if group["maximize"]:
            grad = -grad
        bump_step(state)
        prev, step_size = state["prev"], state["step_size"]
        sign = grad.mul(prev).sign()
        factor = ember.where(sign.gt(0), etaplus,
                             ember.where(sign.lt(0), etaminus, ember.ones_like(sign)))
        clamp_(step_size.mul_(factor), step_size_min, step_size_max)
        grad = ember.where(sign.lt(0), 0.0, grad)
        addcmul_(p, grad.sign(), step_size, value=-1)
        copy_(prev, grad)
