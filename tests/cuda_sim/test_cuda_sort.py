"""ember._backend.cuda_sort: the order PyTorch's CUDA sort gives tied keys (host code)."""

import numpy as np
import pytest

from ember._backend.cuda_sort import cuda_argsort

# Recorded on an H200 (torch 2.11.0+cu130): torch.sort(TIED.cuda(), 1).indices
TIED = np.array([[2, 3, 3, 3, 0, 0], [1, 2, 2, 2, 2, 1], [0, 1, 1, 2, 2, 3], [3, 0, 2, 0, 1, 1]],
                dtype=np.float32)
TORCH_CUDA_ORDER = [[4, 5, 0, 3, 2, 1], [5, 0, 3, 4, 2, 1], [0, 2, 1, 4, 3, 5],
                    [1, 3, 4, 5, 2, 0]]


def test_ties_in_torch_cuda_order():
    assert cuda_argsort(TIED).tolist() == TORCH_CUDA_ORDER
    # differs from a stable sort exactly where the network swaps tied keys
    assert np.argsort(TIED, axis=1, kind="stable").tolist() != TORCH_CUDA_ORDER


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("length", [1, 2, 5, 32, 33, 200])
def test_sorts_with_nan_largest(descending, length):
    rng = np.random.default_rng(length)
    keys = rng.integers(0, 4, (7, length)).astype(np.float64)
    keys[keys == 3] = np.nan
    order = cuda_argsort(keys, descending)
    assert sorted(order[0].tolist()) == list(range(length))
    got = np.take_along_axis(keys, order, axis=1)
    expected = np.sort(keys, axis=1)  # NaN last
    if descending:
        expected = expected[:, ::-1]  # NaN first
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("descending", [False, True])
def test_long_slices_are_stable(descending):
    keys = np.repeat(np.arange(5), 10)[None, ::-1].copy()  # 50 keys: a stable sort
    order = cuda_argsort(keys, descending)[0]
    for value in range(5):
        picked = order[keys[0, order] == value]
        assert picked.tolist() == sorted(picked.tolist())


def test_integer_keys_match_the_float_network():
    keys = np.array([[0, 1, 1, 2], [0, 0, 2, 1]])
    assert cuda_argsort(keys).tolist() == cuda_argsort(keys.astype(np.float32)).tolist() == \
        [[0, 2, 1, 3], [1, 0, 3, 2]]
