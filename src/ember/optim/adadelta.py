"""Adadelta: step sizes from running averages of squared gradients and updates."""

from __future__ import annotations

import ember

from ._common import bump_step, prepare_grad, run_closure, zero_step
from ._inplace import addcmul_
from .optimizer import Optimizer

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """``v = rho v + (1 - rho) g^2``, ``d = sqrt(u + eps) / sqrt(v + eps) * g``,
    ``u = rho u + (1 - rho) d^2``, ``p -= lr * d``."""

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
            "maximize": maximize, "capturable": capturable, "foreach": foreach,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = run_closure(closure)
        with ember.no_grad():
            for group in self.param_groups:
                lr, rho, eps = group["lr"], group["rho"], group["eps"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = zero_step()
                        state["square_avg"] = ember.zeros_like(p)
                        state["acc_delta"] = ember.zeros_like(p)
                    bump_step(state)
                    grad = prepare_grad(p, group["maximize"], group["weight_decay"])
                    square_avg, acc_delta = state["square_avg"], state["acc_delta"]
                    addcmul_(square_avg.mul_(rho), grad, grad, value=1 - rho)
                    std = square_avg.add(eps).sqrt()
                    delta = acc_delta.add(eps).sqrt()
                    delta.div_(std).mul_(grad)
                    addcmul_(acc_delta.mul_(rho), delta, delta, value=1 - rho)
                    p.add_(delta, alpha=-lr)
        return loss
