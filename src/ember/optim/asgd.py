"""ASGD: averaged stochastic gradient descent."""

from __future__ import annotations

import ember

from ._common import bump_step, check_common, prepare_grad, scalar_value, zero_step
from ._flat import ElementwiseOptimizer
from ._inplace import copy_, scalar_tensor

__all__ = ["ASGD"]


class ASGD(ElementwiseOptimizer):
    """SGD with decaying step ``eta_t = lr / (1 + lambd lr t)^alpha`` and a running
    average ``ax`` of the iterates, started at step ``t0``."""

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        check_common(lr, weight_decay=weight_decay)
        defaults = {
            "lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0, "weight_decay": weight_decay,
            "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _init_state(self, p, group) -> dict:
        return {"step": zero_step(), "eta": scalar_tensor(group["lr"]),
                "mu": scalar_tensor(1.0), "ax": ember.zeros_like(p)}

    def _update(self, p, grad, state, group) -> None:
        lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
        step = bump_step(state)
        grad = prepare_grad(p, grad, group["maximize"], group["weight_decay"])
        eta, mu, ax = state["eta"], state["mu"], state["ax"]
        eta_value = scalar_value(eta)
        p.mul_(1 - lambd * eta_value)
        p.add_(grad, alpha=-eta_value)
        mu_value = scalar_value(mu)
        if mu_value != 1:
            ax.add_(p.sub(ax).mul_(mu_value))
        else:
            copy_(ax, p)
        # stored in float32 like PyTorch's as_tensor(...).copy_
        eta[...] = lr / ((1 + lambd * lr * step) ** alpha)
        mu[...] = 1 / max(1, step - t0)
