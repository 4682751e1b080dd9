"""ASGD: averaged stochastic gradient descent."""

from __future__ import annotations

import ember

from ._common import bump_step, prepare_grad, run_closure, zero_step
from ._inplace import copy_, scalar_tensor
from .optimizer import Optimizer

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """SGD with decaying step ``eta_t = lr / (1 + lambd lr t)^alpha`` and a running
    average ``ax`` of the iterates, started at step ``t0``."""

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0, "weight_decay": weight_decay,
            "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = run_closure(closure)
        with ember.no_grad():
            for group in self.param_groups:
                lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = zero_step()
                        state["eta"] = scalar_tensor(lr)
                        state["mu"] = scalar_tensor(1.0)
                        state["ax"] = ember.zeros_like(p)
                    step = bump_step(state)
                    grad = prepare_grad(p, group["maximize"], group["weight_decay"])
                    eta, mu, ax = state["eta"], state["mu"], state["ax"]
                    eta_value = eta.item()
                    p.mul_(1 - lambd * eta_value)
                    p.add_(grad, alpha=-eta_value)
                    if mu.item() != 1:
                        ax.add_(p.sub(ax).mul_(mu))
                    else:
                        copy_(ax, p)
                    copy_(eta, scalar_tensor(lr / ((1 + lambd * lr * step) ** alpha)))
                    copy_(mu, scalar_tensor(1 / max(1, step - t0)))
        return loss
