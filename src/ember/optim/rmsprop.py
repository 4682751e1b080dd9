"""RMSprop (with momentum and the centered variant)."""

from __future__ import annotations

import ember

from ._common import bump_step, check_common, check_non_negative, prepare_grad, zero_state
from ._flat import ElementwiseOptimizer
from ._inplace import addcdiv_, addcmul_, lerp_

__all__ = ["RMSprop"]


class RMSprop(ElementwiseOptimizer):
    """``v = alpha v + (1 - alpha) g^2``; ``centered`` subtracts the squared running mean
    of ``g``; the step is ``g / (sqrt(v) + eps)``, through a momentum buffer if any."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_common(lr)
        check_non_negative(epsilon=eps, momentum=momentum, weight_decay=weight_decay,
                           alpha=alpha)
        defaults = {
            "lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
            "weight_decay": weight_decay, "capturable": capturable, "foreach": foreach,
            "maximize": maximize, "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _init_state(self, p, group) -> dict:
        state = zero_state(p, "square_avg")
        if group["momentum"] > 0:
            state["momentum_buffer"] = ember.zeros_like(p)
        if group["centered"]:
            state["grad_avg"] = ember.zeros_like(p)
        return state

    def _update(self, p, grad, state, group) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        bump_step(state)
        grad = prepare_grad(p, grad, group["maximize"], group["weight_decay"])
        square_avg = state["square_avg"]
        addcmul_(square_avg.mul_(alpha), grad, grad, value=1 - alpha)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, grad, 1 - alpha)
            avg = square_avg.sub(grad_avg.mul(grad_avg)).sqrt()
        else:
            avg = square_avg.sqrt()
        avg = avg.add_(eps)
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            addcdiv_(buf.mul_(group["momentum"]), grad, avg)
            p.add_(buf, alpha=-lr)
        else:
            addcdiv_(p, grad, avg, value=-lr)
