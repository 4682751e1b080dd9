"""ember.nn.attention.flex_attention against torch.nn.attention.flex_attention.

Forward values go through torch's public ``flex_attention`` (eager, cpu). torch refuses
gradients on the cpu ("FlexAttention does not support backward on CPU"), so gradients are
compared with torch's own flex-attention operator (``torch._higher_order_ops``), the
dense implementation and autograd formula behind that public function; captured tensors
that need gradients are handed to it as ``score_mod_other_buffers``, as torch.compile does.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import torch
from torch._higher_order_ops.flex_attention import flex_attention as torch_flex_op
from torch.nn.attention import flex_attention as TF

import ember
from ember.nn.attention import flex_attention as EF

RNG = np.random.default_rng(5)


@pytest.fixture(autouse=True)
def _eager_torch():
    """torch's public flex_attention hands its operator to torch.compile (an "eager"
    backend on the cpu, ~0.3 s of tracing per call); torch's debug switch calls the same
    operator directly, the same numbers without the tracing. Restored afterwards."""
    saved = TF._FLEX_ATTENTION_DISABLE_COMPILE_DEBUG
    TF._FLEX_ATTENTION_DISABLE_COMPILE_DEBUG = True
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="return_lse is deprecated")
            yield
    finally:
        TF._FLEX_ATTENTION_DISABLE_COMPILE_DEBUG = saved


def _pair(*shape, dtype=np.float32):
    value = RNG.standard_normal(shape).astype(dtype)
    return ember.tensor(value), torch.tensor(value)


def _same(mine, theirs, **tol):
    theirs = theirs.detach()
    assert str(mine.dtype) == str(theirs.dtype)
    assert tuple(mine.shape) == tuple(theirs.shape)
    torch.testing.assert_close(torch.from_numpy(np.asarray(mine.detach().numpy())), theirs,
                               equal_nan=True, **tol)


def causal(b, h, q_idx, kv_idx):
    return q_idx >= kv_idx


def sliding_window(b, h, q_idx, kv_idx):
    return (q_idx - kv_idx).abs() <= 2


def prefix(b, h, q_idx, kv_idx):
    return kv_idx < 3


def late_queries(b, h, q_idx, kv_idx):
    return q_idx >= 4  # queries 0..3 see nothing: fully masked rows


# Each case: (lib, captured tensors) -> (score_mod or None, mask_mod or None), the shapes
# (B, Hq, Hkv, L, S, E, Ev) and extra flex_attention arguments.
def _alibi(lib, slopes, docs):
    return (lambda s, b, h, q, kv: s + slopes[h] * (kv - q)), causal


def _document(lib, slopes, docs):
    def same_doc(b, h, q, kv):
        return docs[q] == docs[kv]
    return None, EF_or_TF(lib).and_masks(same_doc, causal)


def _prefix_lm(lib, slopes, docs):
    return None, EF_or_TF(lib).or_masks(prefix, causal)


def _softcap(lib, slopes, docs):
    return (lambda s, b, h, q, kv: 5.0 * lib.tanh(s / 5.0)), sliding_window


def _neg_inf_score(lib, slopes, docs):
    return (lambda s, b, h, q, kv: lib.where((q + kv) % 3 == 0, -math.inf, s)), None


def EF_or_TF(lib):
    return EF if lib is ember else TF


CASES = {
    "plain": (lambda lib, *c: (None, None), (2, 2, 2, 8, 8, 4, 4), {}),
    "causal": (lambda lib, *c: (None, causal), (2, 2, 2, 8, 8, 4, 5), {}),
    "sliding_window": (lambda lib, *c: (None, sliding_window), (1, 2, 2, 8, 8, 4, 4), {}),
    "alibi": (_alibi, (1, 4, 4, 8, 8, 4, 4), {}),
    "document": (_document, (2, 2, 2, 8, 8, 4, 4), {}),
    "prefix_lm": (_prefix_lm, (1, 2, 2, 8, 8, 4, 4), {}),
    "gqa": (lambda lib, *c: (None, causal), (2, 4, 2, 8, 8, 4, 4), {"enable_gqa": True}),
    "masked_rows": (lambda lib, *c: (None, late_queries), (1, 2, 2, 8, 8, 4, 4), {}),
    "ragged_blocks": (lambda lib, *c: (None, causal), (1, 2, 2, 6, 10, 4, 3), {}),
    "softcap_scale": (_softcap, (1, 2, 2, 8, 8, 4, 4), {"scale": 0.3}),
    "neg_inf_score": (_neg_inf_score, (1, 1, 1, 8, 8, 4, 4), {}),
}


def _captured(lib):
    slopes = lib.tensor([0.5, 0.25, 0.125, 0.0625])
    docs = lib.tensor([0, 0, 0, 1, 1, 2, 2, 2])
    return slopes, docs


@pytest.mark.parametrize("name", list(CASES))
def test_forward_and_lse_match_torch(name):
    make, (B, Hq, Hkv, L, S, E, Ev), kwargs = CASES[name]
    q, tq = _pair(B, Hq, L, E)
    k, tk = _pair(B, Hkv, S, E)
    v, tv = _pair(B, Hkv, S, Ev)
    results = []
    for lib, mod, args in ((ember, EF, (q, k, v)), (torch, TF, (tq, tk, tv))):
        score_mod, mask_mod = make(lib, *_captured(lib))
        block_mask = None
        if mask_mod is not None:
            block_mask = mod.create_block_mask(mask_mod, B, Hq, L, S, device="cpu",
                                               BLOCK_SIZE=4)
        results.append(mod.flex_attention(*args, score_mod=score_mod, block_mask=block_mask,
                                          return_aux=mod.AuxRequest(lse=True), **kwargs))
    (out, aux), (t_out, t_aux) = results
    _same(out, t_out)
    _same(aux.lse, t_aux.lse)
    assert aux.max_scores is None and t_aux.max_scores is None


def test_shared_key_value_batch_broadcasts_over_queries():
    """Bq > 1 with Bkv == 1 is allowed when the block mask has the query batch."""
    q, tq = _pair(3, 2, 8, 4)
    k, tk = _pair(1, 2, 8, 4)
    v, tv = _pair(1, 2, 8, 2)
    mask = EF.create_block_mask(sliding_window, 3, 2, 8, 8, device="cpu", BLOCK_SIZE=4)
    t_mask = TF.create_block_mask(sliding_window, 3, 2, 8, 8, device="cpu", BLOCK_SIZE=4)
    _same(EF.flex_attention(q, k, v, block_mask=mask),
          TF.flex_attention(tq, tk, tv, block_mask=t_mask))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_low_and_double_precision_inputs(dtype):
    """Scores in float32 (float64 for float64), output in the input's dtype, lse in the
    working precision, as torch's."""
    q, tq = _pair(1, 2, 8, 4)
    q, tq = q.to(getattr(ember, dtype)), tq.to(getattr(torch, dtype))
    mask = EF.create_block_mask(causal, None, None, 8, 8, device="cpu", BLOCK_SIZE=4)
    t_mask = TF.create_block_mask(causal, None, None, 8, 8, device="cpu", BLOCK_SIZE=4)
    out, aux = EF.flex_attention(q, q, q, block_mask=mask, return_aux=EF.AuxRequest(lse=True))
    t_out, t_aux = TF.flex_attention(tq, tq, tq, block_mask=t_mask,
                                     return_aux=TF.AuxRequest(lse=True))
    _same(out.float(), t_out.float())
    assert str(out.dtype) == str(t_out.dtype)
    _same(aux.lse, t_aux.lse)


def test_fully_masked_rows_give_zeros_and_minus_inf_lse():
    q, tq = _pair(1, 1, 8, 4)
    mask = EF.create_block_mask(late_queries, None, None, 8, 8, device="cpu", BLOCK_SIZE=4)
    out, lse = EF.flex_attention(q, q, q, block_mask=mask, return_lse=True)
    assert (out[..., :4, :] == 0).all().item()
    assert (lse[..., :4] == -math.inf).all().item()
    t_mask = TF.create_block_mask(late_queries, None, None, 8, 8, device="cpu", BLOCK_SIZE=4)
    t_out, t_lse = TF.flex_attention(tq, tq, tq, block_mask=t_mask, return_lse=True)
    _same(out, t_out)
    _same(lse, t_lse)


def _torch_reference(tq, tk, tv, score_mod, buffers, block_mask, scale, lse=False):
    """torch's flex-attention operator (dense math + its autograd formula)."""
    options = {"BACKEND": "AUTO", "PRESCALE_QK": False, "ROWS_GUARANTEED_SAFE": False,
               "BLOCKS_ARE_CONTIGUOUS": False, "WRITE_DQ": True, "OUTPUT_LOGSUMEXP": True,
               "OUTPUT_MAX": False}
    out, lse_log2, _ = torch_flex_op(tq, tk, tv, score_mod, block_mask.as_tuple(), scale,
                                     options, tuple(buffers), ())
    return (out, lse_log2 * math.log(2)) if lse else out


def _rel_bias(s, b, h, q, kv, table):
    return s + table[h, q - kv + 7]


def _alibi_learned(s, b, h, q, kv, slopes):
    return s + slopes[h] * (kv - q)


@pytest.mark.parametrize("score_fn,buffer_shape,mask_mod,hq,hkv", [
    (_rel_bias, (2, 15), causal, 2, 2),
    (_alibi_learned, (4,), sliding_window, 4, 2),
    (None, None, lambda b, h, q, kv: (kv < 3) | (q >= kv), 2, 2),
    (_rel_bias, (2, 15), late_queries, 2, 2),  # fully masked rows: finite, zero grads
])
def test_gradients_match_torch_including_captured_tensors(score_fn, buffer_shape, mask_mod,
                                                          hq, hkv):
    q, tq = _pair(2, hq, 8, 4, dtype=np.float64)
    k, tk = _pair(2, hkv, 8, 4, dtype=np.float64)
    v, tv = _pair(2, hkv, 8, 3, dtype=np.float64)
    ember_in, torch_in = [q, k, v], [tq, tk, tv]
    if buffer_shape is not None:
        buf, tbuf = _pair(*buffer_shape, dtype=np.float64)
        ember_in.append(buf)
        torch_in.append(tbuf)
    for t in ember_in + torch_in:
        t.requires_grad_()
    grad_out, t_grad_out = _pair(2, hq, 8, 3, dtype=np.float64)
    grad_lse, t_grad_lse = _pair(2, hq, 8, dtype=np.float64)

    mask = EF.create_block_mask(mask_mod, None, None, 8, 8, device="cpu", BLOCK_SIZE=4)
    t_mask = TF.create_block_mask(mask_mod, None, None, 8, 8, device="cpu", BLOCK_SIZE=4)
    buffers = ember_in[3:]
    score_mod = None if score_fn is None else (
        lambda s, b, h, qi, kv: score_fn(s, b, h, qi, kv, *buffers))
    out, aux = EF.flex_attention(q, k, v, score_mod=score_mod, block_mask=mask, scale=0.4,
                                 enable_gqa=hq != hkv, return_aux=EF.AuxRequest(lse=True))
    ((out * grad_out).sum() + (aux.lse * grad_lse).sum()).backward()

    t_score = score_fn or (lambda s, b, h, qi, kv: s)
    t_k, t_v = tk, tv
    if hq != hkv:  # torch's operator expects the heads already matched
        t_k = tk.repeat_interleave(hq // hkv, dim=1)
        t_v = tv.repeat_interleave(hq // hkv, dim=1)
    t_out, t_lse = _torch_reference(tq, t_k, t_v, t_score, torch_in[3:], t_mask, 0.4, lse=True)
    ((t_out * t_grad_out).sum() + (t_lse * t_grad_lse).sum()).backward()
    _same(out, t_out)
    _same(aux.lse, t_lse)
    for mine, theirs in zip(ember_in, torch_in):
        _same(mine.grad, theirs.grad)


def test_gradcheck_float64():
    q, _ = _pair(1, 2, 5, 3, dtype=np.float64)
    k, _ = _pair(1, 2, 5, 3, dtype=np.float64)
    v, _ = _pair(1, 2, 5, 2, dtype=np.float64)
    table, _ = _pair(9, dtype=np.float64)
    mask = EF.create_block_mask(causal, None, None, 5, 5, device="cpu", BLOCK_SIZE=2)

    def fn(q, k, v, table):
        return EF.flex_attention(q, k, v, block_mask=mask,
                                 score_mod=lambda s, b, h, qi, kv: s + table[qi - kv + 4])

    inputs = [t.requires_grad_() for t in (q, k, v, table)]
    assert ember.autograd.gradcheck(fn, inputs)
    assert ember.autograd.gradgradcheck(fn, inputs)


def test_max_scores_match_torch_operator():
    """torch refuses max_scores on the cpu; its operator still computes them (log2 units)."""
    q, tq = _pair(1, 2, 8, 4)
    mask = EF.create_block_mask(late_queries, None, None, 8, 8, device="cpu", BLOCK_SIZE=4)
    t_mask = TF.create_block_mask(late_queries, None, None, 8, 8, device="cpu", BLOCK_SIZE=4)
    _, aux = EF.flex_attention(q, q, q, block_mask=mask,
                               return_aux=EF.AuxRequest(lse=True, max_scores=True))
    options = {"BACKEND": "AUTO", "OUTPUT_LOGSUMEXP": True, "OUTPUT_MAX": True}
    _, t_lse, t_max = torch_flex_op(tq, tq, tq, lambda s, b, h, qi, kv: s, t_mask.as_tuple(),
                                    0.5, options, (), ())
    _same(aux.max_scores, t_max * math.log(2))
    _same(aux.lse, t_lse * math.log(2))


def test_unlisted_blocks_are_skipped():
    """A hand-built BlockMask whose lists leave tiles out: those keys are not attended (as
    in torch's compiled kernels), checked against torch's SDPA on the expanded mask."""
    num = np.array([[[1, 2]]], dtype=np.int32)
    idx = np.array([[[[0, 1], [1, 0]]]], dtype=np.int32)
    mask = EF.BlockMask.from_kv_blocks(ember.tensor(num), ember.tensor(idx), BLOCK_SIZE=4)
    q, tq = _pair(1, 1, 8, 4)
    k, tk = _pair(1, 1, 8, 4)
    v, tv = _pair(1, 1, 8, 4)
    dense = np.kron(np.array([[1, 0], [1, 1]]), np.ones((4, 4))).astype(bool)
    expected = torch.nn.functional.scaled_dot_product_attention(
        tq, tk, tv, attn_mask=torch.from_numpy(dense))
    _same(EF.flex_attention(q, k, v, block_mask=mask), expected)


# ---- BlockMask and the mask helpers ----------------------------------------------------

def _same_block_mask(mine, theirs):
    for name in TF.BlockMask._TENSOR_ATTRS:
        a, b = getattr(mine, name), getattr(theirs, name)
        assert (a is None) == (b is None), name
        if a is not None:
            _same(a, b)
    assert mine.BLOCK_SIZE == theirs.BLOCK_SIZE
    assert mine.seq_lengths == theirs.seq_lengths
    assert mine.shape == theirs.shape
    assert mine.sparsity() == pytest.approx(theirs.sparsity())
    assert repr(mine) == repr(theirs)
    assert str(mine) == str(theirs)
    _same(mine.to_dense(), theirs.to_dense())


@pytest.mark.oracle_torch("2.13", "torch 2.11's create_block_mask has no separate_full_blocks")
@pytest.mark.parametrize("B,H,L,S,block,separate", [
    (2, 3, 8, 8, 4, True), (None, None, 10, 6, (4, 2), True), (1, 2, 8, 12, 4, False),
])
def test_create_block_mask_matches_torch(B, H, L, S, block, separate):
    mine = EF.create_block_mask(causal, B, H, L, S, device="cpu", BLOCK_SIZE=block,
                                separate_full_blocks=separate)
    theirs = TF.create_block_mask(causal, B, H, L, S, device="cpu", BLOCK_SIZE=block,
                                  separate_full_blocks=separate)
    _same_block_mask(mine, theirs)
    assert mine.to_string(grid_size=-1, limit=2) == theirs.to_string(grid_size=-1, limit=2)
    assert mine.numel() == theirs.numel()
    mine_tuple, theirs_tuple = mine.as_tuple(flatten=False), theirs.as_tuple(flatten=False)
    assert len(mine_tuple) == len(theirs_tuple)
    assert mine_tuple[0] == theirs_tuple[0] and mine_tuple[-2] == theirs_tuple[-2]
    assert mine.as_tuple()[:2] == theirs.as_tuple()[:2]
    assert mine.as_tuple()[-1] is causal


@pytest.mark.parametrize("index", [1, -1, (0, 2), (slice(None), slice(1, 3)),
                                   (slice(None), slice(None), slice(1, None)), "tensor"])
def test_block_mask_indexing_matches_torch(index):
    mine = EF.create_block_mask(causal, 2, 3, 8, 8, device="cpu", BLOCK_SIZE=4)
    theirs = TF.create_block_mask(causal, 2, 3, 8, 8, device="cpu", BLOCK_SIZE=4)
    if index == "tensor":
        mine_index = (0, 1, ember.tensor([1], dtype=ember.int32))
        index = (0, 1, torch.tensor([1], dtype=torch.int32))
    else:
        mine_index = index
    _same_block_mask(mine[mine_index], theirs[index])


@pytest.mark.oracle_torch("2.13", "torch 2.11's create_block_mask has no "
                          "compute_dq_write_order/dq_kv_order")
@pytest.mark.parametrize("spt", [True, False])
def test_dq_write_order_metadata_matches_torch(spt):
    def window(b, h, q, kv):
        return ((q - kv).abs() <= 5) & (q + b >= kv)

    args = (window, 2, 2, 12, 16)
    kwargs = {"device": "cpu", "BLOCK_SIZE": 4, "compute_dq_write_order": True,
              "dq_kv_order": spt}
    mine, theirs = EF.create_block_mask(*args, **kwargs), TF.create_block_mask(*args, **kwargs)
    _same_block_mask(mine, theirs)
    assert mine.dq_kv_order_spt is theirs.dq_kv_order_spt is spt
    _same_block_mask(mine[1], theirs[1])
    _same_block_mask(mine._adjust(8, 12), theirs._adjust(8, 12))


def test_sliced_block_mask_cannot_be_used():
    sliced = EF.create_block_mask(causal, 2, 1, 8, 8, device="cpu", BLOCK_SIZE=4)[0]
    q, _ = _pair(1, 1, 8, 4)
    with pytest.raises(RuntimeError, match="Cannot use mask_mod from a sliced BlockMask"):
        EF.flex_attention(q, q, q, block_mask=sliced)
    with pytest.raises(RuntimeError, match="Cannot use mask_mod from a sliced BlockMask"):
        sliced.mask_mod(*[ember.tensor(0)] * 4)


@pytest.mark.oracle_torch("2.13", "torch 2.11's BlockMask._adjust rounds seq_lengths up "
                          "to whole blocks")
def test_from_kv_blocks_adjust_and_to():
    num = np.array([[[1, 2, 1]]], dtype=np.int32)
    idx = np.array([[[[0, 2, 1], [1, 0, 2], [2, 0, 1]]]], dtype=np.int32)
    mine = EF.BlockMask.from_kv_blocks(ember.tensor(num), ember.tensor(idx), BLOCK_SIZE=2)
    theirs = TF.BlockMask.from_kv_blocks(torch.tensor(num), torch.tensor(idx), BLOCK_SIZE=2)
    _same_block_mask(mine, theirs)
    assert mine.mask_mod is EF.noop_mask
    _same_block_mask(mine._adjust(4, 3), theirs._adjust(4, 3))
    _same_block_mask(mine.to("cpu"), theirs.to("cpu"))
    no_q = EF.BlockMask.from_kv_blocks(ember.tensor(num), ember.tensor(idx),
                                       compute_q_blocks=False)
    assert no_q.q_indices is None and no_q.BLOCK_SIZE == (128, 128)


def test_block_mask_is_a_pytree_leaf_as_in_torch():
    mask = EF.create_block_mask(causal, 1, 1, 8, 8, device="cpu", BLOCK_SIZE=4)
    t_mask = TF.create_block_mask(causal, 1, 1, 8, 8, device="cpu", BLOCK_SIZE=4)
    leaves = ember.utils._pytree.tree_flatten(mask)[0]
    assert len(leaves) == len(torch.utils._pytree.tree_flatten(t_mask)[0]) == 1
    assert leaves[0] is mask


def test_create_mask_for_mask_mods_and_score_mods():
    def banded(b, h, q, kv):
        return (q - kv).abs() < 2 + h

    def neg_inf_far(s, b, h, q, kv):
        return EF_or_lib_where(s, (q - kv).abs() > 1 + b)

    pairs = [(banded, banded), (EF.noop_mask, TF.noop_mask),
             (EF.and_masks(causal, banded), TF.and_masks(causal, banded)),
             (EF.or_masks(prefix), TF.or_masks(prefix))]
    for mine, theirs in pairs:
        _same(EF.create_mask(mine, 2, 3, 5, 6, "cpu"), TF.create_mask(theirs, 2, 3, 5, 6, "cpu"))
    _same(EF.create_mask(neg_inf_far, 2, None, 5, 6, "cpu"),
          TF.create_mask(neg_inf_far, 2, None, 5, 6, "cpu"))
    _same(EF.noop_mask(*[ember.tensor(0)] * 4), TF.noop_mask(*[torch.tensor(0)] * 4))


def EF_or_lib_where(s, far):
    lib = ember if isinstance(s, ember.Tensor) else torch
    return lib.where(far, -math.inf, s)


# ---- errors -------------------------------------------------------------------------------

def _raises_like(call):
    """Run ``call(lib, mod, make)`` for torch and ember; same exception type and message."""
    caught = []
    for lib, mod in ((torch, TF), (ember, EF)):
        def make(*shape, lib=lib):
            return lib.zeros(*shape)
        with pytest.raises(Exception) as info:
            call(lib, mod, make)
        caught.append(info.value)
    assert type(caught[1]) is type(caught[0]), caught
    def address_free(error):
        return re.sub(r" at 0x[0-9a-f]+", "", str(error))
    assert address_free(caught[1]) == address_free(caught[0])


@pytest.mark.parametrize("call", [
    lambda lib, m, z: m.flex_attention(z(1, 2, 8, 4), z(1, 3, 8, 4), z(1, 3, 8, 4)),
    lambda lib, m, z: m.flex_attention(z(1, 4, 8, 4), z(1, 3, 8, 4), z(1, 3, 8, 4),
                                       enable_gqa=True),
    lambda lib, m, z: m.flex_attention(z(1, 2, 8, 4), z(1, 2, 8, 5), z(1, 2, 8, 4)),
    lambda lib, m, z: m.flex_attention(z(2, 8, 4), z(2, 8, 4), z(2, 8, 4)),
    lambda lib, m, z: m.flex_attention(z(2, 1, 8, 4), z(1, 1, 8, 4), z(1, 1, 8, 4)),
    lambda lib, m, z: m.flex_attention(
        z(1, 1, 8, 4), z(1, 1, 8, 4), z(1, 1, 8, 4),
        block_mask=m.create_block_mask(causal, 1, 1, 4, 4, "cpu", BLOCK_SIZE=2)),
    lambda lib, m, z: m.flex_attention(
        z(1, 1, 4, 4), z(1, 1, 4, 4), z(1, 1, 4, 4),
        block_mask=m.create_block_mask(causal, 1, 1, 8, 8, "cpu", BLOCK_SIZE=2)),
    lambda lib, m, z: m.flex_attention(z(1, 1, 4, 4), z(1, 1, 4, 4), z(1, 1, 4, 4),
                                       return_lse=True, return_aux=m.AuxRequest(lse=True)),
    lambda lib, m, z: m.flex_attention(z(1, 1, 4, 4), z(1, 1, 4, 4), z(1, 1, 4, 4),
                                       kernel_options={"BACKEND": "CUTLASS"}),
    lambda lib, m, z: m.create_block_mask(lambda s, b, h, q, kv: s, 1, 1, 4, 4, "cpu"),
    lambda lib, m, z: m.create_block_mask(lambda b, h, q: q, 1, 1, 4, 4, "cpu"),
    lambda lib, m, z: m.or_masks(causal, 3),
    lambda lib, m, z: m.and_masks(None),
    lambda lib, m, z: m.BlockMask.from_kv_blocks(lib.zeros(3, dtype=lib.int32),
                                                 lib.zeros(3, dtype=lib.int32)),
])
def test_errors_match_torch(call):
    _raises_like(call)


def test_ember_computes_gradients_on_cpu_where_torch_refuses():
    """A documented difference: ember's one kernel has a backward on every device."""
    q, tq = _pair(1, 1, 4, 2)
    with pytest.raises(NotImplementedError, match="backward on CPU"):
        TF.flex_attention(tq.requires_grad_(), tq, tq)
    EF.flex_attention(q.requires_grad_(), q, q).sum().backward()
    assert q.grad is not None and q.grad.shape == q.shape


@pytest.mark.oracle_torch("2.13", "torch 2.11's create_block_mask and BlockMask lack the "
                          "separate_full_blocks and dq_write_order arguments")
def test_public_surface_matches_torch():
    import inspect

    assert EF.__all__ == TF.__all__
    pairs = [(EF.flex_attention, TF.flex_attention), (EF.create_block_mask, TF.create_block_mask),
             (EF.create_mask, TF.create_mask), (EF.BlockMask.from_kv_blocks,
                                                TF.BlockMask.from_kv_blocks),
             (EF.BlockMask.__init__, TF.BlockMask.__init__),
             (EF.BlockMask.to_string, TF.BlockMask.to_string)]
    for mine, theirs in pairs:
        mine_params = inspect.signature(mine).parameters
        theirs_params = inspect.signature(theirs).parameters
        assert list(mine_params) == list(theirs_params), mine.__name__
        assert [p.kind for p in mine_params.values()] == [p.kind for p in
                                                          theirs_params.values()]
        def default(param):  # the default mask_mod is each library's own noop_mask
            return getattr(param.default, "__name__", param.default)
        assert [default(p) for p in mine_params.values()] == [default(p) for p in
                                                              theirs_params.values()]
    assert EF.AuxRequest() == TF.AuxRequest() and EF.AuxRequest._fields == TF.AuxRequest._fields
    assert EF.AuxOutput._fields == TF.AuxOutput._fields
