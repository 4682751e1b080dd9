"""ember.testing.make_tensor against torch.testing.make_tensor: the same dtypes, shapes,
layouts and value ranges (the draws themselves come from different streams), and the
same errors."""

import warnings

import pytest
import torch

import ember
from ember.testing import make_tensor

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
          "float32", "float64", "complex64", "complex128"]


def _both(dtype_name, *shape, **kwargs):
    ours = make_tensor(*shape, dtype=getattr(ember, dtype_name), device="cpu", **kwargs)
    theirs = torch.testing.make_tensor(*shape, dtype=getattr(torch, dtype_name), device="cpu",
                                       **kwargs)
    return ours, theirs


@pytest.mark.parametrize("dtype_name", DTYPES)
def test_dtype_shape_and_default_range(dtype_name):
    ours, theirs = _both(dtype_name, 40, 50)
    assert str(ours.dtype) == str(theirs.dtype) and tuple(ours.shape) == tuple(theirs.shape)
    values = ours.abs() if ours.is_complex() else ours
    low, high = {"bool": (0, 1), "uint8": (0, 9)}.get(dtype_name, (-9, 9))
    if ours.is_complex():
        low, high = 0, 9 * 2 ** 0.5
    assert low <= values.min().item() and values.max().item() <= high
    if dtype_name in ("int8", "int64", "float32"):  # the whole interval is drawn from
        assert values.min().item() < low + 2 and values.max().item() > high - 2


@pytest.mark.parametrize("kwargs", [
    {"noncontiguous": True}, {"noncontiguous": True, "requires_grad": True},
    {"memory_format": "channels_last"}, {"low": -1, "high": 1, "exclude_zero": True},
])
def test_layouts_and_flags(kwargs):
    kwargs = dict(kwargs)
    fmt = kwargs.pop("memory_format", None)
    shape = (2, 3, 4, 5)
    ours = make_tensor(shape, dtype=ember.float32, device="cpu", **kwargs,
                       **({"memory_format": ember.channels_last} if fmt else {}))
    theirs = torch.testing.make_tensor(shape, dtype=torch.float32, device="cpu", **kwargs,
                                       **({"memory_format": torch.channels_last} if fmt else {}))
    assert ours.stride() == theirs.stride()
    assert ours.is_contiguous() == theirs.is_contiguous()
    assert ours.requires_grad == theirs.requires_grad and ours.is_leaf == theirs.is_leaf
    if kwargs.get("exclude_zero"):
        assert not (ours == 0).any().item() and (ours.abs() < 1).all().item()


def test_exclude_zero_on_integers_and_one_element_noncontiguous():
    ours = make_tensor(1000, dtype=ember.int64, device="cpu", low=-1, high=2, exclude_zero=True)
    assert set(ours.tolist()) <= {-1, 1}
    single, theirs = _both("float32", 1, noncontiguous=True)
    assert single.is_contiguous() == theirs.is_contiguous()


def test_bounds_are_clamped_to_the_dtype():
    ours = make_tensor(500, dtype=ember.uint8, device="cpu", low=-100, high=1000)
    assert 0 <= ours.min().item() and ours.max().item() <= 255
    wide = make_tensor(200, dtype=ember.float16, device="cpu", low=-1e9, high=1e9)
    assert ember.isfinite(wide).all().item()


@pytest.mark.parametrize("kwargs", [
    {"low": 2, "high": 1}, {"low": float("nan")}, {"requires_grad": True, "dtype": "int32"},
    {"noncontiguous": True, "memory_format": "channels_last"},
    {"dtype": "uint8", "low": 300, "high": 400},
])
def test_errors_match_torch(kwargs):
    kwargs = dict(kwargs)
    dtype_name = kwargs.pop("dtype", "float32")
    fmt = kwargs.pop("memory_format", None)
    with pytest.raises(ValueError) as theirs:
        torch.testing.make_tensor((2, 3, 4, 5), dtype=getattr(torch, dtype_name), device="cpu",
                                  **kwargs, **({"memory_format": torch.channels_last} if fmt
                                               else {}))
    with pytest.raises(ValueError) as ours:
        make_tensor((2, 3, 4, 5), dtype=getattr(ember, dtype_name), device="cpu", **kwargs,
                    **({"memory_format": ember.channels_last} if fmt else {}))
    assert str(ours.value) == str(theirs.value)


def test_low_equal_high_warns_for_floats():
    with pytest.warns(FutureWarning, match="low==high"):
        ours = make_tensor(3, dtype=ember.float32, device="cpu", low=2, high=2)
    assert ours.tolist() == [2.0, 2.0, 2.0]
    with warnings.catch_warnings(), pytest.raises(ValueError, match="must be less than"):
        warnings.simplefilter("error")
        make_tensor(3, dtype=ember.int32, device="cpu", low=2, high=2)
