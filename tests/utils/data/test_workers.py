"""DataLoader worker processes: equivalence with num_workers=0, seeding, sharding, shared
memory, faults (exceptions, dead workers, timeouts) and cleanup. Datasets are tiny."""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import random
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
import torch

import ember
from ember.utils.data import (
    DataLoader,
    Dataset,
    TensorDataset,
    get_worker_info,
)
from ember.utils.data import _shared


def batches_as_lists(loader):
    """Every batch with tensors turned into lists, for equality checks."""
    def plain(value):
        if isinstance(value, ember.Tensor):
            return ("tensor", str(value.dtype), value.tolist())
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(item) for item in value]
        return value
    return [plain(batch) for batch in loader]


def no_children_left():
    deadline = time.time() + 5
    while multiprocessing.active_children() and time.time() < deadline:
        time.sleep(0.05)
    return multiprocessing.active_children() == []


def leftover_segments():
    return [name for name in os.listdir(_shared._SHM_DIR)
            if name.startswith(f"ember_dl_{os.getpid()}_")]


@pytest.fixture(autouse=True)
def _no_leaks():
    yield
    if multiprocessing.active_children() or leftover_segments():
        gc.collect()  # an iterator kept alive by a reference cycle (a traceback, say)
    assert no_children_left()
    assert leftover_segments() == []


class Mixed(Dataset):
    def __init__(self, n=23):
        self.n = n

    def __getitem__(self, i):
        return {"x": ember.full((3, 2), float(i)), "label": i, "name": f"s{i}",
                "array": np.arange(2) * i}

    def __len__(self):
        return self.n


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.parametrize("num_workers", [1, 2, 3])
@pytest.mark.parametrize("shuffle", [False, True])
def test_workers_give_the_same_batches_as_main_process(num_workers, shuffle):
    def run(workers):
        loader = DataLoader(Mixed(), batch_size=4, shuffle=shuffle, num_workers=workers,
                            generator=ember.Generator().manual_seed(11))
        return batches_as_lists(loader)

    assert run(num_workers) == run(0)


def test_spawn_context_and_shared_memory_batches():
    images = ember.arange(40 * 3 * 16 * 16, dtype=ember.float32).reshape(40, 3, 16, 16)
    labels = ember.arange(40)
    # one worker: a spawned process re-imports ember and the test runner (~1 s each)
    loader = DataLoader(TensorDataset(images, labels), batch_size=16, num_workers=1,
                        multiprocessing_context="spawn")
    batches = list(loader)
    assert [tuple(b[0].shape) for b in batches] == [(16, 3, 16, 16)] * 2 + [(8, 3, 16, 16)]
    for i, (x, y) in enumerate(batches):
        assert ember.equal(x, images[16 * i:16 * (i + 1)])
        assert y.dtype == ember.int64 and y.tolist() == list(range(16 * i, min(16 * i + 16, 40)))
        assert _shared._segment_of(x._data) is not None  # zero-copy view of the segment
    batches[0][0][0, 0, 0, 0] = -1.0  # received batches are ordinary writable tensors
    assert batches[0][0][0, 0, 0, 0].item() == -1.0


def test_fork_batches_arrive_through_shared_memory_without_copies():
    images = ember.randn(64, 3, 32, 32)
    loader = DataLoader(TensorDataset(images), batch_size=32, num_workers=2,
                        multiprocessing_context="fork")
    for (batch,) in loader:
        segment = _shared._segment_of(batch._data)
        assert segment is not None and batch._data.base is not None  # a view, not a copy


def test_segments_are_recycled_without_touching_held_batches():
    images = ember.arange(48 * 3 * 32 * 32, dtype=ember.float32).reshape(48, 3, 32, 32)
    loader = DataLoader(TensorDataset(images), batch_size=2, num_workers=2)
    held, paths = [], set()
    for i, (batch,) in enumerate(loader):
        paths.add(_shared._segment_of(batch._data).path)
        if i % 3 == 0:
            held.append((i, batch))  # kept: its segment must never be reused
        del batch
    # 24 batches; freed segments came back: only the held ones and those in flight
    # (prefetch 2 x 2 workers, plus the one in hand, per worker) needed fresh pages
    assert len(paths) <= len(held) + 2 * (2 + 2)
    for i, batch in held:
        assert ember.equal(batch, images[2 * i:2 * i + 2])


def test_custom_collate_tensors_are_moved_to_shared_memory():
    loader = DataLoader(range(4), batch_size=2, num_workers=1,
                        collate_fn=lambda batch: {"big": ember.ones(64, 64) * batch[0]})
    out = [b["big"] for b in loader]
    assert [t[0, 0].item() for t in out] == [0.0, 2.0]
    assert all(_shared._segment_of(t._data) is not None for t in out)


class Seeds(Dataset):
    """Each sample reports its worker and draws from every global random stream."""

    def __getitem__(self, i):
        info = get_worker_info()
        return {"worker": -1 if info is None else info.id,
                "seed": -1 if info is None else info.seed,
                "num_workers": 0 if info is None else info.num_workers,
                "same_dataset": info is not None and isinstance(info.dataset, Seeds),
                "ember": ember.rand(1).item(), "numpy": float(np.random.rand()),
                "python": random.random()}

    def __len__(self):
        return 8


def _seed_batches(num_workers, seed):
    loader = DataLoader(Seeds(), batch_size=2, num_workers=num_workers,
                        generator=ember.Generator().manual_seed(seed))
    return list(loader)


def test_worker_info_and_seeds():
    assert get_worker_info() is None
    batches = _seed_batches(2, seed=5)
    base = int(ember.empty((), dtype=ember.int64).random_(
        generator=ember.Generator().manual_seed(5)).item())
    for i, batch in enumerate(batches):
        worker = i % 2  # tasks go round robin
        assert batch["worker"].tolist() == [worker, worker]
        assert batch["seed"].tolist() == [base + worker] * 2
        assert batch["num_workers"].tolist() == [2, 2]
        assert batch["same_dataset"].tolist() == [True, True]


def test_worker_random_streams_follow_the_generator_seed():
    first, again, other = _seed_batches(2, 5), _seed_batches(2, 5), _seed_batches(2, 6)
    streams = ("ember", "numpy", "python")
    assert all(ember.equal(a[k], b[k]) for a, b in zip(first, again) for k in streams)
    assert not any(ember.equal(a[k], b[k]) for a, b in zip(first, other) for k in streams)
    # worker 0 starts from base_seed + 0 whatever num_workers is: its first batch is equal
    one_worker = _seed_batches(1, 5)
    assert all(ember.equal(one_worker[0][k], first[0][k]) for k in streams)
    # the two workers of one loader draw different numbers
    assert not ember.equal(first[0]["ember"], first[1]["ember"])


def test_worker_init_fn_runs_in_each_worker():
    def init(worker_id):
        get_worker_info().dataset.offset = 100 * (worker_id + 1)

    class Offset(Dataset):
        offset = 0

        def __getitem__(self, i):
            return i + self.offset

        def __len__(self):
            return 4

    loader = DataLoader(Offset(), batch_size=1, num_workers=2, worker_init_fn=init)
    assert [b.item() for b in loader] == [100, 201, 102, 203]


def _make_range_stream(lib, start, end, shard):
    class RangeStream(lib.utils.data.IterableDataset):
        def __iter__(self):
            info = lib.utils.data.get_worker_info()
            if info is None or not shard:
                return iter(range(start, end))
            return iter(range(start + info.id, end, info.num_workers))

    return RangeStream()


@pytest.mark.parametrize("shard", [True, False])
@pytest.mark.parametrize("batch_size, drop_last", [(3, False), (3, True), (None, False)])
def test_iterable_dataset_sharding_matches_torch(shard, batch_size, drop_last):
    results = []
    for lib in (ember, torch):
        loader = lib.utils.data.DataLoader(_make_range_stream(lib, 0, 11, shard),
                                           batch_size=batch_size, drop_last=drop_last,
                                           num_workers=2)
        results.append([b.tolist() if hasattr(b, "tolist") else b for b in loader])
    assert results[0] == results[1]


def test_persistent_workers_keep_processes_and_reshuffle():
    class Pids(Dataset):
        def __getitem__(self, i):
            return (i, os.getpid())

        def __len__(self):
            return 6

    loader = DataLoader(Pids(), batch_size=2, shuffle=True, num_workers=2,
                        persistent_workers=True, generator=ember.Generator().manual_seed(0))
    first = list(loader)
    second = list(loader)
    pids = lambda batches: {p for _, pid in batches for p in pid.tolist()}  # noqa: E731
    assert pids(first) == pids(second) and len(pids(first)) == 2
    indices = lambda batches: [i for b, _ in batches for i in b.tolist()]  # noqa: E731
    assert sorted(indices(first)) == sorted(indices(second)) == list(range(6))
    assert indices(first) != indices(second)
    loader._iterator._shutdown_workers()


class Slow(Dataset):
    def __init__(self, slow_index, delay):
        self.slow_index, self.delay = slow_index, delay

    def __getitem__(self, i):
        if i == self.slow_index:
            time.sleep(self.delay)
        return i

    def __len__(self):
        return 6


class Gated(Dataset):
    """Index 0 (worker 0) waits until index 3 (worker 1's second task) has been read, so
    worker 1's results are certainly ready first, however loaded the machine is."""

    def __init__(self, gate_path):
        self.gate_path = gate_path

    def __getitem__(self, i):
        if i == 3:
            open(self.gate_path, "w").close()
        if i == 0:
            deadline = time.monotonic() + 10
            while not os.path.exists(self.gate_path) and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.05)
        return i

    def __len__(self):
        return 6


def test_in_order_false_yields_ready_batches_first(tmp_path):
    ordered = DataLoader(Gated(str(tmp_path / "a")), num_workers=2)
    assert [b.item() for b in ordered] == list(range(6))
    unordered = DataLoader(Gated(str(tmp_path / "b")), num_workers=2, in_order=False)
    got = [b.item() for b in unordered]
    assert sorted(got) == list(range(6)) and got.index(1) < got.index(0)


# -- faults -------------------------------------------------------------------------------

class Failing(Dataset):
    def __init__(self, bad_index, error):
        self.bad_index, self.error = bad_index, error

    def __getitem__(self, i):
        if i == self.bad_index:
            raise self.error
        return i

    def __len__(self):
        return 8


class NeedsTwoArgs(Exception):
    def __init__(self, a, b):
        super().__init__(a, b)


@pytest.mark.parametrize("error, expected_type", [
    (ValueError("bad sample"), ValueError),
    (KeyError("missing"), KeyError),
    (IndexError("out of range"), IndexError),
    (NeedsTwoArgs(1, 2), RuntimeError),
])
def test_worker_exception_is_reraised_with_traceback_and_index(error, expected_type):
    loader = DataLoader(Failing(5, error), batch_size=2, num_workers=2)
    with pytest.raises(expected_type) as info:
        list(loader)
    message = str(info.value)
    name = type(error).__name__
    assert message.startswith(f"Caught {name} in DataLoader worker process 0.\n"
                              "Original Traceback (most recent call last):\n")
    assert "in __getitem__" in message and "raise self.error" in message
    assert "sample index 5" in message


def test_exception_message_starts_like_torch():
    # torch's own wrapper gives its message format (its workers take ~10 s to shut down
    # after an error, too slow for this suite)
    from torch._utils import ExceptionWrapper as TorchExceptionWrapper

    try:
        raise ValueError("bad sample")
    except ValueError:
        wrapper = TorchExceptionWrapper(where="in DataLoader worker process 1")
    with pytest.raises(ValueError) as torch_info:
        wrapper.reraise()
    with pytest.raises(ValueError) as ember_info:
        list(DataLoader(Failing(3, ValueError("bad sample")), batch_size=2, num_workers=2))
    ember_lines = str(ember_info.value).splitlines()
    torch_lines = str(torch_info.value).splitlines()
    assert ember_lines[:2] == torch_lines[:2]
    assert ember_lines[-3] == torch_lines[-1] == "ValueError: bad sample"
    assert ember_lines[-1] == "The error happened while fetching sample index 3."


def test_iteration_can_continue_after_a_worker_exception():
    iterator = iter(DataLoader(Failing(2, ValueError("skip me")), batch_size=2, num_workers=2))
    assert next(iterator).tolist() == [0, 1]
    with pytest.raises(ValueError, match="skip me"):
        next(iterator)
    assert [batch.tolist() for batch in iterator] == [[4, 5], [6, 7]]


def test_unpicklable_dataset_with_spawn_raises_and_leaves_no_workers():
    class Local(Dataset):
        def __getitem__(self, i):
            return i

        def __len__(self):
            return 2

    loader = DataLoader(Local(), num_workers=2, multiprocessing_context="spawn")
    with pytest.raises((AttributeError, TypeError, pickle.PicklingError), match="pickle"):
        iter(loader)


def test_worker_init_fn_exception_is_reraised():
    def init(worker_id):
        raise OSError("no device")

    with pytest.raises(OSError, match="Caught OSError in DataLoader worker process"):
        list(DataLoader(range(4), num_workers=1, worker_init_fn=init))


def test_unpicklable_batch_raises_instead_of_hanging():
    loader = DataLoader(range(4), batch_size=2, num_workers=1,
                        collate_fn=lambda batch: (lambda: batch))
    with pytest.raises(Exception, match="could not be pickled"):
        list(loader)


class Dies(Dataset):
    def __init__(self, how):
        self.how = how

    def __getitem__(self, i):
        if i == 3:
            if self.how == "exit":
                os._exit(1)
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.how == "segfault":
                import ctypes
                import faulthandler

                faulthandler.disable()  # pytest's handler would print the worker's stack

                ctypes.string_at(0)
        return i

    def __len__(self):
        return 8


@pytest.mark.parametrize("how", ["exit", "kill", "segfault"])
@pytest.mark.parametrize("timeout", [0, 10])
def test_dead_worker_raises_promptly(how, timeout):
    loader = DataLoader(Dies(how), batch_size=1, num_workers=2, timeout=timeout)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited "
                                           "unexpectedly"):
        list(loader)
    assert time.monotonic() - start < 5  # a liveness check, not a hang


def test_timeout_raises_and_cleans_up():
    loader = DataLoader(Slow(2, 3.0), batch_size=1, num_workers=1, timeout=0.3)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"^DataLoader timed out after 0.3 seconds$"):
        list(loader)
    assert time.monotonic() - start < 2.5


# torch's half-built iterator fails in its __del__ (no _shutdown yet): torch's noise
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_zero_prefetch_is_refused_when_iterating_like_torch():
    """The constructor accepts prefetch_factor=0 with workers; the worker iterator refuses
    it before starting any process (else no task would be sent and nothing yielded)."""
    texts = []
    for lib in (ember, torch):
        loader = lib.utils.data.DataLoader(range(3), num_workers=1, prefetch_factor=0)
        with pytest.raises(AssertionError) as info:
            iter(loader)
        texts.append(str(info.value))
        assert multiprocessing.active_children() == []
    del info
    gc.collect()  # torch's iterator (held by the traceback's frames) goes inside the test
    assert texts == ["prefetch_factor must be greater than 0 for "
                     "MultiProcessingDataLoaderIter"] * 2


# -- cleanup ------------------------------------------------------------------------------

def test_break_and_drop_iterator_joins_workers():
    images = ember.randn(64, 3, 16, 16)
    for _ in DataLoader(TensorDataset(images), batch_size=4, num_workers=2):
        break  # the iterator is garbage; its workers (and in-flight segments) must go
    gc.collect()
    assert no_children_left()
    iterator = iter(DataLoader(TensorDataset(images), batch_size=4, num_workers=2))
    next(iterator)
    assert len(multiprocessing.active_children()) == 2
    del iterator
    gc.collect()
    assert no_children_left()


def _alive(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            return "\nState:\tZ" not in status.read()
    except FileNotFoundError:
        return False


_EXIT_SCRIPT = """
import os, signal, sys
import ember
from ember.utils.data import DataLoader

class Pid(ember.utils.data.Dataset):
    def __getitem__(self, i):
        return os.getpid()
    def __len__(self):
        return 100

iterator = iter(DataLoader(Pid(), num_workers=2))
pids = {{next(iterator).item() for _ in range(4)}}
print(" ".join(map(str, sorted(pids))), flush=True)
{ending}
"""


@pytest.mark.parametrize("ending", ["sys.exit(0)", "os.kill(os.getpid(), signal.SIGKILL)"])
def test_no_orphan_workers_after_interpreter_exit_or_parent_kill(ending):
    script = textwrap.dedent(_EXIT_SCRIPT).format(ending=ending)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60)
    pids = [int(p) for p in result.stdout.split()]
    assert len(pids) == 2, result.stderr
    deadline = time.time() + 5
    while any(_alive(pid) for pid in pids) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids)
    if ending == "sys.exit(0)":
        assert result.returncode == 0 and "Traceback" not in result.stderr


def test_persistent_workers_over_uneven_iterable_shards_match_torch():
    """A worker whose shard ends first is left out for the rest of the epoch but, being
    persistent, serves the next epoch again: two epochs give the same batches as torch."""
    results = []
    for lib in (ember, torch):
        loader = lib.utils.data.DataLoader(_make_range_stream(lib, 0, 7, True), batch_size=2,
                                           num_workers=2, persistent_workers=True)
        results.append([[b.tolist() for b in loader] for _ in range(2)])
    assert results[0] == results[1]


def test_overrun_warning_with_workers_matches_torch():
    """len(loader) promised fewer batches than the unsharded replicas produce."""
    messages = []
    for lib in (ember, torch):
        class Sized(lib.utils.data.IterableDataset):
            def __iter__(self):
                return iter(range(3))

            def __len__(self):
                return 3

            def __repr__(self):
                return "Sized()"

        loader = lib.utils.data.DataLoader(Sized(), batch_size=None, num_workers=2)
        assert len(loader) == 3
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert len(list(loader)) == 6
        messages.append(sorted({str(w.message) for w in caught
                                if "was reported" in str(w.message)}))
    assert messages[0] == messages[1] and messages[0]
