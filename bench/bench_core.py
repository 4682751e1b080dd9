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
