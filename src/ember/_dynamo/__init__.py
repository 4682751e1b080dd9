"""``torch._dynamo``: the calls scripts make around ``torch.compile``, on ember's eager
model (see ``ember.compiler``): nothing is captured or compiled, so ``optimize`` hands the
function back, ``reset`` has no cache to clear and ``is_compiling`` is False.

- ``config`` holds PyTorch's keys (unknown keys raise AttributeError, ``patch`` works);
- ``mark_dynamic`` / ``mark_static`` record their dims on the tensor under PyTorch's
  attribute names (``_dynamo_dynamic_indices``, ...) so code that reads them back works;
- ``explain(fn)(*args)`` reports the graph ``ember.fx.symbolic_trace`` captures from
  ``fn``: one graph when tracing succeeds, else no graph and the tracer's error as the
  break reason (dynamo would split the function there; ember's tracer cannot resume).
"""

from __future__ import annotations

import time

from .. import compiler as _compiler
from . import config

__all__ = [
    "ExplainOutput", "allow_in_graph", "assume_constant_result", "config", "disable",
    "disallow_in_graph", "explain", "forbid_in_graph", "graph_break", "is_compiling",
    "is_dynamo_supported", "is_inductor_supported", "list_backends", "mark_dynamic",
    "mark_static", "mark_static_address", "maybe_mark_dynamic", "optimize",
    "optimize_assert", "reset", "run", "set_stance", "substitute_in_graph",
]

allow_in_graph = _compiler.allow_in_graph
assume_constant_result = _compiler.assume_constant_result
disable = _compiler.disable
is_compiling = _compiler.is_compiling
list_backends = _compiler.list_backends
reset = _compiler.reset
set_stance = _compiler.set_stance
substitute_in_graph = _compiler.substitute_in_graph


def _identity(fn):
    return fn


disallow_in_graph = forbid_in_graph = _identity


def graph_break() -> None:
    """A graph break marker: eager code has no graph to break."""


def is_dynamo_supported() -> bool:
    return True


def is_inductor_supported() -> bool:
    return True


class _NullDecorator:
    """What ``optimize(...)`` returns: applied to a function, the function itself (it runs
    eagerly); also usable as a context manager, as PyTorch's OptimizeContext is."""

    def __call__(self, fn):
        if not callable(fn):
            raise RuntimeError("Expected a function or nn.Module, got " + type(fn).__name__)
        return fn

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def optimize(*args, **kwargs):
    """``optimize("eager")(fn)`` / ``optimize(backend=..., nopython=True)``: ``fn`` back."""
    backend = args[0] if args else kwargs.get("backend", "inductor")
    if not (callable(backend) or isinstance(backend, str)):
        raise TypeError(f"backend must be a name or a callable, got {type(backend).__name__}")
    return _NullDecorator()


def optimize_assert(*args, **kwargs):
    return _NullDecorator()


def run(fn=None):
    """Run ``fn`` without compiling anything new (ember never compiles)."""
    return _NullDecorator() if fn is None else fn


# -- dim marking --------------------------------------------------------------------------


def _indices(index, ndim=None):
    if isinstance(index, int):
        return [index]
    if isinstance(index, (list, tuple)):
        return list(index)
    if index is None and ndim is not None:
        return list(range(ndim))
    raise AssertionError(f"Expected index to be int, list, or tuple, got {type(index)}")


def _mark(t, attribute, index, ndim=None):
    found = getattr(t, attribute, None)
    if found is None:
        found = set()
        setattr(t, attribute, found)
    found.update(_indices(index, ndim))
    t._has_dynamo_dim_marking = True


def mark_dynamic(t, index, *, hint_override=None, min=None, max=None, specialize_on=None):
    """Record that dims ``index`` of ``t`` vary between calls (in ``_dynamo_dynamic_indices``)."""
    _mark(t, "_dynamo_dynamic_indices", index)


def maybe_mark_dynamic(t, index):
    _mark(t, "_dynamo_weak_dynamic_indices", index)


def mark_static(t, index=None):
    """Record that dims of ``t`` (all when ``index`` is None) are fixed. A Module class is
    marked as a whole (``_dynamo_marked_static``)."""
    from .._tensor import Tensor
    from ..nn import Module

    if not isinstance(t, Tensor):
        if isinstance(t, type) and issubclass(t, Module):
            t._dynamo_marked_static = True
            return t
        if isinstance(t, Module):
            t._dynamo_marked_static = True
            return t
        if not isinstance(t, type):
            raise TypeError("issubclass() arg 1 must be a class")
        raise TypeError(f"mark_static expects a tensor/nn.Module class but received {t}")
    _mark(t, "_dynamo_static_indices", index, t.dim())
    return None


def mark_static_address(t, guard=True):
    from .._tensor import Tensor

    if not isinstance(t, Tensor):
        raise TypeError(f"mark_static_address expects a tensor but received {type(t)}")
    t._dynamo_static_input_type = "guarded" if guard else "unguarded"


# -- explain ------------------------------------------------------------------------------


class ExplainOutput:
    """What ``explain(fn)(*args)`` returns: the captured graphs and the breaks between them."""

    def __init__(self, graphs, graph_count, graph_break_count, break_reasons, op_count,
                 ops_per_graph=None, out_guards=None, compile_times=None):
        self.graphs, self.graph_count = graphs, graph_count
        self.graph_break_count, self.break_reasons = graph_break_count, break_reasons
        self.op_count, self.ops_per_graph = op_count, ops_per_graph
        self.out_guards, self.compile_times = out_guards, compile_times

    def __str__(self) -> str:
        lines = [f"Graph Count: {self.graph_count}",
                 f"Graph Break Count: {self.graph_break_count}",
                 f"Op Count: {self.op_count}", "Break Reasons:"]
        for number, reason in enumerate(self.break_reasons, 1):
            lines += [f"  Break Reason {number}:", f"    Reason: {reason}"]
        lines.append("Ops per Graph:")
        for number, ops in enumerate(self.ops_per_graph or [], 1):
            lines.append(f"  Ops {number}:")
            lines += [f"    {op}" for op in ops]
        if self.compile_times is not None:
            lines.append(f"Compile Times: {self.compile_times}")
        return "\n".join(lines) + "\n"


def explain(f, *extra_args, **extra_kwargs):
    """``explain(fn)(*args, **kwargs)`` -> ExplainOutput (see the module docstring). Ops
    are counted as PyTorch counts them: the graph's ``call_function`` nodes."""

    def inner(*args, **kwargs):
        from .. import fx

        f(*args, **kwargs)  # PyTorch runs the function too (its side effects happen)
        start = time.perf_counter()
        try:
            traced = fx.symbolic_trace(f)
        except Exception as error:  # noqa: BLE001 - any tracer failure is a graph break
            graphs, reasons = [], [f"{type(error).__name__}: {error}"]
        else:
            graphs, reasons = [traced], []
        ops = [[node.target for node in graph.graph.nodes if node.op == "call_function"]
               for graph in graphs]
        times = (f"ember.fx symbolic trace, {time.perf_counter() - start:.4f} s "
                 "(ember runs the function eagerly; nothing is compiled)")
        return ExplainOutput(graphs, len(graphs), len(reasons), reasons,
                             sum(len(o) for o in ops), ops, [], times)

    if extra_args or extra_kwargs:
        return inner(*extra_args, **extra_kwargs)
    return inner
