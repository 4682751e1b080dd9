"""Kernel launches per bench step, counted on the CuPy double (no GPU needed).

On a GPU ember's bench steps are host-bound: each CuPy launch costs 15-26 us of host time
on the H200 machine (scripts/gpu_probe.py), so launches per step are what a GPU step's
time follows. This runs the gpu_bench workloads on cuda through the NumPy-backed double
(tests/cuda_sim/fake_cupy.py) and counts what would launch a kernel: ufunc calls (in
place or not, reductions included), array functions, fancy indexing reads and every
write, copies, fills, and the cupy functions that compute (not ``empty``). The counts are
a proxy, not CuPy's exact number (one take_along_axis is several kernels there).

    PYTHONPATH=src python3 scripts/gpu_launches.py [--steps 3] [--where]

Compiled kernels (``ember._backend.kernels``: the LSTM step, dropout masks, max pooling)
run on the double too (their CUDA C++ built by g++, tests/cuda_sim/fake_cupy_kernels.py),
and each call counts as one launch, as on a GPU.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests", "cuda_sim"), os.path.join(ROOT, "scripts")]

_NO_LAUNCH = {"empty", "empty_like", "asarray", "ascontiguousarray", "broadcast_to", "ravel",
              "expand_dims", "reshape", "squeeze", "moveaxis", "swapaxes", "transpose",
              "split", "array_split", "diagonal", "atleast_1d", "atleast_2d", "atleast_3d"}


def _ember_caller():
    """file:line of the innermost ember frame that led here."""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if os.sep + "ember" + os.sep in path and "cuda_sim" not in path:
            return f"{path.split(os.sep + 'ember' + os.sep, 1)[1]}:{frame.f_lineno}"
        frame = frame.f_back
    return "?"


def _install_counter(counts, sites=None):
    """Wrap the double's choke points; nested calls (NumPy's own inside a function) are
    not counted again."""
    import fake_cupy_array as array
    import fake_cupy_kernels as kernels

    depth = [0]

    def counted(kind, fn, launches=None):
        launches = launches or (lambda *a, **k: True)

        def wrapper(*args, **kwargs):
            if depth[0] == 0 and launches(*args, **kwargs):
                counts[kind] += 1
                if sites is not None:
                    sites[_ember_caller()] += 1
            depth[0] += 1
            try:
                return fn(*args, **kwargs)
            finally:
                depth[0] -= 1
        return wrapper

    def fancy(array_, key):
        keys = key if isinstance(key, tuple) else (key,)
        return any(hasattr(k, "shape") and getattr(k, "ndim", 0) > 0 or isinstance(k, list)
                   for k in keys)

    saved = {name: getattr(array, name) for name in
             ("_ufunc_call", "_function_call", "_getitem", "_setitem", "_device_function")}
    methods = ("astype", "copy", "fill", "take")  # NumPy runs these without a hook
    saved_methods = {name: getattr(array.ndarray, name) for name in methods}
    saved_kernel_call = kernels.ElementwiseKernel.__call__

    def undo():
        for name, value in saved.items():
            setattr(array, name, value)
        for name, value in saved_methods.items():
            setattr(array.ndarray, name, value)
        kernels.ElementwiseKernel.__call__ = saved_kernel_call

    array._ufunc_call = counted("ufunc", array._ufunc_call)
    array._function_call = counted(
        "function", array._function_call,
        lambda func, *rest: getattr(func, "__name__", "") not in _NO_LAUNCH)  # views
    array._getitem = counted("fancy read", array._getitem, fancy)
    array._setitem = counted("write", array._setitem)

    def converts(self, dtype, *args, **kwargs):  # astype(copy=False) to its own dtype: none
        return kwargs.get("copy", True) or array.numpy.dtype(dtype) != self.dtype

    for name in methods:
        setattr(array.ndarray, name, counted(name, getattr(array.ndarray, name),
                                             converts if name == "astype" else None))
    kernels.ElementwiseKernel.__call__ = counted("kernel", saved_kernel_call)
    device_function = array._device_function

    def counting_device_function(func):
        wrapped = device_function(func)
        name = getattr(func, "__name__", "")
        return wrapped if name in _NO_LAUNCH else counted("cupy." + name, wrapped)

    array._device_function = counting_device_function
    return undo


def count(steps=3, workloads=None, where=False):
    """{workload: Counter of launches per step} over ``steps`` steps after two warm-ups;
    with ``where``, keyed by the ember source line that launched instead of by kind."""
    import fake_cupy

    sys.modules.update(fake_cupy.modules())
    import gpu_bench

    counts, sites = collections.Counter(), collections.Counter()
    undo = _install_counter(counts, sites if where else None)
    try:
        return _count_each(workloads or gpu_bench.WORKLOADS, steps, counts, sites, where)
    finally:
        undo()


def _count_each(workloads, steps, counts, sites, where):
    import ember

    result = {}
    for name, setup in workloads:
        ember.manual_seed(0)
        step = setup(ember, device="cuda")
        step()
        step()
        counts.clear()
        sites.clear()
        for _ in range(steps):
            step()
        tally = sites if where else counts
        result[name] = collections.Counter({k: v / steps for k, v in tally.items()})
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--where", action="store_true",
                        help="list the ember source lines that launch the most")
    args = parser.parse_args(argv)
    for name, counter in count(args.steps, where=args.where).items():
        if args.where:
            print(f"{name}: {sum(counter.values()):g} launches/step")
            for site, n in counter.most_common(25):
                print(f"    {n:>6g}  {site}")
            continue
        top = ", ".join(f"{kind} {n:g}" for kind, n in counter.most_common(6))
        print(f"{name:<40} {sum(counter.values()):>6g} launches/step  ({top})")


if __name__ == "__main__":
    main()
