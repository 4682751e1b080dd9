"""``ember.profiler`` (PyTorch's ``torch.profiler``): time ``record_function`` regions and
module calls inside a ``profile`` block, then print ``key_averages().table(...)`` or write
a Chrome trace.

PyTorch records every ATen op; ember records the regions a script labels with
``record_function`` and each ``nn.Module`` call (named after the module's class, e.g.
``nn.Module: Linear``), so profiling scripts run unchanged and show where the time goes
at the module level. CPU wall-clock time only; schedules and ``step()`` work as in
PyTorch."""

from __future__ import annotations

import enum
import functools
import json
import os
import socket
import threading
import time

__all__ = [
    "ProfilerAction", "ProfilerActivity", "profile", "record_function", "schedule",
    "tensorboard_trace_handler",
]


class ProfilerActivity(enum.Enum):
    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3
    DEVICE_STOPPED = 4


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0):
    """PyTorch's step -> ProfilerAction schedule: skip_first, then cycles of wait, warmup
    and active steps (the last active step of a cycle saves), repeat times (0: forever)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} "
            f"(need >= 0), active={active} (need > 0), repeat={repeat} (need >= 0), "
            f"skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        import warnings
        warnings.warn("Profiler won't be using warmup, this can skew profiler results",
                      stacklevel=2)

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait != 0:
            step += wait
        num_steps = wait + warmup + active
        if repeat > 0 and step / num_steps >= repeat:
            return ProfilerAction.NONE
        mod_step = step % num_steps
        if mod_step < wait:
            return ProfilerAction.NONE
        if mod_step < wait + warmup:
            return ProfilerAction.WARMUP
        return (ProfilerAction.RECORD if mod_step < num_steps - 1
                else ProfilerAction.RECORD_AND_SAVE)

    return schedule_fn


class _Event:
    __slots__ = ("children", "end", "name", "shapes", "start", "thread")

    def __init__(self, name, start, thread, shapes=None):
        self.name, self.start, self.end = name, start, None
        self.children: list = []
        self.thread = thread
        self.shapes = shapes

    @property
    def total_us(self) -> float:
        return (self.end - self.start) / 1e3

    @property
    def self_us(self) -> float:
        return self.total_us - sum(child.total_us for child in self.children)


_active: list = []  # profilers currently recording
_local = threading.local()


def _stack():
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


def _open(name, shapes=None):
    recorders = [p for p in _active if p._recording]
    if not recorders:
        return None
    event = _Event(name, time.perf_counter_ns(), threading.get_ident(), shapes)
    stack = _stack()
    if stack:
        stack[-1].children.append(event)
    else:
        for profiler in recorders:
            profiler._roots.append(event)
    stack.append(event)
    return event


def _close(event):
    if event is None:
        return
    event.end = time.perf_counter_ns()
    stack = _stack()
    if stack and stack[-1] is event:
        stack.pop()


class record_function:
    """Label a region (``with record_function("name"):`` or as a decorator)."""

    def __init__(self, name: str, args: str | None = None):
        self.name = name
        self.args = args
        self._event = None

    def __enter__(self):
        self._event = _open(self.name)
        return self

    def __exit__(self, *exc):
        _close(self._event)
        self._event = None
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with record_function(self.name):
                return fn(*args, **kwargs)

        return wrapper


def _shapes(args):
    return [list(a.shape) if hasattr(a, "shape") and hasattr(a, "dtype") else [] for a in args]


class FunctionEventAvg:
    """Totals of one event name (and input shapes when grouped by them)."""

    def __init__(self, key, input_shapes=None):
        self.key = key
        self.input_shapes = input_shapes
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.device_time_total = 0.0
        self.self_device_time_total = 0.0

    def add(self, event):
        self.count += 1
        self.cpu_time_total += event.total_us
        self.self_cpu_time_total += event.self_us
        return self

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / max(self.count, 1)

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={_format_us(self.self_cpu_time_total)} "
                f"cpu_time={_format_us(self.cpu_time)} input_shapes={self.input_shapes}>")


def _format_us(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


class EventList(list):
    """A list of FunctionEventAvg with PyTorch's ``table``."""

    def __init__(self, items=(), total_us: float = 0.0, with_shapes: bool = False):
        super().__init__(items)
        self._total_us = total_us
        self._with_shapes = with_shapes

    @property
    def self_cpu_time_total(self) -> float:
        return self._total_us

    def table(self, sort_by=None, row_limit: int = 100, max_name_column_width: int = 55,
              header=None, top_level_events_only: bool = False, **_ignored) -> str:
        rows = list(self)
        keys = {"cpu_time_total": "cpu_time_total", "self_cpu_time_total": "self_cpu_time_total",
                "cpu_time": "cpu_time", "count": "count", "cuda_time_total": "device_time_total",
                "device_time_total": "device_time_total",
                "self_cuda_time_total": "self_device_time_total",
                "self_device_time_total": "self_device_time_total"}
        if sort_by is not None:
            attribute = keys.get(sort_by, sort_by)
            rows.sort(key=lambda row: getattr(row, attribute, 0), reverse=True)
        if row_limit is not None and row_limit > 0:
            rows = rows[:row_limit]
        name_width = min(max([len(r.key) for r in rows] + [4]) + 4, max_name_column_width)
        columns = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
                   "# of Calls"]
        if self._with_shapes:
            columns.append("Input Shapes")
        widths = [12] * 6 + ([40] if self._with_shapes else [])
        line = "-" * name_width + "  " + "  ".join("-" * w for w in widths) + "  "
        title = f"{'Name':>{name_width}}  " + "  ".join(
            f"{c:>{w}}" for c, w in zip(columns, widths)) + "  "
        total = self._total_us or 1.0
        out = [header] if header else []
        out += [line, title, line]
        for r in rows:
            name = r.key if len(r.key) <= name_width else r.key[:name_width - 3] + "..."
            cells = [f"{100 * r.self_cpu_time_total / total:.2f}%", _format_us(r.self_cpu_time_total),
                     f"{100 * r.cpu_time_total / total:.2f}%", _format_us(r.cpu_time_total),
                     _format_us(r.cpu_time), str(r.count)]
            if self._with_shapes:
                cells.append(str(r.input_shapes))
            out.append(f"{name:>{name_width}}  " + "  ".join(
                f"{c:>{w}}" for c, w in zip(cells, widths)) + "  ")
        out += [line, f"Self CPU time total: {_format_us(self._total_us)}", ""]
        return "\n".join(out)

    def total_average(self):
        average = FunctionEventAvg("Total")
        for row in self:
            average.count += row.count
            average.cpu_time_total += row.cpu_time_total
            average.self_cpu_time_total += row.self_cpu_time_total
        return average


class profile:
    """``with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:``;
    then ``prof.key_averages().table(sort_by="cpu_time_total", row_limit=10)``."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes=False, profile_memory=False, with_stack=False, with_flops=False,
                 with_modules=False, experimental_config=None, execution_trace_observer=None,
                 acc_events=False, use_cuda=None, custom_trace_id_callback=None):
        self.activities = set(activities) if activities else {ProfilerActivity.CPU}
        self.schedule = schedule
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.step_num = 0
        self._roots: list = []
        self._recording = False
        self._hooks = []
        self._step_event = None
        self.execution_trace_observer = execution_trace_observer

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _action(self):
        return ProfilerAction.RECORD if self.schedule is None else self.schedule(self.step_num)

    def start(self):
        _active.append(self)
        self._install_module_hooks()
        self._apply(self._action())
        if self.execution_trace_observer is not None:
            self.execution_trace_observer._attach(self)

    def stop(self):
        if self._recording and self.on_trace_ready is not None:
            self._close_step()
            self._recording = False
            self.on_trace_ready(self)
        self._close_step()
        self._recording = False
        if self.execution_trace_observer is not None:
            self.execution_trace_observer._detach(self)
        for handle in self._hooks:
            handle.remove()
        self._hooks = []
        if self in _active:
            _active.remove(self)

    def step(self):
        previous = self._action()
        self.step_num += 1
        current = self._action()
        self._close_step()
        if previous == ProfilerAction.RECORD_AND_SAVE:
            self._recording = False
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)
            if current in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE,
                           ProfilerAction.WARMUP):
                self._roots = []
        self._apply(current)

    def _apply(self, action):
        if action in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE):
            if not self._recording:
                self._recording = True
            if self.schedule is not None:
                self._step_event = _open(f"ProfilerStep#{self.step_num}")
        else:
            self._recording = False

    def _close_step(self):
        if self._step_event is not None:
            _close(self._step_event)
            self._step_event = None

    def _install_module_hooks(self):
        from ..nn.modules import _hooks as module_module

        opened = {}

        def pre_hook(module, args):
            if self._recording:
                shapes = _shapes(args) if self.record_shapes else None
                opened.setdefault(id(module), []).append(
                    _open(f"nn.Module: {type(module).__name__}", shapes))

        def post_hook(module, args, output):
            events = opened.get(id(module))
            if events:
                _close(events.pop())

        self._hooks = [module_module.register_module_forward_pre_hook(pre_hook),
                       module_module.register_module_forward_hook(post_hook)]

    # -- results ---------------------------------------------------------------------------
    def _all_events(self):
        """Finished events in the order they started."""
        found, stack = [], list(self._roots)
        while stack:
            event = stack.pop()
            if event.end is not None:
                found.append(event)
            stack.extend(event.children)
        return sorted(found, key=lambda event: event.start)

    def events(self):
        return self._all_events()

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        groups: dict = {}
        for event in self._all_events():
            shapes = event.shapes if group_by_input_shape else None
            key = (event.name, str(shapes) if group_by_input_shape else None)
            if key not in groups:
                groups[key] = FunctionEventAvg(event.name, shapes)
            groups[key].add(event)
        total = sum(e.total_us for e in self._roots if e.end is not None)
        return EventList(groups.values(), total_us=total, with_shapes=group_by_input_shape)

    def export_chrome_trace(self, path: str):
        pid = os.getpid()
        trace = [{"name": e.name, "ph": "X", "cat": "cpu_op", "ts": e.start / 1e3,
                  "dur": e.total_us, "pid": pid, "tid": e.thread,
                  **({"args": {"Input Dims": e.shapes}} if e.shapes else {})}
                 for e in self._all_events()]
        with open(path, "w") as f:
            json.dump({"traceEvents": trace, "displayTimeUnit": "ms"}, f)
        return path


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None,
                              use_gzip: bool = False):
    """An on_trace_ready handler writing one Chrome trace per saved cycle to dir_name."""

    def handler(prof):
        os.makedirs(dir_name, exist_ok=True)
        name = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        file_name = f"{name}.{time.time_ns()}.pt.trace.json"
        prof.export_chrome_trace(os.path.join(dir_name, file_name))

    return handler


from ._execution_trace import (  # noqa: E402 - they use ProfilerActivity and profile
    DeviceType,
    ExecutionTraceObserver,
    kineto_available,
    supported_activities,
)

from ._steps import KinetoStepTracker, RecordScope  # noqa: E402


def register_optimizer_step_post_hook(hook):
    """``torch.optim.optimizer.register_optimizer_step_post_hook``, re-exported here as in
    PyTorch (imported on call: ember.optim imports this package first)."""
    from ..optim.optimizer import register_optimizer_step_post_hook as register

    return register(hook)


__all__ += ["DeviceType", "ExecutionTraceObserver", "KinetoStepTracker", "RecordScope",
            "kineto_available", "register_optimizer_step_post_hook", "supported_activities"]
