"""``nn.Embedding(sparse=True)``: the weight's gradient as a COO tensor of looked-up rows.

The autograd engine accumulates dense gradients into leaves, and it stays that way: the
lookup here reads the rows into a fresh leaf (``rows``), so the engine never sees the
weight. When ``rows`` receives its gradient, a post-accumulate hook hands it to the
weight as PyTorch's sparse gradient: indices = the looked-up ids (padding_idx dropped,
uncoalesced, in lookup order), values = the gradient of each looked-up row. A second
backward adds a second such tensor (concatenated, as PyTorch does).
"""

from __future__ import annotations

import numpy as np

from .._tensor import _make
from ._coo import _new


def sparse_embedding(weight, index, padding_idx, scale_grad_by_freq):
    """Rows of ``weight`` at ``index`` (a backend int array); ``weight.grad`` will be sparse."""
    flat = index.reshape(-1).astype(np.int64)
    rows = _make(weight._data[flat])
    rows.requires_grad_(True)
    keep = None if padding_idx is None or padding_idx < 0 else flat != padding_idx
    def deliver(leaf):
        if scale_grad_by_freq:  # PyTorch's refusal, raised in backward as there
            raise RuntimeError(
                "embedding_backward: scale_grad_by_freq not supported with sparse gradients")
        values = leaf.grad
        leaf.grad = None  # each backward delivers its own gradient once
        ids = flat
        if keep is not None:
            ids = flat[keep]
            values = values[_make(keep)]
        grad = _new(_make(ids.reshape(1, -1)), values.detach(), tuple(weight.shape), False)
        weight.grad = grad if weight.grad is None else weight.grad + grad

    rows.register_post_accumulate_grad_hook(deliver)
    return rows.reshape(*index.shape, weight.shape[1])
