"""``torch.export.ExportedProgram``: a traced graph whose placeholders are the model's
parameters, buffers, lifted constants and the user's inputs (in that order), plus what it
needs to run: the state dict, the input/output pytree specs and the shape guards."""

from __future__ import annotations

import copy
import math

import ember
from ember.fx import Graph, GraphModule
from ember.nn import Module
from ember.utils._pytree import tree_flatten, tree_unflatten

from .graph_signature import ExportGraphSignature, InputKind, OutputKind

__all__ = ["ExportedProgram"]


class ExportedProgram:
    """The result of ``ember.export.export``; ``module()`` gives a runnable module."""

    def __init__(self, graph_module: GraphModule, graph_signature: ExportGraphSignature,
                 state_dict: dict, range_constraints: dict, constants: dict,
                 in_spec, out_spec, input_guards: list, example_inputs=None) -> None:
        self._graph_module = graph_module
        self._graph_signature = graph_signature
        self._state_dict = state_dict
        self._range_constraints = range_constraints
        self._constants = constants
        self._in_spec, self._out_spec = in_spec, out_spec
        self._input_guards = input_guards
        self._example_inputs = example_inputs

    # -- PyTorch's read-only views ---------------------------------------------------------

    @property
    def graph_module(self) -> GraphModule:
        return self._graph_module

    @property
    def graph(self) -> Graph:
        return self._graph_module.graph

    @property
    def graph_signature(self) -> ExportGraphSignature:
        return self._graph_signature

    @property
    def state_dict(self) -> dict:
        return self._state_dict

    @property
    def constants(self) -> dict:
        return self._constants

    @property
    def tensor_constants(self) -> dict:
        return self._constants

    @property
    def range_constraints(self) -> dict:
        return self._range_constraints

    @property
    def example_inputs(self):
        return self._example_inputs

    @property
    def call_spec(self):
        from collections import namedtuple

        return namedtuple("CallSpec", ["in_spec", "out_spec"])(self._in_spec, self._out_spec)

    def parameters(self):
        for _, param in self.named_parameters():
            yield param

    def named_parameters(self):
        for name in self._graph_signature.parameters:
            yield name, self._state_dict[name]

    def buffers(self):
        for _, buf in self.named_buffers():
            yield buf

    def named_buffers(self):
        non_persistent = set(self._graph_signature.non_persistent_buffers)
        for name in self._graph_signature.buffers:
            yield name, (self._constants[name] if name in non_persistent
                         else self._state_dict[name])

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Unable to call ExportedProgram directly. You should use "
                           "`exported_program.module()` instead.")

    def __str__(self) -> str:
        graph_module = _readable(self._graph_module).replace("\n", "\n    ")
        signature = str(self._graph_signature).replace("\n", "\n    ")
        return ("ExportedProgram:\n"
                f"    {graph_module}\n"
                f"Graph signature: {signature}\n"
                f"Range constraints: {_format_ranges(self._range_constraints)}\n")

    __repr__ = __str__

    # -- running ---------------------------------------------------------------------------

    def _lifted_values(self) -> list:
        values = []
        for spec in self._graph_signature.input_specs:
            if spec.kind == InputKind.PARAMETER:
                values.append(self._state_dict[spec.target])
            elif spec.kind == InputKind.BUFFER:
                source = self._state_dict if spec.persistent else self._constants
                values.append(source[spec.target])
            elif spec.kind == InputKind.CONSTANT_TENSOR:
                values.append(self._constants[spec.target])
        return values

    def _with_graph(self, graph: Graph) -> ExportedProgram:
        """This program around a rewritten ``graph`` (same signature, state, constants,
        ranges, specs, guards and example inputs)."""
        return ExportedProgram(GraphModule(Module(), graph), self._graph_signature,
                               self._state_dict, self._range_constraints, self._constants,
                               self._in_spec, self._out_spec, self._input_guards,
                               self._example_inputs)

    def _flatten_user_inputs(self, args, kwargs) -> list:
        flat, spec = tree_flatten((tuple(args), dict(kwargs)))
        if spec != self._in_spec:
            raise ValueError(
                "Trying to flatten user inputs with exported input tree spec: \n"
                f"{self._in_spec}\nbut actually got inputs with tree spec of: \n{spec}.\n"
                "Please check that the inputs have the same number and type of args and "
                "kwargs as the ones you used when tracing.")
        _check_guards(self._input_guards, flat)
        return flat

    def module(self, check_guards: bool = True) -> Module:
        """A self-contained ``GraphModule`` taking the original inputs: parameters and
        buffers live on it under their original names, placeholders for them become
        ``get_attr`` nodes, and calls check the input structure and shapes."""
        return _unlift(self, check_guards)

    def run_decompositions(self, decomp_table=None, decompose_custom_triton_ops=False):
        """A new program with composite ops lowered as PyTorch's core decompositions
        lower them (``_decompositions``); the ops ember does not decompose stay."""
        from ._decompositions import decompose

        return decompose(self, decomp_table)

    def validate(self) -> None:
        self.graph.lint()


def _format_ranges(ranges: dict) -> str:
    return "{" + ", ".join(f"{k}: {v!r}" for k, v in ranges.items()) + "}"


def _readable(graph_module: GraphModule) -> str:
    """``print_readable`` text: ``class GraphModule(torch.nn.Module):`` and the forward
    with shape annotations, as PyTorch prints an exported graph (without its
    ``# File:`` stack-trace comments, which ember does not record)."""
    src = graph_module.graph.python_code("self", verbose=True).src
    src = src.replace("\n# No stacktrace found for following nodes\n", "")
    lines = [line for line in src.lstrip("\n").split("\n")
             if line.strip() != "# No stacktrace found for following nodes"]
    body = "\n".join("    " + line if line else line for line in lines)
    return "class GraphModule(torch.nn.Module):\n" + body


def _check_guards(guards: list, flat: list) -> None:
    """PyTorch's input guards: static sizes equal, dynamic ones within their range, and
    dims sharing a symbol equal to where it first appears."""
    first_seen: dict = {}
    for index, name, shape, ranges in guards:
        value = flat[index]
        if not isinstance(value, ember.Tensor):
            continue
        if value.dim() != len(shape):
            raise AssertionError(f"Guard failed: {name}.dim() == {len(shape)}")
        for dim, expected in enumerate(shape):
            size = value.shape[dim]
            if isinstance(expected, int):
                if size != expected:
                    raise AssertionError(f"Guard failed: {name}.size()[{dim}] == {expected}")
                continue
            if id(expected) in first_seen:
                other_name, other_dim, other_size = first_seen[id(expected)]
                if size != other_size:
                    raise AssertionError(f"Guard failed: {name}.size()[{dim}] == "
                                         f"{other_name}.size()[{other_dim}]")
                continue
            first_seen[id(expected)] = (name, dim, size)
            low, high = ranges[dim]
            if low > 2 and size < low:
                raise AssertionError(f"Guard failed: {name}.size()[{dim}] >= {low}")
            if high != math.inf and size > high:
                raise AssertionError(f"Guard failed: {name}.size()[{dim}] <= {high}")


class _ExportedModule(GraphModule):
    """What ``ExportedProgram.module()`` returns: the unlifted graph, called with the
    original (args, kwargs) structure."""

    def __call__(self, *args, **kwargs):
        flat = self._exported_flatten(args, kwargs)
        outputs = super().__call__(*flat)
        return tree_unflatten(list(outputs), self._out_spec)

    def train(self, mode: bool = True):
        raise NotImplementedError("Calling train() is not supported yet.")

    def eval(self):
        raise NotImplementedError("Calling eval() is not supported yet.")


def _write_back_mutations(graph: Graph, env: dict, results, signature) -> None:
    """A functionalized program (PyTorch's ``run_decompositions`` output, or one loaded
    from a .pt2) returns the new values of the buffers, parameters and inputs it mutates;
    the runnable module copies them back (``aten.copy_``), as PyTorch's unlifting does."""
    kinds = (OutputKind.BUFFER_MUTATION, OutputKind.PARAMETER_MUTATION,
             OutputKind.USER_INPUT_MUTATION)
    mutated = [(value, spec) for value, spec in zip(results, signature.output_specs)
               if spec.kind in kinds]
    if not mutated:
        return
    copy_ = ember.ops.aten.copy_.default
    by_target = {n.target: n for n in graph.nodes if n.op == "get_attr"}
    inputs = {n.name: n for n in graph.nodes if n.op == "placeholder"}
    for value, spec in mutated:
        destination = inputs[spec.target] if spec.kind == OutputKind.USER_INPUT_MUTATION \
            else by_target[spec.target]
        graph.call_function(copy_, (destination, env[value]))


def _unlift(program: ExportedProgram, check_guards: bool) -> Module:
    signature = program.graph_signature
    root = Module()
    for spec in signature.input_specs:
        if spec.kind == InputKind.USER_INPUT:
            continue
        *path, field = spec.target.split(".")
        owner = root
        for atom in path:
            if not hasattr(owner, atom):
                owner.add_module(atom, Module())
            owner = getattr(owner, atom)
        if spec.kind == InputKind.PARAMETER:
            owner.register_parameter(field, program.state_dict[spec.target])
        elif spec.kind == InputKind.BUFFER:
            value = (program.state_dict if spec.persistent else program.constants)[spec.target]
            owner.register_buffer(field, value, persistent=bool(spec.persistent))
        else:
            setattr(owner, field, program.constants[spec.target])
    graph = Graph()
    env: dict = {}
    kinds = {spec.arg.name: spec for spec in signature.input_specs}
    for node in program.graph.nodes:
        if node.op == "placeholder":
            spec = kinds.get(node.name)
            if spec is not None and spec.kind != InputKind.USER_INPUT:
                new = graph.get_attr(spec.target)
            else:
                new = graph.placeholder(node.name)
        elif node.op == "output":
            results = node.args[0]
            _write_back_mutations(graph, env, results, signature)
            user = [value for value, spec in zip(results, signature.output_specs)
                    if spec.kind == OutputKind.USER_OUTPUT]
            graph.output(tuple(env[v] if isinstance(v, type(node)) else v for v in user))
            continue
        else:
            new = graph.node_copy(node, lambda n: env[n])
        new.meta = copy.copy(node.meta)
        env[node] = new
    module = _ExportedModule(root, graph)
    module._out_spec = program._out_spec
    for spec in signature.input_specs:
        if spec.kind == InputKind.CONSTANT_TENSOR:  # plain attributes, not buffers (torch)
            owner_path, _, field = spec.target.rpartition(".")
            owner = module.get_submodule(owner_path) if owner_path else module
            if field in owner._buffers:
                value = owner._buffers.pop(field)
                setattr(owner, field, value)

    def flatten(args, kwargs):
        flat = program._flatten_user_inputs(args, kwargs) if check_guards else \
            tree_flatten((tuple(args), dict(kwargs)))[0]
        return flat

    module._exported_flatten = flatten
    return module
