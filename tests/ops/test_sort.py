"""Sorting and selection ops against PyTorch: values, indices, dtypes, gradients, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
import oracle
from oracle import RNG, check, check_raises, randn

X345 = randn(3, 4, 5)
# Integer-valued floats with repeats: ties everywhere (stable order must match torch).
TIED = RNG.integers(0, 4, (4, 6)).astype(np.float32)

DIM_CASES = [
    ("sort", lambda lib, x, d: lib.sort(x, d)),
    ("sort_desc", lambda lib, x, d: x.sort(d, descending=True)),
    ("sort_stable", lambda lib, x, d: lib.sort(x, dim=d, stable=True)),
    ("argsort", lambda lib, x, d: lib.argsort(x, d)),
    ("argsort_desc", lambda lib, x, d: x.argsort(d, descending=True)),
    ("topk", lambda lib, x, d: lib.topk(x, 2, d)),
    ("topk_smallest", lambda lib, x, d: x.topk(3, d, largest=False)),
    ("kthvalue", lambda lib, x, d: lib.kthvalue(x, 2, d)),
    ("kthvalue_keep", lambda lib, x, d: x.kthvalue(1, d, keepdim=True)),
    ("median", lambda lib, x, d: lib.median(x, d)),
    ("median_keep", lambda lib, x, d: x.median(d, keepdim=True)),
    ("nanmedian", lambda lib, x, d: lib.nanmedian(x, d)),
    ("mode", lambda lib, x, d: lib.mode(x, d)),
    ("quantile", lambda lib, x, d: lib.quantile(x, 0.3, d)),
    ("quantile_keep", lambda lib, x, d: x.quantile(0.75, d, keepdim=True)),
    ("diff", lambda lib, x, d: lib.diff(x, dim=d)),
    ("diff2", lambda lib, x, d: x.diff(2, d)),
]


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("name,fn", DIM_CASES, ids=[n for n, _ in DIM_CASES])
def test_along_dim(name, fn, dim):
    check(lambda lib, x: fn(lib, x, dim), X345)


@pytest.mark.parametrize("name,fn", DIM_CASES, ids=[n for n, _ in DIM_CASES])
def test_non_contiguous(name, fn):
    check(lambda lib, x: fn(lib, x.transpose(0, 2), 1), X345)


# topk and kthvalue/median with dim use partial sorts in torch: among equal values
# their indices are implementation-defined, so ties are checked on the stable ops only.
TIE_CASES = ["sort", "sort_desc", "sort_stable", "argsort", "argsort_desc", "mode", "diff"]
# torch's CUDA sort with stable=False orders equal elements by its sorting network (CPU's
# sort is stable), so where torch runs on cuda those ops' ties are checked for validity.
UNSTABLE = {"sort", "sort_desc", "argsort", "argsort_desc", "msort", "sort_bool", "topk_int"}


def check_ties(name, fn, x, dim, grad=True, sorted_of=lambda t: t):
    """``check(fn)``; where torch's unstable sort orders ties its own way, the indices
    are compared by the values they pick from the sorted tensor (``sorted_of(x)``) and
    gradients, which follow the indices, are not compared. torch's CUDA mode breaks a tie
    in counts its own way too (the larger value, where the CPU's takes the smaller): there
    ember's mode is checked to be a most frequent value, with an index that holds it."""
    if oracle.TORCH_DEVICE != "cpu" and name == "mode":
        return _check_is_a_mode(fn, x, dim)
    if oracle.TORCH_DEVICE == "cpu" or name not in UNSTABLE:
        return check(fn, x, grad=grad)

    def picked(lib, t):
        out = fn(lib, t)
        if isinstance(out, tuple):
            return out[0], sorted_of(t).gather(dim, out[1])
        return out if out.dtype == t.dtype else sorted_of(t).gather(dim, out)

    return check(picked, x, grad=False)


def _check_is_a_mode(fn, x, dim):
    with oracle.on_device(ember):
        values, indices = fn(ember, ember.tensor(x))
    rows = np.moveaxis(x, dim, -1)
    values, indices = oracle.as_numpy(values), oracle.as_numpy(indices)
    for row, value, index in zip(rows.reshape(-1, rows.shape[-1]), values.reshape(-1),
                                 indices.reshape(-1)):
        counts = {v: int((row == v).sum()) for v in np.unique(row)}
        assert counts[value] == max(counts.values()) and row[index] == value


@pytest.mark.parametrize("name", TIE_CASES)
def test_ties(name):
    fn = dict(DIM_CASES)[name]
    check_ties(name, lambda lib, x: fn(lib, x, 1), TIED, 1)
    check_ties(name, lambda lib, x: fn(lib, x, 0), TIED, 0)


ZERO_D_CASES = ["sort", "argsort", "topk_smallest", "kthvalue", "median", "mode", "quantile"]


@pytest.mark.parametrize("name", ZERO_D_CASES)
def test_zero_d(name):
    fn = dict(DIM_CASES)[name]
    if name == "topk_smallest":
        fn = lambda lib, x, d: x.topk(1, d, largest=False)  # noqa: E731
    if name == "kthvalue":
        fn = lambda lib, x, d: x.kthvalue(1, d)  # noqa: E731
    x0 = np.array(1.5, np.float32)
    check(lambda lib, x: fn(lib, x, 0), x0)
    check(lambda lib, x: fn(lib, x, -1), x0)


FULL_CASES = [
    ("median", lambda lib, x: x.median()),
    ("nanmedian", lambda lib, x: lib.nanmedian(x)),
    ("quantile", lambda lib, x: lib.quantile(x, 0.4)),
    ("quantile_q", lambda lib, x: x.quantile(lib.tensor([0.0, 0.25, 0.5, 1.0]))),
    ("quantile_q_dim", lambda lib, x: lib.quantile(x, lib.tensor([0.1, 0.9]), dim=1, keepdim=True)),
    ("quantile_q_all_keep", lambda lib, x: lib.quantile(x, lib.tensor([0.1, 0.9]), keepdim=True)),
    ("msort", lambda lib, x: lib.msort(x)),
]


@pytest.mark.parametrize("data", ["random", "tied"])
@pytest.mark.parametrize("name,fn", FULL_CASES, ids=[n for n, _ in FULL_CASES])
def test_full(name, fn, data):
    # torch's quantile sorts unstably, so with ties its gradient may pick another equal
    # element: compare values only there.
    tied_quantile = data == "tied" and name.startswith("quantile")
    if data == "tied":
        check_ties(name, fn, TIED, -1, grad=not tied_quantile)
    else:
        check(fn, X345[0], grad=not tied_quantile)


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("q", [0.0, 0.2, 0.5, 0.9, 1.0])
def test_quantile_interpolation(interpolation, q):
    check(lambda lib, x: lib.quantile(x, q, dim=1, interpolation=interpolation), randn(3, 5))
    check(lambda lib, x: lib.quantile(x, q, interpolation=interpolation), randn(4))


def test_nan_handling():
    x = np.array([[1.0, np.nan, 3.0, 2.0], [4.0, 5.0, 6.0, 0.5], [np.nan] * 4], np.float32)
    check_ties("sort", lambda lib, t: t.sort(1), x, 1, grad=False)  # a row of NaNs: ties
    check_ties("sort", lambda lib, t: t.sort(1, descending=True), x, 1, grad=False)
    for fn in (lambda lib, t: t[:2].median(1), lambda lib, t: t[:2].nanmedian(1),
               lambda lib, t: t.median(),
               lambda lib, t: t.nanmedian(1).values, lambda lib, t: t.median(1).values,
               lambda lib, t: lib.nanmedian(t[:2]), lambda lib, t: t.quantile(0.5, 1),
               lambda lib, t: t.nanquantile(0.5, 1), lambda lib, t: t[:2].topk(2, 1)):
        check(fn, x, grad=False)


def test_median_tie_gradient_split():
    # Without dim the gradient is shared equally by every element equal to the median.
    check(lambda lib, x: x.median(), np.array([3.0, 1.0, 3.0, 3.0, 5.0], np.float32))
    check(lambda lib, x: x.nanmedian(), np.array([2.0, 2.0, 7.0, 1.0], np.float32))


EMPTY_CASES = [
    lambda lib, x: x.median(0), lambda lib, x: x.argsort(0), lambda lib, x: x.topk(0, 1),
    lambda lib, x: x.topk(1, 0), lambda lib, x: x.diff(), lambda lib, x: x.diff(dim=0),
    lambda lib, x: lib.unique(x.detach(), dim=1), lambda lib, x: lib.unique_consecutive(x.detach()),
    lambda lib, x: lib.histc(x), lambda lib, x: lib.searchsorted(lib.tensor([1.0, 2.0]), x),
    lambda lib, x: x.kthvalue(1, 0), lambda lib, x: x.mode(0), lambda lib, x: x.nanmedian(),
]


@pytest.mark.parametrize("index", range(len(EMPTY_CASES)))
def test_empty_table(index):
    check(EMPTY_CASES[index], randn(2, 0))


def test_empty():
    check(lambda lib, x: x.sort(1), randn(2, 0))
    check(lambda lib, x: x.sort(0), randn(2, 0))
    check(lambda lib, x: x.topk(0, 1), randn(2, 3))
    check(lambda lib, x: x.median(), randn(0), grad=False)
    check(lambda lib, x: lib.unique(x), randn(0), grad=False)
    check(lambda lib, x: x.diff(dim=1), randn(2, 1))


def test_named_tuples():
    x = ember.tensor([[3.0, 1.0, 2.0]])
    s = x.sort()
    assert s.values.tolist() == [[1.0, 2.0, 3.0]] and s.indices.tolist() == [[1, 2, 0]]
    values, indices = ember.topk(x, 1)
    assert values.tolist() == [[3.0]] and indices.tolist() == [[0]]
    assert repr(ember.kthvalue(x, 1)).startswith("torch.return_types.kthvalue(")


INT_DATA = np.array([3, 1, 2, 1, 3, 3, 0], np.int64)

NONDIFF_CASES = [
    ("unique", lambda lib, x: lib.unique(x)),
    ("unique_all", lambda lib, x: lib.unique(x, return_inverse=True, return_counts=True)),
    ("unique_unsorted", lambda lib, x: x.unique(sorted=False, return_counts=True)),
    ("unique_dim", lambda lib, x: lib.unique(lib.tensor([[1, 2], [0, 1], [1, 2], [0, 0]]),
                                             dim=0, return_inverse=True, return_counts=True)),
    ("unique_dim1", lambda lib, x: lib.unique(x[:6].reshape(2, 3), dim=1, return_inverse=True)),
    ("unique_2d", lambda lib, x: lib.unique(x[:6].reshape(2, 3), return_inverse=True)),
    ("unique_consecutive",
     lambda lib, x: lib.unique_consecutive(x, return_inverse=True, return_counts=True)),
    ("unique_consecutive_m", lambda lib, x: lib.tensor([1, 1, 2, 2, 3, 1, 1]).unique_consecutive()),
    ("unique_consecutive_dim", lambda lib, x: lib.unique_consecutive(
        lib.tensor([[1, 1, 2], [1, 1, 2], [0, 1, 1]]), dim=0, return_counts=True,
        return_inverse=True)),
    ("bincount", lambda lib, x: lib.bincount(x)),
    ("bincount_min", lambda lib, x: x.bincount(minlength=10)),
    ("bincount_w", lambda lib, x: lib.bincount(x, weights=lib.linspace(0, 1, 7))),
    ("bincount_w64", lambda lib, x: lib.bincount(x, weights=lib.linspace(0, 1, 7).double())),
    ("histc", lambda lib, x: lib.histc(x.float(), bins=4)),
    ("histc_range", lambda lib, x: x.double().histc(bins=5, min=0.5, max=2.5)),
    ("histc_default", lambda lib, x: lib.histc(x.float() * 0.37)),
    ("searchsorted", lambda lib, x: lib.searchsorted(lib.tensor([0, 1, 3, 5]), x)),
    ("searchsorted_right",
     lambda lib, x: lib.searchsorted(lib.tensor([0, 1, 3, 5]), x, right=True)),
    ("searchsorted_side",
     lambda lib, x: lib.searchsorted(lib.tensor([0.0, 1, 3]), x.float(), side="right")),
    ("searchsorted_int32",
     lambda lib, x: lib.searchsorted(lib.tensor([0, 1, 3]), x, out_int32=True)),
    ("searchsorted_scalar", lambda lib, x: lib.searchsorted(lib.tensor([0, 1, 3]), 2)),
    ("searchsorted_batched", lambda lib, x: lib.searchsorted(
        lib.tensor([[0, 2, 4], [1, 1, 3]]), lib.tensor([[1, 4, 5, 0], [1, 2, 3, 0]]))),
    ("searchsorted_batched_right", lambda lib, x: lib.searchsorted(
        lib.tensor([[0, 2, 4], [1, 1, 3]]), lib.tensor([[1, 4, 5, 0], [1, 2, 3, 0]]), right=True)),
    ("searchsorted_sorter", lambda lib, x: lib.searchsorted(
        lib.tensor([3, 0, 1]), x, sorter=lib.tensor([1, 2, 0]))),
    ("bucketize", lambda lib, x: lib.bucketize(x, lib.tensor([1, 2]))),
    ("bucketize_right",
     lambda lib, x: lib.bucketize(x.reshape(7, 1), lib.tensor([1, 2]), right=True)),
    ("diff_int", lambda lib, x: lib.diff(x)),
    ("diff_bool", lambda lib, x: (x > 1).diff()),
    ("diff_prepend",
     lambda lib, x: x.diff(n=2, prepend=lib.tensor([0]), append=lib.tensor([9, 9]))),
    ("argsort_int", lambda lib, x: x.argsort(descending=True, stable=True)),
    ("sort_bool", lambda lib, x: (x > 1).sort(descending=True)),
    ("median_int", lambda lib, x: x.median()),
    ("mode_int", lambda lib, x: x.mode()),
    ("topk_int", lambda lib, x: x.topk(3)),
]


@pytest.mark.parametrize("name,fn", NONDIFF_CASES, ids=[n for n, _ in NONDIFF_CASES])
def test_integer_ops(name, fn):
    sorted_of = (lambda t: t > 1) if name == "sort_bool" else (lambda t: t)
    check_ties(name, fn, INT_DATA, -1, grad=False, sorted_of=sorted_of)


def test_diff_prepend_gradient():
    check(lambda lib, x, p: lib.diff(x, dim=0, prepend=p), randn(3, 2), randn(1, 2))
    check(lambda lib, x, a: x.diff(append=a), randn(2, 3), randn(2, 2))


GRAD_CASES = [
    ("sort", lambda x: x.sort(1).values), ("sort_desc", lambda x: x.sort(0, descending=True)[0]),
    ("topk", lambda x: x.topk(2).values), ("kthvalue", lambda x: x.kthvalue(2, 1).values),
    ("median_dim", lambda x: x.median(0).values), ("median", lambda x: x.median()),
    ("nanmedian", lambda x: x.nanmedian(1).values), ("mode", lambda x: x.mode(1).values),
    ("quantile", lambda x: x.quantile(0.3, 1)),
    ("quantile_q", lambda x: x.quantile(ember.tensor([0.2, 0.7], dtype=ember.float64))),
    ("diff", lambda x: x.diff(dim=0)), ("diff2", lambda x: x.diff(2)),
]
GRAD_INPUT = np.random.default_rng(3).standard_normal((3, 4))


@pytest.mark.parametrize("name,fn", GRAD_CASES, ids=[n for n, _ in GRAD_CASES])
def test_gradcheck(name, fn):
    x = ember.tensor(GRAD_INPUT, requires_grad=True)
    assert ember.autograd.gradcheck(fn, (x,))
    assert ember.autograd.gradgradcheck(fn, (x,))


ERROR_CASES = [
    ("sort_bad_dim", lambda lib, x: x.sort(2), "Dimension out of range"),
    ("topk_k", lambda lib, x: x.topk(5), "selected index k out of range"),
    ("kthvalue_k", lambda lib, x: x.kthvalue(5), "kthvalue\\(\\): selected number k out of range"),
    ("median_empty_dim",
     lambda lib, x: x[:, :0].median(1), "median\\(\\): Expected reduction dim 1"),
    ("mode_empty_dim", lambda lib, x: x[:, :0].mode(1), "mode\\(\\): Expected reduction dim 1"),
    ("kthvalue_empty",
     lambda lib, x: x[:0].kthvalue(1, 0), "kthvalue\\(\\): Expected reduction dim 0"),
    ("quantile_int", lambda lib, x: x.long().quantile(0.5), "must be either float or double"),
    ("quantile_empty", lambda lib, x: x[:0].quantile(0.5), "must be non-empty"),
    ("quantile_range",
     lambda lib, x: x.quantile(1.5), "q must be in the range \\[0, 1\\] but got 1.5"),
    ("quantile_interp",
     lambda lib, x: x.quantile(0.5, interpolation="foo"), "interpolation must be one of"),
    ("bincount_2d", lambda lib, x: lib.bincount(x.long()), "bincount only supports 1-d"),
    ("bincount_neg", lambda lib, x: lib.bincount(lib.tensor([-1, 2])), "bincount only supports"),
    ("histc_int", lambda lib, x: lib.histc(x.long()), "not implemented for 'Long'"),
    ("histc_bins", lambda lib, x: lib.histc(x, bins=0), "bins must be > 0, but got 0"),
    ("histc_range", lambda lib, x: lib.histc(x, 3, min=3, max=1), "max must be larger than min"),
    ("bincount_minlength", lambda lib, x: lib.bincount(lib.tensor([1, 2]), minlength=-1),
     "minlength should be >= 0"),
    ("searchsorted_shapes", lambda lib, x: lib.searchsorted(x, x[:1]),
     "first N-1 dimensions of boundaries tensor and input value tensor must match"),
    ("diff_0d", lambda lib, x: x.sum().diff(), "diff expects input to be at least one-dimensional"),
    ("searchsorted_side",
     lambda lib, x: lib.searchsorted(x[0], x[0], side="middle"), "side can only be"),
    ("bucketize_2d",
     lambda lib, x: lib.bucketize(x[0], x), "boundaries tensor must be 1 dimension"),
    ("unique_zero_sized",
     lambda lib, x: lib.unique(x[:, :0], dim=0), "There are 0 sized dimensions"),
]


@pytest.mark.parametrize("name,fn,match", ERROR_CASES, ids=[n for n, _, _ in ERROR_CASES])
def test_errors(name, fn, match):
    check_raises(fn, randn(3, 4), match=match)


def test_double_backward_through_sort_matches_torch():
    grads = []
    for lib in (ember, torch):
        x = lib.tensor(GRAD_INPUT, requires_grad=True)
        out = (x.sort(1).values * lib.arange(4.0, dtype=lib.float64)).sum() ** 2
        (g,) = lib.autograd.grad(out, x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        grads.append((np.asarray(g.detach()), np.asarray(gg.detach())))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-7)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-7)


NODE_NAMES = [
    lambda t: t.sort()[0], lambda t: t.topk(2)[0], lambda t: t.kthvalue(2)[0],
    lambda t: t.median(), lambda t: t.median(1)[0], lambda t: t.nanmedian(),
    lambda t: t.nanmedian(1)[0], lambda t: t.mode(1)[0],
]


@pytest.mark.parametrize("index", range(len(NODE_NAMES)))
def test_grad_fn_names(index):
    fn = NODE_NAMES[index]
    e = fn(ember.randn(3, 4, requires_grad=True))
    t = fn(torch.randn(3, 4, requires_grad=True))
    assert e.grad_fn.name() == t.grad_fn.name()


def test_out_argument():
    x = randn(3, 4)
    results = []
    for lib in (ember, torch):
        values, indices = lib.zeros(3, 2), lib.zeros(3, 2, dtype=lib.int64)
        returned = lib.topk(lib.tensor(x), 2, out=(values, indices))
        assert returned[0] is values and returned[1] is indices
        results.append((np.asarray(values), np.asarray(indices)))
    np.testing.assert_allclose(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


WIDE = randn(3, 64)
WIDE_CASES = [
    ("topk_largest", lambda lib, x: x.topk(5, 1)),
    ("topk_smallest", lambda lib, x: lib.topk(x, 7, 0 if x.shape[0] > 20 else 1, largest=False)),
    ("topk_dim0", lambda lib, x: x.t().topk(3, 0)),
    ("kthvalue", lambda lib, x: x.kthvalue(40, 1)),
    ("median", lambda lib, x: x.median(1, keepdim=True)),
    ("median_full", lambda lib, x: x.median()),
    # Several NaN per row tie; which NaN torch reports is unspecified: compare values.
    ("topk_nan", lambda lib, x: lib.where(x > 1.5, float("nan"), x).topk(8, 1).values),
]


@pytest.mark.parametrize("name,fn", WIDE_CASES, ids=[n for n, _ in WIDE_CASES])
def test_partial_selection_paths(name, fn):
    """Wide slices take the O(n) partition paths of topk/kthvalue/median."""
    check(fn, WIDE, grad=name != "topk_nan")


BOOL_ERRORS = [
    ("median", lambda lib, b: b.median()), ("median_dim", lambda lib, b: b.median(1)),
    ("nanmedian", lambda lib, b: lib.nanmedian(b, 0)), ("kthvalue", lambda lib, b: b.kthvalue(1)),
    ("topk", lambda lib, b: b.topk(1)), ("argmax", lambda lib, b: b.argmax()),
    ("argmin_dim", lambda lib, b: b.argmin(1)),
]


@pytest.mark.parametrize("name,fn", BOOL_ERRORS, ids=[n for n, _ in BOOL_ERRORS])
def test_bool_input_errors(name, fn):
    check_raises(fn, np.array([[True, False, True]]),
                 match="not implemented for 'Bool'|does not support bool")


AXIS_CASES = [
    lambda lib, x: x.sort(axis=0), lambda lib, x: lib.topk(x, 2, axis=0),
    lambda lib, x: x.median(axis=1, keepdims=True), lambda lib, x: x.quantile(0.5, axis=1),
    lambda lib, x: x.diff(axis=0), lambda lib, x: lib.argsort(x, axis=0),
]


@pytest.mark.parametrize("index", range(len(AXIS_CASES)))
def test_numpy_axis_aliases(index):
    check(AXIS_CASES[index], randn(3, 4))


@pytest.mark.parametrize("op", ["unique", "unique_dim", "unique_consecutive"])
def test_unique_has_no_derivative(op):
    call = {"unique": lambda lib, y: lib.unique(y),
            "unique_dim": lambda lib, y: lib.unique(y, dim=0),
            "unique_consecutive": lambda lib, y: lib.unique_consecutive(y)}[op]
    names = []
    for lib in (ember, torch):
        y = lib.tensor([1.0, 2.0, 2.0], requires_grad=True)
        out = call(lib, y)
        assert out.requires_grad
        names.append(out.grad_fn.name())
        with pytest.raises(NotImplementedError, match="the derivative for '.*' is not implemented"):
            out.sum().backward()
    assert names[0] == names[1]
