"""Tensor.storage() / untyped_storage() against PyTorch's TypedStorage and UntypedStorage:
sizes, bytes, data pointers, elements, and memory shared with the tensor."""

import re
import warnings

import numpy as np
import oracle
import pytest
import torch

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


def _pair(dtype="float32"):
    data = np.arange(6, dtype=dtype).reshape(2, 3)
    return ember.tensor(data)[:, 1:], torch.tensor(data)[:, 1:]


def _on_device(text):
    """torch's text for a cpu storage as torch writes it for one on the oracle's device."""
    if oracle.DEVICE == "cpu":
        return text
    return re.sub(r"^torch\.(\w+Storage)$", r"torch.cuda.\1", text.replace("cpu", "cuda:0"))


def _typed(tensor):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tensor.storage()


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8"])
def test_typed_storage_matches_torch(dtype):
    e_view, t_view = _pair(dtype)
    e, t = _typed(e_view), _typed(t_view)
    assert e.size() == t.size() == len(e) == len(t)
    assert e.nbytes() == t.nbytes() and e.element_size() == t.element_size()
    assert str(e.dtype) == str(t.dtype) and str(e.device) == _on_device(str(t.device))
    assert e.tolist() == t.tolist() and list(e) == list(t)
    assert e[2] == t[2] and e[-1] == t[-1]
    assert e.type() == _on_device(t.type())
    assert e.data_ptr() == e_view.data_ptr() - e_view.storage_offset() * e_view.element_size()
    assert repr(e) == _on_device(repr(t))


def test_untyped_storage_matches_torch():
    e_view, t_view = _pair()
    e, t = e_view.untyped_storage(), t_view.untyped_storage()
    assert e.size() == t.size() == e.nbytes() == t.nbytes() == len(e)
    assert e.tolist() == t.tolist() and e[5] == t[5]
    assert e[4:8].tolist() == t[4:8].tolist() and e[4:8].size() == 4
    assert e.element_size() == t.element_size()
    assert hasattr(e, "dtype") == hasattr(t, "dtype")  # bytes have no dtype
    assert repr(e) == _on_device(repr(t))
    assert e.untyped() is e
    assert _typed(e_view).untyped().tolist() == t.tolist()


def test_storage_shares_memory_with_the_tensor():
    base = ember.zeros(2, 3)
    view = base[1]
    storage = _typed(view)
    storage[0] = 7.0
    assert base[0, 0].item() == 7.0
    base[1, 2] = -1.0
    assert storage[5] == -1.0
    view.untyped_storage()[0] = 0  # low byte of a float: 7.0 is 0x40e00000, unchanged
    assert base[0, 0].item() == 7.0
    assert view.untyped_storage().data_ptr() == base.untyped_storage().data_ptr()
    assert ember.ones(2).untyped_storage().data_ptr() != base.untyped_storage().data_ptr()


def test_storage_errors_and_warning():
    e_view, t_view = _pair()
    for e, t in [(_typed(e_view), _typed(t_view)),
                 (e_view.untyped_storage(), t_view.untyped_storage())]:
        with pytest.raises(IndexError, match="out of range for storage of size"):
            t[100]
        with pytest.raises(IndexError, match="out of range for storage of size"):
            e[100]
    with pytest.raises(RuntimeError, match="slices are only supported"):
        _typed(e_view)[1:2]
    from ember import _storage

    _storage._warned[0] = False
    with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
        e_view.storage()


def test_is_storage_and_top_level_classes():
    e_view, t_view = _pair()
    for lib, view in ((ember, e_view), (torch, t_view)):
        assert lib.is_storage(_typed(view)) and lib.is_storage(view.untyped_storage())
        assert not lib.is_storage(view)
        assert isinstance(_typed(view), lib.TypedStorage)
        assert isinstance(view.untyped_storage(), lib.UntypedStorage)


def test_storage_constructors():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for args, kwargs in [((4,), {}), (([1, 2, 44],), {})]:
            e, t = ember.UntypedStorage(*args, **kwargs), torch.UntypedStorage(*args, **kwargs)
            assert e.size() == t.size()
            if isinstance(args[0], list):  # a size gives uninitialised memory in torch
                assert e.tolist() == t.tolist()
        for args, dtype in [((3,), None), (([1.5, 2],), "float64"), (([1, 2],), None)]:
            e = ember.TypedStorage(*args, dtype=None if dtype is None else getattr(ember, dtype))
            t = torch.TypedStorage(*args, dtype=None if dtype is None else getattr(torch, dtype))
            assert e.size() == t.size() and str(e.dtype) == str(t.dtype)
            if isinstance(args[0], list):
                assert e.tolist() == t.tolist()
