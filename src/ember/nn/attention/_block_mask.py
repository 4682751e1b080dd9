"""BlockMask and the mask helpers of ``torch.nn.attention.flex_attention``.

A BlockMask stores which (Q_BLOCK_SIZE x KV_BLOCK_SIZE) tiles of the score matrix are
computed at all, in PyTorch's ordered layout: per query-block row, how many kv blocks it
visits (``kv_num_blocks``) and which (``kv_indices``); "full" tiles, whose every element
is attended, are listed apart so the kernel need not call ``mask_mod`` on them. The
q-major transposes (``q_num_blocks``/``q_indices``) are derived for PyTorch's backward
kernel; ember keeps them so the fields, shapes and ``repr`` match PyTorch's.

PyTorch vmaps ``mask_mod`` four times over (b, h, q_idx, kv_idx). ember calls it once on
index tensors shaped (B,1,1,1), (1,H,1,1), (1,1,L,1) and (1,1,1,S), so ordinary tensor
code in a mod (comparisons, arithmetic, indexing a captured tensor with the indices,
``where``) broadcasts to the same (B, H, L, S) result in one pass. A mod that branches in
Python on an index value cannot run under PyTorch's vmap either.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import operator
from enum import Enum

from ..._backend.dtypes import bool_, int8, int32
from ..._ops.creation import arange, ones, zeros
from ..._ops.sort import argsort
from ..._ops.where_clamp import where

__all__ = ["BlockMask", "and_masks", "create_block_mask", "create_mask", "noop_mask",
           "or_masks"]

_DEFAULT_SPARSE_BLOCK_SIZE = 128
_LARGE_SPARSE_BLOCK_SIZE = 1 << 30


class _ModificationType(Enum):
    """A score_mod takes the score first (5 positional arguments), a mask_mod does not (4)."""

    SCORE_MOD = 1
    MASK_MOD = 2
    UNKNOWN = 3


def _get_mod_type(fn) -> _ModificationType:
    """Tell score_mod from mask_mod by the number of positional arguments without default,
    as PyTorch does."""
    if hasattr(fn, "__code__"):
        defaults = getattr(fn, "__defaults__", None) or ()
        num_positional = fn.__code__.co_argcount - len(defaults)
    else:
        num_positional = sum(1 for p in inspect.signature(fn).parameters.values()
                             if p.default is inspect.Parameter.empty)
    if num_positional not in (4, 5):
        raise AssertionError(f"Expected 4 or 5 positional args, got {num_positional}")
    return _ModificationType.SCORE_MOD if num_positional == 5 else _ModificationType.MASK_MOD


def noop_mask(batch, head, token_q, token_kv):
    """Returns a noop mask_mod"""
    return batch.new_ones(size=(), dtype=bool_, device=batch.device)



def _sliced_mask_mod_error(batch, head, token_q, token_kv):
    """Stands in for the mask_mod of a sliced BlockMask: the original mod no longer lines
    up with the sliced rows, so using it is an error (PyTorch's message)."""
    raise RuntimeError(
        "Cannot use mask_mod from a sliced BlockMask. "
        "When you slice a BlockMask using [], the mask_mod attribute is reset. "
        "You must set it from the original BlockMask's mask_mod."
        "\n\nIncorrect usage:"
        "\n  base_mask = create_block_mask(my_mask_fn, ...)"
        "\n  sliced_mask = base_mask[:, :, block_idx]"
        "\n  sliced_mask.mask_mod = apply_offset(sliced_mask.mask_mod, offset)  # WRONG!"
        "\n\nCorrect usage:"
        "\n  base_mask = create_block_mask(my_mask_fn, ...)"
        "\n  sliced_mask = base_mask[:, :, block_idx]"
        "\n  sliced_mask.mask_mod = apply_offset(base_mask.mask_mod, offset)  # Use base_mask!"
    )


def or_masks(*mask_mods):
    """Returns a mask_mod that's the union of provided mask_mods"""
    if not all(callable(arg) for arg in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def or_mask(b, h, q_idx, kv_idx):
        result = b.new_zeros((), dtype=bool_)
        for mask in mask_mods:
            result = result | mask(b, h, q_idx, kv_idx)
        return result

    return or_mask


def and_masks(*mask_mods):
    """Returns a mask_mod that's the intersection of provided mask_mods"""
    if not all(callable(arg) for arg in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def and_mask(b, h, q_idx, kv_idx):
        result = b.new_ones((), dtype=bool_)
        for mask in mask_mods:
            result = result & mask(b, h, q_idx, kv_idx)
        return result

    return and_mask


def _index_grids(B: int, H: int, Q_LEN: int, KV_LEN: int, device):
    """int64 index tensors that broadcast to (B, H, Q_LEN, KV_LEN); int64 as PyTorch's
    eager path passes (its ``arange`` default)."""
    return (arange(B, device=device).view(B, 1, 1, 1),
            arange(H, device=device).view(1, H, 1, 1),
            arange(Q_LEN, device=device).view(1, 1, Q_LEN, 1),
            arange(KV_LEN, device=device).view(1, 1, 1, KV_LEN))


def _apply_mod(mod_fn, grids, shape, score=None):
    """Run a mask_mod (score is None) or score_mod on the broadcast index grids and give
    the result the full (B, H, L, S) shape, as the vmapped call would."""
    out = mod_fn(*grids) if score is None else mod_fn(score, *grids)
    return out.expand(*shape) if tuple(out.shape) != tuple(shape) else out


def _default_device(device):
    if device is not None:
        return device
    from ... import accelerator

    return accelerator.current_accelerator() or "cpu"


def create_mask(mod_fn, B, H, Q_LEN: int, KV_LEN: int, device=None):
    r"""Evaluate a mask_mod (or a score_mod: True where it does not give -inf) on every
    (b, h, q_idx, kv_idx) and return the dense bool mask of shape (B, H, Q_LEN, KV_LEN)."""
    device = _default_device(device)
    B = 1 if B is None else B
    H = 1 if H is None else H
    grids = _index_grids(B, H, Q_LEN, KV_LEN, device)
    shape = (B, H, Q_LEN, KV_LEN)
    if _get_mod_type(mod_fn) == _ModificationType.SCORE_MOD:
        out = _apply_mod(mod_fn, grids, shape, zeros(*shape, device=device))
        return where(out.isneginf(), False, True)
    return _apply_mod(mod_fn, grids, shape)


def _convert_mask_to_block_mask(mask, Q_BLOCK_SIZE, KV_BLOCK_SIZE, separate_full_blocks):
    """Count the True elements of each tile: a tile with some is partial (or full when
    all are and ``separate_full_blocks``); returns int8 (partial, full-or-None) grids."""
    from ..._ops.resample import pad

    while mask.dim() < 4:
        mask = mask.unsqueeze(0)
    pad_kv = -mask.shape[-1] % KV_BLOCK_SIZE
    pad_q = -mask.shape[-2] % Q_BLOCK_SIZE
    if pad_kv or pad_q:
        mask = pad(mask.to(int32), (0, pad_kv, 0, pad_q))
    B, H, Q, KV = mask.shape
    tiles = mask.reshape(B, H, Q // Q_BLOCK_SIZE, Q_BLOCK_SIZE, KV // KV_BLOCK_SIZE,
                         KV_BLOCK_SIZE).permute(0, 1, 2, 4, 3, 5)
    block_sum = tiles.sum(dim=[-2, -1])
    if separate_full_blocks:
        full_size = Q_BLOCK_SIZE * KV_BLOCK_SIZE
        full = block_sum == full_size
        partial = (block_sum > 0) & (block_sum < full_size)
        return partial.to(int8), full.to(int8)
    return (block_sum > 0).to(int8), None




def _dense_to_ordered(dense_mask):
    """Dense 0/1 block grid -> (blocks per row, column indices with the present ones
    first, in ascending order: a stable descending sort)."""
    dense_mask = dense_mask.to(int32)
    num_blocks_in_row = dense_mask.sum(dim=-1)
    col_indices = argsort(dense_mask, dim=-1, descending=True, stable=True)
    return num_blocks_in_row.to(int32).contiguous(), col_indices.to(int32).contiguous()


def _ordered_to_dense(num_blocks_in_row, col_indices, num_cols: int):
    """Inverse of ``_dense_to_ordered``: an int32 grid with 1 at the first
    ``num_blocks_in_row`` listed columns of each row. Unused entries are sent to a spare
    column past the end, then cut off, so no per-row loop is needed."""
    max_entries = col_indices.shape[-1]
    device = col_indices.device
    used = arange(max_entries, device=device) < num_blocks_in_row.unsqueeze(-1)
    targets = where(used, col_indices.long(), num_cols)
    dense = zeros(*col_indices.shape[:-1], num_cols + 1, dtype=int32, device=device)
    dense.scatter_(-1, targets, 1)
    return dense[..., :num_cols].contiguous()


def _transpose_ordered(num_blocks_in_row, col_indices):
    dense = _ordered_to_dense(num_blocks_in_row, col_indices, col_indices.shape[-1])
    return _dense_to_ordered(dense.transpose(-2, -1))


def _adjust_num_blocks_and_indices(num_blocks, indices, new_num_rows, new_num_cols):
    indices = indices[:, :, :new_num_rows, :new_num_cols]
    num_blocks = num_blocks[:, :, :new_num_rows]
    num_blocks = where(num_blocks < new_num_cols, num_blocks, new_num_cols)
    num_blocks = (indices < num_blocks[:, :, :, None]).sum(dim=-1).to(int32)
    return num_blocks, indices


def _compute_dq_write_order(block_mask, dq_kv_order=False):
    """The write-order metadata PyTorch's deterministic block-sparse FLASH backward reads:
    for each (kv block n, its i-th contributing query block m, in ``q_indices`` order),
    the rank of n among the kv blocks query block m visits, ascending or, with
    ``dq_kv_order`` True, descending (PyTorch's "SPT" order). ember's own backward is
    deterministic without it; the metadata is computed so BlockMasks carry the same
    fields as PyTorch's. Returns (for the partial lists, for the full lists or None)."""
    from ..._ops.shape import broadcast_shapes

    if block_mask.q_num_blocks is None or block_mask.q_indices is None:
        raise ValueError(
            "BlockMask must have q_num_blocks and q_indices to compute dq_write_order")
    kv_num, kv_idx = block_mask.kv_num_blocks, block_mask.kv_indices
    full_num, full_idx = block_mask.full_kv_num_blocks, block_mask.full_kv_indices
    q_idx, full_q_idx = block_mask.q_indices, block_mask.full_q_indices
    shapes = [kv_idx.shape[:2], q_idx.shape[:2]]
    shapes += [t.shape[:2] for t in (full_idx, full_q_idx) if t is not None]
    B, H = broadcast_shapes(*shapes)
    num_m, num_n = kv_idx.shape[2], q_idx.shape[2]

    def per_bh(t):
        return t.expand(B, H, *t.shape[2:])

    dense = _ordered_to_dense(per_bh(kv_num), per_bh(kv_idx), num_n)
    if full_num is not None:
        dense = (dense + _ordered_to_dense(per_bh(full_num), per_bh(full_idx), num_n)).clamp(
            max=1)
    counts = dense.cumsum(dim=-1)
    rank = counts - dense  # blocks before n in the row
    if dq_kv_order:
        rank = counts[..., -1:] - 1 - rank
    rank = rank.to(int32)
    device = kv_idx.device
    b = arange(B, device=device).view(B, 1, 1, 1)
    h = arange(H, device=device).view(1, H, 1, 1)

    def gather(q_lists):
        n = arange(q_lists.shape[2], device=device).view(1, 1, -1, 1)
        return rank[b, h, q_lists.long().clamp(0, num_m - 1), n]  # int32, as rank

    write_order = gather(q_idx)
    write_order_full = None
    if full_num is not None and full_q_idx is not None:
        write_order_full = gather(full_q_idx)
    return write_order, write_order_full


class BlockMask:
    r"""A block-sparse attention mask in PyTorch's format (see the module docstring).

    Fields as PyTorch's: ``seq_lengths``, ``kv_num_blocks``, ``kv_indices``,
    ``full_kv_num_blocks``, ``full_kv_indices``, ``q_num_blocks``, ``q_indices``,
    ``full_q_num_blocks``, ``full_q_indices``, ``BLOCK_SIZE`` (Q, KV), ``mask_mod`` and the
    deterministic-dQ metadata fields ``dq_write_order``, ``dq_write_order_full``,
    ``dq_kv_order``, ``dq_kv_order_spt`` (ember's kernel is deterministic and does not
    read them; they are computed and carried as PyTorch's are).
    """

    _TENSOR_ATTRS = ["kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices",
                     "q_num_blocks", "q_indices", "full_q_num_blocks", "full_q_indices",
                     "dq_write_order", "dq_write_order_full", "dq_kv_order"]
    _CONTEXT_ATTRS = ["seq_lengths", "BLOCK_SIZE", "mask_mod", "dq_kv_order_spt"]

    def __init__(self, seq_lengths, kv_num_blocks, kv_indices, full_kv_num_blocks,
                 full_kv_indices, q_num_blocks, q_indices, full_q_num_blocks, full_q_indices,
                 BLOCK_SIZE=(_DEFAULT_SPARSE_BLOCK_SIZE, _DEFAULT_SPARSE_BLOCK_SIZE),
                 mask_mod=noop_mask, *, dq_write_order=None, dq_write_order_full=None,
                 dq_kv_order=None, dq_kv_order_spt=None) -> None:
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError(
                "full_kv_num_blocks and full_kv_indices must be both provided or omitted")
        if (full_q_num_blocks is None) != (full_q_indices is None):
            raise AssertionError(
                "full_q_num_blocks and full_q_indices must be both provided or omitted")
        if dq_write_order_full is not None and dq_write_order is None:
            raise ValueError("dq_write_order_full requires dq_write_order")
        self.seq_lengths = seq_lengths
        self.kv_num_blocks = kv_num_blocks
        self.kv_indices = kv_indices
        self.full_kv_num_blocks = full_kv_num_blocks
        self.full_kv_indices = full_kv_indices
        self.q_num_blocks = q_num_blocks
        self.q_indices = q_indices
        self.full_q_num_blocks = full_q_num_blocks
        self.full_q_indices = full_q_indices
        self.dq_write_order = dq_write_order
        self.dq_write_order_full = dq_write_order_full
        self.dq_kv_order = dq_kv_order
        self.dq_kv_order_spt = dq_kv_order_spt
        self.BLOCK_SIZE = BLOCK_SIZE
        self.mask_mod = mask_mod

    @classmethod
    def from_kv_blocks(cls, kv_num_blocks, kv_indices, full_kv_num_blocks=None,
                       full_kv_indices=None, BLOCK_SIZE=_DEFAULT_SPARSE_BLOCK_SIZE,
                       mask_mod=None, seq_lengths=None, compute_q_blocks: bool = True, *,
                       dq_write_order=None, dq_write_order_full=None, dq_kv_order=None):
        """Build a BlockMask from the kv-major block lists, deriving the q-major ones."""
        from ..._tensor import Tensor

        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError(
                "full_kv_num_blocks and full_kv_indices must be both provided or omitted")
        q_num_blocks = q_indices = full_q_num_blocks = full_q_indices = None
        if compute_q_blocks:
            q_num_blocks, q_indices = _transpose_ordered(kv_num_blocks, kv_indices)
            if full_kv_num_blocks is not None:
                full_q_num_blocks, full_q_indices = _transpose_ordered(full_kv_num_blocks,
                                                                       full_kv_indices)
        if isinstance(BLOCK_SIZE, int):
            BLOCK_SIZE = (BLOCK_SIZE, BLOCK_SIZE)
        mask_mod = mask_mod if mask_mod is not None else noop_mask
        if seq_lengths is None:
            seq_lengths = (kv_indices.shape[-2] * BLOCK_SIZE[0],
                           kv_indices.shape[-1] * BLOCK_SIZE[1])
        if dq_kv_order is not None and not isinstance(dq_kv_order, (bool, Tensor)):
            raise ValueError("dq_kv_order must be a bool, Tensor, or None")
        return cls(seq_lengths=seq_lengths, kv_num_blocks=kv_num_blocks,
                   kv_indices=kv_indices, full_kv_num_blocks=full_kv_num_blocks,
                   full_kv_indices=full_kv_indices, q_num_blocks=q_num_blocks,
                   q_indices=q_indices, full_q_num_blocks=full_q_num_blocks,
                   full_q_indices=full_q_indices, BLOCK_SIZE=BLOCK_SIZE, mask_mod=mask_mod,
                   dq_write_order=dq_write_order, dq_write_order_full=dq_write_order_full,
                   dq_kv_order=dq_kv_order if isinstance(dq_kv_order, Tensor) else None,
                   dq_kv_order_spt=dq_kv_order if isinstance(dq_kv_order, bool) else None)

    def as_tuple(self, flatten: bool = True) -> tuple:
        """The fields in PyTorch's order; ``flatten`` spreads seq_lengths and BLOCK_SIZE."""
        if flatten:
            block_size = tuple(self.BLOCK_SIZE)
            seq_lengths = tuple(self.seq_lengths)
        else:
            block_size = (self.BLOCK_SIZE,)
            seq_lengths = (self.seq_lengths,)
        return (*seq_lengths, self.kv_num_blocks, self.kv_indices, self.full_kv_num_blocks,
                self.full_kv_indices, self.q_num_blocks, self.q_indices,
                self.full_q_num_blocks, self.full_q_indices, self.dq_write_order,
                self.dq_write_order_full, self.dq_kv_order, self.dq_kv_order_spt,
                *block_size, self.mask_mod)

    @property
    def shape(self) -> tuple:
        *batch_dims, _, _ = self.kv_indices.shape
        return tuple(batch_dims) + tuple(self.seq_lengths)

    def __str__(self) -> str:
        return (f"BlockMask(shape={self.shape}, sparsity={self.sparsity():.2f}%, \n"
                + self.to_string().strip() + "\n)")

    def __getitem__(self, index) -> BlockMask:
        """Index the batch, head and query-block dims of every block list; the result's
        mask_mod raises when used, as PyTorch's does (it no longer lines up)."""
        if self.dq_kv_order is not None:
            raise NotImplementedError(
                "Slicing BlockMask with tensor dq_kv_order is not supported yet. "
                "Construct a new BlockMask with matching precomputed dq_write_order metadata.")
        index = index if isinstance(index, tuple) else (index,)
        padded = (*index, slice(None), slice(None), slice(None))[:3]
        sizes = self.kv_num_blocks.shape[:3]
        # An int keeps its dim (a length-1 slice), so the result stays a 4-d BlockMask.
        index = tuple((slice(i + n, i + n + 1) if -n <= i < 0 else slice(i, i + 1))
                      if isinstance(i, int) else i for i, n in zip(padded, sizes))
        full_num = full_idx = None
        if self.full_kv_num_blocks is not None:
            full_num = self.full_kv_num_blocks[index]
            full_idx = self.full_kv_indices[index]
        sliced = BlockMask.from_kv_blocks(
            self.kv_num_blocks[index], self.kv_indices[index], full_num, full_idx,
            BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=_sliced_mask_mod_error,
            seq_lengths=self.seq_lengths, compute_q_blocks=self.q_indices is not None,
            dq_kv_order=self.dq_kv_order_spt)
        if self.dq_write_order is not None:
            sliced.dq_write_order, sliced.dq_write_order_full = _compute_dq_write_order(
                sliced, sliced.dq_kv_order_spt)
        return sliced

    def __repr__(self) -> str:
        def shape_or_none(x):
            return x.shape if x is not None else None

        name = getattr(self.mask_mod, "__name__", self.mask_mod)
        return (
            f"BlockMask(\n"
            f"    kv_num_blocks={self.kv_num_blocks.shape},\n"
            f"    kv_indices={self.kv_indices.shape},\n"
            f"    full_kv_num_blocks={shape_or_none(self.full_kv_num_blocks)},\n"
            f"    full_kv_indices={shape_or_none(self.full_kv_indices)},\n"
            f"    q_num_blocks={shape_or_none(self.q_num_blocks)},\n"
            f"    q_indices={shape_or_none(self.q_indices)},\n"
            f"    full_q_num_blocks={shape_or_none(self.full_q_num_blocks)},\n"
            f"    full_q_indices={shape_or_none(self.full_q_indices)},\n"
            f"    BLOCK_SIZE={self.BLOCK_SIZE},\n"
            f"    shape={self.shape},\n"
            f"    sparsity={self.sparsity():.2f}%,\n"
            f"    mask_mod={name}\n"
            f")"
        )

    def _adjust(self, new_q_len: int, new_kv_len: int) -> BlockMask:
        """Crop the mask to its upper-left (new_q_len, new_kv_len) corner."""
        if self.dq_kv_order is not None:
            raise NotImplementedError(
                "Adjusting BlockMask with tensor dq_kv_order is not supported yet. "
                "Construct a new BlockMask with matching precomputed dq_write_order metadata.")
        rows = -(-new_q_len // self.BLOCK_SIZE[0])
        cols = -(-new_kv_len // self.BLOCK_SIZE[1])
        num, idx = _adjust_num_blocks_and_indices(self.kv_num_blocks, self.kv_indices,
                                                  rows, cols)
        full_num = full_idx = None
        if self.full_kv_num_blocks is not None:
            full_num, full_idx = _adjust_num_blocks_and_indices(
                self.full_kv_num_blocks, self.full_kv_indices, rows, cols)
        adjusted = self.from_kv_blocks(num, idx, full_num, full_idx,
                                       BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=self.mask_mod,
                                       seq_lengths=(new_q_len, new_kv_len),
                                       compute_q_blocks=self.q_indices is not None,
                                       dq_kv_order=self.dq_kv_order_spt)
        if self.dq_write_order is not None:
            adjusted.dq_write_order, adjusted.dq_write_order_full = _compute_dq_write_order(
                adjusted, adjusted.dq_kv_order_spt)
        return adjusted

    def numel(self) -> int:
        """Returns the number of elements (not accounting for sparsity) in the mask."""
        return functools.reduce(operator.mul, self.shape, 1)

    def sparsity(self) -> float:
        """Computes the percentage of blocks that are sparse (i.e. not computed)"""
        computed_blocks = self.kv_num_blocks.sum().item()
        if self.full_kv_num_blocks is not None:
            computed_blocks += self.full_kv_num_blocks.sum().item()
        computed_size = computed_blocks * self.BLOCK_SIZE[0] * self.BLOCK_SIZE[1]
        return 100 * (1 - computed_size / self.numel())

    def to_dense(self):
        """Returns a dense block that is equivalent to the block mask."""
        dense = _ordered_to_dense(self.kv_num_blocks, self.kv_indices,
                                  self.kv_indices.shape[-1])
        if self.full_kv_num_blocks is not None:
            return dense | _ordered_to_dense(self.full_kv_num_blocks, self.full_kv_indices,
                                             self.full_kv_indices.shape[-1])
        return dense

    def to_string(self, grid_size=(20, 20), limit: int = 4) -> str:
        """Returns a string representation of the block mask. Quite nifty.

        If grid_size is -1, prints out an uncompressed version. Warning, it can be quite big!
        """
        dense_mask = self.to_dense().cpu().numpy()
        *batch_dims, num_rows, num_cols = dense_mask.shape
        if grid_size == -1:
            max_rows, max_cols = num_rows, num_cols
        elif isinstance(grid_size, int):
            max_rows = max_cols = grid_size
        else:
            max_rows, max_cols = grid_size
        row_step = max(1, -(-num_rows // max_rows))
        col_step = max(1, -(-num_cols // max_cols))

        def create_block_vis(*batch_idx):
            vis = f"{batch_idx}\n"
            plane = dense_mask[batch_idx]
            for r in range(0, num_rows, row_step):
                for c in range(0, num_cols, col_step):
                    share = plane[r:r + row_step, c:c + col_step].astype("float32").mean()
                    vis += ("█" if share == 1 else " " if share == 0 else "░") * 2
                vis += "\n"
            return vis

        total_vis = []
        for count, batch_idx in enumerate(itertools.product(*[range(i) for i in batch_dims])):
            if count == limit:
                total_vis.append("...")
                total_vis.append("To print out more, set BlockMask.to_string(limit=N)")
                total_vis.append("You can also index (BlockMask[batch, head]) to choose a "
                                 "specific batch or head")
                break
            total_vis.append(create_block_vis(*batch_idx))
        return "\n".join(total_vis)

    def to(self, device) -> BlockMask:
        """A new BlockMask with every tensor field moved to ``device``."""
        moved = {name: (getattr(self, name).to(device)
                        if getattr(self, name) is not None else None)
                 for name in self._TENSOR_ATTRS}
        return BlockMask(seq_lengths=self.seq_lengths, **moved, BLOCK_SIZE=self.BLOCK_SIZE,
                         mask_mod=self.mask_mod, dq_kv_order_spt=self.dq_kv_order_spt)


def create_block_mask(mask_mod, B, H, Q_LEN: int, KV_LEN: int, device=None,
                      BLOCK_SIZE=_DEFAULT_SPARSE_BLOCK_SIZE, _compile=False,
                      separate_full_blocks: bool = True, compute_dq_write_order: bool = False,
                      dq_kv_order: bool = True) -> BlockMask:
    r"""Create a BlockMask from a mask_mod: evaluate it densely, then record which tiles
    are partly (partial) or wholly (full) attended.

    ``compute_dq_write_order`` adds the scheduling metadata of PyTorch's deterministic
    FLASH backward (``dq_write_order``; see ``_compute_dq_write_order``), computed as
    PyTorch computes it; ember's own kernel does not need it.

    Example::

        >>> def causal_mask(b, h, q_idx, kv_idx):
        ...     return q_idx >= kv_idx
        >>> block_mask = create_block_mask(causal_mask, 1, 1, 256, 256, device="cpu")
    """
    import warnings

    device = _default_device(device)
    if _get_mod_type(mask_mod) != _ModificationType.MASK_MOD:
        raise AssertionError(f"create-block_mask requires a mask_mod function! Got {mask_mod}")
    B = 1 if B is None else B
    H = 1 if H is None else H
    if isinstance(BLOCK_SIZE, int):
        Q_BLOCK_SIZE = KV_BLOCK_SIZE = BLOCK_SIZE
    else:
        Q_BLOCK_SIZE, KV_BLOCK_SIZE = BLOCK_SIZE
    if _compile:
        # ember has no compiler to hand the call to; the eager result is the same.
        warnings.warn(
            "_compile flag on create_block_mask was originally added to work around a "
            "torch.compile limitation. That limitation has since been addressed. So, to "
            "compile create_block_mask, we suggest doing torch.compile(create_block_mask). "
            "This still works for now, but will be removed in the future.",
            DeprecationWarning, stacklevel=2)
    if not isinstance(dq_kv_order, bool):
        raise ValueError("dq_kv_order must be a bool when using create_block_mask")
    mask = create_mask(mask_mod, B, H, Q_LEN, KV_LEN, device)
    partial, full = _convert_mask_to_block_mask(mask, Q_BLOCK_SIZE, KV_BLOCK_SIZE,
                                                separate_full_blocks)
    partial_num, partial_idx = _dense_to_ordered(partial)
    full_num = full_idx = None
    if full is not None:
        full_num, full_idx = _dense_to_ordered(full)
    block_mask = BlockMask.from_kv_blocks(partial_num, partial_idx, full_num, full_idx,
                                          BLOCK_SIZE=(Q_BLOCK_SIZE, KV_BLOCK_SIZE),
                                          mask_mod=mask_mod, seq_lengths=(Q_LEN, KV_LEN))
    if compute_dq_write_order:
        block_mask.dq_write_order, block_mask.dq_write_order_full = _compute_dq_write_order(
            block_mask, dq_kv_order)
        block_mask.dq_kv_order_spt = dq_kv_order
    return block_mask


def _create_empty_block_mask(query, key) -> BlockMask:
    """The default mask: one block spanning every query and key."""
    device = query.device
    return BlockMask.from_kv_blocks(
        kv_num_blocks=ones([1, 1, 1], dtype=int32, device=device),
        kv_indices=zeros([1, 1, 1, 1], dtype=int32, device=device),
        BLOCK_SIZE=_LARGE_SPARSE_BLOCK_SIZE, seq_lengths=(1, 1))
