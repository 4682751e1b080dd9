"""RNN, LSTM, GRU, their cells and nn.utils.rnn against PyTorch, weights copied across:
outputs, final states and every gradient (input, initial states, parameters)."""

from __future__ import annotations

import io
import os
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from module_oracle import copy_state  # noqa: E402
from oracle import as_numpy, assert_same, check, check_raises  # noqa: E402

import ember  # noqa: E402
from ember.nn.utils import rnn as ernn  # noqa: E402
from torch.nn.utils import rnn as trnn  # noqa: E402

RNG = np.random.default_rng(7)


def _pair(cls_name, *args, dtype="float64", **kwargs):
    t_mod = getattr(torch.nn, cls_name)(*args, **kwargs).to(getattr(torch, dtype))
    e_mod = getattr(ember.nn, cls_name)(*args, **kwargs).to(getattr(ember, dtype))
    copy_state(t_mod, e_mod)
    return t_mod, e_mod


def _leaf(lib, array):
    return (torch.tensor(array) if lib is torch else ember.tensor(array)).requires_grad_()


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    if isinstance(out, (trnn.PackedSequence, ernn.PackedSequence)):
        return [out.data]
    return [out]


def _compare_grads(t_mod, e_mod, t_out, e_out, t_leaves, e_leaves, rtol=None, atol=None):
    """Back-propagate one random upstream gradient per output through both; compare the
    leaves' and the parameters' gradients."""
    t_flat, e_flat = _flat(t_out), _flat(e_out)
    upstream = [RNG.standard_normal(tuple(o.shape)).astype(as_numpy(o).dtype) for o in t_flat]
    torch.autograd.backward(t_flat, [torch.from_numpy(u) for u in upstream])
    ember.autograd.backward(e_flat, [ember.tensor(u) for u in upstream])
    for i, (tl, el) in enumerate(zip(t_leaves, e_leaves)):
        assert_same(el.grad, tl.grad, rtol, atol, f"grad of input {i}")
    e_params = dict(e_mod.named_parameters())
    for name, tp in t_mod.named_parameters():
        assert_same(e_params[name].grad, tp.grad, rtol, atol, f"grad of {name}")


# -- every option combination, drawn by hypothesis -------------------------------------------


@st.composite
def rnn_configs(draw):
    mode = draw(st.sampled_from(["LSTM", "GRU", "RNN_TANH", "RNN_RELU"]))
    hidden = draw(st.integers(2, 5))
    config = {
        "mode": mode, "input_size": draw(st.integers(1, 4)), "hidden_size": hidden,
        "num_layers": draw(st.integers(1, 3)), "bias": draw(st.booleans()),
        "batch_first": draw(st.booleans()), "bidirectional": draw(st.booleans()),
        "proj_size": draw(st.integers(0, hidden - 1)) if mode == "LSTM" else 0,
        "unbatched": draw(st.booleans()), "with_state": draw(st.booleans()),
        "steps": draw(st.integers(1, 4)), "batch": draw(st.integers(1, 3)),
    }
    return config


def _build(config, dtype="float64"):
    mode = config["mode"]
    kwargs = dict(num_layers=config["num_layers"], bias=config["bias"],
                  batch_first=config["batch_first"], bidirectional=config["bidirectional"])
    if mode.startswith("RNN"):
        kwargs["nonlinearity"] = "tanh" if mode == "RNN_TANH" else "relu"
        name = "RNN"
    else:
        name = mode
    if config["proj_size"]:
        kwargs["proj_size"] = config["proj_size"]
    return _pair(name, config["input_size"], config["hidden_size"], dtype=dtype, **kwargs)


def _inputs(config):
    steps, batch = config["steps"], config["batch"]
    shape = (batch, steps) if config["batch_first"] else (steps, batch)
    if config["unbatched"]:
        shape = (steps,)
    x = RNG.standard_normal(shape + (config["input_size"],))
    states = []
    if config["with_state"]:
        layers = config["num_layers"] * (2 if config["bidirectional"] else 1)
        out = config["proj_size"] or config["hidden_size"]
        lead = (layers,) if config["unbatched"] else (layers, batch)
        states.append(RNG.standard_normal(lead + (out,)))
        if config["mode"] == "LSTM":
            states.append(RNG.standard_normal(lead + (config["hidden_size"],)))
    return x, states


def _call(module, lib, x, states, mode):
    leaves = [_leaf(lib, x)] + [_leaf(lib, s) for s in states]
    if not states:
        return module(leaves[0]), leaves
    hx = (leaves[1], leaves[2]) if mode == "LSTM" else leaves[1]
    return module(leaves[0], hx), leaves


@settings(max_examples=40, deadline=None)
@given(rnn_configs())
def test_module_matches_torch_for_drawn_options(config):
    t_mod, e_mod = _build(config)
    x, states = _inputs(config)
    t_out, t_leaves = _call(t_mod, torch, x, states, config["mode"])
    e_out, e_leaves = _call(e_mod, ember, x, states, config["mode"])
    assert_same(e_out, t_out)
    _compare_grads(t_mod, e_mod, t_out, e_out, t_leaves, e_leaves)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH"])
def test_float32_matches_torch(mode):
    config = {"mode": mode, "input_size": 8, "hidden_size": 16, "num_layers": 2, "bias": True,
              "batch_first": True, "bidirectional": True, "proj_size": 0, "unbatched": False,
              "with_state": True, "steps": 7, "batch": 4}
    t_mod, e_mod = _build(config, "float32")
    x, states = _inputs(config)
    x, states = x.astype(np.float32), [s.astype(np.float32) for s in states]
    t_out, t_leaves = _call(t_mod, torch, x, states, mode)
    e_out, e_leaves = _call(e_mod, ember, x, states, mode)
    assert_same(e_out, t_out, rtol=1e-5, atol=1e-5)
    _compare_grads(t_mod, e_mod, t_out, e_out, t_leaves, e_leaves, rtol=1e-4, atol=1e-5)


# -- packed sequences -----------------------------------------------------------------------

PACKED_CASES = [
    ("LSTM", {}, True), ("LSTM", {"bidirectional": True, "num_layers": 2}, False),
    ("LSTM", {"proj_size": 2, "bidirectional": True}, False), ("GRU", {}, False),
    ("GRU", {"bidirectional": True}, True), ("RNN", {"nonlinearity": "relu"}, False),
    ("RNN", {"batch_first": True, "bidirectional": True}, False),
]


@pytest.mark.parametrize("name,kwargs,enforce_sorted", PACKED_CASES)
@pytest.mark.parametrize("with_state", [False, True])
def test_packed_input_matches_torch(name, kwargs, enforce_sorted, with_state):
    t_mod, e_mod = _pair(name, 3, 4, **kwargs)
    lengths = [5, 3, 3, 1] if enforce_sorted else [2, 5, 1, 3]
    batch_first = kwargs.get("batch_first", False)
    shape = (4, 5, 3) if batch_first else (5, 4, 3)
    x = RNG.standard_normal(shape)
    layers = (2 if kwargs.get("bidirectional") else 1) * kwargs.get("num_layers", 1)
    states = []
    if with_state:
        states.append(RNG.standard_normal((layers, 4, kwargs.get("proj_size", 4))))
        if name == "LSTM":
            states.append(RNG.standard_normal((layers, 4, 4)))
    results = []
    for lib, mod, rnn_utils in ((torch, t_mod, trnn), (ember, e_mod, ernn)):
        leaves = [_leaf(lib, x)] + [_leaf(lib, s) for s in states]
        packed = rnn_utils.pack_padded_sequence(leaves[0], lengths, batch_first=batch_first,
                                                enforce_sorted=enforce_sorted)
        hx = None
        if states:
            hx = (leaves[1], leaves[2]) if name == "LSTM" else leaves[1]
        out, hidden = mod(packed, hx)
        padded, out_lengths = rnn_utils.pad_packed_sequence(out, batch_first=batch_first)
        results.append(((padded, out_lengths, hidden, out.data), leaves))
    (t_out, t_leaves), (e_out, e_leaves) = results
    assert_same(e_out, t_out)
    _compare_grads(t_mod, e_mod, t_out[:1] + t_out[2:3], e_out[:1] + e_out[2:3], t_leaves,
                   e_leaves)


def test_packed_output_keeps_sorting_indices():
    t_mod, e_mod = _pair("GRU", 2, 3)
    seqs = [RNG.standard_normal((n, 2)) for n in (2, 4, 3)]
    t_packed = trnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    e_packed = ernn.pack_sequence([ember.tensor(s) for s in seqs], enforce_sorted=False)
    t_out, _ = t_mod(t_packed)
    e_out, _ = e_mod(e_packed)
    for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        assert_same(getattr(e_out, field), getattr(t_out, field), what=field)
    assert_same([s for s in ernn.unpack_sequence(e_out)],
                [s for s in trnn.unpack_sequence(t_out)])


# -- nn.utils.rnn -----------------------------------------------------------------------------

PAD_CASES = [
    ({}, [(3, 2), (1, 2), (2, 2)]),
    ({"batch_first": True}, [(3,), (1,), (4,)]),
    ({"padding_value": -1.5}, [(2, 2, 2), (3, 2, 2)]),
    ({"padding_side": "left"}, [(3, 2), (1, 2), (2, 2)]),
    ({"padding_side": "left", "batch_first": True, "padding_value": 7.0}, [(1,), (3,)]),
]


@pytest.mark.parametrize("kwargs,shapes", PAD_CASES)
def test_pad_sequence(kwargs, shapes):
    arrays = [RNG.standard_normal(s) for s in shapes]
    check(lambda lib, *seqs: lib.nn.utils.rnn.pad_sequence(list(seqs), **kwargs), *arrays)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [4, 2, 2, 1]), (False, [1, 4, 2, 3])])
def test_pack_and_pad_round_trip(batch_first, enforce_sorted, lengths):
    shape = (4, 5, 2) if batch_first else (5, 4, 2)
    x = RNG.standard_normal(shape)

    def fn(lib, x):
        utils = lib.nn.utils.rnn
        packed = utils.pack_padded_sequence(x, lengths, batch_first=batch_first,
                                            enforce_sorted=enforce_sorted)
        padded, out_lengths = utils.pad_packed_sequence(packed, batch_first=batch_first,
                                                        padding_value=0.5, total_length=6)
        return packed.data, packed.batch_sizes, padded, out_lengths

    check(fn, x, host_outputs=(1, 3))  # batch_sizes and lengths stay on cpu, as torch's


def test_packed_sequence_fields_and_to():
    x = ember.tensor(RNG.standard_normal((3, 2)).astype(np.float32))
    packed = ernn.pack_padded_sequence(x, [3, 1], enforce_sorted=False)
    t_packed = trnn.pack_padded_sequence(torch.tensor(as_numpy(x)), [3, 1],
                                         enforce_sorted=False)
    assert_same(tuple(packed), tuple(t_packed))
    assert packed.to(ember.float32) is packed
    assert packed.double().data.dtype == ember.float64
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    assert batch_sizes.dtype == ember.int64 and sorted_indices.dtype == ember.int64


def test_unpad_and_unpack_sequence():
    seqs = [RNG.standard_normal((n, 3)) for n in (3, 1, 2)]
    for batch_first in (False, True):
        t_padded = trnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=batch_first)
        e_padded = ernn.pad_sequence([ember.tensor(s) for s in seqs], batch_first=batch_first)
        lengths = [3, 1, 2]
        assert_same(ernn.unpad_sequence(e_padded, ember.tensor(lengths), batch_first),
                    trnn.unpad_sequence(t_padded, torch.tensor(lengths), batch_first))
    e_packed = ernn.pack_sequence([ember.tensor(s) for s in seqs], enforce_sorted=False)
    t_packed = trnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    assert_same(ernn.unpack_sequence(e_packed), trnn.unpack_sequence(t_packed))


UTIL_ERRORS = [
    lambda lib, x: lib.nn.utils.rnn.pack_padded_sequence(x, [2, 3, 1, 1]),
    lambda lib, x: lib.nn.utils.rnn.pack_padded_sequence(x, [2, 0, 1, 1], enforce_sorted=False),
    lambda lib, x: lib.nn.utils.rnn.pack_padded_sequence(x, [3, 2, 1]),
    lambda lib, x: lib.nn.utils.rnn.pad_sequence([x, x[:, :2]]),
    lambda lib, x: lib.nn.utils.rnn.pad_sequence([x], padding_side="middle"),
    lambda lib, x: lib.nn.utils.rnn.pad_packed_sequence(
        lib.nn.utils.rnn.pack_padded_sequence(x, [3, 2, 1, 1]), total_length=2),
]


@pytest.mark.parametrize("fn", UTIL_ERRORS)
def test_util_errors(fn):
    check_raises(fn, RNG.standard_normal((3, 4, 2)))


# -- cells ------------------------------------------------------------------------------------

CELL_CASES = [
    ("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("RNNCell", {"bias": False}),
    ("LSTMCell", {}), ("LSTMCell", {"bias": False}), ("GRUCell", {}), ("GRUCell", {"bias": False}),
]


@pytest.mark.parametrize("name,kwargs", CELL_CASES)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cells(name, kwargs, batched, with_state):
    t_mod, e_mod = _pair(name, 3, 5, **kwargs)
    lead = (4,) if batched else ()
    x = RNG.standard_normal(lead + (3,))
    states = []
    if with_state:
        states = [RNG.standard_normal(lead + (5,))] * (2 if name == "LSTMCell" else 1)
    results = []
    for lib, mod in ((torch, t_mod), (ember, e_mod)):
        leaves = [_leaf(lib, x)] + [_leaf(lib, s) for s in states]
        if not states:
            out = mod(leaves[0])
        else:
            out = mod(leaves[0], tuple(leaves[1:]) if name == "LSTMCell" else leaves[1])
        results.append((out, leaves))
    (t_out, t_leaves), (e_out, e_leaves) = results
    assert_same(e_out, t_out)
    _compare_grads(t_mod, e_mod, t_out, e_out, t_leaves, e_leaves)


# -- errors, with PyTorch's texts -------------------------------------------------------------

ERROR_CASES = [
    ("LSTM", (10, 20), (5, 3, 7), None,
     r"input.size\(-1\) must be equal to input_size. Expected 10, got 7"),
    ("RNN", (10, 20), (5, 3, 10), [(1, 4, 20)],
     r"Expected hidden size \(1, 3, 20\), got \[1, 4, 20\]"),
    ("GRU", (10, 20), (5, 3, 10), [(2, 3, 20)],
     r"Expected hidden size \(1, 3, 20\), got \[2, 3, 20\]"),
    ("LSTM", (10, 20), (5, 3, 10), [(1, 3, 20), (1, 3, 19)],
     r"Expected hidden\[1\] size \(1, 3, 20\), got \[1, 3, 19\]"),
    ("LSTM", (10, 20), (5, 3, 10), [(1, 2, 20), (1, 3, 20)],
     r"Expected hidden\[0\] size \(1, 3, 20\), got \[1, 2, 20\]"),
    ("LSTM", (10, 20), (2, 5, 3, 10), None, "LSTM: Expected input to be 2D or 3D, got 4D instead"),
    ("GRU", (10, 20), (10,), None, "GRU: Expected input to be 2D or 3D, got 1D instead"),
    ("RNN", (10, 20), (5, 10), [(1, 3, 20)], "For unbatched 2-D input, hx should also be 2-D"),
    ("RNN", (10, 20), (5, 3, 10), [(3, 20)], "For batched 3-D input, hx should also be 3-D"),
    ("LSTM", (10, 20), (5, 10), [(1, 1, 20), (1, 1, 20)], "For unbatched 2-D input, hx and cx"),
    ("LSTMCell", (10, 20), (3, 7), None, "input has inconsistent input_size"),
    ("GRUCell", (10, 20), (3, 4, 10), None, "GRUCell: Expected input to be 1D or 2D"),
    ("LSTM", (10, 20), (0, 3, 10), None, "Expected sequence length to be larger than 0 in RNN"),
]


@pytest.mark.parametrize("name,args,shape,state_shapes,message", ERROR_CASES)
def test_errors(name, args, shape, state_shapes, message):
    t_mod, e_mod = _pair(name, *args)
    x = RNG.standard_normal(shape)
    states = [RNG.standard_normal(s) for s in state_shapes or ()]

    def fn(lib, x, *states):
        mod = t_mod if lib is torch else e_mod
        if not states:
            return mod(x)
        return mod(x, tuple(states) if len(states) == 2 else states[0])

    check_raises(fn, x, *states, match=message)


CONSTRUCTOR_ERRORS = [
    ("LSTM", (10, 20), {"proj_size": 20}), ("GRU", (10, 20), {"proj_size": 2}),
    ("RNN", (10, 20), {"nonlinearity": "gelu"}), ("LSTM", (10, 20), {"dropout": 1.5}),
    ("LSTM", (0, 20), {}), ("LSTM", (10, 20), {"num_layers": 0}),
    ("LSTM", (10, 20.0), {}),
]


@pytest.mark.parametrize("name,args,kwargs", CONSTRUCTOR_ERRORS)
def test_constructor_errors(name, args, kwargs):
    check_raises(lambda lib: getattr(lib.nn, name)(*args, **kwargs))


def test_empty_batch():
    t_mod, e_mod = _pair("GRU", 3, 4)
    x = np.zeros((5, 0, 3))
    assert_same(e_mod(ember.tensor(x)), t_mod(torch.tensor(x)))


def test_dtype_mismatch_error():
    check_raises(lambda lib: lib.nn.LSTM(3, 4)(lib.zeros(2, 1, 3, dtype=lib.float64)),
                 match=r"RNN input dtype \(.*float64\) does not match weight dtype")


# -- structure: names, shapes, init, repr, flatten_parameters, checkpoints --------------------


@pytest.mark.parametrize("name,kwargs", [
    ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 3}),
    ("GRU", {"bias": False, "num_layers": 2}), ("RNN", {"nonlinearity": "relu"}),
    ("LSTMCell", {}), ("GRUCell", {"bias": False}),
])
def test_parameter_names_shapes_init_and_repr(name, kwargs):
    t_mod = getattr(torch.nn, name)(6, 5, **kwargs)
    e_mod = getattr(ember.nn, name)(6, 5, **kwargs)
    t_shapes = [(k, tuple(v.shape)) for k, v in t_mod.state_dict().items()]
    e_shapes = [(k, tuple(v.shape)) for k, v in e_mod.state_dict().items()]
    assert e_shapes == t_shapes
    assert repr(e_mod) == repr(t_mod)
    bound = 1 / np.sqrt(5)
    for p in e_mod.parameters():
        values = as_numpy(p)
        assert values.min() >= -bound and values.max() <= bound and values.std() > 0.1 * bound
    if hasattr(t_mod, "_flat_weights_names"):
        assert e_mod._flat_weights_names == t_mod._flat_weights_names
        assert [tuple(w.shape) for w in e_mod._flat_weights] == \
            [tuple(w.shape) for w in t_mod._flat_weights]
        assert [[tuple(w.shape) for w in ws] for ws in e_mod.all_weights] == \
            [[tuple(w.shape) for w in ws] for ws in t_mod.all_weights]
        e_mod.flatten_parameters()


def test_flat_weights_follow_reassigned_parameters():
    mod = ember.nn.GRU(2, 3)
    mod.weight_hh_l0 = ember.nn.Parameter(ember.zeros(9, 3))
    assert mod._flat_weights[1] is mod.weight_hh_l0
    mod.double()
    assert mod._flat_weights[0].dtype == ember.float64


@pytest.mark.parametrize("name,kwargs", [("LSTM", {"num_layers": 2, "bidirectional": True}),
                                         ("GRU", {"batch_first": True})])
def test_torch_checkpoint_loads_and_gives_the_same_output(name, kwargs):
    t_mod = getattr(torch.nn, name)(4, 6, **kwargs)
    buffer = io.BytesIO()
    torch.save(t_mod.state_dict(), buffer)
    buffer.seek(0)
    e_mod = getattr(ember.nn, name)(4, 6, **kwargs)
    e_mod.load_state_dict(ember.load(buffer))
    x = RNG.standard_normal((3, 5, 4)).astype(np.float32)
    t_out = t_mod(torch.tensor(x))
    e_out = e_mod(ember.tensor(x))
    assert_same(e_out, t_out, rtol=1e-5, atol=1e-6)


def test_dropout_between_layers_trains_and_is_identity_in_eval():
    t_mod, e_mod = _pair("LSTM", 3, 4, num_layers=2, dropout=0.5)
    x = RNG.standard_normal((5, 2, 3))
    e_mod.train()
    out, _ = e_mod(ember.tensor(x))
    out.sum().backward()
    assert e_mod.weight_ih_l0.grad is not None
    t_mod.eval()
    e_mod.eval()
    assert_same(e_mod(ember.tensor(x)), t_mod(torch.tensor(x)))


def test_gradcheck_and_gradgradcheck_through_layers():
    mod = ember.nn.LSTM(2, 3, num_layers=2, bidirectional=True, proj_size=2).double()
    lengths = [3, 2]
    x = ember.tensor(RNG.standard_normal((3, 2, 2))).requires_grad_()
    h0 = ember.tensor(RNG.standard_normal((4, 2, 2))).requires_grad_()
    c0 = ember.tensor(RNG.standard_normal((4, 2, 3))).requires_grad_()

    def fn(x, h0, c0):
        packed = ernn.pack_padded_sequence(x, lengths)
        out, (h, c) = mod(packed, (h0, c0))
        return out.data, h, c

    assert ember.autograd.gradcheck(fn, (x, h0, c0))
    gru = ember.nn.GRU(2, 3).double()
    assert ember.autograd.gradgradcheck(lambda x: gru(x)[0], (x,))


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_output_edited_in_place_keeps_gradients_right(name):
    """PyTorch lets the output be modified in place before backward; so does ember."""
    t_mod, e_mod = _pair(name, 3, 4)
    x = RNG.standard_normal((5, 2, 3))
    grads = []
    for lib, mod in ((torch, t_mod), (ember, e_mod)):
        leaf = _leaf(lib, x)
        out, _ = mod(leaf)
        out.mul_(2.0)
        out.sum().backward()
        grads.append(leaf.grad)
    assert_same(grads[1], grads[0])


# An initial state of another dtype than the weights: PyTorch's kernels refuse it (ember
# used to promote silently); the text is theirs (oneDNN's for a float32 LSTM).
_STATE_DTYPES = {
    "RNN h64": lambda L: L.nn.RNN(4, 8)(L.ones(2, 3, 4), L.zeros(1, 3, 8, dtype=L.float64)),
    "GRU h64": lambda L: L.nn.GRU(4, 8)(L.ones(2, 3, 4), L.zeros(1, 3, 8, dtype=L.float64)),
    "GRU batch_first h64": lambda L: L.nn.GRU(4, 8, batch_first=True)(
        L.ones(2, 3, 4), L.zeros(1, 2, 8, dtype=L.float64)),
    "LSTM h64": lambda L: L.nn.LSTM(4, 8)(
        L.ones(2, 3, 4), (L.zeros(1, 3, 8, dtype=L.float64), L.zeros(1, 3, 8))),
    "LSTM c64": lambda L: L.nn.LSTM(4, 8)(
        L.ones(2, 3, 4), (L.zeros(1, 3, 8), L.zeros(1, 3, 8, dtype=L.float64))),
    "LSTM double h32": lambda L: L.nn.LSTM(4, 8).double()(
        L.ones(2, 3, 4, dtype=L.float64), (L.zeros(1, 3, 8), L.zeros(1, 3, 8, dtype=L.float64))),
    "GRU double h32": lambda L: L.nn.GRU(4, 8).double()(
        L.ones(2, 3, 4, dtype=L.float64), L.zeros(1, 3, 8)),
}


@pytest.mark.parametrize("name", list(_STATE_DTYPES))
def test_initial_state_of_another_dtype_raises_torchs_error(name):
    messages = []
    for lib in (torch, ember):
        with pytest.raises(RuntimeError) as info:
            _STATE_DTYPES[name](lib)
        messages.append(str(info.value))
    assert messages[1] == messages[0]


# -- texts and small public helpers, compared with torch's exactly ------------------------------


def _same_error(make):
    """Both libraries raise the same type with the same text."""
    with pytest.raises(Exception) as t_err:
        make(torch)
    with pytest.raises(Exception) as e_err:
        make(ember)
    assert type(e_err.value) is type(t_err.value)
    assert str(e_err.value) == str(t_err.value)


@pytest.mark.parametrize("make", [
    lambda L: L.nn.LSTM(3, 4)(L.zeros(5, 3), (L.zeros(1, 4), L.zeros(1, 1, 4))),
    lambda L: L.nn.LSTM(3, 4)(L.zeros(5, 2, 3), (L.zeros(1, 2, 4), L.zeros(2, 4))),
    lambda L: L.nn.GRU(3, 4)(L.zeros(5, 3), L.zeros(1, 1, 4)),
    lambda L: L.nn.RNN(3, 4)(L.zeros(5, 2, 3), L.zeros(2, 4)),
    lambda L: L.nn.RNN(3, 4)(L.zeros(2, 2, 5, 3)),
    lambda L: L.nn.LSTMCell(3, 4)(L.zeros(2, 3), (L.zeros(2, 4), L.zeros(1, 2, 4))),
    lambda L: L.nn.RNNCell(3, 4)(L.zeros(2, 3), L.zeros(1, 2, 4)),
    lambda L: L.nn.GRUCell(3, 4)(L.zeros(2, 3), L.zeros(3, 4)),
    lambda L: L.nn.RNNCell(3, 4)(L.zeros(2, 3), L.zeros(2, 5)),
    lambda L: L.nn.RNNCell(3, 4, nonlinearity="gelu")(L.zeros(2, 3)),
    lambda L: L.nn.LSTM(3, 4, bias=1),
    lambda L: L.nn.GRU(3, 4, batch_first="yes"),
    lambda L: L.nn.LSTM(3, 4, proj_size=-1),
    lambda L: L.nn.RNN(3, 4, dropout=True),
    lambda L: L.nn.RNN(3, 4, 1, "sigmoid"),
    lambda L: L.nn.RNN(3, 0),
])
def test_error_texts_match_torch(make):
    _same_error(make)


def test_dropout_with_one_layer_warns_like_torch():
    with pytest.warns(UserWarning) as t_rec:
        torch.nn.GRU(3, 4, dropout=0.5)
    with pytest.warns(UserWarning) as e_rec:
        ember.nn.GRU(3, 4, dropout=0.5)
    assert str(e_rec[0].message) == str(t_rec[0].message)


@pytest.mark.parametrize("name,args,kwargs", [
    ("RNN", (4, 6), {"bidirectional": 0}), ("RNN", (4, 6, 2, "relu"), {"dropout": 0.25}),
    ("LSTM", (4, 6), {"batch_first": True, "proj_size": 2, "bias": False}),
    ("RNNCell", (3, 5), {"nonlinearity": "relu", "bias": False}), ("LSTMCell", (3, 5), {}),
])
def test_reprs_match_torch(name, args, kwargs):
    assert repr(getattr(ember.nn, name)(*args, **kwargs)) == \
        repr(getattr(torch.nn, name)(*args, **kwargs))


def test_public_state_helpers_match_torch():
    """permute_hidden and the expected state sizes, as user subclasses call them."""
    order = [2, 0, 1]
    h, c = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 3, 5))
    results = []
    for lib in (torch, ember):
        mod = lib.nn.LSTM(3, 5, bidirectional=True, proj_size=4)
        packed_sizes = lib.tensor([3, 2, 1])
        x = lib.zeros(7, 3)
        permuted = mod.permute_hidden([lib.tensor(h), lib.tensor(c)], lib.tensor(order))
        results.append((
            [np.asarray(p.tolist()) for p in permuted], type(permuted).__name__,
            tuple(mod.get_expected_hidden_size(x, packed_sizes)),
            tuple(mod.get_expected_cell_size(x, packed_sizes)),
            tuple(lib.nn.GRU(3, 2, batch_first=True).get_expected_hidden_size(
                lib.zeros(6, 4, 3), None)),
            mod.permute_hidden(None, None)))
    (t_parts, *t_rest), (e_parts, *e_rest) = results
    assert e_rest == t_rest
    for e_part, t_part in zip(e_parts, t_parts):
        np.testing.assert_array_equal(e_part, t_part)
