"""The speed paths agree with PyTorch and with ember's general paths.

- ``_array_backward``: without create_graph the engine runs an op's formula on arrays;
  with create_graph the Tensor formula runs. Both must give PyTorch's gradients, fall back
  on mixed dtypes, and still detect tensors modified in place after being saved.
- getitem/setitem with plain int/slice indices on untracked tensors index the array
  directly: results stay views (shared memory and version counter), errors unchanged.
"""

from __future__ import annotations

import weakref

import numpy as np
import pytest
import torch

import ember
from tests.oracle import assert_same, check, check_raises, on_device, rand, randn

# (name, fn(lib, *inputs), inputs): every op that has an _array_backward
ARRAY_BACKWARD = [
    ("mul", lambda lib, x, y: x * y, [randn(3, 4), randn(4)]),
    ("mul_scalar", lambda lib, x: x * 2.5, [randn(5)]),
    ("div", lambda lib, x, y: x / y, [randn(3, 4), rand(3, 1, low=0.5, high=2.0)]),
    ("rdiv_scalar", lambda lib, x: 2.0 / x, [rand(6, low=0.5, high=2.0)]),
    ("sub", lambda lib, x, y: x - y, [randn(2, 3), randn(2, 3)]),
    ("exp", lambda lib, x: x.exp(), [randn(4)]),
    ("tanh", lambda lib, x: x.tanh(), [randn(2, 5)]),
    ("sigmoid", lambda lib, x: x.sigmoid(), [randn(7)]),
    ("log", lambda lib, x: x.log(), [rand(4, low=0.5, high=3.0)]),
    ("sqrt", lambda lib, x: x.sqrt(), [rand(4, low=0.5, high=3.0)]),
    ("rsqrt", lambda lib, x: x.rsqrt(), [rand(4, low=0.5, high=3.0)]),
    ("sum_all", lambda lib, x: x.sum(), [randn(3, 4)]),
    ("sum_0d", lambda lib, x: x.sum(), [randn()]),
    ("linear", lambda lib, x, w, b: lib.nn.functional.linear(x, w, b),
     [randn(5, 4), randn(3, 4), randn(3)]),
    ("linear_3d", lambda lib, x, w, b: lib.nn.functional.linear(x, w, b),
     [randn(2, 5, 4), randn(3, 4), randn(3)]),
    ("linear_1d", lambda lib, x, w: lib.nn.functional.linear(x, w), [randn(4), randn(3, 4)]),
    ("chain", lambda lib, x, w: ((x * w + 1.0).tanh() - w).sum(), [randn(16), randn(16)]),
]


@pytest.mark.parametrize("name,fn,inputs", ARRAY_BACKWARD, ids=[c[0] for c in ARRAY_BACKWARD])
def test_array_backward_matches_torch(name, fn, inputs):
    check(fn, *inputs)


@pytest.mark.parametrize("name,fn,inputs", ARRAY_BACKWARD, ids=[c[0] for c in ARRAY_BACKWARD])
def test_create_graph_path_matches_array_path(name, fn, inputs):
    """Same gradients from the array formulas (no graph) and the Tensor formulas."""
    leaves = [ember.tensor(x.copy(), requires_grad=True) for x in inputs]
    out = fn(ember, *leaves)
    upstream = ember.tensor(np.random.default_rng(0).standard_normal(out.shape)
                            .astype(np.float32))
    plain = ember.autograd.grad(out, leaves, upstream, retain_graph=True)
    graphed = ember.autograd.grad(out, leaves, upstream, create_graph=True)
    for p, g in zip(plain, graphed):
        np.testing.assert_allclose(p.detach().numpy(), g.detach().numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fn", [
    lambda x, y: x * y, lambda x, y: x / y, lambda x, y: (x * y).tanh() / y,
], ids=["mul", "div", "chain"])
def test_gradgradcheck_through_fast_ops(fn):
    x = ember.tensor(randn(3).astype(np.float64) + 2.0, requires_grad=True)
    y = ember.tensor(rand(3, low=1.0, high=2.0).astype(np.float64), requires_grad=True)
    assert ember.autograd.gradcheck(fn, (x, y))
    assert ember.autograd.gradgradcheck(fn, (x, y))


# mixed dtypes fall back to the Tensor formulas (PyTorch's promotion, grads in each
# input's dtype)
MIXED = [
    ("f32_f64", lambda lib, x, y: x * y, [randn(4), randn(4, dtype=np.float64)]),
    ("f64_f32_div", lambda lib, x, y: x / y, [randn(4, dtype=np.float64),
                                              rand(4, low=0.5, high=2.0)]),
    ("f32_int", lambda lib, x, n: x * n, [randn(4), np.arange(1, 5, dtype=np.int64)]),
    ("f16", lambda lib, x, y: (x * y).sum(), [randn(4, dtype=np.float16),
                                              randn(4, dtype=np.float16)]),
    ("linear_f64", lambda lib, x, w: lib.nn.functional.linear(x, w),
     [randn(2, 3, dtype=np.float64), randn(4, 3, dtype=np.float64)]),
]


@pytest.mark.parametrize("name,fn,inputs", MIXED, ids=[c[0] for c in MIXED])
def test_mixed_dtypes(name, fn, inputs):
    check(fn, *inputs, rtol=1e-3 if name == "f16" else None,
          atol=1e-3 if name == "f16" else None)


@pytest.mark.parametrize("op", ["tanh", "exp", "mul"])
def test_saved_tensor_modified_in_place_still_raises(op):
    for lib in (ember, torch):
        x = lib.tensor([0.5, 1.0], requires_grad=True)
        w = lib.tensor([2.0, 3.0])
        if op == "mul":
            y = x * w
            w.add_(1.0)
        else:
            y = getattr(x, op)()
            y.mul_(1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_backward_twice_without_retain_graph_raises():
    x = ember.tensor([0.5, 1.0], requires_grad=True)
    y = (x * x).tanh().sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


# plain indices on an untracked tensor: (index, shape of the data)
GETITEMS = [
    (1, (4, 3)), (-1, (4, 3)), (slice(1, 3), (4, 3)), (slice(None, None, 2), (5,)),
    ((1, 2), (4, 3)), ((slice(None), 0), (2, 3, 4)), ((1, slice(0, 2), 2), (2, 3, 4)),
    (0, (5,)), ((), (2, 3)),
]


@pytest.mark.parametrize("index,shape", GETITEMS, ids=[str(c) for c in GETITEMS])
def test_getitem_plain_index(index, shape):
    data = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    check(lambda lib, x: x[index], data, grad=False)
    x = ember.tensor(data)
    view = x[index]
    view.fill_(-1.0)  # a view: the write reaches the base, versions are shared
    assert (x.numpy()[index] == -1.0).all()
    assert view._version == x._version


@pytest.mark.parametrize("index", [5, -6, (0, 7), (1, 2, 3, 4)], ids=str)
def test_getitem_plain_index_errors(index):
    check_raises(lambda lib, x: x[index], np.zeros((5, 3), np.float32))


@pytest.mark.parametrize("index,value", [
    (1, 2.0), (slice(0, 2), 3), ((0, slice(1, 3)), np.ones(2, np.float32)),
    (-1, np.arange(3, dtype=np.float32)),
], ids=["int_float", "slice_int", "tuple_tensor", "neg_tensor"])
def test_setitem_plain_index(index, value):
    results = {}
    for lib in (ember, torch):
        x = lib.zeros(4, 3)
        before = x._version
        x[index] = lib.tensor(value) if isinstance(value, np.ndarray) else value
        results[lib.__name__] = (x, x._version - before)
    assert_same(results["ember"][0], results["torch"][0])
    assert results["ember"][1] == results["torch"][1]


def test_setitem_through_view_reaches_base_and_leaf_check_stays():
    base = ember.zeros(3, 4)
    row = base[1]
    row[2] = 5.0
    assert base[1, 2].item() == 5.0 and base._version == row._version == 1
    leaf = ember.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf[0] = 1.0


@pytest.mark.parametrize("index", [5, (0, 9)], ids=str)
def test_setitem_plain_index_errors(index):
    def write(lib, x):
        x[index] = 1.0

    check_raises(write, np.zeros((4, 3), np.float32))


@pytest.mark.parametrize("index", [0, (0, 0), slice(None)], ids=str)
def test_getitem_on_0d_errors(index):
    error, expected = check_raises(lambda lib, x: x[index], np.float32(1.0) * np.ones(()))
    assert str(error) == str(expected)


FLIPS = [((2, 3, 4), -1), ((2, 3, 4), 0), ((2, 3, 4), (0, 2)), ((2, 3, 4), [1]), ((), 0),
         ((), -1), ((5,), ())]


@pytest.mark.parametrize("shape,dims", FLIPS, ids=[str(c) for c in FLIPS])
def test_flip_fast_path(shape, dims):
    e_out, _ = check(lambda lib, x: x.flip(dims), randn(*shape))
    assert e_out.is_contiguous()


# .grad adopts a fresh gradient array without copying only when nothing else holds it;
# each scenario then writes into the tensors involved and compares every value with torch
def _shared_add(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = lib.tensor([3.0, 4.0], requires_grad=True)
    (x + y).backward(lib.tensor([1.0, 1.0]))
    (x * 2.0).sum().backward()  # accumulates into x.grad in place
    return x.grad, y.grad


def _user_gradient(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    upstream = lib.tensor([5.0, 6.0])
    x.backward(upstream)
    (x * 3.0).sum().backward()
    return x.grad, upstream


def _retained_pass_through(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    z = x + 0.0
    z.retain_grad()
    w = z - lib.tensor([1.0, 1.0])
    w.retain_grad()
    w.backward(lib.tensor([2.0, 3.0]))
    (x * 4.0).sum().backward()
    return x.grad, z.grad, w.grad


def _leaf_hook_keeps_gradient(lib):
    kept = []
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(kept.append)
    (x * lib.tensor([2.0, 5.0])).sum().backward()
    (x * 1.0).sum().backward()
    return x.grad, kept[0]


def _matmul_twice(lib):
    a = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = lib.tensor([[0.5, -1.0], [2.0, 1.0]], requires_grad=True)
    (a @ b).sum().backward()
    (a @ b).sum().backward()
    return a.grad, b.grad


def _reshaped_gradient(lib):
    # the leaf's gradient is a view spanning all of a fresh array: adopted
    x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (x.reshape(4) * lib.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    (x * 2.0).sum().backward()
    return (x.grad,)


def _slices_of_one_gradient(lib):
    # two leaves' gradients are slices of one array: views that do not span it
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = lib.tensor([3.0, 4.0, 5.0], requires_grad=True)
    (lib.cat([x, y]) * lib.tensor([1.0, 2.0, 3.0, 4.0, 5.0])).sum().backward()
    (x * 2.0).sum().backward()
    return x.grad, y.grad


@pytest.mark.parametrize("scenario", [
    _shared_add, _user_gradient, _retained_pass_through, _leaf_hook_keeps_gradient,
    _matmul_twice, _reshaped_gradient, _slices_of_one_gradient,
], ids=lambda f: f.__name__.strip("_"))
def test_grad_adoption_never_aliases(scenario):
    """On the test device (``--device cuda`` runs them on CuPy arrays)."""
    with on_device(ember):
        got = scenario(ember)
    with on_device(torch):
        expected = scenario(torch)
    assert_same(got, expected)


def test_fresh_leaf_gradient_is_adopted_not_copied():
    """A fresh gradient nothing else holds becomes .grad as is (a copy costs a pass over
    it, a kernel launch on a GPU), also when it is a reshape of a fresh array. The hooks
    keep weak references, which only adoption keeps alive."""
    refs = []
    with on_device(ember):
        w = ember.ones(2, 3, requires_grad=True)
        b = ember.ones(2, 3, requires_grad=True)
        x = ember.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        for leaf in (w, b):
            leaf.register_hook(lambda g: refs.append(weakref.ref(g._data)))
        ((w * x).sum() + (b.reshape(6) * x.reshape(6)).sum()).backward()
    assert refs[0]() is w.grad._data or refs[1]() is w.grad._data
    assert refs[0]() is b.grad._data or refs[1]() is b.grad._data
    assert b.grad._data.base is not None  # the reshape's view, adopted
    assert_same((w.grad, b.grad), (torch.tensor(x.tolist()),) * 2)
