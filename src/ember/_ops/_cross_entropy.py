"""Cross entropy and NLL loss: one fused Function (split from ``loss.py``).

The loss is a weighted sum of log-probabilities, ``-sum(A * log_softmax(x))``, with a
coefficient array A that carries the target one-hot, class weights, ignore_index, label
smoothing and the mean's denominator. That single form gives one max-shifted pass forward
and the closed-form gradient ``softmax * rowsum(A) - A`` backward.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from ._util import Tensor, _make, shape_str, type_name, xp_of
from . import _cross_entropy_cuda
from ._softmax import LogSoftmax, _log_softmax_array
from .activation import log_softmax as _log_softmax_op
from ._kept import strided_arange
from ._loss_common import (_check_bounds, _check_reduction, _raise_out_of_bounds, _refuse_grad,
                           _resolve)


class _ProbabilityTargetLoss(Function):
    """cross_entropy with class probabilities: loss = -sum_c A * log_softmax(x), where
    A = weight * (target * (1 - eps) + eps / C) / divisor; gradient softmax * rowsum(A) - A
    for the input and -A' * logp for the target."""

    _array_io = True

    def name(self):
        """The node PyTorch's composite for probability targets ends in."""
        return "DivBackward1" if self.meta[1] == "mean" else "NegBackward0"

    @staticmethod
    def forward(ctx, x, target, weight, label_smoothing, reduction):
        class_axis = 1 if x.ndim >= 2 else 0
        num_classes = x.shape[class_axis]
        divisor = x.size // max(num_classes, 1) if reduction == "mean" else 1
        logp = _log_softmax_array(x, class_axis)
        if weight is not None:
            weight = weight.reshape(_class_shape(x.ndim, class_axis))
        ctx.meta = (class_axis, reduction, (label_smoothing, num_classes, divisor))
        coefficients = _probability_coefficients(target, weight, ctx.meta[2])
        loss = -(coefficients * logp).sum(axis=class_axis)
        if reduction != "none":
            loss = loss.sum()
            if divisor == 0:  # mean over an empty batch: nan, as PyTorch
                loss = loss * float("nan")
        ctx.save_for_backward(x, target, weight, coefficients, logp)
        return xp_of(x).asarray(loss, dtype=logp.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, target, weight, coefficients, logp = ctx.saved_tensors
        class_axis, reduction, params = ctx.meta
        if reduction == "none":
            grad = grad.unsqueeze(class_axis)
        grad_x = grad_t = grad_w = None
        if _grad_enabled[0]:  # create_graph: keep softmax and A connected to the inputs
            logp = _log_softmax_op(x, class_axis)
            coefficients = _probability_coefficients(target, weight, params)
        if ctx.needs_input_grad[0]:
            row = coefficients.sum(class_axis, keepdim=True)
            grad_x = grad * (logp.exp() * row - coefficients)
        if ctx.needs_input_grad[1]:
            label_smoothing, _, divisor = params
            grad_t = -grad * logp * ((1 - label_smoothing) / divisor)
            if weight is not None:
                grad_t = grad_t * weight
        if ctx.needs_input_grad[2]:  # differentiable here, as in PyTorch's composite
            per_class = -grad * logp * _probability_coefficients(target, None, params)
            other_dims = tuple(d for d in range(per_class.dim()) if d != class_axis)
            grad_w = per_class.sum(other_dims) if other_dims else per_class
        return grad_x, grad_t, grad_w, None, None


def _probability_coefficients(target, weight, params):
    """A for probability targets (arrays or Tensors alike)."""
    label_smoothing, num_classes, divisor = params
    coefficients = (target * (1 - label_smoothing) + label_smoothing / num_classes) / divisor
    return coefficients if weight is None else coefficients * weight


def _class_shape(ndim, class_axis):
    return (-1,) + (1,) * (ndim - class_axis - 1)


class _IndexTargetLoss(Function):
    """cross_entropy / nll_loss with class-index targets, without materialising A: the
    loss gathers one log-probability per sample (plus the label-smoothing row sum), and
    the gradient is ``softmax * rowsum(A)`` with the target entries corrected in place."""

    _array_io = True

    def name(self):
        """PyTorch's node: nll_loss2d's for spatial input; with label smoothing (fused
        here), the sum PyTorch's composite ends in."""
        if self.meta[5] is not None:  # label smoothing's coefficients
            return "AddBackward0"
        return "NllLossBackward0" if len(self._input_meta[0][0]) <= 2 else "NllLoss2DBackward0"

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, label_smoothing, reduction, from_logits):
        xp = xp_of(x)
        class_axis = 1 if x.ndim >= 2 else 0
        num_classes = x.shape[class_axis]
        logp = _log_softmax_array(x, class_axis) if from_logits else x
        dtype = logp.dtype
        if weight is not None:
            weight = weight.astype(dtype, copy=False)
        class_weight = None if weight is None else weight.reshape(
            _class_shape(x.ndim, class_axis))
        rows = None if label_smoothing else _cross_entropy_cuda.index_target_forward(
            xp, logp, target, weight, ignore_index)  # one kernel on a GPU, or None
        if rows is not None:
            safe, w_target, loss, bad = rows
            _raise_out_of_bounds(target, bad)
            index, positions = xp.expand_dims(safe, class_axis), None
            target_coef = w_target
        else:
            keep = target != ignore_index
            safe = xp.where(keep, target, 0)
            _check_target_bounds(safe, target, keep, num_classes)
            index = xp.expand_dims(safe, class_axis)
            w_target = keep.astype(dtype) if weight is None else weight[safe] * keep
            positions = _flat_positions(xp, logp, index)  # kept: backward writes there too
            picked = _take_classes(xp, logp, index, class_axis, positions)
            # without smoothing the coefficients are the weights: no multiply by 1.0
            target_coef = w_target * (1 - label_smoothing) if label_smoothing else w_target
            loss = -target_coef * picked
        smooth_coef = smooth_rows = None
        nll_rows = loss
        if label_smoothing > 0:
            smooth_coef = keep * (label_smoothing / num_classes)
            weighted = logp if class_weight is None else logp * class_weight
            smooth_rows = smooth_coef * weighted.sum(axis=class_axis)
            loss = loss - smooth_rows
        if reduction != "none":
            loss = loss.sum()
            if reduction == "mean":
                total = w_target.sum()
                if total == 0:  # every target ignored, or the kept ones' weights sum to 0
                    loss, target_coef, smooth_coef = _over_zero_total(
                        xp, nll_rows, smooth_rows, total, target_coef, smooth_coef,
                        target != ignore_index)
                else:
                    loss = loss / total
                    target_coef = target_coef / total
                    smooth_coef = None if smooth_coef is None else smooth_coef / total
        ctx.meta = (class_axis, reduction, from_logits, index, target_coef, smooth_coef,
                    class_weight)
        ctx.positions = positions
        ctx.save_for_backward(x, logp if from_logits else None)
        return xp.asarray(loss, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        x, logp = ctx.saved_tensors
        class_axis, reduction, from_logits, index, target_coef, smooth_coef, class_weight = (
            ctx.meta)
        if not ctx.needs_input_grad[0]:
            return (None,) * 7
        if _grad_enabled[0]:  # create_graph: Tensor ops, so double backward works
            coefficients = _make(_coefficients(x._data, class_axis, index, target_coef,
                                               smooth_coef, class_weight))
            if reduction == "none":
                grad = grad.unsqueeze(class_axis)
            if not from_logits:
                return (-grad * coefficients,) + (None,) * 6
            probs = _log_softmax_op(x, class_axis).exp()
            row = coefficients.sum(class_axis, keepdim=True)
            return (grad * (probs * row - coefficients),) + (None,) * 6
        xp = xp_of(x._data)
        g = grad._data
        if smooth_coef is None:  # the kernel takes (N, C) input on a GPU, else None
            fused = _cross_entropy_cuda.index_target_backward(
                xp, (logp if from_logits else x)._data, target_coef, index, g, from_logits)
            if fused is not None:
                return (_make(fused.astype(x._data.dtype, copy=False)),) + (None,) * 6
        if reduction == "none":
            g = xp.expand_dims(g, class_axis)
        g_target = g * xp.expand_dims(target_coef, class_axis)
        if from_logits:
            row = xp.expand_dims(target_coef, class_axis)
            if smooth_coef is not None:
                total_weight = (x._data.shape[class_axis] if class_weight is None
                                else class_weight.sum())
                row = row + xp.expand_dims(smooth_coef, class_axis) * total_weight
            result = xp.exp(logp._data)
            result *= g * row
        else:
            result = xp.zeros_like(x._data)
        _subtract_at_classes(xp, result, index, g_target, class_axis, ctx.positions,
                             zero=not from_logits)
        if smooth_coef is not None:
            smooth = g * xp.expand_dims(smooth_coef, class_axis)
            result -= smooth if class_weight is None else smooth * class_weight
        return (_make(result.astype(x._data.dtype, copy=False)),) + (None,) * 6


def _over_zero_total(xp, nll_rows, smooth_rows, total, target_coef, smooth_coef, kept):
    """The mean's division where the kept targets' weights sum to zero, as PyTorch's: it
    divides anyway, so the loss is 0/0 (nan) or x/0 (+-inf, negative weights) and a kept
    target's coefficient w/0 (nan for a zero weight), while the targets it skips, the
    ignored ones, keep a zero gradient (every target ignored: nan loss, zero gradient).
    With label smoothing PyTorch divides its nll and smoothing sums apart (a 0/0 in
    either makes the loss nan), so the rows of each are summed and divided apart here."""
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = nll_rows.sum() / total
        if smooth_rows is not None:
            loss = loss - smooth_rows.sum() / total
        target_coef = xp.where(kept, target_coef / total, 0)
        if smooth_coef is not None:
            smooth_coef = xp.where(kept, smooth_coef / total, 0)
    return loss, target_coef, smooth_coef


def _flat_positions(xp, array, index):
    """Flat positions of ``index`` (N, 1) in a C-contiguous (N, C) ``array`` on a GPU, the
    form ``_take_classes``/``_subtract_at_classes`` use there: CuPy's take/put_along_axis
    build their index grids in Python (~0.15 ms of host time a call on an H200 machine)
    where a flat take is one launch. None elsewhere (NumPy, other layouts)."""
    if xp is np or array.ndim != 2 or not array.flags.c_contiguous:
        return None
    rows, classes = array.shape
    return strided_arange(xp, array, rows, classes) + index.reshape(-1)


def _take_classes(xp, array, index, class_axis, positions):
    """``take_along_axis(array, index, class_axis).squeeze(class_axis)``."""
    if array.shape[class_axis] == 0:  # no classes: every target is ignored, picks nothing
        # (-0.0, so that the loss -coefficient * picked is +0.0 as PyTorch's)
        return xp.full(index.shape[:class_axis] + index.shape[class_axis + 1:], -0.0,
                       array.dtype)
    if positions is None:
        return xp.take_along_axis(array, index, class_axis).squeeze(class_axis)
    return array.reshape(-1).take(positions)


def _subtract_at_classes(xp, array, index, values, class_axis, positions, zero=False):
    """``array[.., index, ..] -= values`` along ``class_axis`` (indices distinct per row),
    in place; ``positions`` are ``_flat_positions`` for an array of ``array``'s shape.
    ``zero``: ``array`` is all zeros, so the entries are ``0 - values`` without reading
    them (the same values, +0.0 included, one launch fewer on a GPU)."""
    if array.shape[class_axis] == 0:  # no classes (every target ignored): nothing to write
        return
    if positions is None:
        current = 0 if zero else xp.take_along_axis(array, index, class_axis)
        xp.put_along_axis(array, index, current - values, class_axis)
        return
    flat = array.reshape(-1)
    flat[positions] = (0 if zero else flat.take(positions)) - values.reshape(-1)


def _coefficients(x, class_axis, index, target_coef, smooth_coef, class_weight):
    """The dense coefficient array A (used only when building a differentiable graph)."""
    xp = xp_of(x)
    coefficients = xp.zeros_like(x)
    xp.put_along_axis(coefficients, index, xp.expand_dims(target_coef, class_axis), class_axis)
    if smooth_coef is not None:
        smooth = xp.expand_dims(smooth_coef, class_axis)
        coefficients += smooth if class_weight is None else smooth * class_weight
    return coefficients


def _check_nll_args(input, target, weight, ignore_index, label_smoothing=0.0):
    """PyTorch's argument checks for class-index targets, in PyTorch's order."""
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    num_classes = input.shape[1] if input.dim() >= 2 else input.shape[0]
    if input.dim() <= 2 and target.dim() > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input.dim() >= 2 and (target.dim() == 0 or input.shape[0] != target.shape[0]):
        batch = target.shape[0] if target.dim() else 1
        raise ValueError(
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
            f"({batch}).")
    if target._data.dtype not in (np.int64, np.uint8):
        raise RuntimeError(
            "expected target dtype to be Long or Byte, but got "
            f"{type_name(target._data.dtype)}")
    if input.dim() > 2:
        expected = (input.shape[0],) + tuple(input.shape[2:])
        if tuple(target.shape) != expected:
            raise RuntimeError(
                f"Expected target size {shape_str(expected)}, got {shape_str(target.shape)}")
    if weight is not None and weight.numel() != num_classes:
        raise RuntimeError(
            f"weight tensor should be defined either for all {num_classes} classes or no "
            f"classes but got weight tensor of shape: {shape_str(weight.shape)}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(
            f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing:g}")
    return num_classes


def _check_target_bounds(safe, target, keep, num_classes):
    """IndexError for a kept class index outside [0, num_classes), checked in the loss's
    forward on ``safe`` (ignored entries already 0, so no mask to apply: the keep mask
    and the where that forward needs anyway serve the check too). After the argument
    checks and the weight's grad refusal, as PyTorch reports them."""
    if num_classes:
        _check_bounds(safe, num_classes)
    else:  # 0 is out of bounds too: only the kept entries count
        _check_bounds(target, num_classes, keep)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)
    _check_nll_args(input, target, weight, ignore_index)
    _refuse_grad(weight, "nll_loss_forward", "weight")
    return _nll(input, target, weight, ignore_index, reduction)


def _nll(log_probs, target, weight, ignore_index, reduction):
    """nll_loss's graph as PyTorch's nll_loss_nd builds it: 3-d and over-4-d input is
    viewed as (N, C, 1, -1) for the NllLoss2D node, and a 'none' result viewed back."""
    target = target._data.astype(np.int64, copy=False)
    ndim = log_probs.dim()
    if ndim == 3 or ndim > 4:
        n, c = log_probs.shape[:2]
        out_shape = target.shape
        if log_probs.numel():
            log_probs = log_probs.reshape(n, c, 1, -1)
        else:
            log_probs = log_probs.reshape(n, c, 0, 0)
        target = target.reshape((n, 1, -1) if target.size else (n, 0, 0))
        loss = _IndexTargetLoss.apply(log_probs, _make(target), _plain(weight), ignore_index,
                                      0.0, reduction, False)
        return loss.reshape(out_shape) if reduction == "none" else loss
    return _IndexTargetLoss.apply(log_probs, _make(target), _plain(weight), ignore_index, 0.0,
                                  reduction, False)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """log_softmax over dim 1 (dim 0 for unbatched input) and NLL: two nodes as PyTorch's
    graph has them; one fused Function with label smoothing or probability targets.

    Target: class indices of shape (N, d1, ...), or class probabilities shaped like input.
    ``mean`` divides by the summed weights of the non-ignored targets (index targets) or
    by the number of samples (probability targets).
    """
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)
    if target._data.dtype.kind in "fcV" and tuple(target.shape) == tuple(input.shape):
        if not 0.0 <= label_smoothing <= 1.0:
            raise RuntimeError(
                f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing:g}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        return _ProbabilityTargetLoss.apply(input, target, weight, label_smoothing, reduction)
    _check_nll_args(input, target, weight, ignore_index, label_smoothing)
    _refuse_grad(weight, "nll_loss_forward", "weight")
    if label_smoothing == 0:
        # PyTorch's graph, NllLossBackward0 over LogSoftmaxBackward0: two nodes cost ~2 us
        # of CPU time per step more than the fused one (128 x 10 logits, measured)
        log_probs = LogSoftmax.apply(input, 1 if input.dim() >= 2 else 0)
        return _nll(log_probs, target, weight, ignore_index, reduction)
    target = _make(target._data.astype(np.int64, copy=False))
    return _IndexTargetLoss.apply(input, target, _plain(weight), ignore_index, label_smoothing,
                                  reduction, True)


def _plain(weight):
    """Class weights carry no gradient in PyTorch's nll_loss: pass them as a constant."""
    return None if weight is None else weight._data
