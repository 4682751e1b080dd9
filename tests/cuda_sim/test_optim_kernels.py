"""The fused optimizer kernels (src/ember/optim/_fused_cuda.py) against torch: Adam and
AdamW in each variant and SGD with momentum, several steps over a flat group of small
parameters, with the kernels' launches checked. On CI their CUDA C++ runs on the CPU
through the CuPy double (g++)."""

import numpy as np
import pytest
import torch

import ember

SHAPES = [(6, 5), (5,), (3, 4, 2)]




def _run(name, kwargs, dtype, steps=4):
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(shape) for shape in SHAPES]
    grads = [[rng.standard_normal(shape) for shape in SHAPES] for _ in range(steps)]
    torch_dtype, ember_dtype = getattr(torch, dtype), getattr(ember, dtype)
    theirs = [torch.tensor(v, dtype=torch_dtype, requires_grad=True) for v in values]
    mine = [ember.tensor(v, dtype=ember_dtype, device="cuda", requires_grad=True)
            for v in values]
    torch_opt = getattr(torch.optim, name)(theirs, **kwargs)
    ember_opt = getattr(ember.optim, name)(mine, **kwargs)
    for step_grads in grads:
        for t, e, g in zip(theirs, mine, step_grads):
            t.grad = torch.tensor(g, dtype=torch_dtype)
            e.grad = ember.tensor(g, dtype=ember_dtype, device="cuda")
        torch_opt.step()
        ember_opt.step()
    for t, e in zip(theirs, mine):
        torch.testing.assert_close(torch.from_numpy(e.detach().cpu().numpy()), t.detach())
    for t, e in zip(theirs, mine):
        for key, value in torch_opt.state[t].items():
            if key != "step":
                torch.testing.assert_close(
                    torch.from_numpy(ember_opt.state[e][key].cpu().numpy()), value)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", [
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "betas": (0.3, 0.9), "maximize": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.01, "amsgrad": True}),
])
def test_fused_adam_matches_torch(launched_kernels, dtype, name, kwargs):
    _run(name, kwargs, dtype)
    kernel = "ember_adam_amsgrad" if kwargs.get("amsgrad") else "ember_adam"
    assert launched_kernels.count(kernel) == 4  # one launch per step for the whole flat group


@pytest.mark.parametrize("kwargs", [
    {"lr": 0.1, "momentum": 0.9},
    {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    {"lr": 0.1, "momentum": 0.5, "dampening": 0.3, "maximize": True},
])
def test_fused_sgd_matches_torch(launched_kernels, kwargs):
    _run("SGD", kwargs, "float32")
    assert launched_kernels.count("ember_sgd_momentum") == 3  # the first step creates the buffer


def test_a_tensor_learning_rate_takes_the_array_path(launched_kernels):
    param = ember.ones(3, device="cuda", requires_grad=True)
    param.grad = ember.ones(3, device="cuda")
    ember.optim.Adam([param], lr=ember.tensor(0.1)).step()
    assert "ember_adam" not in launched_kernels
    np.testing.assert_allclose(param.detach().cpu().numpy(), 0.9, rtol=1e-6)
