"""Map-style pipes (``torch.utils.data.datapipes.map``): ``SequenceWrapper`` and the
``map``/``batch``/``concat``/``zip``/``shuffle`` forms."""

from __future__ import annotations

from typing import Callable

from ..datapipe import (
    IterDataPipe,
    MapDataPipe,
    _Batching,
    _check_pipes,
    _deepcopy_or_itself,
    _Shuffling,
    functional_datapipe,
)

__all__ = ["Batcher", "Concater", "Mapper", "SequenceWrapper", "Shuffler", "Zipper"]


class SequenceWrapperMapDataPipe(MapDataPipe):
    """Index a sequence (a deep copy by default, so the source is not changed through
    the pipe)."""

    def __init__(self, sequence, deepcopy: bool = True) -> None:
        if deepcopy:
            sequence = _deepcopy_or_itself(
                sequence, "The input sequence can not be deepcopied, please be aware of "
                "in-place modification would affect source data")
        self.sequence = sequence

    def __getitem__(self, index):
        return self.sequence[index]

    def __len__(self) -> int:
        return len(self.sequence)


@functional_datapipe("map")
class MapperMapDataPipe(MapDataPipe):
    """``fn`` applied to an item when it is read."""

    def __init__(self, datapipe, fn: Callable) -> None:
        self.datapipe, self.fn = datapipe, fn

    def __getitem__(self, index):
        return self.fn(self.datapipe[index])

    def __len__(self) -> int:
        return len(self.datapipe)


@functional_datapipe("batch")
class BatcherMapDataPipe(_Batching, MapDataPipe):
    """Item ``i`` is the ``DataChunk`` of items ``i*batch_size ...``; the last one is
    shorter unless ``drop_last``."""

    def __getitem__(self, index):
        batch = []
        try:
            for i in range(index * self.batch_size, (index + 1) * self.batch_size):
                batch.append(self.datapipe[i])
        except IndexError as e:
            if self.drop_last or not batch:
                raise IndexError(f"Index {index} is out of bound.") from e
        return self.wrapper_class(batch)

    def __len__(self) -> int:
        return self._num_batches(len(self.datapipe))


@functional_datapipe("concat")
class ConcaterMapDataPipe(MapDataPipe):
    """The inputs' indices one after another."""

    def __init__(self, *datapipes) -> None:
        _check_pipes(datapipes, MapDataPipe)
        self.datapipes = datapipes

    def __getitem__(self, index):
        offset = 0
        for dp in self.datapipes:
            if index - offset < len(dp):
                return dp[index - offset]
            offset += len(dp)
        raise IndexError(f"Index {index} is out of range.")

    def __len__(self) -> int:
        return sum(len(dp) for dp in self.datapipes)


@functional_datapipe("zip")
class ZipperMapDataPipe(MapDataPipe):
    """Tuples of the inputs' items at one index; as long as the shortest."""

    def __init__(self, *datapipes) -> None:
        _check_pipes(datapipes, MapDataPipe)
        self.datapipes = datapipes

    def __getitem__(self, index):
        items = []
        for dp in self.datapipes:
            try:
                items.append(dp[index])
            except IndexError as e:
                raise IndexError(
                    f"Index {index} is out of range for one of the input MapDataPipes {dp}."
                ) from e
        return tuple(items)

    def __len__(self) -> int:
        return min(len(dp) for dp in self.datapipes)


class ShufflerIterDataPipe(_Shuffling, IterDataPipe):
    """An iterable pipe over the map pipe's ``indices`` in a shuffled order: one
    ``random.Random.sample`` per iteration, seeded as the iterable ``Shuffler`` (so a
    ``set_seed`` seed gives PyTorch's order)."""

    def __init__(self, datapipe, *, indices: list | None = None) -> None:
        self.datapipe = datapipe
        self.indices = list(range(len(datapipe))) if indices is None else indices
        self._init_shuffling()

    def __iter__(self):
        if not self._enabled:
            for idx in self.indices:
                yield self.datapipe[idx]
            return
        self._reseed()
        order = self._rng.sample(self.indices, len(self.indices))
        while order:
            yield self.datapipe[order.pop()]

    def __len__(self) -> int:
        return len(self.datapipe)


# an iterable pipe reached from a map pipe: registered on MapDataPipe by hand, as PyTorch
MapDataPipe.register_datapipe_as_function("shuffle", ShufflerIterDataPipe)

Batcher = BatcherMapDataPipe
Concater = ConcaterMapDataPipe
Mapper = MapperMapDataPipe
SequenceWrapper = SequenceWrapperMapDataPipe
Shuffler = ShufflerIterDataPipe
Zipper = ZipperMapDataPipe
