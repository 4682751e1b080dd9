"""CUDA graphs through CuPy's stream capture: ``CUDAGraph``, ``graph``,
``make_graphed_callables``.

A capture records the kernels ember launches on the current stream
(``cupy.cuda.Stream.begin_capture``); ``end_capture`` gives a ``cupy.cuda.Graph`` whose
``launch`` replays them on the same memory, so a replay reads whatever the static inputs
hold now and writes the same output tensors, as in PyTorch.

PyTorch gives each graph a private memory pool so that memory the captured kernels use is
not handed to anyone else while the graph lives. CuPy's pool has no such mode, so the
pool here is a keep-alive list: during capture every allocation goes through
``cupy.cuda.using_allocator`` into the graph's pool object, which holds the blocks until
the graph is reset or collected. Graphs that share a pool (``pool=``) share that list.

Host synchronisation is not allowed during capture (``.item()``, printing a cuda tensor,
data-dependent shapes such as ``nonzero``): CUDA refuses it and CuPy raises, as PyTorch
does. CUDA samples are drawn on the host in ember, so a replay repeats the random numbers
of the capture instead of drawing new ones.
"""

from __future__ import annotations

import gc
import warnings

from .._backend import graph_capture
from . import _cupy  # ember.cuda defines it before importing this module

# torch's capture_error_mode -> the cudaStreamCaptureMode CuPy names
_CAPTURE_MODES = {"global": "streamCaptureModeGlobal",
                  "thread_local": "streamCaptureModeThreadLocal",
                  "relaxed": "streamCaptureModeRelaxed"}


def is_current_stream_capturing() -> bool:
    """Whether the current CUDA stream is capturing a graph."""
    return bool(_cupy().cuda.get_current_stream().is_capturing())


class _GraphPool:
    """The memory of one or more graphs: the blocks allocated during their captures, held
    until every graph using the pool is gone (see the module docstring)."""

    def __init__(self):
        self._blocks = []

    def _malloc(self, size):
        block = _cupy().get_default_memory_pool().malloc(size)
        self._blocks.append(block)
        return block

    def __repr__(self):
        return f"<ember.cuda graph pool holding {len(self._blocks)} blocks>"


def graph_pool_handle() -> _GraphPool:
    """A memory pool to share between graphs (``CUDAGraph.capture_begin(pool=...)``)."""
    _cupy()
    return _GraphPool()


def _capture_mode(cp, capture_error_mode):
    if capture_error_mode not in _CAPTURE_MODES:
        raise RuntimeError("Unknown capture error mode. Expected `global`, `thread_local`, or "
                           f"`relaxed`, got {capture_error_mode}")
    # CuPy's pool grows with cudaMalloc, which CUDA's stricter modes forbid during capture
    # (CuPy itself captures in relaxed mode for that reason); relaxed permits everything
    # they permit, so captures that work under them work here too.
    return getattr(cp.cuda.runtime, _CAPTURE_MODES["relaxed"])


class CUDAGraph:
    """A captured CUDA graph: ``capture_begin``/``capture_end`` around the work (or
    ``with ember.cuda.graph(g):``), then ``replay()`` as often as wanted.

    Example::

        g = ember.cuda.CUDAGraph()
        static_x = ember.zeros(8, device="cuda")
        with ember.cuda.graph(g):
            static_y = static_x * 2 + 1
        static_x.copy_(ember.arange(8.0))
        g.replay()   # static_y now holds arange(8) * 2 + 1
    """

    def __init__(self, keep_graph: bool = False):
        _cupy()
        self._graph = None
        self._stream = None
        self._pool = None
        self._allocating = None
        self._debug = False

    def capture_begin(self, pool=None, capture_error_mode: str = "global",
                      check_input_liveness: bool = False) -> None:
        """Start recording the work launched on the current stream (not the default one)."""
        cp = _cupy()
        mode = _capture_mode(cp, capture_error_mode)
        if self._graph is not None or self._stream is not None:
            raise RuntimeError("This CUDAGraph instance already owns a captured graph. To "
                               "capture a new graph, create a new instance.")
        stream = cp.cuda.get_current_stream()
        if stream.ptr == 0:
            raise RuntimeError("CUDA graphs must be captured on a non-default stream. "
                               "(However, after capture, it's ok to replay them on the "
                               "default stream.)")
        if pool is not None and not isinstance(pool, _GraphPool):
            raise TypeError("pool must be a handle from ember.cuda.graph_pool_handle() or "
                            f"another graph's pool(), got {type(pool).__name__}")
        self._pool = pool if pool is not None else _GraphPool()
        self._allocating = cp.cuda.using_allocator(self._pool._malloc)
        self._allocating.__enter__()
        try:
            stream.begin_capture(mode)
        except BaseException:
            self._allocating.__exit__(None, None, None)
            self._allocating = None
            raise
        self._stream = stream
        graph_capture.ACTIVE[0] += 1

    def capture_end(self) -> None:
        """Stop recording; the graph is ready to ``replay``."""
        if self._stream is None:
            raise RuntimeError("Called CUDAGraph::capture_end without a preceding "
                               "capture_begin.")
        stream, self._stream = self._stream, None
        graph_capture.ACTIVE[0] -= 1
        try:
            self._graph = stream.end_capture()
        finally:
            self._allocating.__exit__(None, None, None)
            self._allocating = None

    def replay(self) -> None:
        """Run the captured work on the current stream."""
        if self._graph is None:
            raise RuntimeError("Called CUDAGraph::replay without a preceding successful "
                               "capture.")
        self._graph.launch()

    def instantiate(self) -> None:
        """CuPy instantiates at ``end_capture``; kept for PyTorch's API."""
        if self._graph is None:
            raise RuntimeError("Called CUDAGraph::instantiate without a preceding successful "
                               "capture.")

    def reset(self) -> None:
        """Drop the graph and, unless another graph shares it, its memory."""
        self._graph = None
        self._pool = None

    def pool(self) -> _GraphPool:
        """This graph's memory pool, to share with graphs captured after it."""
        if self._pool is None:
            raise RuntimeError("Called CUDAGraph::pool without a preceding successful "
                               "capture.")
        return self._pool

    def enable_debug_mode(self) -> None:
        self._debug = True

    def debug_dump(self, debug_path: str) -> None:
        """Write the graph as Graphviz DOT (CuPy's ``Graph.debug_dot_str``, CUDA 11.3+)."""
        if not self._debug:
            warnings.warn("DEBUG: calling debug_dump() without enable_debug_mode() first",
                          UserWarning, stacklevel=2)
        if self._graph is None:
            raise RuntimeError("Called CUDAGraph::debug_dump without a preceding successful "
                               "capture.")
        if not hasattr(self._graph, "debug_dot_str"):
            raise RuntimeError("this CuPy cannot print a CUDA graph (Graph.debug_dot_str "
                               "needs CuPy 11 and CUDA 11.3 or later)")
        with open(debug_path, "w") as file:
            file.write(self._graph.debug_dot_str())

    def __del__(self):
        if getattr(self, "_allocating", None) is not None:  # collected mid-capture
            self._allocating.__exit__(None, None, None)
            graph_capture.ACTIVE[0] -= 1


class graph:  # noqa: N801 - PyTorch's name
    """``with ember.cuda.graph(g):`` captures the block into ``g`` on a side stream.

    Args:
        cuda_graph: the ``CUDAGraph`` to capture into.
        pool: a pool from ``graph_pool_handle()`` or ``other_graph.pool()`` to share.
        stream: the stream to capture on (default: one side stream shared by all).
        capture_error_mode: ``"global"``, ``"thread_local"`` or ``"relaxed"``.
    """

    default_capture_stream = None

    def __init__(self, cuda_graph, pool=None, stream=None, capture_error_mode="global",
                 enable_annotations=False, check_input_liveness=False):
        from . import Stream

        _cupy()  # no GPU: no capture, whatever stream an earlier capture left cached
        if stream is None:
            if graph.default_capture_stream is None:
                graph.default_capture_stream = Stream()
            stream = graph.default_capture_stream
        self.cuda_graph = cuda_graph
        self.pool = pool
        self.capture_stream = stream
        self.capture_error_mode = capture_error_mode
        self._context = None

    def __enter__(self):
        from . import StreamContext, empty_cache, synchronize

        synchronize()  # earlier work must not leak into the capture
        gc.collect()
        empty_cache()
        self._context = StreamContext(self.capture_stream)
        self._context.__enter__()
        try:
            self.cuda_graph.capture_begin(self.pool, capture_error_mode=self.capture_error_mode)
        except BaseException:
            self._context.__exit__(None, None, None)
            raise

    def __exit__(self, exc_type, exc, traceback):
        try:
            self.cuda_graph.capture_end()
        except Exception:
            if exc_type is None:
                raise
            # the block's own error (say a sync during capture) is the one to see; the
            # capture it invalidated has been ended all the same
        finally:
            self._context.__exit__(exc_type, exc, traceback)
        return False


# torch.cuda.graphs holds make_graphed_callables too
from ._graphed_callables import make_graphed_callables  # noqa: E402,F401
