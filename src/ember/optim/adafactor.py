"""Adafactor: Adam-like steps with a factored second moment (Shazeer & Stern, 2018).

A matrix gradient keeps one running mean of squares per row and one per column instead of
one per element, so the optimizer state of an (m, n) weight is m + n numbers, not m * n;
the variance estimate is their outer product over the row mean. Vectors keep the full
per-element variance. The step size is relative to the parameter's RMS, and the update is
clipped to RMS ``d``. Follows PyTorch's single-tensor algorithm and state layout
(``step``, then ``row_var``/``col_var`` or ``variance``).
"""

from __future__ import annotations

import ember

from ._common import run_closure, zero_step
from .optimizer import Optimizer

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    def __init__(self, params, lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple = (None, 1e-3), d: float = 1.0, weight_decay: float = 0.0, *,
                 foreach: bool | None = None, maximize: bool = False) -> None:
        if isinstance(lr, ember.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize}
        super().__init__(params, defaults)

    def _state_for(self, p) -> dict:
        state = self.state[p]
        if not state:
            state["step"] = zero_step()
            grad = p.grad
            if grad.dim() > 1:
                state["row_var"] = grad.new_zeros(grad.shape[:-1] + (1,))
                state["col_var"] = grad.new_zeros(grad.shape[:-2] + (1, grad.shape[-1]))
            else:
                state["variance"] = ember.zeros_like(grad)
        return state

    def step(self, closure=None):
        """One Adafactor update of every parameter with a gradient."""
        loss = run_closure(closure)
        with ember.no_grad():
            for group in self.param_groups:
                eps1, eps2 = group["eps"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if p.is_complex():
                        raise RuntimeError("Adafactor does not support complex parameters")
                    if eps1 is None:  # PyTorch takes it from the group's first parameter
                        eps1 = ember.finfo(p.dtype).eps
                    self._update(p, self._state_for(p), group, eps1, eps2)
        return loss

    @staticmethod
    def _update(p, state, group, eps1: float, eps2: float) -> None:
        lr = float(group["lr"])
        grad = -p.grad if group["maximize"] else p.grad
        state["step"].add_(1)
        step = state["step"].item()
        one_minus_beta2 = step ** group["beta2_decay"]
        rho = min(lr, 1 / step ** 0.5)
        alpha = max(eps2, p.norm(2).item() / p.numel() ** 0.5) * rho
        if group["weight_decay"] != 0:
            p.mul_(1 - lr * group["weight_decay"])
        if grad.dim() > 1:
            row_var, col_var = state["row_var"], state["col_var"]
            row_var.lerp_((grad * grad).mean(dim=-1, keepdim=True), one_minus_beta2)
            col_var.lerp_((grad * grad).mean(dim=-2, keepdim=True), one_minus_beta2)
            var_estimate = row_var @ col_var
            var_estimate.div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=eps1))
        else:
            variance = state["variance"]
            variance.lerp_(grad * grad, one_minus_beta2)
            var_estimate = variance.clone()
        update = var_estimate.clamp_(min=eps1 * eps1).rsqrt_().mul_(grad)
        denom = max(1.0, update.norm(2).item() / (update.numel() ** 0.5 * group["d"]))
        p.add_(update, alpha=-alpha / denom)
