"""Top-level spellings PyTorch also exposes for nn.functional ops (``torch.conv2d``,
``torch.layer_norm``, ``torch.dropout``, ...), with torch's top-level argument orders.
Each forwards to the one implementation in ``_ops``."""

from __future__ import annotations

from ._ops import conv as _conv
from ._ops import norm as _norm
from ._ops import pool as _pool
from ._ops import resample as _resample

__all__ = [
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "adaptive_avg_pool1d",
    "adaptive_max_pool1d", "layer_norm", "group_norm", "batch_norm", "instance_norm",
    "dropout", "embedding", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle",
]

conv1d, conv2d, conv3d = _conv.conv1d, _conv.conv2d, _conv.conv3d
conv_transpose1d = _conv.conv_transpose1d
conv_transpose2d = _conv.conv_transpose2d
conv_transpose3d = _conv.conv_transpose3d
avg_pool1d = _pool.avg_pool1d
adaptive_avg_pool1d = _pool.adaptive_avg_pool1d
pixel_shuffle, pixel_unshuffle = _resample.pixel_shuffle, _resample.pixel_unshuffle
channel_shuffle = _resample.channel_shuffle


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _pool.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _pool.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _pool.max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode)


def adaptive_max_pool1d(input, output_size):
    """torch.adaptive_max_pool1d returns (values, indices), like return_indices=True."""
    return _pool.adaptive_max_pool1d(input, output_size, return_indices=True)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):
    return _norm.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    return _norm.group_norm(input, num_groups, weight, bias, eps)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
               cudnn_enabled=True):
    return _norm.batch_norm(input, running_mean, running_var, weight, bias, training,
                            momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum,
                  eps, cudnn_enabled=True):
    return _norm.instance_norm(input, running_mean, running_var, weight, bias,
                               use_input_stats, momentum, eps)


def dropout(input, p, train):
    from .nn._functional import dropout as _dropout

    return _dropout(input, p, training=train)


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    from .nn._functional import embedding as _embedding

    return _embedding(indices, weight, None if padding_idx == -1 else padding_idx,
                      scale_grad_by_freq=scale_grad_by_freq)
