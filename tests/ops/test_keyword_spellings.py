"""PyTorch programs pass the sized and dims arguments by keyword too (``x.flip(dims=...)``,
``x.view(size=...)``, ``torch.zeros(size=...)``): each spelling gives torch's result."""

import numpy as np
import pytest
import torch

import ember

CASES = {
    "flip_method": lambda lib, x: x.flip(dims=(0,)),
    "flip_function": lambda lib, x: lib.flip(x, dims=[1, 2]),
    "permute_method": lambda lib, x: x.permute(dims=(2, 0, 1)),
    "permute_function": lambda lib, x: lib.permute(x, dims=(2, 0, 1)),
    "view_size": lambda lib, x: x.view(size=(6, 4)),
    "view_dtype": lambda lib, x: x.view(dtype=lib.int32),
    "reshape_method": lambda lib, x: x.reshape(shape=(6, 4)),
    "reshape_function": lambda lib, x: lib.reshape(x, shape=(4, -1)),
    "repeat": lambda lib, x: x.repeat(repeats=(1, 2, 1)),
    "expand": lambda lib, x: x[:, :1].expand(size=(2, 3, 4)),
    "split": lambda lib, x: x.split(split_size=3, dim=2)[1],
    "new_zeros": lambda lib, x: x.new_zeros(size=(2,)),
    "new_ones": lambda lib, x: x.new_ones(size=[2, 1]),
    "zeros": lambda lib, x: lib.zeros(size=(2, 2)),
    "ones": lambda lib, x: lib.ones(size=(3,), dtype=lib.int64),
    "empty_shape": lambda lib, x: lib.empty(size=(2, 0)).shape,
    "rand_shape": lambda lib, x: lib.rand(size=(2, 3)).shape,
    "randn_shape": lambda lib, x: lib.randn(size=[4]).shape,
    "positional_still": lambda lib, x: x.permute(1, 0, 2).flip(0, 2).reshape(-1, 2).view(4, 6),
}


@pytest.mark.parametrize("name", list(CASES))
def test_keyword_spelling_matches_torch(name):
    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    ours = CASES[name](ember, ember.tensor(data))
    theirs = CASES[name](torch, torch.tensor(data))
    if isinstance(theirs, torch.Size):
        assert tuple(ours) == tuple(theirs)
        return
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
