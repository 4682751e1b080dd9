"""Distributed checkpoints of cuda state: tensors are written from host copies (the files
say "cpu", as PyTorch's writer leaves them), loads fill cuda tensors in place, and
``cpu_offload`` state dicts come back on the host. Run on the CuPy double in CI and on
real CuPy by scripts/gpu_check.sh (tests/distributed/test_checkpoint*.py compare with
torch)."""

import warnings

import pytest
import torch
import torch.distributed.checkpoint as tdcp

import ember
import ember.distributed.checkpoint as dcp
from ember.distributed.checkpoint import state_dict as dsd


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        yield


def test_cuda_state_round_trips_and_torch_reads_it(tmp_path):
    model = ember.nn.Linear(3, 2).to("cuda")
    optim = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(ember.ones(4, 3, device="cuda")).sum().backward()
    optim.step()
    saved_model, saved_optim = dsd.get_state_dict(model, optim)
    dcp.save({"model": saved_model, "optim": saved_optim}, checkpoint_id=tmp_path)

    state = {"model": {"weight": torch.zeros(2, 3), "bias": torch.zeros(2)}}
    tdcp.load(state, checkpoint_id=tmp_path,
              planner=tdcp.DefaultLoadPlanner(allow_partial_load=True))
    assert state["model"]["weight"].tolist() == model.weight.cpu().tolist()

    fresh = ember.nn.Linear(3, 2).to("cuda")
    fresh_optim = ember.optim.SGD(fresh.parameters(), lr=0.5, momentum=0.9)
    weight = fresh.weight
    model_sd, optim_sd = dsd.get_state_dict(fresh, fresh_optim)  # creates optimizer state
    loaded = {"model": model_sd, "optim": optim_sd}
    dcp.load(loaded, checkpoint_id=tmp_path)
    dsd.set_state_dict(fresh, fresh_optim, model_state_dict=loaded["model"],
                       optim_state_dict=loaded["optim"])
    assert fresh.weight is weight and fresh.weight.device.type == "cuda"
    assert fresh.weight.cpu().tolist() == model.weight.cpu().tolist()
    buffer = fresh_optim.state[fresh.weight]["momentum_buffer"]
    assert buffer.device.type == "cuda"
    assert buffer.cpu().tolist() == optim.state[model.weight]["momentum_buffer"].cpu().tolist()

    offloaded = dsd.get_model_state_dict(fresh, options=dsd.StateDictOptions(cpu_offload=True))
    assert {value.device.type for value in offloaded.values()} == {"cpu"}
