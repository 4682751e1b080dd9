"""``header``, ``enumerate`` and ``in_batch_shuffle``: pipes torchdata added on top of
PyTorch's (torch 2.13 itself does not register these names). They follow torchdata's
behaviour and are tested against plain Python (``itertools.islice``, ``enumerate``,
``random.Random.sample``), there being no PyTorch oracle.
"""

from __future__ import annotations

import warnings

from ..datapipe import DataChunk, IterDataPipe, _len_or_raise, _Shuffling, functional_datapipe

__all__ = ["EnumeratorIterDataPipe", "HeaderIterDataPipe", "InBatchShufflerIterDataPipe"]


@functional_datapipe("header")
class HeaderIterDataPipe(IterDataPipe):
    """The first ``limit`` items (None: all of them)."""

    def __init__(self, source_datapipe, limit: int | None = 10) -> None:
        self.source_datapipe = source_datapipe
        self.limit = limit

    def __iter__(self):
        for i, item in enumerate(self.source_datapipe):
            if self.limit is not None and i >= self.limit:
                return
            yield item

    def __len__(self) -> int:
        if self.limit is None:
            return _len_or_raise(self, self.source_datapipe)[0]
        try:
            return min(self.limit, len(self.source_datapipe))
        except TypeError:
            warnings.warn(
                "The length of this HeaderIterDataPipe is inferred to be equal to its limit."
                "The actual value may be smaller if the actual length of source_datapipe is "
                "smaller than the limit.",
                stacklevel=2,
            )
            return self.limit


@functional_datapipe("enumerate")
class EnumeratorIterDataPipe(IterDataPipe):
    """``(index, item)`` pairs counting from ``starting_index``."""

    def __init__(self, source_datapipe, starting_index: int = 0) -> None:
        self.source_datapipe = source_datapipe
        self.starting_index = starting_index

    def __iter__(self):
        yield from enumerate(self.source_datapipe, self.starting_index)

    def __len__(self) -> int:
        return _len_or_raise(self, self.source_datapipe)[0]


@functional_datapipe("in_batch_shuffle")
class InBatchShufflerIterDataPipe(_Shuffling, IterDataPipe):
    """Each batch (a list) in a shuffled order; the batches keep their order. Seeded as
    ``shuffle`` (``set_seed``, or ember's global generator per iteration), and turned
    off by ``set_shuffle(False)`` or a DataLoader's ``shuffle=False``."""

    def __init__(self, datapipe) -> None:
        self.datapipe = datapipe
        self._init_shuffling()

    def __iter__(self):
        if not self._enabled:
            yield from self.datapipe
            return
        self._reseed()
        for batch in self.datapipe:
            shuffled = self._rng.sample(batch, len(batch))
            yield DataChunk(shuffled) if isinstance(batch, DataChunk) else shuffled

    def __len__(self) -> int:
        return _len_or_raise(self, self.datapipe)[0]
