"""CUDA behaviours PyTorch scripts rely on beyond plain ops: writes across devices,
gradient clipping, pinned memory, checkpoints that remember their device, the current
device. Run on the CuPy double in CI and on real CuPy by scripts/gpu_check.sh."""

import io
import re

import numpy as np
import pytest
import torch

import ember

SAME_DEVICE = "Expected all tensors to be on the same device, but found at least two devices"


def _last():
    return ember.cuda.device_count() - 1


# -- x[i] = v across devices ----------------------------------------------------------------


MASK = [[True, False, True], [False, True, False]]


@pytest.mark.parametrize("write, index_from_other", [
    (lambda x, d: x.__setitem__(0, ember.ones(3, device=d)), False),
    (lambda x, d: x.__setitem__((slice(None), 1), ember.arange(2.0, device=d)), False),
    (lambda x, d: x.__setitem__(1, ember.tensor(5.0, device=d)), False),
    (lambda x, d: x.__setitem__(ember.tensor([1]), ember.tensor(2.5, device=d)), False),
    (lambda x, d: x.__setitem__(x > 0.5, ember.tensor(9.0, device=d)), False),
    (lambda x, d: x.__setitem__(ember.tensor([0, 1], device=d), 7.0), True),
    (lambda x, d: x.__setitem__(ember.tensor(MASK, device=d), ember.tensor(-1.0, device=d)),
     True),
], ids=["row", "column-broadcast", "0d", "0d-into-index", "0d-into-mask", "index-from-other",
        "mask-from-other"])
@pytest.mark.parametrize("target, other", [("cuda", "cpu"), ("cpu", "cuda")])
def test_setitem_takes_values_and_indices_from_the_other_device(write, index_from_other, target,
                                                                other):
    """PyTorch copies a basic write's value across devices (copy_), takes 0-d values of any
    device as scalars, and takes cpu indices (and masks) for a cuda tensor; cuda indices
    into a cpu tensor raise."""
    expected, actual = ember.zeros(2, 3), ember.zeros(2, 3, device=target)
    if index_from_other and target == "cpu":
        with pytest.raises(RuntimeError, match="indices should be either on cpu or on the "
                                               "same device as the indexed tensor \\(cpu\\)"):
            write(actual, other)
        return
    write(expected, "cpu")
    write(actual, other)
    assert actual.device.type == target
    np.testing.assert_array_equal(actual.cpu().numpy(), expected.numpy())


def test_setitem_rules_that_raise_like_torch():
    gpu = ember.zeros(2, 3, device="cuda")
    with pytest.raises(RuntimeError, match=re.escape(f"{SAME_DEVICE}, cuda:0 and cpu!")):
        gpu[ember.tensor([0, 1], device="cuda")] = ember.ones(2, 3)  # index_put_ of a 2-d cpu value
    with pytest.raises(RuntimeError, match=re.escape(f"{SAME_DEVICE}, cuda:0 and cpu!")):
        gpu[ember.tensor([[True] * 3, [False] * 3])] = ember.ones(3)  # a mask's 1-d cpu value


def test_setitem_across_devices_carries_the_gradient_back():
    value = ember.ones(3, requires_grad=True)  # cpu leaf
    target = ember.zeros(2, 3, device="cuda", requires_grad=True).clone()
    target[1] = value * 2
    (target * ember.arange(6.0, device="cuda").view(2, 3)).sum().backward()
    assert value.grad.device.type == "cpu"
    np.testing.assert_array_equal(value.grad.numpy(), [6.0, 8.0, 10.0])


# -- gradient clipping ----------------------------------------------------------------------


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3.0])
def test_clip_grad_norm_returns_the_total_on_the_grads_device(norm_type):
    results = {}
    for device in ("cpu", "cuda"):
        ember.manual_seed(0)
        model = ember.nn.Sequential(ember.nn.Linear(5, 4), ember.nn.Linear(4, 2)).to(device)
        model(ember.randn(3, 5).to(device)).pow(2).sum().backward()
        total = ember.nn.utils.clip_grad_norm_(model.parameters(), 0.5, norm_type=norm_type)
        assert total.device.type == device and total.dtype == ember.float32
        results[device] = (total, [p.grad for p in model.parameters()])
    np.testing.assert_allclose(results["cuda"][0].item(), results["cpu"][0].item(), rtol=1e-5)
    for gpu_grad, cpu_grad in zip(results["cuda"][1], results["cpu"][1]):
        assert gpu_grad.is_cuda
        np.testing.assert_allclose(gpu_grad.cpu().numpy(), cpu_grad.numpy(), rtol=1e-5,
                                   atol=1e-7)


def test_clip_grads_with_a_given_norm_and_get_total_norm_on_cuda():
    param = ember.nn.Parameter(ember.ones(4, device="cuda"))
    param.grad = ember.full((4,), 3.0, device="cuda")
    total = ember.nn.utils.get_total_norm([param.grad])
    assert total.is_cuda and total.item() == pytest.approx(6.0)
    ember.nn.utils.clip_grads_with_norm_([param], 1.0, total)
    np.testing.assert_allclose(param.grad.cpu().numpy(), np.full(4, 0.5), rtol=1e-5)
    ember.nn.utils.clip_grads_with_norm_([param], 0.5, 2.0)  # a plain number works too
    np.testing.assert_allclose(param.grad.cpu().numpy(), np.full(4, 0.125), rtol=1e-5)


# -- pinned memory --------------------------------------------------------------------------


def test_pin_memory_marks_the_copy_pinned():
    host = ember.arange(12.0).view(3, 4)
    assert not host.is_pinned()
    pinned = host.pin_memory()
    assert pinned.is_pinned() and pinned is not host and not host.is_pinned()
    assert pinned.device.type == "cpu" and pinned.dtype == host.dtype
    np.testing.assert_array_equal(pinned.numpy(), host.numpy())
    assert pinned.pin_memory() is pinned  # already pinned: itself, as PyTorch
    assert pinned[1:].is_pinned() and pinned.t().is_pinned()  # views share the block
    moved = pinned.to("cuda", non_blocking=True)
    assert moved.is_cuda and not moved.is_pinned()
    np.testing.assert_array_equal(moved.cpu().numpy(), host.numpy())
    with pytest.raises(RuntimeError, match=re.escape(
            "cannot pin 'torch.cuda.FloatTensor' only dense CPU tensors can be pinned")):
        moved.pin_memory()


def test_dataloader_pin_memory_gives_pinned_batches():
    data = ember.utils.data.TensorDataset(ember.arange(10.0).view(5, 2), ember.arange(5))
    loader = ember.utils.data.DataLoader(data, batch_size=2, pin_memory=True)
    for features, labels in loader:
        assert features.is_pinned() and labels.is_pinned()
    unpinned = next(iter(ember.utils.data.DataLoader(data, batch_size=2)))
    assert not unpinned[0].is_pinned()


# -- checkpoints remember their device ------------------------------------------------------


def _round_trip(obj, **load_kwargs):
    buffer = io.BytesIO()
    ember.save(obj, buffer)
    buffer.seek(0)
    return ember.load(buffer, **load_kwargs)


def test_checkpoint_from_cuda_loads_back_on_cuda():
    model = ember.nn.Linear(3, 2).cuda()
    state = _round_trip(model.state_dict())
    for key, value in state.items():
        assert value.device == ember.device("cuda:0"), key
        np.testing.assert_array_equal(value.cpu().numpy(), model.state_dict()[key].cpu().numpy())
    mixed = _round_trip({"gpu": ember.ones(2, device="cuda"), "cpu": ember.ones(2), "n": 3})
    assert mixed["gpu"].is_cuda and mixed["cpu"].device.type == "cpu" and mixed["n"] == 3


def test_checkpoint_keeps_the_device_index_and_map_location_moves_it():
    last = _last()
    saved = {"w": ember.arange(4.0, device=f"cuda:{last}")}
    assert _round_trip(saved)["w"].device == ember.device("cuda", last)
    on_zero = _round_trip(saved, map_location={f"cuda:{last}": "cuda:0"})["w"]
    assert on_zero.device == ember.device("cuda:0")
    assert _round_trip(saved, map_location="cpu")["w"].device.type == "cpu"
    assert _round_trip(saved, map_location=ember.device("cpu"))["w"].device.type == "cpu"
    assert _round_trip(saved, map_location={"cuda:9": "cpu"})["w"].device == \
        ember.device("cuda", last)  # unmapped locations stay put
    kept_on_cpu = _round_trip(saved, map_location=lambda storage, location: storage)
    assert kept_on_cpu["w"].device.type == "cpu"
    to_last = _round_trip({"w": ember.ones(2)},
                          map_location=lambda storage, location: storage.cuda(last))
    assert to_last["w"].device == ember.device("cuda", last)
    by_default = _round_trip(saved, map_location=lambda storage, location: None)
    assert by_default["w"].device == ember.device("cuda", last)


def test_views_saved_from_cuda_share_memory_after_loading():
    base = ember.zeros(4, device="cuda")
    loaded = _round_trip({"base": base, "view": base})
    loaded["view"][0] = 5.0
    assert loaded["base"].is_cuda and loaded["base"][0].item() == 5.0


def test_pickle_and_deepcopy_keep_cuda_tensors_on_their_device():
    import copy
    import pickle

    last = _last()
    tensor = ember.arange(3.0, device=f"cuda:{last}").requires_grad_()
    param = ember.nn.Parameter(ember.ones(2, device="cuda"))
    back, back_param = pickle.loads(pickle.dumps((tensor, param)))
    assert back.device == ember.device("cuda", last) and back.requires_grad
    assert isinstance(back_param, ember.nn.Parameter) and back_param.is_cuda
    assert back.tolist() == [0.0, 1.0, 2.0]
    assert copy.deepcopy(ember.nn.Linear(2, 2).cuda()).weight.is_cuda


def test_checkpoint_from_cuda_reads_in_torch_with_its_location():
    buffer = io.BytesIO()
    ember.save({"w": ember.arange(3.0, device="cuda")}, buffer)
    buffer.seek(0)
    assert torch.load(buffer, map_location="cpu")["w"].tolist() == [0.0, 1.0, 2.0]
    if not torch.cuda.is_available():  # torch reads the location we wrote: cuda:0
        buffer.seek(0)
        with pytest.raises(RuntimeError, match="Attempting to deserialize object on a CUDA "
                                               "device but torch.cuda.is_available\\(\\) is False"):
            torch.load(buffer)


def test_checkpoint_from_cuda_without_a_gpu_raises_torchs_error(monkeypatch):
    buffer = io.BytesIO()
    ember.save({"w": ember.ones(2, device="cuda")}, buffer)
    import importlib

    backend_device = importlib.import_module("ember._backend.device")
    monkeypatch.setattr(backend_device, "_cupy", None)
    monkeypatch.setattr(backend_device, "_cupy_checked", True)
    buffer.seek(0)
    with pytest.raises(RuntimeError, match=re.escape(
            "Attempting to deserialize object on a CUDA device but "
            "ember.cuda.is_available() is False. If you are running on a CPU-only machine, "
            "please use ember.load with map_location=ember.device('cpu') to map your "
            "storages to the CPU.")):
        ember.load(buffer)
    buffer.seek(0)
    assert ember.load(buffer, map_location="cpu")["w"].tolist() == [1.0, 1.0]


def test_checkpoint_on_a_missing_device_index_raises():
    count = ember.cuda.device_count()
    buffer = io.BytesIO()
    ember.save({"w": ember.ones(2)}, buffer)
    buffer.seek(0)
    with pytest.raises(RuntimeError, match=re.escape(
            f"Attempting to deserialize object on CUDA device {count} but "
            f"ember.cuda.device_count() is {count}.")):
        ember.load(buffer, map_location={"cpu": f"cuda:{count}"})


# -- the current device ---------------------------------------------------------------------


def test_new_cuda_tensors_and_modules_land_on_the_current_device():
    last = _last()
    ember.cuda.set_device(ember.device("cuda", last))
    try:
        expected = ember.device("cuda", last)
        assert ember.cuda.current_device() == last
        assert ember.zeros(2, device="cuda").device == expected
        assert ember.randn(2, device="cuda").device == expected
        assert ember.ones(2).cuda().device == expected
        assert ember.nn.Linear(2, 2, device="cuda").weight.device == expected
        model = ember.nn.Linear(2, 2).to("cuda")
        assert all(p.device == expected for p in model.parameters())
        with ember.cuda.device(0):
            assert ember.zeros(1, device="cuda").device == ember.device("cuda:0")
            assert ember.ones(1, device=f"cuda:{last}").device == expected
        assert ember.cuda.current_device() == last
        on_zero = ember.ones(2, device="cuda:0")
        assert on_zero.new_zeros(3).device == ember.device("cuda:0")  # follows its tensor
        assert ember.zeros_like(on_zero).device == ember.device("cuda:0")
    finally:
        ember.cuda.set_device(0)
    assert ember.zeros(1, device="cuda").device == ember.device("cuda:0")
