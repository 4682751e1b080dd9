"""``default_collate`` / ``default_convert``: turn a list of samples into a batch.

The rules follow PyTorch's so a dataset written for ``torch.utils.data`` batches the same
way: tensors are stacked along a new first dimension, NumPy arrays and scalars become
tensors, Python floats become float64 tensors and ints int64 (bools stay bool), strings
and bytes are kept as a list, and containers (mappings, namedtuples, sequences) are
collated field by field. In a worker process the stacked batch is written straight into
shared memory, so sending it to the main process copies nothing.
"""

from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable

import numpy as np

import ember as _ember

from ..._tensor import Tensor, _make
from . import _shared, _worker

# NumPy dtype kinds that cannot become tensors: bytes (S, a), str (U), Python objects (O).
# The public names are PyTorch's, which user collate functions import.
np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = ("default_collate: batch must contain tensors, numpy "
                                  "arrays, numbers, dicts or lists; found {}")

_Mapping, _Sequence = collections.abc.Mapping, collections.abc.Sequence


def _holds_text(array) -> bool:
    return bool(np_str_obj_array_pattern.search(array.dtype.str))


def _rebuild(template, values):
    """A container like ``template`` holding ``values`` (a dict for a mapping, a list
    for a sequence), as PyTorch builds it: a mutable container is copied and filled, so
    its type and extra attributes survive; another is called with the values; a type
    that cannot be built that way gives the plain dict or list."""
    mutable = (collections.abc.MutableMapping if isinstance(template, _Mapping)
               else collections.abc.MutableSequence)
    try:
        if not isinstance(template, mutable):
            return type(template)(values)
        clone = copy.copy(template)
        if isinstance(values, dict):
            clone.update(values)
        else:
            for index, value in enumerate(values):
                clone[index] = value
        return clone
    except TypeError:
        return values


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def default_convert(data):
    """Convert NumPy arrays and scalars (also inside containers) to tensors, without
    batching: the collate function DataLoader uses when ``batch_size=None``."""
    if isinstance(data, Tensor):
        return data
    kind = type(data)
    if kind.__module__ == "numpy" and kind.__name__ not in ("str_", "string_"):
        # text and object arrays have no tensor form and pass through as they are
        text_array = isinstance(data, np.ndarray) and _holds_text(data)
        return data if text_array else _ember.as_tensor(data)
    if isinstance(data, _Mapping):
        return _rebuild(data, {key: default_convert(data[key]) for key in data})
    if _is_namedtuple(data):
        return kind(*map(default_convert, data))
    if isinstance(data, tuple):
        return list(map(default_convert, data))  # a list, as PyTorch returns
    if isinstance(data, _Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild(data, list(map(default_convert, data)))
    return data


def _leaf_collator(elem, collate_fn_map):
    """The ``collate_fn_map`` entry for ``elem``: its exact type wins, then the first
    entry that ``elem`` is an instance of, in the map's order."""
    if not collate_fn_map:
        return None
    exact = collate_fn_map.get(type(elem))
    if exact is not None:
        return exact
    return next((fn for key, fn in collate_fn_map.items() if isinstance(elem, key)), None)


def collate(batch, *, collate_fn_map: dict[type | tuple[type, ...], Callable] | None = None):
    """Collate ``batch`` (a list of samples), dispatching leaves through ``collate_fn_map``
    (exact type first, then ``isinstance``) and recursing into containers."""
    first = batch[0]
    leaf = _leaf_collator(first, collate_fn_map)
    if leaf is not None:
        return leaf(batch, collate_fn_map=collate_fn_map)

    def down(samples):
        return collate(samples, collate_fn_map=collate_fn_map)

    if isinstance(first, _Mapping):
        return _rebuild(first, {key: down([sample[key] for sample in batch])
                                for key in first})
    if _is_namedtuple(first):
        return type(first)(*map(down, zip(*batch)))
    if isinstance(first, _Sequence):
        if len({len(sample) for sample in batch}) > 1:
            raise RuntimeError("each element in list of batch should be of equal size")
        # one batch per position; a column of strings stays the tuple zip() made
        columns = [down(column) for column in zip(*batch)]
        # PyTorch gives tuples back as lists (kept for backwards compatibility)
        return columns if isinstance(first, tuple) else _rebuild(first, columns)
    raise TypeError(default_collate_err_msg_format.format(type(first)))


def _stack_into_shared(batch):
    """``stack(batch)`` written into a shared-memory segment (worker fast path), or None
    when the batch needs the general ``stack`` (mixed dtypes/shapes, autograd, GPU)."""
    first = batch[0]._data
    if not isinstance(first, np.ndarray):
        return None
    for tensor in batch:
        array = tensor._data
        if (not isinstance(array, np.ndarray) or array.shape != first.shape
                or array.dtype != first.dtype or tensor._requires_grad):
            return None
    out = _shared.shared_empty((len(batch),) + first.shape, first.dtype)
    np.stack([tensor._data for tensor in batch], out=out)
    return _make(out)


def collate_tensor_fn(batch, *, collate_fn_map=None):
    if _worker._worker_info is not None:  # in a worker: stack into shared memory
        stacked = _stack_into_shared(batch)
        if stacked is not None:
            return stacked
    return _ember.stack(batch, 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    if _holds_text(batch[0]):
        raise TypeError(default_collate_err_msg_format.format(batch[0].dtype))
    return collate(list(map(_ember.as_tensor, batch)), collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    return _ember.as_tensor(batch)


def collate_float_fn(batch, *, collate_fn_map=None):
    return _ember.tensor(batch, dtype=_ember.float64)


def collate_int_fn(batch, *, collate_fn_map=None):
    return _ember.tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


# leaf type -> its collate function; PyTorch's public name, which users extend
default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch):
    """Stack a list of samples into a batch, as ``torch.utils.data.default_collate``.

    Example::

        >>> default_collate([(tensor([1, 2]), 0), (tensor([3, 4]), 1)])
        [tensor([[1, 2],
                [3, 4]]), tensor([0, 1])]
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
