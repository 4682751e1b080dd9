"""DistributedSampler: each of ``num_replicas`` processes reads its own slice of the data.

The index list (shuffled from ``seed + epoch`` so every replica builds the same one) is
padded by repetition, or cut with ``drop_last``, to a multiple of ``num_replicas``; replica
``rank`` then takes every ``num_replicas``-th index starting at ``rank``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import ember as _ember

from .sampler import Sampler

__all__ = ["DistributedSampler"]


def _process_group_value(name: str) -> int:
    """``world_size`` / ``rank`` of the default process group (ember.distributed)."""
    distributed = getattr(_ember, "distributed", None)
    if distributed is None or not distributed.is_available():
        raise RuntimeError("Requires distributed package to be available")
    return getattr(distributed, name)()


class DistributedSampler(Sampler):
    """Restrict data loading to this replica's share of ``dataset``.

    Call ``set_epoch(epoch)`` before each epoch when shuffling, or every epoch repeats
    the same order.

    Example::

        >>> sampler = DistributedSampler(dataset, num_replicas=4, rank=1, shuffle=False)
        >>> loader = DataLoader(dataset, sampler=sampler, batch_size=8)
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = _process_group_value("get_world_size")
        if rank is None:
            rank = _process_group_value("get_rank")
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        if self.drop_last and len(self.dataset) % self.num_replicas != 0:
            # the largest equal share that needs no padding
            self.num_samples = math.ceil((len(self.dataset) - self.num_replicas)
                                         / self.num_replicas)
        else:
            self.num_samples = math.ceil(len(self.dataset) / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            generator = _ember.Generator().manual_seed(self.seed + self.epoch)
            indices = _ember.randperm(len(self.dataset), generator=generator).tolist()
        else:
            indices = list(range(len(self.dataset)))
        if self.drop_last:
            indices = indices[:self.total_size]
        else:
            padding = self.total_size - len(indices)
            repeats = math.ceil(padding / len(indices)) if indices else 0
            indices += (indices * repeats)[:padding]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch that seeds the shuffle (same on every replica)."""
        self.epoch = epoch
