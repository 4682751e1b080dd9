"""Memory formats: ``torch.contiguous_format``, ``channels_last`` (NHWC order in memory for
an NCHW tensor), ``channels_last_3d`` (NDHWC) and ``preserve_format``.

A tensor's shape never changes with its format; only its strides do. A channels-last
tensor here is a NumPy/CuPy array that is C-contiguous when its axes are read in NHWC
order: ``ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)``. Array ops
keep the layout of their inputs (NumPy's ``order='K'``), so elementwise results stay
channels-last as in PyTorch.
"""

from __future__ import annotations

from ._backend.strided import strided_view


class memory_format:  # PyTorch's (lower-case) name
    """One of the memory-format constants (compared by identity)."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __repr__(self):
        return f"torch.{self._name}"

    def __reduce__(self):
        return self._name  # pickles as the module-level constant


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")

# Dims from fastest to slowest in memory, per format and rank.
_ORDER = {channels_last: (1, 3, 2, 0), channels_last_3d: (1, 4, 3, 2, 0)}
_RANK = {channels_last: 4, channels_last_3d: 5}

__all__ = ["channels_last", "channels_last_3d", "contiguous_format", "memory_format",
           "preserve_format"]


def canonical_strides(shape, fmt) -> tuple:
    """The element strides a fresh tensor of ``shape`` gets in ``fmt`` (size-0 and size-1
    dims included, counted as size 1 when multiplying, as PyTorch)."""
    order = _ORDER.get(fmt) or tuple(reversed(range(len(shape))))
    strides = [0] * len(shape)
    expected = 1
    for dim in order:
        strides[dim] = expected
        expected *= max(shape[dim], 1)
    return tuple(strides)


def has_canonical_strides(array, fmt) -> bool:
    itemsize = array.itemsize
    return tuple(s // itemsize for s in array.strides) == canonical_strides(array.shape, fmt)


def is_contiguous_as(array, fmt) -> bool:
    """Whether ``array``'s strides are the dense strides of ``fmt`` (dims of size 1 can have
    any stride, as PyTorch's check)."""
    if fmt is None or fmt is contiguous_format or fmt is preserve_format:
        return bool(array.flags.c_contiguous)
    order = _ORDER.get(fmt)
    if order is None:
        raise TypeError(f"expected a torch.memory_format, got {type(fmt).__name__}")
    if array.ndim != len(order):
        return False
    expected = 1
    itemsize = array.itemsize
    for dim in order:
        size = array.shape[dim]
        if size != 1:
            if array.strides[dim] != expected * itemsize:
                return False
            expected *= size
    return True


def check_rank(ndim: int, fmt) -> None:
    rank = _RANK.get(fmt)
    if rank is not None and ndim != rank:
        raise RuntimeError(f"required rank {rank} tensor to use {fmt._name} format")


def as_format(array, fmt, xp):
    """A copy of ``array`` with the canonical strides of ``fmt`` (channels-last or
    contiguous)."""
    if fmt is None or fmt is contiguous_format:
        return xp.ascontiguousarray(array)
    check_rank(array.ndim, fmt)
    strides = canonical_strides(array.shape, fmt)
    size = 1
    for extent in array.shape:
        size *= extent
    buffer = xp.empty(max(size, 1), dtype=array.dtype)
    out = strided_view(buffer, array.shape, tuple(s * array.itemsize for s in strides))
    out[...] = array
    return out


def suggest_format(array):
    """The format ``preserve_format`` keeps: channels-last when the array has exactly the
    channels-last strides (and not the contiguous ones), else None (contiguous)."""
    if array.ndim in (4, 5):
        fmt = channels_last if array.ndim == 4 else channels_last_3d
        if has_canonical_strides(array, fmt) and not has_canonical_strides(array, None):
            return fmt
    return None
