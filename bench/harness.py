"""Run one PyTorch-API workload on ember and on torch; report medians and the ratio.

A workload is ``setup(lib) -> step`` where ``lib`` is the ``ember`` or ``torch`` module
and ``step()`` runs one iteration. The same code runs on both, so the ratio measures
the libraries, not the workloads.
"""

from __future__ import annotations

import os
import statistics
import time


def _interleaved_medians(steps, repeat, warmup):
    """Median seconds per step, sampling the steps in turn (a, b, a, b, ...) so that a
    change in machine load during the run touches every library alike."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    samples = {label: [] for label in steps}
    for _ in range(repeat):
        for label, step in steps.items():
            start = time.perf_counter()
            step()
            samples[label].append(time.perf_counter() - start)
    return {label: statistics.median(values) for label, values in samples.items()}


def threads():
    """BLAS/intra-op threads for both libraries: $BENCH_THREADS, default 1. One thread
    makes the ratio stable on a shared machine (NumPy's OpenBLAS and torch's pool both
    oversubscribe badly when other processes use the cores)."""
    return int(os.environ.get("BENCH_THREADS", "1"))


def steady_malloc():
    """Fix glibc's malloc thresholds for the whole process (both libraries). By default
    glibc returns freed large blocks to the OS and adapts its thresholds to what was freed
    so far, so whichever library is timed first pays page faults on every large array
    (measured: the MLP step 5.8 ms when timed first, 4.5 ms when timed second)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 64 << 20)
    libc.mallopt(m_trim_threshold, 256 << 20)


def compare(name, setup, repeat=20, warmup=3, libs=None, extra=None):
    """Time ``setup(lib)``'s step on ember and torch; return a result row."""
    import torch

    import ember

    steady_malloc()
    ember.set_num_threads(threads())
    torch.set_num_threads(threads())
    libs = libs or {"ember": ember, "torch": torch}
    steps = {}
    for label, lib in libs.items():
        lib.manual_seed(0)
        steps[label] = setup(lib)
    times = _interleaved_medians(steps, repeat, warmup)
    row = {"workload": name, "ember_ms": times["ember"] * 1e3, "torch_ms": times["torch"] * 1e3,
           "ratio": times["ember"] / times["torch"]}
    if extra:
        row.update(extra(times))
    return row


def print_table(rows):
    keys = ["workload", "ember_ms", "torch_ms", "ratio"]
    extras = sorted({k for row in rows for k in row} - set(keys))
    header = keys + extras
    print(" | ".join(f"{k:>12}" if k != "workload" else f"{k:<44}" for k in header))
    for row in rows:
        cells = []
        for k in header:
            v = row.get(k, "")
            if k == "workload":
                cells.append(f"{v:<44}")
            elif isinstance(v, float):
                cells.append(f"{v:>12.3f}")
            else:
                cells.append(f"{v!s:>12}")
        print(" | ".join(cells))
