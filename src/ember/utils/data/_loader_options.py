"""DataLoader's argument rules: which option combinations are refused (in PyTorch's
order and with its messages) and which samplers a loader ends up with. Kept apart from
the iterators so ``dataloader.py`` reads as the loading machinery."""

from __future__ import annotations

from .datapipes.datapipe import IterDataPipe
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["checked_prefetch", "index_samplers", "refuse_map_options"]


class _InfiniteConstantSampler(Sampler):
    """The placeholder sampler of an IterableDataset: yields None forever."""

    def __iter__(self):
        while True:
            yield None


def checked_prefetch(num_workers, timeout, prefetch_factor, persistent_workers):
    """Validate the worker options and return ``prefetch_factor`` with its default (2
    when there are workers). PyTorch's ``if``/``elif`` chain, kept as a chain: each
    comparison runs only when the earlier checks passed, so which error a bad mix of
    options raises (a ValueError before a TypeError from comparing, say, ``"2" < 0``)
    is PyTorch's, and a prefetch_factor given with workers is not range-checked when
    it was None."""
    if num_workers < 0:
        raise ValueError("num_workers option should be non-negative; "
                         "use num_workers=0 to disable multiprocessing.")
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                         "let num_workers > 0 to enable multiprocessing, otherwise set "
                         "prefetch_factor to None.")
    elif num_workers > 0 and prefetch_factor is None:
        prefetch_factor = 2
    elif prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    return prefetch_factor


def refuse_map_options(dataset, shuffle, sampler, batch_sampler) -> None:
    """An IterableDataset decides its own order: sampler options are refused, and so is
    ``shuffle`` unless the dataset is a pipe (which applies it to its shufflers)."""
    refused = (("shuffle", shuffle, shuffle not in (False, None)
                and not isinstance(dataset, IterDataPipe)),
               ("sampler", sampler, sampler is not None),
               ("batch_sampler", batch_sampler, batch_sampler is not None))
    for name, value, given in refused:
        if given:
            raise ValueError("DataLoader with IterableDataset: expected unspecified "
                             f"{name} option, but got {name}={value}")


def index_samplers(dataset, iterable, batch_size, shuffle, sampler, batch_sampler,
                    drop_last, generator):
    """(sampler, batch_sampler, batch_size, drop_last) after the mutual-exclusion rules:
    a given batch_sampler replaces batch_size and drop_last, batch_size=None turns
    batching off, and the default sampler follows the dataset kind and ``shuffle``."""
    if shuffle and sampler is not None:
        raise ValueError("sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None:
        clashes = batch_size != 1 or shuffle or sampler is not None or drop_last
        if clashes:
            raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                             "shuffle, sampler, and drop_last")
        batch_size, drop_last = None, False
    elif drop_last and batch_size is None:
        raise ValueError("batch_size=None option disables auto-batching and is mutually "
                         "exclusive with drop_last")
    if sampler is None:
        sampler = (_InfiniteConstantSampler() if iterable
                   else RandomSampler(dataset, generator=generator) if shuffle
                   else SequentialSampler(dataset))
    if batch_sampler is None and batch_size is not None:
        batch_sampler = BatchSampler(sampler, batch_size, drop_last)
    return sampler, batch_sampler, batch_size, drop_last
