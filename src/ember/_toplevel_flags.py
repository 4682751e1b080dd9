"""Process-wide switches of the ``torch`` namespace: warn-always mode, flushing denormals,
anomaly mode, the deterministic debug mode, thread initialisation and ABI queries.

Each is wired to the state ember already keeps (``autograd.engine``'s anomaly flags,
``_misc``'s deterministic-algorithms settings), so the old and new spellings agree.
"""

from __future__ import annotations

import platform
import sys

from . import _misc
from ._warn_once import WARN_ALWAYS

__all__ = [
    "set_warn_always", "is_warn_always_enabled", "set_flush_denormal", "set_anomaly_enabled",
    "is_anomaly_check_nan_enabled", "get_deterministic_debug_mode",
    "set_deterministic_debug_mode", "init_num_threads", "compiled_with_cxx11_abi",
]


def _require_bool(value, message):
    if not isinstance(value, bool):
        raise RuntimeError(f"{message}, but got {type(value).__name__}")


def set_warn_always(b: bool, /) -> None:
    """Show warnings PyTorch shows once per process (``TORCH_WARN_ONCE``) every time."""
    _require_bool(b, "setWarnOnlyOnce expects a bool")
    WARN_ALWAYS[0] = b


def is_warn_always_enabled() -> bool:
    return WARN_ALWAYS[0]


# ---------------------------------------------------------------------------
# Denormals: the x86 MXCSR's flush-to-zero (FTZ) and denormals-are-zero (DAZ) bits
# ---------------------------------------------------------------------------

_FTZ_DAZ = 0x8040
_mxcsr: list = []  # [(get, set)] once built; [None] where the CPU or OS cannot


def _mxcsr_access():
    """Two tiny machine-code functions that read and write the MXCSR register of the
    calling thread (the register PyTorch's set_flush_denormal sets); None off x86-64
    System V or where the OS refuses executable memory."""
    if _mxcsr:
        return _mxcsr[0]
    access = None
    if platform.machine() in ("x86_64", "AMD64", "amd64") and sys.platform != "win32":
        try:
            access = _build_mxcsr_access()
        except (OSError, ValueError, AttributeError):
            access = None
    _mxcsr.append(access)
    return access


def _build_mxcsr_access():
    import ctypes
    import mmap

    # stmxcsr [rsp-4]; mov eax, [rsp-4]; ret  /  mov [rsp-4], edi; ldmxcsr [rsp-4]; ret
    # (leaf functions using the System V red zone below rsp)
    read = bytes([0x0F, 0xAE, 0x5C, 0x24, 0xFC, 0x8B, 0x44, 0x24, 0xFC, 0xC3])
    write = bytes([0x89, 0x7C, 0x24, 0xFC, 0x0F, 0xAE, 0x54, 0x24, 0xFC, 0xC3])
    page = mmap.mmap(-1, mmap.PAGESIZE,
                     prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(read + write)
    base = ctypes.addressof(ctypes.c_char.from_buffer(page))
    get = ctypes.CFUNCTYPE(ctypes.c_uint32)(base)
    put = ctypes.CFUNCTYPE(None, ctypes.c_uint32)(base + len(read))
    return page, get, put  # the page must outlive the functions


def set_flush_denormal(mode: bool) -> bool:
    """Flush denormal floats to zero on this thread's CPU (x86 FTZ and DAZ bits), as
    ``torch.set_flush_denormal``; True when the CPU supports it and the mode is set.

    Like PyTorch's, the setting belongs to the calling thread (NumPy's ufuncs run there;
    BLAS worker threads keep their own mode).
    """
    _require_bool(mode, "flush_denormal expects a bool")
    access = _mxcsr_access()
    if access is None:
        return False
    _, get, put = access
    current = get()
    put((current | _FTZ_DAZ) if mode else (current & ~_FTZ_DAZ))
    return True


# ---------------------------------------------------------------------------
# Anomaly mode, deterministic debug mode, threads
# ---------------------------------------------------------------------------


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """``torch.set_anomaly_enabled``: the switch under ``autograd.set_detect_anomaly``."""
    from .autograd import engine

    for position, (name, value) in enumerate((("enabled", enabled), ("check_nan", check_nan))):
        if not isinstance(value, bool):
            raise TypeError(f"set_anomaly_enabled(): argument '{name}' (position "
                            f"{position + 1}) must be bool, not {type(value).__name__}")
    engine._anomaly[0] = enabled
    engine._anomaly_check_nan[0] = check_nan


def is_anomaly_check_nan_enabled() -> bool:
    from .autograd import engine

    return engine._anomaly_check_nan[0]


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def get_deterministic_debug_mode() -> int:
    """0: deterministic algorithms off; 1: on, warning only; 2: on, raising."""
    if not _misc.are_deterministic_algorithms_enabled():
        return 0
    return 1 if _misc.is_deterministic_algorithms_warn_only_enabled() else 2


def set_deterministic_debug_mode(debug_mode) -> None:
    """The same switch as ``use_deterministic_algorithms``, by level: ``"default"``/0,
    ``"warn"``/1 or ``"error"``/2."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, "
                               f"`warn`, `error`, but got {debug_mode}")
        level = _DEBUG_MODES[debug_mode]
    elif isinstance(debug_mode, int):
        if debug_mode not in (0, 1, 2):
            raise RuntimeError(
                f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
        level = int(debug_mode)
    else:
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    _misc.use_deterministic_algorithms(level > 0, warn_only=level == 1)


def init_num_threads() -> None:
    """Apply the thread count chosen with ``set_num_threads`` to the BLAS pool again (a
    thread pool created since then starts with its own default)."""
    count = _misc._threads["count"]
    if count is not None:
        _misc._threadpool_limits(count)


def compiled_with_cxx11_abi() -> bool:
    """True, as every PyTorch 2.x wheel answers: ember compiles no C++ of its own, and
    code asking picks the flags of extensions built against that ABI."""
    return True
