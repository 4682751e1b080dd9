"""nn.parallel: DataParallel and data_parallel on the one device there is."""

from __future__ import annotations

__all__: list[str] = []
