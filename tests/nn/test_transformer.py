"""Transformer, TransformerEncoder/Decoder and their layers against PyTorch (weights copied
across, dropout 0): outputs and every gradient under masks of every kind; structure,
state_dict keys and PyTorch checkpoints."""

from __future__ import annotations

import io
import os
import sys
import warnings

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
from module_oracle import copy_state  # noqa: E402
from oracle import assert_same, check_raises  # noqa: E402
from test_attention import compare_modules  # noqa: E402

import ember  # noqa: E402

RNG = np.random.default_rng(5)
D_MODEL, HEADS, FF = 8, 2, 12


def randn(*shape):
    return RNG.standard_normal(shape)


def _activation(kind, lib):
    if kind == "callable":
        return lib.nn.functional.silu
    if kind == "module":
        return lib.nn.GELU()
    return kind


LAYER_OPTIONS = [
    {}, {"norm_first": True}, {"activation": "gelu"}, {"activation": "callable"},
    {"activation": "module"}, {"bias": False}, {"batch_first": True},
    {"layer_norm_eps": 1e-3, "norm_first": True, "batch_first": True},
]


def _kwargs(options, lib):
    kwargs = dict(options)
    if "activation" in kwargs:
        kwargs["activation"] = _activation(kwargs["activation"], lib)
    return kwargs


def _seq(length, batch_first, batch=3):
    return randn(batch, length, D_MODEL) if batch_first else randn(length, batch, D_MODEL)


def _masks(kind, length, batch=3):
    """(attn mask, key padding mask, is_causal) of one kind."""
    padding = np.zeros((batch, length), dtype=bool)
    padding[1, length - 2:] = True
    causal = np.triu(np.full((length, length), -np.inf), 1)
    return {
        "none": (None, None, False),
        "causal_float": (causal, None, False),
        "causal_hint": (causal, None, True),
        "bool": (RNG.random((length, length)) < 0.3, None, False),
        "padding": (None, padding, False),
        "padding_float": (None, np.where(padding, -np.inf, 0.0), False),
        "both": (causal, np.where(padding, -np.inf, 0.0), False),
    }[kind]


MASK_KINDS = ["none", "causal_float", "causal_hint", "bool", "padding", "padding_float", "both"]


@pytest.mark.parametrize("options", LAYER_OPTIONS, ids=str)
@pytest.mark.parametrize("mask_kind", ["none", "causal_hint", "both"])
def test_encoder_layer(options, mask_kind):
    batch_first = options.get("batch_first", False)
    mask, padding, is_causal = _masks(mask_kind, 5)

    def make(lib):
        return lib.nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.0,
                                              **_kwargs(options, lib))

    compare_modules(make, lambda mod, lib, x, m, p: mod(x, m, p, is_causal=is_causal),
                    (_seq(5, batch_first),), (mask, padding))


@pytest.mark.parametrize("options", LAYER_OPTIONS, ids=str)
@pytest.mark.parametrize("mask_kind", ["none", "causal_float", "padding"])
def test_decoder_layer(options, mask_kind):
    batch_first = options.get("batch_first", False)
    mask, padding, _ = _masks(mask_kind, 4)
    memory_padding = np.zeros((3, 6), dtype=bool)
    memory_padding[2, 4:] = True

    def make(lib):
        return lib.nn.TransformerDecoderLayer(D_MODEL, HEADS, FF, dropout=0.0,
                                              **_kwargs(options, lib))

    def call(mod, lib, tgt, memory, m, p, mp):
        return mod(tgt, memory, tgt_mask=m, tgt_key_padding_mask=p,
                   memory_key_padding_mask=mp)

    compare_modules(make, call, (_seq(4, batch_first), _seq(6, batch_first)),
                    (mask, padding, memory_padding))


@pytest.mark.parametrize("mask_kind", MASK_KINDS)
def test_encoder_stack_with_masks(mask_kind):
    mask, padding, is_causal = _masks(mask_kind, 5)

    def make(lib):
        layer = lib.nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(D_MODEL))

    compare_modules(make, lambda mod, lib, x, m, p: mod(x, m, p, is_causal=is_causal or None),
                    (_seq(5, False),), (mask, padding))


@pytest.mark.parametrize("options", [{}, {"norm_first": True, "batch_first": True},
                                     {"activation": "gelu", "bias": False}], ids=str)
def test_transformer(options):
    batch_first = options.get("batch_first", False)
    tgt_mask = np.triu(np.full((4, 4), -np.inf), 1)
    src_padding = np.zeros((3, 5), dtype=bool)
    src_padding[0, 3:] = True

    def make(lib):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return lib.nn.Transformer(D_MODEL, HEADS, 2, 2, FF, dropout=0.0,
                                      **_kwargs(options, lib))

    def call(mod, lib, src, tgt, tgt_mask, src_padding):
        return mod(src, tgt, tgt_mask=tgt_mask, src_key_padding_mask=src_padding,
                   memory_key_padding_mask=src_padding)

    compare_modules(make, call, (_seq(5, batch_first), _seq(4, batch_first)),
                    (tgt_mask, src_padding))


def test_unbatched_transformer():
    def make(lib):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return lib.nn.Transformer(D_MODEL, HEADS, 1, 1, FF, dropout=0.0)

    compare_modules(make, lambda mod, lib, s, t: mod(s, t), (randn(5, D_MODEL),
                                                              randn(4, D_MODEL)))


def test_generate_square_subsequent_mask():
    for size in (1, 4):
        assert_same(ember.nn.Transformer.generate_square_subsequent_mask(size),
                    torch.nn.Transformer.generate_square_subsequent_mask(size))
    assert_same(ember.nn.Transformer.generate_square_subsequent_mask(3, dtype=ember.float64),
                torch.nn.Transformer.generate_square_subsequent_mask(3, dtype=torch.float64))


@pytest.mark.oracle_torch("2.13", "torch 2.11's LayerNorm repr lacks bias=")
def test_structure_and_state_dict_keys():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_mod = torch.nn.Transformer(D_MODEL, HEADS, 2, 1, FF)
        e_mod = ember.nn.Transformer(D_MODEL, HEADS, 2, 1, FF)
    assert [(k, tuple(v.shape)) for k, v in e_mod.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t_mod.state_dict().items()]
    assert repr(e_mod) == repr(t_mod)
    layer = ember.nn.TransformerEncoderLayer(D_MODEL, HEADS, activation="gelu")
    assert layer.activation_relu_or_gelu == 2
    assert ember.nn.TransformerEncoderLayer(D_MODEL, HEADS).activation_relu_or_gelu == 1
    encoder = ember.nn.TransformerEncoder(ember.nn.TransformerEncoderLayer(
        D_MODEL, HEADS, batch_first=True), 2, enable_nested_tensor=True, mask_check=False)
    assert encoder.use_nested_tensor and not encoder.mask_check
    with pytest.warns(UserWarning, match="enable_nested_tensor is True, but "
                                         "self.use_nested_tensor is False because "
                                         "encoder_layer.norm_first was True"):
        ember.nn.TransformerEncoder(ember.nn.TransformerEncoderLayer(
            D_MODEL, HEADS, norm_first=True), 1)


def test_torch_checkpoint_loads_and_gives_the_same_output():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_mod = torch.nn.Transformer(D_MODEL, HEADS, 2, 2, FF, batch_first=True).eval()
        e_mod = ember.nn.Transformer(D_MODEL, HEADS, 2, 2, FF, batch_first=True).eval()
    buffer = io.BytesIO()
    torch.save(t_mod.state_dict(), buffer)
    buffer.seek(0)
    e_mod.load_state_dict(ember.load(buffer))
    src = randn(2, 5, D_MODEL).astype(np.float32)
    tgt = randn(2, 3, D_MODEL).astype(np.float32)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(3)
    t_out = t_mod(torch.tensor(src), torch.tensor(tgt), tgt_mask=mask)
    e_out = e_mod(ember.tensor(src), ember.tensor(tgt),
                  tgt_mask=ember.nn.Transformer.generate_square_subsequent_mask(3))
    assert_same(e_out, t_out, rtol=1e-4, atol=1e-5)


def test_eval_no_grad_padding_positions_as_torch_nested_path():
    layer_args = (D_MODEL, HEADS, FF)
    t_mod = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(
        *layer_args, batch_first=True), 2, norm=torch.nn.LayerNorm(D_MODEL)).eval()
    e_mod = ember.nn.TransformerEncoder(ember.nn.TransformerEncoderLayer(
        *layer_args, batch_first=True), 2, norm=ember.nn.LayerNorm(D_MODEL)).eval()
    copy_state(t_mod, e_mod)
    x = randn(3, 5, D_MODEL).astype(np.float32)
    padding = np.zeros((3, 5), dtype=bool)
    padding[1, 3:] = True
    padding[2, 1:] = True
    with torch.no_grad(), ember.no_grad():
        t_out = t_mod(torch.tensor(x), src_key_padding_mask=torch.tensor(padding))
        e_out = e_mod(ember.tensor(x), src_key_padding_mask=ember.tensor(padding))
    assert_same(e_out, t_out, rtol=1e-4, atol=1e-5)


ERRORS = [
    (lambda lib, s, t: _transformer(lib)(s, t[:, :2]), "the batch number of src and tgt must be"),
    (lambda lib, s, t: _transformer(lib)(s, t[..., :4]), "the feature number of src and tgt"),
    (lambda lib, s, t: lib.nn.TransformerEncoderLayer(D_MODEL, HEADS, activation="tanh"),
     "activation should be relu/gelu, not tanh"),
]


def _transformer(lib):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lib.nn.Transformer(D_MODEL, HEADS, 1, 1, FF)


@pytest.mark.parametrize("fn,message", ERRORS)
def test_errors(fn, message):
    check_raises(fn, randn(5, 3, D_MODEL).astype(np.float32),
                 randn(4, 3, D_MODEL).astype(np.float32), match=message)


def test_custom_encoder_and_decoder_are_used():
    def make(lib):
        encoder = lib.nn.Linear(D_MODEL, D_MODEL)

        class Decoder(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.proj = lib.nn.Linear(D_MODEL, D_MODEL)

            def forward(self, tgt, memory, **kwargs):
                return self.proj(tgt) + memory.mean(0, keepdim=True)

        return lib.nn.Transformer(D_MODEL, HEADS, custom_encoder=encoder,
                                  custom_decoder=Decoder())

    def call(mod, lib, src, tgt):
        mod.encoder.forward = _accepting_kwargs(mod.encoder.forward)
        return mod(src, tgt)

    compare_modules(make, call, (randn(5, 3, D_MODEL), randn(4, 3, D_MODEL)))


def _accepting_kwargs(forward):
    def wrapped(src, **kwargs):
        return forward(src)

    return wrapped
