"""``ember.export.export``: trace a module into an ``ExportedProgram``."""

from __future__ import annotations

import inspect
import math
from collections import OrderedDict

import ember
from ember.fx import GraphModule
from ember.nn import Module
from ember.utils._pytree import tree_flatten, tree_flatten_with_path, tree_unflatten

from . import _symbolic, _trace
from .dynamic_shapes import Dim, RangeConstraint, Symbol, UserError, _DimHint, _DimHintType
from .exported_program import ExportedProgram
from .graph_signature import (
    ConstantArgument,
    ExportGraphSignature,
    InputKind,
    InputSpec,
    OutputKind,
    OutputSpec,
    TensorArgument,
)

_HINT = ("\n\nThe error above occurred when calling torch.export.export. If you would like to "
         "view some more information about this error, and get a list of all other errors "
         "that may occur in your export call, you can replace your `export()` call with "
         "`draft_export()`.")


def export(mod: Module, args: tuple, kwargs: dict | None = None, *, dynamic_shapes=None,
           strict: bool = False, preserve_module_call_signature: tuple = (),
           prefer_deferred_runtime_asserts_over_guards: bool = False) -> ExportedProgram:
    """Trace ``mod(*args, **kwargs)`` into an ``ExportedProgram``.

    ember always traces the way PyTorch's non-strict mode does (running the Python code);
    ``strict`` is accepted and changes nothing.

    Example::

        ep = torch.export.export(model, (torch.randn(2, 4),))
        print(ep)
        out = ep.module()(torch.randn(2, 4))
    """
    if not isinstance(mod, Module):
        raise ValueError(  # noqa: TRY004 - PyTorch's type
            f"Expected `mod` to be an instance of `torch.nn.Module`, got {type(mod)}.")
    if not isinstance(args, tuple):
        raise UserError(f"Expecting `args` to be a tuple of example positional inputs, got "
                        f"{type(args)}" + _HINT)
    kwargs = dict(kwargs or {})
    if hasattr(dynamic_shapes, "dynamic_shapes"):  # ShapesCollection, AdditionalInputs
        dynamic_shapes = dynamic_shapes.dynamic_shapes(mod, args, kwargs)
    names = _input_names(mod, args, kwargs)
    sources = _input_names(mod, args, kwargs, source=True)
    shapes = _flat_dynamic_shapes(mod, args, kwargs, dynamic_shapes)
    flat_inputs, in_spec = tree_flatten((args, kwargs))
    tracer = _trace.ExportTracer(mod)
    graph = tracer.graph
    input_specs = []
    state_dict = OrderedDict()
    constants: dict = {}
    for name, param in mod.named_parameters():
        node = graph.placeholder("p_" + name.replace(".", "_"))
        tracer.track(param, node)
        state_dict[name] = param
        input_specs.append(InputSpec(InputKind.PARAMETER, TensorArgument(node.name), name))
    for name, buf in mod.named_buffers():
        node = graph.placeholder("b_" + name.replace(".", "_"))
        tracer.track(buf, node)
        persistent = _is_persistent(mod, name)
        (state_dict if persistent else constants)[name] = buf
        input_specs.append(InputSpec(InputKind.BUFFER, TensorArgument(node.name), name,
                                     persistent=persistent))
    user_specs, guards, ranges = [], [], {}
    for index, (value, name) in enumerate(zip(flat_inputs, names)):
        node = graph.placeholder(name)
        if node.name != name and name not in {n.name for n in graph.nodes}:
            node.name = name  # PyTorch's export keeps ``input`` (fx would say input_1)
        if tracer.first_user_input is None:
            tracer.first_user_input = node
        if isinstance(value, ember.Tensor):
            _mark_dynamic(tracer, value, shapes[index], name, ranges)
            tracer.track(value, node)
            guards.append((index, sources[index], node.meta["val"].shape,
                           {d: (s.dim_min, s.dim_max) for d, s in enumerate(
                               node.meta["val"].shape) if isinstance(s, Symbol)}))
            user_specs.append(InputSpec(InputKind.USER_INPUT, TensorArgument(node.name), None))
        else:
            user_specs.append(InputSpec(InputKind.USER_INPUT,
                                        ConstantArgument(node.name, value), None))
    rng_state = ember.get_rng_state()
    output = _run_without_side_effects(mod, tracer, args, kwargs)
    out_leaves, out_spec = tree_flatten(output)
    out_nodes, output_specs = [], []
    for leaf in out_leaves:
        if isinstance(leaf, ember.Tensor):
            node = tracer.node_of.get(id(leaf))
            if node is None:
                node = tracer.lift_constant(leaf)
            out_nodes.append(node)
            output_specs.append(OutputSpec(OutputKind.USER_OUTPUT, TensorArgument(node.name),
                                           None))
        else:
            out_nodes.append(leaf)
            output_specs.append(OutputSpec(OutputKind.USER_OUTPUT, ConstantArgument("", leaf),
                                           None))
    graph.output(tuple(out_nodes))
    constant_specs = []
    for node, target in tracer.constant_nodes:
        constants[target] = tracer.constants[target]
        constant_specs.append(InputSpec(InputKind.CONSTANT_TENSOR, TensorArgument(node.name),
                                        target))
    signature = ExportGraphSignature(input_specs + constant_specs + user_specs, output_specs)
    graph_module = GraphModule(Module(), graph)
    program = ExportedProgram(graph_module, signature, state_dict, ranges, constants, in_spec,
                              out_spec, guards, (args, kwargs))
    if not _symbolic.draft_failures[0]:  # a draft with guessed branches is not replayable
        _check_replay(program, mod, flat_inputs, in_spec, rng_state)
    _check_specialization(program, flat_inputs, ranges)
    return program


def _check_replay(program: ExportedProgram, mod: Module, flat_inputs: list, in_spec,
                  rng_state) -> None:
    """Run the module and the recorded graph on fresh random inputs of the example's
    shapes (integer inputs kept) and compare: a computation the trace could not see (a
    private function, NumPy on ``.numpy()``) would otherwise be baked in as a constant
    without a word. Models whose eager run fails on such inputs are not checked."""
    inputs = [ember.randn(v.shape, dtype=v.dtype, device=v.device)
              if isinstance(v, ember.Tensor) and v.is_floating_point() else
              v.detach().clone() if isinstance(v, ember.Tensor) else v for v in flat_inputs]
    args, kwargs = tree_unflatten(inputs, in_spec)
    saved = [(t, t.detach().clone()) for t in list(mod.parameters()) + list(mod.buffers())]
    current = ember.get_rng_state()
    try:
        ember.set_rng_state(rng_state)
        with ember.no_grad():
            expected = tree_flatten(mod(*args, **kwargs))[0]
    except Exception:  # noqa: BLE001 - an input the model refuses: nothing to compare
        return
    finally:
        with ember.no_grad():
            for tensor, value in saved:
                tensor.copy_(value)
        ember.set_rng_state(current)
    values = [v.detach().clone() for v in program._lifted_values()]
    try:
        ember.set_rng_state(rng_state)
        with ember.no_grad():
            replayed = program.graph_module.forward(*values, *inputs)
    finally:
        ember.set_rng_state(current)
    for index, (got, want) in enumerate(zip(replayed, expected)):
        if not isinstance(want, ember.Tensor):
            continue
        same = got.shape == want.shape and got.dtype == want.dtype and bool(ember.allclose(
            got, want, rtol=1e-4, atol=1e-5, equal_nan=True))
        if not same:
            raise RuntimeError(
                f"ember.export: the recorded graph does not reproduce output {index} of "
                f"{type(mod).__name__} on other inputs: part of the result is computed "
                "outside ember's public functions and Tensor methods (or depends on the "
                "input values through Python control flow), which the trace cannot see")


def _run_without_side_effects(mod, tracer, args, kwargs):
    """Trace by running ``mod`` for real, then put back what that run changed (buffers a
    training forward updates, the random generator): PyTorch's export runs on fake
    tensors and leaves the model as it was."""
    saved = [(t, t.detach().clone()) for t in list(mod.parameters()) + list(mod.buffers())]
    rng_state = ember.get_rng_state()
    try:
        return _trace.run(tracer, lambda: mod(*args, **kwargs))
    finally:
        with ember.no_grad():
            for tensor, value in saved:
                if not ember.equal(tensor, value):
                    tensor.copy_(value)
        ember.set_rng_state(rng_state)


def _is_persistent(mod: Module, name: str) -> bool:
    *path, field = name.split(".")
    owner = mod.get_submodule(".".join(path)) if path else mod
    return field not in getattr(owner, "_non_persistent_buffers_set", set())


def _signature_names(mod: Module) -> list[str]:
    forward = type(mod).forward
    from ember.fx._module_forwards import traced_forward

    forward = traced_forward(mod) or forward
    params = list(inspect.signature(forward).parameters.values())[1:]
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _var_positional_name(mod: Module) -> str:
    from ember.fx._module_forwards import traced_forward

    forward = traced_forward(mod) or type(mod).forward
    for param in inspect.signature(forward).parameters.values():
        if param.kind is param.VAR_POSITIONAL:
            return param.name
    return "args"


def _input_names(mod, args, kwargs, source: bool = False) -> list[str]:
    """Placeholder names of the flat inputs: the forward's parameter names, with the key
    path appended inside containers (``inputs_0``, ``batch_image``); with ``source``, as
    guard messages write them (``inputs[0]``, ``batch['image']``)."""
    params = _signature_names(mod)
    paths, _ = tree_flatten_with_path((args, kwargs))
    names = []
    for path, _leaf in paths:
        if source:
            top, key = path[0].idx, path[1]
            if top == 0:
                base = params[key.idx] if key.idx < len(params) else \
                    f"{_var_positional_name(mod)}[{key.idx - len(params)}]"
            else:
                base = key.key
            names.append(base + "".join(str(k) for k in path[2:]))
            continue
        top, key = path[0].idx, path[1]
        if top == 0:
            index = key.idx
            base = params[index] if index < len(params) else \
                f"{_var_positional_name(mod)}_{index - len(params)}"
        else:
            base = key.key
        rest = "".join(str(k) for k in path[2:])
        for char in "[]'.\"":
            rest = rest.replace(char, "_")
        suffix = "_".join(part for part in rest.split("_") if part)
        names.append(f"{base}_{suffix}" if suffix else base)
    return names


def _flat_dynamic_shapes(mod, args, kwargs, dynamic_shapes) -> list:
    """One ``{dim: Dim | hint}`` (or None) per flat input."""
    flat_inputs, _ = tree_flatten((args, kwargs))
    if dynamic_shapes is None:
        return [None] * len(flat_inputs)
    if isinstance(dynamic_shapes, dict):
        params = _signature_names(mod)
        bound_names = params[:len(args)] + list(kwargs)
        if set(dynamic_shapes) - set(bound_names):
            raise UserError(
                "When `dynamic_shapes` is specified as a dict, its top-level keys must be the "
                f"arg names {bound_names} of `inputs`, but here they are "
                f"{list(dynamic_shapes)}. Alternatively, you could also ignore arg names "
                "entirely and specify `dynamic_shapes` as a list/tuple matching `inputs`. For "
                "more information about this error, see: "
                "https://pytorch.org/docs/main/generated/exportdb/index.html"
                "#dynamic-shapes-validation" + _HINT)
        per_arg = [dynamic_shapes.get(name) for name in params[:len(args)]]
        per_kwarg = {k: dynamic_shapes.get(k) for k in kwargs}
    else:
        per_arg = list(dynamic_shapes)[:len(args)]
        per_kwarg = {k: None for k in kwargs}
    result = []
    for value, shape in list(zip(args, per_arg)) + [(kwargs[k], per_kwarg[k]) for k in kwargs]:
        leaves = tree_flatten(value)[0]
        if isinstance(value, ember.Tensor) or len(leaves) == 1 and leaves[0] is value:
            result.append(_tensor_dims(shape))
        else:
            sub = _match_leaves(value, shape)
            result.extend(_tensor_dims(s) for s in sub)
    return result


def _match_leaves(value, shape) -> list:
    if shape is None:
        return [None] * len(tree_flatten(value)[0])
    if isinstance(value, (list, tuple)):
        return [s for v, sh in zip(value, shape) for s in _match_leaves(v, sh)]
    if isinstance(value, dict):
        return [s for k in value for s in _match_leaves(value[k], shape.get(k))]
    return [shape]


def _tensor_dims(shape) -> dict | None:
    if shape is None:
        return None
    if isinstance(shape, dict):
        return dict(shape)
    return {d: s for d, s in enumerate(shape) if s is not None}


def _mark_dynamic(tracer, tensor, dims: dict | None, name: str, ranges: dict) -> None:
    for dim, spec in (dims or {}).items():
        if isinstance(spec, _DimHint) and spec.type == _DimHintType.STATIC:
            continue
        if not isinstance(spec, (Dim, _DimHint)):
            raise UserError(f"Unexpected dimension mapped to index {dim} in input tensor "
                            f"shape {spec} specified at `dynamic_shapes['{name}']` (expected "
                            "None, an int, a Dim, Dim.AUTO, Dim.STATIC, or Dim.DYNAMIC)")
        hint = int(_trace._RAW_SHAPE(tensor)[dim])
        # Dims are one symbol by name, as PyTorch's (``Dim("b")`` written twice is one b)
        existing = next((s for s in ranges if isinstance(spec, Dim) and isinstance(s.dim, Dim)
                         and s.dim.__name__ == spec.__name__), None)
        symbol = existing or Symbol(f"s{len(ranges)}", hint, spec if isinstance(spec, Dim)
                                    else None)
        low = spec.min if spec.min is not None else 0
        high = spec.max if spec.max is not None else math.inf
        symbol.dim_min, symbol.dim_max = low, high
        symbol.dim_name = getattr(spec, "__name__", f"{name}_dim{dim}")
        symbol.auto = isinstance(spec, _DimHint) and spec.type == _DimHintType.AUTO
        # A named Dim keeps its bounds (PyTorch 2.13: Dim('b') is VR[0, int_oo]); only
        # AUTO / DYNAMIC hints start at 2, where 0/1 specialization would apply.
        ranges[symbol] = RangeConstraint(low if isinstance(spec, Dim) else max(low, 2), high)
        tracer.symbols[(id(tensor), dim % tensor.dim())] = symbol
        tracer.hints.setdefault(hint, symbol)


def _check_specialization(program: ExportedProgram, flat_inputs: list, ranges: dict) -> None:
    """A dim marked dynamic whose size the graph baked in (a Linear's in_features) raises
    PyTorch's "Constraints violated" error (for ``Dim.AUTO`` it becomes static instead):
    the graph is re-run with that dim's size changed, on copies of the state."""
    for symbol in list(ranges):
        low, high = max(symbol.dim_min, 2), symbol.dim_max
        new = symbol.hint + 1 if symbol.hint + 1 <= high else symbol.hint - 1
        if new < low or _runs_with(program, flat_inputs, symbol, new):
            continue
        if symbol.dim is None and symbol.auto:
            _make_static(program, symbol, ranges)
            continue
        name = symbol.dim_name
        raise UserError(
            f"Constraints violated ({name})! For more information, run with "
            'TORCH_LOGS="+dynamic".\n'
            f"  - You marked {name} as dynamic but your code specialized it to be a constant "
            f"({symbol.hint}). If you're using mark_dynamic, either remove it or use "
            "maybe_mark_dynamic. If you're using Dim.DYNAMIC, replace it with either "
            f"Dim.STATIC or Dim.AUTO.\nSuggested fixes:\n  {name} = {symbol.hint}" + _HINT)


def _runs_with(program: ExportedProgram, flat_inputs: list, symbol: Symbol, size: int) -> bool:
    values = [v.detach().clone() for v in program._lifted_values()]
    inputs = []
    for node, value in zip(_user_placeholders(program), flat_inputs):
        if not isinstance(value, ember.Tensor):
            inputs.append(value)
            continue
        shape = [size if s is symbol else int(value.shape[d])
                 for d, s in enumerate(node.meta["val"].shape)]
        if value.is_floating_point():
            inputs.append(ember.rand(tuple(shape), dtype=value.dtype, device=value.device))
        else:
            inputs.append(ember.zeros(tuple(shape), dtype=value.dtype, device=value.device))
    try:
        with ember.no_grad():
            program.graph_module.forward(*values, *inputs)  # no error printout
    except Exception:  # noqa: BLE001 - any failure means the size was baked in
        return False
    return True


def _user_placeholders(program: ExportedProgram) -> list:
    users = {s.arg.name for s in program.graph_signature.input_specs
             if s.kind == InputKind.USER_INPUT}
    return [n for n in program.graph.nodes if n.op == "placeholder" and n.name in users]


def _make_static(program: ExportedProgram, symbol: Symbol, ranges: dict) -> None:
    for node in program.graph.nodes:
        meta = node.meta.get("val")
        if isinstance(meta, _trace.TensorMeta):
            meta.shape = tuple(symbol.hint if s is symbol else s for s in meta.shape)
    program._input_guards = [
        (index, name, tuple(symbol.hint if s is symbol else s for s in shape),
         {d: r for d, r in dims.items() if shape[d] is not symbol})
        for index, name, shape, dims in program._input_guards]
    del ranges[symbol]
