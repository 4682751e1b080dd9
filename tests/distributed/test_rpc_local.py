"""ember.distributed.rpc on one worker in this process (no launch): errors before init,
the options' defaults, calls to itself, and distributed autograd of a local graph against
torch's autograd. The three-worker cases are in test_rpc.py."""

import pytest
import torch

import ember
import ember.distributed.autograd as dist_autograd
import ember.distributed.rpc as rpc

from .conftest import free_port


def test_options_and_errors_before_init():
    mine, theirs = rpc.TensorPipeRpcBackendOptions(), torch.distributed.rpc \
        .TensorPipeRpcBackendOptions()
    assert (mine.num_worker_threads, mine.rpc_timeout, mine.init_method) == \
        (theirs.num_worker_threads, theirs.rpc_timeout, theirs.init_method)
    assert rpc.is_available()
    text = "RPC has not been initialized. Call torch.distributed.rpc.init_rpc first."
    with pytest.raises(RuntimeError, match="RPC has not been initialized") as raised:
        rpc.rpc_sync("me", ember.add, args=(1, 2))
    assert str(raised.value) == text
    with pytest.raises(RuntimeError, match="RPC has not been initialized"):
        rpc.get_worker_info()


@pytest.fixture
def solo():
    options = rpc.TensorPipeRpcBackendOptions(init_method=f"tcp://127.0.0.1:{free_port()}",
                                              num_worker_threads=2, rpc_timeout=10)
    rpc.init_rpc("solo", rank=0, world_size=1, rpc_backend_options=options)
    try:
        yield
    finally:
        rpc.shutdown()


def test_self_calls_and_autograd(solo):
    with pytest.raises(RuntimeError, match="RPC is already initialized"):
        rpc.init_rpc("again", rank=0, world_size=1)
    assert repr(rpc.get_worker_info()) == "WorkerInfo(id=0, name=solo)"
    assert rpc.get_worker_info(0) == rpc.get_worker_info("solo")
    assert rpc.rpc_sync("solo", ember.add, args=(ember.ones(2), 1)).tolist() == [2.0, 2.0]
    with pytest.raises(AttributeError, match="Can't pickle local object"):
        rpc.rpc_sync("solo", lambda: 1)  # as torch's pickler: functions go by reference
    rref = rpc.remote("solo", ember.zeros, args=(3,))
    assert rref.is_owner() and rref.to_here().tolist() == [0.0] * 3
    assert rref.local_value() is rref.to_here()

    values = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]
    weight = ember.tensor(values, dtype=ember.float64, requires_grad=True)
    expected = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    with dist_autograd.context() as context_id:
        # a call to itself inside the context: its output joins the graph
        scaled = rpc.rpc_sync("solo", ember.mul, args=(weight, 3.0))
        loss = (ember.sin(scaled) * weight).sum()
        dist_autograd.backward(context_id, [loss], retain_graph=True)
        dist_autograd.backward(context_id, [loss])  # accumulates, as torch's
        grads = dist_autograd.get_gradients(context_id)
    (torch.sin(expected * 3.0) * expected).sum().mul(2).backward()
    assert weight.grad is None
    torch.testing.assert_close(torch.from_numpy(grads[weight].numpy()), expected.grad)
    with pytest.raises(RuntimeError, match=f"Could not find autograd context with id: "
                                           f"{context_id}"):
        dist_autograd.get_gradients(context_id)
