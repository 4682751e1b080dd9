"""torch.autograd.Variable as old scripts use it, against torch."""

import pytest
import torch

import ember


def _variable_facts(lib):
    data = lib.ones(2)
    v = lib.autograd.Variable(data, requires_grad=True)
    shares = v.data_ptr() == data.data_ptr()
    plain = lib.autograd.Variable(data)
    derived = lib.autograd.Variable(v * 2)
    (v * 3).sum().backward()
    return [v is data, shares, v.requires_grad, data.requires_grad, v.is_leaf,
            plain is data, plain.requires_grad, derived.requires_grad, derived.is_leaf,
            derived.grad_fn is None, isinstance(data, lib.autograd.Variable),
            isinstance(1.0, lib.autograd.Variable), v.grad.tolist()]


def test_variable_like_torch():
    assert _variable_facts(ember) == _variable_facts(torch)


def test_variable_errors_and_volatile():
    for lib in (ember, torch):
        with pytest.raises(TypeError, match="Variable data has to be a tensor, but got list"):
            lib.autograd.Variable([1, 2])
        with pytest.warns(UserWarning, match="volatile was removed"):
            out = lib.autograd.Variable(lib.zeros(2), volatile=True)
        assert out.tolist() == [0.0, 0.0]
