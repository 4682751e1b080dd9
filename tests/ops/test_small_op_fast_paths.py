"""The direct paths small ops take when nothing records (basic indexing with ``...`` and
None, any/all, flip, arithmetic slots, full sum/max/min, argmax) against PyTorch, with and
without grad, plus the view and version-counter rules they must keep."""

import numpy as np
import oracle
import pytest
from oracle import check, check_raises, randn

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


B = randn(2, 3, 4)

INDEX = [
    ("ellipsis_slices", lambda L, x: x[..., 1:3, ::2]),
    ("ellipsis_first_int", lambda L, x: x[0, ...]),
    ("ellipsis_last_int", lambda L, x: x[..., 0]),
    ("ellipsis_alone", lambda L, x: x[...]),
    ("none_alone", lambda L, x: x[None]),
    ("none_ellipsis_none", lambda L, x: x[None, ..., None]),
    ("ints_to_0d_then_ellipsis", lambda L, x: x[1, 2, 3, ...]),
    ("two_ellipsis", lambda L, x: x[..., 0, ...]),
]


@pytest.mark.parametrize("grad", [True, False], ids=["grad", "nograd"])
@pytest.mark.parametrize("name,fn", INDEX, ids=[row[0] for row in INDEX])
def test_basic_index(name, fn, grad):
    check(fn, B, grad=grad)


@pytest.mark.parametrize("index", [(..., 5), (None, 2), (0, 0, 0, 0)])
def test_basic_index_errors(index):
    check_raises(lambda L, x: x[index], B)


def test_basic_index_views_share_version():
    x = ember.zeros(2, 3, 4)
    view = x[..., 1]
    assert view._base is x and view._vc is x._vc
    view[None, ...] = 2.0  # setitem fast path with None and Ellipsis
    assert x._version == 1 and float(x[0, 0, 1]) == 2.0


BOOLS = np.array([[True, False, True], [False, False, False]])
NUMBERS = np.array([[0.0, np.nan, 2.0], [0.0, 0.0, 0.0]], np.float32)
LOGICAL = [
    ("any_bool", lambda L, x: x.any(), BOOLS),
    ("all_bool", lambda L, x: x.all(), BOOLS),
    ("any_bool_transposed", lambda L, x: x.t().any(), BOOLS),
    ("all_empty", lambda L, x: x[:, :0].all(), BOOLS),
    ("any_float_nan", lambda L, x: x.any(), NUMBERS),
    ("all_float_dim", lambda L, x: x.all(1), NUMBERS),
    ("any_uint8_keepdim", lambda L, x: x.to(L.uint8).any(0, keepdim=True), NUMBERS),
    ("all_uint8", lambda L, x: x.to(L.uint8).all(), NUMBERS),
]


@pytest.mark.parametrize("name,fn,values", LOGICAL, ids=[row[0] for row in LOGICAL])
def test_any_all(name, fn, values):
    check(fn, values, grad=False)


ARITH = [
    ("sub_broadcast", lambda L, x, y: x - y[:1, :, :1]),
    ("div_broadcast", lambda L, x, y: x / (y[:1, :, :1] + 3.0)),
    ("mul_float", lambda L, x, y: x * 2.5),
    ("rmul_float", lambda L, x, y: 2.5 * x),
    ("radd_float", lambda L, x, y: 0.5 + y),
    ("add_0d", lambda L, x, y: x[0, 0, 0] + y[1, 1, 1]),
    ("div_by_zero", lambda L, x, y: x / 0.0),
    ("sub_float64", lambda L, x, y: x.double() - y.double()),
    ("mul_float16", lambda L, x, y: x.half() * y.half()),
]


@pytest.mark.parametrize("grad", [True, False], ids=["grad", "nograd"])
@pytest.mark.parametrize("name,fn", ARITH, ids=[row[0] for row in ARITH])
def test_arithmetic_slots(name, fn, grad):
    check(fn, B, randn(2, 3, 4), grad=grad, rtol=1e-3 if "float16" in name else None,
          atol=1e-3 if "float16" in name else None)


def test_arithmetic_slot_broadcast_error():
    check_raises(lambda L, x, y: x - y, randn(2, 3), randn(4))


REDUCE = [
    ("sum", lambda L, x: x.sum()),
    ("sum_float64", lambda L, x: x.double().sum()),
    ("sum_float16", lambda L, x: x.half().sum()),
    ("max", lambda L, x: x.max()),
    ("min", lambda L, x: x.min()),
    ("argmax", lambda L, x: x.argmax()),
    ("argmin_dim_keepdim", lambda L, x: x.argmin(1, keepdim=True)),
    ("flip_last", lambda L, x: x.flip(-1)),
    ("flip_two", lambda L, x: L.flip(x, [0, 2])),
    ("sum_dims", lambda L, x: x.sum((0, 2))),
    ("mean_dim_keepdim", lambda L, x: x.mean(-1, keepdim=True)),
    ("max_dim", lambda L, x: x.max(1)),
    ("min_dim_keepdim", lambda L, x: x.min(0, keepdim=True)),
    ("cat_dim1", lambda L, x: L.cat([x, x * 2.0], 1)),
    ("cat_negative_dim", lambda L, x: L.cat((x, x[..., :1]), dim=-1)),
    ("cat_legacy_empty", lambda L, x: L.cat([x, L.zeros(0)])),
]


@pytest.mark.parametrize("grad", [True, False], ids=["grad", "nograd"])
@pytest.mark.parametrize("name,fn", REDUCE, ids=[row[0] for row in REDUCE])
def test_reductions_and_flip(name, fn, grad):
    if name.startswith("arg") and grad:
        grad = False  # not differentiable
    check(fn, B, grad=grad, rtol=1e-2 if "float16" in name else None,
          atol=1e-2 if "float16" in name else None)


@pytest.mark.parametrize("fn", [lambda L, x: x.max(), lambda L, x: x.argmax(),
                                lambda L, x: x.flip(0, 0), lambda L, x: x.sum(2),
                                lambda L, x: L.cat([x, x.t()]), lambda L, x: L.cat([x, x], 2),
                                lambda L, x: L.cat([x, x[0, 0]])])
def test_reduction_errors(fn):
    check_raises(fn, np.zeros((0, 3), np.float32))


def test_no_grad_results_are_plain():
    x = ember.ones(3, requires_grad=True)
    with ember.no_grad():
        for result in (x - x, x * 2.0, x.sum(), x.max(), x.flip(0)):
            assert not result.requires_grad and result.grad_fn is None
        view = x[..., 1:]  # a view keeps requires_grad under no_grad, as PyTorch's
        assert view.requires_grad and view.grad_fn is None
    assert (x * 2.0).grad_fn is not None and x.sum().grad_fn is not None
