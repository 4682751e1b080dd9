"""Unary math and binary math ops (unary.py) against PyTorch: one table row per op."""

import numpy as np
import pytest
import scipy.special
import torch
from oracle import RNG, check, check_raises

import ember

# name: (low, high) of the sampled domain; None means standard normal * 2
UNARY = {
    "exp": None, "exp2": None, "expm1": None, "log": (0.1, 3), "log2": (0.1, 3),
    "log10": (0.1, 3), "log1p": (-0.5, 3), "sqrt": (0.1, 3), "rsqrt": (0.1, 3),
    "reciprocal": (0.5, 3), "sin": None, "cos": None, "tan": (-1.2, 1.2),
    "asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "atan": None, "sinh": None, "cosh": None,
    "tanh": None, "asinh": None, "acosh": (1.1, 4), "atanh": (-0.9, 0.9), "sigmoid": None,
    "erf": None, "erfc": None, "erfinv": (-0.95, 0.95), "lgamma": (0.1, 6),
    "digamma": (0.2, 6), "abs": None, "sign": None, "sgn": None, "square": None,
    "floor": None, "ceil": None, "trunc": None, "frac": None, "round": None, "logit": (0.05, 0.95),
    "neg": None, "positive": None, "sinc": None, "deg2rad": None, "rad2deg": None,
}
# ops whose gradient is zero almost everywhere, or the identity
PIECEWISE = {"sign", "sgn", "floor", "ceil", "trunc", "round"}
INT_OK = {"exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos",
          "tan", "atan", "sinh", "cosh", "tanh", "asinh", "sigmoid", "erf", "erfc", "abs",
          "sign", "sgn", "square", "floor", "ceil", "trunc", "round", "neg", "reciprocal",
          "positive", "lgamma", "digamma", "sinc", "deg2rad", "rad2deg"}
SHAPES = [(), (0, 3), (3, 4), "transposed"]


def sample(name, shape, dtype=np.float32):
    domain = UNARY[name]
    transposed = shape == "transposed"
    shape = (4, 3) if transposed else shape
    if domain is None:
        x = (RNG.standard_normal(shape) * 2).astype(dtype)
    else:
        x = RNG.uniform(domain[0], domain[1], shape).astype(dtype)
    return x.T if transposed else np.asarray(x)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_and_grads(name, shape):
    # torch's sgn backward returns a ZeroTensor the oracle cannot read: compare values
    check(lambda lib, x: getattr(lib, name)(x), sample(name, shape), grad=name != "sgn")


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_method_and_inplace(name):
    x = sample(name, (2, 3), np.float64)
    check(lambda lib, t: getattr(t, name)(), x, grad=name != "sgn")
    if name == "positive":
        return
    # torch: sgn_ grads are ZeroTensors; square_ (pow_) saves self unguarded and fails;
    # asinh_/acosh_/atanh_ have no derivative (tested in test_inplace_without_derivative)
    with_grad = name not in ("sgn", "square", "asinh", "acosh", "atanh")
    check(lambda lib, t: getattr(t.clone(), name + "_")(), x, grad=with_grad)


@pytest.mark.parametrize("name", sorted(INT_OK))
def test_unary_integer_and_bool_inputs(name):
    ints = np.array([[1, 2, 3], [4, 5, 7]], dtype=np.int64)
    check(lambda lib, x: getattr(lib, name)(x), ints, grad=False, rtol=1e-5)


@pytest.mark.parametrize("name", ["sign", "sgn", "square", "exp", "sqrt", "sigmoid", "floor",
                                  "abs", "neg", "frac", "positive"])
def test_unary_bool_input(name):
    mask = np.array([True, False, True])
    try:
        torch_out = getattr(torch, name)(torch.from_numpy(mask))
    except Exception:
        check_raises(lambda lib, x: getattr(lib, name)(x), mask)
        return
    check(lambda lib, x: getattr(lib, name)(x), mask, grad=False)
    assert torch_out is not None


@pytest.mark.parametrize("name", sorted(set(UNARY) - {"positive"}))
def test_unary_gradcheck(name):
    x = ember.tensor(sample(name, (2, 3), np.float64), requires_grad=True)
    fn = getattr(ember, name)
    assert ember.autograd.gradcheck(fn, (x,))
    assert ember.autograd.gradgradcheck(fn, (x,))


@pytest.fixture(params=["compiled", "series"])
def erf_kernels(request, monkeypatch):
    """erf/erfc/erfinv run on SciPy's kernels when SciPy is installed (the test extras
    install it) and on ember's float64 series without it: both are checked."""
    if request.param == "series":
        from ember._ops import _special

        monkeypatch.setattr(_special, "_host_library", [None])
    return request.param


def test_special_functions_accuracy_float64(erf_kernels):
    """erf/erfc/erfinv/lgamma/digamma/polygamma in float64 across their whole range."""
    x = np.concatenate([np.linspace(-9, 9, 3001), [1e-300, -1e-3, 27.5, 1e5, -30.5]])
    non_pole = x[~((x <= 0) & (x == np.floor(x)))]
    cases = [
        (ember.erf, scipy.special.erf, x), (ember.erfc, scipy.special.erfc, x),
        (ember.lgamma, scipy.special.gammaln, non_pole),
        (ember.digamma, scipy.special.digamma, non_pole),
        (lambda t: ember.polygamma(1, t), lambda a: scipy.special.polygamma(1, a), non_pole),
        (lambda t: ember.polygamma(2, t), lambda a: scipy.special.polygamma(2, a), non_pole),
        (ember.erfinv, scipy.special.erfinv, np.linspace(-1 + 1e-12, 1 - 1e-12, 3001)),
    ]
    for ember_fn, reference, points in cases:
        got = ember_fn(ember.tensor(points)).numpy()
        np.testing.assert_allclose(got, reference(points), rtol=1e-10, atol=1e-12)


def test_special_function_edges_match_torch(erf_kernels):
    points = np.array([0.0, -1.0, -2.0, 1.0, 2.0, np.inf, -np.inf, np.nan, -2.5])
    for name in ("lgamma", "digamma", "erf", "erfc"):
        check(lambda lib, x: getattr(lib, name)(x), points, grad=False)
    check(lambda lib, x: lib.erfinv(x), np.array([-1.0, 1.0, 0.0, 2.0, np.nan]), grad=False)


@pytest.mark.parametrize("decimals", [0, 1, 2, -1, -2])
def test_round_decimals(decimals):
    x = (RNG.standard_normal((5, 4)) * 300).astype(np.float32)
    check(lambda lib, t: lib.round(t, decimals=decimals), x)
    check(lambda lib, t: t.round(decimals=decimals), x.astype(np.float64))


def test_complex_abs_sgn_sign():
    z = np.array([1 + 2j, 0j, -3 + 0j], dtype=np.complex64)
    check(lambda lib, t: (lib.abs(t), lib.sgn(t), lib.exp(t), t * 2, t + 1.5), z, grad=False)
    check_raises(lambda lib, t: lib.sign(t), z)


@pytest.mark.parametrize("eps", [None, 0.1])
def test_logit_eps(eps):
    x = np.array([0.05, 0.3, 0.5, 0.95, 0.99], dtype=np.float64)
    check(lambda lib, t: lib.logit(t, eps), x)
    check(lambda lib, t: lib.logit(t, eps=eps), np.array([-0.5, 1.5]), grad=False)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_polygamma(n):
    x = RNG.uniform(0.3, 5, (3, 4))
    check(lambda lib, t: lib.polygamma(n, t), x, rtol=1e-6)
    check(lambda lib, t: t.polygamma(n), x.astype(np.float32), rtol=1e-4)


# --- binary math -------------------------------------------------------------------------

BINARY = {
    "atan2": lambda lib, a, b: lib.atan2(a, b),
    "hypot": lambda lib, a, b: lib.hypot(a, b),
    "fmod": lambda lib, a, b: lib.fmod(a, b),
    "remainder": lambda lib, a, b: lib.remainder(a, b),
    "floor_divide": lambda lib, a, b: lib.floor_divide(a.detach(), b.detach()),
    "true_divide": lambda lib, a, b: lib.true_divide(a, b),
    "float_power": lambda lib, a, b: lib.float_power(a.abs() + 0.5, b),
    "mod_operator": lambda lib, a, b: a % b,
    "xlogy": lambda lib, a, b: lib.xlogy(a, b.abs()),
    "xlogy_scalar_other": lambda lib, a, b: lib.xlogy(a, 2.5),
    "xlogy_scalar_self": lambda lib, a, b: lib.xlogy(3, b.abs()),
    "logaddexp": lambda lib, a, b: lib.logaddexp(a, b),
    "logaddexp2": lambda lib, a, b: lib.logaddexp2(a, b),
    "copysign": lambda lib, a, b: lib.copysign(a, b),
    "floordiv_operator": lambda lib, a, b: a.detach() // b.detach(),
}
PAIRS = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((), (2, 3)), ((0, 3), (3,)), ("T", "T")]


def pair(shape_a, shape_b, dtype=np.float32):
    if shape_a == "T":
        a = (RNG.standard_normal((4, 3)) * 3).astype(dtype).T
        b = RNG.uniform(0.5, 2, (4, 3)).astype(dtype).T
        return a, b
    a = np.asarray((RNG.standard_normal(shape_a) * 3).astype(dtype))
    sign = np.where(RNG.standard_normal(shape_b) > 0, 1, -1)
    b = np.asarray((RNG.uniform(0.5, 2, shape_b) * sign).astype(dtype))
    return a, b


@pytest.mark.parametrize("shapes", PAIRS, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_math(name, shapes):
    a, b = pair(*shapes)
    check(BINARY[name], a, b, rtol=1e-5)


@pytest.mark.parametrize("name", ["fmod", "remainder", "floor_divide", "true_divide", "atan2",
                                  "float_power"])
def test_binary_math_integers(name):
    a = np.array([[7, -7, 5], [-5, 0, 9]], dtype=np.int64)
    b = np.array([2, -3, 4], dtype=np.int64)
    check(lambda lib, x, y: getattr(lib, name)(x, y), a, b, grad=False)
    check(lambda lib, x: getattr(lib, name)(x, 3), a, grad=False) if name not in (
        "atan2",) else None


@pytest.mark.parametrize("name", ["fmod", "remainder"])
def test_modulo_scalars_and_reflected(name):
    a = (RNG.standard_normal((3, 4)) * 5).astype(np.float32)
    check(lambda lib, x: getattr(lib, name)(x, 1.5), a)
    check(lambda lib, x: getattr(lib, name)(x, -2), a)
    check(lambda lib, x: 7.5 % x, a, grad=False)
    check(lambda lib, x: 7 // x, a, grad=False)


def test_binary_math_special_points():
    a = np.array([0.0, 0.0, 1.0, -np.inf, np.inf, 2.0], dtype=np.float32)
    b = np.array([0.0, np.nan, 0.0, -np.inf, np.inf, -0.0], dtype=np.float32)
    for fn in ("xlogy", "logaddexp", "logaddexp2", "copysign"):
        check(lambda lib, x, y: getattr(lib, fn)(x, y), a, b, grad=False)
    check(lambda lib, x: lib.sinc(x), np.array([0.0, 1.0, -2.0, 0.5]))
    check(lambda lib, x, y: lib.heaviside(x, y), np.array([-1.0, 0.0, 2.0]), np.array(0.5),
          grad=False)
    check(lambda lib, x, y: lib.heaviside(x, y), np.array([-1, 0, 2]), np.array([7, 8, 9]),
          grad=False)


@pytest.mark.parametrize("name", ["atan2", "hypot", "fmod", "remainder", "xlogy", "logaddexp",
                                  "logaddexp2", "copysign"])
def test_binary_math_gradcheck(name):
    a, b = pair((2, 3), (1, 3), np.float64)
    ta = ember.tensor(a, requires_grad=True)
    tb = ember.tensor(b, requires_grad=True)
    if name == "xlogy":
        tb = ember.tensor(np.abs(b), requires_grad=True)
    fn = getattr(ember, name)
    assert ember.autograd.gradcheck(fn, (ta, tb))
    if name not in ("fmod", "remainder"):
        assert ember.autograd.gradgradcheck(fn, (ta, tb))


def test_float_power_gradcheck():
    x = ember.tensor(RNG.uniform(0.5, 2, (2, 3)), requires_grad=True)
    y = ember.tensor(RNG.uniform(-1, 2, (2, 3)), requires_grad=True)
    assert ember.autograd.gradcheck(ember.float_power, (x, y))
    assert ember.autograd.gradgradcheck(ember.float_power, (x, y))


@pytest.mark.parametrize("fn", [
    lambda lib, a, b: lib.remainder(a, b),
    lambda lib, a, b: lib.fmod(a, b),
    lambda lib, a, b: lib.floor_divide(a, b),
    lambda lib, a, b: a.float_power_(2),
    lambda lib, a, b: lib.hypot(a, b),
    lambda lib, a, b: lib.atan2(a, 2),
    lambda lib, a, b: a.exp_(),
    lambda lib, a, b: lib.frac(a),
    lambda lib, a, b: lib.round(a, decimals=1),
    lambda lib, a, b: lib.logaddexp(a, b),
    lambda lib, a, b: lib.heaviside(a, 0.5),
    lambda lib, a, b: _heaviside_backward(lib, a, b),
], ids=["rem0", "fmod0", "floordiv0", "float_power_", "hypot_int", "atan2_scalar", "exp_int",
        "frac_int", "round_int", "logaddexp_int", "heaviside_scalar", "heaviside_backward"])
def test_binary_math_errors(fn):
    e_err, t_err = check_raises(fn, np.array([1, 2, 3]), np.array([1, 0, 2]))
    assert str(e_err).split("\n")[0][:60] == str(t_err).split("\n")[0][:60]


def _heaviside_backward(lib, a, b):
    x = a.float().requires_grad_()
    return lib.autograd.grad(lib.heaviside(x, b.float()).sum(), x)


@pytest.mark.parametrize("name", ["asinh", "acosh", "atanh"])
def test_inplace_without_derivative(name):
    x = np.array([1.5, 2.0])
    def fn(lib, t):
        y = getattr(t.requires_grad_() * 1, name + "_")()
        return lib.autograd.grad(y.sum(), t)

    check_raises(fn, x)


def test_floor_divide_has_no_derivative():
    def fn(lib, a, b):
        out = lib.floor_divide(a, b)
        return lib.autograd.grad(out.sum(), a)

    check_raises(fn, np.array([1.5, 2.0]), np.array([2.0, 1.0]))


def test_inplace_unary_keeps_saved_input_valid():
    """sin_ on a non-leaf: backward still sees the pre-write input (PyTorch clones it)."""
    a = RNG.standard_normal(5)

    def fn(lib, x):
        y = x * 1
        y.sin_()
        y.cos_()
        return y

    check(fn, a)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_half_precision(name, dtype):
    """Half types keep their dtype; values agree with PyTorch to half precision."""
    x = sample(name, (3, 4))

    def fn(lib, t):
        return getattr(lib, name)(t.to(getattr(lib, dtype))).float()

    check(fn, x, grad=False, rtol=1e-2, atol=1e-2)
    e_out = getattr(ember, name)(ember.tensor(x).to(getattr(ember, dtype)))
    t_out = getattr(torch, name)(torch.tensor(x).to(getattr(torch, dtype)))
    assert str(e_out.dtype) == str(t_out.dtype)
