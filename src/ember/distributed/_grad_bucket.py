"""GradBucket (PyTorch's ``torch.distributed.GradBucket``): what a DDP communication hook
receives, one bucket of gradients flattened into one tensor.

A hook reads ``buffer()`` (the bucket's gradients, concatenated in ``parameters()``
order), communicates it and returns a ``torch.futures.Future`` of a tensor with the same
number of elements; DDP copies that tensor's slices back into the parameters' ``.grad``.
"""

from __future__ import annotations

__all__ = ["GradBucket"]


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
