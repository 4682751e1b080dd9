"""Key-value stores, as torch.distributed's: the rendezvous and bookkeeping space that
processes share before (and besides) their collectives.

``Store`` is the interface (subclass it in Python to plug in your own). ``HashStore``
keeps the keys in this process's memory, ``FileStore`` in a file that processes on one
machine (or a shared file system) open by name, ``TCPStore`` (``_tcp_store``) on a server
that one process runs and the others reach over TCP, and ``PrefixStore`` puts a
namespace in front of another store.

Values are bytes (``str`` values are stored UTF-8 encoded). Queues (``queue_push``,
``queue_pop``) live beside the keys, not among them, as in PyTorch: ``num_keys`` and
``list_keys`` do not count them. Operations that wait (``get``, ``wait``, ``multi_get``,
a blocking ``queue_pop``) give up after the store's ``timeout`` with ``DistStoreError``.
"""

from __future__ import annotations

import collections
import fcntl
import os
import pickle
import re
import struct
import threading
import time
from datetime import timedelta

from ._errors import DistStoreError, QueueEmptyError

__all__ = ["FileStore", "HashStore", "PrefixStore", "Store"]

_DEFAULT_TIMEOUT = timedelta(seconds=300)
_LEADING_INTEGER = re.compile(rb"\s*[+-]?\d+")


def _as_bytes(value, method: str, what: str = "value") -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{method}(): {what} must be str or bytes, got {type(value).__name__}")


def _check_key(key, method: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"{method}(): key must be str, got {type(key).__name__}")
    return key


def _check_timeout(timeout, method: str) -> timedelta:
    if not isinstance(timeout, timedelta):
        raise TypeError(f"{method}(): timeout must be a datetime.timedelta, got "
                        f"{type(timeout).__name__}")
    return timeout


def _milliseconds(timeout: timedelta) -> int:
    return int(timeout.total_seconds() * 1000)


def _integer_of(value: bytes, key: str) -> int:
    """The integer a stored value starts with (as C's ``stoll``: leading blanks and a
    sign allowed, trailing text ignored); an empty value counts as 0."""
    if value == b"":
        return 0
    match = _LEADING_INTEGER.match(value)
    if match is None:
        raise ValueError(f"add(): the value of key {key!r} is not an integer: {value!r}")
    return int(match.group())


class _WaitTimeout(Exception):
    """Raised by ``_KeyValue`` when a wait runs out; each store words its own error."""


class _KeyValue:
    """The keys, values and queues of an in-memory store, with one condition variable
    that wakes every waiter when anything changes. HashStore is one of these; the
    TCPStore server keeps its keys in one."""

    def __init__(self):
        self.values: dict = {}
        self.queues: dict = collections.defaultdict(collections.deque)
        self.changed = threading.Condition()

    def _until(self, ready, timeout: timedelta):
        """Wait (holding the lock) until ``ready()`` is true; _WaitTimeout after ``timeout``."""
        deadline = time.monotonic() + timeout.total_seconds()
        while not ready():
            left = deadline - time.monotonic()
            if left <= 0:
                raise _WaitTimeout
            self.changed.wait(left)

    def set(self, key, value):
        with self.changed:
            self.values[key] = value
            self.changed.notify_all()

    def get(self, key, timeout):
        with self.changed:
            self._until(lambda: key in self.values, timeout)
            return self.values[key]

    def add(self, key, amount):
        with self.changed:
            total = _integer_of(self.values.get(key, b"0"), key) + amount
            self.values[key] = str(total).encode()
            self.changed.notify_all()
            return total

    def compare_set(self, key, expected, desired):
        with self.changed:
            current = self.values.get(key)
            if current is None and expected != b"":
                return expected
            if current is not None and current != expected:
                return current
            self.values[key] = desired
            self.changed.notify_all()
            return desired

    def append(self, key, value):
        with self.changed:
            self.values[key] = self.values.get(key, b"") + value
            self.changed.notify_all()

    def multi_set(self, keys, values):
        with self.changed:
            self.values.update(zip(keys, values))
            self.changed.notify_all()

    def multi_get(self, keys, timeout):
        with self.changed:
            self._until(lambda: all(key in self.values for key in keys), timeout)
            return [self.values[key] for key in keys]

    def wait(self, keys, timeout):
        self.multi_get(keys, timeout)

    def check(self, keys):
        with self.changed:
            return all(key in self.values for key in keys)

    def delete_key(self, key):
        with self.changed:
            return self.values.pop(key, None) is not None

    def num_keys(self):
        with self.changed:
            return len(self.values)

    def list_keys(self):
        with self.changed:
            return list(self.values)

    def queue_push(self, key, value):
        with self.changed:
            self.queues[key].append(value)
            self.changed.notify_all()

    def queue_pop(self, key, block, timeout):
        with self.changed:
            if not block and not self.queues.get(key):
                raise QueueEmptyError("queue is empty")
            self._until(lambda: bool(self.queues.get(key)), timeout)
            return self.queues[key].popleft()

    def queue_len(self, key):
        with self.changed:
            return len(self.queues.get(key, ()))

    def barrier(self, key, world_size, timeout):
        """Count in under ``key`` and wait until ``world_size`` have (TCPStore's server)."""
        self.add(key, 1)
        with self.changed:
            self._until(lambda: _integer_of(self.values[key], key) >= world_size, timeout)


class Store:
    """The store interface: subclass it and define the operations your store keeps.

    The base class keeps only the timeout; ``multi_get``, ``multi_set``, ``append`` and
    ``barrier`` are written with ``get``, ``set``, ``compare_set``, ``add`` and ``wait``,
    so a subclass gets them from those. Every other operation raises RuntimeError until
    a subclass defines it.
    """

    def __init__(self, timeout: timedelta = _DEFAULT_TIMEOUT):
        self._timeout = timeout

    @property
    def timeout(self) -> timedelta:
        return self._timeout

    def set_timeout(self, timeout: timedelta) -> None:
        """The default timeout of ``get``, ``wait`` and friends from now on."""
        self._timeout = _check_timeout(timeout, "set_timeout")

    def _missing(self, method):
        raise RuntimeError(f"{type(self).__name__}.{method}() is not implemented: a Store "
                           f"subclass must define it")

    def set(self, key: str, value) -> None:
        self._missing("set")

    def get(self, key: str) -> bytes:
        self._missing("get")

    def add(self, key: str, amount: int) -> int:
        self._missing("add")

    def compare_set(self, key: str, expected_value, desired_value) -> bytes:
        self._missing("compare_set")

    def wait(self, keys, timeout: timedelta | None = None) -> None:
        self._missing("wait")

    def check(self, keys) -> bool:
        self._missing("check")

    def delete_key(self, key: str) -> bool:
        self._missing("delete_key")

    def num_keys(self) -> int:
        self._missing("num_keys")

    def list_keys(self) -> list:
        self._missing("list_keys")

    def clone(self) -> Store:
        self._missing("clone")

    def queue_push(self, key: str, value) -> None:
        self._missing("queue_push")

    def queue_pop(self, key: str, block: bool = True) -> bytes:
        self._missing("queue_pop")

    def queue_len(self, key: str) -> int:
        self._missing("queue_len")

    def has_extended_api(self) -> bool:
        return False

    def multi_get(self, keys) -> list:
        return [self.get(key) for key in keys]

    def multi_set(self, keys, values) -> None:
        for key, value in zip(keys, values):
            self.set(key, value)

    def append(self, key: str, value) -> None:
        """Add ``value`` to the end of ``key``'s value (creating it), atomically through
        ``compare_set`` when the store has no append of its own."""
        value = _as_bytes(value, "append")
        current = b""
        while True:
            stored = self.compare_set(key, current, current + value)
            if stored == current + value:
                return
            current = stored

    def barrier(self, key: str, world_size: int, timeout: timedelta | None = None) -> None:
        """Block until ``world_size`` callers have reached the barrier named ``key``."""
        arrived = self.add(key + "/num_members", 1)
        if arrived == world_size:
            self.set(key + "/last_member", b"1")
        self.wait([key + "/last_member"], timeout if timeout is not None else self.timeout)


class _MemoryStore(Store):
    """A store whose operations run on a ``_KeyValue`` (in this process or a server's);
    subclasses supply ``_call(method, *args)`` and the wording of a timeout."""

    def _call(self, method, *args):
        raise NotImplementedError

    def _timed_out(self, keys, timeout):
        return DistStoreError("Wait timeout")

    def _waiting(self, method, keys, timeout, *args):
        try:
            return self._call(method, *args, timeout)
        except _WaitTimeout:
            raise self._timed_out(keys, timeout) from None

    def set(self, key, value):
        self._call("set", _check_key(key, "set"), _as_bytes(value, "set"))

    def get(self, key):
        key = _check_key(key, "get")
        return self._waiting("get", [key], self.timeout, key)

    def add(self, key, amount):
        return self._call("add", _check_key(key, "add"), int(amount))

    def compare_set(self, key, expected_value, desired_value):
        return self._call("compare_set", _check_key(key, "compare_set"),
                          _as_bytes(expected_value, "compare_set", "expected_value"),
                          _as_bytes(desired_value, "compare_set", "desired_value"))

    def append(self, key, value):
        self._call("append", _check_key(key, "append"), _as_bytes(value, "append"))

    def multi_set(self, keys, values):
        self._call("multi_set", [_check_key(key, "multi_set") for key in keys],
                   [_as_bytes(value, "multi_set") for value in values])

    def multi_get(self, keys):
        keys = [_check_key(key, "multi_get") for key in keys]
        return self._waiting("multi_get", keys, self.timeout, keys)

    def wait(self, keys, timeout=None):
        keys = [_check_key(key, "wait") for key in keys]
        timeout = self.timeout if timeout is None else _check_timeout(timeout, "wait")
        self._waiting("wait", keys, timeout, keys)

    def check(self, keys):
        return self._call("check", [_check_key(key, "check") for key in keys])

    def delete_key(self, key):
        return self._call("delete_key", _check_key(key, "delete_key"))

    def num_keys(self):
        return self._call("num_keys")

    def list_keys(self):
        return self._call("list_keys")

    def queue_push(self, key, value):
        self._call("queue_push", _check_key(key, "queue_push"), _as_bytes(value, "queue_push"))

    def queue_pop(self, key, block=True):
        key = _check_key(key, "queue_pop")
        return self._waiting("queue_pop", [key], self.timeout, key, bool(block))

    def queue_len(self, key):
        return self._call("queue_len", _check_key(key, "queue_len"))

    def has_extended_api(self):
        return True


class HashStore(_MemoryStore):
    """A store in this process's memory: threads of one process share it (``clone()``
    shares the same keys)."""

    def __init__(self):
        super().__init__()
        self._keys = _KeyValue()

    def _call(self, method, *args):
        return getattr(self._keys, method)(*args)

    def clone(self) -> HashStore:
        twin = HashStore.__new__(HashStore)
        Store.__init__(twin, self.timeout)
        twin._keys = self._keys
        return twin


class PrefixStore(Store):
    """``store`` with every key put under ``prefix + "/"``: several users of one store
    keep out of each other's keys."""

    def __init__(self, prefix: str, store: Store):
        if store is None:
            raise ValueError("store argument cannot be None")
        if not isinstance(store, Store):
            raise TypeError(f"PrefixStore(): store must be a Store, got {type(store).__name__}")
        self._prefix, self._store = str(prefix), store

    def _key(self, key: str) -> str:
        return f"{self._prefix}/{key}"

    @property
    def underlying_store(self) -> Store:
        return self._store

    @property
    def timeout(self) -> timedelta:
        return self._store.timeout

    def set_timeout(self, timeout):
        self._store.set_timeout(timeout)

    def set(self, key, value):
        self._store.set(self._key(key), value)

    def get(self, key):
        return self._store.get(self._key(key))

    def add(self, key, amount):
        return self._store.add(self._key(key), amount)

    def compare_set(self, key, expected_value, desired_value):
        return self._store.compare_set(self._key(key), expected_value, desired_value)

    def append(self, key, value):
        self._store.append(self._key(key), value)

    def multi_get(self, keys):
        return self._store.multi_get([self._key(key) for key in keys])

    def multi_set(self, keys, values):
        self._store.multi_set([self._key(key) for key in keys], values)

    def wait(self, keys, timeout=None):
        self._store.wait([self._key(key) for key in keys], timeout)

    def check(self, keys):
        return self._store.check([self._key(key) for key in keys])

    def delete_key(self, key):
        return self._store.delete_key(self._key(key))

    def num_keys(self):
        """The underlying store's count, as PyTorch's (not only this prefix's keys)."""
        return self._store.num_keys()

    def list_keys(self):
        start = self._prefix + "/"
        return [key[len(start):] for key in self._store.list_keys() if key.startswith(start)]

    def queue_push(self, key, value):
        self._store.queue_push(self._key(key), value)

    def queue_pop(self, key, block=True):
        return self._store.queue_pop(self._key(key), block)

    def queue_len(self, key):
        return self._store.queue_len(self._key(key))

    def barrier(self, key, world_size, timeout=None):
        self._store.barrier(self._key(key), world_size, timeout)

    def has_extended_api(self):
        return self._store.has_extended_api()

    def clone(self) -> PrefixStore:
        return PrefixStore(self._prefix, self._store.clone())


_RECORD = struct.Struct("!I")  # length of one pickled (operation, key, value) record


class FileStore(Store):
    """A store in a file: every process (or thread) that opens ``file_name`` shares its
    keys. The file is a log of changes, appended under an exclusive ``flock`` and read
    back into memory as it grows. Each instance counts itself in and out: once
    ``world_size`` instances have closed (or been collected) and none has it open, the
    last one removes the file; ``world_size=-1`` never removes it. Waits poll the file
    every few milliseconds. Queues are not supported, as in PyTorch."""

    _POLL_SECONDS = 0.01

    def __init__(self, file_name: str, world_size: int = -1):
        super().__init__()
        if not isinstance(file_name, (str, os.PathLike)):
            raise TypeError(f"FileStore(): file_name must be str, got "
                            f"{type(file_name).__name__}")
        self._path, self._world_size = os.fspath(file_name), int(world_size)
        self._values: dict = {}
        self._offset = 0
        self._joined = self._left = 0  # instances that opened and closed it, from the log
        self._closed = False
        self._lock = threading.Lock()
        self._change(("join", None, None))

    @property
    def path(self) -> str:
        return self._path

    # -- the log --------------------------------------------------------------------------

    def _replay(self, handle) -> None:
        """Apply the records appended since the last read."""
        handle.seek(self._offset)
        data = handle.read()
        position = 0
        while position + _RECORD.size <= len(data):
            (length,) = _RECORD.unpack_from(data, position)
            if position + _RECORD.size + length > len(data):
                break
            operation, key, value = pickle.loads(
                data[position + _RECORD.size:position + _RECORD.size + length])
            position += _RECORD.size + length
            if operation == "set":
                self._values[key] = value
            elif operation == "delete":
                self._values.pop(key, None)
            elif operation == "join":
                self._joined += 1
            elif operation == "leave":
                self._left += 1
        self._offset += position

    def _open(self):
        return open(self._path, "a+b")

    def _read(self, compute):
        """``compute(values)`` on the keys as the file has them now."""
        with self._lock, self._open() as handle:
            fcntl.flock(handle, fcntl.LOCK_SH)
            try:
                self._replay(handle)
                return compute(self._values)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _change(self, decide):
        """Under the file's exclusive lock: bring the keys up to date, let ``decide`` (a
        record, or a function of the values giving (records, result)) say what to append,
        and append it."""
        with self._lock, self._open() as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                self._replay(handle)
                records, result = ([decide], None) if isinstance(decide, tuple) else \
                    decide(self._values)
                if records:
                    handle.seek(0, os.SEEK_END)
                    for record in records:
                        payload = pickle.dumps(record)
                        handle.write(_RECORD.pack(len(payload)) + payload)
                    handle.flush()
                    self._replay(handle)
                return result
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _wait_for(self, keys, timeout, message):
        deadline = time.monotonic() + timeout.total_seconds()
        while True:
            found = self._read(lambda values: [values.get(key) for key in keys])
            if all(value is not None for value in found):
                return found
            if time.monotonic() >= deadline:
                raise DistStoreError(message)
            time.sleep(self._POLL_SECONDS)

    # -- operations -----------------------------------------------------------------------

    def set(self, key, value):
        self._change(("set", _check_key(key, "set"), _as_bytes(value, "set")))

    def get(self, key):
        key = _check_key(key, "get")
        return self._wait_for([key], self.timeout, f"Timeout waiting for key: {key} after "
                              f"{_milliseconds(self.timeout)} ms")[0]

    def multi_get(self, keys):
        keys = [_check_key(key, "multi_get") for key in keys]
        try:
            return self._wait_for(keys, self.timeout, "")
        except DistStoreError:
            missing = ", ".join(key for key in keys if not self.check([key]))
            raise DistStoreError(f"Timeout waiting for key: {missing} after "
                                 f"{_milliseconds(self.timeout)} ms") from None

    def wait(self, keys, timeout=None):
        keys = [_check_key(key, "wait") for key in keys]
        timeout = self.timeout if timeout is None else _check_timeout(timeout, "wait")
        self._wait_for(keys, timeout, "Wait timeout")

    def add(self, key, amount):
        key, amount = _check_key(key, "add"), int(amount)

        def decide(values):
            total = _integer_of(values.get(key, b"0"), key) + amount
            return [("set", key, str(total).encode())], total
        return self._change(decide)

    def compare_set(self, key, expected_value, desired_value):
        key = _check_key(key, "compare_set")
        expected = _as_bytes(expected_value, "compare_set", "expected_value")
        desired = _as_bytes(desired_value, "compare_set", "desired_value")

        def decide(values):
            current = values.get(key)
            if current is None and expected != b"":
                return [], expected
            if current is not None and current != expected:
                return [], current
            return [("set", key, desired)], desired
        return self._change(decide)

    def append(self, key, value):
        key, value = _check_key(key, "append"), _as_bytes(value, "append")
        self._change(lambda values: ([("set", key, values.get(key, b"") + value)], None))

    def multi_set(self, keys, values):
        records = [("set", _check_key(key, "multi_set"), _as_bytes(value, "multi_set"))
                   for key, value in zip(keys, values)]
        self._change(lambda _: (records, None))

    def check(self, keys):
        keys = [_check_key(key, "check") for key in keys]
        return self._read(lambda values: all(key in values for key in keys))

    def delete_key(self, key):
        """True, whether or not ``key`` was there (as PyTorch's FileStore)."""
        self._change(("delete", _check_key(key, "delete_key"), None))
        return True

    def num_keys(self):
        return self._read(len)

    def list_keys(self):
        return self._read(list)

    def _no_queues(self, *args, **kwargs):
        raise NotImplementedError("queue support is not implemented.")

    queue_push = queue_pop = queue_len = _no_queues

    def clone(self) -> FileStore:
        twin = FileStore(self._path, self._world_size)
        twin.set_timeout(self.timeout)
        return twin

    def _close(self) -> None:
        if self._closed or not os.path.exists(self._path):
            return
        self._closed = True
        self._change(("leave", None, None))
        if 0 < self._world_size <= self._left == self._joined:
            try:
                os.remove(self._path)
            except FileNotFoundError:
                pass

    def __del__(self):
        try:
            self._close()
        except Exception:  # noqa: BLE001 - interpreter shutdown: nothing left to tell
            pass
