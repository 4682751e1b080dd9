"""Muon: momentum SGD whose update is orthogonalised by a Newton-Schulz iteration.

Each 2-D parameter keeps one momentum buffer; the (Nesterov) momentum update is replaced
by an approximation of ``U V^T`` from its SVD, computed with a few quintic Newton-Schulz
steps in bfloat16, then scaled for the matrix's shape. PyTorch's single-tensor algorithm,
state layout (``momentum_buffer``) and checks, step for step.
"""

from __future__ import annotations

import math

import ember

from ._common import run_closure
from ._inplace import lerp_
from .optimizer import Optimizer

__all__ = ["Muon"]

# Keller Jordan's published constants (PyTorch's defaults).
_NS_COEFFICIENTS = (3.4445, -4.775, 2.0315)


def _bf16_addmm(bias, mat1, mat2, beta: float, alpha: float = 1.0):
    """``beta * bias + alpha * mat1 @ mat2`` for bfloat16 operands, rounded to bfloat16 once.

    PyTorch's bfloat16 GEMM accumulates and applies alpha/beta in float32 and rounds only
    the result; rounding the product first (as a plain bfloat16 ``addmm`` chain would)
    changes the orthogonalised update in its last bits on most elements.
    """
    product = mat1.float() @ mat2.float()
    if alpha != 1.0:
        product = product.mul_(alpha)
    return bias.float().mul_(beta).add_(product).bfloat16()


def _zeropower_via_newtonschulz(grad, ns_coefficients, ns_steps: int, eps: float):
    """An approximately orthogonal matrix ``U S' V^T`` (``S'`` near 1) from ``grad``.

    The quintic's coefficients maximise its slope at zero rather than converge, so the
    singular values land roughly in (0.5, 1.5) after few steps; that is Muon's design.
    """
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if grad.dim() != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    tall = grad.size(0) > grad.size(1)
    ortho = grad.bfloat16()
    if tall:  # iterate on the wide orientation: the Gram matrix is the smaller one
        ortho = ortho.T
    ortho = ortho.div(ortho.norm().clamp(min=eps))  # spectral norm <= Frobenius norm <= 1
    for _ in range(ns_steps):
        gram = ortho @ ortho.T
        gram_update = _bf16_addmm(gram, gram, gram, beta=b, alpha=c)
        ortho = _bf16_addmm(ortho, gram_update, ortho, beta=a)
    return ortho.T if tall else ortho


def _adjust_lr(lr: float, adjust_lr_fn: str | None, shape) -> float:
    """Scale ``lr`` so the update's RMS is alike across rectangular shapes: Keller's
    ``sqrt(max(1, A / B))`` ("original", the default) or Moonshot's ``0.2 sqrt(max(A, B))``
    ("match_rms_adamw", to reuse AdamW's learning rate)."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, rows / cols))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(rows, cols))
    else:
        ratio = 1.0
    return lr * ratio


class Muon(Optimizer):
    """Implements Muon (MomentUm Orthogonalized by Newton-Schulz) for 2-D parameters.

    ``B = mu B + g`` (as ``lerp``), the update ``g + mu B`` (Nesterov) or ``B`` is
    orthogonalised by ``ns_steps`` Newton-Schulz steps, the weight decays by
    ``lr * weight_decay`` and the parameter moves by ``-adjusted_lr * update``.

    Args:
        params: 2-D parameters (or groups of them); biases and embeddings belong to
            another optimizer such as AdamW.
        lr: learning rate (default 1e-3).
        weight_decay: decoupled weight decay (default 0.1).
        momentum: momentum factor (default 0.95).
        nesterov: use Nesterov momentum (default True).
        ns_coefficients: the quintic's ``(a, b, c)``.
        eps: floor of the norm the update is divided by (default 1e-7).
        ns_steps: Newton-Schulz iterations (default 5).
        adjust_lr_fn: ``None``/"original" or "match_rms_adamw".

    Example:
        >>> opt = ember.optim.Muon([p for p in model.parameters() if p.ndim == 2], lr=0.02)
    """

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = _NS_COEFFICIENTS,
                 eps: float = 1e-7, ns_steps: int = 5, adjust_lr_fn: str | None = None) -> None:
        if isinstance(lr, ember.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {
            "lr": lr, "weight_decay": weight_decay, "momentum": momentum, "nesterov": nesterov,
            "ns_coefficients": ns_coefficients, "eps": eps, "ns_steps": ns_steps,
            "adjust_lr_fn": adjust_lr_fn,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(
                        "Muon only supports 2D parameters whereas we found a parameter with "
                        f"size: {p.size()}")

    def step(self, closure=None):
        """One Muon update of every parameter with a gradient."""
        loss = run_closure(closure)
        with ember.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if p.is_complex():
                        raise RuntimeError("Muon does not support complex parameters")
                    if p.grad.is_sparse:
                        raise RuntimeError("Muon does not support sparse gradients")
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = ember.zeros_like(p.grad)
                    self._update(p, p.grad, state["momentum_buffer"], group)
        return loss

    @staticmethod
    def _update(p, grad, buf, group) -> None:
        if grad.dim() != 2:
            raise ValueError("Param gradient must be a 2D matrix")
        lr = float(group["lr"])
        momentum = group["momentum"]
        lerp_(buf, grad, 1 - momentum)
        update = grad.lerp(buf, momentum) if group["nesterov"] else buf
        update = _zeropower_via_newtonschulz(update, group["ns_coefficients"],
                                             group["ns_steps"], group["eps"])
        adjusted_lr = _adjust_lr(lr, group["adjust_lr_fn"], p.shape)
        p.mul_(1 - lr * group["weight_decay"])
        # widen first: PyTorch scales the bfloat16 update in the parameter's precision
        p.add_(update.to(p.dtype), alpha=-adjusted_lr)
