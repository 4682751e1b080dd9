"""One-input iterable pipes: map, filter, collate, batch, unbatch, groupby, shuffle and
sharding_filter, plus ``IterableWrapper``, the usual source."""

from __future__ import annotations

from collections import defaultdict
from enum import IntEnum
from typing import Any, Callable

from ..._collate import default_collate
from ..datapipe import (
    DataChunk,
    IterDataPipe,
    _Batching,
    _deepcopy_or_itself,
    _len_or_raise,
    _Shuffling,
    functional_datapipe,
)

__all__ = [
    "BatcherIterDataPipe", "CollatorIterDataPipe", "FilterIterDataPipe",
    "GrouperIterDataPipe", "IterableWrapperIterDataPipe", "MapperIterDataPipe",
    "SHARDING_PRIORITIES", "ShardingFilterIterDataPipe", "ShufflerIterDataPipe",
    "UnBatcherIterDataPipe",
]


class IterableWrapperIterDataPipe(IterDataPipe):
    """Wrap an iterable; with ``deepcopy`` (default) each iteration walks a deep copy, so
    in-place changes downstream do not leak into the source (falls back to the object
    itself, with PyTorch's warning, when it cannot be deep-copied)."""

    def __init__(self, iterable, deepcopy: bool = True) -> None:
        self.iterable = iterable
        self.deepcopy = deepcopy

    def __iter__(self):
        source = self.iterable
        if self.deepcopy:
            source = _deepcopy_or_itself(
                source, "The input iterable can not be deepcopied, please be aware of "
                "in-place modification would affect source data.")
        yield from source

    def __len__(self) -> int:
        return _len_or_raise(self, self.iterable)[0]


def _call_on_columns(fn, data, input_col):
    """``fn`` on the whole item, or on ``data[input_col]`` (a key or index, or several:
    ``fn(*columns)``)."""
    if input_col is None:
        return fn(data)
    if isinstance(input_col, (list, tuple)):
        return fn(*(data[col] for col in input_col))
    return fn(data[input_col])


def _apply_on_column(fn, data, input_col, output_col):
    """``_call_on_columns``, the result written back to ``output_col`` (default: the input
    column; -1 appends to a list) unless ``fn`` took the whole item."""
    result = _call_on_columns(fn, data, input_col)
    if input_col is None:
        return result
    was_tuple = isinstance(data, tuple)
    if was_tuple:
        data = list(data)
    if output_col is None:
        if isinstance(input_col, (list, tuple)):
            data[input_col[0]] = result
            for col in sorted(input_col[1:], reverse=True):
                del data[col]
        else:
            data[input_col] = result
    elif output_col == -1 and isinstance(data, list):
        data.append(result)
    else:
        data[output_col] = result
    return tuple(data) if was_tuple else data


@functional_datapipe("map")
class MapperIterDataPipe(IterDataPipe):
    """``fn`` applied to every item (or to ``input_col`` of it, see ``_apply_on_column``)."""

    def __init__(self, datapipe, fn: Callable, input_col=None, output_col=None) -> None:
        if input_col is None and output_col is not None:
            raise ValueError("`output_col` must be None when `input_col` is None.")
        if isinstance(output_col, (list, tuple)):
            if len(output_col) > 1:
                raise ValueError("`output_col` must be a single-element list or tuple")
            output_col = output_col[0]
        self.datapipe, self.fn = datapipe, fn
        self.input_col, self.output_col = input_col, output_col

    def _apply_fn(self, data):
        if isinstance(data, list) and self.input_col is not None:
            data = list(data)  # the caller's list stays as it was
        elif isinstance(data, dict) and self.input_col is not None:
            data = dict(data)
        return _apply_on_column(self.fn, data, self.input_col, self.output_col)

    def __iter__(self):
        for data in self.datapipe:
            yield self._apply_fn(data)

    def __len__(self) -> int:
        return _len_or_raise(self, self.datapipe)[0]


@functional_datapipe("collate")
class CollatorIterDataPipe(MapperIterDataPipe):
    """``map`` with a collate function (default ``default_collate``)."""

    def __init__(self, datapipe, conversion=default_collate, collate_fn=None) -> None:
        if collate_fn is not None:
            super().__init__(datapipe, fn=collate_fn)
        elif callable(conversion):
            super().__init__(datapipe, fn=conversion)
        else:
            raise NotImplementedError("collate conversion must be a callable")


@functional_datapipe("filter")
class FilterIterDataPipe(IterDataPipe):
    """Items for which ``filter_fn`` (on the item or its ``input_col``) is true; the
    predicate must return a bool, as PyTorch checks."""

    def __init__(self, datapipe, filter_fn: Callable, input_col=None) -> None:
        self.datapipe, self.filter_fn, self.input_col = datapipe, filter_fn, input_col

    def __iter__(self):
        for data in self.datapipe:
            keep = _call_on_columns(self.filter_fn, data, self.input_col)
            if not isinstance(keep, bool) and type(keep).__name__ != "bool_":
                raise ValueError(
                    f"Boolean output is required for `filter_fn` of FilterIterDataPipe, "
                    f"got {type(keep)}."
                )
            if keep:
                yield data

    def __len__(self):
        raise TypeError(f"{type(self).__name__} instance doesn't have valid length")


@functional_datapipe("batch")
class BatcherIterDataPipe(_Batching, IterDataPipe):
    """Consecutive items in ``DataChunk``s of ``batch_size`` (the last one shorter unless
    ``drop_last``)."""

    def __iter__(self):
        batch = []
        for item in self.datapipe:
            batch.append(item)
            if len(batch) == self.batch_size:
                yield self.wrapper_class(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.wrapper_class(batch)

    def __len__(self) -> int:
        return self._num_batches(_len_or_raise(self, self.datapipe)[0])


@functional_datapipe("unbatch")
class UnBatcherIterDataPipe(IterDataPipe):
    """Open ``unbatch_level`` levels of lists (-1: all of them)."""

    def __init__(self, datapipe, unbatch_level: int = 1) -> None:
        self.datapipe, self.unbatch_level = datapipe, unbatch_level

    def __iter__(self):
        for element in self.datapipe:
            yield from self._dive(element, self.unbatch_level)

    def _dive(self, element, level):
        if level < -1:
            raise ValueError("unbatch_level must be -1 or >= 0")
        if level == 0:
            yield element
        elif isinstance(element, list):  # DataChunk is a list
            for item in element:
                yield from self._dive(item, level if level == -1 else level - 1)
        elif level == -1:
            yield element
        else:
            raise IndexError(
                f"unbatch_level {self.unbatch_level} exceeds the depth of the DataPipe"
            )


@functional_datapipe("groupby")
class GrouperIterDataPipe(IterDataPipe):
    """Group items by ``group_key_fn`` in a buffer of ``buffer_size`` items.

    A group is yielded when it reaches ``group_size``; when the buffer is full the largest
    group leaves (dropped when below ``guaranteed_group_size`` and ``drop_remaining``, an
    error otherwise); the rest leave at the end in first-seen key order. With
    ``keep_key`` each group comes as ``(key, group)``; as PyTorch's, a group evicted from a
    full buffer is paired with the key of the item that filled it.
    """

    def __init__(self, datapipe, group_key_fn: Callable, *, keep_key: bool = False,
                 buffer_size: int = 10000, group_size: int | None = None,
                 guaranteed_group_size: int | None = None, drop_remaining: bool = False):
        self.datapipe, self.group_key_fn, self.keep_key = datapipe, group_key_fn, keep_key
        self.max_buffer_size = buffer_size
        self.group_size = group_size
        self.guaranteed_group_size = None
        if group_size is not None and buffer_size is not None:
            if not 0 < group_size <= buffer_size:
                raise AssertionError("group_size must be > 0 and <= buffer_size")
            self.guaranteed_group_size = group_size
        if guaranteed_group_size is not None:
            if group_size is None or not 0 < guaranteed_group_size <= group_size:
                raise AssertionError(
                    "guaranteed_group_size must be > 0 and <= group_size and group_size "
                    "must be set"
                )
            self.guaranteed_group_size = guaranteed_group_size
        self.drop_remaining = drop_remaining
        self.wrapper_class = DataChunk

    def _pop_biggest(self, buffer):
        """Take the first of the largest groups out of ``buffer``: (group, whether it is
        yielded); one below ``guaranteed_group_size`` is dropped, or an error."""
        group = buffer.pop(max(buffer, key=lambda k: len(buffer[k])))
        if self.guaranteed_group_size is not None and len(group) < self.guaranteed_group_size:
            if not self.drop_remaining:
                raise RuntimeError("Failed to group items", str(group))
            return group, False
        return group, True

    def _out(self, key, group):
        group = self.wrapper_class(group)
        return (key, group) if self.keep_key else group

    def __iter__(self):
        buffer: dict[Any, list] = defaultdict(list)
        size = 0
        for item in self.datapipe:
            key = self.group_key_fn(item)
            buffer[key].append(item)
            size += 1
            if self.group_size is not None and len(buffer[key]) == self.group_size:
                yield self._out(key, buffer[key])
                size -= len(buffer.pop(key))
            if size == self.max_buffer_size:
                group, kept = self._pop_biggest(buffer)
                size -= len(group)
                if kept:
                    yield self._out(key, group)
        for key in tuple(buffer):
            yield self._out(key, buffer.pop(key))


@functional_datapipe("shuffle")
class ShufflerIterDataPipe(_Shuffling, IterDataPipe):
    """Shuffle through a ``buffer_size`` reservoir with a Python ``random.Random``.

    Each iteration seeds the RNG from ``set_seed``'s seed if one was given (used once),
    else from ember's global generator, so ``manual_seed`` makes it repeatable. With a
    given seed the order is PyTorch's exactly (same reservoir rule, same Python RNG).
    ``set_shuffle(False)`` (DataLoader ``shuffle=False``) passes items through.
    """

    def __init__(self, datapipe, *, buffer_size: int = 10000, unbatch_level: int = 0):
        if buffer_size <= 0:
            raise AssertionError("buffer_size should be larger than 0")
        self.datapipe = datapipe if unbatch_level == 0 else datapipe.unbatch(unbatch_level)
        self.buffer_size = buffer_size
        self._init_shuffling()

    def reset(self) -> None:
        if self._enabled:
            self._reseed()

    def __iter__(self):
        self.reset()
        if not self._enabled:
            yield from self.datapipe
            return
        buffer = []
        for item in self.datapipe:
            if len(buffer) == self.buffer_size:
                idx = self._rng.randint(0, len(buffer) - 1)
                item, buffer[idx] = buffer[idx], item
                yield item
            else:
                buffer.append(item)
        while buffer:
            yield buffer.pop(self._rng.randint(0, len(buffer) - 1))

    def __len__(self) -> int:
        return _len_or_raise(self, self.datapipe)[0]


class SHARDING_PRIORITIES(IntEnum):
    DEFAULT = 1
    DISTRIBUTED = 2
    MULTIPROCESSING = 3


@functional_datapipe("sharding_filter")
class ShardingFilterIterDataPipe(IterDataPipe):
    """Keep every ``num_of_instances``-th item starting at ``instance_id``, as set by
    ``apply_sharding`` (DataLoader workers call it). Sharding groups of several
    priorities combine into one instance numbering, the highest priority varying
    fastest, as PyTorch's."""

    def __init__(self, source_datapipe, sharding_group_filter=None) -> None:
        self.source_datapipe = source_datapipe
        self.sharding_group_filter = sharding_group_filter
        self.groups: dict[int, tuple[int, int]] = {}
        self.num_of_instances = 1
        self.instance_id = 0
        self._update_num_of_instances()

    def apply_sharding(self, num_of_instances, instance_id,
                       sharding_group=SHARDING_PRIORITIES.DEFAULT):
        if instance_id >= num_of_instances:
            raise ValueError(
                f"instance_id({instance_id}) should be smaller than "
                f"num_of_instances({num_of_instances})"
            )
        is_default = sharding_group == SHARDING_PRIORITIES.DEFAULT
        if self.groups and is_default != (SHARDING_PRIORITIES.DEFAULT in self.groups):
            raise RuntimeError("ShardingFilter cannot mix DEFAULT and non DEFAULT groups")
        self.groups[sharding_group] = (num_of_instances, instance_id)
        self._update_num_of_instances()

    def _update_num_of_instances(self):
        chosen = [self.groups[key] for key in sorted(self.groups)
                  if self.sharding_group_filter is None or key == self.sharding_group_filter]
        self.num_of_instances, self.instance_id = 1, 0
        for group_instances, group_id in reversed(chosen):
            self.instance_id += self.num_of_instances * group_id
            self.num_of_instances *= group_instances

    def is_shardable(self):
        return True

    def __iter__(self):
        for i, item in enumerate(self.source_datapipe):
            if i % self.num_of_instances == self.instance_id:
                yield item

    def __len__(self) -> int:
        n = _len_or_raise(self, self.source_datapipe)[0]
        return n // self.num_of_instances + (1 if self.instance_id < n % self.num_of_instances
                                             else 0)
