"""The BLAS-style products and their neighbours over dtype grids, against torch.

Each case runs on both libraries and must end the same way: the same result dtype, shape
and values, or the same exception type with the same message (torch 2.13's words).
Covers the dtype-mismatch errors of addmm/addmv/baddbmm/addbmm (and mm/bmm/mv), integer
and bool tensors with float/complex/bool ``beta``/``alpha`` (truncation, addr's refusal,
c10's overflow errors), bool refusals of the products, and the sweep of addcmul,
addcdiv, lerp, dot, vdot, inner, outer, ger, chain_matmul, matrix_power, kron and
tensordot.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import ember
from oracle import check, randn

GRID = ["bool", "uint8", "int32", "int64", "float16", "bfloat16", "float32", "float64",
        "complex64"]
MIXED = ["bool", "float32", "float64", "int64"]
# torch 2.13's addmv (and mv, matmul's matrix-vector path) refuses operands of different
# dtypes; 2.11's kernel says "expected scalar type ..." or promotes the input
ADDMV_SAME_DTYPE = pytest.mark.oracle_torch("2.13", "torch 2.11's addmv/mv lack the "
                                            "same-dtype check")


def _make(lib, shape, dtype, offset=1):
    """Small exact values (0, 1, 2 repeating) in ``dtype``, the same for both libraries."""
    values = (np.arange(offset, offset + int(np.prod(shape))) % 3).reshape(shape)
    if dtype == "bfloat16":
        return lib.tensor(values.astype(np.float32)).to(lib.bfloat16)
    return lib.tensor(values.astype(dtype if dtype != "bool" else np.bool_))


def _outcome(lib, fn, specs, kwargs):
    args = [_make(lib, shape, dtype) for shape, dtype in specs]
    try:
        result = fn(lib, *args, **kwargs)
    except Exception as error:  # noqa: BLE001 - the exception itself is compared
        base = next((b for b in (IndexError, ValueError, TypeError, NotImplementedError,
                                 OverflowError, RuntimeError) if isinstance(error, b)), None)
        return (base.__name__ if base else type(error).__name__,
                str(error).split("\n")[0]), None
    return ("ok", str(result.dtype), tuple(result.shape)), result


def _same(fn, specs, kwargs=None):
    """None when ember and torch agree, else a line saying how they differ."""
    kwargs = kwargs or {}
    want, t_result = _outcome(torch, fn, specs, kwargs)
    got, e_result = _outcome(ember, fn, specs, kwargs)
    label = f"{[d for _, d in specs]} {kwargs}"
    if want != got:
        return f"{label}: torch {want}, ember {got}"
    if t_result is not None:
        expected = t_result.to(torch.complex128 if t_result.is_complex() else torch.float64)
        actual = torch.from_numpy(np.asarray(
            e_result.to(ember.complex128 if e_result.is_complex() else ember.float64).numpy()))
        try:  # 16-bit inputs round differently inside the kernels: compare loosely
            torch.testing.assert_close(actual, expected, rtol=1e-2, atol=1e-2, equal_nan=True)
        except AssertionError as error:
            return f"{label}: values differ: {str(error).splitlines()[0]}"
    return None


def _assert_grid(fn, cases):
    problems = [p for p in (_same(fn, specs, kw) for specs, kw in cases) if p is not None]
    assert not problems, "\n".join(problems)


# shapes of (input, first factor, second factor) for each product
PRODUCTS = {
    "addmm": ((2, 3), (2, 4), (4, 3)),
    "addmv": ((2,), (2, 4), (4,)),
    "baddbmm": ((2, 2, 3), (2, 2, 4), (2, 4, 3)),
    "addbmm": ((2, 3), (2, 2, 4), (2, 4, 3)),
    "addr": ((2, 3), (2,), (3,)),
}


def _product(name, inplace):
    if inplace:
        return lambda lib, i, a, b, **kw: getattr(i, name + "_")(a, b, **kw)
    return lambda lib, i, a, b, **kw: getattr(lib, name)(i, a, b, **kw)


@pytest.mark.parametrize("inplace", [False, True], ids=["out_of_place", "inplace"])
@pytest.mark.parametrize("name", [pytest.param(name, marks=ADDMV_SAME_DTYPE if name == "addmv"
                                               else ()) for name in PRODUCTS])
def test_product_dtype_mismatch_errors(name, inplace):
    """Every bool/float32/float64/int64 mix, with beta 1, 0 and 0.5: each op's own check
    order and message (addr promotes; its in-place form must cast back to self)."""
    shapes = PRODUCTS[name]
    cases = [(list(zip(shapes, dtypes)), kwargs)
             for dtypes in itertools.product(MIXED, repeat=3)
             for kwargs in ({}, {"beta": 0}, {"beta": 0.5})]
    _assert_grid(_product(name, inplace), cases)


@pytest.mark.parametrize("name, shapes", [
    ("mm", ((2, 3), (3, 2))), ("bmm", ((2, 2, 3), (2, 3, 2))),
    pytest.param("mv", ((2, 3), (3,)), marks=ADDMV_SAME_DTYPE),
    pytest.param("matmul", ((2, 2, 3), (3,)), marks=ADDMV_SAME_DTYPE),
    ("dot", ((3,), (3,))), ("vdot", ((3,), (3,))),
    ("inner", ((2, 3), (3,))), ("outer", ((2,), (3,))), ("ger", ((2,), (3,))),
    ("chain_matmul", ((2, 3), (3, 2))), ("kron", ((2, 2), (2,))),
    ("tensordot", ((2, 3), (3, 2))),
])
def test_binary_products_over_dtype_grid(name, shapes):
    """All 81 dtype pairs: bool refused by the BLAS kernels, mismatches in torch's words,
    result dtypes otherwise."""
    def fn(lib, a, b):
        if name == "tensordot":
            return lib.tensordot(a, b, dims=1)
        return getattr(lib, name)(a, b)

    cases = [(list(zip(shapes, pair)), {}) for pair in itertools.product(GRID, repeat=2)]
    _assert_grid(fn, cases)


SCALARS = [{}, {"beta": 0.5}, {"alpha": 2.5}, {"beta": 2, "alpha": 3}, {"beta": 0},
           {"beta": 0.0}, {"alpha": True}, {"beta": 1j}, {"beta": False}, {"alpha": 1.0},
           {"beta": -1}, {"beta": 300}, {"alpha": 70000}, {"beta": 1e39},
           {"beta": float("inf")}, {"beta": float("nan")}, {"beta": 1 + 0j}]


@pytest.mark.parametrize("inplace", [False, True], ids=["out_of_place", "inplace"])
@pytest.mark.parametrize("name", list(PRODUCTS))
def test_product_scalars_over_dtype_grid(name, inplace):
    """beta/alpha on every dtype: truncated for integers (addr refuses floats), converted
    with c10's overflow check (opmath float for 16-bit addmm/baddbmm/addbmm), bool
    tensors refused by the kernels (addr computes them logically)."""
    shapes = PRODUCTS[name]
    cases = [(list(zip(shapes, (d, d, d))), kw) for d in GRID + ["int8"] for kw in SCALARS]
    _assert_grid(_product(name, inplace), cases)


def test_integer_scalar_truncation_values():
    """beta=2.7, alpha=-1.9 act as 2 and -1 on integer tensors (C++ truncation)."""
    for name, shapes in PRODUCTS.items():
        if name == "addr":
            continue
        problem = _same(_product(name, False), list(zip(shapes, ["int64"] * 3)),
                        {"beta": 2.7, "alpha": -1.9})
        assert problem is None, problem


def _edge(fn_name, *args, marks=(), **kwargs):
    return pytest.param(fn_name, args, kwargs, id=f"{fn_name}-{args}-{kwargs}", marks=marks)


@pytest.mark.parametrize("name, specs, kwargs", [
    # the products' shape checks come in torch's order, around the dtype checks
    _edge("addmm", ((2, 3), "float32"), ((2, 4), "float32"), ((5, 3), "float64")),
    _edge("addmm", ((2, 3), "float32"), ((4,), "float32"), ((4, 3), "float64")),
    _edge("addmm", ((7, 3), "float32"), ((2, 4), "float64"), ((4, 3), "float32")),
    _edge("addmv", ((2,), "float32"), ((2, 4), "float32"), ((5,), "float64")),
    _edge("addmv", ((2, 1), "float32"), ((2, 4), "float32"), ((4,), "float32")),
    _edge("addmv", ((), "float32"), ((2, 4), "float32"), ((5,), "float32")),
    _edge("addmv", ((), "bool"), ((2, 4), "bool"), ((4,), "bool")),
    _edge("addmv", ((2,), "float32"), ((2, 0), "float32"), ((0,), "float64"),
          marks=ADDMV_SAME_DTYPE),
    _edge("addmv", ((2,), "int64"), ((2, 0), "int64"), ((0,), "int64"), beta=2.5),
    _edge("baddbmm", ((2, 2, 3), "float32"), ((2, 2, 4), "float32"), ((2, 5, 3), "float64")),
    _edge("baddbmm", ((2, 2, 3), "float64"), ((2, 2, 4), "float32"), ((2, 5, 3), "float32")),
    _edge("baddbmm", ((2, 2, 3), "float32"), ((4,), "float32"), ((2, 4, 3), "float32")),
    _edge("baddbmm", ((2, 2, 3), "float32"), ((), "float32"), ((2, 4, 3), "float32")),
    _edge("baddbmm", ((1, 2, 2, 3), "float32"), ((2, 2, 4), "float32"), ((2, 4, 3), "float32")),
    _edge("baddbmm", ((2, 2, 3), "bool"), ((2, 2, 4), "bool"), ((2, 4, 3), "uint8")),
    _edge("baddbmm", ((2, 2, 3), "uint8"), ((2, 2, 4), "uint8"), ((2, 4, 3), "bool")),
    _edge("baddbmm", ((2, 2, 3), "bool"), ((2, 2, 0), "bool"), ((2, 0, 3), "bool")),
    _edge("addbmm", ((2, 3), "float32"), ((2, 2, 4), "float32"), ((3, 4, 3), "float32")),
    _edge("addbmm", ((2, 3), "float32"), ((2, 2, 4), "float32"), ((2, 5, 3), "float64")),
    _edge("addbmm", ((1, 2, 3), "float32"), ((2, 2, 4), "float32"), ((2, 4, 3), "float32")),
    _edge("addbmm", ((2, 3), "float32"), ((0, 2, 4), "float32"), ((0, 4, 3), "float64")),
    _edge("addbmm", ((2, 3), "bool"), ((0, 2, 4), "bool"), ((0, 4, 3), "bool")),
    _edge("addbmm", ((2, 3), "int64"), ((0, 2, 4), "int64"), ((0, 4, 3), "int64"), beta=2.5),
    _edge("addbmm", ((2, 3), "float32"), ((0, 2, 4), "float32"), ((0, 4, 3), "float32"),
          beta=2.5),
    _edge("addmm", ((2, 3), "bool"), ((2, 0), "bool"), ((0, 3), "bool")),
    _edge("addmm", ((0, 3), "bool"), ((0, 4), "bool"), ((4, 3), "bool")),
    _edge("addmm", ((2, 3), "int64"), ((2, 0), "int64"), ((0, 3), "int64"), beta=2.5),
    _edge("addmm", ((2, 3), "uint8"), ((2, 4), "uint8"), ((4, 3), "uint8"), beta=-255),
    _edge("addmm", ((2, 3), "uint8"), ((2, 4), "uint8"), ((4, 3), "uint8"), beta=255.9),
    _edge("addmm", ((2, 3), "float32"), ((2, 4), "float32"), ((4, 3), "float32"),
          beta=2**70),
    _edge("addmm", ((2, 3), "complex64"), ((2, 4), "complex64"), ((4, 3), "complex64"),
          beta=1e39j),
    _edge("addr", ((2, 3), "float64"), ((2,), "float32"), ((3,), "float32"), beta=0),
    _edge("addr", ((2, 3), "bool"), ((2,), "int64"), ((3,), "int64"), alpha=2),
    _edge("addr", ((2, 3), "float16"), ((2,), "float32"), ((3,), "float16"), alpha=70000),
    _edge("addr", ((1, 2, 3), "float32"), ((2,), "float32"), ((3,), "float32")),
    _edge("addr", ((4, 3), "float32"), ((2,), "float32"), ((3,), "float32")),
    _edge("addr", ((2, 3), "float32"), ((2, 1), "float32"), ((3,), "float32")),
    _edge("mm", ((2, 0), "bool"), ((0, 3), "bool")),
    _edge("mv", ((2, 0), "bool"), ((0,), "bool")),
    _edge("dot", ((0,), "bool"), ((0,), "bool")),
    _edge("bmm", ((2, 2, 0), "bool"), ((2, 0, 3), "bool")),
    _edge("matmul", ((2, 3), "bool"), ((2, 3, 2), "bool")),
    _edge("matmul", ((3,), "bool"), ((3, 2), "bool")),
    _edge("matmul", ((2, 2, 3), "bool"), ((3, 2), "bool")),
    _edge("matmul", ((2, 0, 3), "bool"), ((3, 2), "bool")),
    _edge("tensordot", ((2, 0), "bool"), ((0, 2), "bool")),
    # an empty product or inner dim never reaches bmm's kernel: batch2's dtype, no check
    _edge("bmm", ((0, 2, 3), "float32"), ((0, 3, 2), "float64")),
    _edge("bmm", ((2, 2, 0), "bool"), ((2, 0, 2), "float64")),
    _edge("baddbmm", ((2, 2, 2), "float32"), ((2, 2, 0), "float32"), ((2, 0, 2), "float64"),
          beta=2),
    _edge("baddbmm", ((0, 2, 2), "float32"), ((0, 2, 3), "float32"), ((0, 3, 2), "float64")),
    _edge("baddbmm", ((2, 2, 2), "int64"), ((2, 2, 0), "int64"), ((2, 0, 2), "float64"),
          beta=2.5),
])
def test_product_edge_cases(name, specs, kwargs):
    problem = _same(lambda lib, *a, **kw: getattr(lib, name)(*a, **kw), list(specs), kwargs)
    assert problem is None, problem


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_matrix_power_over_dtypes(n):
    _assert_grid(lambda lib, a: lib.matrix_power(a, n),
                 [([((2, 2), d)], {}) for d in GRID])


# -- cumsum / cumprod: result dtypes, dtype=/out= choices, in-place forms ------------------

SCAN_FORMS = {
    "function": lambda lib, op, x, dtype: getattr(lib, op)(x, 0, dtype=dtype),
    "method": lambda lib, op, x, dtype: getattr(x, op)(0, dtype=dtype),
    "inplace": lambda lib, op, x, dtype: getattr(x, op + "_")(0, dtype=dtype),
    "out": lambda lib, op, x, dtype: getattr(lib, op)(
        x, 0, out=lib.empty(0, dtype=dtype if dtype is not None else x.dtype)),
}


@pytest.mark.parametrize("form", list(SCAN_FORMS))
@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
def test_scan_dtypes(op, form):
    """Every input dtype with no dtype and with every dtype= (or out= dtype): bool
    results are refused by the CPU kernels, integers accumulate in int64, the in-place
    forms keep self's dtype."""
    cases = []
    for source, target in itertools.product(GRID, [None] + GRID):
        def fn(lib, x, target=target):
            return SCAN_FORMS[form](lib, op, x, None if target is None else getattr(lib, target))
        cases.append((fn, [((2, 3), source)]))
    problems = [p for p in (_same(fn, specs) for fn, specs in cases) if p is not None]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("call", [
    lambda lib: lib.cumsum(lib.ones(2, 3), 0, dtype=lib.float64, out=lib.empty(0)),
    lambda lib: lib.cumsum(lib.ones(()), 0, dtype=lib.bool),
    lambda lib: lib.cumprod(lib.ones(0), 0, dtype=lib.bool),
    lambda lib: lib.cumsum(lib.tensor([0.6, 0.6, 0.7]), 0, out=lib.empty(0, dtype=lib.int64)),
    lambda lib: lib.cumprod(lib.tensor([1.6, 2.6, 0.7]), 0, out=lib.empty(0, dtype=lib.int64)),
    lambda lib: lib.cumsum(lib.tensor([250, 10], dtype=lib.uint8), 0, dtype=lib.uint8),
    lambda lib: lib.ones((), dtype=lib.bool).cumsum_(0),
    lambda lib: lib.ones(0, dtype=lib.bool).cumprod_(0),
    lambda lib: lib.ones(2, dtype=lib.bool).cumsum_(3),
    lambda lib: lib.ones(2).cumsum(3, dtype=lib.bool),
    lambda lib: lib.ones(2, 3, dtype=lib.int32).cumprod_(0, dtype=lib.bool),
], ids=["out_vs_dtype", "0d_bool", "empty_bool", "out_int_casts_first", "cumprod_out_int",
        "uint8_wraps", "inplace_0d_bool", "inplace_empty_bool", "dim_before_bool",
        "dim_before_bool_dtype", "inplace_dtype_first"])
def test_scan_edge_cases(call):
    problem = _same(lambda lib: call(lib), [])
    assert problem is None, problem


# -- the pointwise neighbours: addcmul, addcdiv, lerp -------------------------------------

TERNARY_GRID = ["bool", "uint8", "int64", "float16", "bfloat16", "float32", "float64",
                "complex64"]


@pytest.mark.parametrize("name", ["addcmul", "addcdiv", "lerp"])
def test_ternary_pointwise_over_dtype_grid(name):
    """All dtype triples: addcmul/addcdiv promote (bool refused, integer division
    refused), lerp wants one dtype for input, end and a weight tensor with dims."""
    def fn(lib, x, t1, t2):
        if name == "addcdiv":  # a divisor without zeros, in its own dtype
            t2 = t2 if t2.dtype == lib.bool else t2 + 1
        return getattr(lib, name)(x, t1, t2)

    shapes = ((2, 3), (2, 3), (3,))
    _assert_grid(fn, [(list(zip(shapes, dtypes)), {})
                      for dtypes in itertools.product(TERNARY_GRID, repeat=3)])


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_addc_value_over_dtypes(name):
    """value is converted as the kernel's scalar: truncated for integers, c10's overflow
    error for a complex value on a real tensor or a value past float32's range."""
    values = [0.5, 2.7, -1, 300, True, 70000, 1j, 1e39, 2**70]
    cases = [([((2, 3), d), ((2, 3), d), ((3,), d)], {"value": v})
             for d in TERNARY_GRID for v in values]
    _assert_grid(lambda lib, x, a, b, value: getattr(lib, name)(x, a, b + 1, value=value),
                 cases)


@pytest.mark.parametrize("weight", [0.5, 2, True, 1j, 1e39, 70000.0, "0d_float64", "0d_int64",
                                    "0d_complex", "1d_float64"])
def test_lerp_weights_over_dtypes(weight):
    """A number weight is the kernel's scalar (checked like addcmul's value); a 0-d weight
    tensor joins type promotion, one with dims must match the input's dtype."""
    dtypes = {"0d_float64": "float64", "0d_int64": "int64", "0d_complex": "complex64",
              "1d_float64": "float64"}

    def fn(lib, x, end):
        w = weight
        if isinstance(weight, str):
            shape = (3,) if weight.startswith("1d") else ()
            w = _make(lib, shape, dtypes[weight])
        return lib.lerp(x, end, w)

    _assert_grid(fn, [([((2, 3), d), ((2, 3), d)], {})
                      for d in TERNARY_GRID if d not in ("float16",) or weight != "0d_complex"])


# -- values and gradients where the rewritten paths compute (float64, against torch) -------

F64 = np.float64


@pytest.mark.parametrize("name, fn, shapes", [
    ("addbmm", lambda lib, c, a, b: lib.addbmm(c, a, b, beta=0.5, alpha=-2.0),
     [(3, 4), (2, 3, 5), (2, 5, 4)]),
    ("addbmm_broadcast", lambda lib, c, a, b: lib.addbmm(c, a, b, alpha=3), [(4,), (2, 3, 5),
                                                                            (2, 5, 4)]),
    ("addbmm_no_batch", lambda lib, c, a, b: lib.addbmm(c, a, b, beta=2.5), [(3, 4), (0, 3, 5),
                                                                            (0, 5, 4)]),
    ("addmm_inner0", lambda lib, c, a, b: lib.addmm(c, a, b, beta=1.5), [(3, 4), (3, 0), (0, 4)]),
    ("baddbmm", lambda lib, c, a, b: lib.baddbmm(c, a, b, beta=0.25, alpha=1.5),
     [(2, 3, 4), (2, 3, 5), (2, 5, 4)]),
    ("addr", lambda lib, c, a, b: lib.addr(c, a, b, beta=-1.0, alpha=0.5), [(3, 4), (3,), (4,)]),
    ("lerp", lambda lib, a, b: lib.lerp(a, b, 0.75), [(2, 3), (2, 3)]),
    ("lerp_0d_weight", lambda lib, a, b, w: lib.lerp(a, b, w), [(2, 3), (2, 3), ()]),
    ("addcmul", lambda lib, x, a, b: lib.addcmul(x, a, b, value=-0.5), [(2, 3), (2, 3), (3,)]),
])
def test_float64_values_and_gradients(name, fn, shapes):
    check(fn, *[randn(*shape, dtype=F64) for shape in shapes])


def test_addbmm_double_backward():
    """addbmm's backward folds the saved batches with Tensor ops, so it differentiates."""
    inputs = [ember.tensor(randn(*s, dtype=F64), requires_grad=True)
              for s in ((3, 4), (2, 3, 5), (2, 5, 4))]
    fn = lambda c, a, b: ember.addbmm(c, a, b, beta=0.5, alpha=-2.0)  # noqa: E731
    assert ember.autograd.gradcheck(fn, inputs)
    assert ember.autograd.gradgradcheck(fn, inputs)


def test_16bit_products_scale_in_float32():
    """alpha past float16's range scales a zero product to zero (torch's opmath), not nan."""
    _assert_grid(lambda lib, c, a, b: lib.addmm(c, a, b, alpha=70000),
                 [([((2, 2), "float16"), ((2, 2), "float16"), ((2, 2), "float16")], {})])
