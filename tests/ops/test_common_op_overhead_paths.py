"""The direct paths of expand, sigmoid, softmax/log_softmax and clamp (and the ops tuned
with them) when nothing records, against PyTorch with and without grad, plus the view and
version-counter rules the expand view must keep."""

import numpy as np
import pytest

import ember
from oracle import check, check_raises, randn

X = randn(3, 5)

ROWS = [
    ("expand_row", lambda L, x: x[:1].expand(4, 5)),
    ("expand_lead_and_minus1", lambda L, x: x[:, :1].expand(2, -1, 6)),
    ("expand_noncontiguous", lambda L, x: x.t()[:1].expand(3, 3)),
    ("expand_0d", lambda L, x: x[0, 0].expand(2, 2)),
    ("sigmoid", lambda L, x: L.sigmoid(x * 40.0)),
    ("sigmoid_method", lambda L, x: x.sigmoid()),
    ("softmax", lambda L, x: L.softmax(x, 1)),
    ("softmax_dim0", lambda L, x: L.softmax(x * 100.0, 0)),
    ("log_softmax", lambda L, x: L.log_softmax(x * 100.0, -1)),
    ("softmax_float64", lambda L, x: L.softmax(x, 1, dtype=L.float64)),
    ("clamp_both", lambda L, x: L.clamp(x, -0.5, 0.5)),
    ("clamp_int_bounds", lambda L, x: L.clamp(x, 0, 1)),
    ("clamp_min_only", lambda L, x: x.clamp(min=0.1)),
    ("clamp_max_only", lambda L, x: x.clamp(max=-0.1)),
    ("clamp_inverted", lambda L, x: L.clamp(x, 1.0, 0.0)),
    ("clamp_nan_bound", lambda L, x: L.clamp(x, float("nan"), 0.5)),
    ("clamp_float16", lambda L, x: L.clamp(x.half(), -0.5, 0.25).float()),
]


@pytest.mark.parametrize("grad", [True, False], ids=["grad", "nograd"])
@pytest.mark.parametrize("name,fn", ROWS, ids=[row[0] for row in ROWS])
def test_matches_torch(name, fn, grad):
    check(fn, X, grad=grad)


# Views made under no_grad of a tensor that requires grad still require grad in PyTorch
# (ember gives plain tensors there, for every view op): the expand rows stay out.
NOT_VIEWS = [row for row in ROWS if not row[0].startswith("expand")]


@pytest.mark.parametrize("name,fn", NOT_VIEWS, ids=[row[0] for row in NOT_VIEWS])
def test_no_grad_mode(name, fn):
    def under_no_grad(L, x):
        with L.no_grad():
            return fn(L, x)

    check(under_no_grad, X)


# distinct values (PyTorch's order among equal values is its kernel's, not positional)
SMALL = np.array([[1.0, 3.0, 2.5, np.nan, -0.5, 0.0, 3.5, 1.5],
                 [2.0, 2.2, 2.4, 2.6, 1.0, 1.2, 5.0, 5.5]], np.float32)
WIDE = randn(30, 100)  # over the size where topk partitions first

TOPK = [
    ("largest", lambda L, x: L.topk(x, 3, 1), SMALL),
    ("smallest", lambda L, x: L.topk(x, 3, largest=False), SMALL),
    ("dim0", lambda L, x: x.topk(1, 0), SMALL),
    ("k_all", lambda L, x: L.topk(x, 8), SMALL),
    ("k_zero", lambda L, x: L.topk(x, 0), SMALL),
    ("wide_partition", lambda L, x: L.topk(x, 5), WIDE),
    ("wide_smallest", lambda L, x: L.topk(x, 7, -1, False), WIDE),
]


@pytest.mark.parametrize("grad", [True, False], ids=["grad", "nograd"])
@pytest.mark.parametrize("name,fn,values", TOPK, ids=[row[0] for row in TOPK])
def test_topk(name, fn, values, grad):
    check(fn, values, grad=grad)


def test_topk_integers_and_contiguous_indices():
    ints = np.array([[4, 1, 5, 9, 0, 8], [3, 7, 2, -3, 6, 1]], np.int64)
    check(lambda L, x: L.topk(x, 2), ints, grad=False)
    check(lambda L, x: L.topk(x, 4, largest=False), ints, grad=False)
    values, indices = ember.topk(ember.tensor(SMALL), 3)
    assert values.is_contiguous() and indices.is_contiguous()


GATHER_INDEX = np.array([[0, 4, 4], [1, 0, 2]], np.int64)

INDEXING = [
    ("gather", lambda L, x, i: L.gather(x, 1, i)),
    ("gather_dim0", lambda L, x, i: x.gather(0, i[:, :2] % 3)),
    ("gather_repeats_grad_accumulates", lambda L, x, i: L.gather(x, 1, i * 0)),
    ("index_select", lambda L, x, i: L.index_select(x, 1, i[0])),
    ("index_select_negative_dim", lambda L, x, i: x.index_select(-2, i[1])),
]


@pytest.mark.parametrize("grad", [True, False], ids=["grad", "nograd"])
@pytest.mark.parametrize("name,fn", INDEXING, ids=[row[0] for row in INDEXING])
def test_gather_index_select(name, fn, grad):
    check(fn, X, GATHER_INDEX, grad=grad)


@pytest.mark.parametrize("fn", [
    lambda L, x: L.gather(x, 1, L.tensor([[5]])),
    lambda L, x: L.index_select(x, 0, L.tensor([3])),
    lambda L, x: L.index_select(x, 0, L.tensor([-4])),
    lambda L, x: L.index_select(x, 0, L.tensor([0.0])),
], ids=["gather_out_of_range", "index_select_high", "index_select_low", "index_select_float"])
def test_gather_index_select_errors(fn):
    check_raises(fn, X)


@pytest.mark.parametrize("grad", [True, False], ids=["grad", "nograd"])
def test_clamp_keeps_signed_zeros_on_cpu(grad):
    # 1 / result tells -0.0 (-inf) from 0.0 (inf): PyTorch's clamp keeps an input -0.0.
    # NumPy's clip ufunc does; the CuPy path (maximum/minimum) does not yet.
    import torch

    zeros = [-0.0, 0.0, -0.0, 2.0]
    for low, high in ((0.0, 1.0), (-0.0, 0.0)):
        mine = ember.tensor(zeros, device="cpu", requires_grad=grad)
        ref = torch.tensor(zeros, requires_grad=grad)
        got = (1.0 / ember.clamp(mine, low, high)).tolist()
        assert got == (1.0 / torch.clamp(ref, low, high)).tolist()


def test_integer_inputs():
    ints = np.array([[-3, 0, 2], [5, 1, -1]], np.int64)
    check(lambda L, x: L.clamp(x, 0, 2), ints, grad=False)
    check(lambda L, x: L.clamp(x, 0.5), ints, grad=False)
    check(lambda L, x: L.sigmoid(x), ints, grad=False)
    check(lambda L, x: x[:1].expand(3, 3), ints, grad=False)


def test_expand_view_shares_memory_and_version():
    base = ember.zeros(1, 3)
    view = base.expand(2, 3)
    assert view._base is base and view._vc is base._vc
    assert view.stride() == (0, 1)
    base.add_(1.0)
    assert view._version == base._version == 1
    assert view.tolist() == [[1.0, 1.0, 1.0]] * 2


def test_unrecorded_results_are_plain():
    x = ember.tensor(X)
    for out in (x[:1].expand(2, 5), x.sigmoid(), ember.softmax(x, 1), ember.clamp(x, 0, 1)):
        assert out.grad_fn is None and not out.requires_grad
    x.requires_grad_()
    with ember.no_grad():
        assert ember.clamp(x, 0, 1).grad_fn is None
    assert ember.clamp(x, 0, 1).grad_fn.name() == "ClampBackward1"
    assert x[:1].expand(2, 5).grad_fn.name() == "ExpandBackward0"
