"""``ember.native_*`` (layer/batch/group norm with their saved statistics, dropout with its
mask, sparse norm, channel shuffle), ``max_pool1d_with_indices`` and the recurrent kernels'
function forms (``lstm``, ``gru``, ``rnn_tanh``, ``rnn_relu``) against PyTorch."""

import numpy as np
import pytest
import torch
from oracle import check_raises

import ember

RNG = np.random.default_rng(11)
X = RNG.standard_normal((2, 6, 4)).astype(np.float32)
W = RNG.standard_normal(6).astype(np.float32)

NATIVE_CASES = [  # fn(lib, x, w) -> tuple or tensor; x and w require grad
    lambda lib, x, w: lib.native_layer_norm(x, [4], None, None, 1e-5),
    lambda lib, x, w: lib.native_layer_norm(x, [6, 4], lib.ones(6, 4), lib.zeros(6, 4), 1e-5),
    lambda lib, x, w: lib.native_layer_norm(x.double(), [4], None, None, 1e-5),
    lambda lib, x, w: lib.native_layer_norm(x.detach().bfloat16(), [4], None, None, 1e-5),
    lambda lib, x, w: lib.native_batch_norm(x, w, w * 0.5, None, None, True, 0.1, 1e-5),
    lambda lib, x, w: lib.native_batch_norm(x, w, None, lib.full((6,), 0.5), lib.full((6,), 2.0),
                                            False, 0.1, 1e-5),
    lambda lib, x, w: lib.native_batch_norm(x.detach().bfloat16(), None, None, lib.zeros(6),
                                            lib.ones(6), True, 0.1, 1e-5),
    lambda lib, x, w: lib.native_group_norm(x, w, None, 2, 6, 4, 3, 1e-5),
    lambda lib, x, w: lib.native_group_norm(x.detach().bfloat16(), None, None, 2, 6, 4, 2,
                                            1e-5),
    lambda lib, x, w: lib.native_channel_shuffle(x.detach(), 3),  # torch: no derivative
    lambda lib, x, w: lib.max_pool1d_with_indices(x, 3),
    lambda lib, x, w: lib.max_pool1d_with_indices(x[0], 2, 1, 1, 1, True),
    lambda lib, x, w: lib.native_dropout(x, 0.0, True),
    lambda lib, x, w: lib.native_dropout(x, 0.5, False),
    lambda lib, x, w: lib.native_dropout(x, 1.0, True),
    lambda lib, x, w: lib.native_norm(lib.tensor([[0.0, 3.0], [4.0, 0.0]]).to_sparse()),
    lambda lib, x, w: lib.native_norm(lib.tensor([[0.0, 3.0], [4.0, 0.0]]).to_sparse(), 3,
                                      [0, 1], False, None),
]


def _native_run(lib, case):
    x, w = lib.tensor(X, requires_grad=True), lib.tensor(W, requires_grad=True)
    out = case(lib, x, w)
    outs = out if isinstance(out, tuple) else (out,)
    if outs[0].requires_grad:
        (outs[0].float() * lib.tensor(np.linspace(-1, 1, outs[0].numel(), dtype=np.float32)
                                      .reshape(tuple(outs[0].shape)))).sum().backward()
    grads = [None if t.grad is None else t.grad.numpy() for t in (x, w)]
    return ([o.detach().float().numpy() for o in outs], [str(o.dtype) for o in outs],
            [o.requires_grad for o in outs], grads)


@pytest.mark.parametrize("case", range(len(NATIVE_CASES)))
def test_native_ops_match_torch(case):
    e_out, e_dtypes, e_grad_flags, e_grads = _native_run(ember, NATIVE_CASES[case])
    t_out, t_dtypes, t_grad_flags, t_grads = _native_run(torch, NATIVE_CASES[case])
    low = "bfloat16" in t_dtypes[0]  # bfloat16 results: bfloat16's own resolution
    tol = {"rtol": 1e-2, "atol": 1e-2} if low else {"rtol": 1.3e-6, "atol": 1e-5}
    assert e_dtypes == t_dtypes and e_grad_flags[1:] == t_grad_flags[1:]  # stats: no graph
    for e, t in zip(e_out, t_out, strict=True):
        np.testing.assert_allclose(e, t, **tol)
    for e, t in zip(e_grads, t_grads, strict=True):
        assert (e is None) == (t is None)
        if t is not None:
            np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-5)


def test_native_batch_norm_updates_running_stats_like_torch():
    stats = []
    for lib in (ember, torch):
        mean, var = lib.zeros(6), lib.ones(6)
        lib.native_batch_norm(lib.tensor(X), None, None, mean, var, True, 0.3, 1e-5)
        stats.append((mean.numpy(), var.numpy()))
    np.testing.assert_allclose(stats[0][0], stats[1][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats[0][1], stats[1][1], rtol=1e-5, atol=1e-6)


def test_native_dropout_mask_and_scale():
    x = ember.ones(4000)
    out, mask = ember.native_dropout(x, 0.25, True)
    assert mask.dtype == ember.bool and 0.70 < mask.float().mean().item() < 0.80
    assert np.allclose(out.numpy(), mask.numpy() / 0.75)
    out, mask = ember.native_dropout(x, 0.25, None)  # None trains, as torch
    assert not bool(mask.all())
    kept, mask = ember.native_dropout(x, 0.25, False)
    assert bool(mask.all()) and kept is not x and kept.tolist() == x.tolist()


NATIVE_ERRORS = [
    lambda lib: lib.native_layer_norm(lib.ones(2, 3, 4), [5], None, None, 1e-5),
    lambda lib: lib.native_group_norm(lib.ones(2, 6, 4), None, None, 2, 6, 4, 4, 1e-5),
    lambda lib: lib.native_group_norm(lib.ones(2, 6, 4), None, None, 3, 6, 4, 3, 1e-5),
    lambda lib: lib.native_dropout(lib.ones(3), 1.5, True),
    lambda lib: lib.native_channel_shuffle(lib.ones(1, 4, 2), 3),
    lambda lib: lib.native_channel_shuffle(lib.ones(1, 4, 2), 0),
    lambda lib: lib.native_norm(lib.ones(2)),
    lambda lib: lib.native_norm(lib.ones(2, 2).to_sparse(), 2, [1], False, None),
    lambda lib: lib.native_norm(lib.ones(2, 2).to_sparse(), 2, [0, 1], True, None),
    lambda lib: lib.native_norm(lib.ones(2, 2).to_sparse(), 2, [0, 1], False, lib.float64),
]


@pytest.mark.parametrize("case", range(len(NATIVE_ERRORS)))
def test_native_errors_match_torch(case):
    e_error, t_error = check_raises(NATIVE_ERRORS[case])
    assert str(e_error).split(".")[0] == str(t_error).split(".")[0]


# -- lstm / gru / rnn_tanh / rnn_relu -------------------------------------------------------

RNN_CASES = [  # (module, function, num_layers, bidirectional, batch_first, extra, packed)
    ("LSTM", "lstm", 1, False, False, {}, False),
    ("LSTM", "lstm", 2, True, True, {}, False),
    ("LSTM", "lstm", 2, False, False, {"proj_size": 3}, False),
    ("LSTM", "lstm", 1, True, False, {}, True),
    ("GRU", "gru", 2, True, False, {}, False),
    ("GRU", "gru", 1, False, True, {"bias": False}, False),
    ("GRU", "gru", 1, False, False, {}, True),
    ("RNN", "rnn_tanh", 2, False, False, {}, False),
    ("RNN", "rnn_relu", 1, True, True, {"nonlinearity": "relu"}, False),
]


@pytest.mark.parametrize("case", range(len(RNN_CASES)))
def test_rnn_function_forms_match_torch(case):
    kind, fn, layers, bidir, batch_first, extra, packed = RNN_CASES[case]
    steps, batch, features, hidden = 4, 3, 5, 6
    rng = np.random.default_rng(case)
    t_module = getattr(torch.nn, kind)(features, hidden, num_layers=layers,
                                       bidirectional=bidir, batch_first=batch_first, **extra)
    e_module = getattr(ember.nn, kind)(features, hidden, num_layers=layers,
                                       bidirectional=bidir, batch_first=batch_first, **extra)
    e_module.load_state_dict({k: ember.tensor(v.detach().numpy())
                              for k, v in t_module.state_dict().items()})
    x = rng.standard_normal((batch, steps, features) if batch_first
                            else (steps, batch, features)).astype(np.float32)
    directions = layers * (2 if bidir else 1)
    h0 = rng.standard_normal((directions, batch, extra.get("proj_size", hidden)))
    c0 = rng.standard_normal((directions, batch, hidden))
    bias = extra.get("bias", True)
    results = []
    for lib, module in ((ember, e_module), (torch, t_module)):
        inputs = lib.tensor(x, requires_grad=True)
        hx = lib.tensor(h0.astype(np.float32))
        if kind == "LSTM":
            hx = (hx, lib.tensor(c0.astype(np.float32)))
        params = list(module._flat_weights)
        if packed:
            sequence = lib.nn.utils.rnn.pack_padded_sequence(inputs, [4, 3, 1],
                                                             batch_first=batch_first)
            out = getattr(lib, fn)(sequence.data, sequence.batch_sizes, hx, params, bias,
                                   layers, 0.0, False, bidir)
        else:
            out = getattr(lib, fn)(inputs, hx, params, bias, layers, 0.0, False, bidir,
                                   batch_first)
        sum((o * o).sum() for o in out).backward()
        results.append(([o.detach().numpy() for o in out], inputs.grad.numpy(),
                        params[0].grad.numpy()))
    (e_out, e_dx, e_dw), (t_out, t_dx, t_dw) = results
    for e, t in zip(e_out, t_out, strict=True):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(e_dx, t_dx, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(e_dw, t_dw, rtol=1e-4, atol=1e-4)
