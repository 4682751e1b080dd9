"""gradcheck / gradgradcheck: same verdicts, exception types and messages as PyTorch's."""

import warnings

import numpy as np
import oracle
import pytest
import torch

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


LIBS = [ember, torch]
A = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
B = np.array([0.3, -0.2, 0.9])


def inputs(lib, *arrays, requires_grad=True):
    return tuple(lib.tensor(a.copy(), dtype=lib.float64, requires_grad=requires_grad)
                 for a in arrays)


GOOD = [
    ("pointwise", lambda lib, a: (a * a + a.exp() / (1 + a * a)).tanh(), (A,)),
    ("matmul", lambda lib, a, b: a @ b, (A, B)),
    ("broadcast", lambda lib, a, b: a * b - b / (a * a + 1), (A, B)),
    ("reduction", lambda lib, a: a.sum(0) * a.mean(), (A,)),
    ("two_outputs", lambda lib, a, b: (a @ b, (a * 2).sum()), (A, B)),
    ("views", lambda lib, a: a.t()[1:] * a[0].unsqueeze(0).t()[1:], (A,)),
    ("scalar_out", lambda lib, a: (a ** 3).sum(), (A,)),
]


@pytest.mark.parametrize("name,fn,arrays", GOOD, ids=[g[0] for g in GOOD])
def test_correct_gradients_pass(name, fn, arrays):
    for lib in LIBS:
        args = inputs(lib, *arrays)
        assert lib.autograd.gradcheck(lambda *t: fn(lib, *t), args)
        assert lib.autograd.gradgradcheck(lambda *t: fn(lib, *t), args)


def test_non_contiguous_and_non_tensor_inputs():
    for lib in LIBS:
        a = lib.tensor(A.T.copy(), dtype=lib.float64).t().requires_grad_()
        assert not a.is_contiguous()
        assert lib.autograd.gradcheck(lambda x, k: x * k, (a, 3))


def wrong_backward(lib):
    class Wrong(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 3

    return Wrong


def test_wrong_gradient_raises_with_torch_message():
    messages = []
    for lib in LIBS:
        (x,) = inputs(lib, B)
        with pytest.raises(RuntimeError) as info:
            lib.autograd.gradcheck(wrong_backward(lib).apply, (x,))
        assert type(info.value).__name__ == "GradcheckError"
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert messages[0].startswith("Jacobian mismatch for output 0 with respect to input 0,")


def test_raise_exception_false_returns_false():
    for lib in LIBS:
        (x,) = inputs(lib, B)
        assert lib.autograd.gradcheck(wrong_backward(lib).apply, (x,),
                                      raise_exception=False) is False


def test_tolerances_are_applied():
    for lib in LIBS:
        (x,) = inputs(lib, B)
        assert lib.autograd.gradcheck(wrong_backward(lib).apply, (x,), atol=1.5, rtol=0)


@pytest.mark.oracle_torch("2.13", "torch 2.11's gradcheck message reads 'none of the them'")
def test_no_input_requires_grad_is_value_error():
    for lib in LIBS:
        (x,) = inputs(lib, B, requires_grad=False)
        with pytest.raises(ValueError, match="gradcheck expects at least one input tensor to "
                                             "require gradient, but none of them have "
                                             "requires_grad=True."):
            lib.autograd.gradcheck(lambda t: t * 2, (x,))


def test_float32_input_warns():
    for lib in LIBS:
        x = lib.tensor(B.astype(np.float32), requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.autograd.gradcheck(lambda t: t * 2, (x,), atol=1e-2, rtol=1e-2)
        assert any("Input #0 requires gradient and is not a double precision" in str(w.message)
                   for w in caught)


def test_output_without_grad_but_nonzero_numerical_gradient():
    for lib in LIBS:
        (x,) = inputs(lib, B)
        with pytest.raises(RuntimeError, match="Numerical gradient for function expected to "
                                               "be zero"):
            lib.autograd.gradcheck(lambda t: (t * 2).detach(), (x,))


def nondeterministic_backward(lib):
    calls = [0]

    class Jitter(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            calls[0] += 1
            return grad * (2 + 1e-9 * calls[0])

    return Jitter


def test_non_reentrant_backward_detected_and_nondet_tol():
    for lib in LIBS:
        (x,) = inputs(lib, B)
        with pytest.raises(RuntimeError, match="Backward is not reentrant"):
            lib.autograd.gradcheck(nondeterministic_backward(lib).apply, (x,))
        (x,) = inputs(lib, B)
        assert lib.autograd.gradcheck(nondeterministic_backward(lib).apply, (x,),
                                      nondet_tol=1e-6)


def detached_backward(lib):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 2 * x.detach()  # first derivative right, second one lost

    return Square


def test_gradgradcheck_catches_wrong_double_backward():
    for lib in LIBS:
        (x,) = inputs(lib, B)
        assert lib.autograd.gradcheck(detached_backward(lib).apply, (x,))
        with pytest.raises(RuntimeError, match="Jacobian mismatch for output 0 with respect "
                                               "to input 0"):
            lib.autograd.gradgradcheck(detached_backward(lib).apply, (x,))


def test_gradgradcheck_with_given_grad_outputs():
    for lib in LIBS:
        a, b = inputs(lib, A, B)
        (g,) = inputs(lib, np.array([1.0, -2.0]))
        assert lib.autograd.gradgradcheck(lambda x, y: (x @ y).sin(), (a, b), (g,))


def test_gradcheck_is_exported():
    from ember.autograd.gradcheck import GradcheckError, gradgradcheck

    assert callable(ember.autograd.gradcheck)
    assert gradgradcheck is ember.autograd.gradgradcheck
    assert GradcheckError is ember.autograd.GradcheckError
    assert issubclass(GradcheckError, RuntimeError)
