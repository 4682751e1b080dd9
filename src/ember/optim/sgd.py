"""SGD with momentum, dampening, Nesterov momentum, weight decay and maximize."""

from __future__ import annotations

from . import _fused_cuda
from ._flat import ElementwiseOptimizer
from ._inplace import add_scaled

__all__ = ["SGD"]


class SGD(ElementwiseOptimizer):
    """Stochastic gradient descent, PyTorch's update rule step for step.

    ``buf = momentum * buf + (1 - dampening) * g`` (the first step copies ``g``), then
    ``p -= lr * (g + momentum * buf if nesterov else buf)``.

    Example:
        >>> opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr, "momentum": momentum, "dampening": dampening,
            "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
            "foreach": foreach, "differentiable": differentiable, "fused": fused,
        }
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def _init_state(self, p, group) -> dict:
        return {}  # the momentum buffer starts as a copy of the first gradient

    def _update(self, p, grad, state, group) -> None:
        momentum, weight_decay = group["momentum"], group["weight_decay"]
        buf = state.get("momentum_buffer") if momentum != 0 else None
        if buf is not None and _fused_cuda.sgd(p, grad, buf, group):
            return
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            grad = add_scaled(grad, p, weight_decay)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = grad.detach().clone()
                state["momentum_buffer"] = buf
            else:
                buf.mul_(momentum).add_(grad, alpha=1 - group["dampening"])
            grad = add_scaled(grad, buf, momentum) if group["nesterov"] else buf
        p.add_(grad, alpha=-group["lr"])
