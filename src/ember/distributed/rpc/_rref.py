"""``RRef``: a reference to a value owned by one worker. The owner keeps the value in a
table under the reference's id; other workers hold (owner, id) and ask the owner for it.
Pickling an RRef sends (owner, id): on its owner it unpickles to the owner's reference."""

from __future__ import annotations

import threading

from ...futures import Future

_table_lock = threading.Lock()
_table = {}  # rref id -> _Slot, on the owner


class _Slot:
    """The owner's side of one RRef: the value once the creating call has finished."""

    __slots__ = ("ready", "value", "error")

    def __init__(self):
        self.ready, self.value, self.error = threading.Event(), None, None

    def fill(self, value):
        self.value = value
        self.ready.set()

    def fail(self, error):
        self.error = error
        self.ready.set()

    def get(self, timeout=None):
        if not self.ready.wait(timeout if timeout and timeout > 0 else None):
            from ._agent import _TIMEOUT_TEXT
            raise RuntimeError(_TIMEOUT_TEXT.format(int(round(timeout * 1000))))
        if self.error is not None:
            raise self.error
        return self.value


def _owned(rref_id) -> _Slot:
    with _table_lock:
        slot = _table.get(rref_id)
        if slot is None:
            slot = _table[rref_id] = _Slot()
        return slot


def _forget_all():
    with _table_lock:
        _table.clear()


def _fetch(rref_id, timeout):
    """Run on the owner by ``to_here``."""
    return _owned(rref_id).get(timeout)


def _call_method(rref, method_name, args, kwargs):
    """Run on the owner by the ``rpc_sync()``/``rpc_async()``/``remote()`` proxies."""
    return getattr(rref.local_value(), method_name)(*args, **kwargs)


def _rebuild(owner, rref_id):
    from . import _state
    agent = _state["agent"]
    if agent is not None and agent.info.id == owner.id:
        return RRef._owner(agent.info, rref_id)
    return RRef._user(owner, rref_id, None)


class _Proxy:
    """``rref.rpc_sync().method(*args)`` and its async/remote forms."""

    def __init__(self, rref, how, timeout):
        self._rref, self._how, self._timeout = rref, how, timeout

    def __getattr__(self, name):
        def call(*args, **kwargs):
            return self._how(self._rref.owner(), _call_method,
                             args=(self._rref, name, args, kwargs), timeout=self._timeout)
        return call


class RRef:
    """A reference to a value on some worker, as ``torch.distributed.rpc.RRef``.
    ``RRef(value)`` makes this worker the owner of ``value``."""

    def __init__(self, value=None, type_hint=None):
        from . import _next_local_rref_id, get_worker_info
        self._owner_info = get_worker_info()
        self._id = _next_local_rref_id()
        _owned(self._id).fill(value)
        self._created = None

    @classmethod
    def _owner(cls, info, rref_id):
        rref = cls.__new__(cls)
        rref._owner_info, rref._id, rref._created = info, rref_id, None
        return rref

    @classmethod
    def _user(cls, info, rref_id, created: Future | None):
        rref = cls.__new__(cls)
        rref._owner_info, rref._id, rref._created = info, rref_id, created
        return rref

    def __reduce__(self):
        return _rebuild, (self._owner_info, self._id)

    def owner(self):
        """The owner's ``WorkerInfo``."""
        return self._owner_info

    def owner_name(self) -> str:
        return self._owner_info.name

    def is_owner(self) -> bool:
        from . import get_worker_info
        return get_worker_info().id == self._owner_info.id

    def confirmed_by_owner(self) -> bool:
        """Whether the owner has the value's slot (a ``remote()`` call has answered)."""
        return self._created is None or self._created.done()

    def local_value(self):
        """The value, on its owner; elsewhere a RuntimeError as PyTorch's."""
        if not self.is_owner():
            from . import get_worker_info
            me = get_worker_info()
            raise RuntimeError(f"Cannot call localValue() on a non-local reference. Call it on "
                               f"{self._owner_info.name}. (called on {me.name})")
        return _owned(self._id).get()

    def to_here(self, timeout: float = -1.0):
        """A copy of the value on this worker (the value itself on the owner); waits for
        the owner to have created it."""
        if self.is_owner():
            return _owned(self._id).get(timeout if timeout > 0 else None)
        from . import _timeout, rpc_sync
        wait = _timeout(timeout if timeout > 0 else None)
        return rpc_sync(self._owner_info, _fetch, args=(self._id, wait), timeout=wait)

    def rpc_sync(self, timeout: float = -1.0):
        from . import rpc_sync
        return _Proxy(self, rpc_sync, timeout)

    def rpc_async(self, timeout: float = -1.0):
        from . import rpc_async
        return _Proxy(self, rpc_async, timeout)

    def remote(self, timeout: float = -1.0):
        from . import remote
        return _Proxy(self, remote, timeout)

    def _get_future(self):
        return self._created

    def __repr__(self):
        kind = "OwnerRRef" if self.is_owner() else "UserRRef"
        return f"{kind}(RRefId = GloballyUniqueId(created_on={self._id[0]}, " \
               f"local_id={self._id[1]}))"
