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

# NumPy dtype codes that cannot become tensors: bytes, strings and Python objects.
np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, "
    "dicts or lists; found {}"
)


def default_convert(data):
    """Convert NumPy arrays and scalars (also inside containers) to tensors, without
    batching: the collate function DataLoader uses when ``batch_size=None``."""
    data_type = type(data)
    if isinstance(data, Tensor):
        return data
    if data_type.__module__ == "numpy" and data_type.__name__ not in ("str_", "string_"):
        if (data_type.__name__ == "ndarray"
                and np_str_obj_array_pattern.search(data.dtype.str) is not None):
            return data
        return _ember.as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update({key: default_convert(data[key]) for key in data})
                return clone
            return data_type({key: default_convert(data[key]) for key in data})
        except TypeError:  # the mapping type cannot be built from a dict
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return data_type(*(default_convert(item) for item in data))
    if isinstance(data, tuple):
        return [default_convert(item) for item in data]  # PyTorch returns a list here too
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, item in enumerate(data):
                    clone[i] = default_convert(item)
                return clone
            return data_type([default_convert(item) for item in data])
        except TypeError:
            return [default_convert(item) for item in data]
    return data


def collate(batch, *, collate_fn_map: dict[type | tuple[type, ...], Callable] | None = None):
    """Collate ``batch`` (a list of samples), dispatching leaves through ``collate_fn_map``
    (exact type first, then ``isinstance``) and recursing into containers."""
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)

    if isinstance(elem, collections.abc.Mapping):
        fields = {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                  for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update(fields)
                return clone
            return elem_type(fields)
        except TypeError:
            return fields
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map)
                           for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        elem_size = len(elem)
        if any(len(sample) != elem_size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        # each column stays the tuple zip() makes: strings come back as that tuple
        columns = [collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return columns  # PyTorch returns a list for tuples (backwards compatibility)
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, column in enumerate(columns):
                    clone[i] = column
                return clone
            return elem_type(columns)
        except TypeError:
            return columns
    raise TypeError(default_collate_err_msg_format.format(elem_type))


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
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    return collate([_ember.as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    return _ember.as_tensor(batch)


def collate_float_fn(batch, *, collate_fn_map=None):
    return _ember.tensor(batch, dtype=_ember.float64)


def collate_int_fn(batch, *, collate_fn_map=None):
    return _ember.tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


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
