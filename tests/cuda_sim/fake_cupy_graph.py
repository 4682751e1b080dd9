"""Stream capture and CUDA graphs for the fake CuPy (``fake_cupy.py`` loads this file).

On a GPU, work launched on a stream that is capturing is recorded into a graph instead of
running; ``Graph.launch`` runs it, reading and writing the same memory every time. The
fake imitates that at the level it can see: every device operation goes through one of
its hooks (ufuncs, array functions, module functions, indexing, copies, host uploads),
and while the current stream captures, a hook

- runs the operation once, to learn the shapes and dtypes of what it allocates, then puts
  back the contents of every device array it was given (captured work must not change
  memory before a replay), and
- records a node: the operation, its arguments (the arrays themselves: fixed addresses)
  and the arrays it allocated. A replay runs each node again and writes its results into
  those same arrays, so values flow through the graph's memory as on a GPU.

Device-to-host copies (``get``, ``item``, ``tolist``) and synchronisations of a capturing
stream raise ``cudaErrorStreamCaptureUnsupported`` and invalidate the capture, as CUDA
does. Limits: only work on the capturing stream is recorded (a fork to a second stream
through events runs at once instead of joining the graph), and a host upload records the
host array, read again at replay.
"""

from __future__ import annotations

import numpy

# CUDA's names and texts for the errors the fake raises (cudaGetErrorName/String)
ERRORS = {
    1: ("cudaErrorInvalidValue", "invalid argument"),
    2: ("cudaErrorMemoryAllocation", "out of memory"),
    101: ("cudaErrorInvalidDevice", "invalid device ordinal"),
    400: ("cudaErrorInvalidResourceHandle", "invalid resource handle"),
    401: ("cudaErrorIllegalState", "the operation cannot be performed in the present state"),
    900: ("cudaErrorStreamCaptureUnsupported",
          "operation not permitted when stream is capturing"),
    901: ("cudaErrorStreamCaptureInvalidated",
          "operation failed due to a previous error during capture"),
}


class CUDARuntimeError(RuntimeError):
    """``cupy.cuda.runtime.CUDARuntimeError``: "name: text" of a CUDA error code."""

    def __init__(self, status):
        self.status = status
        name, text = ERRORS.get(status, ("cudaErrorUnknown", "unknown error"))
        super().__init__(f"{name}: {text}")


_state = {"current_stream": None, "ndarray": None, "inside": 0}
_captures: dict = {}  # stream ptr -> _Capture


class _Capture:
    def __init__(self, stream):
        self.stream = stream
        self.nodes = []
        self.invalidated = False


def install(current_stream, ndarray):
    """Tell this module how to find the current stream and what a device array is."""
    _state["current_stream"], _state["ndarray"] = current_stream, ndarray


def reset():
    _captures.clear()
    _state["inside"] = 0


def active():
    """The capture the current stream is in, or None (the fast path: nothing captures)."""
    if not _captures or _state["inside"]:  # the operations inside a node are not nodes
        return None
    return _captures.get(_state["current_stream"]().ptr)


def is_capturing(stream):
    return stream.ptr in _captures


def forbid_sync(stream=None):
    """A synchronisation (or device-to-host copy) of a capturing stream: CUDA refuses it
    and invalidates the capture. ``stream=None``: the current stream."""
    capture = _captures.get(stream.ptr) if stream is not None else active()
    if capture is not None:
        capture.invalidated = True
        raise CUDARuntimeError(900)


def forbid_any_sync():
    """``cudaDeviceSynchronize`` while any stream captures."""
    for capture in _captures.values():
        capture.invalidated = True
    if _captures:
        raise CUDARuntimeError(900)


def refuse_blas(inputs):
    """CuPy's cuBLAS calls refuse a capturing stream (``cublas.setStream``); its integer
    matmul is a kernel of its own, captured like the rest."""
    if any(getattr(a, "dtype", None) is not None and a.dtype.kind in "fc" for a in inputs):
        raise NotImplementedError("calling cuBLAS API during stream capture is currently "
                                  "unsupported")


def begin(stream):
    if stream.ptr == 0:
        raise RuntimeError("cannot capture on the default (legacy) stream")
    if stream.ptr in _captures:
        raise CUDARuntimeError(401)
    _captures[stream.ptr] = _Capture(stream)


def end(stream):
    capture = _captures.pop(stream.ptr, None)
    if capture is None:  # this stream is not capturing (a joined fork is not modelled)
        raise CUDARuntimeError(401)
    if capture.invalidated:
        raise CUDARuntimeError(901)
    graph = Graph.__new__(Graph)
    graph._nodes = capture.nodes
    return graph


def device_arrays(values):
    """The device arrays among ``values``, looking one level into lists and tuples."""
    ndarray = _state["ndarray"]
    found = []
    for value in values:
        if isinstance(value, ndarray):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(v for v in value if isinstance(v, ndarray))
    return found


def _flat(result):
    if isinstance(result, numpy.ndarray):
        return [result]
    if isinstance(result, (list, tuple)):
        return [leaf for item in result for leaf in _flat(item)]
    return []


def launch(run, args=(), kwargs=None, written=(), sources=()):
    """Run ``run(*args, **kwargs)`` (a device operation); while the current stream
    captures, record it as a node instead, leaving ``written`` (the device arrays it may
    write) as they were. A result that shares memory with ``written`` or ``sources`` is a
    view or an ``out=``, not an allocation of the node."""
    kwargs = kwargs or {}
    capture = active()
    if capture is None:
        return run(*args, **kwargs)
    if capture.invalidated:
        raise CUDARuntimeError(901)
    touched = [a.view(numpy.ndarray) for a in list(written) + list(sources)]
    saved = [(a, numpy.array(a.view(numpy.ndarray), copy=True)) for a in written
             if a.flags.writeable]
    _state["inside"] += 1
    try:
        result = run(*args, **kwargs)
    finally:
        _state["inside"] -= 1
        for array, contents in saved:
            array.view(numpy.ndarray)[...] = contents
    leaves = _flat(result)
    allocated = [(i, leaf) for i, leaf in enumerate(leaves)
                 if not any(numpy.may_share_memory(leaf.view(numpy.ndarray), a)
                            for a in touched)]
    capture.nodes.append((run, args, kwargs, allocated))
    return result


def _replay(node):
    run, args, kwargs, allocated = node
    leaves = _flat(run(*args, **kwargs))
    for position, buffer in allocated:
        buffer.view(numpy.ndarray)[...] = leaves[position].view(numpy.ndarray)


class Graph:
    """``cupy.cuda.Graph``: made by ``Stream.end_capture``, run by ``launch``."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("currently this class cannot be initiated by the user and "
                                  "must be created via stream capture")

    def _run(self):
        for node in self._nodes:
            _replay(node)

    def launch(self, stream=None):
        """Run the recorded work (on ``stream``, default the current one); launched inside
        another capture, the whole graph becomes one node of it."""
        target = stream if stream is not None else _state["current_stream"]()
        capture = _captures.get(target.ptr)
        if capture is not None:
            capture.nodes.append((self._run, (), {}, []))
            return
        self._run()

    def upload(self, stream=None):
        pass

    def debug_dot_str(self, flags=0):
        lines = ["digraph dot {"]
        for index, (run, _, _, _) in enumerate(self._nodes):
            name = getattr(run, "__name__", type(run).__name__)
            lines.append(f'  node{index} [label="{name}"];')
            if index:
                lines.append(f"  node{index - 1} -> node{index};")
        lines.append("}")
        return "\n".join(lines)
