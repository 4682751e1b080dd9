"""Timer: time a statement as ``torch.utils.benchmark.Timer`` does.

Python's ``timeit`` runs the statement; on top of it come a warm-up, a thread-count
setting, a block size chosen so the timer's own overhead is negligible
(``blocked_autorange``), and ``adaptive_autorange``, which keeps measuring until the
spread is small. CUDA work is synchronized before each reading.
"""

from __future__ import annotations

import enum
import textwrap
import timeit as _timeit

import numpy as np

from . import common

__all__ = ["Language", "Timer", "timer"]


def timer() -> float:
    """``timeit.default_timer`` after waiting for queued GPU work, if any."""
    import ember

    if ember.cuda.is_available():
        ember.cuda.synchronize()
    return _timeit.default_timer()


class Language(enum.Enum):
    PYTHON = 0
    CPP = 1


def _clean(code: str) -> str:
    code = textwrap.dedent(code)
    return (code.removeprefix("\n")).rstrip()


class Timer:
    def __init__(self, stmt="pass", setup="pass", global_setup="", timer=timer, globals=None,
                 label=None, sub_label=None, description=None, env=None, num_threads=1,
                 language=Language.PYTHON) -> None:
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")  # noqa: TRY004
        if language in (Language.CPP, "cpp", "c++"):
            raise ValueError("ember has no C++ frontend: time Python statements "
                             "(language=Language.PYTHON)")
        if language not in (Language.PYTHON, "py", "python"):
            raise ValueError(f"Invalid language `{language}`.")
        if global_setup:
            raise ValueError(f"global_setup is C++ only, got `{global_setup}`. Most likely "
                             "this code can simply be moved to `setup`.")
        import ember

        namespace = dict(globals or {})
        namespace.setdefault("torch", ember)
        stmt, setup = _clean(stmt), _clean(setup)
        self._timer = _timeit.Timer(stmt=stmt, setup=setup, timer=timer, globals=namespace)
        self._task_spec = common.TaskSpec(stmt=stmt, setup=setup, global_setup=global_setup,
                                          label=label, sub_label=sub_label,
                                          description=description, env=env,
                                          num_threads=num_threads)

    def _run(self, number: int) -> float:
        return max(self._timer.timeit(number), 1e-9)

    def _measurement(self, number, times):
        return common.Measurement(number_per_run=number, raw_times=times,
                                  task_spec=self._task_spec)

    def timeit(self, number: int = 1000000) -> common.Measurement:
        """One measurement of ``number`` runs, after a warm-up of ``number // 100``."""
        with common.set_torch_threads(self._task_spec.num_threads):
            self._run(max(number // 100, 2))
            return self._measurement(number, [self._run(number)])

    def repeat(self, repeat: int = -1, number: int = -1):
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback=None):
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _block_size(self, min_run_time: float) -> int:
        """The smallest power of ten of runs whose time dwarfs the timer's overhead
        (1e-4 of it) and is at least a thousandth of ``min_run_time``."""
        with common.set_torch_threads(self._task_spec.num_threads):
            overhead = float(np.median([self._run(0) for _ in range(5)]))
            number = 1
            while True:
                taken = self._run(number)
                if overhead / taken <= 1e-4 and taken >= min_run_time / 1000:
                    break
                if taken > min_run_time or number * 10 > 2147483647:
                    break
                number *= 10
        return number

    def _measure_until(self, number, done, min_run_time, max_run_time=None, callback=None):
        times, total = [], 0.0
        with common.set_torch_threads(self._task_spec.num_threads):
            while True:
                taken = self._run(number)
                times.append(taken)
                total += taken
                if callback:
                    callback(number, taken)
                if total >= min_run_time and done(times):
                    break
                if max_run_time and total > max_run_time:
                    break
        return times

    def blocked_autorange(self, callback=None, min_run_time: float = 0.2):
        """Blocks of a fixed number of runs until ``min_run_time`` seconds are spent."""
        number = self._block_size(min_run_time)
        times = self._measure_until(number, lambda times: True, min_run_time,
                                    callback=callback)
        return self._measurement(number, times)

    def adaptive_autorange(self, threshold: float = 0.1, *, min_run_time: float = 0.01,
                           max_run_time: float = 10.0, callback=None):
        """Blocks until the IQR is under ``threshold`` of the median (at least 4 blocks and
        ``min_run_time``; at most ``max_run_time``)."""
        number = self._block_size(0.05)

        def confident(times):
            return len(times) > 3 and self._measurement(number, times).meets_confidence(
                threshold)

        times = self._measure_until(number, confident, min_run_time, max_run_time, callback)
        return self._measurement(number, times)

    def collect_callgrind(self, *args, **kwargs):
        raise NotImplementedError(
            "collect_callgrind counts instructions under Valgrind through PyTorch's C++ "
            "bindings; ember has none. Use blocked_autorange or adaptive_autorange.")
