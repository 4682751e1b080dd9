"""``Graph``: the FX intermediate representation, and the names its code prints.

A Graph is a linked list of ``Node``s in program order. ``python_code`` (in
``_codegen.py``) turns it back into the source of a ``forward`` that reads as PyTorch's,
with functions under their public torch names (``torch.relu``, ``torch._C._nn.linear``).
That code runs on ember: its ``torch`` global is a small resolver (``_TorchNames``) mapping
the torch names it prints to ember's objects.
"""

from __future__ import annotations

import builtins
import inspect
import keyword
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import _call_forms
from .node import Node, _type_repr, map_arg

__all__ = ["Graph", "PythonCode"]

_ILLEGAL_NAMES = {name: object() for name in keyword.kwlist}
_ILLEGAL_NAMES.update(builtins.__dict__)
_ILLEGAL_CHAR = re.compile("[^0-9a-zA-Z_]+")
_NAME_RE = re.compile(r"^([a-zA-Z_][0-9a-zA-Z_]*?)(?:_(\d+))?$")
_SNAKE_RE = re.compile(r"(?<=[a-z])([A-Z])")

_REFLECTABLE = {
    "add": "{} + {}", "sub": "{} - {}", "mul": "{} * {}", "floordiv": "{} // {}",
    "truediv": "{} / {}", "div": "{} / {}", "mod": "{} % {}", "pow": "{} ** {}",
    "lshift": "{} << {}", "rshift": "{} >> {}", "and_": "{} & {}", "or_": "{} | {}",
    "xor": "{} ^ {}", "getitem": "{}[{}]", "matmul": "{} @ {}",
}
MAGIC_METHODS = {
    "eq": "{} == {}", "ne": "{} != {}", "lt": "{} < {}", "gt": "{} > {}", "le": "{} <= {}",
    "ge": "{} >= {}", "pos": "+{}", "neg": "-{}", "invert": "~{}", **_REFLECTABLE,
}
INPLACE_METHODS = {
    "iadd": "{} += {}", "iand": "{} &= {}", "ifloordiv": "{} //= {}", "ilshift": "{} <<= {}",
    "imod": "{} %= {}", "imul": "{} *= {}", "imatmul": "{} @= {}", "ior": "{} |= {}",
    "ipow": "{} **= {}", "irshift": "{} >>= {}", "isub": "{} -= {}", "itruediv": "{} /= {}",
    "ixor": "{} ^= {}", "setitem": "{}[{}] = {}",
}


def _snake_case(name: str) -> str:
    return _SNAKE_RE.sub(r"_\1", name).lower()


# -- public names of ember's functions, as torch prints them ---------------------------------

_QUALNAMES: dict[int, tuple[Any, str]] = {}
_BY_QUALNAME: dict[str, Any] = {}


def _public_namespaces():
    """(module, printed prefix, {name: printed qualified name}) for every namespace whose
    functions tracing records; earlier entries win when one function has several names."""
    import ember
    import ember.fft
    import ember.linalg
    import ember.nn.functional
    import ember.special

    top_level = dict(_call_forms.TORCH_QUALNAMES)
    top_level.update({name: _call_forms.F_QUALNAMES.get(name, f"torch.nn.functional.{name}")
                      for name in _call_forms.F_ONLY})
    spaces = [(ember, "torch", top_level),
              (ember.nn.functional, "torch.nn.functional", _call_forms.F_QUALNAMES)]
    for sub, module in (("special", ember.special), ("linalg", ember.linalg),
                        ("fft", ember.fft)):
        prefix = _call_forms.SUBMODULE_C_PREFIX[sub]
        names = {name: f"torch._C._{sub}.{prefix}_{name}" for name in vars(module)
                 if not name.startswith("_")}
        spaces.append((module, f"torch.{sub}", names))
    return spaces


def _public_functions(module):
    # vars(), not dir(): dir(ember) lists the lazy submodules and getattr would import them
    for name, obj in sorted(vars(module).items()):
        if name.startswith("_"):
            continue
        if callable(obj) and not isinstance(obj, type) and not inspect.ismodule(obj):
            yield name, obj


def _build_qualnames() -> None:
    if _QUALNAMES:
        return
    from . import _symbolic_trace

    for module, prefix, renamed in _public_namespaces():
        for name, obj in _public_functions(module):
            qualname = renamed.get(name, f"{prefix}.{name}")
            _BY_QUALNAME.setdefault(qualname, obj)
            _QUALNAMES.setdefault(id(obj), (obj, qualname))
    _BY_QUALNAME["torch._assert"] = _symbolic_trace._assert
    _QUALNAMES[id(_symbolic_trace._assert)] = (_symbolic_trace._assert, "torch._assert")
    _QUALNAMES[id(_symbolic_trace.wrap)] = (_symbolic_trace.wrap, "torch.fx._symbolic_trace.wrap")
    _BY_QUALNAME["torch.fx._symbolic_trace.wrap"] = _symbolic_trace.wrap
    is_none = _symbolic_trace._assert_is_none
    _QUALNAMES[id(is_none)] = (is_none, "torch.fx._symbolic_trace._assert_is_none")
    _BY_QUALNAME["torch.fx._symbolic_trace._assert_is_none"] = is_none


def _get_qualified_name(func) -> str:
    """The dotted name torch.fx prints for ``func`` (``torch.relu``, ``operator.add``)."""
    name = getattr(func, "__name__", None)
    if name is not None and getattr(builtins, name, None) is func:
        return name
    _build_qualnames()
    known = _QUALNAMES.get(id(func))
    if known is not None and known[0] is func:
        return known[1]
    import ember

    if getattr(ember.Tensor, name or "", None) is func:
        return f"torch.Tensor.{name}"
    if name == "<lambda>":
        raise RuntimeError("Unable to represent lambda")
    module = getattr(func, "__module__", None) or ""
    module = module.replace("ember.", "torch.") if module.startswith("ember.") else module
    module = module.replace("torch._ops.", "torch.ops.")  # OpOverloads, as torch.fx prints
    return f"{module}.{name}" if module else str(name)


def _public_type_repr(obj) -> str:
    """A type as torch prints it: ember's classes under their torch names."""
    return _type_repr(obj)


def _is_torch_name(qualname: str) -> bool:
    return qualname.startswith("torch.") and _resolves(qualname)


def _resolves(qualname: str) -> bool:
    _build_qualnames()
    return qualname in _BY_QUALNAME or qualname.startswith(("torch.Tensor.", "torch.ops."))


# torch name -> recording wrapper while a trace runs, so that tracing a GraphModule
# records the calls its generated code makes
_RECORDING: dict[str, Any] = {}


def _set_recording(recorders: dict[str, Any]) -> None:
    """Point generated code's ``torch.*`` names at ``recorders`` (empty: at ember's
    functions again), dropping the names cached so far."""
    _RECORDING.clear()
    _RECORDING.update(recorders)
    for name in [k for k in _TORCH.__dict__ if k != "_path"]:
        del _TORCH.__dict__[name]


class _TorchNames:
    """The ``torch`` global of generated code: resolves the torch names the code prints
    (``torch.relu``, ``torch._C._nn.linear``, ``torch.nn.functional.relu``) to ember."""

    def __init__(self, path: str = "torch") -> None:
        self.__dict__["_path"] = path

    def __getattr__(self, name: str):
        path = f"{self._path}.{name}"
        if path in _RECORDING:
            return _RECORDING[path]  # not cached: tracing ends and the names go back
        _build_qualnames()
        if path in _BY_QUALNAME:
            value = _BY_QUALNAME[path]
        else:
            value = _resolve_ember(path)
            if value is None:
                value = _TorchNames(path)
        self.__dict__[name] = value
        return value

    def __repr__(self) -> str:
        return f"<ember names for {self._path}>"


def _resolve_ember(path: str):
    import importlib

    import ember

    obj = ember
    for atom in path.split(".")[1:]:
        nxt = getattr(obj, atom, None)
        if nxt is None:
            try:
                nxt = importlib.import_module(f"{obj.__name__}.{atom}")
            except (ImportError, AttributeError):
                return None
        obj = nxt
    return None if inspect.ismodule(obj) else obj


_TORCH = _TorchNames()
_CUSTOM_BUILTINS = {"inf": math.inf, "nan": math.nan, "NoneType": type(None), "torch": _TORCH}


class _Namespace:
    """Unique Python identifiers for nodes and globals: each object one name, no name
    twice, and no shadowing of builtins (``sum`` becomes ``sum_1``)."""

    def __init__(self) -> None:
        self._obj_to_name: dict[Any, str] = {}
        self._used_names: set[str] = set()
        self._base_count: dict[str, int] = {}

    def create_name(self, candidate: str, obj) -> str:
        if obj is not None and obj in self._obj_to_name:
            return self._obj_to_name[obj]
        match = _NAME_RE.match(candidate)
        if match is None:
            candidate = _ILLEGAL_CHAR.sub("_", candidate) or "_unnamed"
            if candidate[0].isdigit():
                candidate = f"_{candidate}"
            match = _NAME_RE.match(candidate)
        base, num = match.group(1, 2)
        if num is None or candidate in self._used_names:
            num = self._base_count.get(base, 0)
            if _ILLEGAL_NAMES.get(candidate, obj) is not obj:
                num += 1
                candidate = f"{base}_{num}"
        else:
            num = int(num)
        while candidate in self._used_names:
            num += 1
            candidate = f"{base}_{num}"
        self._used_names.add(candidate)
        self._base_count[base] = num
        if obj is not None:
            self._obj_to_name[obj] = candidate
        return candidate

    def associate_name_with_obj(self, name: str, obj) -> None:
        self._obj_to_name.setdefault(obj, name)


@dataclass
class PythonCode:
    """Source of the generated ``forward`` and the globals it runs with."""

    src: str
    globals: dict[str, Any]
    _lineno_map: dict[int, int | None] | None = field(default=None)


class _InsertPoint:
    def __init__(self, graph: Graph, new_insert: Callable) -> None:
        self.graph = graph
        self.orig_insert, graph._insert = graph._insert, new_insert

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        self.graph._insert = self.orig_insert


class _NodeList:
    """Live view of a graph's nodes (iterating while erasing the current node is safe)."""

    def __init__(self, graph: Graph, direction: str = "_next") -> None:
        self.graph = graph
        self.direction = direction

    def __len__(self) -> int:
        return self.graph._len

    def __iter__(self):
        root = self.graph._root
        node = getattr(root, self.direction)
        while node is not root:
            if not node._erased:
                yield node
            node = getattr(node, self.direction)

    def __reversed__(self):
        return _NodeList(self.graph, "_prev" if self.direction == "_next" else "_next")


class _TorchTarget:
    """A pickled call_function target named by its torch name."""

    def __init__(self, qualname: str) -> None:
        self.qualname = qualname


class _NodeRef:
    """A pickled reference to an earlier node, by name."""

    def __init__(self, name: str) -> None:
        self.name = name


def _rebuild_graph(rows) -> Graph:
    from .node import map_aggregate

    _build_qualnames()
    graph = Graph()
    by_name: dict[str, Node] = {}
    for op, name, target, args, kwargs, type_expr, meta, hinted in rows:
        if isinstance(target, _TorchTarget):
            target = _BY_QUALNAME[target.qualname]

        def resolve(value):
            return by_name[value.name] if isinstance(value, _NodeRef) else value

        node = graph.create_node(op, target, map_aggregate(args, resolve),
                                 map_aggregate(kwargs, resolve), name, type_expr)
        node.meta = meta
        if hinted is not None:
            node._qualname_hint = (target, hinted)
        by_name[name] = node
    return graph


def _format_target(base: str, target: str) -> str:
    result = base
    for atom in target.split("."):
        result = f"{result}.{atom}" if atom.isidentifier() else f'getattr({result}, "{atom}")'
    return result


class Graph:
    """The FX graph: ``placeholder`` inputs, operations, one ``output``.

    Example::

        graph = Graph()
        x = graph.placeholder("x")
        relu = graph.call_function(torch.relu, (x,))
        graph.output(relu)
    """

    def __init__(self, owning_module=None, tracer_cls=None, tracer_extras=None) -> None:
        self._root = Node(self, "", "root", "", (), {})
        self._used_names: dict[str, int] = {}
        self._insert = self._root.prepend
        self._len = 0
        self._graph_namespace = _Namespace()
        self._owning_module = owning_module
        self._tracer_cls = tracer_cls
        self._tracer_extras = tracer_extras
        self._co_fields: dict[str, Any] = {}

    @property
    def owning_module(self):
        return self._owning_module

    @owning_module.setter
    def owning_module(self, module) -> None:
        self._owning_module = module

    @property
    def nodes(self) -> _NodeList:
        return _NodeList(self)

    def find_nodes(self, *, op: str, target=None, sort: bool = True) -> list[Node]:
        return [node for node in self.nodes
                if node.op == op and (target is None or node.target == target)]

    # -- building -------------------------------------------------------------------------

    def create_node(self, op: str, target, args: tuple | None = None,
                    kwargs: dict | None = None, name: str | None = None,
                    type_expr=None) -> Node:
        """Create a node at the current insertion point (end of graph by default)."""
        args = () if args is None else args
        kwargs = {} if kwargs is None else kwargs
        if not isinstance(args, tuple):
            raise AssertionError("args must be a tuple")  # noqa: TRY004
        if not isinstance(kwargs, dict):
            raise AssertionError("kwargs must be a dict")  # noqa: TRY004
        candidate = name if name is not None else self._target_to_str(target)
        unique = self._graph_namespace.create_name(candidate, None)
        node = Node(self, unique, op, target, args, kwargs, type_expr)
        self._graph_namespace.associate_name_with_obj(unique, node)
        self._insert(node)
        self._len += 1
        return node

    def _target_to_str(self, target) -> str:
        if callable(target):
            op = target.__name__
        else:
            op = target
            if op.startswith("__") and op.endswith("__"):
                op = op[2:-2]
        return _snake_case(op)

    def placeholder(self, name: str, type_expr=None,
                    default_value: Any = inspect.Signature.empty) -> Node:
        args = () if default_value is inspect.Signature.empty else (default_value,)
        return self.create_node("placeholder", name, args=args, type_expr=type_expr)

    def get_attr(self, qualified_name: str, type_expr=None) -> Node:
        return self.create_node("get_attr", qualified_name, type_expr=type_expr)

    def call_module(self, module_name: str, args=None, kwargs=None, type_expr=None) -> Node:
        return self.create_node("call_module", module_name, args, kwargs, type_expr=type_expr)

    def call_method(self, method_name: str, args=None, kwargs=None, type_expr=None) -> Node:
        return self.create_node("call_method", method_name, args, kwargs, type_expr=type_expr)

    def call_function(self, the_function: Callable, args=None, kwargs=None, type_expr=None,
                      name: str | None = None) -> Node:
        return self.create_node("call_function", the_function, args, kwargs, name=name,
                                type_expr=type_expr)

    def output(self, result, type_expr=None) -> Node:
        return self.create_node(op="output", target="output", args=(result,),
                                type_expr=type_expr)

    def node_copy(self, node: Node, arg_transform: Callable = lambda x: x) -> Node:
        """Copy ``node`` (from any graph) into this one; ``arg_transform`` maps its input
        nodes to nodes of this graph."""
        args = map_arg(node.args, arg_transform)
        kwargs = map_arg(node.kwargs, arg_transform)
        result = self.create_node(node.op, node.target, args, kwargs, node.name, node.type)
        result.meta = dict(node.meta)
        result._qualname_hint = node._qualname_hint
        return result

    def graph_copy(self, g: Graph, val_map: dict, return_output_node: bool = False):
        """Copy all of ``g``'s nodes except its output into this graph; ``val_map`` maps
        g's nodes to the copies (pre-seed it to substitute inputs). Returns the value the
        output node would return."""
        for node in g.nodes:
            if node in val_map:
                continue
            if node.op == "output":
                result = map_arg(node.args[0], lambda n: val_map[n])
                return (result, node) if return_output_node else result
            val_map[node] = self.node_copy(node, lambda n: val_map[n])
        return None

    def __reduce__(self):
        """Pickle node by node; ember functions travel as the torch names they print as
        (several are closures that pickle cannot name), everything else by reference."""
        rows = []
        for node in self.nodes:
            target = node.target
            hinted = node._hinted_qualname()
            if node.op == "call_function":
                qualname = hinted or _get_qualified_name(target)
                if _is_torch_name(qualname) and _BY_QUALNAME.get(qualname) is target:
                    target = _TorchTarget(qualname)
            args = map_arg(node.args, lambda n: _NodeRef(n.name))
            kwargs = map_arg(node.kwargs, lambda n: _NodeRef(n.name))
            rows.append((node.op, node.name, target, args, kwargs, node.type, node.meta,
                         hinted))
        return (_rebuild_graph, (rows,))

    def __deepcopy__(self, memo=None) -> Graph:
        memo = memo if memo is not None else {}
        copied = Graph(tracer_cls=self._tracer_cls)
        output_vals = copied.graph_copy(self, val_map=memo, return_output_node=True)
        if output_vals is not None:
            value, old_output = output_vals
            new_output = copied.output(value, type_expr=old_output.type)
            new_output.meta = dict(old_output.meta)
        return copied

    def erase_node(self, to_erase: Node) -> None:
        """Remove a node with no users."""
        if len(to_erase.users) > 0:
            raise RuntimeError(f"Tried to erase Node {to_erase} but it still had "
                               f"{len(to_erase.users)} users in the graph: {to_erase.users}!")
        if to_erase.graph is not self:
            raise RuntimeError(f"Attempting to remove {to_erase} from wrong graph!")
        if to_erase._erased:
            return
        to_erase._remove_from_list()
        to_erase._erased = True
        self._len -= 1
        to_erase._update_args_kwargs(map_arg(to_erase.args, lambda n: None),
                                     map_arg(to_erase.kwargs, lambda n: None))

    def inserting_before(self, n: Node | None = None) -> _InsertPoint:
        """``with graph.inserting_before(node):`` new nodes go just before ``node``
        (the start of the graph when None)."""
        if n is None:
            return self.inserting_after(self._root)
        return _InsertPoint(self, n.prepend)

    def inserting_after(self, n: Node | None = None) -> _InsertPoint:
        """New nodes go just after ``n`` (the end of the graph when None). As in PyTorch,
        several nodes created in one such block end up in reverse creation order."""
        if n is None:
            return self.inserting_before(self._root)
        return _InsertPoint(self, n.append)

    # -- checking and cleaning ------------------------------------------------------------

    def lint(self) -> None:
        """Check ownership, topological order, unique names and that get_attr/call_module
        targets exist on the owning module."""
        seen_names: set[str] = set()
        seen_values: set[Node] = set()
        for node in self.nodes:
            if node.graph is not self:
                raise RuntimeError(f"Node '{node}' does not belong to this Graph!")
            for arg in node.all_input_nodes:
                context = f" of Node '{node}' "
                if arg.graph is not self:
                    raise RuntimeError(
                        f"Argument '{arg}'{context}does not belong to this Graph, but was used "
                        "as an argument! If you are copying nodes from another graph, make "
                        f"sure to use ``arg_transform`` on node_copy() to remap values\n{self}")
                if arg not in seen_values:
                    raise RuntimeError(
                        f"Argument '{arg}'{context}was used before it has been defined! Please "
                        f"check that Nodes in the graph are topologically ordered\n{self}")
            seen_values.add(node)
            if node.name in seen_names:
                raise RuntimeError(f"Node redefined name {node.name}!")
            seen_names.add(node.name)
        if self.owning_module is None:
            return
        from ..nn.modules.module import Module

        for node in self.nodes:
            if node.op not in ("get_attr", "call_module"):
                continue
            current = self.owning_module
            atoms = node.target.split(".")
            for index, atom in enumerate(atoms):
                nxt = getattr(current, atom, None)
                seen = ".".join(atoms[:index])
                if nxt is None:
                    raise RuntimeError(f"Node {node} target {node.target} references "
                                       f"nonexistent attribute {atom} of {seen}")
                if node.op == "call_module" and not isinstance(nxt, Module):
                    raise RuntimeError(f"Node {node} target {node.target} {atom} of {seen} "
                                       "does not reference an nn.Module")
                current = nxt

    def eliminate_dead_code(self, is_impure_node: Callable | None = None) -> bool:
        """Erase nodes nobody uses and without side effects; True if any went."""
        self.lint()
        changed = False
        for node in reversed(self.nodes):
            impure = is_impure_node(node) if is_impure_node is not None else node.is_impure()
            if not impure and len(node.users) == 0:
                self.erase_node(node)
                changed = True
        return changed

    # -- printing -------------------------------------------------------------------------

    def __str__(self) -> str:
        # as PyTorch's: placeholders print as nodes (the empty list is falsy) and the
        # return annotation is not collected
        placeholder_names: list[str] = []
        lines = [node.format_node(placeholder_names) for node in self.nodes]
        text = f"graph({', '.join(placeholder_names)}):"
        for line in lines:
            if line:
                text += "\n    " + line
        return text

    def print_tabular(self) -> None:
        """Print opcode/name/target/args/kwargs as a table. PyTorch needs the ``tabulate``
        package for this; ember formats the same ``simple`` table itself."""
        rows = [[n.op, n.name, n.target, n.args, n.kwargs] for n in self.nodes]
        headers = ["opcode", "name", "target", "args", "kwargs"]
        cells = [headers] + [[str(c) for c in row] for row in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
        out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(),
               "  ".join("-" * w for w in widths)]
        out += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells[1:]]
        print("\n".join(out))

    # -- code generation ------------------------------------------------------------------

    def python_code(self, root_module: str, *, verbose: bool = False,
                    include_stride: bool = False, include_device: bool = False,
                    colored: bool = False) -> PythonCode:
        """The Python source of ``forward`` (its first parameter named ``root_module``).
        ``verbose`` adds the stack-trace comment and ShapeProp's ``"f32[2, 3]"``
        annotations; as in PyTorch, strides and devices are shown only for real tensors
        in ``meta['val']``, which ember's passes do not store, and ``colored`` applies to
        terminals only, so those three leave ember's text unchanged."""
        from ._codegen import _CodeGen

        gen = _CodeGen(self, root_module)
        gen.verbose = verbose
        return gen.generate()
