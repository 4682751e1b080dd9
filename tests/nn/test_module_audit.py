"""Audit of issue 3's nn.Module items against PyTorch 2.13: what the other module tests do
not already pin down (default initialisation of every layer, import paths, state_dict
keys of whole architectures, register_module, data_parallel, Flatten/Unflatten grads)."""

from __future__ import annotations

import importlib
import inspect
import os
import sys

import numpy as np
import pytest
import torch
from scipy import stats

sys.path.insert(0, os.path.dirname(__file__))
from module_oracle import check_module
from oracle import assert_same, randn

import ember

# ---------------------------------------------------------------------------
# Default initialisation: same distribution as PyTorch for every layer's parameters
# ---------------------------------------------------------------------------

LAYERS = [
    "nn.Linear(300, 200)", "nn.Bilinear(30, 40, 50)", "nn.LazyLinear(20)",
    "nn.Embedding(300, 64, padding_idx=3)", "nn.EmbeddingBag(300, 64)", "nn.PReLU(8)",
    "nn.Conv1d(16, 32, 5)", "nn.Conv2d(16, 32, 3, groups=2)", "nn.Conv3d(4, 8, 3)",
    "nn.ConvTranspose1d(16, 32, 3)", "nn.ConvTranspose2d(16, 32, 3, groups=4)",
    "nn.ConvTranspose3d(4, 8, 2)", "nn.BatchNorm2d(64)", "nn.LayerNorm(64)",
    "nn.GroupNorm(4, 64)", "nn.InstanceNorm2d(64, affine=True)", "nn.RNN(32, 64, 2)",
    "nn.LSTM(32, 64, proj_size=16)", "nn.GRU(32, 64, bidirectional=True)",
    "nn.LSTMCell(32, 64)", "nn.GRUCell(32, 64)", "nn.RNNCell(32, 64)",
    "nn.MultiheadAttention(64, 4)",
    "nn.MultiheadAttention(64, 4, kdim=32, vdim=16, add_bias_kv=True)",
    "nn.TransformerEncoderLayer(64, 4, 128)",
]


def _materialise(lib, module):
    if "Lazy" in type(module).__name__:
        module(lib.ones(2, 50))
    return module


@pytest.mark.parametrize("spec", LAYERS)
def test_default_init_distribution_matches_torch(spec):
    """Two-sample Kolmogorov-Smirnov test per parameter, plus the uniform bound."""
    torch.manual_seed(0)
    ember.manual_seed(0)
    t_mod = _materialise(torch, eval("torch." + spec))
    e_mod = _materialise(ember, eval("ember." + spec))
    t_params = dict(t_mod.named_parameters())
    e_params = dict(e_mod.named_parameters())
    assert list(e_params) == list(t_params)
    for name, tp in t_params.items():
        t_vals = tp.detach().numpy().ravel().astype(np.float64)
        e_vals = e_params[name].detach().numpy().ravel().astype(np.float64)
        assert e_vals.shape == t_vals.shape, name
        if np.all(t_vals == t_vals[0]):  # constant init (ones, zeros, 0.25)
            np.testing.assert_array_equal(e_vals, t_vals, err_msg=name)
            continue
        # bounded inits never exceed torch's bound by more than sampling slack
        assert np.abs(e_vals).max() <= np.abs(t_vals).max() * 1.25 + 1e-6, name
        p_value = stats.ks_2samp(t_vals, e_vals).pvalue
        assert p_value > 1e-4, f"{name}: KS p={p_value:.2g}"


def test_embedding_padding_row_is_zero_and_bag_padding():
    for lib in (torch, ember):
        emb = lib.nn.Embedding(10, 4, padding_idx=-2)
        assert emb.padding_idx == 8
        assert float(emb.weight[8].abs().sum()) == 0.0
        bag = lib.nn.EmbeddingBag(10, 4, padding_idx=1)
        assert float(bag.weight[1].abs().sum()) == 0.0


# ---------------------------------------------------------------------------
# Import paths: every class of torch.nn.modules.<file> importable from ember's same path
# ---------------------------------------------------------------------------

# torch files/classes that issue 3 and 4 do not name (deprecated or newer than the issues)
_OUT_OF_SCOPE = {"adaptive", "utils", "Container", "NLLLoss2d"}


def _torch_module_files():
    import torch.nn.modules as tm

    names = []
    for sub in sorted(dir(tm)):
        mod = getattr(tm, sub)
        if inspect.ismodule(mod) and mod.__name__.startswith("torch.nn.modules.") \
                and hasattr(mod, "__all__") and sub not in _OUT_OF_SCOPE:
            names.append(sub)
    return names


@pytest.mark.parametrize("sub", _torch_module_files())
def test_every_class_importable_from_torch_module_path(sub):
    t_mod = importlib.import_module("torch.nn.modules." + sub)
    e_mod = importlib.import_module("ember.nn.modules." + sub)
    missing = [n for n in t_mod.__all__ if n not in _OUT_OF_SCOPE and not hasattr(e_mod, n)]
    assert not missing
    for name in t_mod.__all__:
        if name in _OUT_OF_SCOPE or not hasattr(ember.nn, name):
            continue
        assert getattr(e_mod, name) is getattr(ember.nn, name), name


def test_nn_namespace_and_functional_names_exist():
    skip = _OUT_OF_SCOPE | {"AdaptiveLogSoftmaxWithLoss"}
    classes = [n for n in dir(torch.nn) if not n.startswith("_") and n not in skip
               and inspect.isclass(getattr(torch.nn, n))]
    assert [n for n in classes if not hasattr(ember.nn, n)] == []
    named = ["one_hot", "pad", "normalize", "cosine_similarity", "pairwise_distance",
             "embedding", "embedding_bag", "dropout", "dropout1d", "dropout2d", "dropout3d",
             "alpha_dropout", "feature_alpha_dropout", "softmax", "log_softmax", "softmin",
             "linear", "bilinear", "prelu", "rrelu", "glu", "gelu", "mish", "silu",
             "hardswish", "hardsigmoid", "logsigmoid", "softsign", "tanhshrink", "threshold"]
    assert [n for n in named if not hasattr(ember.nn.functional, n)] == []


# ---------------------------------------------------------------------------
# state_dict keys and shapes equal PyTorch's for the same architecture
# ---------------------------------------------------------------------------

def _cnn(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(8, 4, 3, bias=False),
                         nn.BatchNorm2d(4, affine=False), nn.GroupNorm(2, 4),
                         nn.Flatten(), nn.Linear(36, 5),
                         nn.LayerNorm(5))


ARCHITECTURES = {
    "cnn": _cnn,
    "rnns": lambda lib: lib.nn.ModuleDict({
        "lstm": lib.nn.LSTM(4, 6, num_layers=2, bidirectional=True, proj_size=3),
        "gru": lib.nn.GRU(4, 6, bias=False), "rnn": lib.nn.RNN(4, 5, nonlinearity="relu"),
        "cell": lib.nn.LSTMCell(3, 2)}),
    "attention": lambda lib: lib.nn.ModuleList([
        lib.nn.MultiheadAttention(8, 2), lib.nn.MultiheadAttention(8, 2, kdim=4, vdim=6),
        lib.nn.MultiheadAttention(8, 2, add_bias_kv=True, bias=False)]),
    "transformer": lambda lib: lib.nn.Transformer(8, 2, 1, 1, 16),
    "embeddings": lambda lib: lib.nn.Sequential(
        lib.nn.Embedding(10, 3), lib.nn.EmbeddingBag(10, 3, mode="max"), lib.nn.PReLU(3),
        lib.nn.Bilinear(2, 3, 4), lib.nn.InstanceNorm1d(3, affine=True,
                                                        track_running_stats=True)),
    "norms_no_stats": lambda lib: lib.nn.Sequential(
        lib.nn.BatchNorm1d(3, track_running_stats=False), lib.nn.SyncBatchNorm(3),
        lib.nn.BatchNorm3d(2, momentum=None), lib.nn.LocalResponseNorm(2)),
}


# the architectures holding a batch/instance/layer norm: torch 2.11 prints those without bias=
NORM_BIAS = pytest.mark.oracle_torch("2.13", "torch 2.11's norm repr lacks bias=")


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=NORM_BIAS if name in ("cnn", "transformer", "embeddings",
                                                    "norms_no_stats") else ())
    for name in ARCHITECTURES])
def test_state_dict_keys_shapes_and_dtypes_match_torch(name):
    t_sd = ARCHITECTURES[name](torch).state_dict()
    e_sd = ARCHITECTURES[name](ember).state_dict()
    assert [(k, tuple(v.shape), str(v.dtype).split(".")[-1]) for k, v in e_sd.items()] == \
        [(k, tuple(v.shape), str(v.dtype).split(".")[-1]) for k, v in t_sd.items()]
    assert repr(ARCHITECTURES[name](ember)) == repr(ARCHITECTURES[name](torch))


# ---------------------------------------------------------------------------
# Registration aliases, data_parallel, Flatten/Unflatten, Identity
# ---------------------------------------------------------------------------

def test_register_module_and_add_module_match_torch():
    def run(lib):
        m = lib.nn.Module()
        m.register_module("a", lib.nn.Linear(1, 2))
        m.add_module("b", None)
        m.register_parameter("p", lib.nn.Parameter(lib.ones(1)))
        m.register_buffer("q", lib.zeros(2))
        m.register_buffer("r", lib.zeros(1), persistent=False)
        keys = list(m.state_dict())
        del m.a
        return keys, list(m._modules), repr(m), sorted(k for k in dir(m) if len(k) == 1)

    assert run(ember) == run(torch)


def test_data_parallel_function_and_module_run_on_one_device(monkeypatch):
    # DataParallel's placement follows the GPUs it sees: ember sees the ones torch sees (a
    # CuPy double would give ember two that torch has not)
    monkeypatch.setattr(ember.cuda, "is_available", torch.cuda.is_available)
    t_lin, e_lin = torch.nn.Linear(3, 2), ember.nn.Linear(3, 2)
    e_lin.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in
                           t_lin.state_dict().items()})
    x = randn(4, 3)
    t_out = t_lin(torch.tensor(x))  # torch's data_parallel wants an accelerator
    e_out = ember.nn.parallel.data_parallel(e_lin, ember.tensor(x))
    assert_same(e_out, t_out, 1e-6, 1e-6)
    e_dp = ember.nn.DataParallel(e_lin)
    assert_same(e_dp(ember.tensor(x)), t_out, 1e-6, 1e-6)
    t_dp = torch.nn.DataParallel(t_lin)  # on a CPU-only machine: runs the module as is
    assert_same(e_dp(ember.tensor(x)), t_dp(torch.tensor(x)), 1e-6, 1e-6)
    assert e_dp.module is e_lin
    assert list(e_dp.state_dict()) == list(t_dp.state_dict())


FLATTEN_MODULES = [
    ("flatten", lambda lib: lib.nn.Flatten(), (2, 3, 4, 2)),
    ("flatten_0_2", lambda lib: lib.nn.Flatten(0, 2), (2, 3, 4, 2)),
    ("flatten_neg", lambda lib: lib.nn.Flatten(-3, -2), (2, 3, 4, 2)),
    ("unflatten", lambda lib: lib.nn.Unflatten(1, (2, 3)), (4, 6, 2)),
    ("unflatten_neg1", lambda lib: lib.nn.Unflatten(-1, (2, -1)), (4, 6)),
    ("identity_args", lambda lib: lib.nn.Identity(54, unused="x"), (3, 2)),
    ("seq", lambda lib: lib.nn.Sequential(lib.nn.Flatten(), lib.nn.Unflatten(1, (4, 6))),
     (2, 3, 8)),
]


@pytest.mark.parametrize("name,make,shape", FLATTEN_MODULES, ids=[c[0] for c in FLATTEN_MODULES])
def test_flatten_unflatten_identity_forward_backward(name, make, shape):
    check_module(make, randn(*shape))
    assert repr(make(ember)) == repr(make(torch))


# ---------------------------------------------------------------------------
# Every issue-3 layer with torch's parameters copied in: outputs, input and parameter
# gradients, in train and in eval mode
# ---------------------------------------------------------------------------

def _spread(*shape):
    """Values away from the activations' kinks (0, +-0.5, +-1, +-3, 6)."""
    x = randn(*shape).astype(np.float64) * 2.5
    x = np.where(np.abs(np.round(x * 2) - x * 2) < 0.02, x + 0.05, x)
    return x.astype(np.float32)


DETERMINISTIC_LAYERS = [
    ("Linear(6, 4)", (3, 6)), ("Linear(6, 4, bias=False)", (2, 5, 6)),
    ("Bilinear(6, 3, 4)", (3, 6), (3, 3)), ("LazyLinear(4)", (3, 6)),
    ("CosineSimilarity(dim=1, eps=1e-6)", (3, 6), (3, 6)),
    ("PairwiseDistance(p=1.5, keepdim=True)", (3, 6), (3, 6)),
    ("Identity()", (3, 6)), ("Flatten()", (2, 3, 4)), ("Unflatten(1, (2, 3))", (4, 6)),
    ("ReLU()", (3, 6)), ("ReLU6()", (3, 6)), ("LeakyReLU(0.3)", (3, 6)),
    ("PReLU(6, 0.2)", (3, 6)), ("ELU(0.7)", (3, 6)), ("SELU()", (3, 6)),
    ("CELU(1.5)", (3, 6)), ("GELU()", (3, 6)), ("GELU(approximate='tanh')", (3, 6)),
    ("SiLU()", (3, 6)), ("Mish()", (3, 6)), ("Sigmoid()", (3, 6)), ("Tanh()", (3, 6)),
    ("Hardtanh(-2.0, 1.5)", (3, 6)), ("Hardsigmoid()", (3, 6)), ("Hardswish()", (3, 6)),
    ("Softplus(beta=2, threshold=4)", (3, 6)), ("Softsign()", (3, 6)),
    ("Softmax(dim=1)", (3, 6)), ("Softmin(dim=0)", (3, 6)), ("LogSoftmax(dim=-1)", (3, 6)),
    ("Softmax2d()", (2, 3, 2, 2)), ("Threshold(0.2, -1.0)", (3, 6)), ("GLU(dim=-1)", (3, 6)),
    ("LogSigmoid()", (3, 6)), ("Tanhshrink()", (3, 6)), ("Softshrink(0.7)", (3, 6)),
    ("Hardshrink(0.4)", (3, 6)), ("MultiheadAttention(6, 2, batch_first=True)", (2, 3, 6)),
]


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("spec", DETERMINISTIC_LAYERS, ids=[s[0] for s in DETERMINISTIC_LAYERS])
def test_layer_train_and_eval_match_torch(spec, train):
    name, *shapes = spec
    inputs = [_spread(*s) for s in shapes]
    if name.startswith("MultiheadAttention"):
        inputs = inputs * 3  # query, key, value

    def make(lib):
        module = eval("lib.nn." + name, {"lib": lib})
        if name.startswith("Lazy"):
            with lib.no_grad():
                module(lib.zeros(*shapes[0]))
        return module

    e_mod, t_mod, _, _ = check_module(make, *inputs, train=train, rtol=1e-5, atol=1e-5)
    assert repr(e_mod) == repr(t_mod)


STOCHASTIC_LAYERS = ["Dropout(0.3)", "AlphaDropout(0.3)", "RReLU(0.1, 0.4)",
                     "Dropout1d(0.3)", "Dropout2d(0.3)", "Dropout3d(0.3)",
                     "FeatureAlphaDropout(0.3)"]


@pytest.mark.parametrize("name", STOCHASTIC_LAYERS)
def test_stochastic_layers_in_eval_match_torch(name):
    shape = (2, 3, 4, 2, 2) if "3d" in name else (2, 3, 4, 5)
    if "1d" in name:
        shape = (2, 3, 4)
    check_module(lambda lib: eval("lib.nn." + name, {"lib": lib}), _spread(*shape),
                 train=False)
