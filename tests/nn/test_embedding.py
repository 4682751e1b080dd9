"""Embedding, EmbeddingBag, one_hot against PyTorch."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
from module_oracle import check_module, copy_state  # noqa: E402
from oracle import as_numpy, check, check_raises, randn  # noqa: E402

import ember  # noqa: E402

IDX = np.array([[0, 2, 1, 4], [3, 3, 0, 2]])
FLAT = np.array([0, 2, 1, 3, 3, 0, 2, 4])
OFFSETS = np.array([0, 2, 2, 5])

EMBEDDING_CASES = [
    ("plain", lambda lib: lib.nn.Embedding(5, 3), IDX),
    ("padding", lambda lib: lib.nn.Embedding(5, 3, padding_idx=3), IDX),
    ("padding_negative", lambda lib: lib.nn.Embedding(5, 3, padding_idx=-1), IDX),
    ("scale_freq", lambda lib: lib.nn.Embedding(5, 3, scale_grad_by_freq=True), IDX),
    ("scale_freq_padding", lambda lib: lib.nn.Embedding(5, 3, padding_idx=0,
                                                        scale_grad_by_freq=True), IDX),
    ("max_norm", lambda lib: lib.nn.Embedding(5, 3, max_norm=0.5), IDX),
    ("max_norm_p1", lambda lib: lib.nn.Embedding(5, 3, max_norm=1.0, norm_type=1.0), IDX),
    ("scalar_index", lambda lib: lib.nn.Embedding(5, 3), np.array(2)),
    ("int32_index", lambda lib: lib.nn.Embedding(5, 3), IDX.astype(np.int32)),
    ("empty", lambda lib: lib.nn.Embedding(5, 3), np.zeros((0, 2), np.int64)),
]


@pytest.mark.parametrize("name,make,index", EMBEDDING_CASES, ids=[c[0] for c in EMBEDDING_CASES])
def test_embedding_matches_torch(name, make, index):
    e_mod, t_mod, _, _ = check_module(make, index)
    # max_norm renormalises the used rows of the weight in place
    np.testing.assert_allclose(as_numpy(e_mod.weight), as_numpy(t_mod.weight),
                               rtol=1e-6, atol=1e-6)


BAG_CASES = [
    (mode, extra) for mode in ("sum", "mean", "max") for extra in
    ("2d", "offsets", "last_offset", "padding", "empty_bag_first")
]


def _bag_inputs(extra):
    if extra == "2d":
        return IDX, None, {}
    if extra == "offsets":
        return FLAT, OFFSETS, {}
    if extra == "last_offset":
        return FLAT, np.array([0, 2, 2, 5, 8]), {"include_last_offset": True}
    if extra == "padding":
        return FLAT, OFFSETS, {"padding_idx": 3}
    return FLAT, np.array([0, 0, 3]), {}


@pytest.mark.parametrize("mode,extra", BAG_CASES, ids=[f"{m}-{e}" for m, e in BAG_CASES])
def test_embedding_bag_matches_torch(mode, extra):
    index, offsets, kwargs = _bag_inputs(extra)
    inputs = (index,) if offsets is None else (index, offsets)
    check_module(lambda lib: lib.nn.EmbeddingBag(5, 3, mode=mode, **kwargs), *inputs,
                 rtol=1e-5, atol=1e-6)


def test_embedding_bag_per_sample_weights():
    check(lambda lib, w, i, o, ps: lib.nn.functional.embedding_bag(
        i, w, o, mode="sum", per_sample_weights=ps), randn(5, 3), FLAT, OFFSETS, randn(8))



def test_embedding_bag_max_float64_is_exact():
    """Each bag's float64 max is one of its rows bit for bit, and that row gets the
    gradient: on cuda too, where CuPy's own maximum.at rounds float64 to float32."""
    e, t = check(lambda lib, w, i, o: lib.nn.functional.embedding_bag(i, w, o, mode="max"),
                 randn(5, 3, dtype=np.float64), FLAT, OFFSETS)
    np.testing.assert_array_equal(as_numpy(e), as_numpy(t))

def test_embedding_functional_double_backward():
    weight = ember.tensor(randn(5, 3, dtype=np.float64), requires_grad=True)
    index = ember.tensor(IDX)
    F = ember.nn.functional
    assert ember.autograd.gradcheck(lambda w: F.embedding(index, w), (weight,))
    assert ember.autograd.gradgradcheck(lambda w: F.embedding(index, w) ** 2, (weight,))
    assert ember.autograd.gradcheck(
        lambda w: F.embedding_bag(ember.tensor(FLAT), w, ember.tensor(OFFSETS), mode="mean"),
        (weight,))


def test_from_pretrained_and_repr():
    data = randn(4, 2)
    for freeze in (True, False):
        e = ember.nn.Embedding.from_pretrained(ember.tensor(data), freeze=freeze, padding_idx=1)
        t = torch.nn.Embedding.from_pretrained(torch.from_numpy(data), freeze=freeze,
                                               padding_idx=1)
        assert e.weight.requires_grad == t.weight.requires_grad
        assert repr(e) == repr(t)
        np.testing.assert_array_equal(e.weight.detach().numpy(), data)
        bag_e = ember.nn.EmbeddingBag.from_pretrained(ember.tensor(data), freeze=freeze,
                                                      mode="max")
        bag_t = torch.nn.EmbeddingBag.from_pretrained(torch.from_numpy(data), freeze=freeze,
                                                      mode="max")
        assert bag_e.weight.requires_grad == bag_t.weight.requires_grad
        assert repr(bag_e) == repr(bag_t)
    for args, kwargs in [((5, 3), {}), ((5, 3), {"padding_idx": 2, "max_norm": 1.0}),
                         ((5, 3), {"norm_type": 1.0, "scale_grad_by_freq": True,
                                   "sparse": True})]:
        assert repr(ember.nn.Embedding(*args, **kwargs)) == repr(torch.nn.Embedding(*args,
                                                                                    **kwargs))
    assert repr(ember.nn.EmbeddingBag(5, 3, max_norm=2.0, padding_idx=0)) == \
        repr(torch.nn.EmbeddingBag(5, 3, max_norm=2.0, padding_idx=0))


def test_default_init_is_standard_normal_with_zero_padding_row():
    ember.manual_seed(5)
    emb = ember.nn.Embedding(1000, 64, padding_idx=7)
    w = emb.weight.detach().numpy()
    assert np.all(w[7] == 0)
    rest = np.delete(w, 7, axis=0)
    assert abs(rest.mean()) < 0.01 and abs(rest.std() - 1) < 0.01
    keys = list(emb.state_dict().keys())
    assert keys == list(torch.nn.Embedding(3, 2).state_dict().keys())


EMBEDDING_ERRORS = [
    ("float_index", lambda lib, w, i: lib.nn.functional.embedding(i, w),
     [randn(5, 3), np.array([1.0, 2.0])], "Expected tensor for argument #1 'indices'"),
    ("out_of_range", lambda lib, w, i: lib.nn.functional.embedding(i, w),
     [randn(5, 3), np.array([1, 5])], "index out of range in self"),
    ("negative", lambda lib, w, i: lib.nn.functional.embedding(i, w),
     [randn(5, 3), np.array([-1])], "index out of range in self"),
    ("bag_2d_offsets", lambda lib, w, i, o: lib.nn.functional.embedding_bag(i, w, o),
     [randn(5, 3), IDX, OFFSETS], None),
    ("bag_psw_mean", lambda lib, w, i, o, p: lib.nn.functional.embedding_bag(
        i, w, o, per_sample_weights=p), [randn(5, 3), FLAT, OFFSETS, randn(8)], None),
    ("bag_mode", lambda lib, w, i: lib.nn.functional.embedding_bag(i, w, mode="median"),
     [randn(5, 3), IDX], None),
]


@pytest.mark.parametrize("name,fn,inputs,match", EMBEDDING_ERRORS,
                         ids=[c[0] for c in EMBEDDING_ERRORS])
def test_embedding_errors_match_torch(name, fn, inputs, match):
    check_raises(fn, *inputs, match=match)


def test_padding_idx_bounds():
    for lib in (torch, ember):
        with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
            lib.nn.Embedding(3, 2, padding_idx=3)
        with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
            lib.nn.Embedding(3, 2, padding_idx=-4)


ONE_HOT_CASES = [
    ("infer", lambda lib, x: lib.nn.functional.one_hot(x), [np.array([0, 3, 1])]),
    ("given", lambda lib, x: lib.nn.functional.one_hot(x, 5), [np.array([[0, 3], [1, 1]])]),
    ("scalar", lambda lib, x: lib.nn.functional.one_hot(x, 3), [np.array(2)]),
    ("empty", lambda lib, x: lib.nn.functional.one_hot(x, 4), [np.zeros((0,), np.int64)]),
]


@pytest.mark.parametrize("name,fn,inputs", ONE_HOT_CASES, ids=[c[0] for c in ONE_HOT_CASES])
def test_one_hot_matches_torch(name, fn, inputs):
    check(fn, *inputs, grad=False)


ONE_HOT_ERRORS = [
    ("dtype", lambda lib, x: lib.nn.functional.one_hot(x), [np.array([0, 1], np.int32)]),
    ("negative", lambda lib, x: lib.nn.functional.one_hot(x, 3), [np.array([-1, 1])]),
    ("too_big", lambda lib, x: lib.nn.functional.one_hot(x, 2), [np.array([0, 2])]),
    ("empty_infer", lambda lib, x: lib.nn.functional.one_hot(x), [np.zeros((0,), np.int64)]),
]


@pytest.mark.parametrize("name,fn,inputs", ONE_HOT_ERRORS, ids=[c[0] for c in ONE_HOT_ERRORS])
def test_one_hot_errors_match_torch(name, fn, inputs):
    e_exc, t_exc = check_raises(fn, *inputs)
    assert str(e_exc) == str(t_exc)


def test_module_paths():
    from ember.nn.modules.sparse import Embedding, EmbeddingBag

    assert ember.nn.Embedding is Embedding and ember.nn.EmbeddingBag is EmbeddingBag
    assert copy_state is not None
