"""Activations and the softmax family against PyTorch: values, dtypes, gradients, errors."""

import warnings

import numpy as np
import pytest
import torch
from oracle import check, check_raises, randn

import ember


def F(lib):
    return lib.nn.functional


# Inputs spread over [-5, 5] with no element at a kink (0, +-0.5, +-1, +-3, 6).
def spread(*shape, dtype=np.float32):
    x = randn(*shape, dtype=np.float64) * 2.5
    x = np.where(np.abs(np.round(x * 2) - x * 2) < 0.02, x + 0.05, x)
    return x.astype(dtype)


UNARY = {
    "relu": lambda lib, x: F(lib).relu(x),
    "relu6": lambda lib, x: F(lib).relu6(x * 2),
    "leaky_relu": lambda lib, x: F(lib).leaky_relu(x),
    "leaky_relu_0.2": lambda lib, x: F(lib).leaky_relu(x, 0.2),
    "rrelu_eval": lambda lib, x: F(lib).rrelu(x),
    "elu": lambda lib, x: F(lib).elu(x),
    "elu_alpha": lambda lib, x: F(lib).elu(x, alpha=0.5),
    "selu": lambda lib, x: F(lib).selu(x),
    "celu": lambda lib, x: F(lib).celu(x, alpha=2.0),
    "gelu": lambda lib, x: F(lib).gelu(x),
    "gelu_tanh": lambda lib, x: F(lib).gelu(x, approximate="tanh"),
    "silu": lambda lib, x: F(lib).silu(x),
    "mish": lambda lib, x: F(lib).mish(x),
    "hardtanh": lambda lib, x: F(lib).hardtanh(x),
    "hardtanh_range": lambda lib, x: F(lib).hardtanh(x, -2.0, 3.0),
    "hardsigmoid": lambda lib, x: F(lib).hardsigmoid(x),
    "hardswish": lambda lib, x: F(lib).hardswish(x),
    "softplus": lambda lib, x: F(lib).softplus(x),
    "softplus_beta": lambda lib, x: F(lib).softplus(x, beta=2.0, threshold=3.0),
    "softplus_large": lambda lib, x: F(lib).softplus(x * 40),
    "softsign": lambda lib, x: F(lib).softsign(x),
    "logsigmoid": lambda lib, x: F(lib).logsigmoid(x),
    "logsigmoid_large": lambda lib, x: F(lib).logsigmoid(x * 100),
    "tanhshrink": lambda lib, x: F(lib).tanhshrink(x),
    "softshrink": lambda lib, x: F(lib).softshrink(x),
    "softshrink_1": lambda lib, x: F(lib).softshrink(x, 1.0),
    "hardshrink": lambda lib, x: F(lib).hardshrink(x),
    "threshold": lambda lib, x: F(lib).threshold(x, 0.7, -2.0),
    "tanh": lambda lib, x: F(lib).tanh(x),
    "sigmoid": lambda lib, x: F(lib).sigmoid(x),
    "glu": lambda lib, x: F(lib).glu(x),
    "glu_dim0": lambda lib, x: F(lib).glu(x, 0),
    "softmax_0": lambda lib, x: F(lib).softmax(x, 0),
    "softmax_-1": lambda lib, x: F(lib).softmax(x, dim=-1),
    "softmax_large": lambda lib, x: F(lib).softmax(x * 1000, dim=-1),
    "softmin": lambda lib, x: F(lib).softmin(x, 1),
    "log_softmax": lambda lib, x: F(lib).log_softmax(x, -1),
    "log_softmax_0": lambda lib, x: F(lib).log_softmax(x, 0),
    "log_softmax_large": lambda lib, x: F(lib).log_softmax(x * 1000, -1),
    "method_relu": lambda lib, x: x.relu(),
    "method_softmax": lambda lib, x: x.softmax(-1),
    "method_log_softmax": lambda lib, x: x.log_softmax(0),
    "method_hardshrink": lambda lib, x: x.hardshrink(0.3),
    "top_relu": lambda lib, x: lib.relu(x),
    "top_selu": lambda lib, x: lib.selu(x),
    "top_softmax": lambda lib, x: lib.softmax(x, 1),
}

SHAPES = [(4, 6), (2, 3, 4)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_float32(name, shape):
    check(UNARY[name], spread(*shape), atol=2e-5)


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_float64(name):
    check(UNARY[name], spread(4, 6, dtype=np.float64))


@pytest.mark.parametrize("name", ["relu", "elu", "softplus", "softmax_-1", "log_softmax",
                                  "gelu", "hardswish", "logsigmoid", "sigmoid"])
def test_unary_empty_and_noncontiguous(name):
    check(UNARY[name], np.zeros((0, 4), np.float32))
    check(lambda lib, x: UNARY[name](lib, x.t()), spread(4, 6))


@pytest.mark.parametrize("name", ["softmax_-1", "log_softmax", "softmin"])
def test_softmax_empty_reduced_dim(name):
    check(UNARY[name], np.zeros((3, 0), np.float32))

    def unrecorded(lib, x):
        with lib.no_grad():
            return UNARY[name](lib, x)

    check(unrecorded, np.zeros((3, 0), np.float32), grad=False)
    check(unrecorded, spread(3, 4), grad=False)


@pytest.mark.parametrize("name", ["relu", "elu", "selu", "gelu", "softplus", "softmax_0",
                                  "log_softmax_0", "hardswish", "logsigmoid", "tanh"])
def test_unary_scalar(name):
    check(UNARY[name], np.array(0.7, np.float32))


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "elu", "selu", "celu", "softplus",
                                  "logsigmoid", "softmax_-1", "log_softmax", "softmin",
                                  "mish", "silu", "hardswish", "glu", "relu", "leaky_relu",
                                  "softshrink", "hardtanh"])
def test_gradcheck(name):
    from ember.autograd.gradcheck import gradcheck, gradgradcheck

    x = ember.tensor(spread(3, 4, dtype=np.float64), requires_grad=True)
    assert gradcheck(lambda t: UNARY[name](ember, t), (x,))
    assert gradgradcheck(lambda t: UNARY[name](ember, t), (x,))


def test_relu_keeps_integer_dtype():
    check(lambda lib, x: F(lib).relu(x), np.array([-2, 0, 3], np.int64), grad=False)


def test_softmax_dtype_argument():
    check(lambda lib, x: F(lib).softmax(x, -1, dtype=lib.float64), spread(3, 4))
    check(lambda lib, x: F(lib).log_softmax(x, 0, dtype=lib.float64), spread(3, 4))
    check(lambda lib, x: F(lib).softmax(x, 0, dtype=lib.float32), np.array([1, 2, 3]),
          grad=False)


@pytest.mark.parametrize("shape,expected_dim", [((5,), 0), ((3, 4), 1), ((2, 3, 4), 0),
                                                 ((2, 3, 4, 5), 1)])
@pytest.mark.parametrize("name", ["softmax", "softmin", "log_softmax"])
def test_implicit_dim_warns(name, shape, expected_dim):
    x = spread(*shape)
    with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name} has been"):
        got = getattr(ember.nn.functional, name)(ember.tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda lib, t: getattr(F(lib), name)(t), x)
    import torch

    explicit = getattr(torch.nn.functional, name)(torch.from_numpy(x), expected_dim)
    np.testing.assert_allclose(got.numpy(), explicit.numpy(), rtol=1e-6, atol=1e-6)


def test_prelu_weight_gradients():
    x = spread(2, 3, 4)
    check(lambda lib, a, w: F(lib).prelu(a, w), x, randn(3))
    check(lambda lib, a, w: F(lib).prelu(a, w), x, randn(1))
    check(lambda lib, a, w: F(lib).prelu(a, w), spread(5), randn(1))
    check(lambda lib, a, w: a.prelu(w), spread(4, 3), randn(3))


@pytest.mark.parametrize("name", ["relu", "elu", "selu", "celu", "leaky_relu", "hardtanh",
                                  "relu6", "rrelu", "threshold", "silu", "mish", "hardswish",
                                  "hardsigmoid"])
def test_inplace_argument(name):
    args = {"threshold": (0.5, -1.0)}.get(name, ())

    def fn(lib, x):
        y = x * 1.5  # a non-leaf, so it may be written in place
        out = getattr(F(lib), name)(y, *args, inplace=True)
        assert out is y
        return out

    check(fn, spread(3, 4))


@pytest.mark.parametrize("name", ["relu_", "elu_", "leaky_relu_", "selu_", "celu_",
                                  "hardtanh_", "rrelu_", "threshold_"])
def test_inplace_functions(name):
    args = {"threshold_": (0.5, -1.0)}.get(name, ())

    def fn(lib, x):
        y = x * 1.5
        out = getattr(F(lib), name)(y, *args)
        assert out is y
        return out

    check(fn, spread(3, 4))


def test_inplace_methods_and_top_level():
    check(lambda lib, x: (x * 1).relu_(), spread(3, 4))
    check(lambda lib, x: lib.relu_(x * 1), spread(3, 4))
    check(lambda lib, x: lib.selu_(x * 1), spread(3, 4))


def test_inplace_on_leaf_raises():
    check_raises(lambda lib, x: F(lib).relu(x.requires_grad_(), inplace=True), spread(3))


def test_rrelu_training_slopes_within_bounds():
    x = ember.tensor(-np.abs(spread(1000)) - 0.1, requires_grad=True)
    y = ember.nn.functional.rrelu(x, 0.1, 0.3, training=True)
    slope = (y / x).detach().numpy()
    assert slope.min() >= 0.1 and slope.max() <= 0.3 and slope.std() > 0.03
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slope, rtol=1e-6)
    ember.manual_seed(7)
    first = ember.nn.functional.rrelu(x.detach(), training=True)
    ember.manual_seed(7)
    second = ember.nn.functional.rrelu(x.detach(), training=True)
    np.testing.assert_array_equal(first.numpy(), second.numpy())


ERRORS = [
    ("hardtanh_bounds", lambda lib, x: F(lib).hardtanh(x, 2.0, 1.0), "min_val cannot be"),
    ("softshrink_neg", lambda lib, x: F(lib).softshrink(x, -1.0), "lambda must be in range"),
    ("glu_odd", lambda lib, x: F(lib).glu(x), "Halving dimension must be even, but dimension"),
    ("glu_scalar", lambda lib, x: F(lib).glu(x.sum()), "glu does not support scalars"),
    ("prelu_channels", lambda lib, x: F(lib).prelu(x, lib.ones(2)), "Mismatch of parameter"),
    ("celu_zero", lambda lib, x: F(lib).celu(x, 0.0), "alpha cannot be 0 for CELU"),
    ("gelu_mode", lambda lib, x: F(lib).gelu(x, approximate="fast"), "approximate argument"),
    ("elu_long", lambda lib, x: F(lib).elu(x.long()), "not implemented for 'Long'"),
]
ERRORS += [
    (f"{name}_long", (lambda f: lambda lib, x: f(F(lib), x.long()))(fn), kernel)
    for name, fn, kernel in [
        ("softmax0", lambda F, x: F.softmax(x, 0), '"softmax_kernel_impl" not implemented'),
        ("softmax1", lambda F, x: F.softmax(x, 1), '"softmax_lastdim_kernel_impl" not'),
        ("softmin1", lambda F, x: F.softmin(x, 1), '"softmax_lastdim_kernel_impl" not'),
        ("log_softmax0", lambda F, x: F.log_softmax(x, 0), '"log_softmax_kernel_impl" not'),
        ("log_softmax1", lambda F, x: F.log_softmax(x, 1), '"log_softmax_lastdim_kernel_impl"'),
        ("gelu", lambda F, x: F.gelu(x), '"GeluKernelImpl" not implemented for'),
        ("hardsigmoid", lambda F, x: F.hardsigmoid(x), '"hardsigmoid_cpu" not implemented'),
        ("hardswish", lambda F, x: F.hardswish(x), '"hardswish_cpu" not implemented'),
        ("silu", lambda F, x: F.silu(x), '"silu_cpu" not implemented'),
        ("mish", lambda F, x: F.mish(x), '"mish_cpu" not implemented'),
        ("softshrink", lambda F, x: F.softshrink(x), '"softshrink_check" not implemented'),
        ("hardshrink", lambda F, x: F.hardshrink(x), '"hardshrink_cpu" not implemented'),
        ("leaky_relu", lambda F, x: F.leaky_relu(x), '"leaky_relu_cpu" not implemented'),
        ("glu", lambda F, x: F.glu(x[:2], 0), '"glu_cpu" not implemented'),
        ("softplus", lambda F, x: F.softplus(x), '"softplus_cpu" not implemented'),
        ("logsigmoid", lambda F, x: F.logsigmoid(x), '"log_sigmoid_cpu" not'),
    ]
]


def test_integer_inputs_that_torch_accepts():
    for fn in (lambda lib, x: F(lib).hardtanh(x), lambda lib, x: F(lib).relu6(x),
               lambda lib, x: F(lib).threshold(x, 1, 0), lambda lib, x: F(lib).softsign(x),
               lambda lib, x: F(lib).tanhshrink(x)):
        check(fn, np.array([[1, -2], [3, 8]], np.int64), grad=False)


@pytest.mark.parametrize("name,fn,match", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, fn, match):
    check_raises(fn, spread(3, 3), match=match)


# ---------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------

MODULES = [
    "ReLU()", "ReLU(inplace=True)", "ReLU6()", "ReLU6(True)", "LeakyReLU()",
    "LeakyReLU(0.2, True)", "PReLU()", "PReLU(3, 0.1)", "RReLU()", "RReLU(0.1, 0.3, True)",
    "ELU()", "ELU(0.5, True)", "SELU()", "SELU(True)", "CELU(2.0)", "GELU()",
    "GELU('tanh')", "SiLU()", "SiLU(True)", "Mish()", "Mish(True)", "Sigmoid()", "Tanh()",
    "Hardtanh()", "Hardtanh(-2, 3, True)", "Hardsigmoid()", "Hardsigmoid(True)",
    "Hardswish()", "Hardswish(True)", "Softplus()", "Softplus(2, 10)", "Softsign()",
    "Softmax()", "Softmax(1)", "Softmin(dim=0)", "LogSoftmax(-1)", "Softmax2d()",
    "Threshold(0.1, 20)", "Threshold(0.1, 20, True)", "GLU()", "GLU(0)", "LogSigmoid()",
    "Tanhshrink()", "Softshrink()", "Softshrink(1)", "Hardshrink(0.3)",
]


@pytest.mark.parametrize("spec", MODULES)
def test_module_repr(spec):
    assert repr(eval("ember.nn." + spec)) == repr(eval("torch.nn." + spec))


@pytest.mark.parametrize("spec", [m for m in MODULES if m not in ("Softmax()",)])
def test_module_forward_backward(spec):
    def fn(lib, x):
        module = eval("lib.nn." + spec)
        module.eval()  # RReLU: deterministic slope
        return module(x * 1.0)

    check(fn, spread(2, 3, 4, 2))


def test_prelu_module_weight_grad():
    import torch

    for num in (1, 3):
        x = spread(2, 3, 5)
        t_mod, e_mod = torch.nn.PReLU(num, 0.2), ember.nn.PReLU(num, 0.2)
        assert list(e_mod.state_dict()) == list(t_mod.state_dict()) == ["weight"]
        upstream = randn(2, 3, 5)
        t_x = torch.tensor(x, requires_grad=True)
        e_x = ember.tensor(x, requires_grad=True)
        t_mod(t_x).backward(torch.tensor(upstream))
        e_mod(e_x).backward(ember.tensor(upstream))
        np.testing.assert_allclose(e_mod.weight.grad.numpy(), t_mod.weight.grad.numpy(),
                                   rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(e_x.grad.numpy(), t_x.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_rrelu_module_train_is_random_eval_is_mean():
    m = ember.nn.RReLU(0.1, 0.3)
    x = ember.tensor(-np.ones(500, np.float32))
    train_out = m(x).numpy()
    assert train_out.std() > 0.01
    m.eval()
    np.testing.assert_allclose(m(x).numpy(), -0.2, rtol=1e-6)


def test_softmax2d_rejects_2d():
    check_raises(lambda lib, x: lib.nn.Softmax2d()(x), spread(3, 4),
                 match="Softmax2d: expected input to be 3D or 4D, got 2D instead")


def test_module_paths():
    import ember.nn.modules.activation as act

    for name in act.__all__:
        assert getattr(ember.nn, name) is getattr(act, name)


@pytest.mark.parametrize("name,args", [("elu_", (-0.5,)), ("celu_", (-0.5,)),
                                       ("leaky_relu_", (-0.1,))])
def test_inplace_negative_slope_backward_raises(name, args):
    check_raises(lambda lib, x: getattr(F(lib), name)(x.requires_grad_() * 1, *args)
                 .sum().backward(), spread(3), match="backward calculation is triggered with a")
    check(lambda lib, x: getattr(F(lib), name)(x * 1, *args), spread(3), grad=False)


SPECIAL_VALUES = np.array([-0.0, 0.0, np.nan, -1.5, 2.0, np.inf, -np.inf, 7.0], dtype=np.float32)


@pytest.mark.parametrize("name", ["relu", "relu6", "hardtanh", "leaky_relu"])
def test_piecewise_signed_zero_nan_inf(name):
    """-0.0 stays -0.0 (PyTorch's relu is a clamp), NaN propagates forward and passes the
    gradient backward (PyTorch masks with ``x <= threshold``, false at NaN)."""
    def fn(lib, x):
        return getattr(F(lib), name)(x)

    check(fn, SPECIAL_VALUES.copy())
    for lib in (ember, __import__("torch")):
        out = fn(lib, lib.tensor(SPECIAL_VALUES))
        signs = np.signbit(np.asarray(out.numpy()))[:2]
        assert list(signs) == [True, False] or name == "leaky_relu", (lib.__name__, signs)


@pytest.mark.parametrize("shape", [(3,), (64, 130), (4, 8, 16, 16)])
def test_relu_no_grad_path_matches_graph_path(shape):
    """Under no_grad relu skips the slope; the values are the same either way."""
    x = randn(*shape)
    with ember.no_grad():
        fast = ember.relu(ember.tensor(x))
    slow = ember.relu(ember.tensor(x, requires_grad=True))
    np.testing.assert_array_equal(fast.numpy(), slow.detach().numpy())
    check(lambda lib, t: F(lib).relu(t), x)


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16", "float32", "float64"])
def test_hardsigmoid_bit_exact_with_torch(dtype_name):
    """PyTorch computes min(max(x + 3, 0), 6) / 6 (half precision in float32): the same
    order gives the same last bit on every input."""
    values = np.random.default_rng(3).uniform(-4, 4, 4096).astype(np.float32)
    ours = ember.nn.functional.hardsigmoid(ember.tensor(values).to(getattr(ember, dtype_name)))
    theirs = torch.nn.functional.hardsigmoid(torch.tensor(values).to(getattr(torch, dtype_name)))
    np.testing.assert_array_equal(ours.float().numpy(), theirs.float().numpy())


@pytest.mark.parametrize("layout", ["transposed", "channels_last"])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_result_is_contiguous_like_torch(layout, log):
    """PyTorch's softmax kernels write a contiguous result whatever the input's strides;
    ember kept the input's layout, so .view on the result raised."""
    strides = []
    for lib in (ember, torch):
        x = lib.arange(120, dtype=lib.float32).reshape(2, 3, 4, 5).sin()
        x = x.transpose(1, 3) if layout == "transposed" else x.to(memory_format=lib.channels_last)
        for grad in (False, True):  # the unrecorded fast path and the Function
            y = x.clone().requires_grad_(grad)
            strides.append((y.log_softmax(1) if log else y.softmax(1)).stride())
    assert strides[:2] == strides[2:]


@pytest.mark.oracle_torch("2.13", "torch 2.11's Hardtanh warning says 'deprecated and rename to'")
def test_hardtanh_deprecated_bounds_and_softmax_old_pickles_match_torch():
    """min_value/max_value still work with PyTorch's FutureWarning (pointing at the
    caller); a Softmax pickled before ``dim`` existed loads with dim=None."""
    import pickle
    import warnings

    import torch

    def run(lib):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m = lib.nn.Hardtanh(min_value=-2.0, max_value=3.0)
        texts = [(str(w.message), w.category.__name__, w.filename == __file__) for w in caught]
        old = lib.nn.Softmax(1)
        del old.dim
        restored = pickle.loads(pickle.dumps(old))
        return repr(m), texts, restored.dim, repr(lib.nn.LeakyReLU(0.5, inplace=True))

    assert run(ember) == run(torch)
