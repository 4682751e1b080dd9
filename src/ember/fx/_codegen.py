"""Python code generation for FX graphs: ``Graph.python_code`` and ``print_readable``.

The emitted ``forward`` reads as PyTorch's: operators print as ``x + y``, functions under
their public torch names (``torch.relu``, ``torch.nn.functional.relu``), and each value is
released (``;  x = None``) right after its last use, as PyTorch's generated code does.
"""

from __future__ import annotations

from typing import Any

from .graph import (
    _CUSTOM_BUILTINS,
    _TORCH,
    INPLACE_METHODS,
    MAGIC_METHODS,
    Graph,
    PythonCode,
    _format_target,
    _get_qualified_name,
    _is_torch_name,
    _Namespace,
    _public_type_repr,
)
from .node import Node


def _dtype_abbr(dtype) -> str:
    name = str(dtype).split(".")[-1]
    special = {"bool": "b8", "bfloat16": "bf16"}
    if name in special:
        return special[name]
    for prefix, letter in (("float", "f"), ("int", "i"), ("uint", "u"), ("complex", "c")):
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            return letter + name[len(prefix):]
    return name


class _CodeGen:
    """Turns a graph into ``def forward(...)`` source plus its globals."""

    def __init__(self, graph: Graph, root_module: str) -> None:
        self.graph = graph
        self.root_module = root_module
        self.namespace = _Namespace()
        self.globals: dict[str, Any] = {}
        self.verbose = False
        for node in graph.nodes:
            self.namespace.create_name(node.name, node)
        for name, obj in _CUSTOM_BUILTINS.items():
            self.add_global(name, obj)

    def add_global(self, name_hint: str, obj) -> str:
        if obj is _TORCH:
            self.globals["torch"] = _TORCH
            self.namespace._used_names.add("torch")
            return "torch"
        if isinstance(obj, type) and name_hint.startswith("torch."):
            return name_hint
        if callable(obj) and not isinstance(obj, type):
            if _is_torch_name(name_hint):
                return name_hint
            qualname = _get_qualified_name(obj)
            if _is_torch_name(qualname):
                return qualname
        name = self.namespace.create_name(name_hint, obj)
        if name in self.globals and self.globals[name] is not obj:
            raise AssertionError(f"Global name {name} already assigned to different object")
        self.globals[name] = obj
        return name

    def repr_arg(self, arg) -> str:
        import ember

        if isinstance(arg, Node):
            return arg.name
        if isinstance(arg, tuple) and hasattr(arg, "_fields"):
            name = self.add_global(_get_qualified_name(type(arg)), type(arg))
            return f"{name}{self.repr_arg(tuple(arg))}"
        if isinstance(arg, ember.Tensor):
            return f"torch.Tensor(size={list(arg.size())}, dtype={str(arg.dtype).split('.')[-1]})"
        if isinstance(arg, tuple):
            if len(arg) == 1:
                return f"({self.repr_arg(arg[0])},)"
            return "(" + ", ".join(self.repr_arg(a) for a in arg) + ")"
        if isinstance(arg, list):
            return "[" + ", ".join(self.repr_arg(a) for a in arg) + "]"
        if isinstance(arg, dict):
            return "{" + ", ".join(f"{self.repr_arg(k)}: {self.repr_arg(v)}"
                                   for k, v in arg.items()) + "}"
        if isinstance(arg, slice):
            return (f"slice({self.repr_arg(arg.start)}, {self.repr_arg(arg.stop)}, "
                    f"{self.repr_arg(arg.step)})")
        if isinstance(arg, ember.dtype):
            return f"torch.{str(arg).split('.')[-1]}"
        if isinstance(arg, ember.device):
            self.add_global("device", ember.device)
            return repr(arg)
        if isinstance(arg, type):
            return self.add_global(_public_type_repr(arg), arg)
        return repr(arg)

    def format_args(self, args, kwargs) -> str:
        parts = [self.repr_arg(a) for a in args]
        parts += [f"{k} = {self.repr_arg(v)}" for k, v in kwargs.items()]
        return ", ".join(parts)

    def emit(self, node: Node, free_vars: list, wrapped: dict) -> str | None:
        annotation = ""
        if node.type is not None:
            annotation = f" : {self.add_global(_public_type_repr(node.type), node.type)}"
        meta = node.meta.get("tensor_meta") if self.verbose else None
        if meta is not None and hasattr(meta, "dtype"):
            shape = ", ".join(str(d) for d in meta.shape)
            annotation = f': "{_dtype_abbr(meta.dtype)}[{shape}]"'
        if self.verbose and node.meta.get("sym_expr") is not None:
            annotation = f': "Sym({node.meta["sym_expr"]})"'  # an exported graph's size node
        if node.op == "placeholder":
            default = "" if not node.args else f" = {self.repr_arg(node.args[0])}"
            free_vars.append(f"{node.target}{annotation}{default}")
            raw_name = node.target.replace("*", "")
            return f"{node.name} = {raw_name}" if raw_name != node.name else None
        if node.op == "call_method":
            target = _format_target(self.repr_arg(node.args[0]), node.target)
            arguments = self.format_args(node.args[1:], node.kwargs)
            return f"{node.name}{annotation} = {target}({arguments})"
        if node.op == "call_function":
            return self.emit_call_function(node, annotation, wrapped)
        if node.op == "call_module":
            target = _format_target(self.root_module, node.target)
            return f"{node.name}{annotation} = {target}({self.format_args(node.args, node.kwargs)})"
        if node.op == "get_attr":
            return f"{node.name}{annotation} = {_format_target(self.root_module, node.target)}"
        if node.op == "output":
            return f"return {self.repr_arg(node.args[0])}"
        raise NotImplementedError(f"node: {node.op} {node.target}")

    def emit_call_function(self, node: Node, annotation: str, wrapped: dict) -> str:
        target = node.target
        module = getattr(target, "__module__", "")
        name = getattr(target, "__name__", "")
        if module == "_operator" and name in MAGIC_METHODS:
            text = MAGIC_METHODS[name].format(*(self.repr_arg(a) for a in node.args))
            return f"{node.name}{annotation} = {text}"
        if module == "_operator" and name in INPLACE_METHODS:
            text = INPLACE_METHODS[name].format(*(self.repr_arg(a) for a in node.args))
            return f"{text};  {node.name}{annotation} = {self.repr_arg(node.args[0])}"
        qualname = node._hinted_qualname() or _get_qualified_name(target)
        global_name = self.add_global(qualname, target)
        if (global_name == "getattr" and len(node.args) == 2 and isinstance(node.args[1], str)
                and node.args[1].isidentifier()):
            attribute = _format_target(self.repr_arg(node.args[0]), node.args[1])
            return f"{node.name}{annotation} = {attribute}"
        if node.meta.get("is_wrapped", False):
            wrapped.setdefault(global_name)
        arguments = self.format_args(node.args, node.kwargs)
        return f"{node.name}{annotation} = {global_name}({arguments})"

    def generate(self) -> PythonCode:
        nodes = list(self.graph.nodes)
        last_use: dict[Node, Node] = {}
        to_free: dict[Node, list[Node]] = {}
        for node in reversed(nodes):
            for used in node.all_input_nodes:
                if used not in last_use:
                    last_use[used] = node
                    to_free.setdefault(node, []).append(used)
        free_vars: list[str] = [self.root_module] if self.root_module else []
        wrapped: dict[str, None] = {}
        body: list[str] = []
        summary_written = False
        for node in nodes:
            if self.verbose and not summary_written and node.op not in ("placeholder", "output"):
                body.append("\n# No stacktrace found for following nodes\n")
                summary_written = True
            line = self.emit(node, free_vars, wrapped)
            if node.op == "placeholder":
                if line is not None:
                    body.append(line + "\n")
                continue
            body.append(line)
            if node.op == "output":
                body.append("\n")
                continue
            freed = list(to_free.get(node, []))
            if len(node.users) == 0:
                freed.append(node)
            if freed:
                body.append(";  " + " = ".join([n.name for n in freed] + ["None"]) + "\n")
            else:
                body.append("\n")
        if not body:
            body.append("pass\n")
        wrap_stmts = ""
        if wrapped:
            from ._symbolic_trace import wrap

            wrap_name = self.add_global("wrap", wrap)
            wrap_stmts = "\n".join(f'{wrap_name}("{name}")' for name in wrapped)
        code = "".join(body).lstrip("\n")
        code = "\n".join("    " + line for line in code.split("\n"))
        return_annotation = ""
        output = [n for n in nodes if n.op == "output"]
        if output and output[0].type is not None:
            out_type = output[0].type
            return_annotation = f" -> {self.add_global(_public_type_repr(out_type), out_type)}"
        prologue = f"def forward({', '.join(free_vars)}){return_annotation}:"
        src = f"\n{wrap_stmts}\n\n{prologue}\n{code}"
        return PythonCode(src, dict(self.globals))

