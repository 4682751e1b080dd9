"""Normalisation: batch/instance/group/layer norm, local response norm, RMS norm.

batch/instance/group/layer norm share one fused Function (``_Normalize``): statistics
and output in a few in-place array passes, and the closed-form single-pass gradient
backward (array-level unless a graph is being built, in which case it is written with
Tensor ops so double backward works). Evaluation-mode batch norm is one node too
(``_AffineStats``). Running statistics are updated in place with a version bump, as
PyTorch's in-place update under ``no_grad``.
"""

from __future__ import annotations

import math

import numpy as np

from .._backend import dtypes as _dt
from ..autograd.function import Function
from ..backends import cudnn
from ..autograd.grad_mode import _grad_enabled
from ._norm_rows import (_layer_norm_backward_arrays, _layer_norm_forward_arrays,
                         _sum_of_products)
from ._util import Tensor, _make, shape_str, xp_of

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "local_response_norm",
           "rms_norm"]


class _Normalize(Function):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` with the batch statistics of x over
    ``axes``; weight and bias (or None) are reshaped to ``param_shape`` to broadcast. The
    biased (mean, var) are appended to ``stats_sink`` for running-statistics updates.
    Array work is done in place on one output buffer: every pass over the data counts."""

    _array_io = True
    _node_name = "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, axes, param_shape, eps, stats_sink):
        xp = xp_of(x)
        out_dtype = x.dtype
        if x.dtype.itemsize == 2:  # half precision accumulates in float32, as PyTorch
            x = x.astype(np.float32)
        count = 1
        for axis in axes:
            count *= x.shape[axis]
        if _is_trailing_layout(axes, param_shape, x.ndim):
            keep = x.shape[:x.ndim - len(axes)] + (1,) * len(axes)
            out, mean, var, invstd = _layer_norm_forward_arrays(x, weight, bias, count, eps,
                                                                keep)
            stats_sink.append((mean, var))
            ctx.save_for_backward(x, weight)
            ctx.stats = (mean, invstd, count)
            ctx.meta = (axes, param_shape, eps)
            ctx.bias_shape = None if bias is None else bias.shape
            ctx.param_axes = tuple(range(x.ndim - len(axes)))
            return out.astype(out_dtype, copy=False)
        if _is_channel_layout(axes, x.ndim):
            # batch norm: per-channel sums as einsum over an (N, C, L) view, several times
            # faster than a sum over axes (0, 2, 3)
            keep = (1, x.shape[1]) + (1,) * (x.ndim - 2)
            mean = _channel_sum(x).reshape(keep)
            mean /= max(count, 1)
            out = x - mean
            var = _channel_dot(out, out).reshape(keep)
        else:
            mean = x.sum(axis=axes, keepdims=True)
            mean /= max(count, 1)
            out = x - mean
            var = _dot_reduce(out, out, axes)
        var /= max(count, 1)
        invstd = 1.0 / xp.sqrt(var + eps)
        offset = x.ndim - len(param_shape)
        if weight is not None:
            weight_view = weight.reshape(param_shape).astype(out.dtype, copy=False)
        if bias is not None:
            bias_view = bias.reshape(param_shape).astype(out.dtype, copy=False)
        if all(i < offset or param_shape[i - offset] == 1 for i in axes):
            # weight and bias are constant over each normalised group (batch/instance
            # norm): y = x * alpha + beta with per-group alpha, beta, as PyTorch's kernel
            alpha = invstd if weight is None else invstd * weight_view
            beta = -mean * alpha
            if bias is not None:
                beta = beta + bias_view
            xp.multiply(x, alpha, out=out)
            out += beta
        else:
            out *= invstd
            if weight is not None:
                out *= weight_view
            if bias is not None:
                out += bias_view
        stats_sink.append((mean, var))
        ctx.save_for_backward(x, weight)
        ctx.stats = (mean, invstd, count)
        ctx.meta = (axes, param_shape, eps)
        ctx.bias_shape = None if bias is None else bias.shape
        ctx.param_axes = tuple(i for i in range(x.ndim)
                               if i < offset or param_shape[i - offset] == 1)
        return out.astype(out_dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        return _normalize_backward(ctx, grad, x, weight)


def _normalize_backward(ctx, grad, x, weight):
    """_Normalize's gradients for (x, weight, bias), then Nones for the constants."""
    axes, param_shape, eps = ctx.meta
    if not _grad_enabled[0]:
        return _normalize_backward_arrays(ctx, grad._data, x._data, weight)
    mean = x.mean(axes, keepdim=True)
    centered = x - mean
    invstd = ((centered * centered).mean(axes, keepdim=True) + eps).rsqrt()
    xhat = centered * invstd
    grad_xhat = grad if weight is None else grad * weight.reshape(param_shape)
    grad_x = invstd * (grad_xhat - grad_xhat.mean(axes, keepdim=True)
                       - xhat * (grad_xhat * xhat).mean(axes, keepdim=True))
    grad_weight = grad_bias = None
    if weight is not None and ctx.needs_input_grad[1]:
        grad_weight = (grad * xhat).sum(ctx.param_axes).reshape(weight.shape)
    if ctx.needs_input_grad[2]:
        grad_bias = grad.sum(ctx.param_axes).reshape(ctx.bias_shape)
    return grad_x, grad_weight, grad_bias, None, None, None, None


def _is_channel_layout(axes, ndim):
    """Statistics over every dim but 1 (batch norm's layout)."""
    return ndim >= 2 and axes == (0,) + tuple(range(2, ndim))


def _is_trailing_layout(axes, param_shape, ndim):
    """Statistics over the trailing dims that weight and bias span (layer norm)."""
    k = len(param_shape)
    return len(axes) == k and axes == tuple(range(ndim - k, ndim))


def _channel_sum(a):
    """(N, C, *) -> (C,) sums over an (N, C, L) view."""
    return _sum_of_products(a.reshape(a.shape[0], a.shape[1], -1), None, (0, 2))


def _channel_dot(a, b):
    """(N, C, *) x2 -> (C,) sums of products, without the product array on NumPy."""
    n, c = a.shape[:2]
    return _sum_of_products(a.reshape(n, c, -1), b.reshape(n, c, -1), (0, 2))


def _dot_reduce(a, b, axes):
    """``(a * b).sum(axes, keepdims=True)``, without the product array on NumPy."""
    out = _sum_of_products(a, b, tuple(axes))
    return out.reshape(tuple(1 if i in axes else n for i, n in enumerate(a.shape)))


def _normalize_backward_arrays(ctx, grad, x, weight):
    """``invstd * (g' - mean(g')) - (x - mean) * invstd**3 * mean(g' * (x - mean))`` with
    ``g' = grad * weight``: two buffers, the products that are only summed go through
    einsum, everything else is in place."""
    axes, param_shape, _ = ctx.meta
    mean, invstd, count = ctx.stats
    out_dtype = grad.dtype  # the input's dtype (x may be saved already widened)
    if x.dtype.itemsize == 2:
        x = x.astype(np.float32)
    if grad.dtype.itemsize == 2:  # half precision accumulates in float32, as PyTorch
        grad = grad.astype(np.float32)
    if _is_channel_layout(axes, x.ndim):
        return _batch_norm_backward_arrays(ctx, grad, x, weight, out_dtype)
    if _is_trailing_layout(axes, param_shape, x.ndim):
        return _layer_norm_backward_arrays(ctx, grad, x, weight, out_dtype)
    centered = x - mean
    grad_weight = grad_bias = None
    if weight is not None and ctx.needs_input_grad[1]:
        if all(invstd.shape[i] == 1 for i in ctx.param_axes):  # batch norm: invstd per
            grad_weight = _dot_reduce(grad, centered, ctx.param_axes) * invstd  # channel
        else:
            grad_weight = _dot_reduce(grad, centered * invstd, ctx.param_axes)
        grad_weight = _make(grad_weight.reshape(weight.shape))
    if ctx.needs_input_grad[2]:
        grad_bias = _make(grad.sum(axis=ctx.param_axes).reshape(ctx.bias_shape))
    if weight is None:
        grad_xhat = grad.copy()
    else:
        grad_xhat = grad * weight._data.reshape(param_shape).astype(grad.dtype, copy=False)
    scale = max(count, 1)
    projection = _dot_reduce(grad_xhat, centered, axes) / scale  # mean(g' * (x - mean))
    grad_xhat -= grad_xhat.sum(axis=axes, keepdims=True) / scale
    grad_xhat *= invstd
    centered *= invstd * invstd * invstd * projection
    grad_xhat -= centered
    grad_x = _make(grad_xhat.astype(out_dtype, copy=False))
    return grad_x, grad_weight, grad_bias, None, None, None, None


def _batch_norm_backward_arrays(ctx, grad, x, weight, out_dtype):
    """Batch norm's backward in one centred buffer: two per-channel reductions (sum of
    g, sum of g * (x - mean)), which are also the bias and weight gradients, then
    ``grad_x = w * invstd * (g - mean(g) - (x - mean) * invstd**2 * mean(g * (x - mean)))``
    as four in-place passes."""
    mean, invstd, count = ctx.stats
    needs = ctx.needs_input_grad
    keep = mean.shape
    scale = max(count, 1)
    invstd_c = invstd.reshape(-1)
    sum_grad = _channel_sum(grad)
    centered = x - mean
    dot = _channel_dot(grad, centered)
    grad_x = grad_weight = grad_bias = None
    if weight is not None and needs[1]:
        grad_weight = _make((dot * invstd_c).reshape(weight.shape))
    if needs[2]:
        grad_bias = _make(sum_grad.reshape(ctx.bias_shape))
    if needs[0]:
        centered *= (dot * (invstd_c * invstd_c / -scale)).reshape(keep)
        centered += grad
        centered -= (sum_grad / scale).reshape(keep)
        alpha = invstd_c if weight is None else \
            invstd_c * weight._data.reshape(-1).astype(centered.dtype, copy=False)
        centered *= alpha.reshape(keep)
        grad_x = _make(centered.astype(out_dtype, copy=False))
    return grad_x, grad_weight, grad_bias, None, None, None, None


class _LayerNorm(_Normalize):
    _node_name = "NativeLayerNormBackward0"

    @staticmethod
    def forward(ctx, *args):
        out = _Normalize.forward(ctx, *args)
        # contiguous whatever the input's strides, as PyTorch's layer norm kernel
        return out if out.flags.c_contiguous else xp_of(out).ascontiguousarray(out)


class _NormalizeGrouped(_Normalize):
    """_Normalize over a regrouping (``inner_shape``) of its input, done inside the node:
    group norm's statistics need (N, G, C/G, L) and instance norm's (N, C, L), while
    PyTorch's nodes take the input's own shape and give ``out_shape`` (the input's for
    group norm, (1, N*C, *) for instance norm's batch norm). The input itself is saved,
    so an in-place change to it before backward is caught."""

    @staticmethod
    def forward(ctx, x, weight, bias, inner_shape, out_shape, axes, param_shape, eps,
                stats_sink):
        out = _Normalize.forward(ctx, x.reshape(inner_shape), weight, bias, axes,
                                 param_shape, eps, stats_sink)
        ctx.save_for_backward(x, weight)
        ctx.inner_shape = inner_shape
        return out.reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        inner = ctx.inner_shape
        grad_x, grad_weight, grad_bias = _normalize_backward(
            ctx, grad.reshape(inner), x.reshape(inner), weight)[:3]
        if grad_x is not None:
            grad_x = grad_x.reshape(x.shape)
        return grad_x, grad_weight, grad_bias, None, None, None, None, None, None

    @staticmethod
    def _array_backward(ctx, grad):
        x, weight = ctx.saved_tensors
        x = x._data
        inner = ctx.inner_shape
        grads = _normalize_backward_arrays(ctx, grad.reshape(inner), x.reshape(inner), weight)
        grad_x, grad_weight, grad_bias = (None if g is None else g._data for g in grads[:3])
        if grad_x is not None:
            grad_x = grad_x.reshape(x.shape)
        return grad_x, grad_weight, grad_bias, None, None, None, None, None, None


class _GroupNorm(_NormalizeGrouped):
    _node_name = "NativeGroupNormBackward0"


class _InstanceNorm(_NormalizeGrouped):
    _node_name = "NativeBatchNormBackward0"  # PyTorch's batch norm over (1, N*C, *)


def _normalize(x, weight, bias, axes, param_shape, eps, fn=_Normalize):
    """Normalise with batch statistics; returns (output, mean array, biased var array)."""
    sink = []
    out = fn.apply(x, weight, bias, axes, param_shape, eps, sink)
    mean, var = sink[0]
    return out, mean, var


def _update_running(running, batch_value, momentum):
    """running = (1 - momentum) * running + momentum * batch_value, in place."""
    # Array-level update plus a version bump: what mul_/add_ under no_grad would do,
    # without their per-op overhead on this per-step path.
    data = running._data
    data *= 1.0 - momentum
    data += momentum * batch_value.astype(data.dtype, copy=False)
    running._vc[0] += 1


def _check_channels(name, tensor, channels):
    if tensor is not None and tensor.numel() != channels:
        raise RuntimeError(f"{name} should contain {channels} elements not {tensor.numel()}")


def _verify_batch_size(size):
    size_prods = size[0]
    for s in size[2:]:
        size_prods *= s
    if size_prods == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {size}")


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over dim 1 of (N, C, *) inputs.

    In training the batch's statistics normalise the input and (when given) the running
    statistics move towards them: ``running = (1 - momentum) * running + momentum * stat``
    with the unbiased batch variance. In evaluation the running statistics are used.

    Args:
        running_mean, running_var: (C,) buffers, updated in place when training.
        weight, bias: optional (C,) affine parameters.
        training: use (and update with) batch statistics.
        momentum: running-statistics factor.
        eps: added to the variance.

    Example::

        >>> F.batch_norm(torch.randn(8, 3, 4, 4), None, None, training=True).shape
        torch.Size([8, 3, 4, 4])
    """
    if training:
        _verify_batch_size(input.shape)
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    channels = input.shape[1] if input.dim() > 1 else 0
    _check_channels("running_mean", running_mean, channels)
    _check_channels("running_var", running_var, channels)
    _check_channels("weight", weight, channels)
    _check_channels("bias", bias, channels)
    param_shape = (channels,) + (1,) * (input.dim() - 2)
    if input.numel() == 0:  # PyTorch returns before its backends: no statistics to take
        out = input.clone()
        out = out if weight is None else out * weight[0]
        return out if bias is None else out + bias[0]
    if training or running_mean is None or running_var is None:
        if not training:
            raise RuntimeError("running_mean must be defined in evaluation mode")
        axes = (0,) + tuple(range(2, input.dim()))
        out, mean, var = _normalize(input, weight, bias, axes, param_shape, eps)
        if input.is_cuda:
            _named_as_on_cuda(out, input.shape, input._data.dtype, weight, bias,
                              running_mean, running_var, True)
        if running_mean is not None or running_var is not None:
            count = input.numel() // max(channels, 1)
            if running_mean is not None:
                _update_running(running_mean, mean.reshape(-1), momentum)
            if running_var is not None:
                unbiased = var.reshape(-1) * (count / max(count - 1, 1))
                _update_running(running_var, unbiased, momentum)
        return out
    out = _batch_norm_eval(input, running_mean, running_var, weight, bias, param_shape, eps)
    if input.is_cuda:
        _named_as_on_cuda(out, input.shape, input._data.dtype, weight, bias, running_mean,
                          running_var, False)
    return out


class _AffineStats(Function):
    """Normalisation with given (running) statistics: ``x * alpha + beta`` with per-channel
    ``alpha = weight / sqrt(var + eps)`` and ``beta = bias - mean * alpha``. The statistics
    are constants (PyTorch gives them no gradient either)."""

    _array_io = True
    _node_name = "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, mean, var, param_shape, eps):
        xp = xp_of(x)
        ctx.save_for_backward(x, weight)
        out_dtype = x.dtype
        if x.dtype.itemsize == 2:
            x = x.astype(np.float32)
        invstd = (1.0 / xp.sqrt(var.astype(x.dtype, copy=False) + eps)).reshape(param_shape)
        mean = mean.astype(x.dtype, copy=False).reshape(param_shape)
        alpha = invstd if weight is None else invstd * weight.reshape(param_shape)
        beta = -mean * alpha
        if bias is not None:
            beta += bias.reshape(param_shape)
        out = x * alpha
        out += beta
        ctx.consts = (mean, invstd, alpha, param_shape)
        ctx.bias_shape = None if bias is None else bias.shape
        return out.astype(out_dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        mean, invstd, alpha, param_shape = ctx.consts
        axes = (0,) + tuple(range(2, grad.dim()))
        grads = [None] * 7
        if not _grad_enabled[0]:
            g = grad._data
            if ctx.needs_input_grad[0]:
                grads[0] = _make((g * alpha.astype(g.dtype, copy=False)))
            if weight is not None and ctx.needs_input_grad[1]:
                xhat = (x._data.astype(mean.dtype, copy=False) - mean) * invstd
                grads[1] = _make((g * xhat).sum(axis=axes).reshape(weight.shape))
            if ctx.needs_input_grad[2]:
                grads[2] = _make(g.sum(axis=axes).reshape(ctx.bias_shape))
            return tuple(grads)
        if ctx.needs_input_grad[0]:
            scale = _make(invstd) if weight is None else weight.reshape(param_shape) * \
                _make(invstd)
            grads[0] = grad * scale
        if weight is not None and ctx.needs_input_grad[1]:
            xhat = (x - _make(mean)) * _make(invstd)
            grads[1] = (grad * xhat).sum(axes).reshape(weight.shape)
        if ctx.needs_input_grad[2]:
            grads[2] = grad.sum(axes).reshape(ctx.bias_shape)
        return tuple(grads)


class _InstanceAffineStats(_AffineStats):
    """_AffineStats whose result is given as ``out_shape`` (instance norm's (1, N*C, *)
    batch-norm view); the gradient comes back in the input's shape."""

    _node_name = "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, mean, var, param_shape, eps, out_shape):
        return _AffineStats.forward(ctx, x, weight, bias, mean, var, param_shape,
                                    eps).reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        x = ctx.saved_tensors[0]
        return _AffineStats.backward(ctx, grad.reshape(x.shape)) + (None,)


def _batch_norm_eval(x, running_mean, running_var, weight, bias, param_shape, eps):
    """Normalise with the running statistics (evaluation mode)."""
    return _AffineStats.apply(x, weight, bias, running_mean._data, running_var._data,
                              param_shape, eps)


# the batch sizes cuDNN's batch norm takes, PyTorch's limits: per activation (2-d input)
# and spatial (3-d and up), training and evaluation
_CUDNN_MAX_BATCH = {(True, True): 131070, (True, False): 262136,
                    (False, True): 880801, (False, False): 65535}


def _named_as_on_cuda(out, shape, dtype, weight, bias, running_mean, running_var, training):
    """Give ``out``'s batch-norm node PyTorch's name on cuda: there batch norm runs cuDNN's
    kernel (node ``CudnnBatchNormBackward0``) wherever cuDNN takes the case (affine, running
    statistics both given or both absent in training, half precision only with float32
    parameters, no bfloat16 input or parameters, batch and size within cuDNN's limits,
    ``backends.cudnn.enabled``) and its native kernel elsewhere. ember computes the same
    values either way. ``shape``/``dtype`` are those of batch norm's input (instance
    norm's (1, N*C, *) view)."""
    node = out.grad_fn
    if node is None or weight is None or bias is None or not cudnn.enabled:
        return out
    if (running_mean is None) != (running_var is None) or (running_mean is None
                                                           and not training):
        return out
    if np.dtype(dtype).itemsize == 2 and weight._data.dtype != np.float32:
        return out
    bfloat16 = _dt.bfloat16.np  # None without ml_dtypes (and np.dtype(None) is float64)
    if bfloat16 is not None and bfloat16 in (np.dtype(dtype), weight._data.dtype):
        return out
    limit = _CUDNN_MAX_BATCH[(len(shape) == 2, bool(training))]
    if shape[0] <= limit and math.prod(shape) < 2 ** 31 - 1:
        node._node_name = "CudnnBatchNormBackward0"
    return out


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each (sample, channel) plane by its own statistics; running statistics
    move towards the batch average of the per-instance statistics."""
    if use_input_stats:
        size_prods = 1
        for s in input.shape[2:]:
            size_prods *= s
        if size_prods == 1:
            raise ValueError("Expected more than 1 spatial element when training, got input "
                             f"size {input.shape}")
    channels = input.shape[1]
    _check_channels("weight", weight, channels)
    _check_channels("bias", bias, channels)
    param_shape = (channels,) + (1,) * (input.dim() - 2)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError("Expected running_mean and running_var to be defined when "
                               "use_input_stats is false")
        # PyTorch's batch norm of the (1, N*C, *) view, viewed back; the node scales the
        # input by per-channel constants and gives that (1, N*C, *) result
        flat_shape = (1, input.shape[0] * channels, *input.shape[2:])
        out = _InstanceAffineStats.apply(input, weight, bias, running_mean._data,
                                         running_var._data, param_shape, eps, flat_shape)
        if input.is_cuda:
            _named_as_on_cuda(out, flat_shape, input._data.dtype, weight, bias, running_mean,
                              running_var, False)
        return out.view(input.shape)
    # PyTorch runs batch norm on a (1, N*C, *) view and views the result back; the node
    # here normalises each row of an (N, C, L) regrouping of the input (the per-channel
    # affine broadcast as (C, 1)) and gives batch norm's (1, N*C, *) result
    batch = input.shape[0]
    spatial = tuple(input.shape[2:])
    count = 1
    for size in spatial:
        count *= size
    sink = []
    out = _InstanceNorm.apply(input, weight, bias, (batch, channels, count),
                              (1, batch * channels, *spatial), (2,), (channels, 1), eps, sink)
    mean, var = sink[0]
    if input.is_cuda:
        _named_as_on_cuda(out, (1, batch * channels, *spatial), input._data.dtype, weight,
                          bias, running_mean, running_var, True)
    out = out.view(input.shape)
    if running_mean is not None:
        _check_channels("running_mean", running_mean, channels)
        _update_running(running_mean, mean.reshape(input.shape[:2]).mean(axis=0), momentum)
    if running_var is not None:
        _check_channels("running_var", running_var, channels)
        unbiased = var.reshape(input.shape[:2]) * (count / max(count - 1, 1))
        _update_running(running_var, unbiased.mean(axis=0), momentum)
    return out


def _normalized_shape(normalized_shape):
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


def _check_normalized_shape(input, shape, weight, bias, star="*, "):
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and tuple(param.shape) != shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {shape_str(param.shape)} and normalized_shape = {shape_str(shape)}")
    k = len(shape)
    if k == 0 or input.dim() < k or tuple(input.shape[input.dim() - k:]) != shape:
        trail = ", ".join(str(s) for s in shape)
        raise RuntimeError(
            f"Given normalized_shape={shape_str(shape)}, expected input with shape "
            f"[{star}{trail}], but got input of size{shape_str(input.shape)}")


def _require_shape_sequence(op, normalized_shape):
    if isinstance(normalized_shape, (int, np.integer)):
        raise TypeError(f"{op}(): argument 'normalized_shape' (position 2) must be tuple of "
                        "ints, not int")


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims, then scale and shift
    elementwise by weight and bias of that shape."""
    if type(normalized_shape) is tuple and normalized_shape:
        # the common call (nn.LayerNorm's tuple, shapes that fit): checked on the arrays'
        # shapes, the full checks below only to explain a mismatch
        x_shape = input._data.shape
        k = len(normalized_shape)
        if (x_shape[len(x_shape) - k:] == normalized_shape
                and (weight is None or weight._data.shape == normalized_shape)
                and (bias is None or bias._data.shape == normalized_shape)):
            axes = tuple(range(len(x_shape) - k, len(x_shape)))
            return _LayerNorm.apply(input, weight, bias, axes, normalized_shape, eps, [])
    _require_shape_sequence("layer_norm", normalized_shape)
    shape = _normalized_shape(normalized_shape)
    _check_normalized_shape(input, shape, weight, bias)
    axes = tuple(range(input.dim() - len(shape), input.dim()))
    out, _, _ = _normalize(input, weight, bias, axes, shape, eps, _LayerNorm)
    return out


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise each group of ``C / num_groups`` channels of each sample together, then
    apply a per-channel affine transform."""
    if input.dim() < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {input.dim()}")
    batch, channels = input.shape[0], input.shape[1]
    _verify_batch_size([batch * channels // num_groups, num_groups] + list(input.shape[2:]))
    if channels % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got "
            f"input of shape {shape_str(input.shape)} and num_groups={num_groups}")
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and (param.dim() != 1 or param.numel() != channels):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {shape_str(param.shape)} and input of shape "
                f"{shape_str(input.shape)}")
    # (N, G, C/G, spatial) inside the one fused node: statistics over the last two dims,
    # the per-channel affine broadcast as (G, C/G, 1)
    count = 1
    for size in input.shape[2:]:
        count *= size
    inner = (batch, num_groups, channels // num_groups, count)
    param_shape = (num_groups, channels // num_groups, 1)
    return _GroupNorm.apply(input, weight, bias, inner, input.shape, (2, 3), param_shape,
                            eps, [])


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x**2 over normalized_shape) + eps) * weight``; eps defaults to the
    machine epsilon of the input's dtype."""
    _require_shape_sequence("rms_norm", normalized_shape)
    shape = _normalized_shape(normalized_shape)
    _check_normalized_shape(input, shape, weight, None, star="*")
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps) if input._data.dtype.kind == "f" \
            else 1.1920928955078125e-07
    axes = tuple(range(input.dim() - len(shape), input.dim()))
    out = input * ((input * input).mean(axes, keepdim=True) + eps).rsqrt()
    if weight is not None:
        out = out * weight
    return out


from ._lrn import cross_map_lrn2d, local_response_norm  # noqa: F401 - re-exported

TENSOR_METHODS: dict = {}
