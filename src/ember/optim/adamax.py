"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from ._common import bump_step, check_common, prepare_grad, zero_state
from ._flat import ElementwiseOptimizer
from ._inplace import addcdiv_, copy_, lerp_, maximum

__all__ = ["Adamax"]


class Adamax(ElementwiseOptimizer):
    """``u = max(beta2 * u, |g| + eps)``, ``p -= lr / (1 - beta1^t) * m / u``."""

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        check_common(lr, eps, betas, weight_decay)
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _init_state(self, p, group) -> dict:
        return zero_state(p, "exp_avg", "exp_inf")

    def _update(self, p, grad, state, group) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        step = bump_step(state)
        grad = prepare_grad(p, grad, group["maximize"], group["weight_decay"])
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        lerp_(exp_avg, grad, 1 - beta1)
        copy_(exp_inf, maximum(exp_inf.mul_(beta2), grad.abs().add_(eps)))
        addcdiv_(p, exp_avg, exp_inf, value=-lr / (1 - beta1**step))
