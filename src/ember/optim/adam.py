"""Adam (with AMSGrad, L2 or decoupled weight decay, maximize)."""

from __future__ import annotations

import ember

from . import _fused_cuda
from ._common import bump_step, check_common, prepare_grad, update_moments, zero_state
from ._flat import ElementwiseOptimizer
from ._inplace import addcdiv_, copy_, maximum

__all__ = ["Adam"]


class Adam(ElementwiseOptimizer):
    """Adam: ``m = lerp(m, g, 1 - beta1)``, ``v = beta2 v + (1 - beta2) g^2``,
    ``p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)``.

    ``amsgrad`` keeps the running max of ``v``; ``decoupled_weight_decay`` shrinks ``p``
    by ``lr * weight_decay`` first (AdamW) instead of adding ``weight_decay * p`` to ``g``.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        check_common(lr, eps, betas, weight_decay)
        betas = tuple(float(b) if isinstance(b, ember.Tensor) else b for b in betas)
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
            "capturable": capturable, "differentiable": differentiable, "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _init_state(self, p, group) -> dict:
        state = zero_state(p, "exp_avg", "exp_avg_sq")
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = ember.zeros_like(p)
        return state

    def _update(self, p, grad, state, group) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        step = bump_step(state)
        if _fused_cuda.adam(p, grad, state, group, step):
            return
        grad = prepare_grad(p, grad, group["maximize"], group["weight_decay"],
                            group.get("decoupled_weight_decay", False), lr)
        exp_avg, exp_avg_sq = update_moments(state, grad, beta1, beta2)
        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        if group["amsgrad"]:
            max_sq = state["max_exp_avg_sq"]
            copy_(max_sq, maximum(max_sq, exp_avg_sq))
            denom = (max_sq.sqrt() / bias_correction2_sqrt).add_(eps)
        else:
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
        addcdiv_(p, exp_avg, denom, value=-step_size)
