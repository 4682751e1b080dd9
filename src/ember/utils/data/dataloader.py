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
from ._loader_options import (  # noqa: F401 - the sampler keeps PyTorch's import path
    _InfiniteConstantSampler,
    checked_prefetch,
    index_samplers,
    refuse_map_options,
)
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
from .sampler import Sampler

T_co = TypeVar("T_co", covariant=True)

__all__ = ["DataLoader"]

# Iterators with live workers, shut down by ``_shutdown_all`` at interpreter exit.
_live_iterators: weakref.WeakSet = weakref.WeakSet()
_iterator_ids = itertools.count()
_SHUTDOWN_GRACE = 0.5  # seconds, for all workers together


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
        prefetch_factor = checked_prefetch(num_workers, timeout, prefetch_factor,
                                            persistent_workers)
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
            refuse_map_options(dataset, shuffle, sampler, batch_sampler)
            if isinstance(dataset, IterDataPipe) and shuffle is not None:
                # a pipe takes the option: its shufflers are turned on or off (PyTorch)
                dataset = self.dataset = apply_shuffle_settings(dataset, shuffle=shuffle)
        else:
            shuffle = bool(shuffle)
        sampler, batch_sampler, batch_size, drop_last = index_samplers(
            dataset, self._is_iterable, batch_size, shuffle, sampler, batch_sampler,
            drop_last, generator)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            # batches are collated; single samples (batch_size=None) only converted
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self.__initialized = True
        # len(dataset) as reported by len(loader), to warn when an iterable overruns it
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
        if not self.num_workers:
            return _SingleProcessIter(self)
        self.check_worker_number_rationality()  # the settings may have changed since
        return _MultiProcessIter(self)

    def __iter__(self):
        reuse = self.persistent_workers and self.num_workers > 0
        if not reuse:
            return self._get_iterator()
        # persistent workers live in one iterator, reset at the start of each epoch
        if self._iterator is not None:
            self._iterator._reset(self)
        else:
            self._iterator = self._get_iterator()
        return self._iterator

    def __len__(self) -> int:
        if not self._is_iterable:
            return len(self._index_sampler)
        samples = len(self.dataset)
        self._IterableDataset_len_called = samples
        if self.batch_size is None:
            return samples
        whole, partial = divmod(samples, self.batch_size)
        return whole + (1 if partial and not self.drop_last else 0)


def _world_size_and_rank() -> tuple[int, int]:
    """The default group's size and rank when ember.distributed is up, else (1, 0); a
    loader never imports the distributed package itself."""
    dist = sys.modules.get("ember.distributed")
    if dist is not None and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def _is_pipe(dataset) -> bool:
    return isinstance(dataset, (IterDataPipe, MapDataPipe))


def _sharding_worker_init_fn(worker_init_fn, world_size, rank_id, worker_id) -> None:
    """Shard the worker's pipe over every worker of every rank, then run the user's
    ``worker_init_fn``."""
    info = get_worker_info()
    apply_sharding(info.dataset, info.num_workers * world_size, worker_id * world_size + rank_id)
    if worker_init_fn is not None:
        worker_init_fn(worker_id)


# iterator attribute <- loader attribute, copied when an iterator is made (PyTorch's
# iterators carry the same private names, which some user code reads)
_FROM_LOADER = (
    ("_dataset", "dataset"), ("_is_iterable", "_is_iterable"),
    ("_IterableDataset_len_called", "_IterableDataset_len_called"),
    ("_auto_collation", "_auto_collation"), ("_drop_last", "drop_last"),
    ("_index_sampler", "_index_sampler"), ("_num_workers", "num_workers"),
    ("_timeout", "timeout"), ("_collate_fn", "collate_fn"),
    ("_persistent_workers", "persistent_workers"),
)


def _draw_seed(generator) -> int:
    """One int64 from ``generator`` (the global one when None)."""
    return int(_ember.empty((), dtype=_ember.int64).random_(generator=generator).item())


def _pinning(loader) -> bool:
    """Whether batches get pinned: only with an accelerator, warning (as PyTorch)
    about the deprecated device argument and about pinning without a device."""
    if loader.pin_memory and loader.pin_memory_device:
        warnings.warn(
            "pin_memory_device is deprecated, the current accelerator will be used as the "
            f"device,ignore pin_memory_device='{loader.pin_memory_device}'.", stacklevel=4)
    if not loader.pin_memory:
        return False
    if _ember.accelerator.is_available():  # the probe PyTorch's loader asks
        return True
    warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                  "then device pinned memory won't be used.", stacklevel=4)
    return False


class _BaseIter:
    """State shared by both iterators: sampler iterator, base seed, yield count."""

    def __init__(self, loader: DataLoader) -> None:
        for mine, theirs in _FROM_LOADER:
            setattr(self, mine, getattr(loader, theirs))
        self._pin_memory = _pinning(loader)
        self._sampler_iter = iter(self._index_sampler)
        if isinstance(self._dataset, IterDataPipe):
            # the pipes' shufflers get seeds from one shared seed per epoch, as PyTorch's
            pipe_seed = _draw_seed(loader.generator)
            apply_random_seed(self._dataset, _ember.Generator().manual_seed(pipe_seed))
        # Drawn after the sampler iterator is made but before it draws (samplers are
        # lazy), in every mode, so the order does not depend on num_workers.
        self._base_seed = _draw_seed(loader.generator)
        self._num_yielded = 0

    def __iter__(self):
        return self

    def _reset(self, loader, first_iter=False) -> None:
        """A new epoch: a fresh pass over the sampler and the loader's reported length."""
        self._num_yielded = 0
        self._sampler_iter = iter(self._index_sampler)
        self._IterableDataset_len_called = loader._IterableDataset_len_called

    def _next_index(self):
        return next(self._sampler_iter)

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        reported = self._IterableDataset_len_called
        if self._is_iterable and reported is not None and self._num_yielded > reported:
            self._warn_overrun(reported)
        return data

    def _warn_overrun(self, reported) -> None:
        """More batches than ``len(loader)`` promised: usually replicas not sharded."""
        parts = [f"Length of IterableDataset {self._dataset} was reported to be "
                 f"{reported}(when accessing len(dataloader)), but "
                 f"{self._num_yielded} samples have been fetched. "]
        if self._num_workers > 0:
            parts.append("For multiprocessing data-loading, this could be caused by not "
                         "properly configuring the IterableDataset replica at each worker. "
                         "Please see https://pytorch.org/docs/stable/data.html#torch.utils."
                         "data.IterableDataset for examples.")
        warnings.warn("".join(parts), stacklevel=3)

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
        if _is_pipe(self._dataset):
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
        self._prefetch_factor, self._in_order = loader.prefetch_factor, loader.in_order
        if self._prefetch_factor <= 0:
            # the constructor lets 0 through; PyTorch's iterator refuses it (no task would
            # ever be sent, so the loader would silently yield nothing)
            raise AssertionError(
                "prefetch_factor must be greater than 0 for MultiProcessingDataLoaderIter")
        init_fn = loader.worker_init_fn
        if _is_pipe(self._dataset):
            # each worker shards its copy of the pipe first (PyTorch's wrapper)
            init_fn = functools.partial(_sharding_worker_init_fn, init_fn,
                                        *_world_size_and_rank())
        self._worker_init_fn = init_fn
        context = loader.multiprocessing_context or multiprocessing.get_context()
        self._segment_prefix = _shared.new_segment_prefix(str(next(_iterator_ids)))
        self._released_segments = _shared.open_receiver(self._segment_prefix)
        self._shutdown = False
        self._data_queue = context.Queue()
        self._workers_done_event = context.Event()
        self._index_queues, self._workers = [], []
        self._workers_status = [True] * self._num_workers
        try:
            for worker_id in range(self._num_workers):
                self._start_worker(context, worker_id)
        except BaseException:
            self._shutdown_workers()  # the ones already started
            raise
        _live_iterators.add(self)
        self._reset(loader, first_iter=True)

    def _start_worker(self, context, worker_id) -> None:
        """One worker process with its own task queue. The queue's feeder thread is not
        joined at exit: a worker that died must not keep this process from ending."""
        tasks = context.Queue()
        tasks.cancel_join_thread()
        process = context.Process(
            target=worker_loop, daemon=True,
            args=(self._is_iterable, self._dataset, tasks, self._data_queue,
                  self._workers_done_event, self._auto_collation, self._collate_fn,
                  self._drop_last, self._base_seed, self._worker_init_fn, worker_id,
                  self._num_workers, self._segment_prefix))
        process.start()
        self._index_queues.append(tasks)
        self._workers.append(process)

    def _task_budget(self) -> int:
        """Tasks in flight at most: ``prefetch_factor`` per worker."""
        return self._prefetch_factor * self._num_workers

    def _reset(self, loader, first_iter=False) -> None:
        _BaseIter._reset(self, loader, first_iter)
        n = self._num_workers
        self._send_idx = self._rcvd_idx = self._tasks_outstanding = 0
        self._task_info = {}
        self._workers_status, self._workers_num_tasks = [True] * n, [0] * n
        self._worker_queue_idx_cycle = itertools.cycle(range(n))
        if not first_iter:
            self._resume_workers()
        for _ in range(self._task_budget()):
            self._try_put_index()

    def _resume_workers(self) -> None:
        """Persistent workers start a new epoch: each rebuilds its fetcher and answers
        with the resume marker; wait for all of them before sending tasks."""
        for tasks in self._index_queues:
            tasks.put(_ResumeIteration())
        answered = 0
        while answered < self._num_workers:
            marker, _ = self._get_data()
            answered += isinstance(marker, _ResumeIteration)

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
        if self._timeout <= 0:
            return self._try_get_data(None)[1]
        arrived, data = self._try_get_data(self._timeout)
        if not arrived:
            raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
        return data

    def _skip_to_live_task(self) -> bool:
        """Move ``_rcvd_idx`` to the next task still owed to the caller: one whose data
        came early or whose worker is still active. Tasks of workers that ran out (their
        iterable copy ended) and tasks yielded out of order are passed over. False when
        every sent task is accounted for."""
        while self._rcvd_idx < self._send_idx:
            entry = self._task_info.get(self._rcvd_idx)
            if entry is not None and (len(entry) == 2 or self._workers_status[entry[0]]):
                return True
            self._task_info.pop(self._rcvd_idx, None)
            self._rcvd_idx += 1
        return False

    def _retire(self, worker_id) -> None:
        """A worker's iterable copy ended. A persistent worker stays up for the next
        epoch and is only left out of this one; another is told to exit."""
        if self._persistent_workers:
            self._workers_status[worker_id] = False
        else:
            self._tell_worker_to_exit(worker_id)

    def _next_data(self):
        while True:
            if not self._skip_to_live_task():
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration
            entry = self._task_info[self._rcvd_idx]
            if len(entry) == 2:  # it arrived earlier, out of order, and waited
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
                return self._process_data(entry[1], entry[0])

            task_id, data = self._get_data()
            self._tasks_outstanding -= 1
            if self._is_iterable and isinstance(data, _IterableDatasetStopIteration):
                self._retire(data.worker_id)
                self._try_put_index()
                continue
            in_turn = task_id == self._rcvd_idx
            if in_turn or not self._in_order:
                worker_id = self._task_info.pop(task_id)[0]
                if in_turn:
                    self._rcvd_idx += 1
                return self._process_data(data, worker_id)
            self._task_info[task_id] += (data,)  # early: kept until its turn

    def _process_data(self, data, worker_id):
        """Account for the finished task, refill the pipeline, then hand the batch out.
        A worker's exception is raised here and the iterator stays usable (as PyTorch's):
        a caller may skip the bad batch."""
        self._workers_num_tasks[worker_id] -= 1
        self._try_put_index()
        failed = isinstance(data, ExceptionWrapper)
        if failed:
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

    def _pick_worker(self):
        """The next active worker in round-robin order; with ``in_order=False`` it must
        also hold fewer than its share of the task budget. None when none qualifies."""
        active = sum(self._workers_status)
        for _ in range(self._num_workers):
            worker_id = next(self._worker_queue_idx_cycle)
            if not self._workers_status[worker_id]:
                continue
            if (self._in_order
                    or self._workers_num_tasks[worker_id] < self._task_budget() // active):
                return worker_id
        return None

    def _try_put_index(self) -> None:
        self._return_released_segments()
        try:
            index = self._next_index()
        except StopIteration:
            return
        worker_id = self._pick_worker()
        if worker_id is None:
            return
        task_id = self._send_idx
        self._index_queues[worker_id].put((task_id, index))
        self._task_info[task_id] = (worker_id,)
        self._workers_num_tasks[worker_id] += 1
        self._tasks_outstanding += 1
        self._send_idx = task_id + 1

    # -- shutdown ------------------------------------------------------------------------

    def _tell_worker_to_exit(self, worker_id) -> None:
        """The worker reads ``None`` after its pending tasks and exits."""
        self._index_queues[worker_id].put(None)
        self._workers_status[worker_id] = False

    def _shutdown_workers(self) -> None:
        if self._shutdown:
            return
        self._shutdown = True
        _live_iterators.discard(self)
        try:
            self._workers_done_event.set()
            # persistent workers read their queue even after their data ran out
            listening = [worker_id for worker_id in range(len(self._workers))
                         if self._persistent_workers or self._workers_status[worker_id]]
            for worker_id in listening:
                self._tell_worker_to_exit(worker_id)
            # Idle workers exit within milliseconds of reading None; one still busy in a
            # slow __getitem__ gets a short grace period, then is terminated below.
            deadline = time.monotonic() + _SHUTDOWN_GRACE
            for process in self._workers:
                process.join(timeout=max(deadline - time.monotonic(), 0))
            for channel in [*self._index_queues, self._data_queue]:
                channel.cancel_join_thread()
                channel.close()
        finally:
            for process in self._workers:
                if process.is_alive():
                    process.terminate()
                    process.join(timeout=1.0)
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
