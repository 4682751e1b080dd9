"""Dynamic quantization (quantize_dynamic) against PyTorch's fbgemm kernels.

Tolerance: ember's int8 weights and per-batch activation parameters equal PyTorch's
exactly (asserted below), and the int32 sums are exact on both sides; what can differ is
the float32 rescaling order (acc * (x_scale * w_scale) + bias), at most a few ulps.
Measured: max |ember - torch| <= 4.8e-7 on outputs of magnitude ~10, so assert_close's
float32 defaults (rtol 1.3e-6, atol 1e-5) hold without loosening.
"""

import itertools

import numpy as np
import pytest
import torch
from oracle import host_errors_alike

import ember
import ember.ao.quantization as eq

pytestmark = [pytest.mark.filterwarnings("ignore:.*quantized tensor creation functions"),
              pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated"),
              pytest.mark.filterwarnings("ignore:TypedStorage is deprecated")]
RNG = np.random.default_rng(11)


def _pair(sizes, bias=True):
    """The same float MLP in torch and ember (weights copied from torch's)."""
    layers_t, layers_e = [], []
    for i, (k, n) in enumerate(itertools.pairwise(sizes)):
        t = torch.nn.Linear(k, n, bias=bias)
        e = ember.nn.Linear(k, n, bias=bias)
        e.weight.data = ember.tensor(t.weight.detach().numpy())
        if bias:
            e.bias.data = ember.tensor(t.bias.detach().numpy())
        layers_t.append(t)
        layers_e.append(e)
        if i < len(sizes) - 2:
            layers_t.append(torch.nn.ReLU())
            layers_e.append(ember.nn.ReLU())
    return torch.nn.Sequential(*layers_t), ember.nn.Sequential(*layers_e)


def _close(e, t):
    torch.testing.assert_close(torch.from_numpy(e.detach().numpy()), t.detach())


@pytest.mark.parametrize("sizes,batch", [
    ((4, 3, 2), (2,)), ((64, 32, 10), (16,)), ((300, 40), (3, 5)), ((1500, 20), (4,)),
])
@pytest.mark.parametrize("bias", [True, False])
def test_quantize_dynamic_matches_torch(sizes, batch, bias):
    tm, em = _pair(sizes, bias)
    tq = torch.ao.quantization.quantize_dynamic(tm, {torch.nn.Linear}, dtype=torch.qint8)
    eqm = eq.quantize_dynamic(em, {ember.nn.Linear}, dtype=ember.qint8)
    assert repr(eqm) == repr(tq)
    for t_layer, e_layer in zip(tq, eqm):
        if isinstance(t_layer, torch.nn.ReLU):
            continue
        tw, ew = t_layer.weight(), e_layer.weight()
        np.testing.assert_array_equal(ew.int_repr().numpy(), tw.int_repr().numpy())
        assert ew.q_scale() == tw.q_scale() and ew.q_zero_point() == tw.q_zero_point()
    for scale in (1.0, 30.0, 1e-3):
        x = (RNG.standard_normal(batch + (sizes[0],)) * scale).astype(np.float32)
        _close(eqm(ember.tensor(x)), tq(torch.tensor(x)))
    # the float model is untouched (inplace=False deep-copies)
    assert type(em[0]) is ember.nn.Linear


def test_per_channel_and_default_spec():
    tm, em = _pair((20, 12, 6))
    tq = torch.ao.quantization.quantize_dynamic(
        tm, {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig})
    eqm = eq.quantize_dynamic(em, {ember.nn.Linear: eq.per_channel_dynamic_qconfig})
    assert repr(eqm) == repr(tq)
    tw, ew = tq[0].weight(), eqm[0].weight()
    np.testing.assert_array_equal(ew.int_repr().numpy(), tw.int_repr().numpy())
    np.testing.assert_array_equal(ew.q_per_channel_scales().numpy(),
                                  tw.q_per_channel_scales().numpy())
    x = RNG.standard_normal((7, 20)).astype(np.float32)
    _close(eqm(ember.tensor(x)), tq(torch.tensor(x)))
    # qconfig_spec=None quantizes every Linear with default_dynamic_qconfig
    e_default = eq.quantize_dynamic(em)
    t_default = torch.ao.quantization.quantize_dynamic(tm)
    _close(e_default(ember.tensor(x)), t_default(torch.tensor(x)))


def test_float16_dynamic():
    tm, em = _pair((10, 5))
    tq = torch.ao.quantization.quantize_dynamic(tm, {torch.nn.Linear}, dtype=torch.float16)
    eqm = eq.quantize_dynamic(em, {ember.nn.Linear}, dtype=ember.float16)
    assert repr(eqm) == repr(tq)
    x = RNG.standard_normal((3, 10)).astype(np.float32)
    _close(eqm(ember.tensor(x)), tq(torch.tensor(x)))


def test_submodule_names_and_state_dict():
    class Net(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = ember.nn.Linear(6, 4)
            self.fc2 = ember.nn.Linear(4, 2)

        def forward(self, x):
            return self.fc2(self.fc1(x).relu())

    net = Net()
    only_fc2 = eq.quantize_dynamic(net, {"fc2": eq.default_dynamic_qconfig})
    assert type(only_fc2.fc1) is ember.nn.Linear
    assert type(only_fc2.fc2).__name__ == "Linear" and only_fc2.fc2._get_name() == \
        "DynamicQuantizedLinear"
    tq = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(torch.nn.Linear(6, 4)))
    eqm = eq.quantize_dynamic(ember.nn.Sequential(ember.nn.Linear(6, 4)))
    t_sd, e_sd = tq.state_dict(), eqm.state_dict()
    assert list(e_sd) == list(t_sd)
    assert e_sd["0._packed_params.dtype"] is ember.qint8
    assert e_sd["0.scale"].dtype is ember.float32 and e_sd["0.zero_point"].dtype is ember.int64
    weight, bias = e_sd["0._packed_params._packed_params"]
    assert weight.is_quantized and bias.shape == (4,)
    # load into a fresh quantized module: same outputs
    fresh = eq.quantize_dynamic(ember.nn.Sequential(ember.nn.Linear(6, 4)))
    fresh.load_state_dict(e_sd)
    x = ember.randn(3, 6)
    np.testing.assert_array_equal(fresh(x).numpy(), eqm(x).numpy())


def test_errors():
    with pytest.raises(RuntimeError, match="Unknown dtype specified for quantize_dynamic"):
        eq.quantize_dynamic(ember.nn.Linear(2, 2), {ember.nn.Linear}, dtype=ember.int8)
    with pytest.raises(ValueError, match="QConfig received observer instance"):
        eq.QConfig(activation=eq.MinMaxObserver(), weight=eq.default_weight_observer)
    with pytest.raises(ValueError, match="QConfig received observer instance"):
        torch.ao.quantization.QConfig(activation=torch.ao.quantization.MinMaxObserver(),
                                      weight=torch.ao.quantization.default_weight_observer)


def test_torch_quantization_alias():
    import ember.quantization as old

    assert old.quantize_dynamic is eq.quantize_dynamic
    assert old.QuantStub is eq.QuantStub and old.default_qconfig is eq.default_qconfig
    assert old.MinMaxObserver is eq.observer.MinMaxObserver


def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(256, 128), lib.nn.ReLU(), lib.nn.Linear(128, 10))


def test_checkpoints_round_trip_with_torch_and_shrink():
    """A quantized state_dict saved by ember loads into torch's quantized model (and the
    reverse) with the same outputs; it is ~3.6x smaller than the float one."""
    import io

    em = eq.quantize_dynamic(_mlp(ember))
    saved = io.BytesIO()
    ember.save(em.state_dict(), saved)
    float_saved = io.BytesIO()
    ember.save(_mlp(ember).state_dict(), float_saved)
    assert len(saved.getvalue()) * 3.5 < len(float_saved.getvalue())
    saved.seek(0)
    t_sd = torch.load(saved, weights_only=True)
    tm = torch.ao.quantization.quantize_dynamic(_mlp(torch))
    tm.load_state_dict(t_sd)
    assert t_sd["0._packed_params._packed_params"][0].dtype == torch.qint8
    x = RNG.standard_normal((3, 256)).astype(np.float32)
    _close(em(ember.tensor(x)), tm(torch.tensor(x)))
    # and back: torch's own checkpoint into ember
    t_saved = io.BytesIO()
    torch.save(tm.state_dict(), t_saved)
    assert abs(len(t_saved.getvalue()) - len(saved.getvalue())) < 2048
    t_saved.seek(0)
    e_sd = ember.load(t_saved)
    em2 = eq.quantize_dynamic(_mlp(ember))
    em2.load_state_dict(e_sd)
    np.testing.assert_array_equal(em2(ember.tensor(x)).numpy(), em(ember.tensor(x)).numpy())
    # per-channel weights travel too
    pc = eq.quantize_dynamic(_mlp(ember), {ember.nn.Linear: eq.per_channel_dynamic_qconfig})
    buf = io.BytesIO()
    ember.save(pc.state_dict(), buf)
    buf.seek(0)
    w = torch.load(buf, weights_only=True)["0._packed_params._packed_params"][0]
    np.testing.assert_array_equal(w.int_repr().numpy(), pc[0].weight().int_repr().numpy())
    np.testing.assert_array_equal(w.q_per_channel_scales().numpy(),
                                  pc[0].weight().q_per_channel_scales().numpy())


def test_namespaces_need_no_extra_import():
    import subprocess
    import sys

    code = ("import ember; ember.nn.quantized.dynamic.Linear; ember.ao.quantization.QuantStub;"
            " ember.quantization.quantize_dynamic")
    subprocess.run([sys.executable, "-c", code], check=True)


def _recurrent_pair(kind, *args, **kwargs):
    """The same float recurrent module in torch and ember (ember's weights torch's)."""
    t = getattr(torch.nn, kind)(*args, **kwargs)
    e = getattr(ember.nn, kind)(*args, **kwargs)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return t, e


def _states(kind, kwargs, batch):
    """Random initial states of the right shapes (both libraries' copies)."""
    if "Cell" in kind:
        shape = (batch, 4)
    else:
        shape = (kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1),
                 batch, 4)
    arrays = [RNG.standard_normal(shape).astype(np.float32)
              for _ in range(2 if "LSTM" in kind else 1)]
    t, e = [torch.tensor(a) for a in arrays], [ember.tensor(a) for a in arrays]
    return (tuple(t), tuple(e)) if "LSTM" in kind else (t[0], e[0])


def _close_tree(e, t):
    if isinstance(t, tuple):
        assert isinstance(e, tuple) and len(e) == len(t)
        for a, b in zip(e, t):
            _close_tree(a, b)
    else:
        _close(e, t)


RECURRENT_CASES = [
    ("LSTM", {}), ("LSTM", {"num_layers": 2, "batch_first": True}),
    ("LSTM", {"bidirectional": True, "num_layers": 2}),
    ("GRU", {}), ("GRU", {"num_layers": 2, "bidirectional": True}),
    ("GRU", {"batch_first": True}),
    ("LSTMCell", {}), ("GRUCell", {}), ("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
]


@pytest.mark.parametrize("dtype", ["qint8", "float16"])
@pytest.mark.parametrize("kind, kwargs", RECURRENT_CASES)
def test_dynamic_recurrent_matches_torch(kind, kwargs, dtype):
    """Same packed weights (int8 equal to torch's; float16 rounded alike), the
    input-hidden product over the whole sequence and the hidden-hidden product per step
    as PyTorch's quantized RNNs (7-bit activations for the cells too): outputs and states
    within assert_close's float32 defaults (measured <= 2.4e-7)."""
    t, e = _recurrent_pair(kind, 5, 4, **kwargs)
    spec_t, spec_e = {getattr(torch.nn, kind)}, {getattr(ember.nn, kind)}
    tq = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(t), spec_t,
                                                dtype=getattr(torch, dtype))
    eqm = eq.quantize_dynamic(ember.nn.Sequential(e), spec_e, dtype=getattr(ember, dtype))
    assert repr(eqm) == repr(tq)
    t_weights, e_weights = tq[0].get_weight(), eqm[0].get_weight()
    assert list(e_weights) == list(t_weights)
    for name, tw in t_weights.items():
        ew = e_weights[name]
        if dtype == "qint8":
            np.testing.assert_array_equal(ew.int_repr().numpy(), tw.int_repr().numpy())
            assert ew.q_scale() == tw.q_scale()
        else:
            assert ew.dtype is ember.float32
            np.testing.assert_array_equal(ew.numpy(), tw.numpy())
    for name, tb in tq[0].get_bias().items():
        _close(eqm[0].get_bias()[name], tb)
    batch = 3
    shape = (batch, 5) if "Cell" in kind else (
        (batch, 6, 5) if kwargs.get("batch_first") else (6, batch, 5))
    x = (RNG.standard_normal(shape) * 3).astype(np.float32)
    t_hx, e_hx = _states(kind, kwargs, batch)
    _close_tree(eqm[0](ember.tensor(x)), tq[0](torch.tensor(x)))
    _close_tree(eqm[0](ember.tensor(x), e_hx), tq[0](torch.tensor(x), t_hx))


class _Recurrents:
    """One of each module kind quantize_dynamic knows, as attributes of one model."""

    @staticmethod
    def build(lib):
        model = lib.nn.Module()
        model.linear = lib.nn.Linear(5, 4)
        model.lstm, model.gru = lib.nn.LSTM(5, 4), lib.nn.GRU(5, 4, num_layers=2)
        model.lstm_cell, model.gru_cell = lib.nn.LSTMCell(5, 4), lib.nn.GRUCell(5, 4)
        model.rnn_cell = lib.nn.RNNCell(5, 4, nonlinearity="relu")
        model.embedding = lib.nn.Embedding(10, 3)
        return model


@pytest.mark.parametrize("dtype", ["qint8", "float16"])
def test_default_spec_converts_torchs_module_kinds(dtype):
    """qconfig_spec=None: Linear, LSTM, GRU and the three cells for qint8 and float16,
    as PyTorch's defaults (the embedding stays float: it is quint8's)."""
    tm, em = _Recurrents.build(torch), _Recurrents.build(ember)
    em.load_state_dict({k: ember.tensor(v.detach().numpy())
                        for k, v in tm.state_dict().items()})
    tq = torch.ao.quantization.quantize_dynamic(tm, dtype=getattr(torch, dtype))
    eqm = eq.quantize_dynamic(em, dtype=getattr(ember, dtype))
    names = {name: child._get_name() for name, child in tq.named_children()}
    assert {name: child._get_name() for name, child in eqm.named_children()} == names
    assert names["gru_cell"] == "DynamicQuantizedGRUCell" and names["embedding"] == "Embedding"
    x = RNG.standard_normal((2, 5)).astype(np.float32)
    for name in ("linear", "lstm_cell", "gru_cell", "rnn_cell"):
        _close_tree(getattr(eqm, name)(ember.tensor(x)), getattr(tq, name)(torch.tensor(x)))
    seq = RNG.standard_normal((4, 2, 5)).astype(np.float32)
    for name in ("lstm", "gru"):
        _close_tree(getattr(eqm, name)(ember.tensor(seq)), getattr(tq, name)(torch.tensor(seq)))


def _quantized(lib, kind, **kwargs):
    module = getattr(lib.nn, kind)(5, 4, **kwargs)
    return lib.ao.quantization.quantize_dynamic(lib.nn.Sequential(module), {type(module)})[0]


RECURRENT_ERRORS = {
    # PyTorch's dynamic LSTM/GRU take batched input only (the float ones also unbatched)
    "lstm_unbatched": lambda lib: _quantized(lib, "LSTM")(lib.zeros(6, 5)),
    "gru_unbatched": lambda lib: _quantized(lib, "GRU")(lib.zeros(6, 5)),
    "lstm_input_size": lambda lib: _quantized(lib, "LSTM")(lib.zeros(6, 3, 2)),
    "lstm_hidden_shape": lambda lib: _quantized(lib, "LSTM")(
        lib.zeros(6, 3, 5), (lib.zeros(1, 3, 4), lib.zeros(1, 2, 4))),
    "gru_hidden_shape": lambda lib: _quantized(lib, "GRU", batch_first=True)(
        lib.zeros(3, 6, 5), lib.zeros(1, 6, 4)),
    "cell_input_size": lambda lib: _quantized(lib, "GRUCell")(lib.zeros(3, 2)),
    "cell_batch": lambda lib: _quantized(lib, "LSTMCell")(
        lib.zeros(3, 5), (lib.zeros(3, 4), lib.zeros(2, 4))),
    "cell_hidden_size": lambda lib: _quantized(lib, "RNNCell")(lib.zeros(3, 5),
                                                               lib.zeros(3, 2)),
    "no_bias": lambda lib: _quantized(lib, "GRU", bias=False),
    "cell_no_bias": lambda lib: _quantized(lib, "LSTMCell", bias=False),
    "no_qconfig": lambda lib: lib.ao.nn.quantized.dynamic.GRU.from_float(lib.nn.GRU(5, 4)),
    "not_an_rnn": lambda lib: lib.ao.nn.quantized.dynamic.LSTM.from_float(
        lib.nn.RNN(5, 4)),
    "dropout_range": lambda lib: lib.ao.nn.quantized.dynamic.GRU(5, 4, dropout=1.5),
}


@pytest.mark.parametrize("name", list(RECURRENT_ERRORS))
def test_recurrent_errors_match_torch(name):
    host_errors_alike(RECURRENT_ERRORS[name])


def test_directly_built_recurrent_modules_run_like_torchs():
    """Built without from_float (placeholder randn weights, as PyTorch's): they run and
    give outputs of torch's shapes."""
    x, seq = ember.randn(3, 5), ember.randn(6, 3, 5)
    dynamic = ember.nn.quantized.dynamic
    assert dynamic.LSTMCell(5, 4)(x)[1].shape == (3, 4)
    assert dynamic.GRU(5, 4, dtype=ember.float16)(seq)[1].shape == (1, 3, 4)
    out, (h, c) = dynamic.LSTM(5, 4, num_layers=2, bidirectional=True)(seq)
    assert out.shape == (6, 3, 8) and h.shape == c.shape == (4, 3, 4)
    assert repr(dynamic.RNNCell(5, 4, bias=False)) == \
        repr(torch.ao.nn.quantized.dynamic.RNNCell(5, 4, bias=False))


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_dropout_between_layers_in_training_like_torch(kind):
    """In training mode the layer stack drops between layers, as aten's: with p=1 the
    second layer sees zeros, so the outputs are deterministic and torch's."""
    t, e = _recurrent_pair(kind, 5, 4, num_layers=2, dropout=1.0)
    tq = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(t), {type(t)})[0].train()
    eqm = eq.quantize_dynamic(ember.nn.Sequential(e), {type(e)})[0].train()
    x = RNG.standard_normal((4, 2, 5)).astype(np.float32)
    _close_tree(eqm(ember.tensor(x)), tq(torch.tensor(x)))
    eqm.eval()  # and without dropout the outputs differ
    assert not np.allclose(eqm(ember.tensor(x))[0].numpy(), tq(torch.tensor(x))[0].numpy())
