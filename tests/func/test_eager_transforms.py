"""grad, grad_and_value, vjp, jvp, linearize, jacrev, jacfwd, hessian against torch.func:
values, shapes, dtypes, the gradients of the results (composition with autograd), nesting
with each other and with vmap, and PyTorch's errors."""

import numpy as np
import oracle
import pytest
import torch
from oracle import assert_same, check, check_raises, randn

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


X = randn(3, dtype=np.float64)
Y = randn(3, dtype=np.float64)
M = randn(2, 3, dtype=np.float64)
XB = randn(4, 3, dtype=np.float64)
X32 = randn(3)


def f_scalar(x):
    return (x.sin() * x).sum()


def f_two(x, y):
    return (x * y.exp()).sum() + (x ** 3).sum()


def f_vec(x):
    return x.tanh() * x.sum()


def f_multi(x, y):
    return x * y, (x.exp() + y).sum()


def f_matrix(m, x):
    return (m @ x).sin()


def f_dict(p):
    return (p["w"] * p["b"].cos()).sum()


def _linearize_twice(lib, x, y):
    out, jvp_fn = lib.func.linearize(f_vec, x)
    return out, jvp_fn(y), jvp_fn(x)


def F(lib):
    return lib.func


# (name, fn(lib, *tensors), inputs). check() makes the float inputs require grad, so the
# results stay connected to them and their gradients are compared too.
CASES = [
    ("grad", lambda lib, x: F(lib).grad(f_scalar)(x), (X,)),
    ("grad_float32", lambda lib, x: F(lib).grad(f_scalar)(x), (X32,)),
    ("grad_argnums_1", lambda lib, x, y: F(lib).grad(f_two, argnums=1)(x, y), (X, Y)),
    ("grad_argnums_tuple", lambda lib, x, y: F(lib).grad(f_two, argnums=(0, 1))(x, y), (X, Y)),
    ("grad_argnums_negative", lambda lib, x, y: F(lib).grad(f_two, argnums=-1)(x, y), (X, Y)),
    ("grad_dict", lambda lib, x, y: tuple(F(lib).grad(f_dict)({"w": x, "b": y}).values()),
     (X, Y)),
    ("grad_has_aux", lambda lib, x: F(lib).grad(lambda a: (f_scalar(a), a * 2), has_aux=True)(x),
     (X,)),
    ("grad_kwargs", lambda lib, x, y: F(lib).grad(lambda a, b=None: (a * b).sum())(x, b=y),
     (X, Y)),
    ("grad_and_value", lambda lib, x: F(lib).grad_and_value(f_scalar)(x), (X,)),
    ("grad_and_value_aux", lambda lib, x: F(lib).grad_and_value(
        lambda a: (f_scalar(a), {"double": a * 2}), has_aux=True)(x)[1][1]["double"], (X,)),
    ("grad_unused_input", lambda lib, x, y: F(lib).grad(lambda a, b: a.sum(), argnums=1)(x, y),
     (X, Y)),
    ("grad_of_grad", lambda lib, x: F(lib).grad(lambda a: F(lib).grad(f_scalar)(a).sum())(x),
     (X,)),
    ("grad_of_grad_closure", lambda lib, x: F(lib).grad(
        lambda a: a * F(lib).grad(lambda b: (a * b).sum())(a).sum())(x[0]), (X,)),
    ("vjp", lambda lib, x, y: F(lib).vjp(f_vec, x)[1](y), (X, Y)),
    ("vjp_output", lambda lib, x: F(lib).vjp(f_vec, x)[0], (X,)),
    ("vjp_two_inputs", lambda lib, m, x, y: F(lib).vjp(f_matrix, m, x)[1](y[:2]), (M, X, Y)),
    ("vjp_tuple_output", lambda lib, x, y: F(lib).vjp(f_multi, x, y)[1](
        (y, lib.tensor(1.5, dtype=y.dtype))), (X, Y)),
    ("vjp_has_aux", lambda lib, x, y: F(lib).vjp(lambda a: (f_vec(a), a.sum()), x,
                                                 has_aux=True)[2], (X, Y)),
    ("jvp", lambda lib, x, y: F(lib).jvp(f_vec, (x,), (y,)), (X, Y)),
    ("jvp_two_inputs", lambda lib, m, x, y: F(lib).jvp(f_matrix, (m, x), (m * 2, y)), (M, X, Y)),
    ("jvp_tuple_output", lambda lib, x, y: F(lib).jvp(f_multi, (x, y), (y, x)), (X, Y)),
    ("jvp_has_aux", lambda lib, x, y: F(lib).jvp(lambda a: (a.exp(), a.cos()), (x,), (y,),
                                                 has_aux=True), (X, Y)),
    ("jvp_constant_output", lambda lib, x, y: F(lib).jvp(lambda a: lib.ones(2, dtype=a.dtype),
                                                         (x,), (y,)), (X, Y)),
    ("linearize", lambda lib, x, y: _linearize_twice(lib, x, y), (X, Y)),
    ("jacrev", lambda lib, x: F(lib).jacrev(f_vec)(x), (X,)),
    ("jacrev_matrix", lambda lib, m, x: F(lib).jacrev(f_matrix)(m, x), (M, X)),
    ("jacrev_argnums", lambda lib, m, x: F(lib).jacrev(f_matrix, argnums=(0, 1))(m, x), (M, X)),
    ("jacrev_multi_output", lambda lib, x, y: F(lib).jacrev(f_multi, argnums=(0, 1))(x, y),
     (X, Y)),
    ("jacrev_has_aux", lambda lib, x: F(lib).jacrev(lambda a: (a.sin(), a.sum()),
                                                    has_aux=True)(x), (X,)),
    ("jacrev_scalar_out", lambda lib, x: F(lib).jacrev(f_scalar)(x), (X,)),
    ("jacrev_dict", lambda lib, x, y: tuple(F(lib).jacrev(lambda p: p["w"] * p["b"])(
        {"w": x, "b": y}).values()), (X, Y)),
    ("jacfwd", lambda lib, x: F(lib).jacfwd(f_vec)(x), (X,)),
    ("jacfwd_matrix", lambda lib, m, x: F(lib).jacfwd(f_matrix, argnums=0)(m, x), (M, X)),
    ("jacfwd_argnums", lambda lib, x, y: F(lib).jacfwd(f_multi, argnums=(0, 1))(x, y), (X, Y)),
    ("jacfwd_has_aux", lambda lib, x: F(lib).jacfwd(lambda a: (a.sin(), a.sum()),
                                                    has_aux=True)(x), (X,)),
    ("jacfwd_randomness_same", lambda lib, x: F(lib).jacfwd(f_vec, randomness="same")(x), (X,)),
    ("hessian", lambda lib, x: F(lib).hessian(f_scalar)(x), (X,)),
    ("hessian_argnums", lambda lib, x, y: F(lib).hessian(f_two, argnums=(0, 1))(x, y), (X, Y)),
    ("jacfwd_of_jacrev", lambda lib, x: F(lib).jacfwd(F(lib).jacrev(f_vec))(x), (X,)),
    ("jacrev_of_jacrev", lambda lib, x: F(lib).jacrev(F(lib).jacrev(f_vec))(x), (X,)),
    ("vmap_grad", lambda lib, xb: F(lib).vmap(F(lib).grad(f_scalar))(xb), (XB,)),
    ("vmap_jacrev", lambda lib, xb: F(lib).vmap(F(lib).jacrev(f_vec))(xb), (XB,)),
    ("vmap_jacfwd", lambda lib, xb: F(lib).vmap(F(lib).jacfwd(f_vec))(xb), (XB,)),
    ("vmap_hessian", lambda lib, xb: F(lib).vmap(F(lib).hessian(f_scalar))(xb), (XB,)),
    ("vmap_jvp", lambda lib, xb, x: F(lib).vmap(lambda a: F(lib).jvp(f_vec, (a,), (x,)))(xb),
     (XB, X)),
    ("vmap_vjp", lambda lib, xb, x: F(lib).vmap(lambda a: F(lib).vjp(f_vec, a)[1](x))(xb),
     (XB, X)),
    ("grad_of_vmap", lambda lib, x, xb: F(lib).grad(
        lambda w: F(lib).vmap(lambda a: (a * w).sin().sum())(xb).sum())(x), (X, XB)),
    ("jacrev_of_vmap", lambda lib, xb: F(lib).jacrev(F(lib).vmap(f_vec))(xb), (XB,)),
    ("vmap_grad_in_dims_none", lambda lib, x, xb: F(lib).vmap(
        F(lib).grad(f_two), in_dims=(None, 0))(x, xb), (X, XB)),
]


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_transform_matches_torch(name, fn, inputs):
    check(fn, *inputs)


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_transform_without_outer_grad(name, fn, inputs):
    """Inputs that do not require grad: same values, and results that do not require grad
    either (nothing outside the transform holds on to their graph)."""
    e_out, t_out = check(fn, *inputs, grad=False)
    e_flags = [t.requires_grad for t in _tensors(e_out)]
    t_flags = [t.requires_grad for t in _tensors(t_out)]
    assert e_flags == t_flags


def _tensors(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _tensors(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _tensors(o)]
    return [out] if isinstance(out, (ember.Tensor, torch.Tensor)) else []


def test_grad_ignores_outer_no_grad():
    for lib in (ember, torch):
        x = lib.tensor(X)
        with lib.no_grad():
            g = lib.func.grad(f_scalar)(x)
        assert not g.requires_grad
    with ember.no_grad():
        e = ember.func.grad(f_scalar)(ember.tensor(X))
    assert_same(e, torch.func.grad(f_scalar)(torch.tensor(X)))


def test_grad_respects_inner_no_grad():
    def f(lib):
        def inner(x):
            with lib.no_grad():
                c = x ** 2
            return (x - c).sum()
        return lib.func.grad(inner)(lib.tensor(X))

    assert_same(f(ember), f(torch))


def test_vjp_fn_reusable_and_create_graph():
    for lib in (ember, torch):
        x = lib.tensor(X)
        _, fn = lib.func.vjp(f_vec, x)
        first = fn(lib.ones(3, dtype=x.dtype))
        second = fn(lib.ones(3, dtype=x.dtype))
        assert bool((first[0] == second[0]).all())
    # the cotangent is differentiated through: grad of a vjp with respect to it
    e_fn = ember.func.vjp(f_vec, ember.tensor(X))[1]
    t_fn = torch.func.vjp(f_vec, torch.tensor(X))[1]
    assert_same(ember.func.grad(lambda v: e_fn(v)[0].sum())(ember.tensor(Y)),
                torch.func.grad(lambda v: t_fn(v)[0].sum())(torch.tensor(Y)))


def test_per_sample_gradcheck():
    x = ember.tensor(X, requires_grad=True)
    assert ember.autograd.gradcheck(ember.func.grad(f_scalar), (x,))
    assert ember.autograd.gradcheck(ember.func.jacfwd(f_vec), (x,))
    assert ember.autograd.gradcheck(lambda a: ember.func.jvp(f_vec, (a,), (a.cos(),))[1], (x,))
    assert ember.autograd.gradcheck(ember.func.jacrev(f_vec), (x,))
    assert ember.autograd.gradcheck(ember.func.hessian(f_scalar), (x,))
    assert ember.autograd.gradcheck(lambda a: ember.func.vjp(f_vec, a)[1](a.sin())[0], (x,))
    _, jvp_fn = ember.func.linearize(f_vec, ember.tensor(Y))  # linear in the tangent
    assert ember.autograd.gradcheck(jvp_fn, (x,))
    assert ember.autograd.gradgradcheck(ember.func.grad(f_scalar), (x,))


def test_wraps_name():
    assert ember.func.grad(f_scalar).__name__ == "f_scalar"
    assert ember.func.jacrev(f_vec).__name__ == "f_vec"


ERRORS = [
    ("grad_non_scalar", lambda lib, x: F(lib).grad(lambda a: a)(x), (X,),
     "Expected f\\(\\*args\\) to return a scalar Tensor, got tensor with 1 dims"),
    ("grad_non_tensor", lambda lib, x: F(lib).grad(lambda a: 1)(x), (X,),
     "Expected f\\(\\*args\\) to return a Tensor, got <class 'int'>"),
    ("grad_argnum_range", lambda lib, x: F(lib).grad(f_scalar, argnums=2)(x), (X,),
     "Got argnum=2, but only 1 positional inputs"),
    ("grad_argnums_repeat", lambda lib, x: F(lib).grad(f_scalar, argnums=(0, 0))(x), (X,),
     "argnums elements must be unique"),
    ("grad_argnums_empty", lambda lib, x: F(lib).grad(f_scalar, argnums=())(x), (X,),
     "argnums must be non-empty"),
    ("grad_argnums_list", lambda lib, x: F(lib).grad(f_scalar, argnums=[0])(x), (X,),
     "argnums must be int or Tuple"),
    ("grad_aux_not_pair", lambda lib, x: F(lib).grad(f_scalar, has_aux=True)(x), (X,),
     "output of function f should be a tuple: \\(output, aux\\) if has_aux is True"),
    ("grad_of_float", lambda lib: F(lib).grad(f_scalar)(1.0), (),
     "Thing passed to transform API must be Tensor"),
    ("grad_of_int_tensor", lambda lib: F(lib).grad(lambda a: a.sum())(lib.ones(3).long()), (),
     "only Tensors of floating point dtype can require gradients"),
    ("vjp_bad_cotangent_structure", lambda lib, x: F(lib).vjp(f_multi, x, x)[1](x), (X,),
     "Expected pytree structure of cotangents to be the same"),
    ("vjp_int_output", lambda lib, x: F(lib).vjp(lambda a: a.long(), x), (X,),
     "All outputs of f must be floating-point or complex Tensors"),
    ("vjp_non_tensor_output", lambda lib, x: F(lib).vjp(lambda a: 1, x), (X,),
     "expected f\\(\\*primals\\) to return only tensors"),
    ("jvp_primals_not_tuple", lambda lib, x: F(lib).jvp(f_vec, x, x), (X,),
     "Expected primals to be a tuple"),
    ("jvp_structure", lambda lib, x: F(lib).jvp(f_vec, (x,), (x, x)), (X,),
     "Expected primals and tangents to have the same python structure"),
    ("jvp_tangent_shape", lambda lib, x, m: F(lib).jvp(f_vec, (x,), (m,)), (X, M),
     "different size than that of the original Tensor"),
    ("jvp_strict_independent", lambda lib, x: F(lib).jvp(lambda a: lib.ones(2), (x,), (x,),
                                                         strict=True), (X,),
     "The output of f is independent of the inputs"),
    ("jvp_aux_not_pair", lambda lib, x: F(lib).jvp(f_vec, (x,), (x,), has_aux=True), (X,),
     "output of function f should be a tuple"),
    ("jacrev_chunk_size", lambda lib: F(lib).jacrev(f_vec, chunk_size=0), (),
     "`chunk_size` should be greater than 0"),
    ("jacfwd_random_error", lambda lib, x: F(lib).jacfwd(lambda a: a + lib.rand(3))(x), (X,),
     "randomness error mode"),
    ("jacfwd_bad_randomness", lambda lib, x: F(lib).jacfwd(f_vec, randomness="foo")(x), (X,),
     "Only allowed values for randomness"),
    ("linearize_tangent_shape", lambda lib, x, m: F(lib).linearize(f_vec, x)[1](m), (X, M),
     "doesn't match the shape"),
]


@pytest.mark.parametrize("name,fn,inputs,match", ERRORS, ids=[c[0] for c in ERRORS])
def test_transform_errors(name, fn, inputs, match):
    check_raises(fn, *inputs, match=match)


@pytest.mark.parametrize("aux", ["int", "str_in_tuple", "none"])
def test_aux_must_hold_tensors(aux):
    def run(lib):
        x = lib.tensor(X)
        value = {"int": 3, "str_in_tuple": (x, "s"), "none": None}[aux]
        return lib.func.grad(lambda a: (a.sum(), value), has_aux=True)(x)

    with pytest.raises(RuntimeError, match="Expected tensors, got unsupported type") as t_info:
        run(torch)
    with pytest.raises(RuntimeError) as e_info:
        run(ember)
    assert str(e_info.value) == str(t_info.value)


def test_aux_nested_structures():
    from collections import namedtuple

    Pair = namedtuple("Pair", "first second")

    def run(lib):
        x = lib.tensor(X)
        return lib.func.grad(lambda a: (a.sum(), [Pair(a * 2, {"k": a.exp()})]),
                             has_aux=True)(x)

    e, t = run(ember), run(torch)
    assert type(e[1][0]) is Pair and type(t[1][0]) is Pair
    assert_same(e[0], t[0])
    assert_same(e[1][0].first, t[1][0].first)
    assert_same(e[1][0].second["k"], t[1][0].second["k"])


def test_closure_parameters_stay_connected():
    """A gradient penalty: grad with respect to an input that does not require grad, of a
    function closing over parameters that do; backward reaches the parameters."""
    def run(lib):
        w = lib.tensor(M, requires_grad=True)
        x = lib.tensor(X)
        g = lib.func.grad(lambda a: (w @ a).tanh().sum())(x)
        out, vjp_fn = lib.func.vjp(lambda a: (w @ a).sin(), x)
        jac = lib.func.jacrev(lambda a: (w @ a).exp())(x)
        _, tangent = lib.func.jvp(lambda a: (w @ a).cos(), (x,), (x,))
        flags = (g.requires_grad, out.requires_grad, vjp_fn(out)[0].requires_grad,
                 jac.requires_grad, tangent.requires_grad)
        ((g ** 2).sum() + vjp_fn(out)[0].sum() + jac.sum() + tangent.sum()).backward()
        return flags, w.grad

    (e_flags, e_grad), (t_flags, t_grad) = run(ember), run(torch)
    assert e_flags == t_flags
    assert_same(e_grad, t_grad)
