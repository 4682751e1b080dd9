"""Core benchmarks (issue 2): per-op overhead, GEMM throughput, pointwise chains.

    python bench/bench_core.py
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from harness import compare, print_table  # noqa: E402


def _steady_malloc():
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


def _limit_threads():
    """``BENCH_THREADS=n`` gives both libraries n threads (BLAS and intra-op). On a shared,
    loaded machine multi-threaded GEMMs stall whenever one thread is descheduled, which
    swamps the per-library difference; one thread each measures the libraries."""
    count = os.environ.get("BENCH_THREADS")
    if count:
        import torch

        import ember

        torch.set_num_threads(int(count))
        ember.set_num_threads(int(count))


def small_ops(lib):
    """(a) 200 chained small ops on 16-element tensors, then backward."""
    x = lib.randn(16, requires_grad=True)
    w = lib.randn(16)

    def step():
        y = x
        for _ in range(50):
            y = y * w
            y = y + 1.0
            y = y.tanh()
            y = y - w
        y.sum().backward()
        x.grad = None

    return step


def matmul_1024(lib):
    """(b) 1024x1024 matmul forward and backward (float32)."""
    a = lib.randn(1024, 1024, requires_grad=True)
    b = lib.randn(1024, 1024, requires_grad=True)

    def step():
        c = a @ b
        c.backward(lib.ones(1024, 1024))
        a.grad = None
        b.grad = None

    return step


def pointwise_1m(lib):
    """(c) a chain of pointwise ops on 1M-element tensors, with backward."""
    x = lib.randn(1_000_000, requires_grad=True)
    y = lib.randn(1_000_000)

    def step():
        z = ((x * y + 1.0).exp() * 0.5 - x).tanh() * y
        z.sum().backward()
        x.grad = None

    return step


def numpy_gemm_seconds(repeat=10):
    """Seconds per GEMM of raw NumPy, timed on the three products a matmul's forward and
    backward run (a @ b, g @ b.T, a.T @ g), so the layouts match what (b) does."""
    a = np.random.randn(1024, 1024).astype(np.float32)
    b = np.random.randn(1024, 1024).astype(np.float32)
    g = np.ones((1024, 1024), np.float32)
    a @ b
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        a @ b
        g @ b.T
        a.T @ g
        samples.append((time.perf_counter() - start) / 3)
    return sorted(samples)[len(samples) // 2]


def main():
    _steady_malloc()
    _limit_threads()
    rows = [compare("(a) 200 small ops + backward, 16 elems", small_ops, repeat=30)]
    gemm = numpy_gemm_seconds()
    flops = 3 * 2 * 1024 ** 3  # forward plus two backward GEMMs
    rows.append(compare(
        "(b) matmul 1024^2 fwd+bwd", matmul_1024, repeat=10,
        extra=lambda t: {"ember_GFLOPs": flops / t["ember"] / 1e9,
                         "numpy_GFLOPs": 2 * 1024 ** 3 / gemm / 1e9,
                         "of_numpy": (flops / t["ember"]) / (2 * 1024 ** 3 / gemm)},
    ))
    rows.append(compare("(c) pointwise chain 1M + backward", pointwise_1m, repeat=10))
    print_table(rows)
    return rows


if __name__ == "__main__":
    main()
