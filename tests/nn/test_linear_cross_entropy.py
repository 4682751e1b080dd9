"""F.linear_cross_entropy, nn.LinearCrossEntropyLoss and LinearCrossEntropyOptions against
PyTorch 2.13: values and gradients on the reference and the chunked paths (reductions,
class weights, ignore_index, label smoothing, bias, K-dimensional and probability
targets), option resolution, warnings and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember

pytestmark = pytest.mark.oracle_torch("2.13", "torch 2.11 has no F.linear_cross_entropy, "
                                      "nn.LinearCrossEntropyLoss or LinearCrossEntropyOptions")
RNG = np.random.default_rng(0)
X = RNG.standard_normal((7, 4))
W = RNG.standard_normal((5, 4))
B = RNG.standard_normal(5)
T = np.array([0, 3, 4, 1, 1, 2, 0])
CW = RNG.uniform(0.5, 2.0, 5)


def _t(lib, a, grad=False):
    if a.dtype.kind == "i":
        return lib.tensor(a)
    return lib.tensor(a, requires_grad=grad)


def _run(lib, x, w, t, b=None, grad_out=None, **kwargs):
    xs, ws = _t(lib, x, True), _t(lib, w, True)
    bs = _t(lib, b, True) if b is not None else None
    kw = dict(kwargs)
    if "weight" in kw:
        kw["weight"] = _t(lib, kw["weight"])
    if "options" in kw and kw["options"] is not None:
        kw["options"] = getattr(lib.nn, "LinearCrossEntropyOptions")(**kw["options"])
    loss = lib.nn.functional.linear_cross_entropy(xs, ws, _t(lib, t), linear_bias=bs, **kw)
    upstream = lib.tensor(grad_out if grad_out is not None else np.ones(loss.shape))
    leaves = [v for v in (xs, ws, bs) if v is not None]
    grads = lib.autograd.grad(loss, leaves, upstream)
    return [loss.detach()] + list(grads)


def _compare(e_out, t_out, **tol):
    for e, t in zip(e_out, t_out):
        torch.testing.assert_close(torch.from_numpy(np.asarray(e.numpy()).copy()), t, **tol)


CASES = [
    {},
    {"reduction": "sum"},
    {"reduction": "none"},
    {"weight": CW},
    {"weight": CW, "reduction": "sum", "ignore_index": 1},
    {"ignore_index": 0},
    {"label_smoothing": 0.2},
    {"label_smoothing": 0.1, "weight": CW, "reduction": "none"},
]


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("options", [None, {"batch_chunk_size": 3}, {}])
@pytest.mark.parametrize("kwargs", CASES)
def test_values_and_gradients_match_torch(kwargs, options, bias):
    b = B if bias else None
    grad_out = RNG.standard_normal(7) if kwargs.get("reduction") == "none" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # label smoothing + options warns (tested below)
        t_out = _run(torch, X, W, T, b, grad_out, options=options, **kwargs)
        e_out = _run(ember, X, W, T, b, grad_out, options=options, **kwargs)
    _compare(e_out, t_out)


@pytest.mark.parametrize("options", [None, {"batch_chunk_size": 1}])
def test_unbatched_input_and_float32(options):
    x, t = X[2].astype(np.float32), np.array(3)
    _compare(_run(ember, x, W.astype(np.float32), t, options=options),
             _run(torch, x, W.astype(np.float32), t, options=options))


def test_k_dimensional_and_probability_targets():
    w = RNG.standard_normal((5, 2, 4))
    b = RNG.standard_normal((5, 2))
    t = RNG.integers(0, 5, (7, 2))
    _compare(_run(ember, X, w, t, b), _run(torch, X, w, t, b))
    probs = RNG.dirichlet(np.ones(5), 7)
    _compare(_run(ember, X, W, probs, label_smoothing=0.1),
             _run(torch, X, W, probs, label_smoothing=0.1))


def test_chunked_backward_runs_once_unless_allowed():
    for allow in (False, True):
        results = []
        for lib in (torch, ember):
            x = lib.tensor(X, requires_grad=True)
            opts = lib.nn.LinearCrossEntropyOptions(batch_chunk_size=2,
                                                    allow_retain_graph=allow)
            loss = lib.nn.functional.linear_cross_entropy(x, lib.tensor(W), lib.tensor(T),
                                                          options=opts)
            loss.backward(retain_graph=True)
            if allow:
                loss.backward()
                results.append(x.grad.numpy().copy())
            else:
                with pytest.raises(RuntimeError, match="chunked backward called twice"):
                    loss.backward()
        if allow:
            np.testing.assert_allclose(results[1], results[0], rtol=1e-7, atol=1e-7)


def test_module_matches_torch_and_shares_state_dict_keys():
    torch.manual_seed(0)
    t_mod = torch.nn.LinearCrossEntropyLoss(4, 5, out_features=(2,), bias=True,
                                            label_smoothing=0.1, dtype=torch.float64)
    e_mod = ember.nn.LinearCrossEntropyLoss(4, 5, out_features=(2,), bias=True,
                                            label_smoothing=0.1, dtype=ember.float64)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict()) == ["linear.weight", "linear.bias"]
    e_mod.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_mod.state_dict().items()})
    assert repr(e_mod) == repr(t_mod)
    t = RNG.integers(0, 5, (7, 2))
    t_loss = t_mod(torch.tensor(X), torch.tensor(t))
    e_loss = e_mod(ember.tensor(X), ember.tensor(t))
    t_loss.backward()
    e_loss.backward()
    _compare([e_loss.detach(), e_mod.linear.weight.grad, e_mod.linear.bias.grad],
             [t_loss.detach(), t_mod.linear.weight.grad, t_mod.linear.bias.grad])


def test_options_resolve_as_torch():
    cases = [({}, (100, 8, 50, "float32", "cpu")), ({}, (100, 8, 50, "bfloat16", "cpu")),
             ({"chunking_method": "aspect_ratio:4"}, (37, 3, 20, "float64", "cpu")),
             ({"batch_chunk_size": 5}, (12, 4, 9, "float32", None)),
             ({"acc_policy": "balanced", "acc_dtype": "float64"}, (3, 4, 9, "float16", "cpu"))]
    for kwargs, (n, f, c, dtype, device) in cases:
        results = []
        for lib in (torch, ember):
            kw = {k: getattr(lib, v) if k == "acc_dtype" else v for k, v in kwargs.items()}
            opts = lib.nn.LinearCrossEntropyOptions(**kw)
            dev = lib.device(device) if device else None
            results.append(opts._adjust(n, f, c, getattr(lib, dtype), dev))
        e, t = results
        assert (e.batch_chunk_size, e.chunking_method, e.acc_policy, str(e.acc_dtype)) == \
            (t.batch_chunk_size, t.chunking_method, t.acc_policy, str(t.acc_dtype))
        assert repr(ember.nn.LinearCrossEntropyOptions()) == repr(
            torch.nn.LinearCrossEntropyOptions())


def _outcome(fn):
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - type and message are what is compared
        return type(err), str(err)
    return None


def test_errors_match_torch():
    calls = [
        lambda L: L.nn.functional.linear_cross_entropy(L.zeros(2, 2, 4), L.zeros(5, 4),
                                                       L.zeros(2, dtype=L.long)),
        lambda L: L.nn.functional.linear_cross_entropy(L.zeros(2, 4), L.zeros(4),
                                                       L.zeros(2, dtype=L.long)),
        lambda L: L.nn.functional.linear_cross_entropy(L.zeros(2, 3), L.zeros(5, 4),
                                                       L.zeros(2, dtype=L.long)),
        lambda L: L.nn.functional.linear_cross_entropy(L.zeros(2, 4), L.zeros(5, 4),
                                                       L.zeros(2, dtype=L.long),
                                                       linear_bias=L.zeros(4)),
        lambda L: L.nn.functional.linear_cross_entropy(L.zeros(4), L.zeros(5, 2, 4),
                                                       L.zeros(2, dtype=L.long)),
        lambda L: L.nn.functional.linear_cross_entropy(L.zeros(2, 4), L.zeros(5, 4),
                                                       L.zeros(2, 5), ignore_index=1),
        lambda L: L.nn.LinearCrossEntropyOptions(acc_policy="fast"),
        lambda L: L.nn.LinearCrossEntropyOptions(chunking_method="aspect_ratio:0"),
        lambda L: L.nn.LinearCrossEntropyOptions(batch_chunk_size=0),
        lambda L: L.nn.LinearCrossEntropyOptions(acc_dtype=L.int32),
        lambda L: L.nn.LinearCrossEntropyOptions(
            batch_chunk_size=3, chunking_method="aspect_ratio")._adjust(
                100, 8, 50, L.float32, L.device("cpu")),
        lambda L: L.nn.LinearCrossEntropyLoss(4, 5, weight=L.ones(4)),
        lambda L: L.nn.LinearCrossEntropyLoss(4, 5, label_smoothing=1.5),
    ]
    for call in calls:
        expected = _outcome(lambda: call(torch))
        assert expected is not None
        assert _outcome(lambda: call(ember)) == expected


def test_unsupported_options_warn_and_fall_back():
    for lib in (torch, ember):
        opts = lib.nn.LinearCrossEntropyOptions(batch_chunk_size=2)
        with pytest.warns(UserWarning, match=r"``options`` ignored.*label_smoothing=0.1"):
            lib.nn.functional.linear_cross_entropy(lib.tensor(X), lib.tensor(W), lib.tensor(T),
                                                   label_smoothing=0.1, options=opts)
