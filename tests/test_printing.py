"""Printing: ``repr``/``str`` of tensors must be character-for-character PyTorch's."""

import numpy as np
import pytest
import torch

import ember

RNG = np.random.default_rng(0)

VALUES = {
    "ints": np.array([1, 2, 3]),
    "neg_ints": np.array([-10, 5, 300]),
    "big_ints": np.arange(12).reshape(3, 4) * 123456,
    "floats": np.array([1.5, -2.25, 3.0], np.float32),
    "int_valued_floats": np.array([1.0, -2.0, 300.0], np.float32),
    "small_floats": np.array([1e-5, 2e-5], np.float32),
    "wide_range": np.array([1e-3, 10.0], np.float32),
    "huge": np.array([1e9, 2.0], np.float32),
    "huge_int_valued": np.array([1e10, 2e10], np.float32),
    "int_valued_range": np.array([1.0, 2000.0], np.float32),
    "zeros": np.zeros(3, np.float32),
    "nan_inf": np.array([np.nan, np.inf, -np.inf, 1.5], np.float32),
    "only_nan": np.array([np.nan, np.nan], np.float32),
    "nan_and_ints": np.array([np.nan, 1.0, 2.0], np.float32),
    "neg_zero": np.array([-0.0, 1.0], np.float32),
    "rounding": np.array([0.12345, 9.99999, 99.5], np.float32),
    "bools": np.array([True, False]),
    "scalar_float": np.array(3.14159, np.float32),
    "scalar_int": np.array(7),
    "scalar_bool": np.array(True),
    "scalar_neg": np.array(-0.5, np.float32),
    "scalar_sci": np.array(1e-8, np.float32),
    "matrix": RNG.standard_normal((3, 4)).astype(np.float32),
    "cube": RNG.standard_normal((2, 3, 2)).astype(np.float32),
    "four_d": np.arange(16, dtype=np.float32).reshape(2, 2, 2, 2),
    "matrix_f64": RNG.standard_normal((2, 2)),
    "f16": np.array([1.5, -0.1], np.float16),
    "i32": np.array([1, 2], np.int32),
    "i8_matrix": np.arange(6, dtype=np.int8).reshape(2, 3),
    "u8": np.array([0, 255], np.uint8),
    "int16_scalar": np.array(5, np.int16),
    "f64_scalar": np.array(2.5),
    "empty_f32": np.zeros(0, np.float32),
    "empty_2d": np.zeros((0, 3), np.float32),
    "empty_int": np.zeros(0, np.int64),
    "empty_i32_2d": np.zeros((2, 0), np.int32),
    "empty_bool": np.zeros(0, bool),
    "long_row": np.arange(30, dtype=np.float32) / 7,
    "long_int_row": np.arange(40) * 1000,
    "summarized_1d": np.arange(2000, dtype=np.float32),
    "summarized_2d": np.arange(3000, dtype=np.float32).reshape(60, 50) / 3,
    "summarized_3d": np.arange(2000).reshape(10, 10, 20),
    "summarized_narrow": np.arange(1200, dtype=np.float32).reshape(600, 2),
    "complex": np.array([1 + 2j, -3.5 - 0.5j], np.complex64),
    "complex_scalar": np.array(1 - 1j, np.complex64),
    "column": RNG.standard_normal((4, 1)).astype(np.float32),
    "neg_sci": np.array([-1e-7, 3e5], np.float32),
    "mixed_sign_small": np.array([-0.001, 0.002, 0.5], np.float32),
    "complex_sci": np.array([1e-5 + 1j, 100 + 0j], np.complex64),
    "complex128": np.array([1 + 1j, 2 - 3j]),
    "complex_matrix": np.array([[1.5 + 2j, 3j], [1, 2]], np.complex64),
    "complex_neg_zero_imag": np.array([1 - 0j, complex(2, -0.0)], np.complex64),
    "complex_summarized": (np.arange(1500) * (1 + 0.5j)).astype(np.complex64),
    "i64_extremes": np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max]),
    "huge_exponent": np.array([1e-300, 1e300]),
    "bools_all_true": np.array([True, True]),
    "zeros_matrix": np.zeros((2, 2), np.float32),
    "negative_int_floats": np.array([-1.0, -20.0], np.float32),
    "long_suffix_row": np.arange(15, dtype=np.float64) / 7,
    "int8_long_row": np.arange(60, dtype=np.int8),
}


@pytest.mark.parametrize("name", list(VALUES))
def test_repr_matches_torch(name):
    array = VALUES[name]
    e, t = ember.tensor(array.copy()), torch.tensor(array.copy())
    assert repr(e) == repr(t)
    assert str(e) == str(t)


@pytest.mark.parametrize("make", [
    lambda lib: lib.tensor([1.0, 2.0], requires_grad=True),
    lambda lib: lib.tensor([1.0, 2.0], requires_grad=True) * 2,
    lambda lib: lib.tensor([1.0, 2.0], requires_grad=True) + 2,
    lambda lib: lib.tensor(3.0, requires_grad=True) * 2,
    lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True),
    lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True) * 3,
    lambda lib: lib.zeros(0, requires_grad=True),
    lambda lib: lib.tensor([1.5], dtype=lib.bfloat16),
    lambda lib: lib.tensor([1.5, 1e-6], dtype=lib.bfloat16),
    lambda lib: lib.ones(2, 3).t(),
    lambda lib: lib.arange(10)[::3],
    lambda lib: lib.nn.Parameter(lib.ones(2)) if hasattr(lib.nn, "Parameter") else lib.ones(2),
])
def test_autograd_and_dtype_suffixes(make):
    assert repr(make(ember)) == repr(make(torch))


def test_default_dtype_changes_suffix():
    try:
        ember.set_default_dtype(ember.float64)
        torch.set_default_dtype(torch.float64)
        for make in (lambda lib: lib.tensor([1.5]),
                     lambda lib: lib.tensor([1.5], dtype=lib.float32),
                     lambda lib: lib.zeros(0, dtype=lib.float32), lambda lib: lib.zeros(0)):
            assert repr(make(ember)) == repr(make(torch))
    finally:
        ember.set_default_dtype(ember.float32)
        torch.set_default_dtype(torch.float32)


OPTIONS = [
    dict(precision=2),
    dict(precision=8),
    dict(sci_mode=True),
    dict(sci_mode=False),
    dict(threshold=5),
    dict(threshold=5, edgeitems=1),
    dict(linewidth=40),
    dict(profile="short"),
    dict(profile="full"),
    dict(threshold=5, edgeitems=0),
    dict(sci_mode=True, precision=2),
]


@pytest.mark.parametrize("options", OPTIONS,
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("name", ["floats", "small_floats", "matrix", "long_row", "zeros",
                                  "summarized_1d", "long_int_row", "huge", "complex",
                                  "summarized_3d", "f64_scalar", "i32"])
def test_set_printoptions(options, name):
    array = VALUES[name]
    try:
        ember.set_printoptions(**options)
        torch.set_printoptions(**options)
        assert repr(ember.tensor(array.copy())) == repr(torch.tensor(array.copy()))
    finally:
        ember.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")


def test_format_of_0d_tensor():
    assert f"{ember.tensor(2.5):.2f}" == f"{torch.tensor(2.5):.2f}"
    assert f"{ember.tensor([2.5])}" == f"{torch.tensor([2.5])}"
    assert "{}".format(ember.tensor(3)) == "{}".format(torch.tensor(3))


def test_printoptions_roundtrip():
    assert ember.get_printoptions() == {"precision": 4, "threshold": 1000, "edgeitems": 3,
                                        "linewidth": 80, "sci_mode": None}
    ember.set_printoptions(precision=2, sci_mode=True)
    try:
        assert ember.get_printoptions()["precision"] == 2
        assert ember.get_printoptions()["sci_mode"] is True
    finally:
        ember.set_printoptions(profile="default")
    assert ember.get_printoptions()["precision"] == 4


def test_long_suffixes_wrap_like_torch():
    for make in (lambda lib: lib.arange(14, dtype=lib.float64).requires_grad_() * 2,
                 lambda lib: lib.arange(15, dtype=lib.int32),
                 lambda lib: (lib.arange(12.0).reshape(3, 4).requires_grad_() * 1.5)):
        assert repr(make(ember)) == repr(make(torch))


def _random_array(seed):
    rng = np.random.default_rng(seed)
    ndim = int(rng.integers(0, 4))
    shape = tuple(int(s) for s in rng.integers(1, 6, ndim))
    kind = seed % 6
    scale = 10.0 ** rng.integers(-6, 10)
    if kind == 0:
        return (rng.standard_normal(shape) * scale).astype(np.float32)
    if kind == 1:
        return np.round(rng.standard_normal(shape) * scale).astype(np.float32)
    if kind == 2:
        return rng.integers(-10 ** 6, 10 ** 6, shape)
    if kind == 3:
        values = np.array(rng.standard_normal(shape) * scale, dtype=np.float64)
        mask = np.asarray(rng.random(shape) < 0.3)
        values[mask] = rng.choice([np.nan, np.inf, -np.inf, 0.0], size=int(mask.sum()))
        return values
    if kind == 4:
        return (rng.standard_normal(shape) * scale).astype(np.float16)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape) * scale).astype(
        np.complex64)


@pytest.mark.parametrize("seed", range(60))
def test_random_tensors_print_like_torch(seed):
    array = _random_array(seed)
    assert repr(ember.tensor(array.copy())) == repr(torch.tensor(array.copy()))
