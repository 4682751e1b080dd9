"""``DataNormSparsifier``: the block-norm rule of ``WeightNormSparsifier`` for data.

PyTorch's data variant differs from the weight one in small ways kept here: the number
of zeroed blocks is ``round(sparsity_level * n_blocks)`` without the weight variant's
"keep one block" clamp, masks are int8, and both masks always combine (a kept block
keeps every value; a removed block keeps all but its ``zeros_per_block`` smallest).
"""

from __future__ import annotations

import math

from ..... import int8
from ....._backend.device import array_module
from ....._tensor import _make
from ...sparsifier.weight_norm_sparsifier import (
    _check_zeros_per_block,
    _lowest_blocks_mask,
    _smallest_in_blocks_mask,
)
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

    def update_mask(self, name, data, sparsity_level, sparse_block_shape, zeros_per_block,
                    **kwargs):
        _check_zeros_per_block(zeros_per_block, math.prod(sparse_block_shape))
        norms = (data.abs() if self.norm == "L1" else data * data).squeeze()
        if norms.ndim > 2:
            raise ValueError("only supports 2-D at the moment")
        if norms.ndim == 1:  # a bias-like vector is one row
            norms = norms[None, :]
        array = norms._data
        xp = array_module(array)
        data_mask = _lowest_blocks_mask(array, sparse_block_shape, sparsity_level, xp.int8,
                                        keep_one_block=False)
        if math.prod(sparse_block_shape) == zeros_per_block:
            block_mask = xp.zeros(array.shape, dtype=xp.int8)
        else:
            block_mask = _smallest_in_blocks_mask(array, sparse_block_shape, zeros_per_block,
                                                  xp.int8)
        combined = xp.where(data_mask == 1, data_mask, block_mask)
        self.get_mask(name).data = _make(xp.ascontiguousarray(combined)).to(int8)
