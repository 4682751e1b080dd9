"""``np.asarray(tensor)``: Tensor.__array__ goes through numpy() as torch's, so a tensor
that requires grad (or lives on a GPU) raises torch's error, and NumPy 2's copy= works."""

import numpy as np
import pytest
import torch

import ember

# torch's __array__ takes no copy= keyword: NumPy 2 warns about it on the torch side
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CONVERSIONS = {
    "asarray": lambda lib, x: np.asarray(x),
    "array": lambda lib, x: np.array(x),
    "asarray_dtype": lambda lib, x: np.asarray(x, dtype=np.float64),
    "stack": lambda lib, x: np.stack([x, x]),
    "list_of_0d": lambda lib, x: np.asarray([x.sum()]),
    "0d": lambda lib, x: np.asarray(x.sum()),
}


@pytest.mark.parametrize("name", list(CONVERSIONS))
def test_requires_grad_raises_as_torch(name):
    fn = CONVERSIONS[name]
    with pytest.raises(RuntimeError) as expected:
        fn(torch, torch.ones(2, requires_grad=True))
    with pytest.raises(RuntimeError) as got:
        fn(ember, ember.ones(2, requires_grad=True))
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("name", list(CONVERSIONS))
def test_detached_values_match_torch(name):
    fn = CONVERSIONS[name]
    data = np.array([1.5, -2.0], np.float32)
    expected = fn(torch, torch.tensor(data, requires_grad=True).detach())
    got = fn(ember, ember.tensor(data, requires_grad=True).detach())
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_memory_sharing_and_copy_keyword():
    for lib in (torch, ember):
        t = lib.arange(3.0)
        np.asarray(t)[0] = 9.0  # shares memory, as numpy() does
        assert t[0].item() == 9.0
        copied = np.array(t, copy=True)
        copied[1] = 7.0
        assert t[1].item() == 1.0
    # ember implements NumPy 2's copy keyword (torch's __array__ has none, so NumPy warns
    # and refuses copy=False there): no copy when none is needed, ValueError otherwise.
    t = ember.arange(3.0)
    view = np.asarray(t, copy=False)
    view[2] = 5.0
    assert t[2].item() == 5.0
    with pytest.raises(ValueError):
        np.asarray(t, dtype=np.float64, copy=False)


def test_paths_that_read_values_still_work():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    assert x.tolist() == [1.0, 2.0]
    assert "requires_grad=True" in repr(x)
    assert float(x.sum()) == 3.0
    assert ember.tensor([x.sum(), x.sum()]).tolist() == [3.0, 3.0]
    assert torch.tensor([torch.ones((), requires_grad=True)]).requires_grad is False
    assert ember.tensor([ember.ones((), requires_grad=True)]).requires_grad is False


def test_list_of_multi_element_tensors_raises_as_torch():
    with pytest.raises(ValueError) as expected:
        torch.tensor([torch.zeros(2), torch.zeros(2)])
    with pytest.raises(ValueError) as got:
        ember.tensor([ember.zeros(2), ember.zeros(2)])
    assert str(got.value) == str(expected.value)


def test_device_equals_string_is_false_as_torch():
    for spec in ("cpu", "cuda:0", "meta"):
        assert (ember.device(spec) == spec) == (torch.device(spec) == spec)
        assert (ember.device(spec) != spec) == (torch.device(spec) != spec)
    assert ember.device("cpu") == ember.device("cpu")
    assert ember.zeros(1).device == ember.device("cpu")
    assert ember.zeros(1).device.type == "cpu"
