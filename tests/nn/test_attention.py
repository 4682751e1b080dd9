"""scaled_dot_product_attention, multi_head_attention_forward and MultiheadAttention
against PyTorch: values, attention weights and every gradient, masks of every kind."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from module_oracle import copy_state  # noqa: E402
from oracle import as_numpy, assert_same, check, check_raises  # noqa: E402

import ember  # noqa: E402

RNG = np.random.default_rng(11)


def randn(*shape):
    return RNG.standard_normal(shape)


def _tensor(lib, value, grad):
    if not isinstance(value, np.ndarray):
        return value
    t = torch.tensor(value) if lib is torch else ember.tensor(value)
    if grad and t.is_floating_point():
        t.requires_grad_()
    return t


def compare_modules(make, call, grad_inputs=(), other_inputs=(), rtol=None, atol=None,
                    train=True):
    """Build ``make(lib)`` in both libraries (float64, torch's weights copied into ember),
    run ``call(module, lib, *grad_tensors, *other_tensors)``, compare outputs, then the
    gradients of the grad inputs and of every parameter under one random upstream."""
    t_mod, e_mod = make(torch).double(), make(ember).double()
    copy_state(t_mod, e_mod)
    t_mod.train(train)
    e_mod.train(train)
    results = []
    for lib, mod in ((torch, t_mod), (ember, e_mod)):
        leaves = [_tensor(lib, x, True) for x in grad_inputs]
        others = [_tensor(lib, x, False) for x in other_inputs]
        results.append((call(mod, lib, *leaves, *others), leaves))
    (t_out, t_leaves), (e_out, e_leaves) = results
    assert_same(e_out, t_out, rtol, atol)
    t_flat = [o for o in (t_out if isinstance(t_out, tuple) else (t_out,))
              if isinstance(o, torch.Tensor) and o.requires_grad]
    e_flat = [o for o in (e_out if isinstance(e_out, tuple) else (e_out,))
              if isinstance(o, ember.Tensor) and o.requires_grad]
    upstream = [RNG.standard_normal(tuple(o.shape)) for o in t_flat]
    torch.autograd.backward(t_flat, [torch.from_numpy(u) for u in upstream])
    ember.autograd.backward(e_flat, [ember.tensor(u) for u in upstream])
    for i, (tl, el) in enumerate(zip(t_leaves, e_leaves)):
        if isinstance(tl, torch.Tensor) and tl.requires_grad:
            assert_same(el.grad, tl.grad, rtol, atol, f"grad of input {i}")
    e_params = dict(e_mod.named_parameters())
    for name, tp in t_mod.named_parameters():
        if tp.grad is None:
            assert e_params[name].grad is None or not np.any(as_numpy(e_params[name].grad))
        else:
            assert_same(e_params[name].grad, tp.grad, rtol, atol, f"grad of {name}")
    return e_mod, t_mod


# -- scaled_dot_product_attention ------------------------------------------------------------

def _bool_mask(*shape, dead_row=False):
    mask = RNG.random(shape) > 0.3
    mask[..., 0] = True
    if dead_row:
        mask[..., 1, :] = False
    return mask


def _float_mask(*shape, dead_row=False):
    mask = RNG.standard_normal(shape)
    mask[RNG.random(shape) < 0.2] = -np.inf
    mask[..., 0] = 0.0
    if dead_row:
        mask[..., 1, :] = -np.inf
    return mask


SDPA = [
    ("4d", (randn(2, 3, 4, 5), randn(2, 3, 6, 5), randn(2, 3, 6, 7)), {}),
    ("3d", (randn(3, 4, 5), randn(3, 6, 5), randn(3, 6, 5)), {}),
    ("2d", (randn(4, 5), randn(6, 5), randn(6, 7)), {}),
    ("broadcast_heads", (randn(2, 3, 4, 5), randn(2, 1, 6, 5), randn(2, 1, 6, 7)), {}),
    ("broadcast_batch", (randn(2, 3, 5), randn(6, 5), randn(6, 7)), {}),
    ("scale", (randn(2, 3, 4, 5), randn(2, 3, 6, 5), randn(2, 3, 6, 7)), {"scale": 0.3}),
    ("causal_square", (randn(2, 2, 5, 4), randn(2, 2, 5, 4), randn(2, 2, 5, 3)),
     {"is_causal": True}),
    ("causal_wide", (randn(2, 3, 4), randn(2, 6, 4), randn(2, 6, 3)), {"is_causal": True}),
    ("causal_tall", (randn(2, 6, 4), randn(2, 3, 4), randn(2, 3, 3)), {"is_causal": True}),
    ("gqa", (randn(2, 6, 4, 5), randn(2, 2, 6, 5), randn(2, 2, 6, 7)), {"enable_gqa": True}),
    ("gqa_same_heads", (randn(2, 2, 4, 5), randn(2, 2, 6, 5), randn(2, 2, 6, 7)),
     {"enable_gqa": True}),
]

MASKED = [
    ("bool", lambda: _bool_mask(4, 6)),
    ("bool_batched", lambda: _bool_mask(2, 3, 4, 6)),
    ("bool_dead_row", lambda: _bool_mask(2, 1, 4, 6, dead_row=True)),
    ("float", lambda: _float_mask(4, 6)),
    ("float_dead_row", lambda: _float_mask(2, 3, 4, 6, dead_row=True)),
]


@pytest.mark.parametrize("name,inputs,kwargs", SDPA, ids=[c[0] for c in SDPA])
def test_sdpa(name, inputs, kwargs):
    check(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(q, k, v, **kwargs),
          *inputs)


def test_sdpa_causal_masks_kept_per_shape(monkeypatch):
    """The causal mask is made once per (length, source, device) and kept: shapes in
    turn, each twice, and more shapes than are kept (the rest made afresh), all give
    torch's output."""
    from ember._ops import _kept

    monkeypatch.setattr(_kept, "_KEPT", {})
    monkeypatch.setattr(_kept, "LIMIT", 3)
    shapes = [(5, 5), (4, 6), (5, 5), (6, 3), (4, 6), (2, 7), (5, 5), (2, 7)]
    for length, source in shapes:
        q, k, v = randn(2, length, 3), randn(2, source, 3), randn(2, source, 2)
        check(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(
            q, k, v, is_causal=True), q, k, v)
    assert [key[:3] for key in _kept._KEPT] == [("causal", 5, 5), ("causal", 4, 6),
                                                ("causal", 6, 3)]


@pytest.mark.parametrize("name,make_mask", MASKED, ids=[c[0] for c in MASKED])
def test_sdpa_masks(name, make_mask):
    mask = make_mask()
    q, k, v = randn(2, 3, 4, 5), randn(2, 3, 6, 5), randn(2, 3, 6, 7)
    check(lambda lib, q, k, v, m: lib.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=m if m.dtype == lib.bool else m.detach()), q, k, v, mask)


def test_sdpa_float32():
    q, k, v = (randn(2, 4, 8, 16).astype(np.float32) for _ in range(3))
    check(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(q, k, v), q, k, v,
          rtol=1e-5, atol=1e-5)


def test_sdpa_dropout():
    q, k, v = randn(2, 2, 4, 5), randn(2, 2, 6, 5), randn(2, 2, 6, 7)
    check(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(
        q, k, v, dropout_p=1.0), q, k, v)
    out = ember.nn.functional.scaled_dot_product_attention(
        *(ember.tensor(a) for a in (q, k, v)), dropout_p=0.5)
    full = ember.nn.functional.scaled_dot_product_attention(*(ember.tensor(a) for a in (q, k, v)))
    assert out.shape == full.shape and not np.allclose(as_numpy(out), as_numpy(full))


def test_sdpa_gradcheck():
    q, k, v = (ember.tensor(randn(1, 2, 3, 4)).requires_grad_() for _ in range(3))
    mask = ember.tensor(_bool_mask(3, 3))

    def fn(q, k, v):
        return ember.nn.functional.scaled_dot_product_attention(q, k, v, mask)

    assert ember.autograd.gradcheck(fn, (q, k, v))
    assert ember.autograd.gradgradcheck(fn, (q, k, v))


SDPA_ERRORS = [
    (lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=lib.ones(4, 6, dtype=lib.bool), is_causal=True),
     "Explicit attn_mask should not be set when is_causal=True"),
    (lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(
        q, k.double(), v), "Expected query, key, and value to have the same dtype, but got "
                           "query.dtype: float key.dtype: double and value.dtype: float instead."),
    (lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=lib.ones(4, 6, dtype=lib.int64)),
     "Expected attn_mask dtype to be bool or float or to match query dtype"),
    (lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(
        q.repeat(1, 2, 1, 1), k.repeat(1, 2, 1, 1)[:, :4], v.repeat(1, 2, 1, 1)[:, :4],
        enable_gqa=True), "Number of heads in key and value must divide the number of heads"),
]


@pytest.mark.parametrize("fn,message", SDPA_ERRORS)
def test_sdpa_errors(fn, message):
    q = randn(2, 3, 4, 5).astype(np.float32)
    k = randn(2, 3, 6, 5).astype(np.float32)
    v = randn(2, 3, 6, 7).astype(np.float32)
    check_raises(fn, q, k, v, match=message.replace("(", r"\(").replace(")", r"\)"))


# -- MultiheadAttention: every option, drawn by hypothesis ------------------------------------


@st.composite
def mha_configs(draw):
    heads = draw(st.sampled_from([1, 2, 3]))
    config = {
        "embed": heads * draw(st.integers(1, 3)), "heads": heads,
        "bias": draw(st.booleans()), "add_bias_kv": draw(st.booleans()),
        "add_zero_attn": draw(st.booleans()), "batch_first": draw(st.booleans()),
        "kdim": draw(st.sampled_from([None, 2, 5])), "vdim": draw(st.sampled_from([None, 3])),
        "unbatched": draw(st.booleans()), "self_attention": draw(st.booleans()),
        "key_padding": draw(st.sampled_from([None, "bool", "float"])),
        "attn_mask": draw(st.sampled_from([None, "bool", "float", "bool3d", "causal"])),
        "need_weights": draw(st.booleans()), "average": draw(st.booleans()),
        "tgt": draw(st.integers(1, 4)), "src": draw(st.integers(1, 4)),
        "batch": draw(st.integers(1, 3)),
    }
    if config["self_attention"] or config["attn_mask"] == "causal":
        config["kdim"] = config["vdim"] = None
        config["src"] = config["tgt"]
    return config


def _mha_inputs(c):
    def seq(length, dim):
        if c["unbatched"]:
            return randn(length, dim)
        return randn(c["batch"], length, dim) if c["batch_first"] else randn(length, c["batch"],
                                                                             dim)

    query = seq(c["tgt"], c["embed"])
    key = seq(c["src"], c["kdim"] or c["embed"])
    value = seq(c["src"], c["vdim"] or c["embed"])
    lead = () if c["unbatched"] else (c["batch"],)
    padding = None
    if c["key_padding"]:
        padding = RNG.random(lead + (c["src"],)) < 0.3
        padding[..., 0] = False
        if c["key_padding"] == "float":
            padding = np.where(padding, -np.inf, 0.0)
    mask = None
    kind = c["attn_mask"]
    if kind in ("bool", "bool3d"):
        shape = (c["tgt"], c["src"]) if kind == "bool" else (
            (c["batch"] if not c["unbatched"] else 1) * c["heads"], c["tgt"], c["src"])
        mask = RNG.random(shape) < 0.3
        mask[..., 0] = False
    elif kind == "float":
        mask = RNG.standard_normal((c["tgt"], c["src"]))
    elif kind == "causal":
        mask = np.triu(np.full((c["tgt"], c["tgt"]), -np.inf), 1)
    if padding is not None and mask is not None and padding.dtype != mask.dtype:
        padding = np.where(padding, -np.inf, 0.0) if mask.dtype != bool else padding
        if mask.dtype == bool and padding.dtype != bool:
            padding = padding != 0
    return query, key, value, padding, mask


@settings(max_examples=60, deadline=None)
@given(mha_configs())
def test_multihead_attention_matches_torch(c):
    query, key, value, padding, mask = _mha_inputs(c)

    def make(lib):
        return lib.nn.MultiheadAttention(c["embed"], c["heads"], bias=c["bias"],
                                         add_bias_kv=c["add_bias_kv"],
                                         add_zero_attn=c["add_zero_attn"], kdim=c["kdim"],
                                         vdim=c["vdim"], batch_first=c["batch_first"])

    def call(mod, lib, q, k, v, padding, mask):
        if c["self_attention"]:
            k = v = q
        return mod(q, k, v, key_padding_mask=padding, attn_mask=mask,
                   need_weights=c["need_weights"], average_attn_weights=c["average"],
                   is_causal=c["attn_mask"] == "causal")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare_modules(make, call, (query, key, value), (padding, mask))


@pytest.mark.parametrize("need_weights", [False, True])
def test_multihead_attention_cross_attention_key_is_value(need_weights):
    """key is value (a decoder's memory): one GEMM for both projections, split by unbind;
    the output and every gradient as torch's."""
    query, memory = randn(2, 3, 8), randn(2, 5, 8)

    def call(mod, lib, q, m):
        return mod(q, m, m, need_weights=need_weights)

    compare_modules(lambda lib: lib.nn.MultiheadAttention(8, 2, batch_first=True), call,
                    (query, memory))


def test_multihead_attention_parameters_and_state_dict():
    for kwargs in ({}, {"kdim": 3, "vdim": 5, "add_bias_kv": True}, {"bias": False}):
        t_mod = torch.nn.MultiheadAttention(8, 2, **kwargs)
        e_mod = ember.nn.MultiheadAttention(8, 2, **kwargs)
        assert [(k, tuple(v.shape)) for k, v in e_mod.state_dict().items()] == \
            [(k, tuple(v.shape)) for k, v in t_mod.state_dict().items()]
        assert [n for n, _ in e_mod.named_parameters()] == [n for n, _ in t_mod.named_parameters()]
        assert type(e_mod.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
        assert repr(e_mod) == repr(t_mod)
    from ember.nn.modules.activation import MultiheadAttention

    assert MultiheadAttention is ember.nn.MultiheadAttention


def test_multihead_attention_eval_no_grad_matches_fast_path():
    x = randn(3, 5, 8).astype(np.float32)
    padding = np.zeros((3, 5), dtype=bool)
    padding[1, 3:] = True
    t_mod = torch.nn.MultiheadAttention(8, 2, batch_first=True).eval()
    e_mod = ember.nn.MultiheadAttention(8, 2, batch_first=True).eval()
    copy_state(t_mod, e_mod)
    with torch.no_grad(), ember.no_grad():
        t_out = t_mod(torch.tensor(x), torch.tensor(x), torch.tensor(x),
                      key_padding_mask=torch.tensor(padding))
        e_out = e_mod(ember.tensor(x), ember.tensor(x), ember.tensor(x),
                      key_padding_mask=ember.tensor(padding))
    assert_same(e_out, t_out, rtol=1e-5, atol=1e-5)


def test_multi_head_attention_forward_static_kv():
    embed, heads, batch = 4, 2, 3
    args = [randn(5, batch, embed), randn(6, batch, embed), randn(6, batch, embed),
            randn(3 * embed, embed), randn(3 * embed), randn(embed, embed), randn(embed),
            randn(batch * heads, 7, embed // heads), randn(batch * heads, 7, embed // heads)]

    def fn(lib, q, k, v, w_in, b_in, w_out, b_out, static_k, static_v):
        return lib.nn.functional.multi_head_attention_forward(
            q, k, v, embed, heads, w_in, b_in, None, None, False, 0.0, w_out, b_out,
            static_k=static_k, static_v=static_v, average_attn_weights=False)

    check(fn, *args)


MHA_ERRORS = [
    (lambda lib, x: lib.nn.MultiheadAttention(8, 3), "embed_dim must be divisible by num_heads"),
    (lambda lib, x: lib.nn.MultiheadAttention(0, 2), "embed_dim and num_heads must be greater"),
    (lambda lib, x: lib.nn.MultiheadAttention(8, 2)(x, x, x, attn_mask=lib.zeros(3, 3)),
     r"The shape of the 2D attn_mask is torch.Size\(\[3, 3\]\), but should be \(5, 5\)."),
    (lambda lib, x: lib.nn.MultiheadAttention(8, 2)(x, x, x, attn_mask=lib.zeros(3, 5, 5)),
     r"The shape of the 3D attn_mask is torch.Size\(\[3, 5, 5\]\), but should be \(4, 5, 5\)."),
    (lambda lib, x: lib.nn.MultiheadAttention(8, 2)(x, x, x, is_causal=True),
     "Need attn_mask if specifying the is_causal hint"),
    (lambda lib, x: lib.nn.MultiheadAttention(8, 2)(x, x[:, :, :4], x),
     "key shape"),
    (lambda lib, x: lib.nn.MultiheadAttention(8, 2)(x, x, x, key_padding_mask=lib.zeros(
        2, 4, dtype=lib.bool)), r"Expected key_padded_mask.shape\[1\] to be 5, but got 4"),
    (lambda lib, x: lib.nn.MultiheadAttention(8, 2)(x, x, x, key_padding_mask=lib.zeros(
        2, 5, dtype=lib.int64)), "only bool and floating types of key_padding_mask"),
    (lambda lib, x: lib.nn.MultiheadAttention(8, 2)(x[0], x, x),
     r"For unbatched \(2-D\) `query`, expected `key` and `value` to be 2-D"),
    (lambda lib, x: lib.nn.MultiheadAttention(8, 2)(x[None], x, x),
     "query should be unbatched 2D or batched 3D tensor but received 4-D query tensor"),
]


@pytest.mark.parametrize("fn,message", MHA_ERRORS)
def test_multihead_attention_errors(fn, message):
    check_raises(fn, randn(5, 2, 8).astype(np.float32), match=message)


def test_mismatched_mask_types_warn():
    x = ember.randn(4, 1, 8)
    mod = ember.nn.MultiheadAttention(8, 2)
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask"):
        mod(x, x, x, key_padding_mask=ember.zeros(1, 4, dtype=ember.bool),
            attn_mask=ember.zeros(4, 4))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_safe_softmax_matches_torchs_node(dtype):
    """Attention's masked softmax is PyTorch's _safe_softmax: rows of -inf only give
    zeros and zero gradients, other rows are softmax, one
    SafeSoftmaxBackward0 node; on cuda one kernel."""
    from ember.nn._attention import _safe_softmax

    scores = randn(2, 5, 6).astype(dtype)
    scores[0, 1, :] = -np.inf
    scores[1, 2, 3:] = -np.inf
    scores[1, 4, :] = -np.inf

    def fn(lib, x):
        if lib is torch:
            return torch.ops.aten._safe_softmax(x, -1)
        return _safe_softmax(x)

    e_out, t_out = check(fn, scores)
    assert type(e_out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    assert (as_numpy(e_out)[0, 1] == 0).all() and (as_numpy(e_out)[1, 4] == 0).all()


def test_multihead_attention_batch_first_query_is_key_not_value():
    """batch_first with query is key but a different value: each is transposed once."""
    x, v = randn(2, 4, 8), randn(2, 4, 8)

    def call(mod, lib, q, val):
        return mod(q, q, val)

    compare_modules(lambda lib: lib.nn.MultiheadAttention(8, 2, batch_first=True), call, (x, v))


@pytest.mark.parametrize("attn", [None, "2d", "3d"])
@pytest.mark.parametrize("padding", [False, True])
def test_merge_masks_matches_torch(attn, padding):
    batch, length, heads = 2, 3, 2
    query = randn(batch, length, 8)
    masks = {"2d": randn(length, length), "3d": randn(batch * heads, length, length)}
    pad = randn(batch, length) if padding else None
    results = []
    for lib in (torch, ember):
        mod = lib.nn.MultiheadAttention(8, heads, batch_first=True)
        attn_mask, pad_mask = (None if a is None else lib.tensor(a)
                               for a in (masks.get(attn), pad))
        merged, kind = mod.merge_masks(attn_mask, pad_mask, lib.tensor(query))
        results.append((None if merged is None else np.asarray(merged.tolist()), kind))
    (t_mask, t_kind), (e_mask, e_kind) = results
    assert e_kind == t_kind
    if t_mask is None:
        assert e_mask is None
    else:
        np.testing.assert_allclose(e_mask, t_mask, rtol=1e-6)


def test_multihead_attention_unpickles_old_state_without_qkv_flag():
    import pickle

    mod = ember.nn.MultiheadAttention(8, 2)
    del mod.__dict__["_qkv_same_embed_dim"]
    clone = pickle.loads(pickle.dumps(mod))
    assert clone._qkv_same_embed_dim is True
    x = ember.randn(3, 1, 8)
    np.testing.assert_allclose(clone(x, x, x)[0].detach().numpy(),
                               ember.nn.MultiheadAttention.forward(
                                   clone, x, x, x)[0].detach().numpy())
