"""Packed and padded variable-length sequences (as ``torch.nn.utils.rnn``).

A PackedSequence stores the time steps of a batch of sequences, sorted by decreasing
length, one after another: step t holds ``batch_sizes[t]`` rows. Packing, padding and
unpacking are each one gather (``index_select``) with an index built in NumPy from the
lengths, so they are differentiable and never loop over elements on the device.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from ..._ops.creation import as_tensor, full
from ..._ops.shape import cat
from ..._tensor import Tensor

__all__ = [
    "PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
    "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence",
]


class PackedSequence_(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(PackedSequence_):
    """Holds the packed ``data`` and the ``batch_sizes`` (rows per time step) of a batch
    of sequences; ``sorted_indices`` / ``unsorted_indices`` map between the caller's batch
    order and the length-sorted one. Build it with :func:`pack_padded_sequence` or
    :func:`pack_sequence`; every RNN module accepts it as input.
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        elif batch_sizes.device.type != "cpu":
            raise ValueError(
                "batch_sizes should always be on CPU. Instances of PackedSequence should never "
                "be created manually. They should be instantiated by functions like "
                "pack_sequence and pack_padded_sequences in nn.utils.rnn. "
                "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """Convert ``data`` (dtype and/or device); the indices follow its device. Returns
        ``self`` when nothing changes, as PyTorch does."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self

        def follow(index):
            return None if index is None else index.to(data.device)

        return type(self)(data, self.batch_sizes, follow(self.sorted_indices),
                          follow(self.unsorted_indices))

    def cuda(self, *args, **kwargs) -> PackedSequence:
        return self.to("cuda" if not args else args[0], **kwargs)

    def cpu(self, *args, **kwargs) -> PackedSequence:
        return self.to("cpu")

    def pin_memory(self) -> PackedSequence:
        return self

    def double(self):
        return self.to(dtype=_dtype("float64"))

    def float(self):
        return self.to(dtype=_dtype("float32"))

    def half(self):
        return self.to(dtype=_dtype("float16"))

    def long(self):
        return self.to(dtype=_dtype("int64"))

    def int(self):
        return self.to(dtype=_dtype("int32"))

    def short(self):
        return self.to(dtype=_dtype("int16"))

    def char(self):
        return self.to(dtype=_dtype("int8"))

    def byte(self):
        return self.to(dtype=_dtype("uint8"))

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def _dtype(name):
    import ember

    return getattr(ember, name)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a 1-D permutation (``out[permutation[i]] = i``), or None."""
    if permutation is None:
        return None
    order = np.asarray(permutation.cpu().numpy()).astype(np.int64)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size, dtype=np.int64)
    return as_tensor(inverse, device=permutation.device)


def _lengths_array(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        return np.asarray(lengths.cpu().numpy()).astype(np.int64).reshape(-1)
    return np.asarray(lengths, dtype=np.int64).reshape(-1)


def _batch_sizes(sorted_lengths: np.ndarray) -> np.ndarray:
    """Rows alive at each time step: ``batch_sizes[t] = #(lengths > t)``."""
    steps = np.arange(int(sorted_lengths[0]) if sorted_lengths.size else 0)
    return (sorted_lengths[None, :] > steps[:, None]).sum(1).astype(np.int64)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded (T, B, *) batch (B, T, * when ``batch_first``) of sequences with the
    given lengths. With ``enforce_sorted=False`` the batch is sorted by decreasing length
    first and the permutation is kept in the result.
    """
    lengths_np = _lengths_array(lengths)
    sorted_indices = None
    batch_dim = 0 if batch_first else 1
    if not enforce_sorted:
        order = np.argsort(-lengths_np, kind="stable")
        lengths_np = lengths_np[order]
        sorted_indices = as_tensor(order, device=input.device)
        input = input.index_select(batch_dim, sorted_indices)
    batch = input.shape[batch_dim]
    if lengths_np.size != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lengths_np.size} (batch_size={batch})")
    if lengths_np.size and lengths_np[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if np.any(lengths_np[1:] > lengths_np[:-1]):
        raise RuntimeError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
            "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
            "pack_sequence to sidestep this requirement if you do not need ONNX "
            "exportability.")
    batch_sizes = _batch_sizes(lengths_np)
    steps = input.shape[1 - batch_dim]
    time_idx, batch_idx = _packed_positions(batch_sizes)
    flat_index = batch_idx * steps + time_idx if batch_first else time_idx * batch + batch_idx
    flat = input.reshape((steps * batch,) + tuple(input.shape[2:]))
    data = flat.index_select(0, as_tensor(flat_index, device=input.device))
    return PackedSequence(data, as_tensor(batch_sizes, device="cpu"), sorted_indices, None)


def _packed_positions(batch_sizes: np.ndarray):
    """(time, batch) coordinates of each packed row, in packed order."""
    steps = batch_sizes.size
    width = int(batch_sizes[0]) if steps else 0
    alive = np.arange(width)[None, :] < batch_sizes[:, None]
    time_idx, batch_idx = np.nonzero(alive)
    return time_idx.astype(np.int64), batch_idx.astype(np.int64)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Inverse of :func:`pack_padded_sequence`: (padded batch, lengths), in the caller's
    original batch order."""
    batch_sizes = _lengths_array(sequence.batch_sizes)
    max_seq_length = batch_sizes.size
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{max_seq_length}")
        max_seq_length = total_length
    data = sequence.data
    batch = int(batch_sizes[0])
    rows = data.shape[0]
    # Index of each padded (time, batch) cell in data, or ``rows`` (the padding row).
    gather = np.full((max_seq_length, batch), rows, dtype=np.int64)
    time_idx, batch_idx = _packed_positions(batch_sizes)
    gather[time_idx, batch_idx] = np.arange(rows)
    if batch_first:
        gather = gather.T
    padding = full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype,
                   device=data.device)
    source = cat([data, padding], 0)
    padded = source.index_select(0, as_tensor(gather.reshape(-1), device=data.device))
    padded = padded.reshape(gather.shape + tuple(data.shape[1:]))
    lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(1).astype(np.int64)
    unsorted_indices = sequence.unsorted_indices
    if unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, unsorted_indices)
        lengths = lengths[_lengths_array(unsorted_indices)]
    return padded, as_tensor(lengths, device="cpu")  # on cpu, as PyTorch's


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack (L_i, *) sequences into (T, B, *) (or (B, T, *)), padding the short ones with
    ``padding_value`` on the right or the left."""
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    if not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg "
                           f"of type: {type(sequences)}")
    sequences = tuple(sequences)
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    first = sequences[0]
    trailing = tuple(first.shape[1:])
    for seq in sequences[1:]:
        if tuple(seq.shape[1:]) != trailing:
            _raise_trailing_mismatch(trailing, tuple(seq.shape[1:]))
    lengths = np.array([seq.shape[0] for seq in sequences], dtype=np.int64)
    longest = int(lengths.max())
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    total = int(lengths.sum())
    steps = np.arange(longest)[None, :]
    start = 0 if padding_side == "right" else (longest - lengths)[:, None]
    position = steps - start
    inside = (position >= 0) & (position < lengths[:, None])
    gather = np.where(inside, offsets[:, None] + position, total)  # (B, T)
    if not batch_first:
        gather = gather.T
    dtype, device = first.dtype, first.device
    padding = full((1,) + trailing, padding_value, dtype=dtype, device=device)
    parts = [seq if seq.dtype == dtype else seq.to(dtype) for seq in sequences]
    source = cat(parts + [padding], 0)
    padded = source.index_select(0, as_tensor(gather.reshape(-1), device=device))
    return padded.reshape(gather.shape + trailing)


def _raise_trailing_mismatch(expected, got):
    for dim, (a, b) in enumerate(zip(expected, got)):
        if a != b:
            raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b "
                               f"({b}) at non-singleton dimension {dim + 1}")
    raise RuntimeError(f"pad_sequence: trailing dimensions differ: {expected} and {got}")


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor,
                   batch_first: bool = False) -> list[Tensor]:
    """Split a padded batch back into its sequences (views of it, one per batch entry)."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:length] for seq, length in zip(padded_sequences, _lengths_array(lengths))]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """``pack_padded_sequence(pad_sequence(sequences), lengths)``."""
    lengths = [seq.size(0) for seq in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences a PackedSequence holds, in the original batch order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
