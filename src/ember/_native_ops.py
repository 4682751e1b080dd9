"""The ``torch.native_*`` kernels' Python faces: ``native_layer_norm``,
``native_batch_norm``, ``native_group_norm`` (each with the statistics the kernel saves
for its backward), ``native_dropout`` (with its mask), ``native_norm``,
``native_channel_shuffle`` and ``max_pool1d_with_indices``.

Each output is ember's own op (so gradients flow as through ``F.layer_norm`` and
friends); the saved statistics are computed beside it, with a graph only where PyTorch's
kernel gives them one (group norm's).
"""

from __future__ import annotations

import math

from . import _ops
from ._backend import dtypes as _dt
from ._ops.creation import empty, ones_like
from ._ops.norm import batch_norm, group_norm, layer_norm
from ._ops.pool import max_pool1d
from ._ops.resample import channel_shuffle
from ._tensor import Tensor
from .autograd import no_grad

__all__ = [
    "native_layer_norm", "native_batch_norm", "native_group_norm", "native_dropout",
    "native_norm", "native_channel_shuffle", "max_pool1d_with_indices",
]


def _mean_rstd(values, dims, eps, dtype, graph=False):
    """Biased mean and 1/sqrt(var + eps) over ``dims`` (kept); without a graph unless
    ``graph`` (PyTorch's group-norm kernel returns differentiable statistics, the others
    do not)."""
    if not graph:
        with no_grad():
            return _mean_rstd(values.detach(), dims, eps, dtype, True)
    x = values.to(dtype)
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, correction=0, keepdim=True)
    return mean, (var + eps).rsqrt()


def native_layer_norm(input: Tensor, normalized_shape, weight, bias, eps: float):
    """``(layer_norm(input), mean, rstd)``; mean and rstd have the normalized dims kept as 1."""
    out = layer_norm(input, list(normalized_shape), weight, bias, eps)
    dims = tuple(range(input.dim() - len(normalized_shape), input.dim()))
    mean, rstd = _mean_rstd(input, dims, eps, input.dtype)
    return out, mean, rstd


def native_batch_norm(input: Tensor, weight, bias, running_mean, running_var, training: bool,
                      momentum: float, eps: float):
    """``(batch_norm(input), save_mean, save_invstd)``: the batch's per-channel mean and
    1/sqrt(biased var + eps) when training (empty tensors otherwise), in float32 for
    half-precision inputs."""
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("native_batch_norm: running_mean and running_var must be defined "
                           "in evaluation mode")
    out = batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    stats_dtype = _dt.float32 if input.dtype in (_dt.float16, _dt.bfloat16) else input.dtype
    if not training:
        return out, empty(0, dtype=stats_dtype), empty(0, dtype=stats_dtype)
    dims = (0, *range(2, input.dim()))
    mean, invstd = _mean_rstd(input, dims, eps, stats_dtype)
    return out, mean.reshape(-1), invstd.reshape(-1)


def native_group_norm(input: Tensor, weight, bias, N: int, C: int, HxW: int, group: int,  # noqa: N803
                      eps: float):
    """``(group_norm(input), mean, rstd)`` with mean and rstd of shape ``(N, group)``."""
    if input.numel() != N * C * HxW:
        raise RuntimeError("Expected X.numel() == N * C * HxW to be true, but got false.  "
                           "(Could this error message be improved?  If so, please report an "
                           "enhancement request to PyTorch.)")
    out = group_norm(input, group, weight, bias, eps)
    mean, rstd = _mean_rstd(input.reshape(N, group, -1), (2,), eps, input.dtype, graph=True)
    return out, mean.reshape(N, group), rstd.reshape(N, group)


def native_dropout(input: Tensor, p: float, train: bool | None):
    """``(output, mask)``: in training each element is kept with probability ``1 - p``
    (``mask`` True) and scaled by ``1 / (1 - p)``; otherwise a copy and an all-True mask."""
    from ._ops._dropout import NativeDropout

    if train is False:  # a copy and an all-True mask, still PyTorch's node
        return NativeDropout.apply(input, 0.0, ones_like(input, dtype=_dt.bool_))
    if not 0.0 <= 1.0 - p <= 1.0:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={1.0 - p}")

    if input.device.type == "cuda":  # the mask is drawn by the fused kernel
        return NativeDropout.apply(input, p, None)
    with no_grad():
        mask = _ops.random.bernoulli(ones_like(input, dtype=_dt.float32) * (1.0 - p)).to(
            _dt.bool_)
    return NativeDropout.apply(input, p, mask)


def native_norm(input: Tensor, p=2, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The p-norm of all the values of a sparse tensor (PyTorch has this kernel for sparse
    inputs only)."""
    if not getattr(input, "is_sparse", False):
        raise NotImplementedError(
            "Could not run 'aten::native_norm' with arguments from the 'CPU' backend. This "
            "could be because the operator doesn't exist for this backend, or was omitted "
            "during the selective/custom build process (if using custom build).")
    if dim is not None and len(dim) and sorted(d % input.dim() for d in dim) != list(
            range(input.dim())):
        raise RuntimeError("norm_sparse currently only supports full reductions, so 'dim' must "
                           "either be empty or contain all dimensions of the input")
    if keepdim:
        raise RuntimeError("norm_sparse currently does not support keepdim=True")
    if dtype is not None:
        raise RuntimeError("norm_sparse currently does not support 'dtype' argument")
    from .linalg import vector_norm

    order = math.inf if p is None else p
    return vector_norm(input.coalesce().values(), order)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """``channel_shuffle``: (N, C, *) channels regrouped as (C/g, g) -> (g, C/g)."""
    return channel_shuffle(input, groups)


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
                            ceil_mode: bool = False):
    """``(max_pool1d(input), indices)``, as ``F.max_pool1d(..., return_indices=True)``."""
    stride = None if stride is None or stride == () or stride == [] else stride
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode,
                      return_indices=True)
