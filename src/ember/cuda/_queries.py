"""Device and allocator queries of ``torch.cuda`` beyond the basics, served by CuPy:
architectures, peer access, per-process memory limits, raw allocations, library handles,
NVML process lists, CUDA error codes.

Without a GPU each answers as PyTorch's CPU build does: the build-time queries give their
empty answers (``get_arch_list() == []``, ``has_magma is False``), the statistics are
empty, and everything that needs a device raises the "not compiled with CUDA" error.
"""

from __future__ import annotations

import collections
import warnings

from .._backend.device import cupy_module
from .._exceptions import AcceleratorError, OutOfMemoryError
from . import _cupy, _index  # ember.cuda defines them before importing this module

has_half = True
has_magma = False  # CuPy's linear algebra is cuSOLVER's; there is no MAGMA

_NVML_MISSING = "nvidia-ml-py does not seem to be installed or it can't be imported."


# -- errors -----------------------------------------------------------------------------------


class CudaError(RuntimeError):
    """A CUDA runtime error code as PyTorch reports it: "<CUDA's text> (<code>)"."""

    def __init__(self, code: int) -> None:
        self.code = int(code)
        super().__init__(f"{_error_text(self.code)} ({self.code})")


def _error_text(code):
    """CUDA's text for ``code`` (cudaGetErrorString) from CuPy's runtime error, which
    words itself "cudaErrorName: text"."""
    error = _cupy().cuda.runtime.CUDARuntimeError(code)
    message = str(error)
    return message.split(": ", 1)[1] if ": " in message else message


def check_error(res: int) -> None:
    """Raise ``CudaError`` for a nonzero ``cudaError_t`` (0 is cudaSuccess)."""
    _cupy()
    if int(res) != 0:
        raise CudaError(res)


# -- architectures and devices ----------------------------------------------------------------


def get_arch_list() -> list:
    """The GPU architectures kernels can be built for: CuPy compiles at run time with
    NVRTC, so those NVRTC supports (the device's own where NVRTC cannot say)."""
    cp = cupy_module()
    if cp is None:
        return []
    nvrtc = getattr(cp.cuda, "nvrtc", None)
    try:
        archs = sorted(int(a) for a in nvrtc.getSupportedArchs())
    except Exception:  # noqa: BLE001 - NVRTC before CUDA 11.2 has no such query
        from . import device_count, get_device_capability

        archs = sorted({10 * major + minor for major, minor in
                        (get_device_capability(i) for i in range(device_count()))})
    return [f"sm_{arch}" for arch in archs]


def get_gencode_flags() -> str:
    """nvcc's ``-gencode`` flags for ``get_arch_list()`` ("" without a GPU)."""
    flags = []
    for name in get_arch_list():
        kind, arch = name.split("_")
        flags.append(f"-gencode compute=compute_{arch},code={kind}_{arch}")
    return " ".join(flags)


def can_device_access_peer(device, peer_device) -> bool:
    """Whether ``device`` can read and write ``peer_device``'s memory directly."""
    from . import device_count

    cp = _cupy()
    index, peer = _index(device), _index(peer_device)
    if not 0 <= index < device_count():
        raise AssertionError("Invalid device id")
    if not 0 <= peer < device_count():
        raise AssertionError("Invalid peer device id")
    return bool(cp.cuda.runtime.deviceCanAccessPeer(index, peer))


def is_tf32_supported() -> bool:
    """TF32 matmuls need an Ampere or newer GPU (compute capability 8.0)."""
    from . import get_device_capability, is_available

    return is_available() and get_device_capability()[0] >= 8


def current_blas_handle() -> int:
    """The cuBLAS handle (``cublasHandle_t`` as an int) CuPy uses on the current device."""
    return int(_cupy().cuda.device.get_cublas_handle())


def current_solver_handle() -> int:
    """The cuSOLVER dense handle CuPy uses on the current device."""
    return int(_cupy().cuda.device.get_cusolver_handle())


class _CudaRuntime:
    """What ``torch.cuda.cudart()`` gives: CUDA runtime calls returning a cudaError_t
    (0), here CuPy's runtime, which raises instead of returning an error code."""

    def __init__(self, runtime):
        self._runtime = runtime

    def cudaProfilerStart(self):  # noqa: N802 - CUDA's names
        self._runtime.profilerStart()
        return 0

    def cudaProfilerStop(self):  # noqa: N802
        self._runtime.profilerStop()
        return 0

    def cudaGetErrorString(self, code):  # noqa: N802
        return _error_text(int(code))

    def __getattr__(self, name):
        return getattr(self._runtime, name)


def cudart() -> _CudaRuntime:
    return _CudaRuntime(_cupy().cuda.runtime)


def ipc_collect() -> None:
    """Free memory other processes released after CUDA IPC sharing: ember shares no GPU
    memory between processes, so there is nothing to collect."""
    _cupy()


# -- memory -----------------------------------------------------------------------------------

_fractions: dict = {}  # device index -> the fraction last set


def set_per_process_memory_fraction(fraction, device=None) -> None:
    """Cap the memory pool of ``device`` at ``fraction`` of its memory (CuPy's
    ``MemoryPool.set_limit``); allocating beyond it raises an out-of-memory error."""
    cp = _cupy()
    index = _index(device)
    if not isinstance(fraction, float):
        raise TypeError("Invalid type for fraction argument, must be `float`")
    if not 0 <= fraction <= 1:
        raise ValueError(f"Invalid fraction value: {fraction}. Allowed range: 0~1")
    with cp.cuda.Device(index):
        cp.get_default_memory_pool().set_limit(fraction=fraction)
    _fractions[index] = fraction


def get_per_process_memory_fraction(device=None) -> float:
    """The fraction ``set_per_process_memory_fraction`` set (1.0: no cap)."""
    _cupy()
    return _fractions.get(_index(device), 1.0)


def device_memory_used(device=None) -> int:
    """Bytes of the device's memory in use by every process (total minus free)."""
    if cupy_module() is None:  # PyTorch asks NVML, and says so when it is missing
        raise ModuleNotFoundError(_NVML_MISSING)
    from . import mem_get_info

    free, total = mem_get_info(device)
    return total - free


def list_gpu_processes(device=None) -> str:
    """The processes using the device and their memory, from NVML (nvidia-ml-py)."""
    try:
        import pynvml
    except ModuleNotFoundError:
        return "pynvml module not found, please install nvidia-ml-py"
    index = _index(device)
    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    processes = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
    lines = [f"GPU:{index}"]
    if not processes:
        lines.append("no processes are running")
    for process in processes:
        megabytes = process.usedGpuMemory / (1024 * 1024)
        lines.append(f"process {process.pid:>10d} uses {megabytes:>12.3f} MB GPU memory")
    return "\n".join(lines)


def _nvml_handle(device):
    """PyTorch asks NVML (nvidia-ml-py) for live device readings; so does ember."""
    try:
        import pynvml
    except ModuleNotFoundError:
        raise ModuleNotFoundError(_NVML_MISSING) from None
    index = _index(device)
    pynvml.nvmlInit()
    return pynvml, pynvml.nvmlDeviceGetHandleByIndex(index)


def utilization(device=None) -> int:
    """Percent of the last sample period a kernel ran on the device (NVML)."""
    pynvml, handle = _nvml_handle(device)
    return pynvml.nvmlDeviceGetUtilizationRates(handle).gpu


def memory_usage(device=None) -> int:
    """Percent of the last sample period device memory was read or written (NVML)."""
    pynvml, handle = _nvml_handle(device)
    return pynvml.nvmlDeviceGetUtilizationRates(handle).memory


def temperature(device=None) -> int:
    """The GPU's temperature in degrees Celsius (NVML)."""
    pynvml, handle = _nvml_handle(device)
    return pynvml.nvmlDeviceGetTemperature(handle, 0)


def power_draw(device=None) -> int:
    """The GPU's power draw in milliwatts (NVML)."""
    pynvml, handle = _nvml_handle(device)
    return pynvml.nvmlDeviceGetPowerUsage(handle)


def clock_rate(device=None) -> int:
    """The SM clock in MHz (NVML)."""
    pynvml, handle = _nvml_handle(device)
    return pynvml.nvmlDeviceGetClockInfo(handle, 1)


# -- PyTorch's older names for the memory queries ----------------------------------------------


def _renamed(old, new):
    warnings.warn(f"`torch.cuda.{old}` has been renamed to `torch.cuda.{new}`", FutureWarning,
                  stacklevel=3)


def memory_cached(device=None) -> int:
    from . import memory_reserved

    _renamed("memory_cached", "memory_reserved")
    return memory_reserved(device)


def max_memory_cached(device=None) -> int:
    from . import max_memory_reserved

    _renamed("max_memory_cached", "max_memory_reserved")
    return max_memory_reserved(device)


def _resets_all_peaks(old, device):
    from . import reset_peak_memory_stats

    warnings.warn(f"torch.cuda.{old} now calls torch.cuda.reset_peak_memory_stats, which "
                  "resets /all/ peak memory stats.", FutureWarning, stacklevel=3)
    reset_peak_memory_stats(device)


def reset_max_memory_allocated(device=None) -> None:
    _resets_all_peaks("reset_max_memory_allocated", device)


def reset_max_memory_cached(device=None) -> None:
    _resets_all_peaks("reset_max_memory_cached", device)


def reset_accumulated_memory_stats(device=None) -> None:
    """ember's allocator statistics are current and peak values only; none accumulate."""
    _cupy()
    _index(device)


_raw_blocks: dict = {}  # pointer -> CuPy MemoryPointer of caching_allocator_alloc


def caching_allocator_alloc(size, device=None, stream=None) -> int:
    """``size`` bytes from the memory pool of ``device``; returns the address, which
    stays allocated until ``caching_allocator_delete``."""
    cp = _cupy()
    index = _index(device)
    if stream is not None and not isinstance(stream, int) and not hasattr(stream, "_stream"):
        raise TypeError("Invalid type for stream argument, must be `torch.cuda.Stream` or "
                        "`int` representing a pointer to a existing stream")
    with cp.cuda.Device(index):
        block = cp.get_default_memory_pool().malloc(int(size))
    _raw_blocks[int(block.ptr)] = block
    return int(block.ptr)


def caching_allocator_delete(mem_ptr: int) -> None:
    """Give the block at ``mem_ptr`` back to the pool."""
    _cupy()
    if _raw_blocks.pop(int(mem_ptr), None) is None:
        raise RuntimeError(f"invalid device pointer: {int(mem_ptr):#x}")


def get_allocator_backend() -> str:
    """"cudaMallocAsync" when CuPy allocates through ``MemoryAsyncPool``, else "native"
    (CuPy's default caching pool, the counterpart of PyTorch's native allocator)."""
    cp = _cupy()
    allocator = cp.cuda.get_allocator()
    owner = getattr(allocator, "__self__", None)
    async_pool = getattr(cp.cuda, "MemoryAsyncPool", None)
    if async_pool is not None and isinstance(owner, async_pool):
        return "cudaMallocAsync"
    return "native"


def host_memory_stats() -> dict:
    """The pinned-memory pool's counters (``cupyx.empty_pinned`` blocks); empty without
    a GPU, as PyTorch's."""
    cp = cupy_module()
    if cp is None:
        return collections.OrderedDict()
    pool = cp.get_default_pinned_memory_pool()
    stats = {}
    for key, method in (("allocated_bytes.current", "used_bytes"),
                        ("reserved_bytes.current", "total_bytes")):
        if hasattr(pool, method):  # CuPy 13 and later count pinned bytes
            stats[key] = int(getattr(pool, method)())
    return collections.OrderedDict(sorted(stats.items()))


def _nested(flat):
    nested: dict = {}
    for key, value in flat.items():
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def memory_stats_as_nested_dict(device=None) -> dict:
    """``memory_stats`` with its dotted keys as nested dictionaries."""
    from . import memory_stats

    return _nested(memory_stats(device))


def host_memory_stats_as_nested_dict() -> dict:
    return _nested(host_memory_stats())


__all__ = [
    "AcceleratorError", "CudaError", "OutOfMemoryError", "caching_allocator_alloc",
    "caching_allocator_delete", "can_device_access_peer", "check_error", "cudart",
    "current_blas_handle",
    "current_solver_handle", "device_memory_used", "get_allocator_backend", "get_arch_list",
    "get_gencode_flags", "get_per_process_memory_fraction", "has_half", "has_magma",
    "host_memory_stats", "host_memory_stats_as_nested_dict", "ipc_collect",
    "is_tf32_supported", "list_gpu_processes", "memory_stats_as_nested_dict",
    "set_per_process_memory_fraction", "utilization", "memory_usage", "temperature",
    "power_draw", "clock_rate", "memory_cached", "max_memory_cached",
    "reset_max_memory_allocated", "reset_max_memory_cached", "reset_accumulated_memory_stats",
    "get_sync_debug_mode", "set_sync_debug_mode", "memory_summary",
]


def _size_text(nbytes):
    """Bytes in the largest binary unit that keeps the number at least 1 (e.g. "12 MiB")."""
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    value, unit = float(nbytes), units[0]
    for next_unit in units[1:]:
        if value < 1024:
            break
        value, unit = value / 1024, next_unit
    return f"{int(value)} {unit}" if unit == "B" else f"{value:.2f} {unit}"


def memory_summary(device=None, abbreviated: bool = False) -> str:
    """A printable table of the allocator's numbers for ``device``: memory held by tensors
    and reserved by the pools, now and at the peak (CuPy's pools count no more)."""
    from . import memory_stats

    stats = memory_stats(device)
    rows = [("Allocated memory", stats["allocated_bytes.all.current"],
             stats["allocated_bytes.all.peak"]),
            ("GPU reserved memory", stats["reserved_bytes.all.current"],
             stats["reserved_bytes.all.peak"])]
    rule = "|" + "=" * 59 + "|"
    lines = [rule, "|" + f"ember CUDA memory summary, device ID {_index(device)}".center(59) + "|",
             rule, f"|{'Metric':^25}|{'Cur Usage':^16}|{'Peak Usage':^16}|",
             "|" + "-" * 59 + "|"]
    for name, current, peak in rows:
        lines.append(f"| {name:<24}|{_size_text(current):>15} |{_size_text(peak):>15} |")
    lines.append(rule)
    return "\n".join(lines)


# -- sync debug mode --------------------------------------------------------------------------

_SYNC_MODES = {"default": 0, "warn": 1, "error": 2}


def set_sync_debug_mode(debug_mode) -> None:
    """Report host reads of device values (``item``, ``tolist``, ``cpu()``): 0 or
    "default" ignores them, 1 or "warn" warns, 2 or "error" raises a RuntimeError.
    CuPy-internal waits (the count inside ``nonzero``) are not seen."""
    from .._backend import sync_debug

    _cupy()
    if isinstance(debug_mode, str):
        if debug_mode not in _SYNC_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, "
                               "`warn`, `error`")
        debug_mode = _SYNC_MODES[debug_mode]
    sync_debug.MODE[0] = int(debug_mode)


def get_sync_debug_mode() -> int:
    from .._backend import sync_debug

    _cupy()
    return sync_debug.MODE[0]
