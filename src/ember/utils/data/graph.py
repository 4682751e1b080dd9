"""``traverse_dps``: the graph of a pipe and the pipes it reads from.

PyTorch finds a pipe's inputs by pickling it and catching every DataPipe met on the way;
ember walks the pipe's attributes instead (through lists, tuples, dicts and sets), which
finds the same inputs without requiring picklable
functions.
"""

from __future__ import annotations

from typing import Any

from .dataset import IterableDataset
from .datapipes.datapipe import IterDataPipe, MapDataPipe

__all__ = ["DataPipe", "DataPipeGraph", "traverse_dps"]

DataPipe = IterDataPipe | MapDataPipe
DataPipeGraph = dict[int, tuple[Any, "DataPipeGraph"]]


def _is_pipe(obj) -> bool:
    return isinstance(obj, (IterDataPipe, MapDataPipe))


def _inputs(datapipe) -> list:
    """The pipes ``datapipe`` holds directly, in attribute order, without repeats."""
    found: list = []
    seen: set[int] = {id(datapipe)}

    def visit(value):
        if id(value) in seen:
            return
        seen.add(id(value))
        if _is_pipe(value):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                visit(item)

    for value in vars(datapipe).values():
        visit(value)
    return found


def traverse_dps(datapipe) -> DataPipeGraph:
    """``{id(dp): (dp, {id(input): (input, {...}), ...})}``; a pipe met again on its own
    path appears with an empty graph, so cycles end."""
    if not isinstance(datapipe, IterableDataset) and not _is_pipe(datapipe):
        raise RuntimeError(f"Expected `IterDataPipe` or `MapDataPipe`, but {type(datapipe)} "
                           "is found")
    return _traverse(datapipe, frozenset())


def _traverse(datapipe, on_path: frozenset) -> DataPipeGraph:
    key = id(datapipe)
    if key in on_path:
        return {key: (datapipe, {})}
    on_path = on_path | {key}
    sub: DataPipeGraph = {}
    for source in _inputs(datapipe):
        sub.update(_traverse(source, on_path))
    return {key: (datapipe, sub)}
