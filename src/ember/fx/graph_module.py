"""``GraphModule``: an ``nn.Module`` whose ``forward`` is generated from a Graph.

It copies from the root only what the graph uses (submodules of ``call_module`` nodes,
parameters/buffers of ``get_attr`` nodes, under the same dotted paths), so its
``state_dict`` keys match the traced model's. Each instance gets its own subclass (named
like the traced class) because ``recompile`` installs ``forward`` on the class, as
PyTorch's does.
"""

from __future__ import annotations

import copy
import itertools
import linecache
import sys
import traceback
from typing import Any

from ..nn.modules.module import Module
from .graph import Graph, PythonCode

__all__ = ["GraphModule"]

_KEY_COUNTER = itertools.count()


def _exec_with_source(src: str, globals_: dict[str, Any]) -> None:
    """Run generated source under a unique file name registered with linecache, so
    tracebacks and ``inspect.getsource`` show the generated lines."""
    key = f"<eval_with_key>.{next(_KEY_COUNTER)}"
    linecache.cache[key] = (len(src), None, src.splitlines(True), key)
    exec(compile(src, key, "exec"), globals_)  # noqa: S102


def _forward_from_src(src: str, globals_: dict[str, Any]):
    namespace = dict(globals_)
    _exec_with_source(src, namespace)
    return namespace["forward"]


def _copy_attr(from_module: Module, to_module: Module, target: str) -> None:
    *prefix, field = target.split(".")
    for item in prefix:
        source = getattr(from_module, item)
        dest = getattr(to_module, item, None)
        if source is dest:
            return
        if dest is None:
            dest = Module()
            setattr(to_module, item, dest)
        from_module, to_module = source, dest
    original = getattr(from_module, field)
    _assign_value(to_module, field, original)


def _assign_attr(from_obj, to_module: Module, target: str) -> None:
    *prefix, field = target.split(".")
    for item in prefix:
        dest = getattr(to_module, item, None)
        if dest is None:
            dest = Module()
            setattr(to_module, item, dest)
        to_module = dest
    _assign_value(to_module, field, from_obj)


def _assign_value(module: Module, field: str, value) -> None:
    import ember

    from ..nn.parameter import Parameter

    if isinstance(value, ember.Tensor) and not isinstance(value, Parameter):
        module.register_buffer(field, value)
    else:
        setattr(module, field, value)


def _error_context(frame: traceback.FrameSummary) -> str:
    lines = linecache.getlines(frame.filename)
    lineno = frame.lineno
    return "\n".join([
        traceback.format_exc(),
        (f"Call using an FX-traced Module, line {lineno} of the traced Module's generated "
         "forward function:"),
        "".join(lines[lineno - 2:lineno]),
        "~" * len(frame.line) + "~~~ <--- HERE",
        "\n".join(lines[lineno:lineno + 2]),
    ])


def _addindent(text: str, num_spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    first = lines.pop(0)
    return first + "\n" + "\n".join(" " * num_spaces + line if line.strip() else ""
                                     for line in lines)


class GraphModule(Module):
    """A Module built from ``root`` (a Module, or a dict of attribute path -> value) and a
    ``graph``; ``forward`` runs the graph's generated code.

    Example::

        gm = fx.GraphModule(model, graph)
        gm.graph.eliminate_dead_code()
        gm.recompile()
    """

    def __new__(cls, *args, **kwargs):
        base = next(t for t in cls.__mro__
                    if t.__qualname__.split(".")[-1] != "GraphModuleImpl")

        class GraphModuleImpl(base):
            pass

        return super().__new__(GraphModuleImpl)

    def __init__(self, root, graph: Graph, class_name: str = "GraphModule") -> None:
        super().__init__()
        self.__class__.__name__ = class_name
        if isinstance(root, Module):
            if hasattr(root, "training"):
                self.training = root.training
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    _copy_attr(root, self, node.target)
        elif isinstance(root, dict):
            targets = []
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    if node.target not in root:
                        raise RuntimeError(f"Node {node} referenced target {node.target} but "
                                           "that target was not provided in ``root``!")
                    targets.append(node.target)
            for target in sorted(targets, key=lambda t: t.count(".")):
                _assign_attr(root[target], self, target)
        else:
            raise RuntimeError(f"Unsupported type {root} passed for root!")  # noqa: TRY004
        self.graph = graph
        self._tracer_cls = graph._tracer_cls
        self.meta: dict[str, Any] = {}

    @property
    def graph(self) -> Graph:
        return self._graph

    @graph.setter
    def graph(self, g: Graph) -> None:
        if not isinstance(g, Graph):
            raise AssertionError(f"Expected a Graph instance, but got {type(g)}")  # noqa: TRY004
        self.__dict__["_graph"] = g
        g.owning_module = self
        self.recompile()

    @property
    def code(self) -> str:
        """The generated ``forward`` source (as of the last ``recompile``)."""
        if not hasattr(self, "_code"):
            raise RuntimeError("Code has not been generated! Please report a bug to PyTorch")
        return self._code

    def recompile(self) -> PythonCode:
        """Regenerate ``forward`` from ``self.graph``; call after editing the graph."""
        python_code = self._graph.python_code(root_module="self")
        self.__dict__["_code"] = python_code.src
        cls = type(self)
        cls.forward = _forward_from_src(self._code, python_code.globals)
        return python_code

    def __call__(self, *args, **kwargs):
        """Run ``forward``; if it fails inside the generated code, print the failing
        generated line with context to stderr first, as PyTorch's GraphModule does."""
        try:
            return super().__call__(*args, **kwargs)
        except Exception as e:
            frames = traceback.extract_tb(e.__traceback__)
            generated = [f for f in frames if "eval_with_key" in f.filename]
            if not generated:
                raise
            print(_error_context(generated[-1]), file=sys.stderr)
            # as PyTorch: the printout above already holds the traceback
            raise e.with_traceback(None)

    def print_readable(self, print_output: bool = True, include_stride: bool = False,
                       include_device: bool = False, colored: bool = False) -> str:
        """The generated code as a ``class <Name>(torch.nn.Module)`` listing, nested
        GraphModule children included; printed unless ``print_output`` is False. The
        stride/device/colour options change nothing ember prints (see
        ``Graph.python_code``)."""
        return _print_readable(self, self._get_name(), print_output)

    def add_submodule(self, target: str, m: Module) -> bool:
        """Install ``m`` at dotted path ``target``, creating empty parents as needed."""
        *prefix, field = target.split(".")
        module = self
        for item in prefix:
            submodule = getattr(module, item, None)
            if submodule is None:
                submodule = Module()
                setattr(module, item, submodule)
            if not isinstance(submodule, Module):
                return False
            module = submodule
        module.add_module(field, m)
        return True

    def delete_submodule(self, target: str) -> bool:
        *path, name = target.split(".")
        module = self
        for item in path:
            if not hasattr(module, item):
                return False
            module = getattr(module, item)
            if not isinstance(module, Module):
                return False
        if not hasattr(module, name) or not isinstance(getattr(module, name), Module):
            return False
        delattr(module, name)
        return True

    def delete_all_unused_submodules(self) -> None:
        """Drop submodules no ``call_module``/``get_attr`` node reaches."""
        used: list[str] = []
        for node in self.graph.nodes:
            if node.op in ("call_module", "get_attr"):
                atoms = node.target.split(".")
                used.extend(".".join(atoms[:i]) for i in range(1, len(atoms) + 1))
            if node.op == "call_module":  # a called module runs its own children
                submodule = self.get_submodule(node.target)
                used.extend(f"{node.target}.{name}" for name, _ in submodule.named_modules()
                            if name)
        used_set = set(used)
        for name, _ in list(self.named_modules()):
            if name and name not in used_set:
                self.delete_submodule(name)

    def __deepcopy__(self, memo) -> GraphModule:
        fake = Module()
        fake.__dict__ = copy.deepcopy(self.__dict__, memo)
        result = GraphModule(fake, fake.__dict__["_graph"])
        result.meta = copy.deepcopy(getattr(self, "meta", {}), memo)
        return result

    def __copy__(self) -> GraphModule:
        result = GraphModule(self, self.graph)
        result.meta = getattr(self, "meta", {})
        return result

    def __reduce__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("_graph", "_code")}
        return (_rebuild_graph_module, (self._get_name(), state, self._graph))

    def __str__(self) -> str:
        reminder = "# To see more debug info, please use `graph_module.print_readable()`"
        return "\n".join([super().__str__(), self._code, reminder])


def _rebuild_graph_module(class_name: str, state: dict, graph: Graph) -> GraphModule:
    fake = Module()
    fake.__dict__.update(state)
    result = GraphModule(fake, graph, class_name)
    result.meta = state.get("meta", {})
    return result


def _print_readable(module: GraphModule, module_name: str, print_output: bool) -> str:
    src = _verbose_code(module.graph).lstrip("\n")
    module_code = _addindent(f"class {module_name}(torch.nn.Module):\n" + src, 4)
    parts = [""]
    for name, child in module.named_children():
        if isinstance(child, GraphModule):
            parts.append(_print_readable(child, name, False))
    output = module_code + _addindent("\n".join(parts), 4)
    if print_output:
        print(output)
    return output


def _verbose_code(graph: Graph) -> str:
    from ._codegen import _CodeGen

    gen = _CodeGen(graph, "self")
    gen.verbose = True
    return gen.generate().src
