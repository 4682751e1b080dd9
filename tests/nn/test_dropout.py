"""Dropout family: PyTorch's semantics (identity in eval and at p=0, zeros at p=1, scaling
1/(1-p), whole-channel masks, alpha dropout's moments), checked exactly where they are
deterministic and statistically where they are random (the streams differ from torch's)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

F = ember.nn.functional

MODULES = [
    ("Dropout", {}), ("Dropout", {"p": 0.2, "inplace": True}), ("Dropout1d", {"p": 0.3}),
    ("Dropout2d", {}), ("Dropout3d", {"p": 0.1}), ("AlphaDropout", {"p": 0.25}),
    ("FeatureAlphaDropout", {}),
]


@pytest.mark.parametrize("name,kwargs", MODULES, ids=[f"{m}-{k}" for m, k in MODULES])
def test_repr_and_eval_identity(name, kwargs):
    e_mod = getattr(ember.nn, name)(**kwargs)
    t_mod = getattr(torch.nn, name)(**kwargs)
    assert repr(e_mod) == repr(t_mod)
    x = ember.randn(2, 3, 4, 5, 6) if "3d" in name else ember.randn(2, 3, 4, 5)
    if name == "Dropout1d":
        x = ember.randn(2, 3, 4)
    e_mod.eval()
    assert np.array_equal(e_mod(x).numpy(), x.numpy())


@pytest.mark.parametrize("fn", [F.dropout, F.alpha_dropout, F.feature_alpha_dropout,
                                F.dropout1d, F.dropout2d, F.dropout3d])
def test_p_zero_is_identity_and_p_one_is_zero(fn):
    x = ember.randn(2, 3, 4, 5)
    if fn is F.dropout1d:
        x = ember.randn(2, 3, 4)
    assert np.array_equal(fn(x, 0.0, training=True).numpy(), x.numpy())
    assert np.array_equal(fn(x, 0.5, training=False).numpy(), x.numpy())
    x.requires_grad_(True)
    out = fn(x, 1.0, training=True)
    assert np.all(out.detach().numpy() == 0)
    out.sum().backward()
    assert np.all(x.grad.numpy() == 0)


def test_dropout_scaling_rate_and_gradient():
    ember.manual_seed(1)
    x = ember.ones(200, 500, requires_grad=True)
    out = F.dropout(x, 0.3)
    values = out.detach().numpy()
    kept = values != 0
    np.testing.assert_allclose(values[kept], 1 / 0.7, rtol=1e-6)
    assert abs(1 - kept.mean() - 0.3) < 0.01
    out.backward(ember.full((200, 500), 2.0))
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, 2 / 0.7, 0), rtol=1e-6)
    assert out.dtype == ember.float32
    assert F.dropout(ember.ones(10, dtype=ember.float64), 0.5).dtype == ember.float64


FEATURE_CASES = [(F.dropout1d, (40, 30, 7), True), (F.dropout1d, (30, 7), False),
                 (F.dropout2d, (40, 30, 3, 3), True), (F.dropout3d, (20, 30, 2, 2, 2), True),
                 (F.dropout3d, (30, 2, 2, 2), False), (F.feature_alpha_dropout, (40, 30, 5), True)]


@pytest.mark.parametrize("fn,shape,batched", FEATURE_CASES)
def test_feature_dropout_masks_whole_channels(fn, shape, batched):
    ember.manual_seed(2)
    values = fn(ember.ones(*shape), 0.4, training=True).numpy()
    per_channel = values.reshape(*shape[:2], -1) if batched else values.reshape(shape[0], -1)
    assert np.all(per_channel == per_channel[..., :1]), "channels are kept or dropped whole"
    if fn is not F.feature_alpha_dropout:
        assert abs((per_channel[..., 0] == 0).mean() - 0.4) < 0.12


def test_alpha_dropout_keeps_selu_moments():
    ember.manual_seed(3)
    x = ember.randn(400, 500)
    out = F.alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(out.mean()) < 0.02 and abs(out.std() - 1) < 0.02
    alpha = 1.7580993408473766
    a = 1 / np.sqrt((alpha ** 2 * 0.2 + 1) * 0.8)
    dropped_value = -alpha * a + alpha * a * 0.2
    assert np.isclose(out, dropped_value, atol=1e-5).mean() == pytest.approx(0.2, abs=0.01)


def test_inplace_dropout_writes_input():
    ember.manual_seed(4)
    x = ember.ones(50, 50)
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x and np.any(x.numpy() == 0) and np.any(x.numpy() == 2.0)
    y = ember.ones(30, 30)
    ember.nn.Dropout(0.5, inplace=True)(y)
    assert np.any(y.numpy() == 0)


def test_generator_reproducibility():
    ember.manual_seed(7)
    a = F.dropout(ember.ones(100), 0.5).numpy()
    ember.manual_seed(7)
    b = F.dropout(ember.ones(100), 0.5).numpy()
    assert np.array_equal(a, b)


ERRORS = [
    (lambda lib: lib.nn.Dropout(1.5), ValueError),
    (lambda lib: lib.nn.Dropout2d(-0.1), ValueError),
    (lambda lib: lib.nn.functional.dropout(lib.ones(3), 2.0), ValueError),
    (lambda lib: lib.nn.functional.dropout1d(lib.ones(3), 0.5), RuntimeError),
    (lambda lib: lib.nn.functional.dropout1d(lib.ones(1, 2, 3, 4), 0.5), RuntimeError),
]


@pytest.mark.parametrize("make,exc", ERRORS)
def test_errors_match_torch(make, exc):
    with pytest.raises(exc) as t_info:
        make(torch)
    with pytest.raises(exc) as e_info:
        make(ember)
    assert str(e_info.value) == str(t_info.value)


def test_module_paths():
    from ember.nn.modules import dropout

    for name, _ in MODULES:
        assert getattr(ember.nn, name) is getattr(dropout, name)


WARNING_CASES = [("dropout2d", (2, 3, 4)), ("dropout2d", (2, 3)), ("dropout3d", (2, 3, 4)),
                 ("dropout3d", (2, 3, 4, 5, 6, 7))]


@pytest.mark.parametrize("name,shape", WARNING_CASES)
def test_dimension_warnings_match_torch(name, shape):
    import warnings

    messages = []
    for lib in (torch, ember):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            getattr(lib.nn.functional, name)(lib.ones(*shape), 0.5)
        messages.append([str(w.message) for w in caught])
    assert messages[0] == messages[1] and messages[0]


def test_unbatched_inplace_feature_dropout_returns_input():
    ember.manual_seed(9)
    x = ember.ones(40, 3)
    out = F.dropout1d(x, 0.5, inplace=True)
    assert out is x
    values = x.numpy()
    assert np.all(values == values[:, :1]) and set(np.unique(values)) <= {0.0, 2.0}
