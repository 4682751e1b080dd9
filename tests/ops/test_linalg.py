"""Matrix products and ember.linalg against PyTorch: values, dtypes, shapes, gradients,
gradcheck in float64 and PyTorch's error messages."""

import re

import numpy as np
import pytest
import torch

import ember
import oracle
from oracle import check, check_raises, randn

F64 = np.float64


def spd(n, batch=(), dtype=np.float32):
    """A symmetric positive-definite matrix (batch)."""
    a = randn(*batch, n, n, dtype=dtype)
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(dtype)


def well_conditioned(n, batch=(), dtype=np.float32):
    return (randn(*batch, n, n, dtype=dtype) + 3 * np.eye(n)).astype(dtype)


# -- matmul: every broadcasting case --------------------------------------------------

MATMUL_SHAPES = [
    ((3,), (3,)),            # dot
    ((4, 3), (3,)),          # mv
    ((3,), (3, 5)),          # vector @ matrix
    ((4, 3), (3, 5)),        # mm
    ((2, 4, 3), (3,)),       # batched @ vector
    ((3,), (2, 3, 5)),       # vector @ batched
    ((2, 4, 3), (3, 5)),     # batched @ matrix (folded into one GEMM)
    ((4, 3), (2, 3, 5)),     # matrix @ batched
    ((2, 4, 3), (2, 3, 5)),  # bmm
    ((2, 1, 4, 3), (3, 3, 5)),  # batch broadcasting
    ((1, 4, 3), (6, 3, 5)),
    ((0, 3), (3, 2)),        # empty
    ((4, 0), (0, 2)),        # empty contraction
]


@pytest.mark.parametrize("shape_a,shape_b", MATMUL_SHAPES)
def test_matmul_broadcasting(shape_a, shape_b):
    check(lambda lib, a, b: lib.matmul(a, b), randn(*shape_a), randn(*shape_b))
    check(lambda lib, a, b: a @ b, randn(*shape_a, dtype=F64), randn(*shape_b, dtype=F64))


@pytest.mark.parametrize("shape_a,shape_b", MATMUL_SHAPES[:10])
def test_matmul_gradcheck(shape_a, shape_b):
    a = ember.tensor(randn(*shape_a, dtype=F64), requires_grad=True)
    b = ember.tensor(randn(*shape_b, dtype=F64), requires_grad=True)
    assert ember.autograd.gradcheck(ember.matmul, (a, b))
    assert ember.autograd.gradgradcheck(ember.matmul, (a, b))


# CUDA's GEMM/GEMV/dot kernels have no integer types: on cuda torch refuses an integer
# product with the kernel's name, and ember does the same (CuPy would compute it).
CUDA_INTEGER_REFUSALS = {"mm": '"addmm_cuda" not implemented for \'Long\'',
                         "mv": '"addmv_impl_cuda" not implemented for \'Long\'',
                         "dot": '"dot" not implemented for \'Long\''}


def check_integer_product(kernel, fn, *inputs):
    """``check`` on cpu; on cuda both libraries refuse (torch where it runs on cuda)."""
    if oracle.DEVICE == "cpu":
        return check(fn, *inputs)
    message = re.escape(CUDA_INTEGER_REFUSALS[kernel])
    libs = [(ember, oracle.to_ember)] + (
        [(torch, oracle.to_torch)] if oracle.TORCH_DEVICE == "cuda" else [])
    for lib, convert in libs:
        with pytest.raises(NotImplementedError, match=message), oracle.on_device(lib):
            fn(lib, *[convert(x) for x in inputs])


def test_matmul_int_and_noncontiguous():
    check_integer_product("mm", lambda lib, a, b: a @ b, np.arange(6).reshape(2, 3),
                          np.arange(12).reshape(3, 4))
    check(lambda lib, a, b: a.t() @ b.t(), randn(3, 4), randn(5, 3))
    check(lambda lib, a, b: a.mT @ b, randn(2, 3, 4), randn(2, 3, 5))


def test_rmatmul_with_numpy_free_operands():
    a, b = ember.ones(2, 3), ember.ones(3)
    assert (a @ b).tolist() == [3.0, 3.0]
    assert a.__rmatmul__(ember.ones(2)).tolist() == [2.0, 2.0, 2.0]


# -- the named products -----------------------------------------------------------------

PRODUCTS = [
    ("mm", lambda lib, a, b: lib.mm(a, b), (randn(4, 3), randn(3, 5))),
    ("mm_method", lambda lib, a, b: a.mm(b), (randn(4, 3), randn(3, 5))),
    ("bmm", lambda lib, a, b: lib.bmm(a, b), (randn(2, 4, 3), randn(2, 3, 5))),
    ("mv", lambda lib, a, b: lib.mv(a, b), (randn(4, 3), randn(3))),
    ("dot", lambda lib, a, b: lib.dot(a, b), (randn(5), randn(5))),
    ("vdot", lambda lib, a, b: lib.vdot(a, b), (randn(5), randn(5))),
    ("inner", lambda lib, a, b: lib.inner(a, b), (randn(2, 3, 4), randn(5, 4))),
    ("inner_1d", lambda lib, a, b: lib.inner(a, b), (randn(4), randn(4))),
    ("inner_0d", lambda lib, a, b: lib.inner(a, b), (randn(), randn(2, 3))),
    ("outer", lambda lib, a, b: lib.outer(a, b), (randn(4), randn(3))),
    ("ger", lambda lib, a, b: lib.ger(a, b), (randn(4), randn(3))),
    ("outer_int", lambda lib, a, b: lib.outer(a, b), (np.arange(3), randn(2))),
    ("addmm", lambda lib, c, a, b: lib.addmm(c, a, b), (randn(5), randn(4, 3), randn(3, 5))),
    ("addmm_full_bias", lambda lib, c, a, b: lib.addmm(c, a, b),
     (randn(4, 5), randn(4, 3), randn(3, 5))),
    ("addmm_scaled", lambda lib, c, a, b: lib.addmm(c, a, b, beta=0.5, alpha=2.0),
     (randn(1, 5), randn(4, 3), randn(3, 5))),
    ("addmm_beta0", lambda lib, c, a, b: lib.addmm(c, a, b, beta=0),
     (randn(5), randn(4, 3), randn(3, 5))),
    ("addmm_transposed", lambda lib, c, a, b: lib.addmm(c, a.t(), b.t()),
     (randn(5), randn(3, 4), randn(5, 3))),
    ("addmv", lambda lib, c, a, b: lib.addmv(c, a, b, beta=2, alpha=0.5),
     (randn(4), randn(4, 3), randn(3))),
    ("baddbmm", lambda lib, c, a, b: lib.baddbmm(c, a, b, alpha=3),
     (randn(4, 5), randn(2, 4, 3), randn(2, 3, 5))),
    ("addbmm", lambda lib, c, a, b: lib.addbmm(c, a, b, beta=0.5),
     (randn(4, 5), randn(2, 4, 3), randn(2, 3, 5))),
    ("addr", lambda lib, c, a, b: lib.addr(c, a, b, alpha=2),
     (randn(4, 3), randn(4), randn(3))),
    ("tensordot_int", lambda lib, a, b: lib.tensordot(a, b, dims=2),
     (randn(2, 3, 4), randn(3, 4, 5))),
    ("tensordot_lists", lambda lib, a, b: lib.tensordot(a, b, dims=([0, 2], [2, 0])),
     (randn(2, 3, 4), randn(4, 5, 2))),
    ("tensordot_0", lambda lib, a, b: lib.tensordot(a, b, dims=0), (randn(2, 3), randn(4))),
    ("kron", lambda lib, a, b: lib.kron(a, b), (randn(2, 3), randn(4, 2))),
    ("kron_mixed_ndim", lambda lib, a, b: lib.kron(a, b), (randn(3), randn(2, 2, 2))),
    ("kron_int", lambda lib, a, b: lib.kron(a, b), (np.arange(3), randn(2))),
    ("cross", lambda lib, a, b: lib.cross(a, b, dim=1), (randn(4, 3), randn(4, 3))),
    ("linalg_cross", lambda lib, a, b: lib.linalg.cross(a, b), (randn(2, 3), randn(1, 3))),
    ("cross_broadcast", lambda lib, a, b: lib.cross(a, b, dim=-1),
     (randn(2, 1, 3), randn(1, 4, 3))),
    ("cdist", lambda lib, a, b: lib.cdist(a, b), (randn(4, 3), randn(5, 3))),
    ("cdist_batched", lambda lib, a, b: lib.cdist(a, b), (randn(2, 4, 3), randn(2, 5, 3))),
    ("cdist_mm", lambda lib, a, b: lib.cdist(a, b), (randn(30, 3), randn(6, 3))),
    ("cdist_p1", lambda lib, a, b: lib.cdist(a, b, p=1), (randn(4, 3), randn(5, 3))),
    ("cdist_p3", lambda lib, a, b: lib.cdist(a, b, p=3), (randn(4, 3), randn(5, 3))),
    ("cdist_p0", lambda lib, a, b: lib.cdist(a, b, p=0), (randn(4, 3), randn(5, 3))),
    ("cdist_inf", lambda lib, a, b: lib.cdist(a, b, p=float("inf")),
     (randn(4, 3), randn(5, 3))),
    ("cdist_batch_broadcast", lambda lib, a, b: lib.cdist(a, b),
     (randn(1, 4, 3), randn(2, 5, 3))),
    ("kron_0d", lambda lib, a, b: lib.kron(a, b), (randn(), randn(2))),
    ("vdot_f64", lambda lib, a, b: lib.vdot(a, b), (randn(3, dtype=F64), randn(3, dtype=F64))),
    ("matmul_f16", lambda lib, a, b: a @ b, (randn(3, 4, dtype=np.float16),
                                            randn(4, 2, dtype=np.float16))),
    ("matmul_int", lambda lib, a, b: a @ b, (np.arange(6).reshape(2, 3), np.arange(3))),
    ("addmm_int", lambda lib, c, a, b: lib.addmm(c, a, b, beta=2, alpha=3),
     (np.arange(2), np.arange(6).reshape(3, 2), np.arange(4).reshape(2, 2))),
    ("dot_int", lambda lib, a, b: lib.dot(a, b), (np.arange(3), np.arange(3))),
    ("chain_matmul", lambda lib, a, b, c: lib.chain_matmul(a, b, c),
     (randn(2, 3), randn(3, 4), randn(4, 2))),
]


@pytest.mark.parametrize("name,fn,inputs", PRODUCTS, ids=[p[0] for p in PRODUCTS])
def test_products_match_torch(name, fn, inputs):
    kernel = {"matmul_int": "mv", "addmm_int": "mm", "dot_int": "dot"}.get(name)
    if kernel is not None:
        return check_integer_product(kernel, fn, *inputs)
    check(fn, *inputs, rtol=1e-5, atol=1e-5)


# Differentiable rows: some float input, and not piecewise constant (cdist p=0).
DIFFERENTIABLE_PRODUCTS = [
    p for p in PRODUCTS
    if p[0] != "cdist_p0" and any(x.dtype.kind == "f" for x in p[2])
]


@pytest.mark.parametrize("name,fn,inputs", DIFFERENTIABLE_PRODUCTS,
                         ids=[p[0] for p in DIFFERENTIABLE_PRODUCTS])
def test_products_gradcheck(name, fn, inputs):
    leaves = tuple(
        ember.tensor(x.astype(F64), requires_grad=x.dtype.kind == "f") for x in inputs
    )
    assert ember.autograd.gradcheck(lambda *args: fn(ember, *args), leaves)


def test_addmm_gradgradcheck():
    c, a, b = (ember.tensor(randn(*s, dtype=F64), requires_grad=True)
               for s in ((3,), (2, 4), (4, 3)))
    assert ember.autograd.gradgradcheck(lambda c, a, b: ember.addmm(c, a, b, alpha=2), (c, a, b))


def test_cdist_zero_distance_gradient_is_zero():
    check(lambda lib, a, b: lib.cdist(a, b), np.ones((2, 3), np.float32),
          np.ones((2, 3), np.float32))


@pytest.mark.parametrize("shape", [(12, 8), (2, 9, 4)])
def test_cdist_gradient_of_nearly_coincident_rows(shape):
    """Embeddings early in metric learning sit close together (distances ~1e-2 against
    norms ~1): below 26 rows PyTorch differentiates the direct difference, and the
    gradient must not lose digits to |x|*sum(g/d) - (g/d)@y cancellation. (Above 25 rows
    both libraries take a GEMM route whose distances are themselves noise at this scale.)"""
    rows, n = shape[-2], int(np.prod(shape))
    common = np.sin(np.arange(shape[-1]) * 0.73).astype(np.float32)
    x = common + 0.01 * np.cos(np.arange(n) * 1.7).reshape(shape).astype(np.float32)
    upstream = np.cos(np.arange(n // shape[-1] * rows) * 0.37).reshape(
        shape[:-1] + (rows,)).astype(np.float32)
    grads = []
    for lib in (torch, ember):
        t = lib.tensor(x, requires_grad=True)
        (lib.cdist(t, t) * lib.tensor(upstream)).sum().backward()
        grads.append(t.grad.numpy())
    assert np.abs(grads[1] - grads[0]).max() <= 1e-5 * np.abs(grads[0]).max()


# -- einsum -----------------------------------------------------------------------------

EINSUM = [
    ("ij,jk->ik", ((3, 4), (4, 5))),
    ("ij,jk", ((3, 4), (4, 5))),
    ("bij,bjk->bik", ((2, 3, 4), (2, 4, 5))),
    ("ii->i", ((4, 4),)),
    ("ii", ((4, 4),)),
    ("ij->", ((3, 4),)),
    ("ij->ji", ((3, 4),)),
    ("i,i->", ((5,), (5,))),
    ("i,j->ij", ((3,), (4,))),
    ("...ij,...jk->...ik", ((2, 3, 4), (4, 5))),
    ("...ij->...ji", ((2, 3, 4),)),
    ("bn,anm,bm->ba", ((2, 3), (4, 3, 5), (2, 5))),
    ("ij,ij->ij", ((1, 4), (3, 4))),
    ("i j , j k -> i k", ((2, 3), (3, 2))),
    ("iij->j", ((3, 3, 2),)),
    ("ba,Ab", ((2, 3), (4, 2))),
    ("i...->...", ((3, 2, 4),)),
    ("ii,jj->", ((3, 3), (2, 2))),
]


@pytest.mark.parametrize("equation,shapes", EINSUM, ids=[e[0] for e in EINSUM])
def test_einsum(equation, shapes):
    inputs = [randn(*s) for s in shapes]
    check(lambda lib, *ops: lib.einsum(equation, *ops), *inputs, rtol=1e-5)
    leaves = [ember.tensor(x.astype(F64), requires_grad=True) for x in inputs]
    assert ember.autograd.gradcheck(lambda *ops: ember.einsum(equation, *ops), leaves)


def test_einsum_sublist_format():
    a, b = randn(2, 3, 4), randn(4, 5)
    check(lambda lib, a, b: lib.einsum(a, [Ellipsis, 0, 1], b, [1, 30], [Ellipsis, 30, 0]), a, b)
    check(lambda lib, a, b: lib.einsum(a, [27, 1], b[:, :2], [1, 28]), randn(3, 4), b)


def test_einsum_list_operands_and_double_backward():
    a, b = randn(3, 4), randn(4, 2)
    check(lambda lib, a, b: lib.einsum("ij,jk->ik", [a, b]), a, b)
    leaves = [ember.tensor(x.astype(F64), requires_grad=True) for x in (a, b)]
    assert ember.autograd.gradgradcheck(lambda x, y: ember.einsum("ij,jk->ik", x, y), leaves)


# -- error paths ------------------------------------------------------------------------

ERRORS = [
    (lambda lib, a, b: lib.mm(a, b), (randn(64, 784), randn(128, 10)),
     r"mat1 and mat2 shapes cannot be multiplied \(64x784 and 128x10\)"),
    (lambda lib, a, b: lib.mm(a, b), (randn(3), randn(3, 2)), "self must be a matrix"),
    (lambda lib, a, b: lib.mm(a, b), (randn(2, 3), randn(3, 2, dtype=F64)),
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    (lambda lib, a, b: lib.bmm(a, b), (randn(2, 3, 4), randn(3, 4, 5)),
     r"Expected size for first two dimensions of batch2 tensor to be: \[2, 4\] but got: "
     r"\[3, 4\]\."),
    (lambda lib, a, b: lib.bmm(a, b), (randn(3, 4), randn(2, 4, 5)),
     "batch1 must be a 3D tensor"),
    (lambda lib, a, b: lib.mv(a, b), (randn(2, 3), randn(4)),
     r"size mismatch, got input \(2\), mat \(2x3\), vec \(4\)"),
    (lambda lib, a, b: lib.dot(a, b), (randn(3), randn(4)), "inconsistent tensor size"),
    (lambda lib, a, b: lib.dot(a, b), (randn(3, 1), randn(3)),
     "1D tensors expected, but got 2D and 1D tensors"),
    (lambda lib, a, b: lib.matmul(a, b), (randn(), randn(3)),
     "both arguments to matmul need to be at least 1D, but they are 0D and 1D"),
    (lambda lib, a, b: lib.matmul(a, b), (randn(2, 3, 4), randn(3, 4, 6)),
     r"The size of tensor a \(2\) must match the size of tensor b \(3\) at non-singleton "
     "dimension 0"),
    (lambda lib, a, b: lib.matmul(a, b), (randn(2, 4, 6), randn(5)),
     r"size mismatch, got input \(8\), mat \(8x6\), vec \(5\)"),
    (lambda lib, a, b: lib.matmul(a, b), (randn(5), randn(4, 6)),
     r"mat1 and mat2 shapes cannot be multiplied \(1x5 and 4x6\)"),
    (lambda lib, a, b: lib.matmul(a, b), (randn(2, 3, 5), randn(4, 6)),
     r"mat1 and mat2 shapes cannot be multiplied \(6x5 and 4x6\)"),
    (lambda lib, a, b: lib.matmul(a, b), (randn(2, 2, 3, 5), randn(2, 4, 6)),
     r"to be: \[4, 5\] but got: \[4, 4\]\."),
    (lambda lib, a, b: lib.matmul(a, b), (np.ones((2, 2), np.int64), randn(2, 2)),
     "expected m1 and m2 to have the same dtype, but got: long int != float"),
    (lambda lib, c, a, b: lib.addmm(c, a, b), (randn(5), randn(2, 3), randn(3, 4)),
     r"The expanded size of the tensor \(4\) must match the existing size \(5\)"),
    (lambda lib, c, a, b: lib.addmv(c, a, b), (randn(3), randn(2, 3), randn(4)),
     r"size mismatch, got input \(3\), mat \(2x3\), vec \(4\)"),
    (lambda lib, a, b: lib.einsum("ij,jk->ik", a, b), (randn(2, 3), randn(4, 5)),
     "einsum\\(\\): subscript j has size 4 for operand 1 which does not broadcast with "
     "previously seen size 3"),
    (lambda lib, a: lib.einsum("ij,jk", a), (randn(2, 3),),
     "fewer operands were provided than specified in the equation"),
    (lambda lib, a: lib.einsum("ijk", a), (randn(2, 3),), "no ellipsis was given"),
    (lambda lib, a: lib.einsum("ij->k", a), (randn(2, 3),), "output subscript k does not"),
    (lambda lib, a, b: lib.tensordot(a, b, dims=1), (randn(2, 3), randn(4, 5)),
     "contracted dimensions need to match, but first has size 3 in dim -1 and second has "
     "size 4 in dim 0"),
    (lambda lib, a, b: lib.inner(a, b), (randn(2, 3), randn(4, 5)),
     r"inner\(\) the last dimension must match"),
    (lambda lib, a, b: lib.outer(a, b), (randn(2, 2), randn(3)),
     "outer: Expected 1-D argument self, but got 2-D"),
    (lambda lib, a, b: lib.linalg.cross(a, b), (randn(4), randn(4)),
     "linalg.cross: inputs dimension -1 must have length 3. Got 4 and 4"),
    (lambda lib, a, b: lib.linalg.cross(a, b), (randn(2, 1, 3), randn(4, 3)),
     "linalg.cross: inputs must have the same number of dimensions."),
    (lambda lib, a, b: lib.linalg.cross(a, b, dim=5), (randn(2, 1, 3), randn(2, 4, 3)),
     r"Dimension out of range \(expected to be in range of \[-3, 2\], but got 5\)"),
    (lambda lib, a, b: lib.cdist(a, b), (randn(2, 3), randn(4, 5)),
     "X1 and X2 must have the same number of columns. X1: 3 X2: 5"),
    (lambda lib, a, b: lib.cdist(a, b), (randn(3), randn(4, 3)),
     "cdist only supports at least 2D tensors, X1 got: 1D"),
    (lambda lib, a, b: lib.cdist(a, b, p=-1), (randn(2, 3), randn(4, 3)),
     "cdist only supports non-negative p values"),
    (lambda lib, a: lib.linalg.inv(a), (np.zeros((3, 3), np.float32),),
     "linalg.inv: The diagonal element 1 is zero, the inversion could not be completed "
     "because the input matrix is singular."),
    (lambda lib, a: lib.linalg.inv(a), (np.zeros((2, 3, 3), np.float32),),
     r"linalg.inv: \(Batch element 0\): The diagonal element 1 is zero"),
    (lambda lib, a: lib.linalg.inv(a), (np.zeros((2, 3), np.float32),),
     "linalg.inv: A must be batches of square matrices, but they are 2 by 3 matrices"),
    (lambda lib, a: lib.linalg.inv(a), (np.zeros((3, 3), np.int64),),
     "linalg.inv: Expected a floating point or complex tensor as input. Got Long"),
    (lambda lib, a: lib.linalg.cholesky(a), (-np.eye(3, dtype=np.float32),),
     r"the leading minor of order 1 is not positive-definite"),
    (lambda lib, a, b: lib.linalg.solve(a, b), (np.zeros((3, 3), np.float32), randn(3)),
     "torch.linalg.solve: The solver failed because the input matrix is singular."),
    (lambda lib, a: lib.linalg.det(a), (randn(2, 3),),
     "linalg.det: A must be batches of square matrices, but they are 2 by 3 matrices"),
    (lambda lib, a, b: lib.linalg.solve(a, b),
     (np.stack([np.eye(2), np.zeros((2, 2))]).astype(np.float32), randn(2, 2)),
     r"torch.linalg.solve: \(Batch element 1\): The solver failed"),
    (lambda lib, a, b: lib.linalg.solve(a, b), (well_conditioned(3), randn(4, 2)),
     r"Incompatible shapes of A and B for the equation AX = B \(3x3 and 4x2\)"),
    (lambda lib, a, b: lib.linalg.solve(a, b), (well_conditioned(3), randn(3, dtype=F64)),
     "linalg.solve: Expected A and B to have the same dtype"),
    (lambda lib, a: lib.linalg.cholesky(a),
     (np.stack([np.eye(2), -np.eye(2)]).astype(np.float32),),
     r"linalg.cholesky: \(Batch element 1\): The factorization could not be completed"),
    (lambda lib, a: lib.linalg.vector_norm(a, float("inf")), (randn(0, 3),),
     "cannot compute the inf norm on an empty tensor"),
    (lambda lib, a: lib.linalg.vector_norm(a, -1, dim=(0, 1)), (randn(0, 3),),
     "cannot compute the -1 norm on the dimension 0because this dimension is empty"),
    (lambda lib, a: lib.linalg.vector_norm(a), (np.arange(3),),
     "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long"),
    (lambda lib, a: lib.linalg.matrix_norm(a), (randn(3),),
     "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."),
    (lambda lib, a: lib.linalg.norm(a, 2), (randn(2, 2, 2),),
     "If dim is not specified but ord is, the input must be 1D or 2D"),
    (lambda lib, a, b: lib.linalg.multi_dot([a, b]), (randn(2, 2, 2), randn(2, 2)),
     "multi_dot\\(\\): the first tensor must be 1D or 2D but got 3D"),
    (lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]), (randn(2, 2), randn(2, 2), randn(3, 2)),
     r"multi_dot\(\): tensors 1 and 2 with shapes \[2, 2\] and \[3, 2\] cannot be multiplied"),
    (lambda lib, a: lib.linalg.pinv(a), (np.eye(2, dtype=np.int32),),
     r"linalg.pinv\(Int\{\[2, 2\]\}\): expected a tensor with 2 or more dimensions"),
    (lambda lib, a: lib.linalg.qr(a, mode="x"), (randn(3, 3),),
     "qr received unrecognized mode 'x'"),
    (lambda lib, a: lib.linalg.tensorinv(a, ind=1), (randn(2, 3),),
     "Expected self to satisfy the requirement"),
]


@pytest.mark.parametrize("fn,inputs,match", ERRORS)
def test_errors_match_torch(fn, inputs, match):
    check_raises(fn, *inputs, match=match)


TYPE_ERRORS = [
    ("operator_int", lambda lib, t: t @ 2, "unsupported operand type"),
    ("operator_list", lambda lib, t: [1.0, 2.0] @ t, "unsupported operand type"),
    ("matmul_ndarray", lambda lib, t: lib.matmul(t, np.ones(2, np.float32)),
     r"matmul\(\): argument 'other' \(position 2\) must be Tensor, not numpy.ndarray"),
    ("mm_list", lambda lib, t: lib.mm(t, [[1.0]]),
     r"mm\(\): argument 'mat2' \(position 2\) must be Tensor, not list"),
    ("dot_int", lambda lib, t: lib.dot(t, 2),
     r"dot\(\): argument 'tensor' \(position 2\) must be Tensor, not int"),
    ("einsum_bad_subscript", lambda lib, t: lib.einsum("i->i->i", t),
     "invalid subscript given at index 4 in the equation string"),
]


@pytest.mark.parametrize("name,fn,match", TYPE_ERRORS, ids=[e[0] for e in TYPE_ERRORS])
def test_argument_type_errors(name, fn, match):
    check_raises(fn, randn(2), match=match)


def test_linalg_error_is_runtime_error():
    assert issubclass(ember.linalg.LinAlgError, RuntimeError)
    with pytest.raises(ember.linalg.LinAlgError):
        ember.linalg.inv(ember.zeros(2, 2))


def test_cross_without_dim_warns_and_picks_first_size_3_dim():
    with pytest.warns(UserWarning, match="without specifying the dim"):
        check(lambda lib, a, b: lib.cross(a, b), randn(3, 2), randn(3, 2))
    check_raises(lambda lib, a, b: lib.cross(a, b), randn(4, 2), randn(4, 2),
                 match="no dimension of size 3 in input")


# -- ember.linalg -----------------------------------------------------------------------


def _sym(lib, a):
    return a + a.mT


LINALG = [
    ("inv", lambda lib, a: lib.linalg.inv(a), (well_conditioned(4),)),
    ("inv_batched", lambda lib, a: lib.linalg.inv(a), (well_conditioned(3, (2,)),)),
    ("det", lambda lib, a: lib.linalg.det(a), (well_conditioned(4),)),
    ("det_batched", lambda lib, a: lib.linalg.det(a), (well_conditioned(3, (2,)),)),
    ("slogdet", lambda lib, a: tuple(lib.linalg.slogdet(a)), (randn(4, 4),)),
    ("solve", lambda lib, a, b: lib.linalg.solve(a, b), (well_conditioned(4), randn(4, 2))),
    ("solve_vector", lambda lib, a, b: lib.linalg.solve(a, b), (well_conditioned(4), randn(4))),
    ("solve_batched_broadcast", lambda lib, a, b: lib.linalg.solve(a, b),
     (well_conditioned(3, (2,)), randn(3, 2))),
    ("solve_right", lambda lib, a, b: lib.linalg.solve(a, b, left=False),
     (well_conditioned(3), randn(2, 3))),
    ("cholesky", lambda lib, a: lib.linalg.cholesky(_sym(lib, a) / 2), (spd(4),)),
    ("cholesky_upper", lambda lib, a: lib.linalg.cholesky(_sym(lib, a) / 2, upper=True),
     (spd(3, (2,)),)),
    ("qr_recon", lambda lib, a: (lambda q, r: (q @ r, q.abs(), r.abs()))(*lib.linalg.qr(a)),
     (randn(5, 3),)),
    ("qr_square", lambda lib, a: (lambda q, r: q @ r + r)(*lib.linalg.qr(a)), (randn(3, 3),)),
    ("svd_recon", lambda lib, a: (lambda u, s, vh: (u * s.unsqueeze(-2)) @ vh)(
        *lib.linalg.svd(a, full_matrices=False)), (randn(5, 3),)),
    ("svd_uv_abs", lambda lib, a: (lambda u, s, vh: (u.abs(), s, vh.abs()))(
        *lib.linalg.svd(a, full_matrices=False)), (randn(3, 4),)),
    ("svdvals", lambda lib, a: lib.linalg.svdvals(a), (randn(4, 3),)),
    ("eigh", lambda lib, a: (lambda w, v: (w, v.abs()))(*lib.linalg.eigh(_sym(lib, a))),
     (randn(4, 4),)),
    ("eigvalsh", lambda lib, a: lib.linalg.eigvalsh(_sym(lib, a)), (randn(2, 4, 4),)),
    ("pinv", lambda lib, a: lib.linalg.pinv(a), (randn(5, 3),)),
    ("pinv_wide", lambda lib, a: lib.linalg.pinv(a), (randn(2, 4),)),
    ("lstsq", lambda lib, a, b: lib.linalg.lstsq(a, b).solution, (randn(5, 3), randn(5, 2))),
    ("matrix_power_3", lambda lib, a: lib.linalg.matrix_power(a, 3), (randn(3, 3),)),
    ("matrix_power_0", lambda lib, a: lib.linalg.matrix_power(a, 0), (randn(2, 3, 3),)),
    ("matrix_power_neg", lambda lib, a: lib.linalg.matrix_power(a, -2),
     (well_conditioned(3),)),
    ("multi_dot", lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]),
     (randn(3), randn(3, 4), randn(4))),
    ("vector_norm", lambda lib, a: lib.linalg.vector_norm(a), (randn(3, 4),)),
    ("vector_norm_dim", lambda lib, a: lib.linalg.vector_norm(a, 3, dim=1, keepdim=True),
     (randn(3, 4),)),
    ("vector_norm_1", lambda lib, a: lib.linalg.vector_norm(a, 1, dim=(0, 1)), (randn(3, 4),)),
    ("vector_norm_inf", lambda lib, a: lib.linalg.vector_norm(a, float("inf"), dim=0),
     (randn(3, 4),)),
    ("vector_norm_ninf", lambda lib, a: lib.linalg.vector_norm(a, float("-inf")),
     (randn(3, 4),)),
    ("vector_norm_0", lambda lib, a: lib.linalg.vector_norm(a, 0), (randn(3, 4),)),
    ("vector_norm_neg", lambda lib, a: lib.linalg.vector_norm(a, -1.5, dim=-1),
     (randn(3, 4),)),
    ("matrix_norm_fro", lambda lib, a: lib.linalg.matrix_norm(a), (randn(2, 3, 4),)),
    ("matrix_norm_nuc", lambda lib, a: lib.linalg.matrix_norm(a, "nuc"), (randn(3, 4),)),
    ("matrix_norm_2", lambda lib, a: lib.linalg.matrix_norm(a, 2), (randn(3, 4),)),
    ("matrix_norm_m2", lambda lib, a: lib.linalg.matrix_norm(a, -2, keepdim=True),
     (randn(2, 3, 4),)),
    ("matrix_norm_1", lambda lib, a: lib.linalg.matrix_norm(a, 1), (randn(3, 4),)),
    ("matrix_norm_inf", lambda lib, a: lib.linalg.matrix_norm(a, float("inf"), keepdim=True),
     (randn(3, 4),)),
    ("matrix_norm_m1_dims", lambda lib, a: lib.linalg.matrix_norm(a, -1, dim=(0, 2)),
     (randn(3, 2, 4),)),
    ("norm_default", lambda lib, a: lib.linalg.norm(a), (randn(2, 3, 4),)),
    ("norm_ord_matrix", lambda lib, a: lib.linalg.norm(a, 1), (randn(3, 4),)),
    ("norm_ord_vector", lambda lib, a: lib.linalg.norm(a, 3), (randn(4),)),
    ("norm_dim_pair", lambda lib, a: lib.linalg.norm(a, dim=(0, 1)), (randn(3, 4, 2),)),
    ("svd_full_square", lambda lib, a: (lambda u, s, vh: (u * s.unsqueeze(-2)) @ vh)(
        *lib.linalg.svd(a)), (randn(3, 3),)),
    ("svdvals_batched", lambda lib, a: lib.linalg.svdvals(a), (randn(2, 3, 4),)),
    ("qr_complete_square", lambda lib, a: (lambda q, r: q @ r)(*lib.linalg.qr(a, "complete")),
     (randn(3, 3),)),
    ("pinv_batched", lambda lib, a: lib.linalg.pinv(a), (randn(2, 4, 3),)),
    ("pinv_hermitian", lambda lib, a: lib.linalg.pinv(a + a.mT, hermitian=True),
     (randn(3, 3),)),
    ("lstsq_vector", lambda lib, a, b: lib.linalg.lstsq(a, b).solution, (randn(4, 3), randn(4))),
    ("lstsq_batched", lambda lib, a, b: lib.linalg.lstsq(a, b).solution,
     (randn(2, 4, 3), randn(2, 4, 2))),
    ("solve_batched_vector", lambda lib, a, b: lib.linalg.solve(a, b),
     (well_conditioned(3, (2,)), randn(2, 3))),
    ("eigh_upper", lambda lib, a: lib.linalg.eigh(a + a.mT, UPLO="U")[0], (randn(3, 3),)),
    ("det_empty", lambda lib, a: lib.linalg.det(a), (randn(0, 0),)),
    ("inv_empty_batch", lambda lib, a: lib.linalg.inv(a), (randn(0, 2, 2),)),
    ("cholesky_batched", lambda lib, a: lib.linalg.cholesky(a @ a.mT + 3 * lib.eye(3)),
     (randn(2, 3, 3),)),
    ("slogdet_negative", lambda lib, a: tuple(lib.linalg.slogdet(a)),
     (np.diag([-1.0, 2.0, 3.0]).astype(np.float32),)),
    ("norm_fro", lambda lib, a: lib.linalg.norm(a, "fro"), (randn(3, 3),)),
    ("norm_nuc_dims", lambda lib, a: lib.linalg.norm(a, "nuc", dim=(0, 1)), (randn(3, 3, 2),)),
    ("vector_norm_0d", lambda lib, a: lib.linalg.vector_norm(a), (randn(),)),
    ("vector_norm_dtype", lambda lib, a: lib.linalg.vector_norm(a, dtype=lib.float64),
     (randn(3, 4),)),
    ("vector_norm_empty", lambda lib, a: lib.linalg.vector_norm(a, 2, dim=1), (randn(3, 0),)),
    ("torch_det", lambda lib, a: lib.det(a), (well_conditioned(3),)),
    ("tensor_det", lambda lib, a: a.det(), (well_conditioned(3),)),
    ("torch_logdet", lambda lib, a: lib.logdet(a @ a.mT), (well_conditioned(3),)),
    ("torch_slogdet", lambda lib, a: tuple(a.slogdet()), (randn(3, 3),)),
    ("torch_inverse", lambda lib, a: a.inverse(), (well_conditioned(3),)),
    ("torch_pinverse", lambda lib, a: lib.pinverse(a), (randn(4, 3),)),
    ("torch_matrix_power", lambda lib, a: a.matrix_power(2), (randn(3, 3),)),
    ("torch_cholesky", lambda lib, a: lib.cholesky(_sym(lib, a) / 2), (spd(3),)),
    ("torch_cholesky_solve", lambda lib, b, a: lib.cholesky_solve(
        b, lib.linalg.cholesky(_sym(lib, a) / 2)), (randn(3, 2), spd(3))),
    ("torch_cholesky_inverse", lambda lib, a: lib.cholesky_inverse(
        lib.linalg.cholesky(_sym(lib, a) / 2)), (spd(3),)),
    ("torch_svd", lambda lib, a: (lambda u, s, v: ((u * s) @ v.mT, s))(*lib.svd(a)),
     (randn(4, 3),)),
    ("torch_svd_no_uv", lambda lib, a: tuple(lib.svd(a, compute_uv=False)), (randn(4, 3),)),
    ("torch_qr", lambda lib, a: (lambda q, r: q @ r)(*lib.qr(a)), (randn(4, 3),)),
    ("solve_triangular_upper", lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=True),
     (well_conditioned(3), randn(3, 2))),
    ("solve_triangular_lower_right_unit", lambda lib, a, b: lib.linalg.solve_triangular(
        a, b, upper=False, left=False, unitriangular=True), (well_conditioned(3), randn(2, 3))),
    ("tensorinv", lambda lib, a: lib.linalg.tensorinv(a, ind=1),
     (well_conditioned(4).reshape(4, 2, 2),)),
    ("tensorsolve", lambda lib, a, b: lib.linalg.tensorsolve(a, b),
     (well_conditioned(6).reshape(2, 3, 6), randn(2, 3))),
    ("matrix_exp", lambda lib, a: lib.linalg.matrix_exp(a), (randn(3, 3),)),
    ("matrix_exp_large", lambda lib, a: lib.linalg.matrix_exp(a * 3), (randn(2, 3, 3),)),
    ("matrix_exp_top_level", lambda lib, a: lib.matrix_exp(a), (randn(3, 3),)),
    ("matrix_exp_method", lambda lib, a: a.matrix_exp(), (randn(2, 3, 3),)),
    ("cond", lambda lib, a: lib.linalg.cond(a), (well_conditioned(3),)),
    # values only: torch's own backward of cond(A, 'fro') fails (inv_ex output modified in place)
    ("cond_fro", lambda lib, a: lib.linalg.cond(a.detach(), "fro"), (well_conditioned(3),)),
    ("vander", lambda lib, x: lib.linalg.vander(x, N=4), (randn(3),)),
    ("vander_int", lambda lib, x: lib.linalg.vander(x), (np.arange(3),)),
    ("vecdot", lambda lib, a, b: lib.linalg.vecdot(a, b), (randn(2, 3), randn(3))),
    ("linalg_diagonal", lambda lib, a: lib.linalg.diagonal(a, offset=1), (randn(2, 3, 4),)),
    ("linalg_matmul", lambda lib, a, b: lib.linalg.matmul(a, b), (randn(2, 3), randn(3, 2))),
    ("lu", lambda lib, a: tuple(lib.linalg.lu(a)), (randn(4, 4),)),
    ("lu_batched", lambda lib, a: tuple(lib.linalg.lu(a)), (randn(2, 3, 3),)),
    ("lu_factor", lambda lib, a: tuple(lib.linalg.lu_factor(a)), (randn(4, 4),)),
    ("lu_solve", lambda lib, a, b: lib.linalg.lu_solve(*lib.linalg.lu_factor(a), b),
     (well_conditioned(4), randn(4, 2))),
    ("lu_solve_adjoint_right", lambda lib, a, b: lib.linalg.lu_solve(
        *lib.linalg.lu_factor(a), b, left=False, adjoint=True), (well_conditioned(4), randn(2, 4))),
    ("norm_zero_input", lambda lib, a: lib.linalg.vector_norm(a, dim=1),
     (np.zeros((2, 3), np.float32),)),
]


@pytest.mark.parametrize("name,fn,inputs", LINALG, ids=[p[0] for p in LINALG])
def test_linalg_matches_torch(name, fn, inputs):
    check(fn, *inputs, rtol=1e-4, atol=1e-4)


# Rows left out of gradcheck: zero gradient by definition (ord 0, A^0), empty inputs, or a
# point where the norm is not differentiable (all-zero input).
NOT_DIFFERENTIABLE_HERE = {"vector_norm_0", "matrix_rank", "norm_zero_input", "matrix_power_0", "det_empty",
                           "inv_empty_batch", "vector_norm_empty", "cond_fro", "vander_int"}
DIFFERENTIABLE_LINALG = [p for p in LINALG if p[0] not in NOT_DIFFERENTIABLE_HERE]


@pytest.mark.parametrize("name,fn,inputs", DIFFERENTIABLE_LINALG,
                         ids=[p[0] for p in DIFFERENTIABLE_LINALG])
def test_linalg_gradcheck(name, fn, inputs):
    leaves = tuple(ember.tensor(x.astype(F64), requires_grad=True) for x in inputs)
    assert ember.autograd.gradcheck(lambda *args: fn(ember, *args), leaves, atol=1e-5,
                                    rtol=1e-3)


def test_linalg_gradgradcheck():
    a = ember.tensor(well_conditioned(3, dtype=F64), requires_grad=True)
    assert ember.autograd.gradgradcheck(ember.linalg.inv, (a,))
    assert ember.autograd.gradgradcheck(ember.linalg.det, (a,))
    b = ember.tensor(randn(3, 2, dtype=F64), requires_grad=True)
    assert ember.autograd.gradgradcheck(ember.linalg.solve, (a, b))


def test_named_tuples():
    a = ember.tensor(randn(3, 3))
    result = ember.linalg.slogdet(a)
    assert result.sign is result[0] and "torch.return_types.linalg_slogdet" in repr(result)  # torch's name
    q, r = ember.linalg.qr(a)
    assert ember.linalg.qr(a).Q.shape == (3, 3)
    u, s, vh = ember.linalg.svd(a)
    assert ember.linalg.svd(a).Vh.shape == (3, 3)
    assert ember.linalg.eigh(a + a.mT).eigenvalues.shape == (3,)
    lst = ember.linalg.lstsq(a, a)
    t_lst = torch.linalg.lstsq(torch.from_numpy(a.numpy()), torch.from_numpy(a.numpy()))
    assert lst.rank.item() == t_lst.rank.item() and lst.rank.dtype == ember.int64


def test_det_of_singular_matrix_has_gradient():
    check(lambda lib, a: lib.linalg.det(a), np.array([[1.0, 2.0], [2.0, 4.0]]), atol=1e-6)


def test_matrix_rank_and_ex_variants_match_torch():
    a = np.array([[1.0, 2.0], [2.0, 4.0]], np.float32)
    check(lambda lib, x: lib.linalg.matrix_rank(x), a, grad=False)
    check(lambda lib, x: lib.linalg.matrix_rank(x, atol=1.0, rtol=0.0), randn(3, 4), grad=False)
    check(lambda lib, x: tuple(lib.linalg.inv_ex(x)), well_conditioned(3))
    check(lambda lib, x: tuple(lib.linalg.cholesky_ex(x)), spd(3), grad=False)


def test_inv_ex_and_cholesky_ex_report_info():
    result = ember.linalg.inv_ex(ember.zeros(2, 2))
    assert result.info.item() == 1
    result = ember.linalg.cholesky_ex(-ember.eye(2))
    assert result.info.item() != 0


def _leaves(*arrays):
    return tuple(ember.tensor(a.astype(F64), requires_grad=True) for a in arrays)


GRADGRAD = [
    ("cdist_p2", lambda a, b: ember.cdist(a, b), (randn(3, 2), randn(4, 2))),
    ("cdist_p1", lambda a, b: ember.cdist(a, b, p=1), (randn(3, 2), randn(4, 2))),
    ("cdist_p3", lambda a, b: ember.cdist(a, b, p=3), (randn(3, 2), randn(4, 2))),
    ("cross", lambda a, b: ember.linalg.cross(a, b), (randn(2, 3), randn(2, 3))),
    ("kron", lambda a, b: ember.kron(a, b), (randn(2, 2), randn(2))),
    ("tensordot", lambda a, b: ember.tensordot(a, b, dims=1), (randn(2, 3), randn(3, 2))),
    ("baddbmm", lambda c, a, b: ember.baddbmm(c, a, b, beta=0.5, alpha=2),
     (randn(2, 2), randn(2, 2, 3), randn(2, 3, 2))),
    ("mv", lambda a, b: ember.mv(a, b), (randn(2, 3), randn(3))),
    ("cholesky", lambda a: ember.linalg.cholesky((a + a.mT) / 2), (spd(3),)),
    ("eigvalsh", lambda a: ember.linalg.eigvalsh(a + a.mT), (randn(3, 3),)),
    ("svdvals", lambda a: ember.linalg.svdvals(a), (randn(3, 2),)),
    ("qr", lambda a: (lambda q, r: q @ r)(*ember.linalg.qr(a)), (randn(3, 2),)),
    ("pinv", lambda a: ember.linalg.pinv(a), (randn(3, 2),)),
    ("slogdet", lambda a: ember.linalg.slogdet(a)[1], (randn(3, 3),)),
    ("vector_norm_3", lambda a: ember.linalg.vector_norm(a, 3, dim=1), (randn(2, 3),)),
    ("vector_norm_2", lambda a: ember.linalg.vector_norm(a), (randn(2, 3),)),
    ("matrix_exp", lambda a: ember.linalg.matrix_exp(a), (randn(2, 2),)),
]


@pytest.mark.parametrize("name,fn,arrays", GRADGRAD, ids=[g[0] for g in GRADGRAD])
def test_gradgradcheck(name, fn, arrays):
    assert ember.autograd.gradgradcheck(fn, _leaves(*arrays))


# -- hypothesis: matmul over random broadcastable shapes --------------------------------

@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 2), (2, 2, 4)])
def test_lu_rectangular(shape):
    check(lambda lib, a: tuple(lib.linalg.lu(a)), randn(*shape), rtol=1e-4, atol=1e-4)
    check(lambda lib, a: tuple(lib.linalg.lu_factor(a)), randn(*shape), rtol=1e-4, atol=1e-4)
    (a,) = _leaves(randn(*shape))
    assert ember.autograd.gradcheck(lambda x: tuple(ember.linalg.lu(x))[1:], (a,))


def test_ex_variants_report_info_per_batch_element():
    singular = np.stack([np.eye(2), np.zeros((2, 2)), np.diag([1.0, 0.0])]).astype(np.float32)
    check(lambda lib, x: lib.linalg.inv_ex(x).info, singular, grad=False)
    indefinite = np.stack([np.eye(2), -np.eye(2), np.diag([1.0, -1.0])]).astype(np.float32)
    check(lambda lib, x: lib.linalg.cholesky_ex(x).info, indefinite, grad=False)
    check(lambda lib, x: lib.linalg.cholesky_ex(x).L[0], indefinite, grad=False)
