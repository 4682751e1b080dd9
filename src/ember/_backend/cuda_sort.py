"""The order PyTorch's CUDA sort gives tied keys.

``Tensor.sort`` on CUDA (stable=False, the default) sorts slices of up to 32 elements with
a bitonic network (``SmallBitonicSort`` in aten/src/ATen/native/cuda/Sort.cu): 16 threads
compare-exchange pairs of a 32-slot shared buffer, the slots past the slice marked
invalid so that they sort last. The network is not stable, so the indices of equal keys
come out in its own order, which any op built on that sort inherits (sparse
``index_select``, ...). Longer slices go through a warp merge sort or a radix sort, both
stable. ``cuda_argsort`` replays the network on the host (32 elements: nothing to gain on
the device) for many slices at once.
"""

from __future__ import annotations

import numpy as np

SMALL_SORT = 32  # slices up to this length take the unstable bitonic sort


def _network():
    """(positions, partners, direction per pair) of each of the 15 compare-exchange steps
    of ``bitonicSort<32>``; thread ``t`` handles one pair per step."""
    threads = np.arange(SMALL_SORT // 2)
    steps = []

    def step(stride, flags):
        pos = 2 * threads - (threads & (stride - 1))
        steps.append((pos, pos + stride, flags))

    size = 2
    while size < SMALL_SORT:
        flags = (threads & (size // 2)) != 0
        stride = size // 2
        while stride:
            step(stride, flags)
            stride //= 2
        size *= 2
    stride = SMALL_SORT // 2
    while stride:
        step(stride, np.zeros(SMALL_SORT // 2, dtype=bool))
        stride //= 2
    return steps


_STEPS = _network()


def _before(a, b, descending):
    """PyTorch's LTOp/GTOp with NaN handling: NaN counts as the largest value."""
    if descending:
        return (np.isnan(a) & ~np.isnan(b)) | (a > b)
    return (np.isnan(b) & ~np.isnan(a)) | (a < b)


def _bitonic(keys, descending):
    rows, n = keys.shape
    padded = np.zeros((rows, SMALL_SORT), dtype=keys.dtype)
    padded[:, :n] = keys
    order = np.zeros((rows, SMALL_SORT), dtype=np.int64)
    order[:, :n] = np.arange(n)
    valid = np.zeros((rows, SMALL_SORT), dtype=bool)
    valid[:, :n] = True
    for pos, partner, flags in _STEPS:
        key_a, key_b = padded[:, pos], padded[:, partner]
        in_order = (_before(key_a, key_b, descending) & valid[:, pos]) | ~valid[:, partner]
        exchange = in_order == flags
        for array in (padded, order, valid):
            a, b = array[:, pos], array[:, partner]
            array[:, pos] = np.where(exchange, b, a)
            array[:, partner] = np.where(exchange, a, b)
    return order[:, :n]


def cuda_argsort(keys, descending=False):
    """Indices that sort each row of the host array ``keys`` (2-D: slices x length) as
    PyTorch's CUDA ``sort(stable=False)`` orders them, ties included (NaN the largest)."""
    keys = np.asarray(keys)
    n = keys.shape[-1]
    if 1 < n <= SMALL_SORT:
        return _bitonic(keys, descending)
    if not descending:  # NumPy's stable sort also puts NaN last
        return np.argsort(keys, axis=-1, kind="stable")
    nan = np.isnan(keys) if keys.dtype.kind == "f" else np.zeros(keys.shape, dtype=bool)
    negated = np.negative(np.where(nan, 0, keys), dtype=np.float64 if keys.dtype.kind == "f"
                          else np.int64)
    return np.lexsort((negated, ~nan), axis=-1)  # NaN first, then descending; stable
