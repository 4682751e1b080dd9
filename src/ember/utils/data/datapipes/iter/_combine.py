"""Pipes of several inputs or outputs: concat, zip, mux, fork and demux.

``fork`` and ``demux`` children share one container that walks the source once and
buffers items for the children that lag behind, up to ``buffer_size`` (-1: unbounded).
"""

from __future__ import annotations

import copy as copymodule
import warnings
from collections import deque
from typing import Callable

from ..datapipe import IterDataPipe, _check_pipes, _len_or_raise, functional_datapipe

__all__ = ["ConcaterIterDataPipe", "DemultiplexerIterDataPipe", "ForkerIterDataPipe",
           "MultiplexerIterDataPipe", "ZipperIterDataPipe"]


@functional_datapipe("concat")
class ConcaterIterDataPipe(IterDataPipe):
    """The inputs one after another."""

    def __init__(self, *datapipes) -> None:
        _check_pipes(datapipes, IterDataPipe)
        self.datapipes = datapipes

    def __iter__(self):
        for dp in self.datapipes:
            yield from dp

    def __len__(self) -> int:
        return sum(_len_or_raise(self, *self.datapipes))


@functional_datapipe("zip")
class ZipperIterDataPipe(IterDataPipe):
    """Tuples of one item from each input, up to the shortest."""

    def __init__(self, *datapipes) -> None:
        if not all(isinstance(dp, IterDataPipe) for dp in datapipes):
            raise TypeError("All inputs are required to be `IterDataPipe` for `ZipIterDataPipe`.")
        self.datapipes = datapipes

    def __iter__(self):
        yield from zip(*self.datapipes)

    def __len__(self) -> int:
        return min(_len_or_raise(self, *self.datapipes))


@functional_datapipe("mux")
class MultiplexerIterDataPipe(IterDataPipe):
    """One item from each input in turn; stops, dropping the unfinished round, as soon as
    any input runs out (PyTorch's rule)."""

    def __init__(self, *datapipes) -> None:
        self.datapipes = datapipes

    def __iter__(self):
        iterators = [iter(dp) for dp in self.datapipes]
        while iterators:
            round_items = []
            for it in iterators:
                try:
                    round_items.append(next(it))
                except StopIteration:
                    return
            yield from round_items

    def __len__(self) -> int:
        lengths = _len_or_raise(self, *self.datapipes)
        return min(lengths) * len(lengths)


class _Container(IterDataPipe):
    """The shared state of fork/demux children: one source iterator, one queue per child.

    ``route(item)`` gives the (child, value) pairs an item goes to. A child starting a new
    iteration while its previous one ran restarts everyone (a fresh epoch), as PyTorch.
    It is a pipe itself (between the children and the source in ``traverse_dps``, as
    PyTorch's); iterating it directly walks the source.
    """

    def __init__(self, kind, datapipe, num_instances, buffer_size, route, usage):
        self.kind = kind
        self.main_datapipe = datapipe
        self.num_instances = num_instances
        self.buffer_size = buffer_size
        if buffer_size < 0:
            warnings.warn(
                f"Unlimited buffer size is set for `{kind}`, please be aware of OOM at random "
                "places",
                UserWarning,
                stacklevel=3,
            )
        self.route = route
        self.usage = usage  # queues, requesting child -> items held for the others
        self._source = None
        self._queues = [deque() for _ in range(num_instances)]
        self._started = [False] * num_instances

    def __iter__(self):
        yield from self.main_datapipe

    def start(self, child_id):
        if self._source is None or self._started[child_id]:
            self._source = iter(self.main_datapipe)
            self._queues = [deque() for _ in range(self.num_instances)]
            self._started = [False] * self.num_instances
        self._started[child_id] = True
        return self._source

    def next_for(self, child_id, source):
        """The next value of ``child_id``; StopIteration at the end of the source."""
        queue = self._queues[child_id]
        while not queue:
            if source is not self._source:  # another child restarted the epoch
                raise StopIteration
            for target, value in self.route(next(source)):
                self._queues[target].append(value)
            if 0 <= self.buffer_size < self.usage(self._queues, child_id):
                # PyTorch's texts (the fork one lacks a space after the comma)
                raise BufferError(
                    f"ForkerIterDataPipe buffer overflow,buffer size {self.buffer_size} is "
                    "insufficient." if self.kind == "fork" else
                    f"DemultiplexerIterDataPipe buffer overflow, buffer size {self.buffer_size} "
                    "is insufficient."
                )
        return queue.popleft()


class _ForkerIterDataPipe(_Container):
    pass


class _DemultiplexerIterDataPipe(_Container):
    pass


class _ChildDataPipe(IterDataPipe):
    """One output of ``fork`` or ``demux``."""

    def __init__(self, main_datapipe: _Container, instance_id: int) -> None:
        self.main_datapipe = main_datapipe
        self.instance_id = instance_id

    def __iter__(self):
        container = self.main_datapipe
        source = container.start(self.instance_id)
        while True:
            try:
                value = container.next_for(self.instance_id, source)
            except StopIteration:
                return
            yield value

    def __len__(self) -> int:
        if self.main_datapipe.kind != "fork":
            raise TypeError(f"{type(self).__name__} instance doesn't have valid length")
        return len(self.main_datapipe.main_datapipe)


def _check_num_instances(num_instances):
    if num_instances < 1:
        raise ValueError(f"Expected `num_instances` larger than 0, but {num_instances} is found")


@functional_datapipe("fork")
class ForkerIterDataPipe(IterDataPipe):
    """``num_instances`` pipes that each yield every item (one source pass; ``copy``:
    None, "shallow" or "deep" copies per child). One instance returns the input."""

    def __new__(cls, datapipe, num_instances: int, buffer_size: int = 1000, copy=None):
        _check_num_instances(num_instances)
        if num_instances == 1:
            return datapipe
        copiers = {None: lambda v: v, "shallow": copymodule.copy, "deep": copymodule.deepcopy}
        if copy not in copiers:
            raise ValueError(
                f"Unknown copy method `{copy}` requested, choose one of None, `shallow` or `deep`."
            )
        copier = copiers[copy]
        children = range(num_instances)

        def route(item):
            return [(i, copier(item)) for i in children]

        def usage(queues, child_id):
            return max(len(q) for q in queues)

        container = _ForkerIterDataPipe("fork", datapipe, num_instances, buffer_size, route, usage)
        return [_ChildDataPipe(container, i) for i in children]


@functional_datapipe("demux")
class DemultiplexerIterDataPipe(IterDataPipe):
    """``num_instances`` pipes; ``classifier_fn(item)`` picks the one each item goes to
    (None: dropped when ``drop_none``, else an error)."""

    def __new__(cls, datapipe, num_instances: int, classifier_fn: Callable,
                drop_none: bool = False, buffer_size: int = 1000):
        _check_num_instances(num_instances)

        def route(item):
            target = classifier_fn(item)
            if target is None and drop_none:
                return []
            if target is None or not 0 <= target < num_instances:
                raise ValueError(
                    f"Output of the classification fn should be between 0 and "
                    f"{num_instances - 1}. {target} is returned."
                )
            return [(target, item)]

        def usage(queues, child_id):
            return sum(len(q) for i, q in enumerate(queues) if i != child_id)

        container = _DemultiplexerIterDataPipe(
            "demux", datapipe, num_instances, buffer_size, route, usage)
        return [_ChildDataPipe(container, i) for i in range(num_instances)]
