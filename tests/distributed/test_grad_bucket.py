"""dist._compute_bucket_assignment_by_size (DDP's bucket sizing) against PyTorch's, in
this process: no process group is needed."""

import pytest
import torch
import torch.distributed as tdist

import ember
import ember.distributed as dist

SHAPES = [((100,), "float32"), ((200,), "float64"), ((300,), "float32"),
          ((10,), "float64"), ((50,), "float32"), ((7, 3), "float32")]


def _tensors(lib):
    return [lib.zeros(*shape, dtype=getattr(lib, dtype)) for shape, dtype in SHAPES]


@pytest.mark.parametrize("limits", [[400, 1000], [1], [10 ** 9], [200, 400, 800]])
def test_forward_order_matches_torch(limits):
    expected = tdist._compute_bucket_assignment_by_size(_tensors(torch), limits)
    assert dist._compute_bucket_assignment_by_size(_tensors(ember), limits) == (
        [list(b) for b in expected[0]], list(expected[1]))


@pytest.mark.parametrize("limits", [[400, 1000], [300]])
def test_ready_order_matches_torch(limits):
    """A rebuild: every tensor given in ready order with its index; buckets not sorted
    (one dtype, so where the leftover bucket goes is defined)."""
    order = [5, 2, 4, 0, 3, 1]
    sizes = [100, 20, 300, 10, 50, 21]
    theirs = [torch.zeros(sizes[i]) for i in order]
    expected = tdist._compute_bucket_assignment_by_size(theirs, limits, [False] * 6, order)
    mine = [ember.zeros(sizes[i]) for i in order]
    got = dist._compute_bucket_assignment_by_size(mine, limits, tensor_indices=order)
    assert got == ([list(b) for b in expected[0]], list(expected[1]))


def test_first_bucket_default():
    assert dist._DEFAULT_FIRST_BUCKET_BYTES == tdist._DEFAULT_FIRST_BUCKET_BYTES
    assert [m.name for m in dist.BuiltinCommHookType] == ["ALLREDUCE", "FP16_COMPRESS"]
    assert [m.name for m in tdist.BuiltinCommHookType.__members__.values()] == [
        "ALLREDUCE", "FP16_COMPRESS"]
