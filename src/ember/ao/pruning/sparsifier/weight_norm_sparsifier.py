"""``WeightNormSparsifier`` (zero the lowest-norm blocks) and ``NearlyDiagonalSparsifier``.

Masks are computed on the backend arrays (NumPy or CuPy, whichever holds the weight): they
are bookkeeping under ``no_grad``, never differentiated.
"""

from __future__ import annotations

import math
from typing import Callable

from .... import ones, ones_like, zeros_like
from ...._backend.device import array_module
from ...._tensor import _make
from .base_sparsifier import BaseSparsifier

__all__ = ["WeightNormSparsifier", "NearlyDiagonalSparsifier"]


def _blocks(array, block_shape, fill):
    """Pad a 2-D array with ``fill`` to whole blocks; return it as (n_blocks, block values)
    with blocks in row-major order, and the padded shape."""
    xp = array_module(array)
    h, w = array.shape[-2:]
    bh, bw = block_shape
    ph, pw = -(-h // bh) * bh, -(-w // bw) * bw
    padded = xp.full((ph, pw), fill, dtype=array.dtype)
    padded[:h, :w] = array
    grid = padded.reshape(ph // bh, bh, pw // bw, bw).transpose(0, 2, 1, 3)
    return grid.reshape(-1, bh * bw), (ph, pw)


def _unblocks(block_values, block_shape, padded_shape, h, w):
    """Inverse of ``_blocks``, cropped back to ``(h, w)``."""
    bh, bw = block_shape
    ph, pw = padded_shape
    grid = block_values.reshape(ph // bh, pw // bw, bh, bw).transpose(0, 2, 1, 3)
    return grid.reshape(ph, pw)[:h, :w]


def _lowest_blocks_mask(norms, block_shape, sparsity_level, dtype, keep_one_block):
    """1 outside the ``round(sparsity_level * n_blocks)`` blocks of lowest mean norm
    (``keep_one_block``: at most all blocks but one), 0 inside them."""
    xp = array_module(norms)
    h, w = norms.shape[-2:]
    blocks, padded = _blocks(norms, block_shape, 0)
    valid, _ = _blocks(xp.ones_like(norms), block_shape, 0)
    # a block cut by the edge averages only its real values (avg_pool2d, ceil_mode)
    means = blocks.sum(axis=1) / valid.sum(axis=1)
    n_blocks = means.shape[0]
    n_zero = round(sparsity_level * n_blocks)
    if keep_one_block:
        n_zero = max(0, min(n_blocks - 1, n_zero))
    keep = xp.ones(n_blocks, dtype=dtype)
    keep[xp.argsort(means, kind="stable")[:n_zero]] = 0
    block_keep = xp.repeat(keep[:, None], blocks.shape[1], axis=1)
    return _unblocks(block_keep, block_shape, padded, h, w)


def _smallest_in_blocks_mask(norms, block_shape, zeros_per_block, dtype):
    """0 at the ``zeros_per_block`` smallest values of every block, 1 elsewhere."""
    xp = array_module(norms)
    h, w = norms.shape[-2:]
    # padding is NaN so it sorts last and is never chosen before a real value
    blocks, padded = _blocks(norms, block_shape, math.nan)
    order = xp.argsort(blocks, axis=1, kind="stable")[:, :zeros_per_block]
    keep = xp.ones(blocks.shape, dtype=dtype)
    xp.put_along_axis(keep, order, 0, axis=1)
    return _unblocks(keep, block_shape, padded, h, w)


def _check_zeros_per_block(zeros_per_block, values_per_block):
    if zeros_per_block > values_per_block:
        raise ValueError(
            "Number of zeros per block cannot be more than the total number of "
            "elements in that block."
        )
    if zeros_per_block < 0:
        raise ValueError("Number of zeros per block should be positive.")


class WeightNormSparsifier(BaseSparsifier):
    """Zero the ``sparsity_level`` fraction of ``sparse_block_shape`` blocks whose mean
    norm is lowest; within the surviving blocks, ``zeros_per_block`` < block size also
    zeros that many smallest values of every block.

    Args:
        sparsity_level: fraction of blocks zeroed.
        sparse_block_shape: (block rows, block cols); blocks start at index 0.
        zeros_per_block: zeros inside a sparse block (default: the whole block).
        norm: 1, 2 (default) or a callable giving per-element norms.

    Where PyTorch's mask of a partial block pattern fails on shapes that are not multiples
    of the block (its padded block mask does not broadcast), ember crops and succeeds.
    """

    def __init__(self, sparsity_level: float = 0.5, sparse_block_shape: tuple = (1, 4),
                 zeros_per_block: int | None = None, norm: Callable | int | None = None):
        if zeros_per_block is None:
            zeros_per_block = math.prod(sparse_block_shape)
        defaults = {
            "sparsity_level": sparsity_level,
            "sparse_block_shape": sparse_block_shape,
            "zeros_per_block": zeros_per_block,
        }
        if norm is None:
            norm = 2
        if callable(norm):
            self.norm_fn = norm
        elif norm == 1:
            self.norm_fn = _abs_norm
        elif norm == 2:
            self.norm_fn = _square_norm
        else:
            raise NotImplementedError(f"L-{norm} is not yet implemented.")
        super().__init__(defaults=defaults)

    def _make_tensor_mask(self, data, sparsity_level, sparse_block_shape):
        """Mask whose zeros are whole blocks: the lowest-mean-norm fraction of them."""
        mask = ones(data.shape[-2:], device=data.device)
        if sparsity_level >= 1.0:
            return zeros_like(mask)
        keep = _lowest_blocks_mask(data._data, sparse_block_shape, sparsity_level,
                                   mask._data.dtype, keep_one_block=True)
        return _make(array_module(keep).ascontiguousarray(keep))

    def _make_block_mask(self, data, sparse_block_shape, zeros_per_block):
        """Mask zeroing the ``zeros_per_block`` smallest values inside every block."""
        mask = ones(data.shape[-2:], device=data.device)
        if math.prod(sparse_block_shape) == zeros_per_block:
            return zeros_like(mask)
        keep = _smallest_in_blocks_mask(data._data, sparse_block_shape, zeros_per_block,
                                        mask._data.dtype)
        return _make(array_module(keep).ascontiguousarray(keep))

    def update_mask(self, module, tensor_name, sparsity_level, sparse_block_shape,
                    zeros_per_block, **kwargs):
        values_per_block = math.prod(sparse_block_shape)
        _check_zeros_per_block(zeros_per_block, values_per_block)
        mask = getattr(module.parametrizations, tensor_name)[0].mask
        if sparsity_level <= 0 or zeros_per_block == 0:
            mask.data = ones_like(mask)
        elif sparsity_level >= 1.0 and zeros_per_block == values_per_block:
            mask.data = zeros_like(mask)
        else:
            norms = self.norm_fn(getattr(module, tensor_name))
            tensor_mask = self._make_tensor_mask(norms, sparsity_level, sparse_block_shape)
            if values_per_block != zeros_per_block:
                block_mask = self._make_block_mask(norms, sparse_block_shape, zeros_per_block)
                tensor_mask = tensor_mask.logical_or(block_mask)  # a bool mask, as PyTorch
            mask.data = tensor_mask


def _abs_norm(tensor):
    return tensor.abs()


def _square_norm(tensor):
    return tensor * tensor


class NearlyDiagonalSparsifier(BaseSparsifier):
    """Keep only the ``nearliness`` (odd) diagonals nearest the main one.

    Args:
        nearliness: number of kept diagonals (1: the main diagonal only; 0: all zero).
    """

    def __init__(self, nearliness: int = 1):
        super().__init__(defaults={"nearliness": nearliness})

    def update_mask(self, module, tensor_name, nearliness, **kwargs):
        mask = getattr(module.parametrizations, tensor_name)[0].mask
        mask.data = zeros_like(mask)
        if nearliness <= 0:
            return
        height, width = getattr(module, tensor_name).shape
        if nearliness % 2 == 0:
            raise ValueError("nearliness can only be an odd number")
        reach = nearliness // 2
        if reach >= min(height, width):
            raise ValueError("nearliness cannot be larger than the dimensions of tensor.")
        xp = array_module(mask._data)
        rows = xp.arange(height)[:, None]
        cols = xp.arange(width)[None, :]
        band = xp.abs(rows - cols) <= reach
        mask.data = _make(band.astype(mask._data.dtype))
