"""DataLoader: batches from a dataset, in this process or in worker processes.

Arguments, defaults, validation messages, ``len()`` and iteration order follow
``torch.utils.data.DataLoader``. With ``num_workers > 0`` real processes (``fork`` or
``spawn``) fetch and collate batches; batches come back through shared memory and are
yielded in sampler order (or as they arrive with ``in_order=False``).

Seeding: each iterator draws a base seed from the loader's ``generator`` (the global
generator when None) before the sampler draws its order, in every mode. So a given seed
gives the same batch order whatever ``num_workers`` is, and worker ``k`` seeds Python's,
NumPy's and ember's global streams from ``base_seed + k`` as PyTorch's workers do.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import math
import multiprocessing
import os
import queue
import sys
import time
import warnings
import weakref
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

import ember as _ember

from . import _shared
from ._collate import default_collate, default_convert
from ._worker import (
    POLL_INTERVAL,
    ExceptionWrapper,
    _IterableDatasetStopIteration,
    _Release,
    _ResumeIteration,
    get_worker_info,
    make_fetcher,
    worker_loop,
)
from .datapipes.datapipe import IterDataPipe, MapDataPipe
from .dataset import Dataset, IterableDataset
from .graph_settings import apply_random_seed, apply_sharding, apply_shuffle_settings
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

T_co = TypeVar("T_co", covariant=True)

__all__ = ["DataLoader"]

# Iterators with live workers, shut down by ``_shutdown_all`` at interpreter exit.
_live_iterators: weakref.WeakSet = weakref.WeakSet()
_iterator_ids = itertools.count()
_SHUTDOWN_GRACE = 0.5  # seconds, for all workers together


class _InfiniteConstantSampler(Sampler):
    """The placeholder sampler of an IterableDataset: yields None forever."""

    def __iter__(self):
        while True:
            yield None


def _pin(data):
    """``pin_memory`` over nested containers (tensors only; the rest passes through)."""
    if isinstance(data, _ember.Tensor):
        return data.pin_memory()
    if isinstance(data, dict):
        return type(data)({key: _pin(value) for key, value in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(_pin(item) for item in data))
    if isinstance(data, (list, tuple)):
        return type(data)(_pin(item) for item in data)
    return data


class DataLoader(Generic[T_co]):
    """Iterate over ``dataset`` in batches.

    Args:
        dataset: a map-style ``Dataset`` (``__getitem__``/``__len__``) or an
            ``IterableDataset``.
        batch_size: samples per batch; None turns batching off (samples are converted
            with ``default_convert`` one by one).
        shuffle: reshuffle every epoch (map-style only).
        sampler / batch_sampler: custom index order / custom index batches.
        num_workers: worker processes; 0 loads in the main process.
        collate_fn: merges a list of samples into a batch (``default_collate``).
        pin_memory: page-locked batches for GPU copies; warns and does nothing without a GPU.
        drop_last: drop the last incomplete batch.
        timeout: seconds to wait for one batch from the workers before RuntimeError.
        worker_init_fn: called with the worker id in each worker after seeding.
        multiprocessing_context: ``'fork'``, ``'spawn'``, ``'forkserver'`` or a context.
        generator: the generator behind shuffling and worker seeds.
        prefetch_factor: batches each worker loads ahead (default 2 with workers).
        persistent_workers: keep the workers alive between epochs.
        in_order: yield batches in sampler order (False: as soon as they are ready).

    Example::

        >>> loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, num_workers=2)
        >>> for inputs, targets in loader:
        ...     ...
    """

    __initialized = False

    def __init__(self, dataset: Dataset[T_co], batch_size: int | None = 1,
                 shuffle: bool | None = None, sampler: Sampler | Iterable | None = None,
                 batch_sampler: Sampler | Iterable | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; "
                             "use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing."
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order

        self._is_iterable = isinstance(dataset, IterableDataset)
        if self._is_iterable:
            if isinstance(dataset, IterDataPipe):
                # a pipe takes the option: its shufflers are turned on or off (PyTorch)
                if shuffle is not None:
                    dataset = self.dataset = apply_shuffle_settings(dataset, shuffle=shuffle)
            elif shuffle not in {False, None}:
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None:
            if self._is_iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self.__initialized = True
        self._IterableDataset_len_called = None
        self._iterator = None
        self.check_worker_number_rationality()

    # -- configuration -----------------------------------------------------------------

    @property
    def multiprocessing_context(self):
        return self.__multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context) -> None:
        if context is not None:
            if self.num_workers <= 0:
                raise ValueError(
                    "multiprocessing_context can only be used with multi-process loading "
                    f"(num_workers > 0), but got num_workers={self.num_workers}"
                )
            if isinstance(context, str):
                methods = multiprocessing.get_all_start_methods()
                if context not in methods:
                    raise ValueError(
                        "multiprocessing_context option should specify a valid start method in "
                        f"{methods!r}, but got multiprocessing_context={context!r}"
                    )
                context = multiprocessing.get_context(context)
            if not isinstance(context, multiprocessing.context.BaseContext):
                raise TypeError(
                    "multiprocessing_context option should be a valid context object or a "
                    f"string specifying the start method, but got multiprocessing_context={context}"
                )
        self.__multiprocessing_context = context

    def __setattr__(self, attr, value) -> None:
        if self.__initialized and attr in ("batch_size", "batch_sampler", "sampler",
                                           "drop_last", "dataset", "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{self.__class__.__name__} is initialized")
        super().__setattr__(attr, value)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        """What the iterator draws from: index batches when auto-collating, else indices."""
        return self.batch_sampler if self._auto_collation else self.sampler

    def check_worker_number_rationality(self) -> None:
        """Warn when more workers are asked for than this process may use CPUs."""
        if self.num_workers <= 1:
            return
        try:
            cpus = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cpus = os.cpu_count()
        if cpus is not None and self.num_workers > cpus:
            warnings.warn(
                f"This DataLoader will create {self.num_workers} worker processes in total. "
                f"Our suggested max number of worker in current system is {cpus}, which is "
                "smaller than what this DataLoader is going to create. Please be aware that "
                "excessive worker creation might get DataLoader running slow or even freeze, "
                "lower the worker number to avoid potential slowness/freeze if necessary.",
                stacklevel=2,
            )

    # -- iteration ---------------------------------------------------------------------

    def _get_iterator(self):
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        self.check_worker_number_rationality()
        return _MultiProcessIter(self)

    def __iter__(self):
        # Persistent workers live in one iterator reused (and reset) every epoch.
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None:
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    def __len__(self) -> int:
        if self._is_iterable:
            length = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else math.ceil(
                    length / self.batch_size)
            return length
        return len(self._index_sampler)


def _world_size_and_rank() -> tuple[int, int]:
    """The default group's size and rank when ember.distributed is up, else (1, 0); a
    loader never imports the distributed package itself."""
    dist = sys.modules.get("ember.distributed")
    if dist is not None and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def _sharding_worker_init_fn(worker_init_fn, world_size, rank_id, worker_id) -> None:
    """Shard the worker's pipe over every worker of every rank, then run the user's
    ``worker_init_fn``."""
    info = get_worker_info()
    apply_sharding(info.dataset, info.num_workers * world_size, worker_id * world_size + rank_id)
    if worker_init_fn is not None:
        worker_init_fn(worker_id)


class _BaseIter:
    """State shared by both iterators: sampler iterator, base seed, yield count."""

    def __init__(self, loader: DataLoader) -> None:
        self._dataset = loader.dataset
        self._is_iterable = loader._is_iterable
        self._IterableDataset_len_called = loader._IterableDataset_len_called
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        if loader.pin_memory and loader.pin_memory_device:
            warnings.warn(
                "pin_memory_device is deprecated, the current accelerator will be used as the "
                f"device,ignore pin_memory_device='{loader.pin_memory_device}'.", stacklevel=3)
        self._pin_memory = loader.pin_memory and _ember.cuda.is_available()
        if loader.pin_memory and not self._pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=3)
        self._timeout = loader.timeout
        self._collate_fn = loader.collate_fn
        self._sampler_iter = iter(self._index_sampler)
        if isinstance(self._dataset, IterDataPipe):
            # the pipes' shufflers get seeds from one shared seed per epoch, as PyTorch's
            shared_seed = int(_ember.empty((), dtype=_ember.int64)
                              .random_(generator=loader.generator).item())
            apply_random_seed(self._dataset, _ember.Generator().manual_seed(shared_seed))
        # Drawn after the sampler iterator is made but before it draws (samplers are
        # lazy), in every mode, so the order does not depend on num_workers.
        self._base_seed = int(_ember.empty((), dtype=_ember.int64)
                              .random_(generator=loader.generator).item())
        self._persistent_workers = loader.persistent_workers
        self._num_yielded = 0

    def __iter__(self):
        return self

    def _reset(self, loader, first_iter=False) -> None:
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._IterableDataset_len_called = loader._IterableDataset_len_called

    def _next_index(self):
        return next(self._sampler_iter)

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        if (self._is_iterable and self._IterableDataset_len_called is not None
                and self._num_yielded > self._IterableDataset_len_called):
            msg = (f"Length of IterableDataset {self._dataset} was reported to be "
                   f"{self._IterableDataset_len_called}(when accessing len(dataloader)), but "
                   f"{self._num_yielded} samples have been fetched. ")
            if self._num_workers > 0:
                msg += ("For multiprocessing data-loading, this could be caused by not properly "
                        "configuring the IterableDataset replica at each worker. Please see "
                        "https://pytorch.org/docs/stable/data.html#torch.utils.data."
                        "IterableDataset for examples.")
            warnings.warn(msg, stacklevel=2)
        return data

    def __len__(self) -> int:
        return len(self._index_sampler)

    def __getstate__(self):
        raise NotImplementedError("{} cannot be pickled", self.__class__.__name__)


class _SingleProcessIter(_BaseIter):
    """Fetch and collate in the calling process."""

    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        if self._timeout != 0:
            raise AssertionError("_SingleProcessDataLoaderIter requires timeout == 0")
        if isinstance(self._dataset, (IterDataPipe, MapDataPipe)):
            apply_sharding(self._dataset, *_world_size_and_rank())
        self._fetcher = make_fetcher(self._is_iterable, self._dataset, self._auto_collation,
                                     self._collate_fn, self._drop_last)

    def _next_data(self):
        index = self._next_index()
        data = self._fetcher.fetch(index)
        return _pin(data) if self._pin_memory else data


class _MultiProcessIter(_BaseIter):
    """Hand index batches to worker processes, ``prefetch_factor`` per worker ahead, and
    yield their results in order.

    Bookkeeping (as PyTorch's): ``_send_idx`` numbers tasks sent, ``_rcvd_idx`` the next
    task to yield; ``_task_info[i]`` is ``(worker,)`` while task ``i`` is pending and
    ``(worker, data)`` once it arrived early. Shutdown (end of data, ``del``, ``break``
    then garbage collection, errors, interpreter exit) sets the done event, sends ``None``
    to every worker, joins them briefly, terminates stragglers and unlinks any shared
    memory a batch in flight still held.
    """

    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        self._prefetch_factor = loader.prefetch_factor
        self._in_order = loader.in_order
        context = loader.multiprocessing_context or multiprocessing.get_context()
        self._worker_init_fn = loader.worker_init_fn
        if isinstance(self._dataset, (IterDataPipe, MapDataPipe)):
            # each worker shards its copy of the pipe first (PyTorch's wrapper)
            self._worker_init_fn = functools.partial(
                _sharding_worker_init_fn, self._worker_init_fn, *_world_size_and_rank())
        self._segment_prefix = _shared.new_segment_prefix(str(next(_iterator_ids)))
        self._released_segments = _shared.open_receiver(self._segment_prefix)
        self._shutdown = False
        self._data_queue = context.Queue()
        self._workers_done_event = context.Event()
        self._index_queues = []
        self._workers = []
        self._workers_status = [True] * self._num_workers
        try:
            for worker_id in range(self._num_workers):
                index_queue = context.Queue()
                index_queue.cancel_join_thread()
                worker = context.Process(
                    target=worker_loop,
                    args=(self._is_iterable, self._dataset, index_queue, self._data_queue,
                          self._workers_done_event, self._auto_collation, self._collate_fn,
                          self._drop_last, self._base_seed, self._worker_init_fn, worker_id,
                          self._num_workers, self._segment_prefix),
                    daemon=True,
                )
                worker.start()
                self._index_queues.append(index_queue)
                self._workers.append(worker)
        except BaseException:
            self._shutdown_workers()
            raise
        _live_iterators.add(self)
        self._reset(loader, first_iter=True)

    def _reset(self, loader, first_iter=False) -> None:
        super()._reset(loader, first_iter)
        self._send_idx = 0
        self._rcvd_idx = 0
        self._task_info = {}
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers
        self._workers_num_tasks = [0] * self._num_workers
        self._worker_queue_idx_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            # Persistent workers: rebuild their fetchers and wait until all have.
            for index_queue in self._index_queues:
                index_queue.put(_ResumeIteration())
            pending = self._num_workers
            while pending > 0:
                task_id, _ = self._get_data()
                if isinstance(task_id, _ResumeIteration):
                    pending -= 1
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    # -- receiving -----------------------------------------------------------------------

    def _dead_workers(self):
        return [worker for worker_id, worker in enumerate(self._workers)
                if self._workers_status[worker_id] and not worker.is_alive()]

    def _try_get_data(self, timeout: float):
        """Wait up to ``timeout`` for a result, checking worker liveness every poll."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = POLL_INTERVAL
            if deadline is not None:
                wait = min(wait, max(deadline - time.monotonic(), 0))
            try:
                payload = self._data_queue.get(timeout=wait)
                return True, _shared.loads_batch(payload)
            except queue.Empty:
                pass
            dead = self._dead_workers()
            if dead:
                for worker in dead:
                    self._workers_status[self._workers.index(worker)] = False
                pids = ", ".join(str(worker.pid) for worker in dead)
                self._shutdown_workers()
                raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly")
            if deadline is not None and time.monotonic() >= deadline:
                return False, None

    def _get_data(self):
        if self._timeout > 0:
            success, data = self._try_get_data(self._timeout)
            if not success:
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
            return data
        return self._try_get_data(None)[1]

    def _next_data(self):
        while True:
            # Skip tasks whose worker ended (exhausted IterableDataset copies).
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info:
                    if len(info) == 2 or self._workers_status[info[0]]:
                        break
                    del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration

            if len(self._task_info[self._rcvd_idx]) == 2:  # arrived earlier, out of order
                worker_id, data = self._task_info.pop(self._rcvd_idx)
                self._rcvd_idx += 1
                return self._process_data(data, worker_id)

            task_id, data = self._get_data()
            self._tasks_outstanding -= 1
            if self._is_iterable and isinstance(data, _IterableDatasetStopIteration):
                if self._persistent_workers:
                    self._workers_status[data.worker_id] = False
                else:
                    self._mark_worker_as_unavailable(data.worker_id)
                self._try_put_index()
                continue
            if task_id != self._rcvd_idx:
                if not self._in_order:
                    worker_id = self._task_info.pop(task_id)[0]
                    return self._process_data(data, worker_id)
                self._task_info[task_id] += (data,)
            else:
                worker_id = self._task_info.pop(task_id)[0]
                self._rcvd_idx += 1
                return self._process_data(data, worker_id)

    def _process_data(self, data, worker_id):
        self._workers_num_tasks[worker_id] -= 1
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            # The iterator stays usable (as PyTorch's): a caller may skip the bad batch.
            data.reraise()
        return _pin(data) if self._pin_memory else data

    # -- sending -------------------------------------------------------------------------

    def _return_released_segments(self) -> None:
        """Send the segments whose batches died back to their workers for reuse."""
        count = len(self._released_segments)
        if count == 0:
            return
        paths = self._released_segments[:count]
        del self._released_segments[:count]  # finalizers may append meanwhile: keep those
        by_worker = {}
        for path in paths:
            by_worker.setdefault(_shared.worker_of(path), []).append(path)
        for worker_id, worker_paths in by_worker.items():
            # persistent workers keep reading their queue even when out of data
            if self._workers_status[worker_id] or self._persistent_workers:
                self._index_queues[worker_id].put(_Release(worker_paths))
            else:  # that worker has stopped reading its queue
                for path in worker_paths:
                    _shared._unlink(path)

    def _try_put_index(self) -> None:
        self._return_released_segments()
        max_tasks = self._prefetch_factor * self._num_workers
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):  # the next active worker, round robin
            worker_id = next(self._worker_queue_idx_cycle)
            if self._workers_status[worker_id]:
                if self._in_order:
                    break
                if self._workers_num_tasks[worker_id] < max_tasks // sum(self._workers_status):
                    break
        else:
            return
        self._index_queues[worker_id].put((self._send_idx, index))
        self._task_info[self._send_idx] = (worker_id,)
        self._workers_num_tasks[worker_id] += 1
        self._tasks_outstanding += 1
        self._send_idx += 1

    # -- shutdown ------------------------------------------------------------------------

    def _mark_worker_as_unavailable(self, worker_id, shutdown=False) -> None:
        """Tell one worker to exit (it reads ``None`` after its pending tasks)."""
        self._index_queues[worker_id].put(None)
        self._workers_status[worker_id] = False

    def _shutdown_workers(self) -> None:
        if self._shutdown:
            return
        self._shutdown = True
        _live_iterators.discard(self)
        try:
            self._workers_done_event.set()
            for worker_id in range(len(self._workers)):
                if self._persistent_workers or self._workers_status[worker_id]:
                    self._mark_worker_as_unavailable(worker_id, shutdown=True)
            # Idle workers exit within milliseconds of reading None; one still busy in a
            # slow __getitem__ gets a short grace period, then is terminated below.
            deadline = time.monotonic() + _SHUTDOWN_GRACE
            for worker in self._workers:
                worker.join(timeout=max(deadline - time.monotonic(), 0))
            for index_queue in self._index_queues:
                index_queue.cancel_join_thread()
                index_queue.close()
            self._data_queue.cancel_join_thread()
            self._data_queue.close()
        finally:
            for worker in self._workers:
                if worker.is_alive():
                    worker.terminate()
                    worker.join(timeout=1.0)
            _shared.close_receiver(self._segment_prefix)
            _shared.remove_segments(self._segment_prefix)

    def __del__(self) -> None:
        if getattr(self, "_workers", None) is not None and not getattr(self, "_shutdown", True):
            self._shutdown_workers()


def _shutdown_all() -> None:
    """At interpreter exit: stop every live iterator's workers (before multiprocessing's
    own exit handler terminates daemons) and remove their shared-memory segments."""
    for iterator in list(_live_iterators):
        try:
            iterator._shutdown_workers()
        except Exception:
            pass


atexit.register(_shutdown_all)
