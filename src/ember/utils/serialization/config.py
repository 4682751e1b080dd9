"""``torch.utils.serialization.config``: defaults ``ember.save`` and ``ember.load`` read at
each call (``config.load.mmap = True`` makes every load map its storages).

The same fields as PyTorch's. ``save.compute_crc32`` is recorded but ember always writes
each record's CRC-32 (Python's zipfile computes it): the files are valid either way.
``save.use_pinned_memory_for_d2h`` has no effect (device copies go through CuPy).
"""

from __future__ import annotations

import sys


class load:
    mmap: bool = False
    endianness = None  # an ember.serialization.LoadEndianness, or None (little)
    mmap_flags: int | None = None if sys.platform == "win32" else 2  # mmap.MAP_PRIVATE
    calculate_storage_offsets: bool = False


class save:
    compute_crc32: bool = True
    use_pinned_memory_for_d2h: bool = False
    storage_alignment: int = 64
