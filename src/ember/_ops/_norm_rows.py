"""Layer norm over (R, K) rows: the array path, with ``_norm_cuda``'s kernels taking over
on a GPU where they apply. ``norm._Normalize`` calls here for the trailing-dims layout;
``_sum_of_products`` also serves batch norm's channel statistics there.
"""

from __future__ import annotations

import numpy as np

from . import _norm_cuda
from ._util import _make, xp_of


def _layer_norm_forward_arrays(x, weight, bias, count, eps, keep):
    """Layer norm on an (R, K) view: row means as a GEMV with a ones vector and variances
    as row dots of the centred rows (one read each, BLAS), then the normalised rows
    scaled in place. Returns the output and the (mean, biased var, invstd) shaped
    ``keep``. (Each full pass over the rows costs about the same here, so the count of
    passes is what matters; saving the normalised rows for backward instead of
    recomputing them was measured no faster, for one more activation-sized buffer.)"""
    xp = xp_of(x)
    k = max(count, 1)
    x2 = x.reshape(x.size // k if count else 0, count)
    fused = None if xp is np else _norm_cuda.forward(
        x2, None if weight is None else weight.reshape(-1),
        None if bias is None else bias.reshape(-1), eps)
    if fused is not None:
        out, mean, var, invstd = fused
        return out.reshape(x.shape), mean.reshape(keep), var.reshape(keep), invstd.reshape(keep)
    mean = _row_sum(x2)
    mean /= k
    out = x2 - mean[:, None]
    var = _row_dot(out, out)
    var /= k
    invstd = 1.0 / xp.sqrt(var + eps)
    out *= invstd[:, None]
    if weight is not None:
        out *= weight.reshape(-1).astype(out.dtype, copy=False)
    if bias is not None:
        out += bias.reshape(-1).astype(out.dtype, copy=False)
    return out.reshape(x.shape), mean.reshape(keep), var.reshape(keep), invstd.reshape(keep)


def _row_sum(a):
    """Row sums of an (R, K) array: a GEMV with a ones vector on NumPy (one BLAS read);
    on a GPU one reduction (the ones vector would be a second launch)."""
    xp = xp_of(a)
    return a @ xp.ones(a.shape[1], a.dtype) if xp is np else a.sum(axis=1)


def _column_sum(a):
    """Column sums of an (R, K) array, as ``_row_sum``."""
    xp = xp_of(a)
    return xp.ones(a.shape[0], a.dtype) @ a if xp is np else a.sum(axis=0)


def _row_dot(a, b):
    """Row-wise dot products of two (R, K) arrays: NumPy's vecdot (a dot per row, about
    1.5x einsum's "rk,rk->r"); on a GPU a product and a sum (see ``_sum_of_products``)."""
    xp = xp_of(a)
    if xp is not np:
        return _sum_of_products(a, b, (1,))
    if hasattr(xp, "vecdot"):
        return xp.vecdot(a, b)
    return xp.einsum("rk,rk->r", a, b)


def _layer_norm_backward_arrays(ctx, grad, x, weight, out_dtype):
    """``invstd * (g' - mean(g') - xhat * mean(g' * xhat))`` with ``g' = grad * weight``
    on (R, K) views: row means as a GEMV, row projections as row dots, the weight
    gradient as one einsum and the bias gradient as a GEMV with a ones row (no product
    arrays), the rest in place on two buffers (the recomputed ``xhat`` and ``g'``). On a
    GPU, ``_norm_cuda``'s kernels where they apply."""
    mean, invstd, count = ctx.stats
    needs = ctx.needs_input_grad
    k = max(count, 1)
    rows = x.size // k if count else 0
    g2 = grad.reshape(rows, count)
    weight_flat = None if weight is None else weight._data.reshape(-1)
    fused = None if xp_of(x) is np else _norm_cuda.backward(
        g2, x.reshape(rows, count), mean.reshape(-1), invstd.reshape(-1), weight_flat, needs)
    if fused is None:
        fused = _layer_norm_backward_rows(g2, x.reshape(rows, count), mean.reshape(rows, 1),
                                          invstd.reshape(rows, 1), weight_flat, needs, k)
    grad_x, grad_weight, grad_bias = fused
    if grad_x is not None:
        grad_x = _make(grad_x.reshape(x.shape).astype(out_dtype, copy=False))
    if grad_weight is not None:
        grad_weight = _make(grad_weight.reshape(weight.shape))
    if grad_bias is not None:
        grad_bias = _make(grad_bias.reshape(ctx.bias_shape))
    return grad_x, grad_weight, grad_bias, None, None, None, None


def _layer_norm_backward_rows(g2, x2, mean, scale, weight, needs, k):
    """(grad_x, grad_weight, grad_bias) arrays of layer norm on (R, K) rows, each None
    unless ``needs`` asks for it (see ``_layer_norm_backward_arrays``)."""
    xhat = x2 - mean
    xhat *= scale
    grad_x = grad_weight = grad_bias = None
    if weight is not None and needs[1]:
        grad_weight = _sum_of_products(g2, xhat, (0,))
    if needs[2]:
        grad_bias = _column_sum(g2)
    if needs[0]:
        if weight is None:
            grad_xhat = g2.copy()
        else:
            grad_xhat = g2 * weight.astype(g2.dtype, copy=False)
        row_mean = _row_sum(grad_xhat)
        row_mean /= k
        projection = _row_dot(grad_xhat, xhat)
        projection /= k
        xhat *= projection[:, None]
        grad_xhat -= xhat
        grad_xhat -= row_mean[:, None]
        grad_xhat *= scale
        grad_x = grad_xhat
    return grad_x, grad_weight, grad_bias


def _sum_of_products(a, b, axes):
    """``(a * b).sum(axes)``: one einsum on NumPy (no product array). CuPy plans an einsum
    in Python, about 0.4 ms of host time a call on an H200 machine, where a product and a
    reduction are two kernel launches."""
    xp = xp_of(a)
    if xp is not np:
        product = a if b is None else a * b
        return product.sum(axis=axes)
    letters = "abcdefghijklmnopqrstuvwxyz"[:a.ndim]
    kept = "".join(letter for i, letter in enumerate(letters) if i not in axes)
    if b is None:
        return xp.einsum(f"{letters}->{kept}", a)
    return xp.einsum(f"{letters},{letters}->{kept}", a, b)
