"""What a benchmark measured: the task (TaskSpec) and its timings (Measurement), with the
robust statistics PyTorch's benchmark utilities report (median, IQR, significant figures,
a warning when the spread suggests a noisy machine)."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import math
import textwrap

import numpy as np

__all__ = ["Measurement", "TaskSpec", "ordered_unique", "select_unit", "set_torch_threads",
           "trim_sigfig", "unit_to_english"]

_MAX_SIGNIFICANT_FIGURES = 4
_MIN_CONFIDENCE_INTERVAL = 25e-9  # timers resolve no better than ~25 ns
_IQR_WARN_THRESHOLD = 0.1
_IQR_GROSS_WARN_THRESHOLD = 0.25


@dataclasses.dataclass(frozen=True, repr=False)
class TaskSpec:
    """What was timed and how it is labelled in reports."""

    stmt: str
    setup: str
    global_setup: str = ""
    label: str | None = None
    sub_label: str | None = None
    description: str | None = None
    env: str | None = None
    num_threads: int = 1

    @property
    def title(self) -> str:
        suffix = f": {self.sub_label}" if self.sub_label else ""
        if self.label is not None:
            return self.label + suffix
        if "\n" not in self.stmt:
            return self.stmt + suffix
        sub = f" ({self.sub_label})" if self.sub_label else ""
        return f"stmt:{sub}\n{textwrap.indent(self.stmt, '  ')}"

    def setup_str(self) -> str:
        if self.setup in ("", "pass"):
            return ""
        if "\n" in self.setup:
            return f"setup:\n{textwrap.indent(self.setup, '  ')}"
        return f"setup: {self.setup}"

    def summarize(self) -> str:
        sections = [s for s in (self.title, self.description or "", self.setup_str()) if s]
        return "\n".join(f"{s}\n" if "\n" in s else s for s in sections)


_TASK_FIELDS = tuple(field.name for field in dataclasses.fields(TaskSpec))


@dataclasses.dataclass(repr=False)
class Measurement:
    """``raw_times[i]`` seconds for ``number_per_run`` runs of the task."""

    number_per_run: int
    raw_times: list
    task_spec: TaskSpec
    metadata: dict | None = None

    def __post_init__(self) -> None:
        self._stats = None

    def __getattr__(self, name):
        if name in _TASK_FIELDS:  # m.label, m.num_threads, ... read through to the task
            return getattr(self.task_spec, name)
        raise AttributeError(f"'Measurement' object has no attribute '{name}'")

    @property
    def times(self) -> list:
        """Seconds per run, one entry per measurement."""
        return [t / self.number_per_run for t in self.raw_times]

    def _statistics(self) -> dict:
        if self._stats is None:
            times = np.sort(np.asarray(self.times, dtype=np.float64))
            p25, median, p75 = np.quantile(times, [0.25, 0.5, 0.75])
            self._stats = {"sorted": times, "median": float(median), "mean": float(times.mean()),
                           "p25": float(p25), "p75": float(p75)}
            spread = (p75 - p25) / median * 100
            for threshold, advice in ((_IQR_GROSS_WARN_THRESHOLD,
                                       "This suggests significant environmental influence."),
                                      (_IQR_WARN_THRESHOLD,
                                       "This could indicate system fluctuation.")):
                if (p75 - p25) / median >= threshold:
                    warning = (f"  WARNING: Interquartile range is {spread:.1f}% of the "
                               f"median measurement.\n           {advice}")
                    self._stats["warnings"] = (warning,)
                    break
            else:
                self._stats["warnings"] = ()
        return self._stats

    @property
    def median(self) -> float:
        return self._statistics()["median"]

    @property
    def mean(self) -> float:
        return self._statistics()["mean"]

    @property
    def iqr(self) -> float:
        stats = self._statistics()
        return stats["p75"] - stats["p25"]

    @property
    def significant_figures(self) -> int:
        """Digits of the median that the spread of the middle half of the times supports
        (a 90% confidence interval of their mean), between 1 and 4."""
        times = self._statistics()["sorted"]
        middle = times[len(times) // 4:math.ceil(3 * len(times) / 4)]
        interval = max(1.645 * float(np.std(middle)) / math.sqrt(len(middle)),
                       _MIN_CONFIDENCE_INTERVAL)
        digits = math.floor(math.log10(self.median / interval))
        return min(max(digits, 1), _MAX_SIGNIFICANT_FIGURES)

    @property
    def has_warnings(self) -> bool:
        return bool(self._statistics()["warnings"])

    def meets_confidence(self, threshold: float = _IQR_WARN_THRESHOLD) -> bool:
        return self.iqr / self.median < threshold

    @property
    def title(self) -> str:
        return self.task_spec.title

    @property
    def env(self):
        """The task's env label (None when unset, as PyTorch's reads)."""
        return self.task_spec.env

    @property
    def as_row_name(self) -> str:
        return self.sub_label or self.stmt or "[Unknown]"

    def __repr__(self) -> str:
        stats = self._statistics()
        count = len(stats["sorted"])
        unit, scale = select_unit(stats["median"])
        lines = [f"<{type(self).__module__}.{type(self).__name__} object at {id(self):#x}>",
                 self.task_spec.summarize(),
                 f"  {'Median: ' if count > 1 else ''}{stats['median'] / scale:.2f} {unit}"]
        if count >= 4:
            lines.append(f"  IQR:    {self.iqr / scale:.2f} {unit} ({stats['p25'] / scale:.2f}"
                         f" to {stats['p75'] / scale:.2f})")
        runs = "runs per measurement," if count > 1 else "runs ,"
        threads = "threads" if self.num_threads > 1 else "thread"
        lines.append(f"  {count} measurement{'s' if count > 1 else ''}, {self.number_per_run} "
                     f"{runs} {self.num_threads} {threads}")
        lines.extend(stats["warnings"])
        return "\n".join(lines).strip()

    @staticmethod
    def merge(measurements) -> list:
        """One Measurement per task, pooling every replicate's per-run times."""
        groups = collections.defaultdict(list)
        for measurement in measurements:
            groups[measurement.task_spec].extend(measurement.times)
        return [Measurement(1, times, task) for task, times in groups.items()]


def select_unit(t: float) -> tuple:
    """The unit a time of ``t`` seconds reads best in, and its size in seconds."""
    unit = {-3: "ns", -2: "us", -1: "ms"}.get(int(math.log10(t) // 3), "s") if t > 0 else "ns"
    return unit, {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1}[unit]


def unit_to_english(unit: str) -> str:
    return {"ns": "nanosecond", "us": "microsecond", "ms": "millisecond", "s": "second"}[unit]


def trim_sigfig(x: float, n: int) -> float:
    """``x`` rounded to ``n`` significant figures."""
    if n != int(n):
        raise AssertionError("Number of significant figures must be an integer")
    scale = 10 ** (math.ceil(math.log10(abs(x))) - n)
    return float(round(x / scale) * scale)


def ordered_unique(elements) -> list:
    return list(dict.fromkeys(elements))


@contextlib.contextmanager
def set_torch_threads(n: int):
    import ember

    prior = ember.get_num_threads()
    try:
        ember.set_num_threads(n)
        yield
    finally:
        ember.set_num_threads(prior)
