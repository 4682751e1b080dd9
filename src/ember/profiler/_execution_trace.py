"""``torch.profiler`` names beyond ``profile``: ``DeviceType``, ``supported_activities``,
``kineto_available`` and ``ExecutionTraceObserver``.

An execution trace is a JSON graph of what ran, in PyTorch's (Chakra) format: top-level
``schema``, ``pid``, ``time``, ``start_ts``, ``nodes``, ``finish_ts``; a process node
(id 1), a thread node (id 2) and one node per recorded event, each with ``id``, ``name``,
``ctrl_deps`` (its parent's id), ``inputs`` / ``outputs`` (``values``, ``shapes``,
``types``, ``strides``) and ``attrs``. PyTorch's nodes are ATen ops; ember's are the events
its profiler sees: ``record_function`` regions and ``nn.Module`` calls, with input shapes.
"""

from __future__ import annotations

import enum
import json
import os
import time

__all__ = ["DeviceType", "ExecutionTraceObserver", "kineto_available", "supported_activities"]

_SCHEMA = "1.1.1-chakra.0.0.4"
_USER_SCOPE = 7  # RecordScope.USER_SCOPE, the scope record_function regions carry


class DeviceType(enum.IntEnum):
    """PyTorch's device type codes (``torch.profiler.DeviceType``)."""

    CPU = 0
    CUDA = 1
    MKLDNN = 2
    OPENGL = 3
    OPENCL = 4
    IDEEP = 5
    HIP = 6
    FPGA = 7
    MAIA = 8
    XLA = 9
    Vulkan = 10
    Metal = 11
    XPU = 12
    MPS = 13
    Meta = 14
    HPU = 15
    VE = 16
    Lazy = 17
    IPU = 18
    MTIA = 19
    PrivateUse1 = 20

    def __str__(self) -> str:
        return f"DeviceType.{self.name}"


def supported_activities() -> set:
    """What ember's profiler can record: CPU time (it does not trace GPU kernels)."""
    from . import ProfilerActivity

    return {ProfilerActivity.CPU}


def kineto_available() -> bool:
    """False: ember's profiler is its own Python recorder, not PyTorch's Kineto library."""
    return False


def _io(shapes):
    shapes = shapes or []
    return {"values": [], "shapes": shapes,
            "types": ["Tensor" if shape else "" for shape in shapes],
            "strides": [[] for _ in shapes]}


def _attrs(rf_id, scope, tid):
    values = [("rf_id", "uint64", rf_id), ("fw_parent", "uint64", 0), ("seq_id", "int64", -1),
              ("scope", "uint64", scope), ("tid", "uint64", tid), ("fw_tid", "uint64", 0),
              ("op_schema", "string", ""), ("kernel_backend", "string", ""),
              ("kernel_file", "string", ""), ("tensor_range", "string", "")]
    return [{"name": name, "type": kind, "value": value} for name, kind, value in values]


def _node(node_id, name, parent, rf_id, scope, tid, shapes=None):
    return {"id": node_id, "name": name, "ctrl_deps": parent, "inputs": _io(shapes),
            "outputs": _io(None), "attrs": _attrs(rf_id, scope, tid)}


class ExecutionTraceObserver:
    """``et = ExecutionTraceObserver().register_callback("trace.json")``, then either
    ``profile(execution_trace_observer=et)`` or ``et.start()`` ... ``et.stop()``; the
    file is (re)written at each ``stop``."""

    def __init__(self) -> None:
        self._path = None
        self._running = False
        self._profiler = None  # the profile whose events this trace reads
        self._own_profiler = False
        self._events: list = []
        self._start_ts = None

    @staticmethod
    def build_execution_trace_obs_from_env():
        """An observer writing to a temporary file when ENABLE_PYTORCH_EXECUTION_TRACE=1."""
        if os.environ.get("ENABLE_PYTORCH_EXECUTION_TRACE", "0") != "1":
            return None
        import tempfile

        handle, path = tempfile.mkstemp(prefix="execution_trace_", suffix=".json")
        os.close(handle)
        return ExecutionTraceObserver().register_callback(path)

    def register_callback(self, output_file_path: str):
        self._path = os.fspath(output_file_path)
        return self

    def unregister_callback(self) -> None:
        if self._running:
            self.stop()
        self._path = None

    def cleanup(self) -> None:
        self.unregister_callback()

    @property
    def is_registered(self) -> bool:
        return self._path is not None

    def is_running(self) -> bool:
        return self._running

    def get_output_file_path(self):
        return self._path

    def set_extra_resource_collection(self, val) -> None:
        """Resource collection (kernel files) is a PyTorch-Inductor feature: recorded only."""
        self._extra_resources = bool(val)

    # -- recording ------------------------------------------------------------------------
    def start(self) -> None:
        if not self.is_registered or self._running:
            return
        if self._profiler is None:  # standalone: a profile of our own records the events
            from . import profile

            self._profiler = profile(record_shapes=True)
            self._own_profiler = True
            self._profiler.start()
        if self._start_ts is None:
            self._start_ts = int(time.monotonic() * 1000)
        self._running = True

    def stop(self) -> None:
        if not self._running:
            return
        profiler = self._profiler
        if self._own_profiler:
            profiler.stop()
            self._profiler, self._own_profiler = None, False
        self._events.extend(profiler._roots)
        self._running = False
        self._write()

    def _attach(self, profiler) -> None:
        """Called by ``profile.start`` when this observer was passed to it."""
        self._profiler, self._own_profiler = profiler, False
        self.start()

    def _detach(self, profiler) -> None:
        self.stop()
        self._profiler = None

    def _write(self) -> None:
        nodes = [_node(2, "[pytorch|profiler|execution_trace|thread]", 1, 0, _USER_SCOPE, 1)]
        threads: dict = {}
        next_id = 3
        pending = [(event, 2) for event in sorted(self._events, key=lambda e: e.start)]
        pending.reverse()
        while pending:  # depth first, in start order: ids grow as events began
            event, parent = pending.pop()
            if event.end is None:
                continue
            tid = threads.setdefault(event.thread, len(threads) + 1)
            nodes.append(_node(next_id, event.name, parent, next_id - 2, _USER_SCOPE, tid,
                               event.shapes))
            children = sorted(event.children, key=lambda e: e.start)
            pending.extend((child, next_id) for child in reversed(children))
            next_id += 1
        nodes.append(_node(1, "[pytorch|profiler|execution_trace|process]", 1, 0,
                           _USER_SCOPE, 0))
        trace = {"schema": _SCHEMA, "pid": os.getpid(),
                 "time": time.strftime("%Y-%m-%d %H:%M:%S"), "start_ts": self._start_ts,
                 "nodes": nodes, "finish_ts": int(time.monotonic() * 1000)}
        with open(self._path, "w") as handle:
            json.dump(trace, handle)
