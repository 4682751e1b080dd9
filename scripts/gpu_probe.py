"""What the lent GPU's CuPy offers and costs, for choosing device-specific kernels:
cuDNN/cuBLAS bindings, and the host time of a small op (launch-bound work).

    PYTHONPATH=src python3 scripts/gpu_probe.py
"""

from __future__ import annotations

import importlib
import time


def _host_us(fn, repeat=2000):
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1e6


def main():
    import cupy
    import numpy as np

    for name in ("cupy.cudnn", "cupy.cuda.cudnn", "cupy.cublas", "cupyx.cudnn"):
        try:
            module = importlib.import_module(name)
            version = getattr(module, "get_build_version", getattr(module, "getVersion", None))
            print(f"{name}: importable" + (f", version {version()}" if version else ""))
        except Exception as exc:  # noqa: BLE001 - a probe reports, it does not stop
            print(f"{name}: {type(exc).__name__}: {str(exc)[:100]}")
    small = cupy.ones((64, 64), dtype=np.float32)
    other = cupy.ones((64, 64), dtype=np.float32)
    costs = {
        "a + b (64x64)": lambda: small + other,
        "a += b": lambda: small.__iadd__(other),
        "a.sum()": lambda: small.sum(),
        "a @ b": lambda: small @ other,
        "cupy.tanh(a)": lambda: cupy.tanh(small),
        "cupy.empty": lambda: cupy.empty((64, 64), dtype=np.float32),
        "cupy.asarray(1.5)": lambda: cupy.asarray(1.5),
        "bool(a.any()) (sync)": lambda: bool(small.any()),
    }
    for label, fn in costs.items():
        print(f"host time {label:<22} {_host_us(fn):8.1f} us")
    cupy.cuda.Device().synchronize()
    try:
        import torch

        t = torch.ones(64, 64, device="cuda")
        u = torch.ones(64, 64, device="cuda")
        print(f"host time torch a + b (64x64)     {_host_us(lambda: t + u):8.1f} us")
    except Exception as exc:  # noqa: BLE001
        print("torch:", exc)


if __name__ == "__main__":
    main()
