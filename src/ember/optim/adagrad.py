"""Adagrad (with lr_decay and initial_accumulator_value)."""

from __future__ import annotations

import ember

from ._common import bump_step, check_common, check_non_negative, prepare_grad, zero_step
from ._flat import ElementwiseOptimizer
from ._inplace import addcdiv_, addcmul_

__all__ = ["Adagrad"]


class Adagrad(ElementwiseOptimizer):
    """``s += g^2``, ``p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)``.

    As in PyTorch the state is created in the constructor, so ``state_dict()`` of a fresh
    Adagrad already lists every parameter.
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check_common(lr)
        check_non_negative(lr_decay=lr_decay, weight_decay=weight_decay,
                           initial_accumulator_value=initial_accumulator_value, epsilon=eps)
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

    def _init_state(self, p, group) -> dict:
        return {"step": zero_step(),
                "sum": ember.full_like(p, group["initial_accumulator_value"])}

    def _update(self, p, grad, state, group) -> None:
        step = bump_step(state)
        grad = prepare_grad(p, grad, group["maximize"], group["weight_decay"])
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        state_sum = state["sum"]
        addcmul_(state_sum, grad, grad, value=1)
        std = state_sum.sqrt().add_(group["eps"])
        addcdiv_(p, grad, std, value=-clr)
