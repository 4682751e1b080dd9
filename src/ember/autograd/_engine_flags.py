"""Switches PyTorch's autograd engine exposes that concern its threads and CUDA streams.

ember's engine runs every backward pass on the calling thread and has no streams or
CUDA-graph capture of its own, so these switches change no computation here. They keep
PyTorch's API and state (thread-local or process-wide, as PyTorch's are), so code that
sets and reads them runs unchanged.
"""

from __future__ import annotations

import contextlib
import threading

from .grad_mode import _DecoratorContextManager

__all__ = [
    "is_multithreading_enabled", "region_activation_memory_budget",
    "set_multithreading_enabled", "set_override_stale_capture_stream",
    "set_warn_on_accumulate_grad_stream_mismatch",
]

_thread_state = threading.local()
_process_flags = {"warn_on_accumulate_grad_stream_mismatch": True,
                  "override_stale_capture_stream": False}


def is_multithreading_enabled() -> bool:
    """Whether this thread allows multithreaded backward (the default: yes)."""
    return getattr(_thread_state, "multithreading", True)


class set_multithreading_enabled(_DecoratorContextManager):
    """Enable or disable multithreaded backward for this thread; usable as a function
    call (takes effect at once), a context manager (restored on exit) or a decorator.

    PyTorch runs backward on per-device worker threads unless disabled; ember's engine
    always runs it on the calling thread, which is what ``mode=False`` asks for.
    """

    def __init__(self, mode: bool) -> None:
        self.prev = is_multithreading_enabled()
        _thread_state.multithreading = bool(mode)
        self.mode = mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        _thread_state.multithreading = self.prev

    def clone(self) -> set_multithreading_enabled:
        return self.__class__(self.mode)


def set_warn_on_accumulate_grad_stream_mismatch(enabled: bool) -> None:
    """Whether to warn when a leaf's gradient arrives on another CUDA stream than the
    leaf's (process-wide). ember's gradients have no streams: it never warns."""
    _process_flags["warn_on_accumulate_grad_stream_mismatch"] = bool(enabled)


def set_override_stale_capture_stream(enabled: bool) -> None:
    """Whether a stale stream met during CUDA-graph capture is replaced by the capturing
    one (process-wide). ember captures no CUDA graphs in autograd: recorded only."""
    _process_flags["override_stale_capture_stream"] = bool(enabled)


@contextlib.contextmanager
def region_activation_memory_budget(budget: float):
    """The activation-memory budget of a ``torch.compile`` region. The argument is checked
    as PyTorch checks it; eager use is PyTorch's error, and ember never compiles."""
    from ..compiler import is_compiling

    if isinstance(budget, bool) or not isinstance(budget, (int, float)):
        raise TypeError("torch.autograd.graph.region_activation_memory_budget: expects a "
                        f"float, got {type(budget).__name__}")
    if not 0.0 <= budget <= 1.0:
        raise ValueError("torch.autograd.graph.region_activation_memory_budget: must be in "
                         f"[0, 1], got {budget}")
    if not is_compiling():
        raise RuntimeError(
            "torch.autograd.graph.region_activation_memory_budget can only be used inside a "
            "torch.compile region; it has no effect in eager mode.")
    yield
