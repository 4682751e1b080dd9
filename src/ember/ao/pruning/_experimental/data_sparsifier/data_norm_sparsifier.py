"""``DataNormSparsifier``: the block-norm rule of ``WeightNormSparsifier`` for data.

PyTorch's data variant differs from the weight one in small ways kept here: the number
of zeroed blocks is ``round(sparsity_level * n_blocks)`` without the weight variant's
"keep one block" clamp, masks are int8, and both masks always combine (a kept block
keeps every value; a removed block keeps all but its ``zeros_per_block`` smallest).
"""

from __future__ import annotations

import math

from ..... import int8, ones_like, zeros_like
from ....._backend.device import array_module
from ....._tensor import _make
from ...sparsifier.weight_norm_sparsifier import _blocks, _unblocks
from .base_data_sparsifier import BaseDataSparsifier

__all__ = ["DataNormSparsifier"]


class DataNormSparsifier(BaseDataSparsifier):
    """Zero the lowest-norm fraction of ``sparse_block_shape`` blocks of every data.

    Args:
        data_list: optional ``[(name, data), ...]``.
        sparsity_level: fraction of blocks sparsified.
        sparse_block_shape: (rows, cols) of a block.
        zeros_per_block: zeros in a sparsified block (default: all of it).
        norm: "L1" or "L2".
    """

    def __init__(self, data_list=None, sparsity_level: float = 0.5,
                 sparse_block_shape: tuple = (1, 4), zeros_per_block: int | None = None,
                 norm: str = "L1"):
        if zeros_per_block is None:
            zeros_per_block = math.prod(sparse_block_shape)
        if norm not in ["L1", "L2"]:
            raise AssertionError("only L1 and L2 norm supported at the moment")
        self.norm = norm
        super().__init__(data_list=data_list, sparsity_level=sparsity_level,
                         sparse_block_shape=sparse_block_shape,
                         zeros_per_block=zeros_per_block)

    @staticmethod
    def _data_level_mask(norms, sparsity_level, block_shape):
        """1 outside the ``round(sparsity_level * n_blocks)`` lowest-mean blocks."""
        xp = array_module(norms)
        h, w = norms.shape
        blocks, padded = _blocks(norms, block_shape, 0)
        valid, _ = _blocks(xp.ones_like(norms), block_shape, 0)
        means = blocks.sum(axis=1) / valid.sum(axis=1)  # avg_pool2d, ceil_mode edges
        keep = xp.ones(means.shape[0], dtype=xp.int8)
        keep[xp.argsort(means, kind="stable")[:round(sparsity_level * means.shape[0])]] = 0
        block_keep = xp.repeat(keep[:, None], blocks.shape[1], axis=1)
        return _unblocks(block_keep, block_shape, padded, h, w)

    @staticmethod
    def _block_level_mask(norms, block_shape, zeros_per_block):
        """0 at the ``zeros_per_block`` smallest values of every block."""
        xp = array_module(norms)
        if math.prod(block_shape) == zeros_per_block:
            return xp.zeros(norms.shape, dtype=xp.int8)
        h, w = norms.shape
        blocks, padded = _blocks(norms, block_shape, math.nan)  # padding sorts last
        keep = xp.ones(blocks.shape, dtype=xp.int8)
        order = xp.argsort(blocks, axis=1, kind="stable")[:, :zeros_per_block]
        xp.put_along_axis(keep, order, 0, axis=1)
        return _unblocks(keep, block_shape, padded, h, w)

    def update_mask(self, name, data, sparsity_level, sparse_block_shape, zeros_per_block,
                    **kwargs):
        values_per_block = math.prod(sparse_block_shape)
        if zeros_per_block > values_per_block:
            raise ValueError(
                "Number of zeros per block cannot be more than the total number of "
                "elements in that block."
            )
        if zeros_per_block < 0:
            raise ValueError("Number of zeros per block should be positive.")
        norms = (data.abs() if self.norm == "L1" else data * data).squeeze()
        if norms.ndim > 2:
            raise ValueError("only supports 2-D at the moment")
        if norms.ndim == 1:  # a bias-like vector is one row
            norms = norms[None, :]
        mask = self.get_mask(name)
        if sparsity_level <= 0 or zeros_per_block == 0:
            mask.data = ones_like(mask)
        elif sparsity_level >= 1.0 and zeros_per_block == values_per_block:
            mask.data = zeros_like(mask)
        array = norms._data
        xp = array_module(array)
        data_mask = self._data_level_mask(array, sparsity_level, sparse_block_shape)
        block_mask = self._block_level_mask(array, sparse_block_shape, zeros_per_block)
        combined = xp.where(data_mask == 1, data_mask, block_mask)
        mask.data = _make(xp.ascontiguousarray(combined)).to(int8)
