"""GradBucket (PyTorch's ``torch.distributed.GradBucket``): what a DDP communication hook
receives, one bucket of gradients flattened into one tensor.

A hook reads ``buffer()`` (the bucket's gradients, concatenated in ``parameters()``
order), communicates it and returns a ``torch.futures.Future`` of a tensor with the same
number of elements; DDP copies that tensor's slices back into the parameters' ``.grad``.
"""

from __future__ import annotations

import enum

__all__ = ["BuiltinCommHookType", "GradBucket"]


class BuiltinCommHookType(enum.Enum):
    """The communication hooks DDP's ``_register_builtin_comm_hook`` names (PyTorch's
    run in C++; ember's are ``default_hooks.allreduce_hook`` and ``fp16_compress_hook``)."""

    ALLREDUCE = 0
    FP16_COMPRESS = 1


class GradBucket:
    """One bucket of gradients handed to a DDP communication hook.

    Args:
        index: the bucket's position; buckets are reduced in index order on every rank.
        buffer: a 1-D tensor holding the bucket's gradients one after the other.
        parameters: the parameters whose gradients ``buffer`` holds, in that order.
        is_last: whether this is the bucket with the highest index (the last one a
            backward pass reduces), as PyTorch's ``is_last()``.
    """

    def __init__(self, index, buffer, parameters, is_last):
        self._index = index
        self._buffer = buffer
        self._parameters = list(parameters)
        self._is_last = is_last
        self._gradients = self._views_of(buffer)

    def _views_of(self, buffer):
        views, offset = [], 0
        for param in self._parameters:
            count = param.numel()
            views.append(buffer[offset:offset + count].view(param.shape))
            offset += count
        return views

    def index(self) -> int:
        """The bucket's index (0 is reduced first)."""
        return self._index

    def buffer(self):
        """The flattened gradients (a view-free 1-D tensor a hook may modify in place)."""
        return self._buffer

    def gradients(self) -> list:
        """One tensor per parameter, shaped like it: views into the original buffer."""
        return list(self._gradients)

    def parameters(self) -> list:
        """The parameters whose gradients the bucket holds, in buffer order."""
        return list(self._parameters)

    def is_last(self) -> bool:
        """Whether this is the last bucket reduced in an iteration."""
        return self._is_last

    def set_buffer(self, buffer) -> None:
        """Replace the bucket's buffer (a compression wrapper swaps in a float16 copy)."""
        self._buffer = buffer

    def __repr__(self) -> str:
        return (f"GradBucket(index={self._index}, numel={self._buffer.numel()}, "
                f"parameters={len(self._parameters)}, is_last={self._is_last})")


_DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024  # PyTorch's dist._DEFAULT_FIRST_BUCKET_BYTES


def _compute_bucket_assignment_by_size(tensors, bucket_size, expect_sparse_gradient=(),
                                       tensor_indices=()):
    """Group ``tensors`` into buckets as PyTorch's reducer does: one open bucket per
    (dtype, device); a bucket closes once its bytes reach its limit (the tensor that
    crosses it stays in), the limits taken from ``bucket_size`` in turn (the last one
    repeats). Returns ``(bucket_indices, per_bucket_size_limits)``.

    Without ``tensor_indices`` the buckets are sorted by their smallest index (forward
    order); with them (a rebuild in gradient-ready order) ``tensors[i]`` is the tensor
    of index ``tensor_indices[i]`` and the buckets stay in the order they closed."""
    if not bucket_size:
        raise ValueError("bucket_size must not be empty")
    limits = [int(limit) for limit in bucket_size]
    indices = list(tensor_indices) if len(tensor_indices) else list(range(len(tensors)))
    opened, closed = {}, []
    for position, tensor in enumerate(tensors):
        index = indices[position]
        if len(expect_sparse_gradient) and expect_sparse_gradient[index]:
            closed.append(([index], limits[0]))  # a sparse gradient gets its own bucket
            continue
        entry = opened.setdefault((tensor.dtype, str(tensor.device)), [[], 0, 0])
        entry[0].append(index)
        entry[1] += tensor.numel() * tensor.element_size()
        limit = limits[min(entry[2], len(limits) - 1)]
        if entry[1] >= limit:
            closed.append((entry[0], limit))
            entry[0], entry[1], entry[2] = [], 0, entry[2] + 1
    for members, _, used in opened.values():
        if members:
            closed.append((members, limits[min(used, len(limits) - 1)]))
    if not len(tensor_indices):
        closed.sort(key=lambda bucket: min(bucket[0]))
    return [list(b[0]) for b in closed], [b[1] for b in closed]
