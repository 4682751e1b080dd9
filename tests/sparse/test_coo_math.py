"""COO arithmetic, reductions, products and softmax against PyTorch, with gradients.

Gradients are checked two ways: through dense leaves (``values`` and the dense operand,
with the oracle's random upstream gradient) and through a sparse leaf built with
``requires_grad=True``, whose ``.grad`` must be PyTorch's sparse gradient.
"""

from __future__ import annotations

import time

import numpy as np
import oracle
import pytest
import torch
from oracle import RNG, as_numpy, check, check_raises, on_device
from sparse_oracle import both, same_sparse, same_sparse_sum

import ember

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")

IDX = np.array([[0, 1, 1, 0, 2], [2, 0, 2, 2, 1]])  # (0, 2) twice: uncoalesced
IDX_C = np.array([[0, 1, 1, 2], [2, 0, 2, 1]])  # coalesced order, no duplicates


def vals(n=5, dtype=np.float32):
    return RNG.standard_normal(n).astype(dtype)


def coo(lib, values, indices=IDX, shape=(3, 3)):
    return lib.sparse_coo_tensor(lib.tensor(indices), values, shape)


def coalesced(lib, values, shape=(3, 3)):
    return lib.sparse_coo_tensor(lib.tensor(IDX_C), values, shape).coalesce()


# -- results that are sparse: compared exactly, then through to_dense for gradients --------

SPARSE_RESULTS = {
    "neg": lambda lib, v: -coo(lib, v),
    "mul_scalar": lambda lib, v: coo(lib, v) * 2.5,
    "rmul_scalar": lambda lib, v: 3 * coo(lib, v),
    "div_scalar": lambda lib, v: coo(lib, v) / 4.0,
    "div_0d": lambda lib, v: coo(lib, v).div(lib.tensor(2.0)),
    "add_coalesced": lambda lib, v: coalesced(lib, v[:4]) + coalesced(lib, v[1:] * 2),
    "sub_coalesced": lambda lib, v: coalesced(lib, v[:4]) - coalesced(lib, v[1:]),
    "mul_dense": lambda lib, v: coo(lib, v) * lib.arange(9.0).reshape(3, 3),
    "dense_mul": lambda lib, v: lib.arange(9.0).reshape(3, 3) * coo(lib, v),
    "mul_sparse_coalesced": lambda lib, v: coalesced(lib, v[:4]) * coalesced(lib, v[1:]),
    "coalesce": lambda lib, v: coo(lib, v).coalesce(),
    "t": lambda lib, v: coo(lib, v).t(),
    "sum_dim0": lambda lib, v: lib.sparse.sum(coo(lib, v), 0),
    "sum_dim_neg": lambda lib, v: coo(lib, v).sum(-1),
    "softmax1": lambda lib, v: lib.sparse.softmax(coo(lib, v), 1),
    "softmax0": lambda lib, v: lib.sparse.softmax(coo(lib, v), 0),
    "log_softmax1": lambda lib, v: lib.sparse.log_softmax(coo(lib, v), 1),
    "log_softmax0": lambda lib, v: lib.sparse.log_softmax(coo(lib, v), 0),
    "smm": lambda lib, v: lib.smm(coo(lib, v), lib.arange(6.0).reshape(3, 2)),
}
# PyTorch names these nodes after sparse kernels (SparseSumBackward0, ...); ember's come
# from the dense ops they are composed of, so only the printed grad_fn differs.
_OWN_GRAD_FN = {"mul_sparse_coalesced", "smm"}
# PyTorch 2.13 has no derivative for these (smm: sspaddmm; sum over a sparse dim then
# to_dense: "expand is unsupported for Sparse tensors"): gradients are checked elsewhere.
_NO_TORCH_GRAD = {"smm", "sum_dim_neg"}


# PyTorch's CUDA kernels: sspaddmm (smm) is not implemented; the sum of two sparse tensors
# is their concatenation (uncoalesced), where the CPU kernel merges coalesced operands.
_CUDA_NYI = {"smm": "NYI: CUDA sspaddmm is not implemented"}
_CUDA_CONCATENATES = {"add_coalesced", "sub_coalesced"}


def _same_result(name, e, t, check_repr=True):
    same = same_sparse_sum if name in _CUDA_CONCATENATES else same_sparse
    same(e, t, check_repr=check_repr)


@pytest.mark.parametrize("name", sorted(SPARSE_RESULTS))
def test_sparse_results(name):
    fn = SPARSE_RESULTS[name]
    v = vals()
    if name in _CUDA_NYI and oracle.DEVICE == "cuda":
        for lib, device in ((ember, oracle.DEVICE), (torch, oracle.TORCH_DEVICE)):
            if device == "cuda":
                with pytest.raises(RuntimeError, match=_CUDA_NYI[name]), on_device(lib):
                    fn(lib, lib.tensor(v))
        return
    e, t = both(lambda lib: fn(lib, lib.tensor(v)))
    _same_result(name, e, t)
    e, t = both(lambda lib: fn(lib, lib.tensor(v, requires_grad=True)))
    _same_result(name, e, t, check_repr=name not in _OWN_GRAD_FN)
    if name not in _NO_TORCH_GRAD:
        check(lambda lib, v: fn(lib, v).to_dense(), v)


def torch_sub(lib, dense, sparse):
    return lib.sub(dense, sparse, alpha=0.5)


def iadd(dense, sparse):
    dense += sparse
    return dense


# -- dense results --------------------------------------------------------------------------

DENSE_RESULTS = {
    "to_dense": lambda lib, v, d: coo(lib, v).to_dense(),
    "sum_all": lambda lib, v, d: lib.sparse.sum(coo(lib, v)),
    "method_sum": lambda lib, v, d: coo(lib, v).sum(),
    "sum_both_dims": lambda lib, v, d: lib.sparse.sum(coo(lib, v), (0, 1)),
    "dense_add_sparse": lambda lib, v, d: d + coo(lib, v),
    "dense_sub_sparse": lambda lib, v, d: d - coo(lib, v),
    "dense_add_alpha": lambda lib, v, d: d.add(coo(lib, v), alpha=2.0),
    "dense_sub_alpha": lambda lib, v, d: torch_sub(lib, d, coo(lib, v)),
    "dense_add_inplace": lambda lib, v, d: d.clone().add_(coo(lib, v), alpha=-0.1),
    "dense_sub_inplace": lambda lib, v, d: d.clone().sub_(coo(lib, v)),
    "dense_iadd": lambda lib, v, d: iadd(d.clone(), coo(lib, v)),
    "add_uncoalesced": lambda lib, v, d: (coo(lib, v) + coo(lib, v * 2)).to_dense(),
    "sparse_mm": lambda lib, v, d: lib.sparse.mm(coo(lib, v), d),
    "mm": lambda lib, v, d: lib.mm(coo(lib, v), d),
    "matmul": lambda lib, v, d: lib.matmul(coo(lib, v), d),
    "matmul_op": lambda lib, v, d: coo(lib, v) @ d,
    "dense_matmul_sparse": lambda lib, v, d: d.t() @ coo(lib, v),
    "spmm": lambda lib, v, d: lib.spmm(coo(lib, v), d),
    "sparse_addmm": lambda lib, v, d: lib.sparse.addmm(d[:, :2] * 0 + 1, coo(lib, v), d[:, :2],
                                                       beta=0.5, alpha=2.0),
    "addmm": lambda lib, v, d: lib.addmm(d[:, :2], coo(lib, v), d[:, :2]),
}


@pytest.mark.parametrize("name", sorted(DENSE_RESULTS))
def test_dense_results(name):
    e, t = check(DENSE_RESULTS[name], vals(), RNG.standard_normal((3, 3)).astype(np.float32))
    assert e.grad_fn.name() == t.grad_fn.name()


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_negative_dim(op):
    """Forward as PyTorch's. PyTorch 2.13's backward for a negative ``dim`` is wrong (its
    gradcheck fails), so the gradient is compared with the one for the same ``dim`` given
    as non-negative, which matches PyTorch's and passes gradcheck."""
    v = vals(5, np.float64)
    same_sparse(*both(lambda lib: getattr(lib.sparse, op)(coo(lib, lib.tensor(v)), -2)))
    grads = []
    for dim in (-2, 0):
        leaf = ember.tensor(v, requires_grad=True)
        out = getattr(ember.sparse, op)(coo(ember, leaf), dim).to_dense()
        out.backward(ember.arange(9.0, dtype=ember.float64).reshape(3, 3))
        grads.append(as_numpy(leaf.grad))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)



@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("scale", [1.0, 1e300])
def test_softmax_one_entry_groups_are_exact(op, scale):
    """A group (the entries one softmax runs over) holding a single stored entry gives
    exactly 1 (softmax) and 0 (log_softmax: x - max - log(exp(x - max))), as PyTorch; on
    cuda too, where CuPy's own float64 maximum.at rounds each group's max to float32
    (log_softmax was left at 1e-17 on an H200; past float32's range, NaN)."""
    v = vals(5, np.float64) * scale
    singles = {0: [1, 3], 1: [0, 3]}  # coalesced positions alone in their column / row
    for dim, alone in singles.items():
        e, t = both(lambda lib: getattr(lib.sparse, op)(coo(lib, lib.tensor(v)), dim))  # noqa: B023
        same_sparse(e, t)
        got, want = as_numpy(e._values()), as_numpy(t._values())
        np.testing.assert_array_equal(got[alone], want[alone])
        np.testing.assert_array_equal(got[alone], 0.0 if op == "log_softmax" else 1.0)

def test_hybrid_sum_and_softmax():
    v = RNG.standard_normal((3, 2)).astype(np.float32)
    idx = np.array([[0, 2, 0], [1, 1, 1]])

    def hybrid(lib, v):
        return lib.sparse_coo_tensor(lib.tensor(idx), v, (3, 2, 2))

    sparse_results = (lambda lib, v: lib.sparse.sum(hybrid(lib, v), 2),
                      lambda lib, v: lib.sparse.sum(hybrid(lib, v), 0),
                      lambda lib, v: lib.sparse.softmax(hybrid(lib, v), 2),
                      lambda lib, v: lib.sparse.softmax(hybrid(lib, v), 0),
                      lambda lib, v: lib.sparse.log_softmax(hybrid(lib, v), 1),
                      lambda lib, v: hybrid(lib, v).coalesce())
    for fn in sparse_results:
        same_sparse(*both(lambda lib: fn(lib, lib.tensor(v))))  # noqa: B023 - called here
    for fn in sparse_results[2:]:
        check(lambda lib, v: fn(lib, v).to_dense(), v)  # noqa: B023 - called here
    check(lambda lib, v: lib.sparse.sum(hybrid(lib, v), (0, 1)), v)
    check(lambda lib, v: lib.sparse.sum(hybrid(lib, v), 2).to_dense(), v)


ERRORS = {
    "sparse_add_dense": (lambda lib: coo(lib, lib.ones(5)) + lib.ones(3, 3),
                         (r"add\(sparse, dense\) is not supported. Use add\(dense, sparse\) "
                         "instead.")),
    "add_sizes": (lambda lib: coo(lib, lib.ones(5)) + coo(lib, lib.ones(5), shape=(3, 4)),
                  (r"add: expected sizes of 'self' and 'other' to match, but \[3, 3\] != "
                  r"\[3, 4\]")),
    "div_tensor": (lambda lib: coo(lib, lib.ones(5)) / lib.ones(3),
                   (r"Sparse division requires a scalar or zero-dim dense tensor divisor \(got "
                   r"shape \[3\] for divisor\)")),
    "mm_shapes": (lambda lib: lib.sparse.mm(coo(lib, lib.ones(5)), lib.ones(4, 2)),
                  "addmm: Argument #3 \\(dense\\): Expected dim 0 size 3, got 4"),
    "to_sparse_dim": (lambda lib: coo(lib, lib.ones(5)).to_sparse(1),
                      ("to_sparse: conversion from Sparse to Sparse with sparse_dim argument "
                      "!=self.sparse_dim\\(\\) is not supported")),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors(name):
    fn, message = ERRORS[name]
    check_raises(fn, match=message)


# -- a sparse leaf: .grad is sparse, on the leaf's indices ---------------------------------

LEAF_FUNCTIONS = {
    "to_dense": lambda lib, s, d: (s.to_dense() * d).sum(),
    "sparse_mm": lambda lib, s, d: (lib.sparse.mm(s, d) * d[:, :3]).sum(),
    "sparse_sum": lambda lib, s, d: lib.sparse.sum(s) * 3,
    "sum_dim": lambda lib, s, d: lib.sparse.sum(lib.sparse.sum(s, 1) * 2),
    "mul_dense": lambda lib, s, d: lib.sparse.sum(s * d),
    "softmax": lambda lib, s, d: (lib.sparse.softmax(s, 1).to_dense() * d).sum(),
    "log_softmax": lambda lib, s, d: (lib.sparse.log_softmax(s, 0).to_dense() * d).sum(),
    "twice": lambda lib, s, d: lib.sparse.sum(s * 2) + (s.to_dense() * d).sum(),
}


@pytest.mark.parametrize("name", sorted(LEAF_FUNCTIONS))
def test_sparse_leaf_grad(name):
    fn = LEAF_FUNCTIONS[name]
    v = vals(4, np.float64)
    d = RNG.standard_normal((3, 3))
    grads = []
    for lib in (ember, torch):
        s = lib.sparse_coo_tensor(lib.tensor(IDX_C), lib.tensor(v), (3, 3),
                                  requires_grad=True)
        assert s.is_leaf and s.requires_grad
        fn(lib, s, lib.tensor(d)).backward()
        grads.append(s.grad)
    # PyTorch's coalesced flag on a gradient depends on the op (sparse.sum's is set, the
    # others' are not): the indices and values are what must agree.
    same_sparse(*grads, rtol=1e-7, atol=1e-7, check_repr=False, check_coalesced=False)


def test_uncoalesced_leaf_grad_is_per_position():
    """Duplicates of one index get one gradient entry, as PyTorch reports it."""
    idx = [[0, 1, 0], [1, 1, 1]]
    grads = []
    for lib in (ember, torch):
        s = lib.sparse_coo_tensor(idx, lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64), (3, 3),
                                  requires_grad=True)
        (s.to_dense() * lib.arange(9.0, dtype=lib.float64).reshape(3, 3)).sum().backward()
        grads.append(s.grad)
    same_sparse(*grads, check_repr=False, check_coalesced=False)


def test_sparse_leaf_grad_reset_and_nonleaf():
    s = ember.sparse_coo_tensor(ember.tensor(IDX_C), ember.ones(4), (3, 3), requires_grad=True)
    ember.sparse.sum(s).backward()
    assert s.grad is not None
    s.grad = None
    assert s.grad is None
    v = ember.ones(4, requires_grad=True)
    built = ember.sparse_coo_tensor(ember.tensor(IDX_C), v, (3, 3))
    assert not built.is_leaf and built.grad_fn is not None and built.requires_grad
    ember.sparse.sum(built * 2).backward()
    np.testing.assert_array_equal(as_numpy(v.grad), np.full(4, 2.0, np.float32))


def test_gradcheck_float64():
    idx = ember.tensor(IDX)
    d = ember.tensor(RNG.standard_normal((3, 2)), requires_grad=True)
    v = ember.tensor(RNG.standard_normal(5), requires_grad=True)

    def spmm_softmax(v, d):
        s = ember.sparse_coo_tensor(idx, v, (3, 3))
        return ember.sparse.mm(ember.sparse.softmax(s, 1), d)

    def log_softmax_sum(v):
        s = ember.sparse_coo_tensor(idx, v, (3, 3))
        return ember.sparse.sum(ember.sparse.log_softmax(s, 0), 1).to_dense()

    assert ember.autograd.gradcheck(spmm_softmax, (v, d))
    assert ember.autograd.gradcheck(log_softmax_sum, (v,))
    # PyTorch 2.13 has no backward for sparse index_select (index_add_ on SparseCPU).
    assert ember.autograd.gradcheck(
        lambda v: ember.sparse_coo_tensor(idx, v, (3, 3)).index_select(
            1, ember.tensor([2, 0, 2])).to_dense(), (v,))
    assert ember.autograd.gradgradcheck(spmm_softmax, (v, d))


def test_mm_is_vectorised():
    """(1000 x 1000, nnz 5000) @ (1000 x 64): one gather and one scatter-add."""
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 1000, (2, 5000))
    v = rng.standard_normal(5000).astype(np.float32)
    d = rng.standard_normal((1000, 64)).astype(np.float32)
    s = ember.sparse_coo_tensor(ember.tensor(idx), ember.tensor(v), (1000, 1000))
    dense = ember.tensor(d)
    ember.sparse.mm(s, dense)
    start = time.perf_counter()
    out = ember.sparse.mm(s, dense)
    elapsed = time.perf_counter() - start
    expected = torch.sparse.mm(torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(v),
                                                       (1000, 1000)), torch.tensor(d))
    np.testing.assert_allclose(as_numpy(out), expected.numpy(), rtol=1e-4, atol=1e-4)
    assert elapsed < 0.25, f"sparse.mm took {elapsed:.3f} s"


# -- zero-preserving elementwise methods: coalesce, then apply to the values -----------------

ELEMENTWISE = ["abs", "asin", "asinh", "atan", "ceil", "deg2rad", "erf", "expm1", "floor",
               "log1p", "nan_to_num", "rad2deg", "relu", "round", "sgn", "sign", "sin", "sinh",
               "sqrt", "square", "tan", "tanh", "trunc"]
_NO_GRAD = {"ceil", "floor", "round", "sgn", "sign", "trunc"}  # PyTorch: no grad_fn


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_methods(name):
    v = (RNG.uniform(0.1, 0.9, 5) * RNG.choice([-1.0, 1.0], 5) / 2).astype(np.float32)
    if name in ("sqrt", "log1p"):
        v = np.abs(v)
    same_sparse(*both(lambda lib: getattr(coo(lib, lib.tensor(v)), name)()))
    if name not in _NO_GRAD:
        same_sparse(*both(lambda lib: getattr(coo(lib, lib.tensor(v, requires_grad=True)),
                                              name)()))
        # PyTorch 2.13's backward of most of these fails on sparse values (it runs dense
        # kernels on the sparse gradient), so the gradient is checked numerically.
        values = ember.tensor(v.astype(np.float64), requires_grad=True)
        assert ember.autograd.gradcheck(
            lambda values: getattr(coo(ember, values), name)().to_dense(), (values,))


def test_pow_and_broadcast_mul_and_sparse_mask():
    v = vals()
    for fn in (lambda lib, v: coo(lib, v) ** 2, lambda lib, v: coo(lib, v).pow(3),
               lambda lib, v: coo(lib, v) * lib.tensor([1.0, 2.0, 3.0]),
               lambda lib, v: coo(lib, v) * lib.tensor([[1.0], [2.0], [3.0]]),
               lambda lib, v: lib.arange(9.0).reshape(3, 3).mul(2).sparse_mask(
                   coalesced(lib, v[:4])) * v[0]):
        same_sparse(*both(lambda lib: fn(lib, lib.tensor(v, requires_grad=True))))  # noqa: B023
        check(lambda lib, v: fn(lib, v).to_dense(), v)  # noqa: B023
    check(lambda lib, d, v: d.sparse_mask(coalesced(lib, v)).to_dense(),
          RNG.standard_normal((3, 3)).astype(np.float32), vals(4))
    check_raises(lambda lib: coo(lib, lib.ones(5)).pow(0), match="cannot raise to zeroth power")


def test_mm_without_scipy(monkeypatch):
    """The NumPy path (sort by row, one add.reduceat) gives SciPy's result, duplicates and
    unsorted rows included."""
    from ember.sparse import _spmm

    rng = np.random.default_rng(1)
    rows, cols = rng.integers(0, 40, 300), rng.integers(0, 30, 300)
    values = rng.standard_normal(300)
    dense = rng.standard_normal((30, 5))
    with_scipy = _spmm._spmm_arrays(values, dense, rows, cols, 40)
    monkeypatch.setitem(__import__("sys").modules, "scipy", None)
    without = _spmm._spmm_arrays(values, dense, rows, cols, 40)
    np.testing.assert_allclose(without, with_scipy, rtol=1e-12, atol=1e-12)
    empty = _spmm._spmm_arrays(values[:0], dense, rows[:0], cols[:0], 40)
    assert empty.shape == (40, 5) and not empty.any()
