"""Shared pieces of the optimizers: closure handling, argument checks, state init."""

from __future__ import annotations

import ember

from ._inplace import add_scaled, addcmul_, lerp_, scalar_tensor


def run_closure(closure):
    """Evaluate the closure with grad enabled (it usually calls backward)."""
    if closure is None:
        return None
    with ember.enable_grad():
        return closure()


def check_common(lr, eps=None, betas=None, weight_decay=None) -> None:
    """PyTorch's shared argument checks, in its order and with its messages."""
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps is not None:
        check_non_negative(epsilon=eps)
    if betas is not None:
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if weight_decay is not None:
        check_non_negative(weight_decay=weight_decay)


def check_non_negative(**values) -> None:
    """PyTorch's ``Invalid <name> value: <value>`` checks, in the order given (NaN fails)."""
    for name, value in values.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {name} value: {value}")


def zero_step() -> ember.Tensor:
    """The 'step' counter: a 0-d float tensor, as PyTorch stores it."""
    return scalar_tensor(0.0)


def zero_state(p, *names: str) -> dict:
    """A fresh per-parameter state: the step counter, then one zero buffer shaped like
    ``p`` per name (in PyTorch's key order)."""
    return {"step": zero_step(), **{name: ember.zeros_like(p) for name in names}}


def scalar_value(t) -> float:
    """A per-parameter scalar state as a Python float (per-param: 0-d; flat: a vector of
    equal values, one per parameter)."""
    if not isinstance(t, ember.Tensor):
        return float(t)
    return t.item() if t.dim() == 0 else t[0].item()


def bump_step(state) -> float:
    """Increment the stored step counter and return its new value as a Python float."""
    step_t = state["step"]
    if isinstance(step_t, ember.Tensor):
        step_t.add_(1)
        return scalar_value(step_t)
    state["step"] = step_t + 1
    return float(state["step"])


def prepare_grad(p, grad, maximize: bool, weight_decay: float, decoupled: bool = False,
                 lr: float = 0.0):
    """The gradient the update sees: negated for maximize, plus L2 weight decay; with
    ``decoupled`` (AdamW's rule) the decay shrinks ``p`` by ``lr * weight_decay`` instead."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        if decoupled:
            p.mul_(1 - lr * weight_decay)
        else:
            grad = add_scaled(grad, p, weight_decay)
    return grad


def update_moments(state, grad, beta1: float, beta2: float):
    """Adam's running moments, shared by Adam, NAdam and RAdam: ``exp_avg`` moves toward
    ``grad`` and ``exp_avg_sq`` toward ``grad**2``, in place. Returns both."""
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    lerp_(exp_avg, grad, 1 - beta1)
    addcmul_(exp_avg_sq.mul_(beta2), grad, grad, value=1 - beta2)
    return exp_avg, exp_avg_sq
