"""``torch.nn.attention.flex_attention``: attention with a user score_mod and a block mask.

PyTorch runs flex_attention through a compiled (Triton, or C++ on the cpu) kernel that
never builds the (L, S) score matrix; without ``torch.compile`` it falls back to a dense
"math" path. ember has no kernel compiler, so it always takes the dense path, on every
device: scores are computed in float32 (float64 for float64 inputs), ``score_mod`` and
``mask_mod`` are evaluated once on broadcast index tensors (see ``_block_mask``), the
softmax is PyTorch's "safe" one (a fully masked row gives zeros and lse = -inf), and the
whole computation is composed from ember ops. So gradients reach query, key, value and
any tensor the score_mod captures (a learnable bias, ALiBi slopes), to any order.

The block mask's sparsity is honoured as PyTorch's kernels honour it: an element is
attended when its tile is listed as full, or listed as partial and ``mask_mod`` allows it;
an unlisted tile is skipped. (PyTorch's uncompiled math path consults only ``mask_mod``;
for masks made by ``create_block_mask`` the two agree, they differ only for a hand-built
``BlockMask.from_kv_blocks`` whose block lists say more than its mask_mod.)

Two things PyTorch refuses on the cpu work here, because ember's kernel is the same on
every device: gradients (PyTorch: "FlexAttention does not support backward on CPU") and
``AuxRequest(max_scores=True)``. Memory is O(B*H*L*S), as in PyTorch's eager path.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple, TypedDict

from ..._backend.dtypes import float32, float64
from ..._ops.activation import softmax
from ..._ops.shape_copy import repeat_interleave
from ..._ops.where_clamp import where
from ._block_mask import (
    _DEFAULT_SPARSE_BLOCK_SIZE,  # noqa: F401 - PyTorch code reads it from this module
    _LARGE_SPARSE_BLOCK_SIZE,
    BlockMask,
    _apply_mod,
    _create_empty_block_mask,
    _index_grids,
    _ordered_to_dense,
    _sliced_mask_mod_error,
    and_masks,
    create_block_mask,
    create_mask,
    noop_mask,
    or_masks,
)

__all__ = ["BlockMask", "flex_attention", "AuxOutput", "AuxRequest", "FlexKernelOptions",
           "create_block_mask", "create_mask", "or_masks", "and_masks", "noop_mask"]

# PyTorch's switch for running score_mod/mask_mod eagerly (to debug them). ember always
# runs them eagerly; the flag exists so code that sets it keeps working.
_FLEX_ATTENTION_DISABLE_COMPILE_DEBUG = False
_BACKENDS = ("AUTO", "TRITON", "FLASH", "TRITON_DECODE")
_WARNINGS_SHOWN: set = set()


class FlexKernelOptions(TypedDict, total=False):
    """Tuning options for PyTorch's generated kernels (block sizes, warps, stages,
    ``PRESCALE_QK``, ``BACKEND`` ...). ember's dense kernel has nothing to tune: the
    options are validated as PyTorch validates them and otherwise leave the result as is.
    """

    num_warps: int
    num_stages: int
    BLOCK_M: int
    BLOCK_N: int
    PRESCALE_QK: bool
    ROWS_GUARANTEED_SAFE: bool
    BLOCKS_ARE_CONTIGUOUS: bool
    WRITE_DQ: bool
    FORCE_USE_FLEX_ATTENTION: bool
    USE_TMA: bool
    BACKEND: str


class AuxRequest(NamedTuple):
    """Request which auxiliary outputs to compute from flex_attention.

    Each field is a boolean indicating whether that auxiliary output should be computed.
    """

    lse: bool = False
    max_scores: bool = False


class AuxOutput(NamedTuple):
    """Auxiliary outputs from flex_attention operation.

    Fields will be None if not requested, or contain the tensor if requested.
    """

    lse: object = None
    max_scores: object = None


def _identity(score, batch, head, token_q, token_kv):
    return score


def _warn_once(warning_id: str, message: str, category=UserWarning) -> None:
    if warning_id not in _WARNINGS_SHOWN:
        _WARNINGS_SHOWN.add(warning_id)
        warnings.warn(message, category, stacklevel=3)


def _validate_inputs(query, key, value, enable_gqa: bool, block_mask) -> None:
    """PyTorch's checks in its order, with its exception types and messages."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        if getattr(t, "is_nested", False):
            raise NotImplementedError(
                "flex_attention does not support NestedTensor inputs, including "
                "torch.compile(flex_attention) with jagged NestedTensor inputs. "
                "Convert inputs to dense tensors before calling flex_attention.")
    if query.device != key.device or query.device != value.device:
        raise ValueError(
            f"Expected query, key, and value to have the same device type, "
            f"but got query.device: {query.device}, key.device: {key.device}, "
            f"and value.device: {value.device} instead.")
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise ValueError(
            f"Expected query, key, and value to all be  at least 2 dimensional, but got "
            f"query.dim: {query.dim()}, key.dim: {key.dim()} and value.dim: {value.dim()} "
            f"instead.")
    if query.size(-1) != key.size(-1):
        raise ValueError(
            f"Expect query and key/value to have the same embedding dimension "
            f"but got E={query.size(-1)} and E={key.size(-1)}.")
    if query.dim() != 4 or key.dim() != 4 or value.dim() != 4:
        raise NotImplementedError("NYI: query, key, and value must be 4D tensors")
    if not enable_gqa and query.size(-3) != key.size(-3):
        raise ValueError(
            f"Expect query and key/value to have the same number of heads "
            f"but got Hq={query.size(-3)} and Hkv={key.size(-3)}. "
            f"Try setting enable_gqa=True for GQA.")
    if enable_gqa and query.size(1) % key.size(1) != 0:
        raise ValueError(
            f"Expect number of query heads to be a multiple of kv heads for GQA "
            f"but got Hq={query.size(1)} and Hkv={key.size(1)}.")
    if query.size(0) != key.size(0):
        if block_mask is None:
            raise ValueError(
                f"Expect query and key/value to have the same batch size, "
                f"or non-none block_mask, "
                f"but got block_mask=None, Bq={query.size(0)}, and Bkv={key.size(0)}.")
        if block_mask.kv_num_blocks.size(0) != query.size(0):
            raise ValueError(
                f"Expect query and key/value to have the same batch size, "
                f"or block_mask and query to have the same batch size, "
                f"but got Bq={query.size(0)}, Bkv={key.size(0)}, "
                f"B_block_mask={block_mask.kv_num_blocks.size(0)}.")


def _validate_block_mask_lengths(query, key, block_mask) -> None:
    if block_mask.BLOCK_SIZE[0] == _LARGE_SPARSE_BLOCK_SIZE and \
            block_mask.BLOCK_SIZE[1] == _LARGE_SPARSE_BLOCK_SIZE:
        return  # the no-op mask: one block over everything
    q_len, kv_len = block_mask.shape[-2], block_mask.shape[-1]
    if query.size(-2) > q_len or key.size(-2) > kv_len:
        raise ValueError(
            f"block_mask was created for block_mask.shape={block_mask.shape} but got "
            f"q_len={query.size(-2)} and kv_len={key.size(-2)}. As the block mask was created "
            f"for a smaller length than you're using it for, you likely need to create a new "
            f"block mask.")
    if query.size(-2) < q_len or key.size(-2) < kv_len:
        raise ValueError(
            f"block_mask was created for block_mask.shape={block_mask.shape} but got "
            f"q_len={query.size(-2)} and kv_len={key.size(-2)}. As the block mask was created "
            f"for a larger length than you're using it for, you can either 1. create a new "
            f"block mask with the correct length, or 2. 'adjust' the existing block mask to "
            f"the correct length by calling block_mask._adjust(q_len, kv_len). This "
            f"essentially 'crops' the block mask to the upper left corner, which does not "
            f"work for all mask_mods!")


def _check_kernel_options(kernel_options, return_aux) -> None:
    options = {} if kernel_options is None else dict(kernel_options)
    if "BACKEND" in options and options.get("FORCE_USE_FLEX_ATTENTION", False):
        raise RuntimeError(
            "BACKEND cannot be combined with legacy FORCE_USE_FLEX_ATTENTION. "
            "BACKEND supersedes the legacy knob; please drop FORCE_USE_FLEX_ATTENTION "
            "and only specify the desired BACKEND.")
    backend = options.get("BACKEND", "AUTO")
    if backend not in _BACKENDS:
        raise ValueError(f"Invalid BACKEND value '{backend}'. Must be one of {_BACKENDS}")
    if "OUTPUT_LOGSUMEXP" in options:
        raise AssertionError("OUTPUT_LOGSUMEXP must not be in kernel_options")
    if "OUTPUT_MAX" in options:
        raise AssertionError("OUTPUT_MAX must not be in kernel_options")
    if backend == "FLASH" and return_aux is not None and return_aux.max_scores:
        raise NotImplementedError(
            "Returning max scores is not supported with BACKEND='FLASH'. "
            "Use return_aux=AuxRequest(lse=True) or omit max_scores.")


def _allowed_positions(block_mask, grids, shape):
    """Bool (B, H, L, S): which scores take part. Tiles listed as full are attended
    whole, tiles listed as partial where mask_mod allows, unlisted tiles not at all."""
    mask = _apply_mod(block_mask.mask_mod, grids, shape)
    q_block, kv_block = block_mask.BLOCK_SIZE
    if q_block == _LARGE_SPARSE_BLOCK_SIZE and kv_block == _LARGE_SPARSE_BLOCK_SIZE:
        return mask
    _, _, q_idx, kv_idx = grids
    num_kv_blocks = -(-shape[3] // kv_block)

    def expand_tiles(num_blocks, indices):
        tiles = _ordered_to_dense(num_blocks, indices, num_kv_blocks).bool()
        while tiles.dim() < 4:
            tiles = tiles.unsqueeze(0)
        # (Bm, Hm, nQ, nKV) tiles -> (Bm, Hm, L, S) elements by each index's tile.
        return tiles[:, :, (q_idx // q_block).view(-1)][..., (kv_idx // kv_block).view(-1)]

    allowed = expand_tiles(block_mask.kv_num_blocks, block_mask.kv_indices) & mask
    if block_mask.full_kv_num_blocks is not None:
        allowed = allowed | expand_tiles(block_mask.full_kv_num_blocks,
                                         block_mask.full_kv_indices)
    return allowed.expand(*shape)


def _math_attention(query, key, value, score_mod, block_mask, scale: float):
    """Dense flex attention, returning (output, lse, max_scores); lse and max_scores in
    natural-log units and the working precision (float32, or float64 for float64)."""
    groups = query.size(1) // key.size(1)
    if groups > 1:
        key = repeat_interleave(key, groups, dim=1)
        value = repeat_interleave(value, groups, dim=1)
    batch_q, batch_kv = query.size(0), key.size(0)
    if not (batch_q == batch_kv or (batch_q > 1 and batch_kv == 1)):
        raise RuntimeError(f"Bq and Bkv must broadcast. Got Bq={batch_q} and Bkv={batch_kv}")
    key = key.expand(batch_q, *key.shape[1:])
    value = value.expand(batch_q, *value.shape[1:])

    working = float64 if query.dtype == float64 else float32
    scores = (query.to(working) @ key.to(working).transpose(-2, -1)) * scale
    shape = tuple(scores.shape)
    grids = _index_grids(*shape, device=scores.device)
    post_mod = _apply_mod(score_mod, grids, shape, scores)
    post_mod = where(_allowed_positions(block_mask, grids, shape), post_mod, -math.inf)

    # A row with no finite score: softmax would give NaN (and NaN gradients); PyTorch's
    # safe softmax gives zeros there and lse = -inf. Filling such rows with 0 before the
    # softmax keeps both the values and the backward finite.
    masked_rows = (post_mod == -math.inf).all(dim=-1, keepdim=True)
    safe_scores = where(masked_rows, 0.0, post_mod)
    probs = where(masked_rows, 0.0, softmax(safe_scores, dim=-1))
    lse = where(masked_rows.squeeze(-1), -math.inf, safe_scores.logsumexp(dim=-1))
    max_scores = post_mod.detach().amax(dim=-1)
    out = probs.to(query.dtype) @ value.to(query.dtype)
    return out, lse, max_scores


def flex_attention(query, key, value, score_mod=None, block_mask: BlockMask | None = None,
                   scale: float | None = None, enable_gqa: bool = False,
                   return_lse: bool = False, kernel_options: FlexKernelOptions | None = None,
                   *, return_aux: AuxRequest | None = None):
    r"""Scaled dot-product attention whose scores pass through ``score_mod`` and whose
    positions are limited by ``block_mask`` (see the module docstring).

    Args:
        query: (B, Hq, L, E). key: (B, Hkv, S, E). value: (B, Hkv, S, Ev).
        score_mod: ``score_mod(score, b, h, q_idx, kv_idx) -> score``; default identity.
        block_mask: a BlockMask from ``create_block_mask``; default attends everywhere.
        scale: multiplies q @ k^T before score_mod; default 1/sqrt(E).
        enable_gqa: let Hq be a multiple of Hkv (grouped-query attention).
        return_lse: also return the log-sum-exp (B, Hq, L). Deprecated in PyTorch in
            favour of ``return_aux=AuxRequest(lse=True)``.
        kernel_options: PyTorch's kernel tuning dict; checked, otherwise no effect.
        return_aux: AuxRequest naming the auxiliary outputs wanted (lse, max_scores).

    Returns:
        output (B, Hq, L, Ev) in query's dtype; with ``return_aux`` also an AuxOutput,
        with ``return_lse`` also the lse tensor.

    Example::

        >>> def causal(b, h, q_idx, kv_idx):
        ...     return q_idx >= kv_idx
        >>> mask = create_block_mask(causal, None, None, 16, 16, device="cpu")
        >>> q = k = v = ember.randn(1, 2, 16, 8)
        >>> flex_attention(q, k, v, block_mask=mask).shape
        torch.Size([1, 2, 16, 8])
    """
    _validate_inputs(query, key, value, enable_gqa, block_mask)
    if score_mod is None:
        score_mod = _identity
    if block_mask is None:
        block_mask = _create_empty_block_mask(query, key)
    if getattr(block_mask, "mask_mod", None) is _sliced_mask_mod_error:
        raise RuntimeError("Cannot use mask_mod from a sliced BlockMask")
    _validate_block_mask_lengths(query, key, block_mask)
    if scale is None:
        scale = 1.0 / math.sqrt(query.size(-1))
    if query.device != block_mask.kv_num_blocks.device:
        raise RuntimeError(
            f"Expect q/k/v and block_mask to be on the same device "
            f"but got {query.device} and {block_mask.kv_num_blocks.device}.")
    if return_lse and return_aux is not None:
        raise ValueError(
            "Cannot specify both return_lse and return_aux. "
            "return_lse is deprecated, please use return_aux=AuxRequest(lse=True) instead.")
    if return_lse:
        _warn_once("deprecated_return_lse",
                   "return_lse is deprecated and will be removed in v2.10. "
                   "Please use return_aux=AuxRequest(lse=True) instead.", FutureWarning)
    _check_kernel_options(kernel_options, return_aux)

    out, lse, max_scores = _math_attention(query, key, value, score_mod, block_mask, scale)
    if return_aux is not None:
        return out, AuxOutput(lse=lse if return_aux.lse else None,
                              max_scores=max_scores if return_aux.max_scores else None)
    if return_lse:
        return out, lse
    return out
