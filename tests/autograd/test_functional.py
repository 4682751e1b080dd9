"""autograd.functional (jacobian, hessian, vjp, jvp, hvp, vhp) against PyTorch."""

import numpy as np
import pytest
import torch

import ember
from oracle import assert_same, randn

X = randn(3, dtype=np.float64)
Y = randn(2, 3, dtype=np.float64)
V2 = randn(2, dtype=np.float64)
V3 = randn(3, dtype=np.float64)
V23 = randn(2, 3, dtype=np.float64)


def _t(lib, array):
    return lib.tensor(array.copy())


def mixed(a, b):
    return (b @ a).tanh() + a.sum()


def cubic(a):
    return (a ** 3).sum()


def two_input_scalar(a, b):
    return (b @ a).sum() * a.sum()


CASES = [
    ("jacobian_single", lambda lib, F: F.jacobian(lambda a: a * a, _t(lib, X))),
    ("jacobian_tuple_inputs", lambda lib, F: F.jacobian(mixed, (_t(lib, X), _t(lib, Y)))),
    ("jacobian_tuple_outputs", lambda lib, F: F.jacobian(lambda a: (a.exp(), a.sum()),
                                                         _t(lib, X))),
    ("jacobian_both_tuples", lambda lib, F: F.jacobian(lambda a, b: (a * 2, b @ a),
                                                       (_t(lib, X), _t(lib, Y)))),
    ("jacobian_unused_input", lambda lib, F: F.jacobian(lambda a, b: a * 2,
                                                        (_t(lib, X), _t(lib, Y)))),
    ("jacobian_matrix_output", lambda lib, F: F.jacobian(lambda b: b.tanh(), _t(lib, Y))),
    ("hessian_single", lambda lib, F: F.hessian(cubic, _t(lib, X))),
    ("hessian_tuple", lambda lib, F: F.hessian(two_input_scalar, (_t(lib, X), _t(lib, Y)))),
    ("vjp", lambda lib, F: F.vjp(mixed, (_t(lib, X), _t(lib, Y)), _t(lib, V2))),
    ("vjp_scalar_no_v", lambda lib, F: F.vjp(cubic, _t(lib, X))),
    ("jvp", lambda lib, F: F.jvp(mixed, (_t(lib, X), _t(lib, Y)), (_t(lib, V3), _t(lib, V23)))),
    ("jvp_single", lambda lib, F: F.jvp(lambda a: a.exp(), _t(lib, X), _t(lib, V3))),
    ("hvp", lambda lib, F: F.hvp(cubic, _t(lib, X), _t(lib, V3))),
    ("hvp_tuple", lambda lib, F: F.hvp(two_input_scalar, (_t(lib, X), _t(lib, Y)),
                                       (_t(lib, V3), _t(lib, V23)))),
    ("vhp", lambda lib, F: F.vhp(cubic, _t(lib, X), _t(lib, V3))),
    ("vhp_tuple", lambda lib, F: F.vhp(two_input_scalar, (_t(lib, X), _t(lib, Y)),
                                       (_t(lib, V3), _t(lib, V23)))),
]


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_functional_matches_torch(name, fn):
    expected = fn(torch, torch.autograd.functional)
    result = fn(ember, ember.autograd.functional)
    assert_same(result, expected)


def test_results_are_detached_without_create_graph():
    x = ember.tensor(X, requires_grad=True)
    jac = ember.autograd.functional.jacobian(lambda a: a * a, x)
    assert not jac.requires_grad
    out, vjp = ember.autograd.functional.vjp(cubic, x)
    assert not out.requires_grad and not vjp.requires_grad


def test_create_graph_keeps_link_to_inputs():
    grads = []
    for lib in (ember, torch):
        x = lib.tensor(X.copy(), requires_grad=True)
        jac = lib.autograd.functional.jacobian(lambda a: a ** 3, x, create_graph=True)
        assert jac.requires_grad
        jac.sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1])


def test_hvp_create_graph_differentiable():
    results = []
    for lib in (ember, torch):
        x = lib.tensor(X.copy(), requires_grad=True)
        _, product = lib.autograd.functional.hvp(cubic, x, lib.ones(3, dtype=lib.float64),
                                                 create_graph=True)
        (g,) = lib.autograd.grad(product.sum(), x)
        results.append(g.detach().numpy())
    np.testing.assert_allclose(results[0], results[1])


ERRORS = [
    ("vjp_needs_v", lambda lib, F: F.vjp(lambda a: a * 2, _t(lib, X)),
     "The vector v can only be None if the user-provided function returns a single Tensor "
     "with a single element."),
    ("jvp_needs_v", lambda lib, F: F.jvp(lambda a: a * 2, _t(lib, X)),
     "The vector v can only be None if the input to the user-provided function is a single "
     "Tensor with a single element."),
    ("v_bad_shape", lambda lib, F: F.vjp(lambda a: a * 2, _t(lib, X), _t(lib, V2)),
     "v has invalid size"),
    ("v_bad_length", lambda lib, F: F.jvp(mixed, (_t(lib, X), _t(lib, Y)), (_t(lib, V3),)),
     "v is a tuple of invalid length: should be 2 but got 1."),
    ("strict_independent", lambda lib, F: F.vjp(lambda a, b: a.sum(), (_t(lib, X), _t(lib, Y)),
                                               strict=True),
     "The output of the user-provided function is independent of input 1. This is not "
     "allowed in strict mode."),
    ("strict_no_grad_output", lambda lib, F: F.vjp(lambda a: _t(lib, X).sum(), _t(lib, X),
                                                  strict=True),
     "Output 0 of the user-provided function does not require gradients."),
    ("hessian_non_scalar", lambda lib, F: F.hessian(lambda a: a * 2, _t(lib, X)),
     "The Tensor returned by the function given to hessian should contain a single element"),
    ("hvp_non_scalar", lambda lib, F: F.hvp(lambda a: a * 2, _t(lib, X), _t(lib, V3)),
     "The Tensor returned by the function given to hvp should contain a single element"),
    ("inputs_type", lambda lib, F: F.jacobian(lambda a: a, [1.0]),
     "The inputs given to jacobian must be either a Tensor or a tuple of Tensors"),
    ("outputs_type", lambda lib, F: F.jacobian(lambda a: 3.0, _t(lib, X)),
     "The outputs of the user-provided function given to jacobian must be either a Tensor"),
]


@pytest.mark.parametrize("name,fn,match", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(name, fn, match):
    with pytest.raises(Exception) as torch_info:
        fn(torch, torch.autograd.functional)
    with pytest.raises(type(torch_info.value), match=match) as ember_info:
        fn(ember, ember.autograd.functional)
    assert match in str(torch_info.value)
    assert match in str(ember_info.value)
