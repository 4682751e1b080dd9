"""Complex numbers against PyTorch: the complex family (real/imag, conj, view_as_real/
view_as_complex, angle, polar, complex, isreal), complex autograd through the common ops
(PyTorch's convention: z.grad = dL/dRe z + i dL/dIm z), promotion, printing, errors.

Gradients are compared with torch's under a random complex upstream gradient, and checked
on their own with ember's gradcheck/gradgradcheck in complex128 (central differences along
the real and imaginary parts, as torch's gradcheck does for complex functions).
"""

import numpy as np
import pytest
import torch
from oracle import RNG, as_numpy, assert_same, check_raises, on_device, to_ember, to_torch

import ember


def cz(*shape, dtype=np.complex128):
    return np.asarray(RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape), dtype)


def rn(*shape, dtype=np.float64):
    return np.asarray(RNG.standard_normal(shape), dtype)


def _resolved(out):
    if isinstance(out, (tuple, list)):
        return type(out)(_resolved(o) for o in out)
    if isinstance(out, torch.Tensor):
        return out.resolve_conj().resolve_neg()
    return out


def _leaf(lib, array, grad):
    make = to_torch if lib is torch else to_ember
    t = make(array)
    if grad and isinstance(array, np.ndarray) and array.dtype.kind in "fc":
        t.requires_grad_(True)
    return t


def _upstream(out):
    shape = tuple(out.shape)
    dtype = str(out.dtype).replace("torch.", "")
    if out.is_complex():
        return np.asarray(RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape), dtype)
    return np.asarray(RNG.standard_normal(shape), dtype)


def check_c(fn, *arrays, grad=True, rtol=None, atol=None, grad_rtol=None, grad_atol=None):
    """fn(lib, *tensors) on ember and torch: values, dtype, shape; then the gradients of
    every complex/float input under the same random (complex where the output is) upstream
    gradient."""
    t_in = [_leaf(torch, a, grad) for a in arrays]
    e_in = [_leaf(ember, a, grad) for a in arrays]
    with on_device(torch):
        t_out = fn(torch, *t_in)
    with on_device(ember):
        e_out = fn(ember, *e_in)
    assert_same(e_out, _resolved(t_out), rtol, atol)
    if not grad:
        return e_out, t_out
    t_leaves = [t for t in t_in if isinstance(t, torch.Tensor) and t.requires_grad]
    e_leaves = [t for t in e_in if isinstance(t, ember.Tensor) and t.requires_grad]
    up = _upstream(t_out)
    t_up = torch.from_numpy(up.copy()).to(t_out.device)  # torch's output may be on cuda
    t_grads = torch.autograd.grad(t_out, t_leaves, t_up, allow_unused=True)
    e_grads = ember.autograd.grad(e_out, e_leaves, to_ember(up), allow_unused=True)
    for i, (eg, tg) in enumerate(zip(e_grads, t_grads)):
        if tg is None:
            assert eg is None or not as_numpy(eg).any(), f"grad[{i}]: expected None"
            continue
        assert_same(eg, _resolved(tg), grad_rtol if grad_rtol is not None else rtol,
                    grad_atol if grad_atol is not None else atol, f"grad[{i}]")
    return e_out, t_out


def _gradchecks(fn, *arrays):
    """ember.autograd.gradcheck and gradgradcheck on complex128/float64 leaves."""
    leaves = [ember.tensor(a, requires_grad=True) for a in arrays]
    assert ember.autograd.gradcheck(fn, leaves)
    assert ember.autograd.gradgradcheck(fn, leaves)


# ---------------------------------------------------------------------------
# unary ops on complex inputs: values and gradients (complex64 and complex128)
# ---------------------------------------------------------------------------

HOLOMORPHIC = [
    "exp", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal", "sin",
    "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
    "sigmoid", "square", "neg", "sinc",
]
NON_HOLOMORPHIC = ["abs", "sgn", "angle", "conj", "conj_physical"]


@pytest.mark.parametrize("name", HOLOMORPHIC + NON_HOLOMORPHIC)
@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_unary_complex(name, dtype):
    z = cz(3, 4, dtype=dtype)
    loose = {} if dtype == np.complex128 else {"rtol": 1e-5, "atol": 1e-5}  # float32 ulps
    check_c(lambda lib, x: getattr(lib, name)(x), z, **loose)


@pytest.mark.parametrize("name", HOLOMORPHIC + NON_HOLOMORPHIC)
def test_unary_complex_gradcheck(name):
    _gradchecks(getattr(ember, name), cz(2, 2))


def test_gradcheck_catches_a_wrong_complex_gradient():
    class SquareWithoutConj(ember.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return z * z

        @staticmethod
        def backward(ctx, grad):
            (z,) = ctx.saved_tensors
            return 2 * grad * z  # PyTorch's convention needs conj(2 z)

    z = ember.tensor(cz(3), requires_grad=True)
    assert not ember.autograd.gradcheck(SquareWithoutConj.apply, (z,), raise_exception=False)
    assert ember.autograd.gradcheck(lambda x: x * x, (z,))


@pytest.mark.parametrize("name", ["acosh", "sqrt", "log", "asin", "acos", "atanh", "sinc"])
def test_gradients_on_branch_cuts(name):
    """Real points on the branch cut, +0 and -0 imaginary parts: PyTorch conjugates f'(z),
    it does not evaluate f' at conj(z)."""
    z = np.array([-0.5 + 0j, -0.5 - 0j, -2 + 0j, -2 - 0j, 2.5 + 0j, 0.3 - 0j])
    check_c(lambda lib, x: getattr(lib, name)(x), z)


def test_issue_example_abs_of_square():
    z = cz(3)
    check_c(lambda lib, x: (x * x).abs().sum(), z)
    leaf = ember.tensor(z, requires_grad=True)
    (leaf * leaf.conj()).real.sum().backward()  # |z|^2 gives 2z
    np.testing.assert_allclose(leaf.grad.numpy(), 2 * z)


DOUBLE_BACKWARD = {
    "exp": lambda lib, a, b: a.exp(), "tanh": lambda lib, a, b: a.tanh(),
    "sqrt": lambda lib, a, b: a.sqrt(), "abs": lambda lib, a, b: a.abs(),
    "sgn": lambda lib, a, b: a.sgn(), "angle": lambda lib, a, b: a.angle(),
    "mul": lambda lib, a, b: a * b, "div": lambda lib, a, b: a / b,
    "matmul": lambda lib, a, b: a @ b, "rpow": lambda lib, a, b: 2 ** a,
    "parts": lambda lib, a, b: a.real * b.imag, "conj": lambda lib, a, b: a.conj() * b,
    "pairs": lambda lib, a, b: lib.view_as_real(a) ** 2,
    "complex": lambda lib, a, b: lib.complex(a.real, b.imag) ** 2,
    "polar": lambda lib, a, b: lib.polar(a.abs(), b.real) ** 2,
    "prod": lambda lib, a, b: a.prod(1), "norm": lambda lib, a, b: a.norm(dim=1),
    "conv1d": lambda lib, a, b: lib.nn.functional.conv1d(a[None], b[:, :, None], padding=1),
}


@pytest.mark.parametrize("name", list(DOUBLE_BACKWARD))
def test_double_backward(name):
    """create_graph: the gradient is itself differentiable; the gradient of |grad|^2 is
    torch's."""
    a, b = cz(3, 3), cz(3, 3)
    results, up = [], None
    for lib in (torch, ember):
        x, y = _leaf(lib, a, True), _leaf(lib, b, True)
        out = DOUBLE_BACKWARD[name](lib, x, y)
        up = _upstream(out) if up is None else up
        upstream = (to_torch if lib is torch else to_ember)(up)
        grads = lib.autograd.grad(out, (x, y), upstream, create_graph=True, allow_unused=True)
        grads = [g for g in grads if g is not None]
        size = sum((g * g.conj()).real.sum() for g in grads)
        results.append((grads, lib.autograd.grad(size, (x, y), allow_unused=True)))
    (t_first, t_second), (e_first, e_second) = results
    assert_same(e_first, _resolved(t_first))
    for e, t in zip(e_second, t_second):
        assert (e is None) == (t is None)
        if t is not None:
            assert_same(e, t.resolve_conj())


# ---------------------------------------------------------------------------
# binary ops, reductions, products
# ---------------------------------------------------------------------------

BINARY = {
    "add": lambda lib, a, b: a + b,
    "sub": lambda lib, a, b: a - b,
    "mul": lambda lib, a, b: a * b,
    "div": lambda lib, a, b: a / b,
    "pow": lambda lib, a, b: a ** b,
    "add_alpha": lambda lib, a, b: lib.add(a, b, alpha=2 - 1j),
    "lerp": lambda lib, a, b: lib.lerp(a, b, 0.3),
    "addcmul": lambda lib, a, b: lib.addcmul(a, a, b, value=2 + 1j),
    "addcdiv": lambda lib, a, b: lib.addcdiv(b, a, b, value=0.5j),
    "where": lambda lib, a, b: lib.where(a.real > 0, a, b),
    "logaddexp": lambda lib, a, b: lib.logaddexp(a * 4, b * 3),
}


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 1), (4,)), ((), (2, 3))])
def test_binary_complex(name, shapes):
    check_c(BINARY[name], cz(*shapes[0]), cz(*shapes[1]))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
def test_binary_real_with_complex(name):
    """A real input of a complex op gets the real part of its gradient, as PyTorch's."""
    check_c(BINARY[name], rn(3, 4), cz(3, 4))
    check_c(BINARY[name], cz(3, 4), rn(4))


SCALARS = {
    "mul_c": lambda lib, a: a * (2 - 3j),
    "rmul_c": lambda lib, a: (2 - 3j) * a,
    "div_c": lambda lib, a: a / (2 - 3j),
    "rdiv": lambda lib, a: 1 / a,
    "rdiv_c": lambda lib, a: 1j / a,
    "rsub_c": lambda lib, a: 1j - a,
    "pow_2": lambda lib, a: a ** 2,
    "pow_half": lambda lib, a: a ** 0.5,
    "pow_c": lambda lib, a: a ** (1 + 1j),
    "rpow": lambda lib, a: 2 ** a,
    "rpow_c": lambda lib, a: (1 + 1j) ** a,
    "pow_method": lambda lib, a: a.pow(3),
}


@pytest.mark.parametrize("name", list(SCALARS))
def test_scalar_operands(name):
    check_c(SCALARS[name], cz(3, 4))


def test_real_tensor_times_imaginary_unit():
    """exp(i t) of a real t: the real t gets Re of the complex gradient."""
    check_c(lambda lib, t: lib.exp(1j * t), rn(5))
    check_c(lambda lib, t: (t * 1j).abs().sum(), rn(5))


REDUCTIONS = {
    "sum": lambda lib, a: a.sum(),
    "sum_dim": lambda lib, a: a.sum(1, keepdim=True),
    "mean": lambda lib, a: a.mean(),
    "mean_dim": lambda lib, a: a.mean(0),
    "prod": lambda lib, a: a.prod(),
    "prod_dim": lambda lib, a: a.prod(1),
    "cumsum": lambda lib, a: a.cumsum(1),
    "cumprod": lambda lib, a: a.cumprod(1),
    "var": lambda lib, a: a.var(1),
    "std": lambda lib, a: a.std(),
    "norm": lambda lib, a: a.norm(),
    "norm_1": lambda lib, a: a.norm(p=1, dim=1),
    "norm_3": lambda lib, a: lib.linalg.vector_norm(a, ord=3, dim=0),
    "norm_inf": lambda lib, a: lib.linalg.vector_norm(a, ord=float("inf")),
    "matrix_norm": lambda lib, a: lib.linalg.matrix_norm(a),
    "trace": lambda lib, a: a[:, :3].trace(),
}


@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reductions_complex(name):
    check_c(REDUCTIONS[name], cz(3, 4))


def test_prod_and_cumprod_with_zeros():
    z = cz(3, 4)
    z[1, 2] = 0
    check_c(lambda lib, a: a.prod(1), z)
    check_c(lambda lib, a: a.cumprod(1), z)


PRODUCTS = {
    "mm": (lambda lib, a, b: lib.mm(a, b), (3, 4), (4, 5)),
    "matmul_batched": (lambda lib, a, b: a @ b, (2, 3, 4), (4, 5)),
    "bmm": (lambda lib, a, b: lib.bmm(a, b), (2, 3, 4), (2, 4, 5)),
    "mv": (lambda lib, a, b: lib.mv(a, b), (3, 4), (4,)),
    "vm": (lambda lib, a, b: a @ b, (4,), (4, 3)),
    "dot": (lambda lib, a, b: lib.dot(a, b), (4,), (4,)),
    "vdot": (lambda lib, a, b: lib.vdot(a, b), (4,), (4,)),
    "inner": (lambda lib, a, b: lib.inner(a, b), (4,), (4,)),
    "outer": (lambda lib, a, b: lib.outer(a, b), (4,), (3,)),
    "einsum": (lambda lib, a, b: lib.einsum("ij,jk->ik", a, b), (3, 4), (4, 5)),
    "tensordot": (lambda lib, a, b: lib.tensordot(a, b, dims=1), (3, 4), (4, 5)),
    "linear": (lambda lib, a, b: lib.nn.functional.linear(a, b), (3, 4), (5, 4)),
    "addmm": (lambda lib, a, b: lib.addmm(a @ b, a, b, beta=0.5 + 1j, alpha=2 - 1j),
              (4, 4), (4, 4)),
    "conv1d": (lambda lib, a, b: lib.nn.functional.conv1d(a, b, padding=1), (2, 3, 8), (4, 3, 3)),
    "conv2d": (lambda lib, a, b: lib.nn.functional.conv2d(a, b, stride=2, groups=2),
               (1, 4, 6, 6), (2, 2, 3, 3)),
    "conv_transpose1d": (lambda lib, a, b: lib.nn.functional.conv_transpose1d(a, b, stride=2),
                         (2, 3, 5), (3, 4, 3)),
}


@pytest.mark.parametrize("name", list(PRODUCTS))
def test_products_complex(name):
    fn, sa, sb = PRODUCTS[name]
    check_c(fn, cz(*sa), cz(*sb))


def _spd(lib, a):
    return a @ a.mH + lib.eye(a.shape[-1])


def _top_projector(lib, a, b):
    vectors = lib.linalg.eigh(a + a.mH)[1][:, :1]  # gauge-free: v v^H
    return vectors @ vectors.mH


LINALG = {
    "inv": lambda lib, a, b: lib.linalg.inv(a),
    "det": lambda lib, a, b: lib.linalg.det(a),
    "logabsdet": lambda lib, a, b: lib.linalg.slogdet(a)[1],
    "solve": lambda lib, a, b: lib.linalg.solve(a, b),
    "solve_right": lambda lib, a, b: lib.linalg.solve(a, b.mT, left=False),
    "cholesky": lambda lib, a, b: lib.linalg.cholesky(_spd(lib, a)),
    "cholesky_upper": lambda lib, a, b: lib.linalg.cholesky(_spd(lib, a), upper=True),
    "cholesky_solve": lambda lib, a, b: lib.cholesky_solve(
        b, lib.linalg.cholesky(_spd(lib, a), upper=True), upper=True),
    "cholesky_inverse": lambda lib, a, b: lib.cholesky_inverse(lib.linalg.cholesky(_spd(lib, a))),
    "pinv": lambda lib, a, b: lib.linalg.pinv(b),
    "pinv_wide": lambda lib, a, b: lib.linalg.pinv(b.mT),
    "lstsq": lambda lib, a, b: lib.linalg.lstsq(a, b).solution,
    "solve_triangular": lambda lib, a, b: lib.linalg.solve_triangular(a.triu(), b, upper=True),
    "eigvalsh": lambda lib, a, b: lib.linalg.eigvalsh(a + a.mH),
    "eigh_projector": _top_projector,
    "cross": lambda lib, a, b: lib.linalg.cross(a, a.mT),
    "matrix_power": lambda lib, a, b: lib.linalg.matrix_power(a, 3),
    "slogdet_sign": lambda lib, a, b: lib.linalg.slogdet(a)[0],
    "logdet": lambda lib, a, b: lib.logdet(a),
    "svdvals": lambda lib, a, b: lib.linalg.svdvals(a),
    "svd_parts": lambda lib, a, b: _gauge_free_svd(lib, b),
    "svd_parts_wide": lambda lib, a, b: _gauge_free_svd(lib, b.mT),
    "nuclear_norm": lambda lib, a, b: lib.linalg.matrix_norm(a, "nuc"),
    "qr": lambda lib, a, b: lib.linalg.qr(a).Q.sum() * lib.linalg.qr(a).R.sum(),
    "qr_tall": lambda lib, a, b: lib.linalg.qr(b).Q @ lib.linalg.qr(b).R.mH,
    "lu": lambda lib, a, b: lib.linalg.lu(b.mT).L.sum() * lib.linalg.lu(b.mT).U.sum(),
    "lu_factor": lambda lib, a, b: lib.linalg.lu_factor(a)[0],
    "lu_solve_adjoint": lambda lib, a, b: lib.linalg.lu_solve(*lib.linalg.lu_factor(a), b,
                                                              adjoint=True),
}


def _gauge_free_svd(lib, a):
    """Functions of U and V that do not depend on the phases of their columns."""
    u, s, vh = lib.linalg.svd(a, full_matrices=False)
    return u[:, :1] @ vh[:1] * s[0] + u.abs().sum() + vh.abs().sum()


@pytest.mark.parametrize("name", list(LINALG))
def test_linalg_complex(name):
    """Values and gradients of complex linear algebra: adjoints are conjugate transposes."""
    check_c(LINALG[name], cz(3, 3) + 3 * np.eye(3), cz(3, 2))


def test_products_gradcheck():
    _gradchecks(lambda a, b: a @ b, cz(2, 3), cz(3, 2))
    _gradchecks(lambda a: (a.mH @ a).abs(), cz(3, 2))
    _gradchecks(lambda a, b: ember.einsum("ij,j->i", a, b), cz(2, 3), cz(3))
    _gradchecks(lambda a, b: a * b / (a + 2), cz(3), rn(3))


# ---------------------------------------------------------------------------
# real / imag
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_real_imag_values_and_grads(dtype):
    z = cz(3, 4, dtype=dtype)
    check_c(lambda lib, x: lib.real(x), z)
    check_c(lambda lib, x: lib.imag(x), z)
    check_c(lambda lib, x: x.real * 2 + x.imag ** 2, z)
    check_c(lambda lib, x: x.mT.real, z)


def test_real_imag_are_views():
    z = ember.tensor(cz(2, 3))
    t = torch.tensor(z.numpy().copy())
    assert z.real.stride() == t.real.stride() and z.imag.stride() == t.imag.stride()
    assert z.imag.storage_offset() == t.imag.storage_offset() == 1
    assert z.real._base is z
    z.real[0, 0] = 7.0
    z.imag.mul_(2)
    t.real[0, 0] = 7.0
    t.imag.mul_(2)
    assert_same(z, t)
    assert z._version > 0 and z.real._version == z._version


def test_real_of_real_tensor_is_itself_and_imag_raises():
    x = ember.randn(3)
    assert ember.real(x) is x and x.real is x
    check_raises(lambda lib, a: lib.imag(a), rn(3), match="non-complex")
    check_raises(lambda lib, a: a.imag, rn(3), match="non-complex")


def test_real_imag_setters():
    t = torch.tensor(cz(3))
    z = ember.tensor(t.numpy().copy())
    z.real = ember.ones(3)
    t.real = torch.ones(3)
    z.imag = ember.tensor([1.0, 2.0, 3.0])
    t.imag = torch.tensor([1.0, 2.0, 3.0])
    assert_same(z, t)
    x, tx = ember.zeros(2), torch.zeros(2)
    x.real = ember.ones(2)
    tx.real = torch.ones(2)
    assert_same(x, tx)


def test_real_imag_setters_record_gradients():
    def fn(lib, z, a):
        y = z * 2
        y.real = a * 3
        y.imag = a * a
        return (y * y).abs() + y.imag * y.real

    check_c(fn, cz(3), rn(3))
    check_raises(lambda lib, z, a: setattr(z.requires_grad_(), "real", a), cz(2), rn(2),
                 match="leaf Variable")


def test_conj_physical_out():
    for array in (cz(3, dtype=np.complex64), rn(3, dtype=np.float32)):
        dtype = str(array.dtype)
        e_out, t_out = ember.empty(3, dtype=dtype), torch.empty(3, dtype=getattr(torch, dtype))
        assert ember.conj_physical(ember.tensor(array), out=e_out) is e_out
        torch.conj_physical(torch.tensor(array), out=t_out)
        assert_same(e_out, t_out)


def test_real_imag_need_a_tensor():
    check_raises(lambda lib: lib.real(1 + 2j))
    check_raises(lambda lib: lib.view_as_real([1j]))


# ---------------------------------------------------------------------------
# view_as_real / view_as_complex
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (0, 2)])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_view_as_real(shape, dtype):
    z = cz(*shape, dtype=dtype)
    # torch's own backward of an empty view_as_real fails (stride check): no grads there
    e, t = check_c(lambda lib, x: lib.view_as_real(x), z, grad=0 not in shape)
    if 0 not in shape:
        assert e.stride() == t.stride()


def test_view_as_real_of_strided_and_roundtrip():
    z = cz(4, 6)
    check_c(lambda lib, x: lib.view_as_real(x[:, ::2]), z)
    check_c(lambda lib, x: lib.view_as_complex(lib.view_as_real(x) * 2), z)
    e = ember.view_as_real(ember.tensor(z)[::2, 1::2])
    t = torch.view_as_real(torch.tensor(z)[::2, 1::2])
    assert e.stride() == t.stride() and e.storage_offset() == t.storage_offset()


def test_view_as_real_shares_memory():
    z = ember.tensor(cz(2, 3))
    r = ember.view_as_real(z)
    r[0, 1, 1] = 5.0
    assert z[0, 1].item().imag == 5.0
    z[1, 0] = 1 + 2j
    assert r[1, 0].tolist() == [1.0, 2.0]
    assert r._base is z and r._version == z._version


@pytest.mark.parametrize("shape", [(2,), (3, 2), (2, 4, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_view_as_complex(shape, dtype):
    check_c(lambda lib, x: lib.view_as_complex(x), rn(*shape, dtype=dtype))


def test_view_as_complex_strided_and_shares_memory():
    check_c(lambda lib, x: lib.view_as_complex(x[::2]), rn(4, 2))
    x = ember.zeros(3, 2)
    c = ember.view_as_complex(x)
    c[1] = 2 - 3j
    assert x[1].tolist() == [2.0, -3.0]


VIEW_AS_COMPLEX_ERRORS = {
    "scalar": (lambda lib, x: lib.view_as_complex(x), rn(), "one or more dimensions"),
    "last_dim": (lambda lib, x: lib.view_as_complex(x), rn(3, 3), "last dimension of size 2"),
    "last_stride": (lambda lib, x: lib.view_as_complex(x.T.contiguous().T), rn(3, 2),
                    "last dimension with stride 1"),
    "other_stride": (lambda lib, x: lib.view_as_complex(x[:, :2]), rn(3, 3),
                     "stride divisible by 2"),
    "offset": (lambda lib, x: lib.view_as_complex(x[1:].view(2, 2)), rn(5),
               "storage offset divisible by 2"),
    "int": (lambda lib, x: lib.view_as_complex(x), np.zeros((3, 2), np.int64),
            "scalar type: Long"),
    "complex": (lambda lib, x: lib.view_as_complex(x), cz(3, 2), "ComplexDouble"),
}


@pytest.mark.parametrize("name", list(VIEW_AS_COMPLEX_ERRORS))
def test_view_as_complex_errors(name):
    fn, array, match = VIEW_AS_COMPLEX_ERRORS[name]
    check_raises(fn, array, match=match)


def test_view_as_real_errors():
    check_raises(lambda lib, x: lib.view_as_real(x), rn(3), match="only supported for complex")
    check_raises(lambda lib, x: lib.view_as_real(x.conj()), cz(3),
                 match="unresolved conjugated")


# ---------------------------------------------------------------------------
# conj, resolve_conj, is_conj, is_neg
# ---------------------------------------------------------------------------


def test_conj_bits():
    z = ember.tensor(cz(3))
    t = torch.tensor(z.numpy().copy())
    for e_x, t_x in [(z, t), (z.conj(), t.conj()), (z.conj().conj(), t.conj().conj()),
                     (z.conj_physical(), t.conj_physical()),
                     (z.conj().resolve_conj(), t.conj().resolve_conj())]:
        assert e_x.is_conj() == t_x.is_conj()
        assert e_x.is_neg() == t_x.is_neg()
        assert_same(e_x, t_x.resolve_conj())
    assert z.conj().imag.is_neg() == t.conj().imag.is_neg() is True
    assert ember.is_conj(z.conj()) and not ember.is_neg(z)
    assert z.resolve_conj() is z and z.resolve_neg() is z
    x = ember.randn(3)
    assert x.conj() is x and ember.conj_physical(x) is x and not x.conj().is_conj()
    assert ember.resolve_conj(x) is x and x.resolve_neg() is x


def test_conj_physical_inplace():
    z = cz(2, 3)
    e, t = ember.tensor(z), torch.tensor(z)
    version = e._version
    assert e.conj_physical_() is e
    t.conj_physical_()
    assert_same(e, t)
    assert e._version == version + 1
    x = ember.randn(3)
    assert x.conj_physical_() is x


def test_conj_physical_inplace_records_gradient():
    check_c(lambda lib, x: (x * 1).conj_physical_() * 2, cz(3))


def test_conj_mH_adjoint():
    z = cz(3, 4)
    check_c(lambda lib, x: x.mH, z)
    check_c(lambda lib, x: x.adjoint(), z)
    check_c(lambda lib, x: x.H, z)


# ---------------------------------------------------------------------------
# angle, polar, complex, isreal, casts
# ---------------------------------------------------------------------------


def test_angle_real_inputs():
    values = np.array([-2.0, -0.0, 0.0, 3.0, np.nan, -np.inf, np.inf])
    check_c(lambda lib, x: lib.angle(x), values)
    check_c(lambda lib, x: lib.angle(x), values.astype(np.float32))
    check_c(lambda lib, x: lib.angle(x), np.array([-1, 0, 2], np.int64), grad=False)
    check_c(lambda lib, x: lib.angle(x), np.array([True, False]), grad=False)


def test_angle_at_zero_has_zero_gradient():
    check_c(lambda lib, x: x.angle(), np.array([0j, 1 + 1j, -2 + 0j]))


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 1), (4,)), ((), (2,))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_complex_and_polar(shapes, dtype):
    a, b = rn(*shapes[0], dtype=dtype), rn(*shapes[1], dtype=dtype)
    check_c(lambda lib, x, y: lib.complex(x, y), a, b)
    check_c(lambda lib, x, y: lib.polar(x, y), a, b)  # negative abs too: torch's formula
    check_c(lambda lib, x, y: lib.polar(x.abs(), y), a, b)


def test_polar_gradient_is_the_derivative_for_positive_abs():
    angle = ember.tensor(rn(3))
    magnitude = np.abs(rn(3)) + 0.5
    _gradchecks(lambda z: ember.polar(z, angle), magnitude)
    _gradchecks(lambda m, a: ember.complex(m, a) ** 2, rn(3), rn(3))


PART_ERRORS = {
    "mixed": (np.ones(2, np.float32), np.ones(2), "Expected object of scalar type Float"),
    "int": (np.ones(2, np.int64), np.ones(2, np.float32), "Half, Float or Double"),
    "shape": (np.ones(2), np.ones(3), "must match the size"),
}


@pytest.mark.parametrize("name", list(PART_ERRORS))
@pytest.mark.parametrize("op", ["complex", "polar"])
def test_complex_polar_errors(op, name):
    a, b, match = PART_ERRORS[name]
    check_raises(lambda lib, x, y: getattr(lib, op)(x, y), a, b, match=match)


def test_isreal_and_is_complex():
    z = np.array([1 + 0j, 1 + 1j, -0j, np.nan + 0j])
    check_c(lambda lib, x: lib.isreal(x), z, grad=False)
    check_c(lambda lib, x: x.isreal(), np.array([1.0, np.nan]), grad=False)
    check_c(lambda lib, x: lib.isreal(x), np.array([1, 2]), grad=False)
    assert ember.is_complex(ember.tensor(z)) and not ember.is_complex(ember.ones(2))
    check_raises(lambda lib: lib.is_complex(3))


@pytest.mark.parametrize("method", ["cfloat", "cdouble"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64])
def test_complex_casts(method, dtype):
    array = cz(3, dtype=dtype) if dtype == np.complex64 else rn(3, dtype=dtype)
    check_c(lambda lib, x: getattr(x, method)() * (1 + 2j), array)
    x = ember.tensor(cz(2, dtype=np.complex64 if method == "cfloat" else np.complex128))
    assert getattr(x, method)() is x


def test_complex_to_real_gradient_through_to():
    check_c(lambda lib, x: x.to(lib.complex128).abs(), rn(3, dtype=np.float32))


def test_inplace_through_real_imag_views_records_gradients():
    """z.real.mul_(a) on a tracked z: the write lands on z's (re, im) pairs (CopySlices),
    and views read the base's new value, as in PyTorch."""
    z0, a0 = cz(3), rn(3)

    def run(lib, z, a):
        y = z * (1 + 1j)
        y.real.mul_(a)
        y.imag[1:] += a[:2] ** 2
        first = (y * y).abs().sum()
        y = z * 2
        part = y.imag
        y.mul_(a)  # the base changes after the view's history was recorded
        second = (part * part).sum()
        y = z * 2
        pairs = lib.view_as_real(y)
        pairs[:, 0].add_(a)
        return first + second + y.abs().sum() + pairs.sum()

    check_c(run, z0, a0)


def test_inplace_on_part_of_a_leaf_raises():
    check_raises(lambda lib, z: z.requires_grad_().real.mul_(2), cz(3), match="leaf Variable")
