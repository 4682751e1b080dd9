"""Reading PyTorch's ``.pt2`` programs (``torch.export.save``) into ember.

The program is ``models/<name>.json`` in torch's serialization schema
(``torch/_export/serde/schema.py``): a graph whose nodes name their ATen target
(``torch.ops.aten.linear.default``) and their arguments (``{"name": "input", "arg":
{"as_tensor": {"name": "x"}}, "kind": 1}``), tensor metadata per value name, the graph
signature, pytree specs of the inputs and outputs, and the symbols' value ranges. The
weights and constants are raw bytes (``data/weights/weight_0``) described by a JSON
config, so no pickle is needed for them. This module turns all of that into ember's
``ExportedProgram`` whose nodes call ``ember.ops.aten`` operators, so ``ep.module()``
runs on ember as torch's runs on torch.

Every value is self-describing in the file (argument names and kinds included), so
reading needs no ATen schema. A node whose target ember does not implement is refused
at load time, naming the op. Symbolic sizes are kept when they are a single symbol
(``s77``); a compound expression (``2*s77``) in a tensor's metadata is read as its
example value (metadata only: the graph computes real sizes at run time).
"""

from __future__ import annotations

import io
import json
import math
import operator
import re

import ember
from ember.fx import Graph, GraphModule
from ember.nn import Module
from ember.utils._pytree import treespec_loads

from . import pt2_archive as _archive
from ._trace import TensorMeta
from .dynamic_shapes import RangeConstraint, Symbol
from .exported_program import ExportedProgram
from .graph_signature import (
    ConstantArgument,
    ExportGraphSignature,
    InputKind,
    InputSpec,
    OutputKind,
    OutputSpec,
    SymIntArgument,
    TensorArgument,
)

SCHEMA_MAJOR = 8  # torch 2.13 writes schema version 8.x and refuses other majors

# schema.ScalarType / Layout / MemoryFormat numbers
_DTYPE_NAMES = {
    1: "uint8", 2: "int8", 3: "int16", 4: "int32", 5: "int64", 6: "float16", 7: "float32",
    8: "float64", 9: "complex32", 10: "complex64", 11: "complex128", 12: "bool",
    13: "bfloat16", 28: "uint16", 29: "float8_e4m3fn", 30: "float8_e5m2",
    31: "float8_e4m3fnuz", 32: "float8_e5m2fnuz", 33: "float8_e8m0fnu", 34: "uint32",
    35: "uint64",
}
_LAYOUT_NAMES = {1: "sparse_coo", 2: "sparse_csr", 3: "sparse_csc", 4: "sparse_bsr",
                 5: "sparse_bsc", 6: "_mkldnn", 7: "strided"}
_MEMORY_FORMAT_NAMES = {1: "contiguous_format", 2: "channels_last", 3: "channels_last_3d",
                        4: "preserve_format"}


def _enum_value(table: dict, number: int, what: str):
    name = table.get(number)
    value = getattr(ember, name, None) if name else None
    if value is None:
        raise RuntimeError(f"ember.export.load: {what} number {number} of the .pt2 file is "
                           "not supported by ember")
    return value


def dtype_of(number: int):
    return _enum_value(_DTYPE_NAMES, number, "ScalarType")


_NON_FINITE = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}


def read_float(value):
    """torch writes non-finite floats as the strings ``Infinity`` / ``-Infinity`` /
    ``NaN`` (JSON has no literal for them)."""
    return _NON_FINITE[value] if isinstance(value, str) else value


def _single(union: dict) -> tuple:
    """(field, value) of a serialized union (a dict holding one key)."""
    ((key, value),) = union.items()
    return key, value


_SYMBOL = re.compile(r"^Symbol\('([A-Za-z_]\w*)'[^()]*\)$")


class _Reader:
    """State of one program being read: the symbols and the value name -> node map."""

    def __init__(self, program: dict) -> None:
        self.program = program
        self.symbols: dict[str, Symbol] = {}
        self.nodes: dict = {}
        self.graph = Graph()
        graph = program["graph_module"]["graph"]
        self.tensor_values = graph.get("tensor_values", {})
        self.sym_values = {**graph.get("sym_int_values", {}),
                           **graph.get("sym_float_values", {}),
                           **graph.get("sym_bool_values", {})}

    # -- values ------------------------------------------------------------------------

    def sym(self, value: dict):
        """A serialized SymInt: an int, or the Symbol of a one-symbol expression."""
        kind, payload = _single(value)
        if kind != "as_expr":
            return read_float(payload)
        text = payload["expr_str"].strip()
        hint = payload.get("hint")
        hint = None if hint is None else _single(hint)[1]
        match = _SYMBOL.match(text)
        name = match.group(1) if match else text if text.isidentifier() else None
        if name is None:
            return hint  # a compound size: its example value (see module docstring)
        if name not in self.symbols:
            self.symbols[name] = Symbol(name, hint if hint is not None else 0)
        elif hint is not None and not self.symbols[name].hint:
            self.symbols[name].hint = hint
        return self.symbols[name]

    def meta(self, name: str):
        if name in self.tensor_values:
            meta = self.tensor_values[name]
            device = meta.get("device") or {"type": "cpu", "index": None}
            return TensorMeta(tuple(self.sym(s) for s in meta["sizes"]), dtype_of(meta["dtype"]),
                              ember.device(device["type"], device.get("index")),
                              bool(meta.get("requires_grad")))
        if name in self.sym_values:
            return self.sym(self.sym_values[name])
        return None

    def bind(self, name: str, node) -> None:
        node.name = name
        value = node.meta["val"] = self.meta(name)
        if isinstance(value, TensorMeta):
            node.meta["tensor_meta"] = value
        elif value is not None:
            node.meta["sym_expr"] = str(value)  # prints as ``Sym(s77)``
        self.nodes[name] = node

    def argument(self, arg: dict):
        """A node input (``schema.Argument``) as the Python value or fx node it stands for."""
        kind, value = _single(arg)
        if kind == "as_none":
            return None
        if kind == "as_tensor":
            return self.nodes[value["name"]]
        if kind == "as_tensors":
            return [self.nodes[v["name"]] for v in value]
        if kind in ("as_sym_int", "as_sym_float", "as_sym_bool") and "as_float" in value:
            return read_float(value["as_float"])
        if kind in ("as_sym_int", "as_sym_float", "as_sym_bool"):
            return self._sym_arg(value)
        if kind in ("as_sym_ints", "as_sym_floats", "as_sym_bools"):
            return [self._sym_arg(v) for v in value]
        if kind == "as_float":
            return read_float(value)
        if kind == "as_floats":
            return [read_float(v) for v in value]
        if kind == "as_float_lists":
            return [[read_float(v) for v in row] for row in value]
        if kind in ("as_int", "as_bool", "as_string", "as_ints", "as_bools", "as_strings",
                    "as_int_lists"):
            return value
        if kind == "as_scalar_type":
            return dtype_of(value)
        if kind == "as_layout":
            return _enum_value(_LAYOUT_NAMES, value, "Layout")
        if kind == "as_memory_format":
            return _enum_value(_MEMORY_FORMAT_NAMES, value, "MemoryFormat")
        if kind == "as_device":
            return ember.device(value["type"], value.get("index"))
        if kind == "as_optional_tensor":
            return self.argument(value)
        if kind == "as_optional_tensors":
            return [self.argument(v) for v in value]
        if kind == "as_complex":
            return complex(value["real"], value["imag"])
        if kind == "as_string_to_argument":
            return {key: self.argument(v) for key, v in value.items()}
        raise RuntimeError(f"ember.export.load: arguments of kind {kind!r} (graphs, script "
                           "objects, operators) are not supported by ember")

    def _sym_arg(self, value: dict):
        kind, payload = _single(value)
        return self.nodes[payload] if kind == "as_name" else payload

    # -- graph -------------------------------------------------------------------------

    def read_graph(self, signature: ExportGraphSignature) -> Graph:
        serialized = self.program["graph_module"]["graph"]
        for index, item in enumerate(serialized["inputs"]):
            kind, value = _single(item)
            if kind == "as_tensor":
                self.bind(value["name"], self.graph.placeholder(value["name"]))
            elif kind == "as_sym_int" and "as_name" in value:
                self.bind(value["as_name"], self.graph.placeholder(value["as_name"]))
            elif kind in ("as_int", "as_float", "as_bool", "as_none", "as_string"):
                name = signature.input_specs[index].arg.name or f"arg{index}"
                node = self.graph.placeholder(name)
                node.meta["val"] = value if kind != "as_none" else None
            else:
                raise RuntimeError(f"ember.export.load: graph input of kind {kind!r} is not "
                                   "supported by ember")
        for serialized_node in serialized["nodes"]:
            self.read_node(serialized_node)
        outputs = tuple(self.argument(out) for out in serialized["outputs"])
        self.graph.output(outputs)
        return self.graph

    def read_node(self, serialized: dict) -> None:
        target = resolve_target(serialized["target"], serialized.get("name"))
        args, kwargs = [], {}
        for named in serialized["inputs"]:
            value = self.argument(named["arg"])
            if named.get("kind") == 2:
                kwargs[named["name"]] = value
            else:
                args.append(value)
        kwargs = _without_inert_keywords(kwargs)
        outputs = serialized["outputs"]
        name = serialized.get("name") or None
        single = len(outputs) == 1 and next(iter(outputs[0])) in (
            "as_tensor", "as_sym_int", "as_sym_float", "as_sym_bool")
        node = self.graph.create_node("call_function", target, tuple(args), kwargs,
                                      name=name)
        node.meta.update(_metadata(serialized.get("metadata", {})))
        if single:
            kind, value = _single(outputs[0])
            self.bind(value["name"] if kind == "as_tensor" else value["as_name"], node)
            return
        if len(outputs) == 1 and next(iter(outputs[0])) == "as_tensors":
            self._getitems(node, _single(outputs[0])[1])
        elif len(outputs) > 1:
            self._getitems(node, outputs)

    def _getitems(self, node, items: list) -> None:
        """Multiple results: one ``getitem`` node per used result, named as in the file."""
        for index, item in enumerate(items):
            kind, value = ("as_tensor", item) if "name" in item else _single(item)
            if kind == "as_none":
                continue
            getter = self.graph.create_node("call_function", operator.getitem, (node, index))
            if kind == "as_tensor":
                self.bind(value["name"], getter)
            elif kind in ("as_sym_int", "as_sym_float"):
                self.bind(value["as_name"], getter)
            elif kind == "as_tensors":
                self._getitems(getter, value)


def _inert(key: str, value) -> bool:
    """Keywords that ask for nothing beyond ember's default behaviour (CPU tensors are
    never pinned here, every ember tensor is strided)."""
    if key == "pin_memory":
        return not value
    if key == "layout":
        return value is None or value is ember.strided
    return False


def _without_inert_keywords(kwargs: dict) -> dict:
    """ATen's factory keywords (``pin_memory=False``, ``layout=torch.strided``) dropped:
    ember's functions do not all take them, and they change nothing."""
    return {k: v for k, v in kwargs.items() if not _inert(k, v)}


def _metadata(metadata: dict) -> dict:
    """The node metadata ember uses: the stack trace, and ``nn_module_stack`` (which
    submodule call a node came from, for ``unflatten``), written by torch as
    ``key,path,type`` entries joined by ``;``."""
    meta = {}
    if metadata.get("stack_trace"):
        meta["stack_trace"] = metadata["stack_trace"]
    if metadata.get("nn_module_stack"):
        stack = {}
        for entry in metadata["nn_module_stack"].split(";"):
            key, _, rest = entry.partition(",")
            path, _, type_name = rest.rpartition(",")  # a path may hold commas, a type not
            stack[key] = (path, type_name)
        meta["nn_module_stack"] = stack
    return meta


def resolve_target(target: str, node_name: str | None = None):
    """The ember callable of a serialized target: ``torch.ops.aten.<op>.<overload>`` is
    ``ember.ops.aten.<op>.<overload>``; ``_operator.<fn>`` (size arithmetic) is Python's.
    Anything else (higher-order ops, custom namespaces ember lacks) is refused."""
    if target.startswith("_operator."):
        fn = getattr(operator, target.split(".", 1)[1], None)
        if fn is not None:
            return fn
    if target in ("math.sqrt", "math.floor", "math.ceil", "math.trunc"):
        return getattr(math, target.split(".")[1])
    if target.startswith("torch.sym_") and callable(getattr(ember, target[6:], None)):
        return getattr(ember, target[6:])  # torch.sym_max, torch.sym_sum, ...
    parts = target.split(".")
    if len(parts) == 5 and parts[:3] == ["torch", "ops", "aten"]:
        from ._pt2_ops import aten_op

        op = aten_op(parts[3], parts[4])
        if op is not None:
            return op
    where = f" (node {node_name})" if node_name else ""
    raise RuntimeError(f"ember.export.load: the program calls {target}{where}, which ember "
                       "does not implement; it cannot be loaded")


# -- signature ----------------------------------------------------------------------------

def _spec_argument(arg: dict):
    kind, value = _single(arg)
    if kind == "as_tensor":
        return TensorArgument(value["name"])
    if kind == "as_sym_int":
        return SymIntArgument(value["as_name"])
    if kind in ("as_int", "as_float", "as_bool", "as_string", "as_none"):
        return ConstantArgument("", None if kind == "as_none" else value)
    raise RuntimeError(f"ember.export.load: signature argument {kind!r} is not supported")


def read_signature(signature: dict) -> ExportGraphSignature:
    inputs = []
    for spec in signature["input_specs"]:
        kind, value = _single(spec)
        if kind == "user_input":
            inputs.append(InputSpec(InputKind.USER_INPUT, _spec_argument(value["arg"]), None))
        elif kind == "parameter":
            inputs.append(InputSpec(InputKind.PARAMETER, TensorArgument(value["arg"]["name"]),
                                    value["parameter_name"]))
        elif kind == "buffer":
            inputs.append(InputSpec(InputKind.BUFFER, TensorArgument(value["arg"]["name"]),
                                    value["buffer_name"], persistent=value["persistent"]))
        elif kind == "tensor_constant":
            inputs.append(InputSpec(InputKind.CONSTANT_TENSOR,
                                    TensorArgument(value["arg"]["name"]),
                                    value["tensor_constant_name"]))
        elif kind == "constant_input":
            constant = _single(value["value"])
            inputs.append(InputSpec(InputKind.USER_INPUT, ConstantArgument(
                value["name"], None if constant[0] == "as_none" else constant[1]), None))
        else:
            raise RuntimeError(f"ember.export.load: input spec {kind!r} (script objects, "
                               "effect tokens) is not supported by ember")
    targets = {"buffer_mutation": ("buffer_name", OutputKind.BUFFER_MUTATION),
               "parameter_mutation": ("parameter_name", OutputKind.PARAMETER_MUTATION),
               "gradient_to_parameter": ("parameter_name", OutputKind.GRADIENT_TO_PARAMETER),
               "gradient_to_user_input": ("user_input_name",
                                          OutputKind.GRADIENT_TO_USER_INPUT),
               "user_input_mutation": ("user_input_name", OutputKind.USER_INPUT_MUTATION)}
    outputs = []
    for spec in signature["output_specs"]:
        kind, value = _single(spec)
        if kind == "user_output":
            outputs.append(OutputSpec(OutputKind.USER_OUTPUT, _spec_argument(value["arg"]),
                                      None))
        elif kind == "loss_output":
            outputs.append(OutputSpec(OutputKind.LOSS_OUTPUT,
                                      TensorArgument(value["arg"]["name"]), None))
        elif kind in targets:
            field, output_kind = targets[kind]
            outputs.append(OutputSpec(output_kind, TensorArgument(value["arg"]["name"]),
                                      value[field]))
        else:
            raise RuntimeError(f"ember.export.load: output spec {kind!r} is not supported")
    return ExportGraphSignature(inputs, outputs)


# -- tensors ------------------------------------------------------------------------------

def read_payloads(archive, directory: str, config_name: str) -> dict:
    """The tensors of a weights / constants config: raw bytes viewed with their sizes,
    strides and offset (entries sharing a file share storage, as torch keeps them)."""
    legacy = f"{directory}{config_name.split('/')[-1].split('_')[0]}.pt"
    names = archive.get_file_names()
    if config_name not in names:
        if legacy in names:  # torch < 2.7 pickled the whole dict
            return ember.load(io.BytesIO(archive.read_bytes(legacy)), weights_only=False)
        return {}
    config = json.loads(archive.read_string(config_name))["config"]
    storages: dict = {}
    result = {}
    for fqn, payload in config.items():
        path = directory + payload["path_name"]
        if payload["use_pickle"]:
            if not payload["path_name"].startswith(("weight_", "tensor_")):
                raise RuntimeError(f"ember.export.load: constant {fqn!r} is a script/opaque "
                                   "object, which ember cannot load")
            result[fqn] = ember.load(io.BytesIO(archive.read_bytes(path)), weights_only=False)
            continue
        meta = payload["tensor_meta"]
        dtype = dtype_of(meta["dtype"])
        sizes = [_single(s)[1] for s in meta["sizes"]]
        if path not in storages:
            raw = archive.read_bytes(path)
            storages[path] = ember.frombuffer(bytearray(raw), dtype=dtype) if raw else None
        flat = storages[path]
        if flat is None:
            tensor = ember.zeros(sizes, dtype=dtype)
        else:
            strides = [_single(s)[1] for s in meta["strides"]]
            tensor = flat.as_strided(sizes, strides, _single(meta["storage_offset"])[1])
        device = meta.get("device") or {"type": "cpu"}
        if device["type"] != "cpu":
            tensor = tensor.to(ember.device(device["type"], device.get("index")))
        if payload["is_param"]:
            tensor = ember.nn.Parameter(tensor, requires_grad=meta["requires_grad"])
        result[fqn] = tensor
    return result


# -- the program --------------------------------------------------------------------------

def read_program(archive, model_name: str = "model") -> ExportedProgram:
    program = json.loads(archive.read_bytes(_archive.MODELS_FILENAME_FORMAT.format(model_name)))
    version = program.get("schema_version", {})
    if version.get("major") not in (SCHEMA_MAJOR, 0):
        raise RuntimeError(f"Serialized schema version {version} does not match our current "
                           f"schema version ({SCHEMA_MAJOR}, ...).")
    state_dict = read_payloads(archive, _archive.WEIGHTS_DIR,
                               _archive.WEIGHTS_CONFIG_FILENAME_FORMAT.format(model_name))
    constants = read_payloads(archive, _archive.CONSTANTS_DIR,
                              _archive.CONSTANTS_CONFIG_FILENAME_FORMAT.format(model_name))
    sample_path = _archive.SAMPLE_INPUTS_FILENAME_FORMAT.format(model_name)
    example_inputs = None
    if sample_path in archive.get_file_names():
        raw = archive.read_bytes(sample_path)
        example_inputs = ember.load(io.BytesIO(raw), weights_only=False) if raw else None
    reader = _Reader(program)
    signature = read_signature(program["graph_module"]["signature"])
    graph = reader.read_graph(signature)
    ranges = {}
    for name, bounds in program.get("range_constraints", {}).items():
        symbol = reader.symbols.get(name)
        if symbol is None:
            continue  # PyTorch also drops ranges of symbols no value uses
        low = -math.inf if bounds.get("min_val") is None else bounds["min_val"]
        high = math.inf if bounds.get("max_val") is None else bounds["max_val"]
        symbol.dim_min, symbol.dim_max, symbol.dim_name = low, high, name
        ranges[symbol] = RangeConstraint(low, high)
    in_spec, out_spec = _call_specs(program)
    guards = _guards(signature, reader)
    return ExportedProgram(GraphModule(Module(), graph), signature, state_dict, ranges,
                           constants, in_spec, out_spec, guards, example_inputs)


def _call_specs(program: dict) -> tuple:
    for entry in program["graph_module"].get("module_call_graph", []):
        if entry["fqn"] == "" and entry.get("signature"):
            return (treespec_loads(entry["signature"]["in_spec"]),
                    treespec_loads(entry["signature"]["out_spec"]))
    raise RuntimeError("ember.export.load: the program has no root module call signature "
                       "(its input and output structure)")


def _guards(signature: ExportGraphSignature, reader: _Reader) -> list:
    """ember's input guards: per user tensor input, its shape (ints and symbols) and each
    symbol's bounds, checked when ``module()`` is called (PyTorch's ``_guards_fn``)."""
    guards = []
    users = [s for s in signature.input_specs if s.kind == InputKind.USER_INPUT]
    for index, spec in enumerate(users):
        if not isinstance(spec.arg, TensorArgument):
            continue
        meta = reader.nodes[spec.arg.name].meta["val"]
        ranges = {d: (getattr(s, "dim_min", 0), getattr(s, "dim_max", math.inf))
                  for d, s in enumerate(meta.shape) if isinstance(s, Symbol)}
        guards.append((index, spec.arg.name, meta.shape, ranges))
    return guards
