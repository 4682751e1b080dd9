"""NAdam: Adam with Nesterov momentum (momentum_decay schedule, optional decoupled decay)."""

from __future__ import annotations

import ember

from ._common import (bump_step, check_common, check_non_negative, prepare_grad, scalar_value,
                      update_moments, zero_step)
from ._flat import ElementwiseOptimizer
from ._inplace import addcdiv_, scalar_tensor

__all__ = ["NAdam"]


class NAdam(ElementwiseOptimizer):
    """Dozat's NAdam as PyTorch implements it: ``mu_t = beta1 (1 - 0.5 * 0.96^(t psi))``
    with ``psi = momentum_decay``; the product of the ``mu_t`` is kept per parameter."""

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_common(lr, eps, betas, weight_decay)
        check_non_negative(momentum_decay=momentum_decay)
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize, "foreach": foreach, "capturable": capturable,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _init_state(self, p, group) -> dict:
        return {"step": zero_step(), "mu_product": scalar_tensor(1.0),
                "exp_avg": ember.zeros_like(p), "exp_avg_sq": ember.zeros_like(p)}

    def _update(self, p, grad, state, group) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        momentum_decay = group["momentum_decay"]
        step = bump_step(state)
        bias_correction2 = 1 - beta2**step
        grad = prepare_grad(p, grad, group["maximize"], group["weight_decay"],
                            group["decoupled_weight_decay"], lr)
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        mu_product_t = state["mu_product"]
        mu_product_t.mul_(mu)  # kept in float32 as PyTorch does
        mu_product = scalar_value(mu_product_t)
        mu_product_next = mu_product * mu_next
        exp_avg, exp_avg_sq = update_moments(state, grad, beta1, beta2)
        denom = exp_avg_sq.div(bias_correction2).sqrt().add_(eps)
        addcdiv_(p, grad, denom, value=-lr * (1.0 - mu) / (1.0 - mu_product))
        addcdiv_(p, exp_avg, denom, value=(-lr * mu_next) / (1.0 - mu_product_next))
