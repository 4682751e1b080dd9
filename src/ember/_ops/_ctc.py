"""CTC loss: the forward-backward algorithm in log space, vectorised over the batch and
the extended label sequence (one step of Python per time step; the recurrence has no
array-op form).

The gradient follows PyTorch's formula, ``exp(lp) - exp(log(sum alpha*beta) + nll - lp)``,
which is the gradient with respect to the logits that produced normalised log-probs
(PyTorch's documented behaviour; values match it exactly).
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ._util import Tensor, _make, xp_of


def _logaddexp(xp, a, b):
    return xp.logaddexp(a, b)


def _shift(xp, array, by, fill):
    """array shifted right by ``by`` along the last axis, filled with ``fill``."""
    out = xp.full_like(array, fill)
    if by < array.shape[-1]:
        out[..., by:] = array[..., :-by]
    return out


def _shift_left(xp, array, by, fill):
    out = xp.full_like(array, fill)
    if by < array.shape[-1]:
        out[..., :-by] = array[..., by:]
    return out


def _padded_targets(xp, targets, target_lengths, batch):
    """(N, S_max) class indices from padded 2-D targets or 1-D concatenated targets."""
    max_len = int(max(target_lengths)) if len(target_lengths) else 0
    if targets.ndim == 2:
        return targets[:, :max_len].astype(np.int64)
    lengths = xp.asarray(target_lengths, dtype=np.int64)
    offsets = xp.cumsum(lengths) - lengths
    positions = offsets[:, None] + xp.arange(max_len)[None, :]
    valid = xp.arange(max_len)[None, :] < lengths[:, None]
    flat = targets.astype(np.int64)
    if flat.size == 0:
        return xp.zeros((batch, max_len), np.int64)
    return xp.where(valid, flat[xp.minimum(positions, flat.size - 1)], 0)


class CTC(Function):
    _array_io = True
    _node_name = "CtcLossBackward0"

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
        xp = xp_of(log_probs)
        steps, batch, _ = log_probs.shape
        labels = _padded_targets(xp, targets, target_lengths, batch)
        ext_len = 2 * labels.shape[1] + 1
        extended = xp.full((batch, ext_len), blank, dtype=np.int64)
        extended[:, 1::2] = labels
        skip = xp.zeros((batch, ext_len), dtype=bool)
        skip[:, 3::2] = extended[:, 3::2] != extended[:, 1:-2:2]
        t_len = xp.asarray(target_lengths, dtype=np.int64)
        in_len = xp.asarray(input_lengths, dtype=np.int64)
        rows = xp.arange(batch)[:, None]
        emissions = log_probs[:, rows, extended]  # (T, N, 2S+1)
        neg_inf = -np.inf
        alpha = xp.full((steps, batch, ext_len), neg_inf, dtype=log_probs.dtype)
        if steps:
            alpha[0, :, 0] = emissions[0, :, 0]
            if ext_len > 1:
                alpha[0, :, 1] = xp.where(t_len > 0, emissions[0, :, 1], neg_inf)
        with np.errstate(invalid="ignore"):
            for t in range(1, steps):
                prev = alpha[t - 1]
                total = _logaddexp(xp, prev, _shift(xp, prev, 1, neg_inf))
                total = _logaddexp(xp, total, xp.where(skip, _shift(xp, prev, 2, neg_inf),
                                                       neg_inf))
                alpha[t] = total + emissions[t]
        last = xp.clip(in_len - 1, 0, None)
        final = alpha[last, xp.arange(batch)]  # (N, 2S+1) at each sample's last step
        end = 2 * t_len
        with np.errstate(invalid="ignore"):
            log_likelihood = _logaddexp(
                xp, final[xp.arange(batch), end],
                xp.where(t_len > 0, final[xp.arange(batch), xp.maximum(end - 1, 0)], neg_inf))
        nll = -log_likelihood
        ctx.save_for_backward(log_probs, emissions, alpha, extended, skip, nll)
        ctx.lengths = (in_len, t_len)
        ctx.zero_infinity = zero_infinity
        if zero_infinity:
            return xp.where(xp.isinf(nll), xp.zeros((), nll.dtype), nll)
        return nll

    @staticmethod
    def backward(ctx, grad):
        log_probs, emissions, alpha, extended, skip, nll = (
            t._data if isinstance(t, Tensor) else t for t in ctx.saved_tensors)
        in_len, t_len = ctx.lengths
        xp = xp_of(log_probs)
        steps, batch, classes = log_probs.shape
        ext_len = extended.shape[1]
        neg_inf = -np.inf
        s_index = xp.arange(ext_len)[None, :]
        end = (2 * t_len)[:, None]
        start_mask = (s_index == end) | ((s_index == end - 1) & (t_len[:, None] > 0))
        skip_next = _shift_left(xp, skip, 2, False)  # may s jump to s + 2
        beta = xp.full_like(alpha, neg_inf)
        following = xp.full((batch, ext_len), neg_inf, dtype=alpha.dtype)
        with np.errstate(invalid="ignore"):
            for t in range(steps - 1, -1, -1):
                total = _logaddexp(xp, following, _shift_left(xp, following, 1, neg_inf))
                total = _logaddexp(xp, total, xp.where(
                    skip_next, _shift_left(xp, following, 2, neg_inf), neg_inf))
                recur = total + emissions[t]
                init = xp.where(start_mask, emissions[t], neg_inf)
                is_last = (in_len - 1 == t)[:, None]
                inside = (t < in_len - 1)[:, None]
                beta[t] = xp.where(is_last, init, xp.where(inside, recur, neg_inf))
                following = beta[t]
            joint = alpha + beta  # (T, N, 2S+1), emission counted twice
            peak = joint.max(axis=2, keepdims=True)
            peak = xp.where(xp.isfinite(peak), peak, 0)
            one_hot = (extended[:, :, None] == xp.arange(classes)[None, None, :]).astype(
                alpha.dtype)
            summed = xp.einsum("tns,nsc->tnc", xp.exp(joint - peak), one_hot)
            with np.errstate(divide="ignore"):
                log_summed = xp.log(summed) + peak
            result = xp.exp(log_probs) - xp.exp(log_summed + nll[None, :, None] - log_probs)
        active = (xp.arange(steps)[:, None] < in_len[None, :])[:, :, None]
        upstream = grad._data if isinstance(grad, Tensor) else grad
        if ctx.zero_infinity:
            active = active & ~xp.isinf(nll)[None, :, None]
        result = xp.where(active, result, 0) * upstream[None, :, None]
        return _make(result.astype(log_probs.dtype, copy=False)), None, None, None, None, None


def _as_lengths(lengths):
    if isinstance(lengths, Tensor):
        return [int(v) for v in np.asarray(lengths.detach()._host_array()).reshape(-1)]
    if isinstance(lengths, int):
        return [lengths]
    return [int(v) for v in lengths]


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """Connectionist Temporal Classification loss.

    Shape: log_probs (T, N, C) or (T, C); targets (N, S) padded or (sum(target_lengths),)
    concatenated; input_lengths and target_lengths (N,). ``mean`` divides each sample's
    loss by its target length, then averages over the batch.
    """
    unbatched = log_probs.dim() == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        targets = targets.unsqueeze(0) if targets.dim() == 1 else targets
    in_lengths = _as_lengths(input_lengths)
    t_lengths = _as_lengths(target_lengths)
    steps, batch = log_probs.shape[0], log_probs.shape[1]
    if len(in_lengths) != batch:
        raise RuntimeError(
            f"input_lengths must be of size batch_size, but got {len(in_lengths)}")
    if any(length > steps for length in in_lengths):
        bad = max(in_lengths)
        raise RuntimeError(
            f"Expected input_lengths to have value at most {steps}, but got value {bad} "
            "(while checking arguments for ctc_loss_cpu)")
    losses = CTC.apply(log_probs, targets._data, in_lengths, t_lengths, blank, zero_infinity)
    if reduction == "mean":
        divisor = np.maximum(np.asarray(t_lengths, dtype=np.float64), 1).astype(
            losses._data.dtype)
        return (losses / _make(xp_of(losses._data).asarray(divisor))).mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses.reshape(()) if unbatched else losses
    raise ValueError(f"{reduction} is not a valid value for reduction")
