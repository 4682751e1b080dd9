"""``ember.cond`` and ``ember.while_loop`` against PyTorch's eager ``torch.cond`` /
``torch.while_loop``: values, gradients, and the contract errors."""

import re
import warnings

import numpy as np
import pytest
import torch
from oracle import check_raises

import ember

# -- cond and while_loop --------------------------------------------------------------------
# torch runs every cond/while_loop call with a tensor predicate through Dynamo (~0.3-1 s a
# call on this machine), so only a few representative calls run torch here; the other error
# cases check ember against the messages torch 2.13 gives for them (recorded below).

X = np.random.default_rng(7).standard_normal(4).astype(np.float32)


def _run_cond(lib, pred, true_fn, false_fn, operands):
    x = lib.tensor(X, requires_grad=True)
    pred = lib.tensor(pred) if isinstance(pred, np.ndarray) else pred
    out = lib.cond(pred, true_fn, false_fn, operands(x))
    leaves = out.values() if isinstance(out, dict) else out if isinstance(out, tuple) else (out,)
    tensors = [t for t in leaves if isinstance(t, lib.Tensor)]
    sum(t.sum() for t in tensors).backward()
    return [t.detach().numpy() for t in tensors], x.grad.numpy()


COND_CASES = [  # (pred, true_fn, false_fn, operands built from x)
    (True, lambda a: a.sin(), lambda a: a.cos(), lambda x: (x,)),  # a constant: no Dynamo
    (False, lambda a, b: (a * b, a + 1), lambda a, b: (a - b, b * 3), lambda x: (x, x)),
    (np.array(0.0), lambda a: a.sin(), lambda a: a.cos(), lambda x: [x]),
    (np.array([[True]]), lambda d: {"k": d["u"].tanh()}, lambda d: {"k": d["u"].sin()},
     lambda x: ({"u": x},)),
]


@pytest.mark.parametrize("case", range(len(COND_CASES)))
def test_cond_values_and_gradients_match_torch(case):
    (e_out, e_grad), (t_out, t_grad) = (_run_cond(lib, *COND_CASES[case])
                                        for lib in (ember, torch))
    for e, t in zip(e_out, t_out, strict=True):
        np.testing.assert_allclose(e, t, rtol=1.3e-6, atol=1e-5)
    np.testing.assert_allclose(e_grad, t_grad, rtol=1.3e-6, atol=1e-5)


def test_cond_branch_outputs_may_differ_in_size_and_hold_ints():
    x = ember.tensor(X, requires_grad=True)
    out = ember.cond(ember.tensor(True), lambda a: a.sin()[:2], lambda a: a.cos(), (x,))
    assert out.tolist() == pytest.approx(np.sin(X[:2]).tolist())
    out.sum().backward()
    assert x.grad.tolist() == pytest.approx([*np.cos(X[:2]), 0.0, 0.0])
    pair = ember.cond(ember.tensor(False), lambda a: (a.sin(), 1), lambda a: (a.cos(), 2), (x,))
    assert pair[1] == 2 and pair[0].tolist() == pytest.approx(np.cos(X).tolist())


def test_cond_gradcheck_and_module_closures():
    x = ember.tensor(X.astype(np.float64), requires_grad=True)
    for pred in (True, False):
        assert ember.autograd.gradcheck(
            lambda a, p=pred: ember.cond(ember.tensor(p), lambda v: (v * v).sin(),
                                         lambda v: v.exp().cos(), (a,)), (x,))
    layer = ember.nn.Linear(4, 2)  # real weights: the branch not taken cannot run on meta
    state = ember.random.get_rng_state()
    out = ember.cond(ember.tensor(False), lambda a: ember.nn.functional.dropout(layer(a), 0.5),
                     lambda a: layer(a).relu(), (x.float(),))
    assert ember.random.get_rng_state().equal(state)  # the shadow run's dropout left no trace
    out.sum().backward()
    assert layer.weight.grad is not None


def test_cond_may_write_and_return_inputs_without_autograd():
    for lib in (ember, torch):
        a = lib.tensor(X)
        with lib.no_grad():
            out = lib.cond(lib.tensor(True), lambda v: v.add_(1), lambda v: v + 1, (a,))
        assert out is a and np.allclose(a.numpy(), X + 1)


COND_ERRORS_VS_TORCH = [
    lambda lib, x: lib.cond(lib.tensor([True, False]), lambda a: a, lambda a: a, (x,)),
    lambda lib, x: lib.cond("a", lambda a: a.sin(), lambda a: a.cos(), (x,)),
    lambda lib, x: lib.cond(lib.tensor(True), 1, lambda a: a, (x,)),
    lambda lib, x: lib.cond(lib.tensor(True), lambda a: a.sin(), lambda a: a.cos(), (x, 1)),
    lambda lib, x: lib.cond(lib.tensor(True), lambda a: a.sin(), lambda a: a.cos(), (x,), 3),
    lambda lib, x: lib.cond(lib.tensor(True), lambda a: a.sin(), lambda a: a.cos().double(),
                            (x,)),
    lambda lib, x: lib.cond(lib.tensor(True), lambda a: a, lambda a: a.sin(), (x,)),
]


@pytest.mark.parametrize("case", range(len(COND_ERRORS_VS_TORCH)))
def test_cond_errors_match_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e_error, t_error = check_raises(COND_ERRORS_VS_TORCH[case], X)
    if "Expect" in str(t_error)[:7]:  # the checks before Dynamo: the same words
        assert str(e_error).replace("ember._tensor", "torch") == str(t_error)


P = ember.tensor(True)
COND_ERRORS = [  # (call, what torch 2.13's message says)
    (lambda x: ember.cond(None, lambda a: a.sin(), lambda a: a.cos(), (x,)),
     "Expected pred to be bool or tensor, but got None."),
    (lambda x: ember.cond(P, lambda a: a.sin(), lambda a: a.cos(), x),
     "Expect operands to be a tuple of possibly nested dict/list/tuple"),
    (lambda x: ember.cond(P, lambda a: a.sin(), lambda a: a.cos().sum(), (x,)),
     "expected same dim but got 1 and 0."),
    (lambda x: ember.cond(P, lambda a: a.sin(), lambda a: (a.cos(), a.sin()), (x,)),
     "Unmatched output spec from torch.cond branches"),
    (lambda x: ember.cond(P, lambda a: (a.sin(), a.cos()), lambda a: [a.cos(), a.sin()], (x,)),
     "torch.cond: differing branch outputs"),
    (lambda x: ember.cond(P, lambda a: None, lambda a: None, (x,)),
     "Constants returned from branches must be ints."),
    (lambda x: ember.cond(P, lambda a: (a.sin(), 1.5), lambda a: (a.cos(), 1.5), (x,)),
     "must consist of tensors or ints/bools only but got <class 'float'>"),
    (lambda x: ember.cond(P, lambda a: (a.sin(), 1), lambda a: (a.cos(), a.sin()), (x,)),
     "expected both a and b to be FakeTensor"),
    (lambda x: ember.cond(P, lambda a: a.sin(), lambda a: a.view(-1), (x,)),
     "Encountered aliasing during higher order op tracing"),
    (lambda x: ember.cond(P, lambda a: (a.sin(),) * 2, lambda a: (a.cos(),) * 2, (x,)),
     "Encountered aliasing during higher order op tracing"),
    (lambda x: ember.cond(P, lambda a: a.add_(1), lambda a: a + 1, (x.detach().clone(),)),
     "Encountered input mutation during higher order op tracing"),
]


@pytest.mark.parametrize("case", range(len(COND_ERRORS)))
def test_cond_errors(case):
    call, message = COND_ERRORS[case]
    with pytest.raises(RuntimeError, match=re.escape(message)):
        call(ember.tensor(X, requires_grad=True))


def _run_while(lib, cond_fn, body_fn, carried):
    x = lib.tensor(X, requires_grad=True)
    out = lib.while_loop(cond_fn, body_fn, carried(lib, x))
    leaves = [out] if isinstance(out, lib.Tensor) else list(out)
    if leaves and isinstance(leaves[0], dict):
        leaves = list(leaves[0].values())
    floats = [v for v in leaves if isinstance(v, lib.Tensor) and v.requires_grad]
    if floats:
        sum(v.sum() for v in floats).backward()
    values = [v.detach().numpy() if isinstance(v, lib.Tensor) else v for v in leaves]
    return type(out), values, None if x.grad is None else x.grad.numpy()


WHILE_CASES = [  # (cond_fn, body_fn, carried inputs built from x)
    (lambda i, a: i.sum() < 3, lambda i, a: (i + 1, a.sin()), lambda lib, x: (lib.zeros(1), x)),
    (lambda d: d["a"] < 2, lambda d: ({"a": d["a"] + 1, "x": d["x"].cos()},),
     lambda lib, x: ({"a": lib.tensor(0), "x": x},)),
]
# outputs as torch 2.13 gives them for these (checked once; no Dynamo run per test)
WHILE_EXPECTED = [
    (lambda i, a: i < 3, lambda i, a: (i + 1, a * 2), lambda x: [ember.tensor(0), x],
     tuple, [3, X * 8]),
    (lambda i, a: i < 0, lambda i, a: (i + 1, a + 1), lambda x: (ember.tensor(0), x),
     tuple, [0, X]),
    (lambda i: i < 3, lambda i: i + 1, lambda x: (ember.tensor(0),), ember.Tensor, [3]),
    (lambda i: i < 0, lambda i: [i + 1], lambda x: (ember.tensor(0),), list, [0]),
    (lambda i: i < 0, lambda i: i + 1, lambda x: (ember.tensor(0),), ember.Tensor, [0]),
    (lambda i: i > 0, lambda i: (i - 1,), lambda x: (3,), tuple, [0]),
]


@pytest.mark.parametrize("case", range(len(WHILE_CASES)))
def test_while_loop_values_and_gradients_match_torch(case):
    (e_type, e_values, e_grad), (t_type, t_values, t_grad) = (
        _run_while(lib, *WHILE_CASES[case]) for lib in (ember, torch))
    assert e_type.__name__ == t_type.__name__
    for e, t in zip(e_values, t_values, strict=True):
        np.testing.assert_allclose(e, t, rtol=1.3e-6, atol=1e-5)
    np.testing.assert_allclose(e_grad, t_grad, rtol=1.3e-6, atol=1e-5)


@pytest.mark.parametrize("case", range(len(WHILE_EXPECTED)))
def test_while_loop_results(case):
    cond_fn, body_fn, carried, kind, expected = WHILE_EXPECTED[case]
    x = ember.tensor(X)
    out = ember.while_loop(cond_fn, body_fn, carried(x))
    assert type(out) is kind
    leaves = [out] if isinstance(out, ember.Tensor) else list(out)
    for value, want in zip(leaves, expected, strict=True):
        np.testing.assert_allclose(np.asarray(value.numpy() if isinstance(value, ember.Tensor)
                                              else value), want, rtol=1.3e-6)
    if expected and isinstance(leaves[-1], ember.Tensor) and leaves[-1].dim():
        assert leaves[-1] is not x  # no iteration still gives copies, as torch


def test_while_loop_gradcheck():
    x = ember.tensor(X.astype(np.float64), requires_grad=True)
    assert ember.autograd.gradcheck(lambda a: ember.while_loop(
        lambda i, v: i < 3, lambda i, v: (i + 1, v.sin() * 1.5), (0, a))[1], (x,))


WHILE_ERRORS_VS_TORCH = [
    lambda lib: lib.while_loop(1, lambda i: (i + 1,), (lib.tensor(0),)),
    lambda lib: lib.while_loop(lambda i: i < 3, lambda i: (i + 1,), (1.5,)),
    lambda lib: lib.while_loop(lambda i: i < 3, lambda i: ((i + 1).float(),), (lib.tensor(0),)),
    lambda lib: lib.while_loop(lambda i: i < 3, lambda i: (i,), (lib.tensor(5),)),
]


@pytest.mark.parametrize("case", range(len(WHILE_ERRORS_VS_TORCH)))
def test_while_loop_errors_match_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e_error, t_error = check_raises(WHILE_ERRORS_VS_TORCH[case])
    ours = str(e_error).replace("ember._tensor", "torch")
    assert str(t_error).split("\n")[0].split(" but")[0] in ours
    for phrase in ("Encountered aliasing", "same metadata", "'dtype: torch.float32 vs"):
        assert (phrase in str(t_error)) == (phrase in ours)


WHILE_ERRORS = [  # (call, what torch 2.13's message says)
    (lambda: ember.while_loop(lambda i: i < 3, lambda i: (i + 1,), ("a",)),
     "can only be of (<class 'torch.Tensor'>, <class 'int'>, <class 'torch.SymInt'>)"),
    (lambda: ember.while_loop(lambda i: (i < 3).float(), lambda i: (i + 1,),
                              (ember.tensor(0),)), "boolean scalar tensor or a bool"),
    (lambda: ember.while_loop(lambda i: ember.tensor([True]), lambda i: (i + 1,),
                              (ember.tensor(0),)), "boolean scalar tensor or a bool"),
    (lambda: ember.while_loop(lambda i: i < 3, lambda i: ((i + 1).expand(2),),
                              (ember.tensor(0),)),
     "pair[0] differ in 'shape: torch.Size([2]) vs torch.Size([])', 'stride: (0,) vs ()'"),
    (lambda: ember.while_loop(lambda i: i < 3, lambda i: (i + 1, i + 2), (ember.tensor(0),)),
     "Expected body_fn_output and carried_inputs to have same number of outputs"),
    (lambda: ember.while_loop(lambda i, j: i < 3, lambda i, j: (i + 1,),
                              (ember.tensor(0), ember.tensor(1))),
     "Expected body_fn_output and carried_inputs to have same number of outputs"),
    (lambda: ember.while_loop(lambda i: i < 3, lambda i: (ember.tensor(i + 1),), (0,)),
     "pair[0] differ in type"),
    (lambda: ember.while_loop(lambda i: i < 3, lambda i: (int(i) + 1,), (ember.tensor(0),)),
     "pair[0] differ in type"),
    (lambda: ember.while_loop(lambda i: i.sum() < 3, lambda i: ((i + 1).t().contiguous().t(),),
                              (ember.zeros(2, 3),)), "pair[0] differ in 'stride"),
    (lambda: ember.while_loop(lambda i: i < 3, lambda i: (i + 1, i), (ember.tensor(0),)),
     "Encountered aliasing during higher order op tracing"),
    (lambda: ember.while_loop(lambda i: i < 0, lambda i: (i,), (ember.tensor(0),)),
     "Encountered aliasing during higher order op tracing"),
    (lambda: ember.while_loop(lambda i: i < 3, lambda i: (i.add_(1),), (ember.tensor(0),)),
     "Encountered input mutation during higher order op tracing"),
]


@pytest.mark.parametrize("case", range(len(WHILE_ERRORS)))
def test_while_loop_errors(case):
    call, message = WHILE_ERRORS[case]
    expected = AssertionError if "can only be" in message else RuntimeError
    with pytest.raises(expected, match=re.escape(message)):
        call()
