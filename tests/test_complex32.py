"""complex32 (chalf) against PyTorch's CPU build: dtype, element size, promotion, casts,
printing, checkpoints, the ops PyTorch computes (bit for bit) and the errors for the rest."""

import warnings

import numpy as np
import pytest
import torch

import ember

VALUES = [1 + 2j, 3.3 - 1j, 1e5 + 0.1j, -0.0 - 7.25j, 65504 + 1e-8j]


@pytest.fixture(autouse=True)
def _quiet():
    """PyTorch warns that ComplexHalf is experimental on every creation."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _operands(lib):
    x = lib.tensor(VALUES).to(lib.complex32)
    y = (lib.tensor(VALUES) * 2 - 1).to(lib.complex32)
    return x, y


def _bits(tensor):
    """complex32 values as their float16 (real, imag) bit patterns."""
    tensor = tensor.resolve_conj()  # conj() results are lazy in PyTorch
    if isinstance(tensor, torch.Tensor):
        return torch.view_as_real(tensor).contiguous().view(torch.int16).numpy()
    return ember.view_as_real(tensor).contiguous().view(ember.int16).numpy()


def _same(got, expected):
    assert str(got.dtype) == str(expected.dtype)
    assert tuple(got.shape) == tuple(expected.shape)
    if expected.dtype == torch.complex32:
        np.testing.assert_array_equal(_bits(got), _bits(expected))
    elif expected.dtype == torch.float16:
        np.testing.assert_array_equal(got.view(ember.int16).numpy(),
                                      expected.view(torch.int16).numpy())
    else:
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_dtype_and_tensor_attributes():
    assert ember.chalf is ember.complex32
    assert repr(ember.complex32) == repr(torch.complex32)
    assert ember.complex32.itemsize == torch.complex32.itemsize == 4
    assert ember.complex32.is_complex and not ember.complex32.is_floating_point
    assert ember.complex32.to_real() is ember.float16
    assert ember.float16.to_complex() is ember.complex32
    x, _ = _operands(ember)
    assert x.element_size() == 4 and x.nbytes == 4 * len(VALUES)
    assert x.is_complex() and not x.is_floating_point()
    assert x.reshape(5, 1).t().stride() == (1, 1)
    assert repr(ember.finfo(ember.complex32)) == repr(torch.finfo(torch.complex32))


@pytest.mark.parametrize("other", ["float32", "float16", "bfloat16", "float64", "int64",
                                   "bool", "complex64", "complex128", "uint8"])
def test_promotion(other):
    assert repr(ember.promote_types(ember.complex32, getattr(ember, other))) == repr(
        torch.promote_types(torch.complex32, getattr(torch, other)))
    assert repr(ember.promote_types(getattr(ember, other), ember.complex32)) == repr(
        torch.promote_types(getattr(torch, other), torch.complex32))


@pytest.mark.parametrize("source", ["complex64", "complex128", "float32", "float64",
                                    "float16", "int64", "bool"])
def test_casts_both_ways(source):
    data = VALUES if source.startswith("complex") else [1.5, -2.25, 1e5, 0.0, 3.3]
    if source == "bool":
        data = [True, False, True]
    t = torch.tensor(data).to(getattr(torch, source))
    e = ember.tensor(data).to(getattr(ember, source))
    _same(e.to(ember.complex32), t.to(torch.complex32))
    back = t.to(torch.complex32).to(getattr(torch, source))
    _same(e.to(ember.complex32).to(getattr(ember, source)), back)
    _same(e.chalf(), t.chalf())


def test_creation_and_printing():
    for lib_call in (lambda L: L.zeros(2, 3, dtype=L.complex32),
                     lambda L: L.ones(3, dtype=L.complex32),
                     lambda L: L.full((2,), 1 + 1j, dtype=L.complex32),
                     lambda L: L.tensor([1 + 2j, 3.3 - 1j], dtype=L.complex32),
                     lambda L: L.tensor([1.5, 2.0], dtype=L.complex32),
                     lambda L: L.empty(2, dtype=L.complex32).zero_()):
        e, t = lib_call(ember), lib_call(torch)
        _same(e, t)
        assert repr(e) == repr(t)
    x, y = _operands(ember), _operands(torch)
    assert repr(x[0]) == repr(y[0])
    assert repr(x[0].reshape(5, 1)) == repr(y[0].reshape(5, 1))
    assert x[0].tolist() == y[0].tolist()
    assert x[0][1].item() == y[0][1].item()


OPS = {
    "add": lambda L, x, y: x + y,
    "sub": lambda L, x, y: x - y,
    "mul": lambda L, x, y: x * y,
    "add_scalar": lambda L, x, y: x + 1,
    "mul_scalar": lambda L, x, y: x * 2.5,
    "mul_complex_scalar": lambda L, x, y: x * (1 + 1j),
    "add_half": lambda L, x, y: x + L.ones(5, dtype=L.float16),
    "add_int": lambda L, x, y: x + L.arange(5),
    "add_float": lambda L, x, y: x + L.ones(5),
    "add_complex64": lambda L, x, y: x + L.ones(5, dtype=L.complex64),
    "add_double": lambda L, x, y: x + L.ones(5, dtype=L.float64),
    "add_": lambda L, x, y: x.clone().add_(y),
    "mul_": lambda L, x, y: x.clone().mul_(y),
    "div": lambda L, x, y: x / y,
    "div_scalar": lambda L, x, y: x / 2,
    "neg": lambda L, x, y: -x,
    "abs": lambda L, x, y: x.abs(),
    "sgn": lambda L, x, y: x.sgn(),
    "conj": lambda L, x, y: x.conj(),
    "conj_physical": lambda L, x, y: x.conj_physical(),
    "real": lambda L, x, y: x.real,
    "imag": lambda L, x, y: x.imag,
    "view_as_real": lambda L, x, y: L.view_as_real(x),
    "view_as_complex": lambda L, x, y: L.view_as_complex(L.view_as_real(y).contiguous()),
    "view_float16": lambda L, x, y: x.view(L.float16),
    "view_int32": lambda L, x, y: x.view(L.int32),
    "eq": lambda L, x, y: x == y,
    "ne_scalar": lambda L, x, y: x != (1 + 2j),
    "isnan": lambda L, x, y: x.isnan(),
    "isfinite": lambda L, x, y: x.isfinite(),
    "all": lambda L, x, y: x.all(),
    "any": lambda L, x, y: x.any(),
    "nonzero": lambda L, x, y: x.nonzero(),
    "cat": lambda L, x, y: L.cat([x, y]),
    "stack": lambda L, x, y: L.stack([x, y]),
    "clone": lambda L, x, y: x.clone(),
    "copy_": lambda L, x, y: x.clone().copy_(L.tensor(VALUES) * 3),
    "fill_": lambda L, x, y: x.clone().fill_(2.5),
    "fill_complex": lambda L, x, y: x.clone().fill_(2.5 - 1j),
    "setitem": lambda L, x, y: _setitem(x, y),
    "index": lambda L, x, y: x[1:4],
    "index_select": lambda L, x, y: x.index_select(0, L.tensor([4, 0])),
    "masked_fill": lambda L, x, y: x.masked_fill(L.tensor([True, False, True, False, True]),
                                                 2.5),
    "masked_select": lambda L, x, y: x.masked_select(L.tensor([True, False, True, False,
                                                              True])),
    "where": lambda L, x, y: L.where(L.tensor([True, False, True, False, True]), x, y),
    "transpose": lambda L, x, y: L.stack([x, y]).t().contiguous(),
    "roll": lambda L, x, y: x.roll(2),
    "repeat": lambda L, x, y: x.repeat(2),
    "sum": lambda L, x, y: x.sum(),
    "mean": lambda L, x, y: x.mean(),
    "prod": lambda L, x, y: x.prod(),
    "cumsum": lambda L, x, y: x.cumsum(0),
    "exp": lambda L, x, y: x.exp(),
    "sqrt": lambda L, x, y: x.sqrt(),
    "sin": lambda L, x, y: x.sin(),
    "reciprocal": lambda L, x, y: x.reciprocal(),
    "pow": lambda L, x, y: x ** 2,
    "angle": lambda L, x, y: x.angle(),
    "flip": lambda L, x, y: x.flip(0),
    "mm": lambda L, x, y: x.reshape(5, 1).mm(y.reshape(1, 5)),
    "matmul": lambda L, x, y: x[:2].reshape(1, 2) @ y[:2].reshape(2, 1),
    "equal": lambda L, x, y: L.equal(x, y),
    "isclose": lambda L, x, y: L.isclose(x, x * (1 + 0.001j)),
    "allclose": lambda L, x, y: L.allclose(x, x + 1e-3, rtol=1e-3, atol=1e-3),
    "promote_with_float": lambda L, x, y: L.result_type(x, L.ones(1)),
    "type": lambda L, x, y: x.type(),
    "view_complex64_odd": lambda L, x, y: x.view(L.complex64),
    "view_complex64": lambda L, x, y: x[:4].view(L.complex64).shape,
}


def _setitem(x, y):
    out = x.clone()
    out[0] = 5
    out[1] = 2 - 3j
    out[2:4] = y[:2]
    return out


@pytest.mark.parametrize("op", sorted(OPS))
def test_ops_match_pytorch(op):
    """Where PyTorch computes, the float16 bits match; where it raises, the same error."""
    try:
        expected = OPS[op](torch, *_operands(torch))
    except Exception as exc:  # noqa: BLE001 - the error is what is compared
        with pytest.raises(type(exc)) as info:
            OPS[op](ember, *_operands(ember))
        assert str(info.value) == str(exc)
        return
    got = OPS[op](ember, *_operands(ember))
    if isinstance(expected, torch.Tensor):
        _same(got, expected)
    else:
        assert repr(got) == repr(expected)


def test_view_as_real_shares_memory():
    x = ember.tensor(VALUES).to(ember.complex32)
    pairs = ember.view_as_real(x)
    pairs[0, 1] = 9.0
    assert x[0].item() == 1 + 9j
    halves = x.view(ember.float16)
    assert halves.shape == (10,) and halves[1].item() == 9.0


def test_checkpoints_both_ways(tmp_path):
    """torch writes complex32 as UntypedStorage bytes (float16 pairs) + _rebuild_tensor_v3."""
    original = torch.tensor(VALUES).to(torch.complex32)
    torch.save({"z": original, "tail": original[2:]}, tmp_path / "torch.pt")
    loaded = ember.load(tmp_path / "torch.pt")
    assert loaded["z"].dtype is ember.complex32
    _same(loaded["z"], original)
    _same(loaded["tail"], original[2:])
    ember.save(loaded, tmp_path / "ember.pt")
    for weights_only in (True, False):
        back = torch.load(tmp_path / "ember.pt", weights_only=weights_only)
        assert back["z"].dtype == torch.complex32
        np.testing.assert_array_equal(_bits(back["z"]), _bits(original))
        np.testing.assert_array_equal(_bits(back["tail"]), _bits(original[2:]))


@pytest.mark.parametrize("make", [
    lambda L: L.ones(3, dtype=L.half) * 1j,
    lambda L: L.ones(3, dtype=L.half) + (1 + 2j),
    lambda L: L.ones(3, dtype=L.half) * L.tensor(2j),
    lambda L: L.tensor(1.5, dtype=L.half) * L.ones(3, dtype=L.complex64),
    lambda L: L.ones(3, dtype=L.bfloat16) * 1j,
    lambda L: L.view_as_complex(L.ones(3, 2, dtype=L.half)),
])
def test_half_meets_complex(make):
    """A float16 tensor with a complex number (or 0-d complex tensor) gives complex32, as
    torch.result_type's category rule does; a complex tensor of more dims keeps its type."""
    _same(make(ember), make(torch))


def test_random_complex32_draws_complex64_and_rounds():
    """randn/rand in complex32 exist in PyTorch's CPU build: each part N(0, 1/2) (or
    U[0, 1)), rounded to float16. ember's generator is its own, so the laws are compared."""
    for lib in (torch, ember):
        generator = lib.Generator().manual_seed(0)  # the global generators stay untouched
        normal = lib.randn(20000, dtype=lib.complex32, generator=generator)
        uniform = lib.rand(20000, dtype=lib.complex32, generator=generator)
        assert normal.dtype == lib.complex32 and uniform.dtype == lib.complex32
        for part in (normal.real, normal.imag):
            assert part.dtype == lib.float16
            assert abs(part.float().var().item() - 0.5) < 0.03
        for part in (uniform.real, uniform.imag):
            assert 0 <= part.float().min().item() and part.float().max().item() <= 1
            assert abs(part.float().mean().item() - 0.5) < 0.02


def test_assert_close_uses_complex32_tolerances():
    """testing.assert_close: complex32's default tolerances (1e-3, 1e-5), as PyTorch's."""
    for lib in (torch, ember):
        x = lib.tensor([1 + 1j, 2 - 1j]).to(lib.complex32)
        lib.testing.assert_close(x, lib.tensor([1 + 1.001j, 2 - 1j]).to(lib.complex32))
        with pytest.raises(AssertionError, match="Tensor-likes are not close"):
            lib.testing.assert_close(x, lib.tensor([1 + 1.1j, 2 - 1j]).to(lib.complex32))


def test_isclose_compares_imaginary_parts():
    """Complex isclose measures |a - b| with both parts (complex64 too)."""
    for dtype in ("complex64", "complex128"):
        a = ember.tensor([1 + 1j, 2 + 0j], dtype=getattr(ember, dtype))
        b = ember.tensor([1 + 2j, 2 + 0j], dtype=getattr(ember, dtype))
        expected = torch.isclose(torch.tensor([1 + 1j, 2 + 0j], dtype=getattr(torch, dtype)),
                                 torch.tensor([1 + 2j, 2 + 0j], dtype=getattr(torch, dtype)))
        assert ember.isclose(a, b).tolist() == expected.tolist()
