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
