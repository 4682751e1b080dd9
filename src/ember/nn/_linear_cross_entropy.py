"""``F.linear_cross_entropy`` and ``LinearCrossEntropyOptions``: a classifier head's linear
layer and its cross entropy in one call.

Without ``options`` it is ``cross_entropy(linear(input, W, b), target, ...)`` (the
reference path, every autograd feature). With ``options`` PyTorch's chunked path runs:
the batch is cut into ``batch_chunk_size`` rows, each chunk's logits are built, reduced
and differentiated, then dropped, so the full ``(N, C)`` logits never exist at once (the
point for LLM vocabulary heads). The scalar reductions compute the gradients during
forward and hand them out in backward (one backward only unless ``allow_retain_graph``);
``reduction="none"`` recomputes its chunks in backward. Configurations the chunked path
does not cover fall back to the reference path with PyTorch's warning.

ember accumulates in the input's dtype whatever ``acc_policy``/``acc_dtype`` say: the
options are validated and resolved as PyTorch's, and steer only the chunk size.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Literal

import ember

from .._ops._cross_entropy import cross_entropy
from ._functional import linear

__all__ = ["LinearCrossEntropyOptions", "linear_cross_entropy"]

_POLICIES = ("auto", "accurate", "balanced", "compact")
# PyTorch's measured per-(device, dtype) picks of (acc_policy, chunking_method).
_AUTO_DEFAULTS = {
    ("cuda", "bfloat16"): ("compact", "aspect_ratio:2"),
    ("cuda", "float16"): ("compact", "aspect_ratio:2"),
    ("cpu", "bfloat16"): ("accurate", "aspect_ratio"),
    ("cpu", "float16"): ("accurate", "aspect_ratio"),
}
_AUTO_FALLBACK = ("compact", "aspect_ratio:2")


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """How the chunked ``linear_cross_entropy`` cuts the batch.

    Args:
        allow_retain_graph: keep the precomputed gradients so backward may run again.
        batch_chunk_size: rows per chunk (``None``: from ``chunking_method``, else one chunk).
        chunking_method: ``"auto"``, ``"aspect_ratio"``, ``"aspect_ratio:N"`` or ``None``;
            ``aspect_ratio`` makes a chunk's ``(rows, C)`` logits as large as the
            ``(N, in_features)`` input, ``:N`` divides that by N.
        acc_policy: PyTorch's precision/memory trade-off name (validated, resolved).
        acc_dtype: PyTorch's accumulation dtype (validated, resolved).
    """

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: Literal["accurate", "balanced", "compact", "auto"] = "auto"
    acc_dtype: object = None

    def __post_init__(self):
        if self.acc_policy not in _POLICIES:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = self.chunking_method.partition(":")
            factor = factor if sep else "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        size = self.batch_chunk_size
        if not (size is None or (isinstance(size, int) and size > 0)):
            raise ValueError(f"batch_chunk_size must be positive int or None, got {size!r}")
        if self.acc_dtype is not None and self.acc_dtype not in (
                ember.float16, ember.bfloat16, ember.float32, ember.float64):
            raise ValueError(
                "acc_dtype must be one of {None, torch.float16, torch.bfloat16, "
                f"torch.float32, torch.float64}}, got {self.acc_dtype!r}. Pass acc_dtype=None "
                "to let the op pick automatically.")

    @staticmethod
    def _chunk_rows(method: str, num_batches: int, in_features: int, num_classes: int) -> int:
        """The ``aspect_ratio[:N]`` chunk size: a power of two, divided by N."""
        factor = int(method.split(":", 1)[1]) if ":" in method else 1
        target = _ceil_div(num_batches, _ceil_div(num_classes, in_features))
        return min((1 << (target - 1).bit_length()) // factor, num_batches)

    def _adjust(self, num_batches: int, in_features: int, num_classes: int, dtype,
                device=None) -> LinearCrossEntropyOptions:
        """These options with every ``"auto"``/``None`` resolved for one call."""
        acc_policy, method = self.acc_policy, self.chunking_method
        if method == "auto" and self.batch_chunk_size is not None:
            method = None  # an explicit size wins over the automatic pick
        if acc_policy == "auto" or method == "auto":
            dtype_name = str(dtype).rsplit(".", 1)[-1]
            pick = (_AUTO_DEFAULTS.get((device.type, dtype_name), _AUTO_FALLBACK)
                    if device is not None else _AUTO_FALLBACK)
            acc_policy = pick[0] if acc_policy == "auto" else acc_policy
            method = pick[1] if method == "auto" else method
        rows = num_batches if self.batch_chunk_size is None else min(self.batch_chunk_size,
                                                                       num_batches)
        if method is not None:
            rows = self._chunk_rows(method, num_batches, in_features, num_classes)
            if self.batch_chunk_size is not None and self.batch_chunk_size != rows:
                raise ValueError(
                    f"batch_chunk_size (={self.batch_chunk_size}) and chunking_method "
                    f"('{method}') give different chunk sizes ({self.batch_chunk_size} vs "
                    f"{rows}); pass only one.")
        acc_dtype = self.acc_dtype
        if acc_dtype is None:
            low = dtype in (ember.float16, ember.bfloat16)
            on_cpu = device is not None and device.type == "cpu"
            acc_dtype = ember.float32 if self.acc_policy == "auto" and low and on_cpu else dtype
        return dataclasses.replace(self, acc_policy=acc_policy, chunking_method=method,
                                   batch_chunk_size=max(1, rows), acc_dtype=acc_dtype)


def _chunk_loss(x, w, t, b, weight, ignore_index, reduction):
    return cross_entropy(linear(x, w, b), t, weight=weight, ignore_index=ignore_index,
                         reduction=reduction)


def _chunk_grads(x, w, b, t, weight, ignore_index, reduction, grad_output, needs):
    """One chunk's loss and the gradients of ``<loss, grad_output>`` for the inputs in
    ``needs`` (None elsewhere), built on detached leaves so nothing outlives the chunk."""
    leaves = [v.detach().requires_grad_(need) if v is not None else None
              for v, need in zip((x, w, b), needs)]
    with ember.enable_grad():
        loss = _chunk_loss(leaves[0], leaves[1], t, leaves[2], weight, ignore_index, reduction)
        wanted = [v for v, need in zip(leaves, needs) if need]
        grads = iter(ember.autograd.grad(loss, wanted, grad_output) if wanted else ())
    return loss.detach(), [next(grads) if need else None for need in needs]


def _add(total, part):
    return part if total is None else total.add_(part)


class _ChunkedScalarLoss(ember.autograd.Function):
    """``sum``/``mean`` of the chunked loss; the gradients are summed chunk by chunk in
    forward and scaled by the incoming gradient in backward."""

    @staticmethod
    def forward(ctx, input, linear_weight, linear_bias, target, weight, ignore_index,
                reduction, rows, allow_retain_graph, needs):
        total, grad_w, grad_b, grad_x_parts = None, None, None, []
        one = ember.ones((), dtype=input.dtype, device=input.device)
        for start in range(0, input.shape[0], rows):
            x, t = input[start:start + rows], target[start:start + rows]
            loss, (gx, gw, gb) = _chunk_grads(x, linear_weight, linear_bias, t, weight,
                                              ignore_index, "sum", one, needs)
            total = _add(total, loss)
            grad_x_parts.append(gx)
            grad_w, grad_b = _add(grad_w, gw), _add(grad_b, gb)
        grad_x = ember.cat(grad_x_parts) if needs[0] else None
        if reduction == "mean":  # divide by the summed weights of the counted targets
            counted = target != ignore_index
            if weight is None:
                scale = counted.sum()
            else:
                scale = (weight[ember.where(counted, target, 0)] * counted).sum()
            scale = scale.to(input.dtype)
            total = total / scale
            grad_x, grad_w, grad_b = (g / scale if g is not None else None
                                      for g in (grad_x, grad_w, grad_b))
        ctx.grads = (grad_x, grad_w, grad_b)
        ctx.allow_retain_graph = allow_retain_graph
        return total

    @staticmethod
    def backward(ctx, grad_output):
        if ctx.grads is None:
            raise RuntimeError(
                "linear_cross_entropy chunked backward called twice; retain_graph=True / "
                "double backward are not supported.")
        grads = ctx.grads
        if not ctx.allow_retain_graph:
            ctx.grads = None
        grad_x, grad_w, grad_b = (g * grad_output if g is not None else None for g in grads)
        return grad_x, grad_w, grad_b, None, None, None, None, None, None, None


class _ChunkedUnreducedLoss(ember.autograd.Function):
    """Per-row losses chunk by chunk; backward recomputes each chunk's logits."""

    @staticmethod
    def forward(ctx, input, linear_weight, linear_bias, target, weight, ignore_index, rows):
        ctx.save_for_backward(input, linear_weight, linear_bias)
        ctx.rest = (target, weight, ignore_index, rows)
        return ember.cat([_chunk_loss(input[s:s + rows], linear_weight, target[s:s + rows],
                                      linear_bias, weight, ignore_index, "none")
                          for s in range(0, input.shape[0], rows)])

    @staticmethod
    def backward(ctx, grad_output):
        input, linear_weight, linear_bias = ctx.saved_tensors
        target, weight, ignore_index, rows = ctx.rest
        needs = tuple(ctx.needs_input_grad[:3])
        grad_w = grad_b = None
        grad_x_parts = []
        for s in range(0, input.shape[0], rows):
            _, (gx, gw, gb) = _chunk_grads(input[s:s + rows], linear_weight, linear_bias,
                                           target[s:s + rows], weight, ignore_index, "none",
                                           grad_output[s:s + rows], needs)
            grad_x_parts.append(gx)
            grad_w, grad_b = _add(grad_w, gw), _add(grad_b, gb)
        grad_x = ember.cat(grad_x_parts) if needs[0] else None
        return grad_x, grad_w, grad_b, None, None, None, None


def _check_shapes(input, linear_weight, linear_bias):
    """PyTorch's argument checks; returns ``(num_classes, out_features)``."""
    if input.dim() < 1 or input.dim() > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError("expected linear_weight with dimensionality at least 2, got "
                           f"{linear_weight.dim()}")
    in_features = input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(
            "expected equal input and linear_weight last dimensions (in_features), got "
            f"{input.shape[-1]} and {linear_weight.shape[-1]}, respectively")
    num_classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(num_classes, *out_features)}, got "
                           f"{tuple(linear_bias.shape)}")
    if out_features and input.dim() == 1:
        raise RuntimeError(
            f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} "
            f"requires batched input, (N, {in_features}), got unbatched input with shape "
            f"{tuple(input.shape)}")
    return num_classes, out_features


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None,
                         reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0,
                         options: LinearCrossEntropyOptions | None = None):
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``.

    Shape: input ``(in_features)`` or ``(N, in_features)``; linear_weight
    ``(C, in_features)`` or ``(C, d1, ..., dK, in_features)`` (K-dimensional loss, batched
    input only); target class indices ``()``/``(N)``/``(N, d1, ...)`` or probabilities
    shaped like the logits. ``ignore_index`` defaults to -100 for index targets and may
    not be given for probability targets.
    """
    num_classes, out_features = _check_shapes(input, linear_weight, linear_bias)
    in_features = input.shape[-1]
    logits_shape = (*input.shape[:-1], num_classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    ignore_index = -100 if ignore_index is None else ignore_index
    if options is not None:
        chunkable = (not out_features and reduction in ("mean", "sum", "none")
                     and label_smoothing == 0.0 and target.dtype == ember.int64)
        if chunkable:
            return _chunked(input, linear_weight, target, linear_bias, weight, reduction,
                            ignore_index, options, num_classes)
        warnings.warn(
            "linear_cross_entropy: ``options`` ignored; chunked path needs reduction in "
            "{'mean','sum','none'}, label_smoothing == 0, target.dtype == int64, "
            f"out_features == (). Got reduction={reduction!r}, label_smoothing="
            f"{label_smoothing}, target.dtype={target.dtype}, out_features={out_features}, "
            "tracing=False, linear_bias.shape="
            f"{tuple(linear_bias.shape) if linear_bias is not None else None}.", stacklevel=2)
    if out_features:  # Linear takes 2-D weights: flatten the class dims, unflatten after
        flat = math.prod(out_features, start=num_classes)
        linear_weight = linear_weight.reshape(flat, in_features)
        linear_bias = linear_bias.reshape(flat) if linear_bias is not None else None
    logits = linear(input, linear_weight, linear_bias).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, reduction=reduction,
                         ignore_index=ignore_index, label_smoothing=label_smoothing)


def _chunked(input, linear_weight, target, linear_bias, weight, reduction, ignore_index,
             options, num_classes):
    batched = input.dim() == 2
    if not batched:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    options = options._adjust(input.shape[0], input.shape[1], num_classes, input.dtype,
                              input.device)
    rows = options.batch_chunk_size
    if reduction == "none":
        result = _ChunkedUnreducedLoss.apply(input, linear_weight, linear_bias, target, weight,
                                             ignore_index, rows)
    else:
        grad_on = ember.is_grad_enabled()
        needs = (input.requires_grad and grad_on, linear_weight.requires_grad and grad_on,
                 linear_bias is not None and linear_bias.requires_grad and grad_on)
        result = _ChunkedScalarLoss.apply(input, linear_weight, linear_bias, target, weight,
                                          ignore_index, reduction, rows,
                                          options.allow_retain_graph, needs)
    return result if batched else result.squeeze(0)
