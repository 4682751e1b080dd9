"""RAdam: Adam with the variance of the adaptive learning rate rectified."""

from __future__ import annotations

from ._common import bump_step, check_common, prepare_grad, update_moments, zero_state
from ._flat import ElementwiseOptimizer

__all__ = ["RAdam"]


class RAdam(ElementwiseOptimizer):
    """Liu et al.'s RAdam: plain momentum SGD until the approximated SMA length
    ``rho_t`` exceeds 5, then Adam scaled by the rectification term."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False,
                 *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        check_common(lr, eps, betas, weight_decay)
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "maximize": maximize, "foreach": foreach, "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay, "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _init_state(self, p, group) -> dict:
        return zero_state(p, "exp_avg", "exp_avg_sq")

    def _update(self, p, grad, state, group) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        rho_inf = 2 / (1 - beta2) - 1
        step = bump_step(state)
        grad = prepare_grad(p, grad, group["maximize"], group["weight_decay"],
                            group["decoupled_weight_decay"], lr)
        exp_avg, exp_avg_sq = update_moments(state, grad, beta1, beta2)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        bias_corrected_exp_avg = exp_avg / bias_correction1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive_lr = (bias_correction2**0.5) / exp_avg_sq.sqrt().add_(eps)
            p.add_(bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
        else:
            p.add_(bias_corrected_exp_avg * lr, alpha=-1.0)
