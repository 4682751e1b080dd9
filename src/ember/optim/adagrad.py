"""Adagrad (with lr_decay and initial_accumulator_value)."""

from __future__ import annotations

import ember

from ._common import bump_step, prepare_grad, run_closure, zero_step
from ._inplace import addcdiv_, addcmul_
from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """``s += g^2``, ``p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)``.

    As in PyTorch the state is created in the constructor, so ``state_dict()`` of a fresh
    Adagrad already lists every parameter.
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}"
            )
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {
            "lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
            "maximize": maximize, "differentiable": differentiable, "fused": fused,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = zero_step()
                state["sum"] = ember.full_like(p, initial_accumulator_value)

    def step(self, closure=None):
        loss = run_closure(closure)
        with ember.no_grad():
            for group in self.param_groups:
                lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    step = bump_step(state)
                    grad = prepare_grad(p, group["maximize"], group["weight_decay"])
                    clr = lr / (1 + (step - 1) * lr_decay)
                    state_sum = state["sum"]
                    addcmul_(state_sum, grad, grad, value=1)
                    std = state_sum.sqrt().add_(eps)
                    addcdiv_(p, grad, std, value=-clr)
        return loss
