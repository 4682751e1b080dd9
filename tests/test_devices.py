"""Device plumbing, parametrised over the devices this machine has: cpu always, cuda
when CuPy sees a GPU (scripts/gpu_check.sh runs this file on a GPU machine)."""

import io

import numpy as np
import pytest
import torch

import ember
from oracle import as_numpy

DEVICES = ["cpu"] + (["cuda"] if ember.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_creation_and_ops_stay_on_device(device):
    x = ember.randn(3, 4, device=device)
    y = ember.ones(4, device=device)
    z = (x * y).sum(dim=1).exp()
    assert z.device == ember.device(device if device == "cpu" else "cuda:0")
    assert z.device.type == device
    assert ember.zeros_like(z).device == z.device
    back = z.cpu()
    assert back.device.type == "cpu"
    np.testing.assert_allclose(as_numpy(back), np.exp(as_numpy(x.cpu()).sum(1)), rtol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_module_to_device_trains_like_torch_on_cpu(device):
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    emodel = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.Tanh(), ember.nn.Linear(8, 2))
    emodel.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tmodel.state_dict().items()})
    emodel.to(device)
    assert all(p.device.type == device for p in emodel.parameters())
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    target = np.array([0, 1, 1, 0, 1])
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.9)
    eopt = ember.optim.SGD(emodel.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        for lib, model, opt in ((torch, tmodel, topt), (ember, emodel, eopt)):
            dev = device if lib is ember else "cpu"
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(
                model(lib.tensor(x).to(dev)), lib.tensor(target).to(dev))
            loss.backward()
            opt.step()
    for (name, ep), tp in zip(emodel.state_dict().items(), tmodel.state_dict().values()):
        np.testing.assert_allclose(as_numpy(ep.cpu()), tp.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=name)


@pytest.mark.parametrize("device", DEVICES)
def test_save_on_device_load_on_cpu(device):
    state = {"w": ember.arange(6.0, device=device).reshape(2, 3)}
    buffer = io.BytesIO()
    ember.save(state, buffer)
    buffer.seek(0)
    loaded = ember.load(buffer, map_location="cpu")
    assert loaded["w"].device.type == "cpu"
    assert loaded["w"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def test_cuda_without_gpu_is_a_clear_error_or_works():
    if ember.cuda.is_available():
        assert ember.ones(2, device="cuda").device.type == "cuda"
    else:
        with pytest.raises(RuntimeError, match="CUDA"):
            ember.ones(2, device="cuda")
        with pytest.raises(RuntimeError, match="CUDA"):
            ember.ones(2).cuda()
