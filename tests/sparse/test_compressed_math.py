"""Math on compressed layouts against torch: products (values and gradients to both
operands), pointwise ops, add, sum, transpose, sampled_addmm and the errors torch raises."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from compressed_oracle import (
    MATRIX,
    RNG,
    W,
    ember_gradcheck,
    node_name,
    run,
    same_dense,
    same_grad,
    same_leaf_grad,
)
from oracle import as_numpy
from sparse_oracle import same_compressed

import ember
from ember import overrides

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse (CSR|CSC|BSR|BSC|invariant)"),
              pytest.mark.filterwarnings("ignore:log1p_backward")]


@pytest.fixture(autouse=True, scope="module")
def _protocol_off_afterwards():
    """A compressed tensor installs the __torch_function__ dispatch (its function forms);
    leave ember as the other test modules expect it."""
    yield
    overrides._uninstall()


# -- products --------------------------------------------------------------------------------



@pytest.mark.parametrize("layout,blocksize", [("csr", None), ("csc", None), ("bsr", (2, 2))])
@pytest.mark.parametrize("op", ["sparse.mm", "sparse.addmm"])
def test_sparse_mm_grads_reach_values_and_dense(op, layout, blocksize):
    bias = RNG.standard_normal((4, 3))

    def fn(lib, s, w, b):
        if op == "sparse.mm":
            return lib.sparse.mm(s, w)
        return lib.sparse.addmm(b, s, w, beta=0.5, alpha=2.0)

    csr = layout == "csr"  # torch's backward refuses CSC/BSR operands of sparse.mm
    e, t, (es, (ew, eb)), (ts, (tw, tb)) = run(fn, MATRIX, W, bias, layout=layout,
                                                blocksize=blocksize, torch_grad=csr)
    same_dense(e, t)
    assert node_name(e) == "SparseAddmmBackward0"
    if csr:
        assert node_name(t) == "SparseAddmmBackward0"
        same_dense(ew.grad, tw.grad)
        same_grad(eb.grad, tb.grad)
        same_leaf_grad(es, ts)
    else:
        ember_gradcheck(fn, MATRIX, W, bias, layout=layout, blocksize=blocksize)


@pytest.mark.parametrize("op", ["matmul", "@", "mm", "addmm", "Tensor.mm"])
def test_mm_forms(op):
    bias = RNG.standard_normal((4, 3))
    fns = {
        "matmul": lambda lib, s, w, b: lib.matmul(s, w),
        "@": lambda lib, s, w, b: s @ w,
        "mm": lambda lib, s, w, b: lib.mm(s, w),
        "addmm": lambda lib, s, w, b: lib.addmm(b, s, w, beta=2, alpha=3),
        "Tensor.mm": lambda lib, s, w, b: s.mm(w),
    }
    e, t, (es, (ew, eb)), (ts, (tw, tb)) = run(fns[op], MATRIX, W, bias)
    same_dense(e, t)
    assert node_name(e) == node_name(t)
    same_dense(ew.grad, tw.grad)
    same_grad(eb.grad, tb.grad)
    assert ts.grad.layout == torch.strided  # every entry's gradient, as torch gives a leaf
    same_leaf_grad(es, ts)


def test_dense_at_sparse_and_sparse_at_sparse():
    left = RNG.standard_normal((2, 4))
    e, t, (es, (el,)), (ts, (tl,)) = run(lambda lib, s, x: x @ s, MATRIX, left)
    same_dense(e, t)
    same_dense(el.grad, tl.grad)
    same_leaf_grad(es, ts)
    e, t, _, _ = run(lambda lib, s: lib.sparse.mm(lib.ones(2, 4, dtype=s.dtype), s), MATRIX,
                     grad=False)
    same_dense(e, t)
    for other in ("csr", "csc"):
        def fn(lib, s):
            return s @ getattr(s.to_dense().t().contiguous(), f"to_sparse_{other}")()
        e, t, _, _ = run(fn, MATRIX, grad=False)
        same_compressed(e, t, check_repr=False)


def test_mv():
    vec = RNG.standard_normal(4)
    for fn in (lambda lib, s, v: s.mv(v), lambda lib, s, v: s @ v,
               lambda lib, s, v: lib.mv(s, v)):
        e, t, (es, (ev,)), (ts, (tv,)) = run(fn, MATRIX, vec)
        same_dense(e, t)
        assert node_name(e) == node_name(t) == "MvBackward0"
        same_leaf_grad(es, ts)
        same_dense(ev.grad, tv.grad)
    e, t, _, _ = run(lambda lib, s, v: s.mv(v), MATRIX, vec, layout="csc", grad=False)
    same_dense(e, t)


@pytest.mark.oracle_torch("2.13", "torch 2.11's mv lacks addmv's same-dtype check")
def test_product_errors():
    for lib in (ember, torch):
        s = lib.tensor(MATRIX).to_sparse_csr()
        with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied "
                                               r"\(4x4 and 3x2\)"):
            s @ lib.ones(3, 2, dtype=s.dtype)
        with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
            s.float() @ lib.ones(4, 2, dtype=lib.float64)
        with pytest.raises(RuntimeError, match=r"size mismatch, got input \(4\), mat \(4x4\), "
                                               r"vec \(2\)"):
            s.mv(lib.ones(2, dtype=s.dtype))
        with pytest.raises(RuntimeError, match="addmv input tensors must have the same dtype"):
            s.float().mv(lib.ones(4, dtype=lib.float64))
        with pytest.raises(RuntimeError, match="not implemented for SparseCsr \\+ Strided @ "
                                               "Strided"):
            lib.addmm(s, lib.ones(4, 4, dtype=s.dtype), lib.ones(4, 4, dtype=s.dtype))
        with pytest.raises(RuntimeError, match="not implemented for Strided \\+ SparseBsc"):
            s.to_sparse_bsc((2, 2)) @ lib.ones(4, 2, dtype=s.dtype)


# -- sampled_addmm --------------------------------------------------------------------------


@pytest.mark.parametrize("beta,alpha", [(1.0, 1.0), (0.5, 2.0), (0.0, 1.0)])
def test_sampled_addmm(beta, alpha):
    m1, m2 = RNG.standard_normal((4, 2)), RNG.standard_normal((2, 4))

    def fn(lib, s, a, b):
        return lib.sparse.sampled_addmm(s, a, b, beta=beta, alpha=alpha)

    e, t, (es, (ea, eb)), (ts, (ta, tb)) = run(fn, MATRIX, m1, m2)
    same_compressed(e, t, check_repr=False)
    assert node_name(e) == node_name(t) == "SparseSampledAddmmBackward0"
    same_dense(ea.grad, ta.grad)
    same_grad(eb.grad, tb.grad)
    if beta:
        same_leaf_grad(es, ts)


def test_sampled_addmm_errors():
    for lib in (ember, torch):
        s = lib.tensor(MATRIX).to_sparse_csr()
        with pytest.raises(RuntimeError, match="Expected result to have sparse csr layout, but "
                                               "got SparseCsc"):
            lib.sparse.sampled_addmm(s.to_sparse_csc(), lib.ones(4, 2), lib.ones(2, 4))
        with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied "
                                               r"\(4x2 and 3x4\)"):
            lib.sparse.sampled_addmm(s.float(), lib.ones(4, 2), lib.ones(3, 4))
        with pytest.raises(RuntimeError, match=r"self.shape\[-1\] must match mat2.shape\[-1\]"):
            lib.sparse.sampled_addmm(s.float(), lib.ones(4, 2), lib.ones(2, 3))
        with pytest.raises(RuntimeError, match="Expected mat1 and mat2 to have the same dtype, "
                                               "but got Double and Float"):
            lib.sparse.sampled_addmm(s.float(), lib.ones(4, 2, dtype=lib.float64),
                                     lib.ones(2, 4))
        with pytest.raises(NotImplementedError, match="aten::sparse_sampled_addmm"):
            lib.sparse.sampled_addmm(lib.ones(4, 4), lib.ones(4, 2), lib.ones(2, 4))


# -- pointwise -------------------------------------------------------------------------------

# ops whose backward torch supports on CSR: their gradients are compared too
WITH_GRAD = ["abs", "neg", "ceil", "floor", "frac", "round", "trunc", "sign", "deg2rad",
             "rad2deg", "log1p", "relu", "positive", "conj_physical"]
VALUES_ONLY = ["asin", "asinh", "atan", "atanh", "erf", "erfinv", "expm1", "sgn", "sin", "sinh",
               "sqrt", "tan", "tanh", "signbit", "isnan", "isinf", "isposinf", "isneginf",
               "angle"]


@pytest.mark.parametrize("name", WITH_GRAD + VALUES_ONLY)
@pytest.mark.parametrize("layout", ["csr", "csc"])
def test_unary(name, layout):
    matrix = MATRIX / 8 if name in ("asin", "atanh", "erfinv") else np.abs(MATRIX) if (
        name == "sqrt") else MATRIX
    grad = name in WITH_GRAD and layout == "csr"
    e, t, (es, _), (ts, _) = run(lambda lib, s: getattr(s, name)(), matrix, layout=layout,
                                 grad=grad)
    same_compressed(e, t, check_repr=False, rtol=1e-7, atol=1e-7)
    if grad:
        same_leaf_grad(es, ts)


def test_unary_blocks_keep_pattern():
    e, t, _, _ = run(lambda lib, s: s.sin(), MATRIX, layout="bsr", blocksize=(2, 2),
                     grad=False)
    same_compressed(e, t)


@pytest.mark.parametrize("case", ["scalar", "0-d", "dense", "dense_left", "sparse", "promote"])
def test_mul(case):
    other = RNG.standard_normal((4, 4))
    mask = np.array([[1., 0, 0, 0], [0, 0, 3, 0], [0, 0, 0, 0], [0, 0, 0, 2]])
    fns = {
        "scalar": lambda lib, s, d: s * 2.5,
        "0-d": lambda lib, s, d: s * lib.tensor(3.0, dtype=s.dtype),
        "dense": lambda lib, s, d: s * d,
        "dense_left": lambda lib, s, d: d * s,
        "sparse": lambda lib, s, d: s.mul(lib.tensor(mask).to_sparse_csr()),
        "promote": lambda lib, s, d: s.float() * d,
    }
    with_dense = case in ("dense", "dense_left", "promote")  # torch's backward refuses these
    e, t, (es, _), (ts, _) = run(fns[case], MATRIX, other, torch_grad=not with_dense)
    same_compressed(e, t, check_repr=False)
    assert node_name(e) == "MulBackward0"
    if case == "promote":  # float32 values: no float64 gradcheck
        return
    if with_dense:
        ember_gradcheck(fns[case], MATRIX, other)
    else:
        assert node_name(t) == "MulBackward0"
        same_leaf_grad(es, ts)


def test_int_times_float_scalar():
    e, t = (lib.tensor(MATRIX.astype(np.int64)).to_sparse_csr() * 2.5 for lib in (ember, torch))
    same_compressed(e, t)


@pytest.mark.parametrize("case", ["same_pattern", "union", "alpha", "sub"])
def test_add_sparse_sparse(case):
    other = np.array([[1., 0, 0, 0], [0, 0, 3, 0], [7, 0, 0, 0], [0, 0, 0, 2]])
    fns = {
        "same_pattern": lambda lib, s, o: s + s,
        "union": lambda lib, s, o: s + o.to_sparse_csr(),
        "alpha": lambda lib, s, o: s.add(o.to_sparse_csr(), alpha=2),
        "sub": lambda lib, s, o: s.add(o.to_sparse_csr(), alpha=-1),
    }
    e, t, (es, (eo,)), (ts, (to,)) = run(fns[case], MATRIX, other)
    same_compressed(e, t, check_repr=False)
    assert node_name(e) == node_name(t) == "AddBackward0"
    same_leaf_grad(es, ts)
    if to.grad is None:
        assert eo.grad is None
        return
    # ``other`` reaches the sum through to_sparse_csr: its gradient is on its own pattern
    np.testing.assert_allclose(as_numpy(eo.grad), as_numpy(to.grad) * (other != 0),
                               rtol=1e-7, atol=1e-7)


def test_add_and_sub_beyond_torch():
    """CSC + CSC and CSR - CSR, which torch refuses, as the dense results say."""
    other = np.array([[1., 0, 0, 0], [0, 0, 3, 0], [7, 0, 0, 0], [0, 0, 0, 2]])
    for layout, fn in (("csc", lambda a, b: a + b), ("csr", lambda a, b: a - b)):
        a, b = (getattr(ember.tensor(x), f"to_sparse_{layout}")() for x in (MATRIX, other))
        result = fn(a, b)
        assert result.layout == a.layout
        np.testing.assert_allclose(as_numpy(result.to_dense()), fn(MATRIX, other))
        ember_gradcheck(lambda lib, s: fn(s, b), MATRIX, layout=layout)


def test_add_dense():
    other = RNG.standard_normal((4, 4))
    for fn in (lambda lib, s, d: s + d, lambda lib, s, d: d + s):
        e, t, (es, (ed,)), (ts, (td,)) = run(fn, MATRIX, other)
        same_dense(e, t)
        same_dense(ed.grad, td.grad)
        same_leaf_grad(es, ts)


def test_dense_add_in_place_of_compressed():
    """``dense.add_(csr)`` / ``dense += csr`` add the dense values, as PyTorch does."""
    base = RNG.standard_normal((4, 4)).astype(np.float32)
    results = {}
    for lib in (ember, torch):
        s = lib.tensor(MATRIX, dtype=lib.float32).to_sparse_csr()
        a = lib.tensor(base).clone()
        a.add_(s, alpha=0.5)
        b = lib.tensor(base).clone()
        b += s.to_sparse_csc()
        results[lib] = (as_numpy(a), as_numpy(b))
    for mine, theirs in zip(results[ember], results[torch]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-6)


def test_add_errors():
    for lib in (ember, torch):
        s = lib.tensor(MATRIX).to_sparse_csr()
        with pytest.raises(RuntimeError, match="op2-sparse addition does not currently support "
                                               "broadcasting"):
            s + 1
        with pytest.raises(RuntimeError, match="crow_indices expected sparse row compressed "
                                               "tensor layout but got SparseCsc"):
            s + s.to_sparse_csc()
        with pytest.raises(RuntimeError, match=r"Expected input tensors to have the same shape, "
                                               r"but got tensor `self` with shape \[4, 4\] and "
                                               r"tensor `other` with shape \[4, 3\]"):
            s + lib.ones(4, 3, dtype=s.dtype).to_sparse_csr()
        with pytest.raises(RuntimeError, match="expected scalar type Double but found Float"):
            s.float() + s


# -- reductions and shape --------------------------------------------------------------------


@pytest.mark.parametrize("case", ["all", "rows", "cols", "both", "neg", "dtype", "int"])
def test_sum(case):
    fns = {
        "all": lambda lib, s: s.sum(),
        "rows": lambda lib, s: s.sum(1, keepdim=True),
        "cols": lambda lib, s: s.sum(0, keepdim=True),
        "both": lambda lib, s: s.sum((0, 1), keepdim=True),
        "neg": lambda lib, s: s.sum(-1, keepdim=True),
        "dtype": lambda lib, s: s.float().sum(1, keepdim=True, dtype=lib.float64),
        "int": lambda lib, s: s.long().sum(),
    }
    grad = case not in ("int", "dtype")
    torch_grad = case == "all"  # torch's backward of sum(dim) on CSR refuses (expand)
    e, t, (es, _), (ts, _) = run(fns[case], MATRIX, grad=grad, torch_grad=torch_grad)
    if t.layout == torch.strided:
        same_dense(e, t)
    else:
        same_compressed(e, t, check_repr=False)
    if torch_grad:
        assert node_name(e) == node_name(t)
        same_leaf_grad(es, ts)
    elif grad:
        ember_gradcheck(fns[case], MATRIX)


def test_sum_errors():
    for lib in (ember, torch):
        s = lib.tensor(MATRIX).to_sparse_csr()
        with pytest.raises(RuntimeError, match="with keepdim=False is unsupported"):
            s.sum(1)
        with pytest.raises(RuntimeError, match="only compressed sparse format supported for "
                                               "sum.dim_IntList is CSR, but got layout "
                                               "SparseCsc"):
            s.to_sparse_csc().sum(0, keepdim=True)
        with pytest.raises(RuntimeError, match="coalesce expected sparse coordinate tensor "
                                               "layout but got SparseCsr"):
            lib.sparse.sum(s)
        with pytest.raises(NotImplementedError, match="aten::_sparse_softmax' with arguments "
                                                      "from the 'SparseCsrCPU' backend"):
            lib.sparse.softmax(s, 1)


@pytest.mark.parametrize("case", ["t", "transpose", "transpose_neg", "same_dim", "csc_t",
                                  "bsr_t", "batched"])
def test_transpose(case):
    layouts = {"csc_t": ("csc", None), "bsr_t": ("bsr", (2, 1))}
    layout, blocksize = layouts.get(case, ("csr", None))
    fns = {
        "t": lambda lib, s: s.t(),
        "transpose": lambda lib, s: s.transpose(1, 0),
        "transpose_neg": lambda lib, s: s.transpose(-1, 0),
        "same_dim": lambda lib, s: s.transpose(0, 0),
        "csc_t": lambda lib, s: s.t(),
        "bsr_t": lambda lib, s: s.t(),
        "batched": lambda lib, s: lib.stack([s.to_dense(), -s.to_dense()]).to_sparse_csr()
        .transpose(1, 2),
    }
    grad = case != "batched"
    torch_grad = grad and layout == "csr"  # torch's backward refuses CSC/BSR here
    e, t, (es, _), (ts, _) = run(fns[case], MATRIX, layout=layout, blocksize=blocksize,
                                 grad=grad, torch_grad=torch_grad)
    same_compressed(e, t, check_repr=torch_grad or not grad)
    if torch_grad:
        same_leaf_grad(es, ts)
    elif grad:
        ember_gradcheck(fns[case], MATRIX, layout=layout, blocksize=blocksize)


def test_transpose_errors():
    for lib in (ember, torch):
        batched = lib.tensor(np.stack([MATRIX, MATRIX])).to_sparse_csr()
        with pytest.raises(RuntimeError, match=r"can only transpose dimensions of the same type "
                                               r"\(Batch, Sparse, Dense\), got 0\(Batch\) and "
                                               r"1\(Sparse\)"):
            batched.transpose(0, 1)
