"""``torch.utils.throughput_benchmark``: run a model the way an inference server does,
from several calling threads at once, and report latency and throughput.

PyTorch's runner is C++; ember's uses Python threads. As in PyTorch, every thread first
runs its own ``num_warmup_iters`` calls, then all threads start together and share one
budget of ``num_iters`` calls, each call on an input picked at random from those given
to ``add_input``. NumPy and CuPy release the GIL inside their kernels, so threads overlap
in the array work; the Python around it is serialized by the GIL (PyTorch warns about the
same for nn.Modules).
"""

from __future__ import annotations

import random
import threading
import time

__all__ = ["ExecutionStats", "ThroughputBenchmark", "format_time"]


def format_time(time_us=None, time_ms=None, time_s=None) -> str:
    """Define time formatting."""
    if sum([time_us is not None, time_ms is not None, time_s is not None]) != 1:
        raise AssertionError("Expected only one of time_us, time_ms, time_s is given.")
    if time_us is None:
        time_us = time_ms * 1e3 if time_ms is not None else time_s * 1e6
    if time_us >= 1e6:
        return f"{time_us / 1e6:.3f}s"
    if time_us >= 1e3:
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


class BenchmarkConfig:
    """The run's settings (``torch.BenchmarkConfig``'s fields)."""

    def __init__(self) -> None:
        self.num_calling_threads = 1
        self.num_worker_threads = 1
        self.num_warmup_iters = 1
        self.num_iters = 100
        self.profiler_output_path = ""


class _Stats:
    __slots__ = ("latency_avg_ms", "num_iters")

    def __init__(self, latency_avg_ms: float, num_iters: int) -> None:
        self.latency_avg_ms = latency_avg_ms
        self.num_iters = num_iters


class ExecutionStats:
    """What a benchmark measured. ``latency_avg_ms`` is the wall time of the measured
    phase times the number of calling threads, over the iterations: the time one call
    took on average, with all threads busy."""

    def __init__(self, c_stats, benchmark_config) -> None:
        self._c_stats = c_stats
        self.benchmark_config = benchmark_config

    @property
    def latency_avg_ms(self):
        return self._c_stats.latency_avg_ms

    @property
    def num_iters(self):
        return self._c_stats.num_iters

    @property
    def iters_per_second(self):
        """Return total number of iterations per second across all calling threads."""
        return self.num_iters / self.total_time_seconds

    @property
    def total_time_seconds(self):
        return (self.num_iters * (self.latency_avg_ms / 1000.0)
                / self.benchmark_config.num_calling_threads)

    def __str__(self) -> str:
        return "\n".join([
            "Average latency per example: " + format_time(time_ms=self.latency_avg_ms),
            f"Total number of iterations: {self.num_iters}",
            "Total number of iterations per second (across all threads): "
            f"{self.iters_per_second:.2f}",
            "Total time: " + format_time(time_s=self.total_time_seconds),
        ])


class ThroughputBenchmark:
    """Benchmark ``module`` (an nn.Module, a scripted module or any callable) under a
    server-like load.

    Example::

        >>> bench = ThroughputBenchmark(model)
        >>> for x in inputs:
        ...     bench.add_input(x)
        >>> stats = bench.benchmark(num_calling_threads=4, num_warmup_iters=10,
        ...                         num_iters=1000)
        >>> print(stats.latency_avg_ms, stats.num_iters)
    """

    def __init__(self, module) -> None:
        self._module = module
        self._inputs: list = []

    def run_once(self, *args, **kwargs):
        """Run the module once on these arguments and return its result (to check the
        benchmark runs what you meant it to)."""
        return self._module(*args, **kwargs)

    def add_input(self, *args, **kwargs) -> None:
        """Keep one input (the call's arguments); threads pick from all kept inputs."""
        self._inputs.append((args, kwargs))

    def benchmark(self, num_calling_threads=1, num_warmup_iters=10, num_iters=100,
                  profiler_output_path="") -> ExecutionStats:
        """Run the benchmark (see the module docstring) and return its ExecutionStats.

        Args:
            num_calling_threads: threads calling the module concurrently.
            num_warmup_iters: calls each thread makes before measuring starts.
            num_iters: measured calls, shared by all threads.
            profiler_output_path: when given, the measured phase runs under the
                profiler and its Chrome trace is written there.
        """
        if not self._inputs:
            raise RuntimeError("Please provide benchmark inputs.Did you forget to call "
                               "add_input()? ")
        config = BenchmarkConfig()
        config.num_calling_threads = num_calling_threads
        config.num_warmup_iters = num_warmup_iters
        config.num_iters = num_iters
        config.profiler_output_path = profiler_output_path

        budget = [num_iters]
        budget_lock = threading.Lock()
        warmed = threading.Barrier(num_calling_threads + 1)
        go = threading.Event()
        errors: list = []

        def take_one() -> bool:
            with budget_lock:
                if budget[0] <= 0:
                    return False
                budget[0] -= 1
                return True

        def call(rng) -> None:
            args, kwargs = self._inputs[rng.randrange(len(self._inputs))]
            self._module(*args, **kwargs)

        def worker(seed: int) -> None:
            rng = random.Random(seed)
            try:
                for _ in range(num_warmup_iters):
                    call(rng)
            except BaseException as error:  # noqa: BLE001 - re-raised in the caller
                errors.append(error)
            warmed.wait()
            go.wait()
            try:
                while not errors and take_one():
                    call(rng)
            except BaseException as error:  # noqa: BLE001
                errors.append(error)

        threads = [threading.Thread(target=worker, args=(seed,), daemon=True)
                   for seed in range(num_calling_threads)]
        for thread in threads:
            thread.start()
        warmed.wait()
        profiler = None
        if profiler_output_path:
            from ..profiler import profile

            profiler = profile()
            profiler.__enter__()
        start = time.perf_counter()
        go.set()
        for thread in threads:
            thread.join()
        elapsed_ms = (time.perf_counter() - start) * 1000.0
        if profiler is not None:
            profiler.__exit__(None, None, None)
            profiler.export_chrome_trace(profiler_output_path)
        if errors:
            raise errors[0]
        done = num_iters - max(budget[0], 0)
        latency = elapsed_ms * num_calling_threads / done if done else 0.0
        return ExecutionStats(_Stats(latency, done), config)
