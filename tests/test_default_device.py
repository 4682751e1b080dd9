"""Default devices against PyTorch: ``set_default_device``, ``get_default_device`` and
``with torch.device(...)``: which factories follow them, how nesting restores, and what
modules built under them hold."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
import torch

import ember


@pytest.fixture(autouse=True)
def _restore_default_device():
    yield
    torch.set_default_device(None)
    ember.set_default_device(None)


def _factories(lib):
    """name -> a call; run under a default device, each result's device is compared."""
    host = np.ones(2, dtype=np.float32)
    return {
        "tensor_list": lambda c: lib.tensor([1, 2]),
        "tensor_of_tensor": lambda c: lib.tensor(c),
        "tensor_of_numpy": lambda c: lib.tensor(host),
        "as_tensor_of_tensor": lambda c: lib.as_tensor(c),
        "as_tensor_of_numpy": lambda c: lib.as_tensor(host),
        "asarray_list": lambda c: lib.asarray([1.0, 2.0]),
        "from_numpy": lambda c: lib.from_numpy(host),
        "zeros": lambda c: lib.zeros(2),
        "ones_size_kw": lambda c: lib.ones(size=(2,)),
        "empty": lambda c: lib.empty(2, 3),
        "full": lambda c: lib.full((2,), 1.0),
        "rand": lambda c: lib.rand(2),
        "randn": lambda c: lib.randn(2),
        "randint": lambda c: lib.randint(3, (2,)),
        "randperm": lambda c: lib.randperm(3),
        "arange": lambda c: lib.arange(3),
        "linspace": lambda c: lib.linspace(0, 1, 3),
        "logspace": lambda c: lib.logspace(0, 1, 3),
        "eye": lambda c: lib.eye(2),
        "empty_strided": lambda c: lib.empty_strided((2, 3), (1, 2)),
        "scalar_tensor": lambda c: lib.scalar_tensor(1),
        "tril_indices": lambda c: lib.tril_indices(3, 3),
        "hann_window": lambda c: lib.hann_window(4),
        "legacy_sizes": lambda c: lib.Tensor(2, 3),
        "legacy_data": lambda c: lib.Tensor([1.0]),
        "legacy_typed": lambda c: lib.FloatTensor(2),
        "zeros_like": lambda c: lib.zeros_like(c),
        "empty_like": lambda c: lib.empty_like(c),
        "rand_like": lambda c: lib.rand_like(c),
        "new_zeros": lambda c: c.new_zeros(3),
        "new_tensor": lambda c: c.new_tensor([1]),
        "op_on_cpu": lambda c: c + 1,
        "stack_cpu": lambda c: lib.stack([c, c]),
        "parameter_of_cpu": lambda c: lib.nn.Parameter(c),
        "linear_weight": lambda c: lib.nn.Linear(2, 3).weight,
        "batchnorm_buffer": lambda c: lib.nn.BatchNorm1d(3).num_batches_tracked,
        "explicit_cpu": lambda c: lib.ones(2, device="cpu"),
    }


def _devices_under(lib, target, how):
    source = lib.ones(2)  # made before the default changes: on cpu
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tensor(tensor)'s copy-construct advice
        if how == "context":
            with lib.device(target):
                for name, make in _factories(lib).items():
                    results[name] = make(source).device.type
        else:
            lib.set_default_device(target)
            for name, make in _factories(lib).items():
                results[name] = make(source).device.type
            lib.set_default_device(None)
    return results


@pytest.mark.parametrize("how", ["context", "set_default_device"])
def test_which_factories_follow_the_default(how):
    assert _devices_under(ember, "meta", how) == _devices_under(torch, "meta", how)


def _nesting_trace(lib):
    """get_default_device() and a factory's device after each step of a nesting story."""
    trace = []

    def note():
        trace.append((str(lib.get_default_device()), lib.ones(1).device.type))

    note()
    lib.set_default_device("meta")
    note()
    with lib.device("cpu"):
        note()
        with lib.device("meta"):
            note()
        note()
    note()
    lib.set_default_device(None)
    note()
    # (not covered: set_default_device inside a ``with`` block; in PyTorch a later
    # set_default_device(None) then leaves the block's device as the default for good)
    lib.set_default_device("meta")
    lib.set_default_device("cpu")  # replaces, does not stack
    note()
    lib.set_default_device(None)
    note()
    meta = lib.device("meta")
    with meta:
        with meta:  # the same device object entered twice
            note()
        note()
    note()
    return trace


def test_nesting_restores_as_torch():
    assert _nesting_trace(ember) == _nesting_trace(torch)


def test_get_default_device_values():
    for lib in (ember, torch):
        assert lib.get_default_device() == lib.device("cpu")
    for target in ("meta", "cpu"):
        torch.set_default_device(target)
        ember.set_default_device(target)
        assert repr(ember.get_default_device()) == repr(torch.get_default_device())


def test_context_manager_returns_the_device():
    for lib in (ember, torch):
        device = lib.device("meta")
        with device as entered:
            assert entered is device


def test_module_built_under_default_device():
    def build(lib):
        lib.set_default_device("meta")
        net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.Embedding(5, 2))
        lib.set_default_device(None)
        return {k: (v.device.type, tuple(v.shape), str(v.dtype).rsplit(".", 1)[-1])
                for k, v in net.state_dict().items()}

    assert build(ember) == build(torch)


def test_repr_under_default_meta():
    torch.set_default_device("meta")
    ember.set_default_device("meta")
    assert repr(ember.ones(2, 3, requires_grad=True)) == repr(torch.ones(2, 3, requires_grad=True))
    assert repr(ember.arange(3)) == repr(torch.arange(3))


def test_bad_device_names():
    for bad in ("foo", "cuda:x"):
        with pytest.raises(RuntimeError) as t_err:
            torch.set_default_device(bad)
        with pytest.raises(RuntimeError) as e_err:
            ember.set_default_device(bad)
        assert str(e_err.value) == str(t_err.value)
    assert ember.get_default_device() == ember.device("cpu")


def test_meta_device_object():
    for lib in (ember, torch):
        device = lib.device("meta")
        assert (repr(device), str(device), device.type, device.index) == (
            "device(type='meta')", "meta", "meta", None)
        assert device == lib.device("meta") and device != lib.device("cpu")
        assert device != "meta"  # a string is not a device in PyTorch
        assert lib.empty(1, device=device).device == device


def test_default_device_is_per_thread():
    """PyTorch keeps the default device per thread: a new thread starts on cpu."""

    def seen_in_thread(lib):
        lib.set_default_device("meta")
        seen = []
        worker = threading.Thread(
            target=lambda: seen.append((str(lib.get_default_device()), lib.ones(1).device.type)))
        worker.start()
        worker.join()
        seen.append((str(lib.get_default_device()), lib.ones(1).device.type))
        lib.set_default_device(None)
        return seen

    assert seen_in_thread(ember) == seen_in_thread(torch) == [("cpu", "cpu"), ("meta", "meta")]
