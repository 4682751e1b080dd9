"""ember.nested against torch.nested (2.13), both layouts: values and shapes of the
entries and of the padded result, gradients of the tensors the entries came from, and
PyTorch's errors where the layouts refuse an op."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

import ember
from ember import overrides
from ember.nested import _nested_tensor

RNG = np.random.default_rng(0)
LAYOUTS = ["strided", "jagged"]


@pytest.fixture(autouse=True, scope="module")
def _protocol_off_afterwards():
    """Building a NestedTensor installs the __torch_function__ dispatch (F.linear and
    friends take one); leave ember as the other test modules expect it."""
    yield
    overrides._uninstall()
    _nested_tensor._DISPATCH_ON[0] = False


def _arrays(*shapes):
    return [RNG.standard_normal(s).astype(np.float32) for s in shapes]


def _build(lib, arrays, layout, leaf):
    """(nested tensor, the tensors gradients are checked on)."""
    tensors = [lib.tensor(a, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that nested tensors are a prototype
        if leaf:
            nt = lib.nested.nested_tensor(tensors, layout=getattr(lib, layout),
                                          requires_grad=True)
            return nt, nt
        return lib.nested.as_nested_tensor(tensors, layout=getattr(lib, layout)), tensors


def _grads(lib, owner):
    if isinstance(owner, list):
        return [None if t.grad is None else t.grad.numpy() for t in owner]
    if owner.grad is None:
        return None
    return [g.numpy() for g in owner.grad.unbind()]


def _assert_close(a, b):
    np.testing.assert_allclose(a, b, rtol=1.3e-6 * 10, atol=1e-5)


def _check(fn, shapes, layout, leaf=False, padded=True, backward=True):
    arrays = _arrays(*shapes)
    results = {}
    for lib in (ember, torch):
        lib.manual_seed(0)
        nt, owner = _build(lib, arrays, layout, leaf)
        out = fn(lib, nt)
        entries = out.unbind() if getattr(out, "is_nested", False) else [out]
        dense = lib.nested.to_padded_tensor(out, 0.0) if padded and out.is_nested else None
        if backward:
            target = dense if dense is not None else out
            weight = lib.tensor(np.linspace(-1, 1, target.numel(), dtype=np.float32)
                                .reshape(tuple(target.shape)))
            (target * weight).sum().backward()
        results[lib.__name__] = ([e.detach().numpy() for e in entries],
                                 None if dense is None else dense.detach().numpy(),
                                 _grads(lib, owner) if backward else [])
    ours, theirs = results["ember"], results["torch"]
    assert [e.shape for e in ours[0]] == [e.shape for e in theirs[0]]
    for a, b in zip(ours[0], theirs[0]):
        _assert_close(a, b)
    if ours[1] is not None:
        assert ours[1].shape == theirs[1].shape
        _assert_close(ours[1], theirs[1])
    assert (ours[2] is None) == (theirs[2] is None)
    for a, b in zip(ours[2] or [], theirs[2] or []):
        assert (a is None) == (b is None)
        if a is not None:
            _assert_close(a, b)


W = _arrays((5, 3), (5,), (3, 6))


def _linear(lib, nt):
    return lib.nn.functional.linear(nt, lib.tensor(W[0]), lib.tensor(W[1]))


# (name, fn, layouts torch supports it on, whether torch has its backward)
CASES = [
    ("identity", lambda lib, nt: nt, LAYOUTS),
    ("pointwise", lambda lib, nt: (nt * 2 + 1).relu() - nt / 3, LAYOUTS),
    ("nested_binary", lambda lib, nt: nt * nt.sigmoid() + nt.tanh(), ["jagged"]),
    ("unary_fns", lambda lib, nt: lib.nn.functional.gelu(lib.exp(nt)), ["jagged"]),
    ("linear", _linear, LAYOUTS),
    ("linear_nobias", lambda lib, nt: lib.nn.functional.linear(nt, lib.tensor(W[0])),
     LAYOUTS),
    ("softmax_last", lambda lib, nt: lib.nn.functional.softmax(nt, dim=-1), LAYOUTS),
    ("softmax_ragged", lambda lib, nt: nt.softmax(1), ["strided"]),
    ("matmul_dense", lambda lib, nt: nt @ lib.tensor(W[2]), ["jagged"]),
    ("sum_last_keepdim", lambda lib, nt: nt.sum(-1, keepdim=True), ["strided"]),
    ("add_dense", lambda lib, nt: nt + lib.tensor(W[1][:3]), ["jagged"]),
]


@pytest.mark.parametrize("leaf", [False, True], ids=["as_nested", "leaf"])
@pytest.mark.parametrize("name,fn,layout",
                         [(n, f, lay) for n, f, lays in CASES for lay in lays],
                         ids=[f"{n}-{lay}" for n, _, lays in CASES for lay in lays])
def test_ops_match_torch(name, fn, layout, leaf):
    _check(fn, [(2, 3), (4, 3), (1, 3)], layout, leaf)


# torch 2.13 has no backward for sums of jagged tensors (aten._nested_sum_backward): the
# forward values are compared
SUMS = [
    ("sum_last_keepdim", lambda lib, nt: nt.sum(-1, keepdim=True)),
    ("sum_last", lambda lib, nt: nt.sum(-1)),
    ("sum_ragged", lambda lib, nt: nt.sum(1)),
]


def test_narrow_matches_torch():
    # torch: no derivative for narrow of a nested tensor, and the narrowed one is not
    # contiguous, so it cannot be padded: the entries are compared
    _check(lambda lib, nt: nt.narrow(0, 1, 2), [(2, 3), (4, 3), (1, 3)], "strided",
           padded=False, backward=False)
    _check(lambda lib, nt: nt.narrow(2, 1, 2), [(2, 3), (4, 3), (1, 3)], "jagged",
           padded=False, backward=False)


@pytest.mark.parametrize("name,fn", SUMS, ids=[s[0] for s in SUMS])
def test_jagged_sums_match_torch(name, fn):
    _check(fn, [(2, 3), (4, 3), (1, 3)], "jagged", backward=False)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_structure(layout):
    arrays = _arrays((2, 3), (4, 3))
    for lib in (ember, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nt = lib.nested.nested_tensor([lib.tensor(a) for a in arrays],
                                          layout=getattr(lib, layout))
        assert nt.is_nested and nt.dim() == 3 and nt.layout == getattr(lib, layout)
        assert (nt.size(0), nt.size(2), nt.size(-1)) == (2, 3, 3)
        assert nt.dtype == lib.float32 and nt.is_leaf and not nt.requires_grad
        padded = lib.nested.to_padded_tensor(nt, -1.0)
        np.testing.assert_array_equal(padded[0, 2:].numpy(), -np.ones((2, 3), np.float32))
    ours = ember.nested.to_padded_tensor(
        ember.nested.nested_tensor([ember.tensor(a) for a in arrays]), 2.0, (2, 5, 4))
    theirs = torch.nested.to_padded_tensor(
        torch.nested.nested_tensor([torch.tensor(a) for a in arrays]), 2.0, (2, 5, 4))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_from_jagged_values_and_offsets():
    values = _arrays((6, 3))[0]
    for lib in (ember, torch):
        offsets = lib.tensor([0, 2, 6])
        nt = lib.nested.nested_tensor_from_jagged(lib.tensor(values), offsets)
        assert [tuple(t.shape) for t in nt.unbind()] == [(2, 3), (4, 3)]
        np.testing.assert_array_equal(nt.unbind()[1].numpy(), values[2:])
        assert nt.offsets().tolist() == [0, 2, 6]
        np.testing.assert_array_equal(nt.values().numpy(), values)
    nt = ember.nested.as_nested_tensor([ember.ones(2, 3), ember.ones(1, 3)],
                                       layout=ember.jagged)
    assert nt.offsets().tolist() == [0, 2, 3] and tuple(nt.values().shape) == (3, 3)


def test_as_nested_tensor_of_a_tensor_and_dtype():
    for lib in (ember, torch):
        nt = lib.nested.as_nested_tensor(lib.ones(3, 2, 4))
        assert nt.layout == lib.strided and nt.size(0) == 3 and nt.size(1) == 2
        assert lib.nested.as_nested_tensor([lib.ones(2, 3)], dtype=lib.float64).dtype == \
            lib.float64


ERRORS = [
    ("size_ragged", lambda lib, nt: nt.size(1), ["strided"]),
    ("size_all", lambda lib, nt: nt.size(), ["strided"]),
    ("sum_not_last", lambda lib, nt: nt.sum(1), ["strided"]),
    ("sum_no_keepdim", lambda lib, nt: nt.sum(-1), ["strided"]),
    ("sum_batch", lambda lib, nt: nt.sum(0), LAYOUTS),
    ("narrow_inner", lambda lib, nt: nt.narrow(2, 0, 1), ["strided"]),
    ("narrow_batch", lambda lib, nt: nt.narrow(0, 0, 1), ["jagged"]),
    ("narrow_ragged", lambda lib, nt: nt.narrow(1, 0, 1), ["jagged"]),
    ("softmax_batch", lambda lib, nt: nt.softmax(0), LAYOUTS),
    ("matmul_dense", lambda lib, nt: nt @ lib.ones(3, 2), ["strided"]),
    ("add_dense", lambda lib, nt: nt + lib.ones(3), ["strided"]),
    ("add_mismatch", lambda lib, nt: nt + lib.nested.nested_tensor(
        [lib.ones(2, 3)], layout=nt.layout), LAYOUTS),
    ("linear_mismatch", lambda lib, nt: lib.nn.functional.linear(nt, lib.ones(5, 4)),
     LAYOUTS),
]


@pytest.mark.parametrize("name,fn,layout",
                         [(n, f, lay) for n, f, lays in ERRORS for lay in lays],
                         ids=[f"{n}-{lay}" for n, _, lays in ERRORS for lay in lays])
def test_errors_match_torch(name, fn, layout):
    messages = []
    for lib in (ember, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nt = lib.nested.nested_tensor([lib.ones(2, 3), lib.ones(4, 3)],
                                          layout=getattr(lib, layout))
            with pytest.raises(RuntimeError) as info:
                fn(lib, nt)
        # torch numbers ragged dims with a process-wide counter (j1, j27, ...)
        messages.append(re.sub(r"j\d+", "j", str(info.value)))
    assert messages[0] == messages[1]


def test_mixed_dims_rejected_as_torch():
    messages = []
    for lib in (ember, torch):
        with pytest.raises(RuntimeError) as info:
            lib.nested.nested_tensor([lib.ones(2, 3), lib.ones(3)])
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_jagged_repr():
    nt = ember.nested.nested_tensor([ember.ones(1, 2)], layout=ember.jagged)
    assert repr(nt) == "NestedTensor(size=(1, j1, 2), offsets=tensor([0, 1]), contiguous=True)"
