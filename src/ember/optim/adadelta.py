"""Adadelta: step sizes from running averages of squared gradients and updates."""

from __future__ import annotations

from ._common import bump_step, check_common, check_non_negative, prepare_grad, zero_state
from ._flat import ElementwiseOptimizer
from ._inplace import addcmul_

__all__ = ["Adadelta"]


class Adadelta(ElementwiseOptimizer):
    """``v = rho v + (1 - rho) g^2``, ``d = sqrt(u + eps) / sqrt(v + eps) * g``,
    ``u = rho u + (1 - rho) d^2``, ``p -= lr * d``."""

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_common(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_non_negative(epsilon=eps, weight_decay=weight_decay)
        defaults = {
            "lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
            "maximize": maximize, "capturable": capturable, "foreach": foreach,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _init_state(self, p, group) -> dict:
        return zero_state(p, "square_avg", "acc_delta")

    def _update(self, p, grad, state, group) -> None:
        rho, eps = group["rho"], group["eps"]
        bump_step(state)
        grad = prepare_grad(p, grad, group["maximize"], group["weight_decay"])
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        addcmul_(square_avg.mul_(rho), grad, grad, value=1 - rho)
        std = square_avg.add(eps).sqrt()
        delta = acc_delta.add(eps).sqrt()
        delta.div_(std).mul_(grad)
        addcmul_(acc_delta.mul_(rho), delta, delta, value=1 - rho)
        p.add_(delta, alpha=-group["lr"])
