"""Optimizers on cuda take the flat (one update per group) path for parameters far above
the CPU's 4096-element limit; the values must not change."""

import numpy as np
import pytest

import ember
from ember.optim import _flat


@pytest.mark.parametrize("make", [
    lambda p: ember.optim.Adam(p, lr=0.01, weight_decay=0.1),
    lambda p: ember.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    lambda p: ember.optim.AdamW(p, lr=0.01, amsgrad=True),
])
def test_large_cuda_parameters_update_flat_as_on_cpu(make):
    rng = np.random.default_rng(0)
    shapes = [(80, 100), (100,), (3, 7)]  # 8000 elements: per-parameter on the cpu
    values = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(3)]
    results = {}
    for device in ("cpu", "cuda"):
        params = [ember.tensor(v, device=device, requires_grad=True) for v in values]
        optimizer = make(params)
        for step_grads in grads:
            for p, g in zip(params, step_grads):
                p.grad = ember.tensor(g, device=device)
            optimizer.step()
        results[device] = [p.detach().cpu().numpy() for p in params]
        if device == "cuda":
            flat = optimizer._flat_groups[0]
            assert flat is not None and len(flat.params) == 3
            # the per-parameter state is a view of the flat buffer, with the param's shape
            state = next(v for v in optimizer.state[params[0]].values() if v.dim())
            assert state.shape == params[0].shape and state.device.type == "cuda"
    assert values[0].size > _flat._FLAT_NUMEL_LIMIT
    for cpu, cuda in zip(results["cpu"], results["cuda"]):
        np.testing.assert_allclose(cuda, cpu, rtol=1e-5, atol=1e-6)


def test_flat_scatter_is_one_kernel_and_follows_replaced_parameter_data(launched_kernels):
    """The gathers of the parameters and gradients into the flat buffers and the scatter
    back are one launch each through a table of their data pointers; a parameter whose
    data is replaced (``p.data = ...``) gets the update in its new array, and a
    non-contiguous one falls back to per-parameter copies."""
    names = launched_kernels
    params = [ember.zeros(4, 3, device="cuda", requires_grad=True),
              ember.zeros(5, device="cuda", requires_grad=True)]
    optimizer = ember.optim.SGD(params, lr=1.0)
    for p in params:
        p.grad = ember.ones(p.shape, device="cuda")
    optimizer.step()
    assert names.count("ember_multi_tensor_scatter") == 1
    assert names.count("ember_multi_tensor_gather") == 2  # the params, then the grads
    assert (params[0].detach().cpu().numpy() == -1).all()
    assert (params[1].detach().cpu().numpy() == -1).all()
    params[1].data = ember.full((5,), 10.0, device="cuda")
    optimizer.step()
    assert names.count("ember_multi_tensor_scatter") == 2
    np.testing.assert_array_equal(params[1].detach().cpu().numpy(), [9.0] * 5)
    np.testing.assert_array_equal(params[0].detach().cpu().numpy(), np.full((4, 3), -2.0))
    params[0].data = ember.zeros(3, 4, device="cuda").t()  # not contiguous
    optimizer.step()
    assert names.count("ember_multi_tensor_scatter") == 2
    assert names.count("ember_multi_tensor_gather") == 5  # the transposed param: concatenate
    np.testing.assert_array_equal(params[0].detach().cpu().numpy(), np.full((4, 3), -1.0))
    np.testing.assert_array_equal(params[1].detach().cpu().numpy(), [8.0] * 5)
