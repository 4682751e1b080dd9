"""``nested.narrow`` and ``nested.masked_select``: nested tensors cut out of a strided one.

``narrow`` with the jagged layout is a view: each entry is a window of its row of the
source (start and length per row), the packed ``values()`` are the source with its first
two dims merged, and ``lengths()`` records the windows since they leave holes between
entries (a KV cache filled to a different length per sequence is the typical use). With
the strided layout it is PyTorch's older path: a copy, narrowed along the batch dim.
``masked_select`` keeps, per row of the last dim, the elements the mask selects.
"""

from __future__ import annotations

import ember

from ..sparse._layout import strided
from ._nested_tensor import NestedTensor, as_nested_tensor, jagged, nested_tensor_from_jagged

__all__ = ["masked_select", "narrow"]


def _row_values(value, batch, device):
    """An int or a per-row tensor as ``batch`` int64 values."""
    if not isinstance(value, ember.Tensor):
        value = ember.tensor([int(value)], dtype=ember.int64, device=device)
    return value.to(ember.int64).expand(batch)


def narrow(tensor, dim, start, length, layout=strided):
    """A nested tensor of ``tensor``'s rows, each narrowed along ``dim`` to
    ``[start, start + length)``; ``start`` and ``length`` may be tensors with one value per
    row (jagged layout only, and only ``dim=1``, where the result views ``tensor``).

    Example::

        >>> base = torch.randn(5, 10, 20)
        >>> nt = torch.nested.narrow(base, 1, torch.tensor([0, 1, 2, 3, 4]),
        ...                          torch.tensor([3, 2, 2, 1, 5]), layout=torch.jagged)
        >>> nt.is_contiguous()
        False
    """
    if not isinstance(start, (int, ember.Tensor)):
        raise RuntimeError("start must be an integer or a tensor")
    if not isinstance(length, (int, ember.Tensor)):
        raise RuntimeError("length must be an integer or a tensor")
    if layout is strided:
        if isinstance(start, ember.Tensor) or isinstance(length, ember.Tensor):
            raise RuntimeError("start and length must be integers for the strided layout NT "
                               "impl")
        rows = [row.clone() for row in tensor.unbind(0)]  # the strided layout copies
        return as_nested_tensor(rows, layout=strided).narrow(dim, start, length)
    if layout is not jagged:
        raise RuntimeError(f"Specified layout is unsupported for nested narrow: {layout}")
    if dim != 1:
        raise RuntimeError("jagged layout only supports dim=1")
    batch, width = tensor.shape[0], tensor.shape[1]
    starts = _row_values(start, batch, tensor.device)
    lengths = _row_values(length, batch, tensor.device)
    values = tensor.reshape((batch * width,) + tuple(tensor.shape[2:]))
    firsts = starts + ember.arange(batch, device=tensor.device) * width
    offsets = ember.cat([firsts, (firsts[-1:] + lengths[-1:])])
    bounds = list(zip(firsts.tolist(), lengths.tolist()))
    if any(first < 0 or size < 0 or first + size > values.shape[0] for first, size in bounds):
        raise RuntimeError(
            "unbind(): nested tensor offsets and lengths do not match ragged_idx dimension")
    entries = [values[first:first + size] for first, size in bounds]
    return NestedTensor(entries, jagged, values=values, offsets=offsets, lengths=lengths)


def masked_select(tensor, mask):
    """A jagged nested tensor with one entry per row of ``tensor``'s last dim: the
    elements of that row where ``mask`` (broadcast to ``tensor``'s shape) is True.

    Example::

        >>> tensor = torch.randn(3, 3)
        >>> mask = torch.tensor([[False, False, True], [True, False, True],
        ...                      [False, False, True]])
        >>> torch.nested.masked_select(tensor, mask).offsets().diff()
        tensor([1, 2, 1])
    """
    if tensor.layout is not strided:
        raise RuntimeError(f"torch.nested.masked_select requires a strided tensor, given "
                           f"{tensor.layout}")
    if mask.layout is not strided:
        raise RuntimeError(f"torch.nested.masked_select requires a strided mask, given: "
                           f"{mask.layout}")
    values = tensor.masked_select(mask)
    lengths = mask.expand(tensor.shape).sum(dim=tensor.ndim - 1).reshape(-1)
    offsets = ember.nn.functional.pad(lengths.cumsum(dim=0), (1, 0))
    return nested_tensor_from_jagged(values, offsets)
