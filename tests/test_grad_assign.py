"""``tensor.grad = value`` checks as torch's: type, self, dtype, device, size, in that
order and with torch's messages; None clears; matching tensors are stored as given."""

import numpy as np
import pytest
import torch

import ember


def _assign(lib, target_spec, value_spec):
    target = lib.zeros(target_spec[0], dtype=getattr(lib, target_spec[1]), requires_grad=True)
    value = value_spec(lib, target)
    target.grad = value
    return target


CASES = {
    "size": (((3,), "float32"), lambda lib, t: lib.zeros(2)),
    "size_0d": (((), "float32"), lambda lib, t: lib.zeros(1)),
    "size_2d": (((2, 3), "float64"), lambda lib, t: lib.zeros(3, 2, dtype=lib.float64)),
    "dtype_double": (((3,), "float32"), lambda lib, t: lib.zeros(3, dtype=lib.float64)),
    "dtype_long": (((3,), "float32"), lambda lib, t: lib.zeros(3, dtype=lib.int64)),
    "dtype_half": (((3,), "float32"), lambda lib, t: lib.zeros(3, dtype=lib.float16)),
    "dtype_bf16": (((3,), "float32"), lambda lib, t: lib.zeros(3, dtype=lib.bfloat16)),
    "dtype_int": (((3,), "float32"), lambda lib, t: lib.zeros(3, dtype=lib.int32)),
    "dtype_bool": (((3,), "float32"), lambda lib, t: lib.zeros(3, dtype=lib.bool)),
    "dtype_uint8": (((3,), "float32"), lambda lib, t: lib.zeros(3, dtype=lib.uint8)),
    "dtype_cfloat": (((3,), "float32"), lambda lib, t: lib.zeros(3, dtype=lib.complex64)),
    "dtype_float_into_complex": (((3,), "complex64"), lambda lib, t: lib.zeros(3)),
    "dtype_before_size": (((3,), "float32"), lambda lib, t: lib.zeros(2, dtype=lib.float64)),
    "not_tensor_int": (((3,), "float32"), lambda lib, t: 5),
    "not_tensor_ndarray": (((3,), "float32"), lambda lib, t: np.zeros(3, np.float32)),
    "not_tensor_list": (((3,), "float32"), lambda lib, t: [0.0, 0.0, 0.0]),
    "itself": (((3,), "float32"), lambda lib, t: t),
    "device": (((3,), "float32"), lambda lib, t: lib.zeros(3, device="meta")),
    "dtype_before_device": (((3,), "float32"),
                            lambda lib, t: lib.zeros(3, dtype=lib.float64, device="meta")),
    "device_before_size": (((3,), "float32"), lambda lib, t: lib.zeros(2, device="meta")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_grad_raises_as_torch(name):
    target_spec, value_spec = CASES[name]
    with pytest.raises(Exception) as expected:
        _assign(torch, target_spec, value_spec)
    with pytest.raises(type(expected.value)) as got:
        _assign(ember, target_spec, value_spec)
    assert str(got.value) == str(expected.value)


def test_valid_assignments():
    x = ember.zeros(3, requires_grad=True)
    grad = ember.ones(3)
    x.grad = grad
    assert x.grad is grad
    x.grad = ember.ones(1).expand(3)  # same size through broadcasting views is fine
    x.grad = None
    assert x.grad is None
    ints = ember.zeros(3, dtype=ember.int64)  # a tensor that cannot require grad still may
    ints.grad = ember.ones(3, dtype=ember.int64)
    assert ints.grad.dtype == ember.int64
    del x.grad
    assert x.grad is None
    parameter = ember.nn.Parameter(ember.zeros(2))
    parameter.grad = ember.nn.Parameter(ember.ones(2))
    assert parameter.grad.sum().item() == 2.0


def test_non_leaf_and_backward_still_accumulate():
    leaf = ember.ones(3, requires_grad=True)
    leaf.grad = ember.full((3,), 2.0)
    (leaf * 3).sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), [5.0, 5.0, 5.0])
    other = leaf * 2
    other.grad = ember.ones(3)  # torch allows it on a non-leaf as well
    assert other.grad is not None


def test_optimizer_zero_grad_and_step():
    layer = ember.nn.Linear(2, 2)
    optimizer = ember.optim.SGD(layer.parameters(), lr=0.1)
    layer(ember.ones(1, 2)).sum().backward()
    optimizer.step()
    optimizer.zero_grad()
    assert all(p.grad is None for p in layer.parameters())
