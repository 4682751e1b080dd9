"""SparseAdam: Adam's moments updated only on the rows a sparse gradient touches
(``nn.Embedding(sparse=True)``), PyTorch's "lazy" Adam."""

from __future__ import annotations

import math

import ember

from ._common import check_common, run_closure
from .optimizer import Optimizer

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    """For the (coalesced) entries ``i`` of a sparse gradient ``g``:
    ``m[i] += (1 - beta1) (g - m[i])``, ``v[i] += (1 - beta2) (g^2 - v[i])``,
    ``p[i] -= lr sqrt(1 - beta2^t) / (1 - beta1^t) * m[i] / (sqrt(v[i]) + eps)``; other
    entries keep their moments and values. Dense gradients are refused, as PyTorch does.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, maximize: bool = False) -> None:
        check_common(lr, eps, betas)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.is_sparse:
                    raise ValueError(
                        "SparseAdam requires dense parameter tensors, but got a sparse one")

    @ember.no_grad()
    def step(self, closure=None):
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if not p.grad.is_sparse:
                    raise RuntimeError(
                        "SparseAdam does not support dense gradients, please consider Adam "
                        "instead")
                grad = p.grad.coalesce()
                if group["maximize"]:
                    grad = -grad
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = ember.zeros_like(p)
                    state["exp_avg_sq"] = ember.zeros_like(p)
                state["step"] += 1
                rows = tuple(grad._indices())  # distinct positions: plain setitem is exact
                values = grad._values()
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                old_avg, old_sq = exp_avg[rows], exp_avg_sq[rows]
                new_avg = old_avg + (values - old_avg) * (1 - beta1)
                new_sq = old_sq + (values * values - old_sq) * (1 - beta2)
                exp_avg[rows] = new_avg
                exp_avg_sq[rows] = new_sq
                step = state["step"]
                step_size = lr * math.sqrt(1 - beta2**step) / (1 - beta1**step)
                p[rows] = p[rows] - step_size * new_avg / (new_sq.sqrt() + eps)
        return loss
