"""torch.distributed's small settings and queries: the debug level, which backends are
there and which serves a device, a group's backend configuration, the process group
count and the default timeout.

The debug level is recorded and read back as PyTorch's is (``TORCH_DISTRIBUTED_DEBUG``
sets it); ember's collectives check their arguments at every level, so it changes no
behaviour yet.
"""

from __future__ import annotations

import enum
import os
import typing
from datetime import timedelta

from .._backend.device import device as _as_device
from . import _group
from ._group import Backend, _resolve, is_gloo_available, is_mpi_available, is_nccl_available

__all__ = [
    "DebugLevel", "GroupName", "RankType", "default_pg_timeout", "get_backend_config",
    "get_debug_level", "get_default_backend_for_device", "get_pg_count",
    "is_backend_available", "is_ucc_available", "is_xccl_available", "set_debug_level",
    "set_debug_level_from_env",
]

default_pg_timeout = timedelta(seconds=1800)
GroupName = typing.NewType("GroupName", str)
RankType = int


class DebugLevel(enum.IntEnum):
    """How much ``ember.distributed`` checks and logs: OFF, INFO or DETAIL."""

    OFF = 0
    INFO = 1
    DETAIL = 2

    def __str__(self):
        return f"DebugLevel.{self.name}"


DebugLevel.__module__ = "ember.distributed"
_debug_level = [DebugLevel.OFF]


def get_debug_level() -> DebugLevel:
    return _debug_level[0]


def set_debug_level(level: DebugLevel) -> None:
    if not isinstance(level, DebugLevel):
        raise TypeError(f"set_debug_level(): level must be a DebugLevel, got "
                        f"{type(level).__name__}")
    _debug_level[0] = level


def set_debug_level_from_env() -> None:
    """The level ``TORCH_DISTRIBUTED_DEBUG`` names (OFF when it is not set)."""
    value = os.environ.get("TORCH_DISTRIBUTED_DEBUG")
    if value is None:
        _debug_level[0] = DebugLevel.OFF
        return
    level = DebugLevel.__members__.get(value.upper())
    if level is None:
        raise ValueError("The value of TORCH_DISTRIBUTED_DEBUG must be OFF, INFO, or DETAIL.")
    _debug_level[0] = level


def is_ucc_available() -> bool:
    return False


def is_xccl_available() -> bool:
    return False


_AVAILABLE = {"gloo": is_gloo_available, "mpi": is_mpi_available, "nccl": is_nccl_available,
              "ucc": is_ucc_available, "xccl": is_xccl_available}


def is_backend_available(backend: str) -> bool:
    """Whether ``backend`` (a name, or ``"cpu:gloo,cuda:nccl"``: every one listed) can
    run here."""
    names = [part.split(":", 1)[-1] for part in str(backend).split(",")]
    return all(_AVAILABLE.get(str(Backend(name)), lambda: False)() for name in names)


_DEFAULT_BACKEND = {"cpu": "gloo", "cuda": "nccl", "xpu": "xccl"}


def get_default_backend_for_device(device) -> str:
    """The backend PyTorch picks for ``device`` (``"cpu"`` -> gloo, ``"cuda"`` -> nccl)."""
    device_type = device.type if hasattr(device, "type") else _as_device(device).type
    backend = _DEFAULT_BACKEND.get(device_type)
    if backend is None:
        raise ValueError(f"Default backend not registered for device : {device}")
    return backend


def get_backend_config(group=None) -> str:
    """Which backend serves which device in ``group``, as ``"cpu:gloo,cuda:gloo"``."""
    resolved = _resolve(group)
    if resolved is None:
        raise ValueError("Invalid process group specified")
    backend = resolved.backend
    if backend == "nccl":
        return "cuda:nccl"
    return f"cpu:{backend},cuda:{backend}"


def get_pg_count() -> int:
    """How many process groups this process made: the world and every ``new_group`` call
    since ``init_process_group`` (0 before it and after ``destroy_process_group()``)."""
    return _group._pg_count[0] if _group.is_initialized() else 0
