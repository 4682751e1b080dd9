"""Indexing and gather/scatter-family ops against PyTorch, plus hypothesis tests for
random index tuples and broadcasting."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from oracle import check, check_raises, randn

A = randn(3, 4)
B = randn(2, 3, 4)
V = randn(5)
I = np.arange(12, dtype=np.int64).reshape(3, 4)
IDX = np.array([[0, 1, 2, 0], [2, 2, 1, 0]], dtype=np.int64)


def T(L, values, dtype=None):
    return L.tensor(values) if dtype is None else L.tensor(values, dtype=dtype)


GETITEM = [
    ("int", lambda L, x: x[1]),
    ("neg_int", lambda L, x: x[-1, -2]),
    ("scalar_0d", lambda L, x: x[0, 1, 2]),
    ("slice", lambda L, x: x[1:, :3]),
    ("slice_step", lambda L, x: x[::2, 1::2]),
    ("slice_beyond", lambda L, x: x[5:10]),
    ("none", lambda L, x: x[None, :, None]),
    ("ellipsis", lambda L, x: x[..., 1]),
    ("ellipsis_none", lambda L, x: x[0, ..., None]),
    ("list", lambda L, x: x[[0, 1, 1]]),
    ("list_repeat", lambda L, x: x[:, [2, 2, 0]]),
    ("tensor_idx", lambda L, x: x[T(L, [[1, 0], [1, 1]])]),
    ("tensor_neg", lambda L, x: x[T(L, [-1, 0])]),
    ("tensor_0d", lambda L, x: x[T(L, 1)]),
    ("two_adv", lambda L, x: x[T(L, [0, 1]), :, T(L, [3, 2])]),
    ("adv_broadcast", lambda L, x: x[T(L, [[0], [1]]), T(L, [0, 2, 1])]),
    ("adv_split", lambda L, x: x[T(L, [1, 0]), 1:, T(L, [0, 3])]),
    ("adv_mid", lambda L, x: x[:, T(L, [2, 0]), 1:3]),
    ("mask", lambda L, x: x[x > 0]),
    ("mask_dim", lambda L, x: x[:, T(L, [True, False, True])]),
    ("mask_leading", lambda L, x: x[T(L, [[True, False, True], [False, False, True]])]),
    ("bool_scalar", lambda L, x: x[True]),
    ("int32_idx", lambda L, x: x[T(L, [1, 0], L.int32)]),
    ("int_then_adv", lambda L, x: x[0, :, [1, 2]]),
    ("adv_int_adv", lambda L, x: x[[1, 0], 2, [3, 3]]),
    ("uint8_mask", lambda L, x: x[T(L, [1, 0], L.bool)]),
    ("empty_list", lambda L, x: x[[]]),
    ("mix_int_adv", lambda L, x: x[1, [0, 2]]),
    ("mix_none_adv", lambda L, x: x[None, [1, 0], ..., 2]),
    ("noncontig_adv", lambda L, x: x.transpose(0, 2)[[1, 3], 1:]),
    ("two_ellipsis", lambda L, x: x[..., [0], ...]),
    ("two_ellipsis_int", lambda L, x: x[..., 0, ...]),
    ("empty_slice", lambda L, x: x[:, 2:1]),
    ("empty_mask", lambda L, x: x[x > 100]),
    ("full_0d", lambda L, x: x[1, 2, 3][None][...]),
]


@pytest.mark.parametrize("name,fn", GETITEM, ids=[g[0] for g in GETITEM])
def test_getitem(name, fn):
    check(fn, B)


SETITEM = [
    ("int", lambda x, v: x.__setitem__(1, v[0]), (3, 4)),
    ("slice_step", lambda x, v: x.__setitem__((slice(None), slice(None, None, 2)), v[0]), (2,)),
    ("int_adv", lambda x, v: x.__setitem__((0, slice(None), [1, 3]), v[:, :2]), None),
    ("scalar", lambda x, v: x.__setitem__((0, 1), 3.5), None),
    ("mask", lambda x, v: x.__setitem__(x > 0, -1.0), None),
    ("adv", lambda x, v: x.__setitem__(([0, 1], [2, 0]), v[0, :1]), (4,)),
    ("ellipsis", lambda x, v: x.__setitem__((..., 0), v[:, 0]), (3,)),
    ("broadcast", lambda x, v: x.__setitem__(slice(None), v[0, 0]), (4,)),
]


@pytest.mark.parametrize("name,fn,_", SETITEM, ids=[s[0] for s in SETITEM])
def test_setitem_values_and_grads(name, fn, _):
    def run(L, x, v):
        base = x * 1  # non-leaf, so the in-place write is recorded
        fn(base, v * 2)
        return base

    check(run, B, A)


SETITEM_DTYPES = [
    ("scalar_into_long", lambda L, x: x.__setitem__(0, 1.7)),
    ("float_tensor_basic", lambda L, x: x.__setitem__(slice(1, None), L.tensor([3.5, 4.9]))),
    ("float_0d_mask", lambda L, x: x.__setitem__(x > 0, L.tensor(2.5))),
    ("scalar_adv", lambda L, x: x.__setitem__([0, 2], 9.9)),
    ("bool_from_int", lambda L, x: x.__setitem__(0, 5)),
]


@pytest.mark.parametrize("name,fn", SETITEM_DTYPES, ids=[c[0] for c in SETITEM_DTYPES])
def test_setitem_casts_like_torch(name, fn):
    for dtype in ("int64", "bool"):
        data = np.array([0, 1, 2]).astype(dtype)
        e, t = ember.tensor(data), torch.tensor(data)
        fn(ember, e), fn(torch, t)
        assert e.dtype == getattr(ember, dtype if dtype != "bool" else "bool")
        assert e.tolist() == t.tolist()


def test_setitem_advanced_needs_matching_dtype():
    check_raises(lambda L, x: x.__setitem__([0, 1], L.tensor([1.5, 2.5])),
                 np.zeros(3, dtype=np.int64), match="Index put requires the source and destination")
    check_raises(lambda L, x: x.__setitem__([0], L.tensor([1.0], dtype=L.float64)),
                 np.zeros(3, dtype=np.float32), match="got Float for the destination and Double")


def test_setitem_repeated_indices_and_version():
    e = ember.zeros(4)
    version = e._version
    e[[0, 0, 1]] = ember.tensor([1.0, 2.0, 3.0])
    assert e._version == version + 1
    t = torch.zeros(4)
    t[[0, 0, 1]] = torch.tensor([1.0, 2.0, 3.0])
    assert e.tolist() == t.tolist()


def test_getitem_gradients_accumulate_over_repeats():
    check(lambda L, x: x[[0, 0, 2, 0]] * 3, V)
    check(lambda L, x: x[T(L, [[1, 1], [1, 4]])], V)


GS = [
    ("gather0", lambda L, x, i: L.gather(x, 0, i), [A, IDX]),
    ("gather1", lambda L, x, i: x.gather(1, i[:, :3].clamp(max=3)), [A, IDX]),
    ("gather_big_index", lambda L, x, i: x.gather(0, L.cat([i, i])[:, :2]), [A, IDX]),
    ("gather_neg_dim", lambda L, x, i: x.gather(-1, i[:1, :2]), [A, IDX]),
    ("scatter_src", lambda L, x, i, s: x.scatter(0, i[:1], s), [A, IDX, randn(1, 4)]),
    ("scatter_value", lambda L, x, i: L.scatter(x, 1, i[:, :2], 2.5), [A, IDX]),
    ("scatter_value_kw", lambda L, x, i: x.scatter(1, i[:, :2], value=-1.0), [A, IDX]),
    ("scatter_add_dup", lambda L, x, i, s: L.scatter_add(x, 0, i, s), [A, IDX, randn(2, 4)]),
    ("scatter_add_smaller_index",
     lambda L, x, i, s: x.scatter_add(1, i[:, :2], s), [A, IDX, randn(2, 2)]),
    ("scatter_smaller_src_value_only",
     lambda L, x, i, s: x.scatter(1, i[:1, :2], s.detach()), [A, IDX, randn(2, 3)]),
    ("scatter_reduce_add", lambda L, x, i, s: x.detach().scatter(0, i, s.detach(), reduce="add"),
     [A, IDX, randn(2, 4)]),
    ("scatter_reduce_mul", lambda L, x, i: x.detach().scatter(0, i, 2.0, reduce="multiply"),
     [A, IDX]),
    ("index_select", lambda L, x, i: L.index_select(x, 1, i[0]), [A, IDX]),
    ("index_select_dup", lambda L, x: x.index_select(0, L.tensor([2, 2, 0])), [A]),
    ("index_select_0d_index", lambda L, x: x.index_select(0, L.tensor(1)), [A]),
    ("index_add", lambda L, x, s: L.index_add(x, 0, L.tensor([0, 2, 0]), s), [A, randn(3, 4)]),
    ("index_add_alpha", lambda L, x, s: x.index_add(1, L.tensor([3, 1]), s, alpha=2.0),
     [A, randn(3, 2)]),
    ("index_copy", lambda L, x, s: L.index_copy(x, 1, L.tensor([3, 0]), s), [A, randn(3, 2)]),
    ("index_fill", lambda L, x: x.index_fill(1, L.tensor([1, 2]), -2.0), [A]),
    ("index_fill_tensor", lambda L, x, v: L.index_fill(x, 0, L.tensor([1]), v[0, 0]),
     [A, randn(1, 1)]),
    ("masked_fill", lambda L, x: x.masked_fill(x > 0, 0.5), [A]),
    ("masked_fill_bcast", lambda L, x: L.masked_fill(x, L.tensor([True, False, True, False]), 1.0),
     [A]),
    ("masked_fill_bcast_out", lambda L, x: L.masked_fill(x[0], x > 0, 1.0), [A]),
    ("masked_fill_tensor", lambda L, x, v: x.masked_fill(x < 0, v.sum()), [A, randn(2)]),
    ("masked_scatter", lambda L, x, s: x.masked_scatter(x > 0, s), [A, randn(3, 5)]),
    ("masked_scatter_bcast",
     lambda L, x, s: L.masked_scatter(x, L.tensor([True, False, False, True]), s),
     [A, randn(8)]),
    ("masked_select", lambda L, x: L.masked_select(x, x > 0.1), [A]),
    ("masked_select_bcast", lambda L, x: x.masked_select(L.tensor([[True], [False], [True]])), [A]),
    ("take", lambda L, x: L.take(x, L.tensor([[0, 11], [5, 5]])), [A]),
    ("take_neg", lambda L, x: x.take(L.tensor([-1, 0])), [A]),
    ("take_along_dim", lambda L, x, i: L.take_along_dim(x, i[:, :3], 1), [A[:2], IDX]),
    ("take_along_dim_bcast", lambda L, x: L.take_along_dim(x, L.tensor([[0], [3], [1]]), 1), [A]),
    ("take_along_dim_flat", lambda L, x: L.take_along_dim(x, L.tensor([11, 0, 3])), [A]),
    ("take_along_flipped", lambda L, x, i: x.take_along_dim(i.flip(0), 0), [A[:2], IDX % 2]),
    ("nonzero", lambda L, x: L.nonzero(x > 0), [A]),
    ("nonzero_tuple", lambda L, x: L.nonzero(x > 0, as_tuple=True), [B]),
    ("nonzero_0d", lambda L, x: L.nonzero(x[0, 0] > -100), [A]),
    ("nonzero_0d_tuple", lambda L, x: (x[0, 0] > -100).nonzero(as_tuple=True), [A]),
    ("argwhere", lambda L, x: L.argwhere(x), [I]),
    ("index_put", lambda L, x, v: L.index_put(x, (L.tensor([0, 2]), L.tensor([1, 1])), v),
     [A, randn(2)]),
    ("index_put_acc", lambda L, x, v: x.index_put((L.tensor([0, 0]),), v, accumulate=True),
     [A, randn(4)]),
    ("put", lambda L, x, s: x.put(L.tensor([1, 5, 1]), s, accumulate=True), [A, randn(3)]),
    ("put_overwrite", lambda L, x, s: x.put(L.tensor([0, 7]), s), [A, randn(2)]),
    ("int_gather", lambda L, x, i: x.gather(1, i), [I, IDX[:, :3]]),
    # scalars, empty tensors and non-contiguous inputs
    ("scalar_gather", lambda L, x: x[0, 0].gather(0, L.tensor(0)), [A]),
    ("scalar_index_select", lambda L, x: x[0, 0].index_select(0, L.tensor([0])), [A]),
    ("scalar_masked_fill", lambda L, x: x[1, 1].masked_fill(L.tensor(True), 2.0), [A]),
    ("scalar_take", lambda L, x: x[1, 1].take(L.tensor([0])), [A]),
    ("empty_gather", lambda L, x: x.gather(1, L.zeros(3, 0, dtype=L.int64)), [A]),
    ("empty_index_select", lambda L, x: x.index_select(1, L.tensor([], dtype=L.int64)), [A]),
    ("empty_masked_select", lambda L, x: x.masked_select(x > 100), [A]),
    ("empty_nonzero", lambda L, x: L.nonzero(x > 100), [A]),
    ("empty_scatter_add", lambda L, x: x.scatter_add(0, L.zeros(0, 4, dtype=L.int64),
                                                     L.zeros(0, 4)), [A]),
    ("noncontig_gather", lambda L, x, i: x.t().gather(0, i.t()[:, :1]), [A, IDX]),
    ("noncontig_scatter", lambda L, x, s: x.t().scatter(1, L.tensor([[2], [0], [1], [1]]), s.t()),
     [A, randn(1, 4)]),
    ("noncontig_index_add", lambda L, x, s: x.t().index_add(0, L.tensor([1, 1]), s.t()),
     [A, randn(3, 2)]),
    ("noncontig_masked", lambda L, x: x.t().masked_fill(x.t() > 0, 1.0)[::2], [A]),
]


@pytest.mark.parametrize("name,fn,inputs", GS, ids=[g[0] for g in GS])
def test_gather_scatter_family(name, fn, inputs):
    check(fn, *inputs)


REDUCE = ["sum", "prod", "mean", "amax", "amin"]


def test_scatter_with_reduce_has_no_derivative():
    for L in (torch, ember):
        src = L.ones(1, 4, requires_grad=True)
        with pytest.raises(RuntimeError, match="derivative for aten::scatter is not implemented"):
            L.zeros(3, 4).scatter(0, L.tensor([[0, 1, 2, 0]]), src, reduce="add").sum().backward()


# float64: on cuda amax/amin must not use CuPy's maximum/minimum.at (float32 comparisons)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCE)
def test_scatter_reduce(reduce, include_self, dtype):
    src = randn(2, 4, dtype=dtype)
    src[0, 1] = 0.0  # an exact zero for prod's zero handling
    src[1, 2] = src[0, 2]  # a tie for amax/amin
    x = randn(3, 4, dtype=dtype)
    x[2, 2] = src[0, 2]

    def fn(L, x, s):
        index = L.tensor([[0, 1, 2, 0], [0, 1, 2, 2]])
        return x.scatter_reduce(0, index, s, reduce, include_self=include_self)

    check(fn, x, src)


@pytest.mark.parametrize("reduce", REDUCE)
def test_scatter_reduce_int(reduce):
    check(lambda L, x: L.scatter_reduce(x, 0, L.tensor([0, 0, 1]), L.tensor([4, 5, 6]), reduce),
          np.arange(5, dtype=np.int64))


INPLACE = [
    ("scatter_", lambda L, x: x.scatter_(1, L.tensor([[0], [2], [1]]), 9.0)),
    ("scatter_add_", lambda L, x: x.scatter_add_(0, L.tensor([[0, 0, 1, 2]]), L.ones(1, 4))),
    ("scatter_reduce_", lambda L, x: x.scatter_reduce_(1, L.tensor([[0, 0]] * 3), L.ones(3, 2) * 4,
                                                       "amax")),
    ("index_add_", lambda L, x: x.index_add_(0, L.tensor([1, 1]), L.ones(2, 4))),
    ("index_copy_", lambda L, x: x.index_copy_(1, L.tensor([0]), L.zeros(3, 1))),
    ("index_fill_", lambda L, x: x.index_fill_(0, L.tensor([2]), 7.0)),
    ("masked_fill_", lambda L, x: x.masked_fill_(x > 0, 0.0)),
    ("masked_scatter_", lambda L, x: x.masked_scatter_(x < 0, L.arange(12.0).view(3, 4))),
    ("index_put_", lambda L, x: x.index_put_((L.tensor([1, 1]),), L.ones(4), accumulate=True)),
    ("put_", lambda L, x: x.put_(L.tensor([3, 3]), L.tensor([1.0, 2.0]), accumulate=True)),
]


@pytest.mark.parametrize("name,fn", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_variants(name, fn):
    def on_tensor(L, x):
        base = x * 1
        assert fn(L, base) is base
        return base * 2

    def through_view(L, x):
        base = x * 1
        view = base[1:4]  # in place through a view: the base sees it and takes the history
        assert fn(L, view) is view
        return base * 2, view

    check(on_tensor, A)
    check(through_view, randn(5, 4))
    # plain tensors, no graph: same values, version bumped
    e, t = ember.tensor(A.copy()), torch.tensor(A.copy())
    before = e._version
    fn(ember, e)
    fn(torch, t)
    assert e._version > before
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)


ERRORS = [
    ("out_of_bounds", lambda L, x: x[5], "index 5 is out of bounds for dimension 0 with size 3"),
    ("out_of_bounds_dim1", lambda L, x: x[:, -5], "index -5 is out of bounds for dimension 1"),
    ("too_many", lambda L, x: x[0, 0, 0], "too many indices for tensor of dimension 2"),
    ("adv_oob", lambda L, x: x[L.tensor([0, 3])], "index 3 is out of bounds"),
    ("float_index", lambda L, x: x[L.tensor([0.0])], "tensors used as indices"),
    ("float_scalar", lambda L, x: x[1.0], None),
    ("neg_step", lambda L, x: x[::-1], "step must be greater than zero"),
    ("mask_shape", lambda L, x: x[L.tensor([True, False])], None),
    ("set_shape", lambda L, x: x.__setitem__(0, L.zeros(5)), None),
    ("set_oob", lambda L, x: x.__setitem__(7, 1.0), "index 7 is out of bounds"),
    ("gather_ndim", lambda L, x: x.gather(0, L.tensor([0])), "same number of dimensions"),
    ("gather_size", lambda L, x: x.gather(0, L.zeros(2, 5, dtype=L.long)), "Size does not match"),
    ("gather_oob", lambda L, x: x.gather(0, L.tensor([[5]])), "index 5 is out of bounds"),
    ("scatter_dtype", lambda L, x: x.scatter(0, L.tensor([[0]]), L.zeros(1, 1, dtype=L.float64)),
     "Expected self.dtype to be equal to src.dtype"),
    ("scatter_oob", lambda L, x: x.scatter(0, L.tensor([[7]]), 1.0), "index 7 is out of bounds"),
    ("scatter_src_small", lambda L, x: x.scatter(0, L.zeros(2, 4, dtype=L.long), L.zeros(1, 4)),
     r"no larger size than src \[1, 4\]"),
    ("scatter_index_wide", lambda L, x: x.scatter_add(0, L.zeros(1, 5, dtype=L.long),
                                                      L.zeros(1, 5)), "to be no larger than self"),
    ("scatter_reduce_bad", lambda L, x: x.scatter_reduce(0, L.tensor([[0]]), x, "foo"),
     "reduce argument must be"),
    ("index_select_2d", lambda L, x: x.index_select(0, L.tensor([[0]])), "supposed to be a vector"),
    ("index_select_float", lambda L, x: x.index_select(0, L.tensor([0.0])), "int32 or int64"),
    ("index_select_oob", lambda L, x: x.index_select(0, L.tensor([3])), "index out of range"),
    ("index_add_count", lambda L, x: x.index_add(0, L.tensor([0]), L.zeros(2, 4)),
     "Number of indices"),
    ("index_copy_oob", lambda L, x: x.index_copy(0, L.tensor([5]), L.zeros(1, 4)), "out of bounds"),
    ("index_fill_oob", lambda L, x: x.index_fill(0, L.tensor([5]), 1.0), "out of bounds"),
    ("masked_fill_long", lambda L, x: x.masked_fill(L.tensor([1, 0, 1, 0]), 1.0),
     "only supports boolean masks"),
    ("masked_fill_value", lambda L, x: x.masked_fill(x > 0, L.tensor([1.0, 2.0])),
     "0-dimensional value tensor"),
    ("masked_fill_shape", lambda L, x: x.masked_fill(L.tensor([True, False, True]), 1.0), None),
    ("masked_select_long", lambda L, x: x.masked_select(L.tensor([1, 0, 1, 0])), "BoolTensor"),
    ("masked_scatter_short", lambda L, x: x.masked_scatter(x == x, L.zeros(3)),
     "Number of elements"),
    ("take_oob", lambda L, x: x.take(L.tensor([50])),
     "out of range: tried to access index 50 on a tensor of 12 elements."),
    ("put_count", lambda L, x: x.put(L.tensor([2]), L.tensor([1.0, 2.0])), "same number"),
    ("leaf_inplace", lambda L, x: x.requires_grad_().masked_fill_(x > 0, 1.0), "leaf Variable"),
    ("leaf_setitem", lambda L, x: x.requires_grad_().__setitem__(0, 1.0), "leaf Variable"),
    ("view_of_leaf", lambda L, x: x.requires_grad_()[0].mul_(2), "view of a leaf Variable"),
    ("view_of_leaf_set", lambda L, x: x.requires_grad_()[0].__setitem__(0, 1.0), "view of a leaf"),
]


@pytest.mark.parametrize("name,fn,match", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, fn, match):
    check_raises(fn, A, match=match)


GRADCHECK = [
    ("getitem_adv", lambda x: x[[0, 0, 2], 1:][:, [1, 1]]),
    ("getitem_mask", lambda x: x[x > 0] * x[1:, None, :].sum()),
    ("gather", lambda x: x.gather(1, ember.tensor([[0, 0, 3], [1, 2, 2], [3, 3, 3]]))),
    ("scatter_add", lambda x: ember.zeros(2, 4, dtype=ember.float64).scatter_add(
        0, ember.tensor([[0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 1]]), x)),
    ("scatter_src", lambda x: (x * 2).scatter(0, ember.tensor([[2, 0, 1, 2]]), x[:1] ** 2)),
    ("index_add", lambda x: x.index_add(0, ember.tensor([1, 1, 0]), x * x)),
    ("index_copy_fill", lambda x: x.index_copy(1, ember.tensor([0, 2]), x[:, 1:3] * 3)
     .index_fill(0, ember.tensor([1]), 0.0)),
    ("masked", lambda x: x.masked_fill(x > 0.5, 0.0).masked_scatter(x < 0, x.flip(0) * 2)),
    ("take_along_dim", lambda x: ember.take_along_dim(x, ember.tensor([[1], [0], [3]]), 1)),
    ("scatter_reduce_mean", lambda x: x.scatter_reduce(
        1, ember.tensor([[0, 0, 1, 1]] * 3), x * 2, "mean", include_self=False)),
    ("scatter_reduce_prod", lambda x: x.scatter_reduce(
        0, ember.tensor([[0, 1, 0, 1]]), x[2:] + 1, "prod")),
    ("scatter_reduce_amax", lambda x: x.scatter_reduce(
        0, ember.tensor([[0, 1, 0, 1]]), x[2:] * 3, "amax")),
    ("setitem_through_view", lambda x: _write_through_view(x)),
]


def _write_through_view(x):
    holder = ember.zeros(3, 4, dtype=ember.float64)
    row = holder[1]
    row[1:3] = x[0, :2] * 2
    row.add_(x[2] ** 2)
    holder[2, ::2] = x[1, 1:3] * x[1, 1]
    return holder * x


@pytest.mark.parametrize("name,fn", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck_and_gradgradcheck(name, fn):
    x = ember.tensor(np.random.default_rng(1).standard_normal((3, 4))).requires_grad_()
    assert ember.autograd.gradcheck(fn, (x,))
    assert ember.autograd.gradgradcheck(fn, (x,))


# -- hypothesis: random index tuples and broadcasting ------------------------------------------

SHAPES = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)


KINDS = ["int", "slice", "none", "ellipsis", "array", "mask", "mask2d"]
CONSUMES = {"int": 1, "slice": 1, "none": 0, "ellipsis": 0, "array": 1, "mask": 1, "mask2d": 2}


@st.composite
def index_tuples(draw):
    """A random shape and index tuple: ints, slices with steps, None, at most one
    Ellipsis (parts after it address the trailing dims), int arrays and bool masks."""
    shape = draw(SHAPES)
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=5))
    if kinds.count("ellipsis") > 1:
        first = kinds.index("ellipsis")
        kinds = [k for i, k in enumerate(kinds) if k != "ellipsis" or i == first]
    consumed = sum(CONSUMES[k] for k in kinds)
    if consumed > len(shape):  # too many indices: keep a few such cases, as errors
        if not draw(st.booleans()):
            kinds = [k for k in kinds if CONSUMES[k] == 0] + ["int"] * min(1, len(shape))
            consumed = sum(CONSUMES[k] for k in kinds)
    dims = []
    if "ellipsis" in kinds:
        cut = kinds.index("ellipsis")
        after = sum(CONSUMES[k] for k in kinds[cut + 1:])
        dim = 0
        for i, kind in enumerate(kinds):
            if i == cut:
                dim = max(dim, len(shape) - after)
            dims.append(dim)
            dim += CONSUMES[kind]
    else:
        dim = 0
        for kind in kinds:
            dims.append(dim)
            dim += CONSUMES[kind]
    parts = []
    for kind, dim in zip(kinds, dims):
        size = shape[dim] if dim < len(shape) else 1
        if kind == "int":
            parts.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            parts.append(slice(draw(st.none() | st.integers(-size - 1, size + 1)),
                               draw(st.none() | st.integers(-size - 1, size + 1)),
                               draw(st.none() | st.integers(1, 3))))
        elif kind == "none":
            parts.append(None)
        elif kind == "ellipsis":
            parts.append(Ellipsis)
        elif kind == "array":
            rows = draw(st.integers(1, 2))
            values = draw(st.lists(st.integers(-size, size - 1), min_size=rows * 2,
                                   max_size=rows * 2))
            parts.append(np.array(values).reshape(rows, 2) if rows == 2 else np.array(values))
        elif kind == "mask":
            parts.append(np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size))))
        else:
            second = shape[dim + 1] if dim + 1 < len(shape) else 1
            bits = draw(st.lists(st.booleans(), min_size=size * second,
                                 max_size=size * second))
            parts.append(np.array(bits).reshape(size, second))
    return shape, tuple(parts)


def _strides(tensor):
    """Strides of the dims that have more than one element (a size-1 dim's stride is
    arbitrary and not part of the layout)."""
    return [s for s, n in zip(tensor.stride(), tensor.shape) if n > 1]


def _to_lib(L, part):
    if isinstance(part, np.ndarray):
        return L.tensor(part)
    return part


@settings(max_examples=200, deadline=None, derandomize=True)
@given(index_tuples())
def test_hypothesis_getitem_matches_torch(case):
    shape, index = case
    data = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    t_x = torch.tensor(data, requires_grad=True)
    e_x = ember.tensor(data).requires_grad_()
    try:
        t_out = t_x[tuple(_to_lib(torch, p) for p in index)]
    except (IndexError, RuntimeError) as exc:
        with pytest.raises(type(exc) if isinstance(exc, IndexError) else Exception):
            e_x[tuple(_to_lib(ember, p) for p in index)]
        return
    e_out = e_x[tuple(_to_lib(ember, p) for p in index)]
    assert tuple(e_out.shape) == tuple(t_out.shape)
    np.testing.assert_array_equal(e_out.detach().numpy(), t_out.detach().numpy())
    is_view = t_out._base is not None and not any(isinstance(p, np.ndarray) for p in index)
    if is_view and t_out.numel():  # a view, laid out as PyTorch's (empty ones have no layout)
        assert _strides(e_out) == _strides(t_out)
        assert e_out.storage_offset() == t_out.storage_offset()
    upstream = np.random.default_rng(1).standard_normal(t_out.shape).astype(np.float32)
    t_out.backward(torch.tensor(upstream))
    e_out.backward(ember.tensor(upstream))
    np.testing.assert_allclose(e_x.grad.numpy(), t_x.grad.numpy(), rtol=1e-6, atol=1e-6)
    # and writing through the same index
    t_y, e_y = torch.tensor(data), ember.tensor(data)
    t_y[tuple(_to_lib(torch, p) for p in index)] = 7.0
    e_y[tuple(_to_lib(ember, p) for p in index)] = 7.0
    np.testing.assert_array_equal(e_y.numpy(), t_y.numpy())


@settings(max_examples=100, deadline=None, derandomize=True)
@given(SHAPES, SHAPES, st.data())
def test_hypothesis_broadcast_tensors_and_expand(shape_a, shape_b, data):
    shape_b = tuple(1 if data.draw(st.booleans()) else s for s in shape_b)
    a = np.random.default_rng(2).standard_normal(shape_a)
    b = np.random.default_rng(3).standard_normal(shape_b)
    try:
        torch.broadcast_shapes(shape_a, shape_b)
    except RuntimeError:
        check_raises(lambda L, x, y: L.broadcast_tensors(x, y), a, b)
        return
    outs, _ = check(lambda L, x, y: L.broadcast_tensors(x, y), a, b)
    ref = torch.broadcast_tensors(torch.tensor(a), torch.tensor(b))
    assert [_strides(o) for o in outs] == [_strides(r) for r in ref]
    target = tuple(torch.broadcast_shapes(shape_a, shape_b))
    check(lambda L, x: x.expand(*target), a)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(index_tuples())
def test_hypothesis_setitem_gradients_match_torch(case):
    shape, index = case
    data = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    try:
        out_shape = torch.tensor(data)[tuple(_to_lib(torch, p) for p in index)].shape
    except (IndexError, RuntimeError):
        return
    values = np.random.default_rng(6).standard_normal(tuple(out_shape)).astype(np.float32)
    upstream = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    results = []
    for L in (torch, ember):
        x = L.tensor(data).requires_grad_()
        v = L.tensor(values).requires_grad_()
        y = x * 1
        y[tuple(_to_lib(L, p) for p in index)] = v * 2
        (y * L.tensor(upstream)).sum().backward()
        results.append((y.detach().numpy(), x.grad.numpy(), v.grad.numpy()))
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


# gather/scatter index dtypes: int32 and int64 are taken; anything else raises PyTorch's
# text, which names "scatter()" for scatter_add and scatter_reduce too.
_INDEX_OPS = {
    "gather": lambda L, idx: L.ones(3).gather(0, idx),
    "scatter": lambda L, idx: L.zeros(3).scatter(0, idx, L.ones(2)),
    "scatter_value": lambda L, idx: L.zeros(3).scatter(0, idx, 2.0),
    "scatter_add": lambda L, idx: L.zeros(3).scatter_add(0, idx, L.ones(2)),
    "scatter_reduce": lambda L, idx: L.zeros(3).scatter_reduce(0, idx, L.ones(2), "amax"),
}


@pytest.mark.parametrize("op", list(_INDEX_OPS))
@pytest.mark.parametrize("dtype", ["int32", "int16", "uint8", "float32"])
def test_gather_scatter_index_dtypes_match_torch(op, dtype):
    outcomes = []
    for lib in (torch, ember):
        try:
            outcomes.append(_INDEX_OPS[op](lib, lib.tensor([0, 1], dtype=getattr(lib, dtype))).tolist())
        except RuntimeError as err:
            outcomes.append(str(err))
    assert outcomes[1] == outcomes[0]



# Mask shapes and values that do not fit: PyTorch's texts (a basic index writes through a
# view with copy_, so the error is expand's; an advanced index reports the broadcast).
_FIT_ERRORS = {
    "mask short": lambda L: L.ones(3)[L.tensor([True, False])],
    "mask 2d": lambda L: L.ones(2, 3)[L.tensor([[True, False, True]])],
    "mask 1d on 2d": lambda L: L.ones(2, 3)[L.tensor([True, False, True])],
    "mask dim1": lambda L: L.ones(2, 3)[:, L.tensor([True, False])],
    "mask after ellipsis": lambda L: L.ones(2, 3, 4)[..., L.tensor([True, False])],
    "mask with None": lambda L: L.ones(2, 3)[None, L.tensor([True, False, True])],
    "mask setitem": lambda L: L.ones(3).__setitem__(L.tensor([True, False]), 1.0),
    "mask tracked": lambda L: (L.ones(3, requires_grad=True) * 2)[L.tensor([True, False])],
    "set basic": lambda L: L.ones(3).__setitem__(slice(None), L.ones(2)),
    "set basic 2d": lambda L: L.ones(3).__setitem__(slice(None), L.ones(2, 3)),
    "set leading ones": lambda L: L.ones(3).__setitem__(slice(None), L.ones(1, 1, 2)),
    "set row": lambda L: L.ones(2, 3).__setitem__(0, L.ones(2)),
    "set column": lambda L: L.ones(2, 3).__setitem__((slice(None), 1), L.ones(3)),
    "set advanced": lambda L: L.ones(2, 3).__setitem__([0, 1], L.ones(3, 3)),
    "set tracked": lambda L: (L.ones(2, 3, requires_grad=True) * 1).__setitem__(0, L.ones(2)),
    "where float cond": lambda L: L.where(L.ones(2), L.ones(2), L.zeros(2)),
    "where long cond": lambda L: L.where(L.ones(2, dtype=L.long), 1.0, 0.0),
}


@pytest.mark.parametrize("name", list(_FIT_ERRORS))
def test_mask_and_value_shape_errors_match_torch(name):
    messages = []
    for lib in (torch, ember):
        with pytest.raises((IndexError, RuntimeError)) as info:
            _FIT_ERRORS[name](lib)
        messages.append((type(info.value).__name__, str(info.value)))
    assert messages[1] == messages[0]


@pytest.mark.parametrize("layout", ["transposed", "channels_last"])
def test_masked_fill_result_is_contiguous_like_torch(layout):
    """PyTorch's kernel writes a contiguous result whatever the input's strides; NumPy
    kept the input's layout, so .view on the result raised."""
    strides = []
    for lib in (ember, torch):
        x = lib.arange(120, dtype=lib.float32).reshape(2, 3, 4, 5).sin()
        x = x.transpose(1, 3) if layout == "transposed" else x.to(memory_format=lib.channels_last)
        strides.append((x.masked_fill(x > 0, 0.0)).stride())
    assert strides[0] == strides[1]


@pytest.mark.parametrize("dtype,value", [
    (np.float32, float("-inf")), (np.float16, 0.1), (np.float64, 1e300), (np.int64, 2.7),
    (np.int32, -3), (np.uint8, 255), (np.bool_, 2), (np.float32, True),
], ids=lambda v: str(v))
def test_masked_fill_python_scalar_value_in_the_input_dtype(dtype, value):
    """A Python scalar fill converts to the input's dtype as PyTorch's does (on a GPU it
    is a scalar kernel argument, not a 0-d device array made each call)."""
    data = np.arange(-3, 3).astype(dtype)
    check(lambda lib, x: x.masked_fill(lib.tensor([True, False, True, False, True, False]),
                                       value), data, grad=False)
