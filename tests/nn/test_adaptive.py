"""AdaptiveLogSoftmaxWithLoss against PyTorch: same weights give the same per-row output,
loss, gradients, full log_prob and predict; parameter names and init shapes; errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import oracle
from oracle import assert_same

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


CONFIG = {"in_features": 16, "n_classes": 20, "cutoffs": [4, 10, 15], "div_value": 2.0}


def _pair(head_bias):
    torch.manual_seed(0)
    t_mod = torch.nn.AdaptiveLogSoftmaxWithLoss(**CONFIG, head_bias=head_bias)
    e_mod = ember.nn.AdaptiveLogSoftmaxWithLoss(**CONFIG, head_bias=head_bias)
    e_mod.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_mod.state_dict().items()})
    return e_mod, t_mod


@pytest.mark.parametrize("head_bias", [False, True])
def test_forward_backward_log_prob_predict_match_torch(head_bias):
    e_mod, t_mod = _pair(head_bias)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 16)).astype(np.float32)
    target = np.array([0, 3, 4, 9, 10, 14, 15, 19, 2, 12, 17, 5])
    e_x = ember.tensor(x, requires_grad=True)
    t_x = torch.tensor(x, requires_grad=True)
    e_out, t_out = e_mod(e_x, ember.tensor(target)), t_mod(t_x, torch.tensor(target))
    assert_same(e_out.output, t_out.output)
    assert_same(e_out.loss, t_out.loss)
    e_out.loss.backward()
    t_out.loss.backward()
    assert_same(e_x.grad, t_x.grad)
    t_params = dict(t_mod.named_parameters())
    for name, e_param in e_mod.named_parameters():
        assert_same(e_param.grad, t_params[name].grad, what=name)
    with torch.no_grad(), ember.no_grad():
        assert_same(e_mod.log_prob(e_x), t_mod.log_prob(t_x))
        assert ember.equal(e_mod.predict(e_x), ember.tensor(t_mod.predict(t_x).numpy()))


def test_unbatched_input_and_state_dict_layout():
    e_mod, t_mod = _pair(False)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    assert [tuple(p.shape) for p in e_mod.parameters()] == \
        [tuple(p.shape) for p in t_mod.parameters()]
    x = np.random.default_rng(1).standard_normal(16).astype(np.float32)
    e_out = e_mod(ember.tensor(x), ember.tensor(12))
    t_out = t_mod(torch.tensor(x), torch.tensor(12))
    assert e_out.output.shape == t_out.output.shape == ()
    assert_same(e_out.output, t_out.output)


@pytest.mark.parametrize("cutoffs", [[], [4, 4], [10, 4], [0, 4], [4, 20], [4.5]])
def test_bad_cutoffs_raise_value_error(cutoffs):
    messages = []
    for lib in (torch, ember):
        with pytest.raises(ValueError) as info:
            lib.nn.AdaptiveLogSoftmaxWithLoss(16, 20, cutoffs)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("x_shape,target", [
    ((3, 16), [1, 2]), ((3, 4, 16), [[1]]), ((16,), [1, 2, 3]), ((2, 16), [1, 20]),
    ((2, 16), [-1, 3]),
])
def test_bad_inputs_raise_torch_errors(x_shape, target):
    e_mod, t_mod = _pair(False)
    x = np.zeros(x_shape, np.float32)
    messages = []
    for lib, mod in ((torch, t_mod), (ember, e_mod)):
        with pytest.raises(RuntimeError) as info:
            mod(lib.tensor(x), lib.tensor(target))
        messages.append(str(info.value).replace("torch.Size", "Size"))
    assert messages[0] == messages[1].replace("ember.Size", "Size")


def test_nll_loss_2d_is_nll_loss():
    logp = torch.randn(2, 3, 4, 4).log_softmax(1)
    target = torch.randint(0, 3, (2, 4, 4))
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated"):
        e_loss = ember.nn.NLLLoss2d()
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated"):
        t_loss = torch.nn.NLLLoss2d()
    assert_same(e_loss(ember.tensor(logp.numpy()), ember.tensor(target.numpy())),
                t_loss(logp, target))
    assert issubclass(ember.nn.NLLLoss2d, ember.nn.NLLLoss)
