"""``MemPool`` and ``use_mem_pool``: a separate caching pool that chosen allocations go to.

A ``MemPool`` is its own ``cupy.cuda.MemoryPool``; inside ``with use_mem_pool(pool):``
CuPy allocates through it (``cupy.cuda.using_allocator``), so those tensors' memory is
cached and reused within that pool, apart from the default one. ``memory_allocated`` and
``memory_reserved`` count every live pool, as PyTorch's do. CuPy's allocator switch is
per thread and not per device, so inside the block allocations on any device go to the
pool (PyTorch routes only ``device``'s).
"""

from __future__ import annotations

import contextlib
import itertools
import weakref

from . import _cupy, _index  # ember.cuda defines them before importing this module

_live: weakref.WeakSet = weakref.WeakSet()
_ids = itertools.count(1)


def live_pools() -> list:
    """The CuPy pools of the ``MemPool`` objects still alive."""
    return [mempool._pool for mempool in list(_live)]


class MemPool:
    """A pool of device memory apart from the default one.

    Args:
        allocator: not supported (CuPy pools allocate with cudaMalloc); must be None.
        use_on_oom: accepted for PyTorch's signature; CuPy does not fall back to pools.
    """

    def __init__(self, allocator=None, use_on_oom: bool = False, no_split: bool = False):
        cp = _cupy()
        if allocator is not None:
            raise ValueError("ember's MemPool allocates through CuPy; a custom allocator is "
                             "not supported")
        self._pool = cp.cuda.MemoryPool()
        self._id = (0, next(_ids))
        self._users = 0
        _live.add(self)

    @property
    def id(self) -> tuple:
        """The pool's id, a tuple of two ints."""
        return self._id

    def use_count(self) -> int:
        """How many hold the pool: this object and each ``use_mem_pool`` block inside."""
        return 1 + self._users

    def __repr__(self):
        return f"<ember.cuda.MemPool id={self._id}>"


@contextlib.contextmanager
def use_mem_pool(pool: MemPool, device=None):
    """``with ember.cuda.use_mem_pool(pool):`` allocations inside come from ``pool``."""
    cp = _cupy()
    index = _index(device)
    pool._users += 1
    try:
        with cp.cuda.Device(index), cp.cuda.using_allocator(pool._pool.malloc):
            yield
    finally:
        pool._users -= 1
