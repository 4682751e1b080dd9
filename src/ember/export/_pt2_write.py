"""Writing an ember ``ExportedProgram`` as PyTorch's ``.pt2`` program JSON.

The inverse of ``_pt2_read``: each ``call_function`` node becomes a ``schema.Node``
naming its ATen target and its arguments as the ATen schema does (``_pt2_schemas``),
multiple results are listed on the producing node (its ``getitem`` users are folded
in, as torch's serializer does), every tensor value gets its metadata (dtype, sizes,
contiguous strides, device) and dynamic sizes are written as sympy expressions of their
symbol (``Symbol('s0', positive=True, integer=True)``), so ``torch.export.load``
rebuilds the program with its fake tensors and symbolic shapes.

ember records some calls differently from torch: under ember's Python argument list
(``gelu(x, 'tanh')``, ``outer([a, b])``, ``F.mse_loss``'s ``reduction='mean'``), under a
default overload ATen lacks (``where.default``), or whole (multi-head attention,
lowered first by ``_pt2_lower``). Each call is matched against the ATen schemas of its
op (``_pt2_schemas.bind``) and written as the overload it fits. A node that fits none,
or calls a Python function with no ATen name, raises ``RuntimeError`` naming it.
"""

from __future__ import annotations

import inspect
import json
import math
import operator

import ember
from ember._ops._loss_common import _legacy_reduction
from ember.utils._pytree import treespec_dumps

from ._pt2_read import _DTYPE_NAMES, _LAYOUT_NAMES, _MEMORY_FORMAT_NAMES, SCHEMA_MAJOR
from ._pt2_lower import run_for_metadata
from ._pt2_ops import _LOSSES, _REDUCTION_NAMES, _aten_loss_arguments
from ._pt2_schemas import bind, overloads_of
from ._trace import TensorMeta
from .dynamic_shapes import Symbol
from .graph_signature import ConstantArgument, InputKind, OutputKind, SymIntArgument

_NUMBER_OF = {
    table_name: {name: number for number, name in table.items()}
    for table_name, table in (("dtype", _DTYPE_NAMES), ("layout", _LAYOUT_NAMES),
                              ("memory_format", _MEMORY_FORMAT_NAMES))
}
_SYM_OPS = {"add", "sub", "mul", "floordiv", "truediv", "mod", "pow", "eq", "ne", "lt", "le",
            "gt", "ge", "neg"}
_SYM_FUNCTIONS = {"sym_max", "sym_min", "sym_sum", "sym_not", "sym_int", "sym_float",
                  "sym_ite", "sym_sqrt"}


def _hint(value):
    """The example value of a size computed in the graph (a node's SymInt, or the
    target applied to its inputs' example values)."""
    if not hasattr(value, "meta"):
        return [_hint(v) for v in value] if isinstance(value, (list, tuple)) else value
    meta = value.meta.get("val")
    if isinstance(meta, Symbol):
        return int(meta.hint)
    if isinstance(meta, (int, float)):
        return meta
    return value.target(*[_hint(a) for a in value.args])


def _unsupported(node, why: str) -> RuntimeError:
    return RuntimeError(f"ember.export.save: node {node.name} calls {_target_name(node)}, "
                        f"{why}; the program cannot be written to a .pt2 file")


def _target_name(node) -> str:
    target = node.target
    if isinstance(target, ember.ops.OpOverload):
        return f"torch.ops.{target.namespace}.{target._opname}.{target._overloadname}"
    return getattr(target, "__qualname__", None) or repr(target)


def write_float(value: float):
    """Non-finite floats as torch writes them (``"-Infinity"``); JSON has no literal."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def dtype_number(dtype) -> int:
    return _NUMBER_OF["dtype"][str(dtype).replace("torch.", "")]


def _enum_number(kind: str, value) -> int:
    return _NUMBER_OF[kind][str(value).replace("torch.", "")]


def _expr(product: list) -> str:
    """A product of symbols (and an int factor) in sympy's ``srepr`` form."""
    factor = math.prod(p for p in product if isinstance(p, int))
    symbols = [f"Symbol('{p.name}', positive=True, integer=True)" for p in product
               if isinstance(p, Symbol)]
    if factor == 1 and len(symbols) == 1:
        return symbols[0]
    terms = ([f"Integer({factor})"] if factor != 1 else []) + symbols
    return f"Mul({', '.join(terms)})"


def sym_int(value) -> dict:
    if isinstance(value, Symbol):
        return {"as_expr": {"expr_str": _expr([value]), "hint": {"as_int": int(value.hint)}}}
    return {"as_int": int(value)}


def tensor_meta(shape, dtype, device=None, requires_grad: bool = False) -> dict:
    """``schema.TensorMeta`` of a contiguous tensor (symbols allowed in ``shape``)."""
    strides, running = [], []
    for size in reversed(tuple(shape)):
        if any(isinstance(p, Symbol) for p in running):
            hint = math.prod(int(p.hint) if isinstance(p, Symbol) else p for p in running)
            strides.append({"as_expr": {"expr_str": _expr(running), "hint": {"as_int": hint}}})
        else:
            strides.append({"as_int": math.prod(running)})
        running = [size, *running]
    device = ember.device(device or "cpu")
    return {"dtype": dtype_number(dtype), "sizes": [sym_int(s) for s in shape],
            "requires_grad": bool(requires_grad),
            "device": {"type": device.type, "index": device.index},
            "strides": list(reversed(strides)), "storage_offset": {"as_int": 0}, "layout": 7}


class _Writer:
    def __init__(self, program) -> None:
        self.program = program
        self.tensor_values: dict = {}
        self.sym_int_values: dict = {}
        self.lifted: list = []  # (placeholder name, constant name, tensor)
        self.ran = None  # node -> value on the example inputs, when a meta is missing
        self.getitems: dict = {}  # producer node -> {index: getitem node}
        for node in program.graph.nodes:
            if node.op == "call_function" and node.target is operator.getitem and \
                    isinstance(node.args[0], type(node)) and isinstance(node.args[1], int):
                self.getitems.setdefault(node.args[0], {})[node.args[1]] = node

    def value_of(self, node, name: str | None = None) -> dict:
        """Record ``node``'s value metadata and return its output Argument."""
        name = name or node.name
        meta = self.meta_of(node)
        if not hasattr(meta, "dtype"):
            if isinstance(meta, (int, Symbol)) and not isinstance(meta, bool):
                self.sym_int_values[name] = sym_int(meta)
                return {"as_sym_int": {"as_name": name}}
            raise _unsupported(node, "a value without tensor metadata")
        self.tensor_values[name] = tensor_meta(meta.shape, meta.dtype, meta.device,
                                               getattr(meta, "requires_grad", False))
        return {"as_tensor": {"name": name}}

    def sym_output(self, node) -> dict:
        """A size computed in the graph: its example value as metadata (the graph
        recomputes it at run time)."""
        meta = node.meta.get("val")
        value = meta if isinstance(meta, Symbol) else _hint(node)
        self.sym_int_values[node.name] = sym_int(value)
        return {"as_sym_int": {"as_name": node.name}}

    def lift(self, node) -> dict:
        """``torch.tensor(data)`` in the graph: a lifted constant read through
        ``lift_fresh_copy``, as PyTorch's export records it."""
        taken = set(self.program.constants) | {c for _, c, _ in self.lifted}
        index = 0
        while f"lifted_tensor_{index}" in taken:
            index += 1
        constant = f"lifted_tensor_{index}"
        value = node.target._call(*node.args, **node.kwargs)
        placeholder = f"c_{constant}"
        self.lifted.append((placeholder, constant, value))
        self.tensor_values[placeholder] = tensor_meta(tuple(value.shape), value.dtype,
                                                      value.device)
        inputs = [{"name": "self", "arg": {"as_tensor": {"name": placeholder}}, "kind": 1}]
        return self._entry(node, "torch.ops.aten.lift_fresh_copy.default", inputs,
                           [self.value_of(node)])

    # -- arguments ---------------------------------------------------------------------

    def argument(self, value, type_text: str | None, node) -> dict:
        base = (type_text or "").rstrip("?")
        if value is None:
            return {"as_none": True}
        if base.endswith("]") and not base.startswith("Tensor") and \
                not isinstance(value, (list, tuple)):
            value = [value]  # int[1] shifts=1 is [1]
        if isinstance(value, type(node)):
            if self.kind_of(value) != "tensor":
                return {"as_sym_int": {"as_name": value.name}}
            return {"as_tensor": {"name": value.name}}
        if base.startswith("Tensor?[") or base == "Tensor?[]":
            return {"as_optional_tensors": [
                {"as_none": True} if v is None else {"as_tensor": {"name": v.name}}
                for v in value]}
        if isinstance(value, (list, tuple)):
            items = list(value)
            if any(isinstance(v, type(node)) for v in items):
                if base.startswith("Tensor"):
                    return {"as_tensors": [{"name": v.name} for v in items]}
                return {"as_sym_ints": [{"as_name": v.name} if isinstance(v, type(node))
                                        else {"as_int": int(v)} for v in items]}
            if all(isinstance(v, bool) for v in items) and items and "bool" in base:
                return {"as_bools": items}
            if base.startswith("float") or any(isinstance(v, float) for v in items):
                return {"as_floats": [write_float(v) for v in items]}
            if all(isinstance(v, str) for v in items) and items:
                return {"as_strings": items}
            return {"as_ints": [int(v) for v in items]}
        if isinstance(value, ember.dtype):
            return {"as_scalar_type": dtype_number(value)}
        if isinstance(value, ember.device):
            return {"as_device": {"type": value.type, "index": value.index}}
        if base == "Layout" or value is ember.strided:
            return {"as_layout": _enum_number("layout", value)}
        if base == "MemoryFormat":
            return {"as_memory_format": _enum_number("memory_format", value)}
        if isinstance(value, bool):
            return {"as_bool": value}
        if isinstance(value, int):
            return {"as_float": float(value)} if base == "float" else {"as_int": int(value)}
        if isinstance(value, float):
            return {"as_float": write_float(value)}
        if isinstance(value, complex):
            return {"as_complex": {"real": value.real, "imag": value.imag}}
        if isinstance(value, str):
            return {"as_string": value}
        raise _unsupported(node, f"an argument of type {type(value).__name__}")

    # -- nodes -------------------------------------------------------------------------

    def node(self, node) -> dict | None:
        if node.target is operator.getitem and node in self.getitems.get(node.args[0], {}).values():
            return None  # folded into its producer's outputs
        target = node.target
        name = getattr(target, "__name__", "")
        module = getattr(target, "__module__", None)
        if module in ("_operator", "operator") and name in _SYM_OPS:
            inputs = [{"name": key, "arg": self.argument(arg, "SymInt", node), "kind": 1}
                      for key, arg in zip("ab", node.args)]
            return self._entry(node, f"_operator.{name}", inputs, [self.sym_output(node)])
        if module == "ember._sym_ops" and name in _SYM_FUNCTIONS:
            if name == "sym_sum":  # torch.sym_sum(args): one list
                values = node.args[0] if len(node.args) == 1 else list(node.args)
                inputs = [{"name": "args", "arg": self.argument(list(values), "SymInt[]", node),
                           "kind": 1}]
            else:
                keys = list(inspect.signature(target).parameters)
                inputs = [{"name": key, "arg": self.argument(arg, "SymInt", node), "kind": 1}
                          for key, arg in zip(keys, node.args)]
            return self._entry(node, f"torch.{name}", inputs, [self.sym_output(node)])
        args, kwargs = tuple(node.args), dict(node.kwargs)
        if target is operator.getitem and self.kind_of(args[0]) == "tensor":
            # x[mask] / x[index_tensor]: ATen's advanced indexing
            items = args[1] if isinstance(args[1], (tuple, list)) else (args[1],)
            if not all(self.kind_of(i) == "tensor" for i in items):
                raise _unsupported(node, "(indexing mixing tensors with slices or None)")
            op_name, overload, args, kwargs = "index", "Tensor", (args[0], list(items)), {}
        elif isinstance(target, ember.ops.OpOverload) and target.namespace == "aten":
            op_name, overload = target._opname, target._overloadname
        else:
            raise _unsupported(node, "which is not an ATen operator")
        if op_name == "tensor" and not _holds_nodes((args, kwargs)):
            return self.lift(node)
        op_name = _ATEN_NAMES.get(op_name, op_name)
        if op_name in _LOSSES:
            args, kwargs = _aten_loss_form(op_name, args, kwargs)
        candidates = overloads_of(op_name, overload)
        if op_name == "multi_head_attention_forward":
            raise _unsupported(node, "which torch records as its ATen parts; ember lowers "
                               "it so only without bias_k/bias_v, zero attention, key "
                               "padding masks, separate projections or used attention "
                               "weights (ember/export/_pt2_lower.py)")
        if not candidates:
            raise _unsupported(node, "which has no ATen schema (none in ember's list, "
                               "ember/export/_pt2_schemas.py, nor in PyTorch's when "
                               "installed)")
        forms = [args]  # and the forms where ember packed a ``*args`` signature:
        if args and isinstance(args[0], list) and all(self.kind_of(a) for a in args[0]):
            forms.append((*args[0], *args[1:]))  # outer([a, b])
        if len(args) > 1 and isinstance(args[-1], list):
            forms.append((*args[:-1], *args[-1]))  # masked_fill_(x, [mask, value])
        recorded = f"{op_name}.{overload}"
        for schema, form in ((s, f) for f in forms for s in candidates):
            # the recorded overload keeps its name when it takes the call as torch would
            bound = bind(schema, form, kwargs, self.kind_of, schema.name == recorded)
            if bound is not None:
                break
        else:
            raise _unsupported(node, "with arguments that fit none of its ATen schemas")
        inputs = [{"name": arg.name, "arg": self.argument(value, arg.type, node), "kind": kind}
                  for arg, value, kind in bound]  # defaults are left out, as torch's are
        return self._entry(node, f"torch.ops.aten.{schema.name}", inputs,
                           self.outputs(node, schema))

    def kind_of(self, value) -> str | None:
        """"tensor" / "sym" for a graph node (by its value), None for a plain value."""
        if not (hasattr(value, "op") and hasattr(value, "meta")):
            return None
        return "tensor" if hasattr(self.meta_of(value), "dtype") else "sym"

    def meta_of(self, node):
        """A node's value metadata; for a node the trace left without it, its value on
        the program's example inputs (one run of the graph, made on first need)."""
        meta = node.meta.get("val")
        if meta is not None or node.op != "call_function":
            return meta
        if self.ran is None:
            self.ran = run_for_metadata(self.program)
        value = self.ran.get(node)
        if isinstance(value, ember.Tensor):
            return TensorMeta(tuple(value.shape), value.dtype, value.device)
        return None

    def _entry(self, node, target: str, inputs: list, outputs: list) -> dict:
        metadata = {}
        if node.meta.get("stack_trace"):
            metadata["stack_trace"] = node.meta["stack_trace"]
        if node.meta.get("nn_module_stack"):  # for torch.export.unflatten
            metadata["nn_module_stack"] = ";".join(
                f"{key},{path},{type_name}"
                for key, (path, type_name) in node.meta["nn_module_stack"].items())
        return {"target": target, "inputs": inputs, "outputs": outputs, "metadata": metadata,
                "is_hop_single_tensor_return": None, "name": node.name}

    def outputs(self, node, schema) -> list:
        returns = schema.returns
        if not returns or returns == ("",):
            return []
        if len(returns) == 1 and returns[0] == "Tensor[]":
            users = self.getitems.get(node, {})
            count = max(users) + 1 if users else 0
            if set(users) != set(range(count)):
                raise _unsupported(node, "with an unused result between used ones")
            return [{"as_tensors": [self.value_of(users[i])["as_tensor"]
                                    for i in range(count)]}]
        if len(returns) == 1:
            return [self.value_of(node)]
        users = self.getitems.get(node, {})
        return [self.value_of(users[i]) if i in users else {"as_none": True}
                for i in range(len(returns))]

    # -- program -----------------------------------------------------------------------

    def graph(self) -> dict:
        inputs, nodes, outputs = [], [], []
        for node in self.program.graph.nodes:
            if node.op == "placeholder":
                meta = node.meta.get("val")
                if meta is None or isinstance(meta, (bool, int, float, str)):
                    inputs.append(_constant(meta))
                else:
                    inputs.append(self.value_of(node))
            elif node.op == "call_function":
                entry = self.node(node)
                if entry is not None:
                    nodes.append(entry)
            elif node.op == "output":
                for value in node.args[0]:
                    outputs.append(self.argument(value, None, node)
                                   if isinstance(value, type(node)) else _constant(value))
            else:
                raise _unsupported(node, f"a {node.op} node")
        users = [s.arg.name for s in self.program.graph_signature.input_specs
                 if s.kind == InputKind.USER_INPUT]
        first_user = next((i for i, item in enumerate(inputs)
                           if item.get("as_tensor", {}).get("name") in users), len(inputs))
        inputs[first_user:first_user] = [{"as_tensor": {"name": name}}
                                         for name, _, _ in self.lifted]
        return {"inputs": inputs, "outputs": outputs, "nodes": nodes,
                "tensor_values": self.tensor_values, "sym_int_values": self.sym_int_values,
                "sym_bool_values": {}, "is_single_tensor_return": False,
                "custom_obj_values": {}, "sym_float_values": {}}


# ops ember's export names after the Python function, whose ATen op is named otherwise
_ATEN_NAMES = {"cross_entropy": "cross_entropy_loss", "vector_norm": "linalg_vector_norm",
               "matrix_norm": "linalg_matrix_norm"}


def _aten_loss_form(name: str, args: tuple, kwargs: dict) -> tuple:
    """A loss ember recorded with ``F.<loss>``'s argument list, as ATen's op takes it
    (reduction as an int, legacy ``size_average`` / ``reduce`` folded in)."""
    import ember.nn.functional as F

    function_name, names = _LOSSES[name]
    if _aten_loss_arguments(args[2:], kwargs, names) is not None:
        return args, kwargs
    try:
        bound = inspect.signature(getattr(F, function_name)).bind(*args, **kwargs)
    except TypeError:
        return args, kwargs
    bound.apply_defaults()
    values = dict(bound.arguments)
    reduction = values.get("reduction", "mean")
    size_average, reduce = values.get("size_average"), values.get("reduce")
    if size_average is not None or reduce is not None:  # as the loss itself resolves them
        reduction = _legacy_reduction(size_average, reduce, emit_warning=False)
    if values.get("weight") is not None and "weight" not in names:
        return args, kwargs  # ember's extension: no ATen form
    values["reduction"] = _REDUCTION_NAMES.index(reduction)
    first, second = list(values)[:2]
    aten_args = (values[first], values[second], *(values[n] for n in names if n in values))
    extra = {"log_target": True} if values.get("log_target") else {}
    return aten_args, extra


def _holds_nodes(value) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_holds_nodes(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_nodes(v) for v in value.values())
    return hasattr(value, "op") and hasattr(value, "meta")


def _constant(value) -> dict:
    if value is None:
        return {"as_none": True}
    if isinstance(value, bool):
        return {"as_bool": value}
    if isinstance(value, int):
        return {"as_int": value}
    if isinstance(value, float):
        return {"as_float": write_float(value)}
    if isinstance(value, str):
        return {"as_string": value}
    raise RuntimeError(f"ember.export.save: a constant of type {type(value).__name__} "
                       "cannot be written to a .pt2 file")


def _spec_argument(arg) -> dict:
    if isinstance(arg, ConstantArgument):
        return _constant(arg.value)
    if isinstance(arg, SymIntArgument):
        return {"as_sym_int": {"as_name": arg.name}}
    return {"as_tensor": {"name": arg.name}}


def _signature(signature, lifted: list) -> dict:
    inputs = []
    for spec in signature.input_specs:
        arg = {"name": spec.arg.name}
        if spec.kind == InputKind.USER_INPUT and isinstance(spec.arg, ConstantArgument) and \
                spec.arg.name:  # a named int / bool / str argument, specialized
            inputs.append({"constant_input": {"name": spec.arg.name,
                                              "value": _constant(spec.arg.value)}})
        elif spec.kind == InputKind.USER_INPUT:
            inputs.append({"user_input": {"arg": _spec_argument(spec.arg)}})
        elif spec.kind == InputKind.PARAMETER:
            inputs.append({"parameter": {"arg": arg, "parameter_name": spec.target}})
        elif spec.kind == InputKind.BUFFER:
            inputs.append({"buffer": {"arg": arg, "buffer_name": spec.target,
                                      "persistent": bool(spec.persistent)}})
        elif spec.kind == InputKind.CONSTANT_TENSOR:
            inputs.append({"tensor_constant": {"arg": arg, "tensor_constant_name": spec.target}})
        else:
            raise RuntimeError(f"ember.export.save: input kind {spec.kind.name} cannot be "
                               "written to a .pt2 file")
    first_user = next((i for i, item in enumerate(inputs) if "user_input" in item),
                      len(inputs))
    inputs[first_user:first_user] = [
        {"tensor_constant": {"arg": {"name": name}, "tensor_constant_name": constant}}
        for name, constant, _ in lifted]
    fields = {OutputKind.BUFFER_MUTATION: ("buffer_mutation", "buffer_name"),
              OutputKind.PARAMETER_MUTATION: ("parameter_mutation", "parameter_name"),
              OutputKind.GRADIENT_TO_PARAMETER: ("gradient_to_parameter", "parameter_name"),
              OutputKind.GRADIENT_TO_USER_INPUT: ("gradient_to_user_input",
                                                  "user_input_name"),
              OutputKind.USER_INPUT_MUTATION: ("user_input_mutation", "user_input_name")}
    outputs = []
    for spec in signature.output_specs:
        if spec.kind == OutputKind.USER_OUTPUT:
            outputs.append({"user_output": {"arg": _spec_argument(spec.arg)}})
        elif spec.kind == OutputKind.LOSS_OUTPUT:
            outputs.append({"loss_output": {"arg": {"name": spec.arg.name}}})
        elif spec.kind in fields:
            key, target_field = fields[spec.kind]
            outputs.append({key: {"arg": {"name": spec.arg.name}, target_field: spec.target}})
        else:
            raise RuntimeError(f"ember.export.save: output kind {spec.kind.name} cannot be "
                               "written to a .pt2 file")
    return {"input_specs": inputs, "output_specs": outputs}


def _forward_arg_names(program) -> list | None:
    """The forward's argument names, when every top-level input is one tensor (the
    placeholder then carries the name); None otherwise (torch then uses generic names)."""
    args_spec, kwargs_spec = program._in_spec.children()
    if any(child.num_children for child in args_spec.children()):
        return None
    users = [s.arg.name for s in program.graph_signature.input_specs
             if s.kind == InputKind.USER_INPUT]
    return users[:args_spec.num_children] + list(kwargs_spec.context or [])


def program_json(program) -> tuple[bytes, dict]:
    """``models/<name>.json``: the program in torch's schema, as UTF-8 JSON; and the
    constants the writing lifted out of the graph (``torch.tensor`` calls)."""
    writer = _Writer(program)
    graph = writer.graph()
    ranges = {}
    for symbol, bounds in program.range_constraints.items():
        low, high = bounds.lower, bounds.upper
        ranges[symbol.name] = {"min_val": None if low == -math.inf else int(low),
                               "max_val": None if high == math.inf else int(high)}
    document = {
        "graph_module": {
            "graph": graph,
            "signature": _signature(program.graph_signature, writer.lifted),
            "module_call_graph": [{"fqn": "", "signature": {
                "inputs": [], "outputs": [], "in_spec": treespec_dumps(program._in_spec),
                "out_spec": treespec_dumps(program._out_spec),
                "forward_arg_names": _forward_arg_names(program)}}],
            "metadata": {}, "treespec_namedtuple_fields": {},
        },
        "opset_version": {"aten": 10},
        "range_constraints": ranges,
        "schema_version": {"major": SCHEMA_MAJOR, "minor": 20},
        "verifiers": ["TRAINING"],
        "torch_version": "2.13.0",
        "guards_code": [],
    }
    lifted = {constant: value for _, constant, value in writer.lifted}
    return json.dumps(document, allow_nan=False).encode(), lifted
