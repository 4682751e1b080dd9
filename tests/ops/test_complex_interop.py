"""Complex numbers where they meet the rest of ember, against PyTorch: the ops PyTorch
refuses for complex inputs, dtype promotion and Python complex scalars, item/tolist,
printing, linspace/logspace with complex ends, optimizers stepping complex parameters, and
torch checkpoints holding conjugate views. (The complex ops and their gradients are in
test_complex.py.)"""

import numpy as np
import oracle
import pytest
import torch
from oracle import RNG, as_numpy, assert_same, check_raises

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


def cz(*shape, dtype=np.complex128):
    return np.asarray(RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape), dtype)


# ---------------------------------------------------------------------------
# what PyTorch refuses for complex inputs
# ---------------------------------------------------------------------------

UNARY_WITHOUT_COMPLEX = [
    "sign", "erf", "erfc", "erfinv", "lgamma", "digamma", "floor", "ceil", "trunc", "frac",
    "round", "logit", "deg2rad", "rad2deg",
]
REFUSED = {
    **{name: (lambda lib, a, b, name=name: getattr(lib, name)(a)) for name in UNARY_WITHOUT_COMPLEX},
    "round_decimals": lambda lib, a, b: lib.round(a, decimals=2),
    "polygamma": lambda lib, a, b: lib.polygamma(1, a),
    "logaddexp2": lambda lib, a, b: lib.logaddexp2(a, b),
    "atan2": lambda lib, a, b: lib.atan2(a, b),
    "atan2_real_first": lambda lib, a, b: lib.atan2(a.real, b),
    "fmod": lambda lib, a, b: lib.fmod(a, b),
    "remainder": lambda lib, a, b: a % b,
    "floor_divide": lambda lib, a, b: a // b,
    "div_floor": lambda lib, a, b: lib.div(a, b, rounding_mode="floor"),
    "div_trunc": lambda lib, a, b: lib.div(a, b, rounding_mode="trunc"),
    "xlogy": lambda lib, a, b: lib.xlogy(a.real, b),
    "xlogy_scalar": lambda lib, a, b: lib.xlogy(a.real, 1j),
    "copysign": lambda lib, a, b: lib.copysign(a, b),
    "heaviside": lambda lib, a, b: lib.heaviside(a, b),
    "max": lambda lib, a, b: a.max(),
    "max_dim": lambda lib, a, b: a.max(0),
    "min": lambda lib, a, b: a.min(),
    "min_dim": lambda lib, a, b: a.min(1),
    "amax": lambda lib, a, b: a.amax(),
    "amin": lambda lib, a, b: a.amin(0),
    "argmax": lambda lib, a, b: a.argmax(),
    "argmin": lambda lib, a, b: a.argmin(0),
    "aminmax": lambda lib, a, b: a.aminmax(),
    "nansum": lambda lib, a, b: a.nansum(),
    "nanmean": lambda lib, a, b: a.nanmean(),
    "gt": lambda lib, a, b: a > b,
    "lt_number": lambda lib, a, b: a < 1,
    "ge_real": lambda lib, a, b: lib.ge(b.real, a),
    "le_complex_number": lambda lib, a, b: b.real <= 1j,
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "max_other": lambda lib, a, b: lib.max(a, b),
    "fmin": lambda lib, a, b: lib.fmin(a, b.real),
    "clamp": lambda lib, a, b: a.clamp(0, 1),
    "clamp_min": lambda lib, a, b: a.clamp(min=0),
    "clamp_tensor": lambda lib, a, b: a.clamp(max=b.real),
    "sort": lambda lib, a, b: a.sort(),
    "argsort": lambda lib, a, b: a.argsort(),
    "msort": lambda lib, a, b: a.msort(),
    "topk": lambda lib, a, b: a.topk(1),
    "kthvalue": lambda lib, a, b: a.kthvalue(1),
    "median": lambda lib, a, b: a.median(),
    "median_dim": lambda lib, a, b: a.median(0),
    "nanmedian": lambda lib, a, b: a.nanmedian(),
    "mode": lambda lib, a, b: a.mode(),
    "unique": lambda lib, a, b: a.unique(),
    "unique_consecutive": lambda lib, a, b: lib.unique_consecutive(a),
    "cummax": lambda lib, a, b: a.cummax(0),
    "cummin": lambda lib, a, b: a.cummin(1),
    "searchsorted": lambda lib, a, b: lib.searchsorted(a, b),
    "bucketize": lambda lib, a, b: lib.bucketize(a, b[0]),
    "abs_": lambda lib, a, b: a.abs_(),
    "real_mul_": lambda lib, a, b: b.real.clone().mul_(1j),
    "real_add_": lambda lib, a, b: b.real.clone().add_(2j, alpha=2),
    "real_div_": lambda lib, a, b: b.real.clone().div_(1j),
    "real_isub": lambda lib, a, b: b.real.clone().__isub__(1j),
    "int_mul_": lambda lib, a, b: b.real.long().mul_(1j),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_ops_without_complex_support_raise(name):
    """What PyTorch does not define for complex numbers (no order, no real-only kernels, no
    complex result stored into a real tensor) raises its error, word for word."""
    err, t_err = check_raises(REFUSED[name], cz(2, 4, dtype=np.complex64),
                              cz(2, 4, dtype=np.complex64))
    assert str(err) == str(t_err)


# ---------------------------------------------------------------------------
# promotion, scalars, printing
# ---------------------------------------------------------------------------

DTYPES = ["float32", "float64", "complex64", "complex128", "int64", "bool"]


@pytest.mark.parametrize("left", DTYPES)
@pytest.mark.parametrize("right", DTYPES)
@pytest.mark.parametrize("ranks", [(1, 1), (0, 1), (1, 0)])
def test_promotion(left, right, ranks):
    def make(lib, name, rank):
        return lib.ones((2,) * rank, dtype=getattr(lib, name))

    expected = (make(torch, left, ranks[0]) * make(torch, right, ranks[1])).dtype
    result = (make(ember, left, ranks[0]) * make(ember, right, ranks[1])).dtype
    assert str(result) == str(expected)


@pytest.mark.parametrize("default", ["float32", "float64"])
def test_python_complex_scalars(default):
    torch_default, ember_default = torch.get_default_dtype(), ember.get_default_dtype()
    torch.set_default_dtype(getattr(torch, default))
    ember.set_default_dtype(getattr(ember, default))
    try:
        for dtype in ["float32", "float64", "int64", "bool", "complex64"]:
            t = torch.ones(2, dtype=getattr(torch, dtype)) + 1j
            e = ember.ones(2, dtype=getattr(ember, dtype)) + 1j
            assert str(e.dtype) == str(t.dtype), dtype
        assert str(ember.tensor(1j).dtype) == str(torch.tensor(1j).dtype)
        assert str(ember.tensor([1, 2j]).dtype) == str(torch.tensor([1, 2j]).dtype)
        assert str(ember.full((2,), 1j).dtype) == str(torch.full((2,), 1j).dtype)
        assert str(ember.result_type(ember.ones(2), 1j)) == str(
            torch.result_type(torch.ones(2), 1j))
    finally:
        torch.set_default_dtype(torch_default)
        ember.set_default_dtype(ember_default)


def test_item_tolist_and_python_conversions():
    z = cz(2, 2)
    e, t = ember.tensor(z), torch.tensor(z)
    assert e.tolist() == t.tolist()
    assert e[0, 1].item() == t[0, 1].item()
    assert complex(e[1, 0]) == complex(t[1, 0])
    assert isinstance(ember.tensor(1j, dtype=ember.complex64).item(), complex)


PRINT_CASES = [
    np.array([1 + 2j, 3 - 1j], np.complex64),
    np.array(1.5 - 2j),
    np.array([100 + 0.0915j, 0.5 + 0j]),
    np.array([0j, -0.0 - 0.5j, 1e-5 + 1e5j]),
    np.array([np.nan + 1j, np.inf - np.inf * 1j, 1 + 0j]),
    np.array([1 + 1j, 2 + 2j, -3 - 3j]),
    np.zeros((0,), np.complex64),
    np.array([1e-10 + 1j]),
    (np.arange(2000) * (1 + 1j)).astype(np.complex64),
]


@pytest.mark.parametrize("index", range(len(PRINT_CASES)))
def test_printing(index):
    array = PRINT_CASES[index]
    assert repr(ember.tensor(array)) == repr(torch.tensor(array))
    matrix = cz(3, 4, dtype=np.complex64)
    assert repr(ember.tensor(matrix)) == repr(torch.tensor(matrix))


def test_printing_with_grad_fn():
    z = cz(3)
    e = ember.tensor(z, requires_grad=True) * 2
    t = torch.tensor(z, requires_grad=True) * 2
    assert repr(e) == repr(t)
    assert repr(ember.tensor(z, requires_grad=True).real) == repr(
        torch.tensor(z, requires_grad=True).real)


def test_implicit_grad_needs_a_real_scalar():
    check_raises(lambda lib, x: x.requires_grad_().sum().backward(), cz(3),
                 match="real scalar outputs")


SPACED = {
    "linspace": lambda lib: lib.linspace(0, 1j, 3),
    "linspace_both": lambda lib: lib.linspace(1j, 2 + 1j, 4, dtype=lib.complex128),
    "linspace_tensor_end": lambda lib: lib.linspace(lib.tensor(1j), 2, 3),
    "linspace_complex_dtype": lambda lib: lib.linspace(0, 2, 3, dtype=lib.complex64),
    "logspace": lambda lib: lib.logspace(0, 1j, 3, base=2),
}


@pytest.mark.parametrize("name", list(SPACED))
def test_linspace_logspace_complex(name):
    assert_same(SPACED[name](ember), SPACED[name](torch))


def test_linspace_complex_ends_refuse_real_dtype():
    check_raises(lambda lib: lib.linspace(0, 1j, 3, dtype=lib.float32), match="can't be safely")
    check_raises(lambda lib: lib.logspace(0, 1j, 3, dtype=lib.float64), match="can't be safely")


OPTIMIZERS = [
    ("SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("Adam", {"amsgrad": True, "weight_decay": 0.1}), ("AdamW", {}),
    ("RMSprop", {"momentum": 0.5, "centered": True}), ("Adagrad", {}), ("Adadelta", {}),
    ("Adamax", {}), ("NAdam", {}), ("RAdam", {}), ("ASGD", {}), ("Rprop", {}),
]


@pytest.mark.parametrize("name, options", OPTIMIZERS)
def test_optimizers_step_complex_parameters(name, options):
    """PyTorch's optimizers update a complex parameter as its (re, im) pairs; the state
    stays complex."""
    weight, bias = cz(3, 4), cz(4)
    results = []
    for lib in (torch, ember):
        p = lib.nn.Parameter(lib.tensor(weight))
        q = lib.nn.Parameter(lib.tensor(bias))
        optimizer = getattr(lib.optim, name)([p, q], lr=0.1, **options)
        for _ in range(3):
            optimizer.zero_grad()
            loss = (p * p.conj()).real.sum() + (p.real ** 3).sum() + (q.imag * p.sum(0)).abs().sum()
            loss.backward()
            optimizer.step()
        state = {k: v for k, v in optimizer.state[p].items() if v.dim()}
        results.append((p, q, state))
    (tp, tq, t_state), (ep, eq, e_state) = results
    assert_same(ep, tp)
    assert_same(eq, tq)
    assert sorted(e_state) == sorted(t_state)
    for key, value in t_state.items():
        assert_same(e_state[key], value, what=key)


def test_load_torch_checkpoint_with_conj_and_neg_views(tmp_path):
    """torch.save keeps a conjugate view's unresolved storage and a 'conj' bit (an imag of a
    conjugate: 'neg'); ember.load resolves them to the same values."""
    z = torch.tensor(cz(3, dtype=np.complex64))
    saved = {"conj": z.conj(), "plain": z, "neg": torch.tensor(cz(2)).conj().imag}
    torch.save(saved, tmp_path / "views.pt")
    loaded = ember.load(tmp_path / "views.pt")
    for key, value in saved.items():
        assert_same(loaded[key], value.resolve_conj().resolve_neg())
        assert loaded[key].is_conj() == value.is_conj()
        assert loaded[key].is_neg() == value.is_neg()
    ember.save({"conj": ember.tensor(as_numpy(z)).conj()}, tmp_path / "ember.pt")
    # a checkpoint keeps its tensors' device; torch here may have no GPU to put them on
    torch.testing.assert_close(torch.load(tmp_path / "ember.pt", map_location="cpu")["conj"],
                               z.conj())
