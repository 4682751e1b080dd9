"""``ember.onnx.export``: trace one forward run of a model and write it as an ONNX file.

The semantics are those of ``torch.onnx.export(..., dynamo=False)``, PyTorch's tracing
exporter: the graph is what one run with the example ``args`` did (Python control flow
is unrolled for those inputs), parameters and buffers become initializers named by their
``state_dict`` keys, and ``dynamic_axes`` names the dims that may differ at run time.
"""

from __future__ import annotations

import contextlib
import enum
import os

import numpy as np

from .._tensor import Tensor
from .errors import OnnxExporterError

DEFAULT_OPSET = 17
MIN_OPSET = 13
_in_export = [False]


class TrainingMode(enum.IntEnum):
    """Which mode the model is exported in: EVAL (the default), PRESERVE its current
    mode, or TRAINING."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


def is_in_onnx_export() -> bool:
    """True while ``export`` is tracing a model (forward may branch on it)."""
    return _in_export[0]


def export(model, args=(), f=None, *, kwargs=None, export_params=True, verbose=False,
           input_names=None, output_names=None, opset_version=None, dynamic_axes=None,
           keep_initializers_as_inputs=False, training=TrainingMode.EVAL,
           do_constant_folding=True, verify=False, dynamo=True, **dynamo_options):
    """Export ``model`` run on ``args`` to the ONNX file ``f``.

    Args:
        model: a Module (or callable) whose forward is traced once.
        args: a Tensor or a tuple of forward's arguments; a trailing dict is keyword
            arguments (as in PyTorch). Tensor arguments become the graph's inputs.
        f: a path or a binary file-like object.
        kwargs: more keyword arguments for forward.
        export_params: store parameters as initializers (else they are graph inputs).
        verbose: print the graph.
        input_names, output_names: names for the graph's inputs and outputs, in order.
        opset_version: the ONNX opset (default 17; 13 and later are supported).
        dynamic_axes: ``{name: [dims]}`` or ``{name: {dim: "symbol"}}``: dims that may
            change at run time (the batch, a sequence length). Reshapes and expands that
            carry such a dim are written to follow it; they recognise it by its traced
            size, so trace with a size no static dim of the model shares (a batch of 3
            rather than 1 or 2 when there are 2 heads).
        keep_initializers_as_inputs: also list initializers as graph inputs.
        training: TrainingMode.EVAL (default), PRESERVE or TRAINING.
        do_constant_folding: compute ops on constants at export time.
        verify: run the file in onnxruntime on the example inputs and on fresh ones of
            the same shapes and raise OnnxExporterError if it disagrees with the model
            (catches values the trace baked in as constants).
        dynamo: True (PyTorch's default) returns an ``ONNXProgram`` and makes ``f``
            optional; False returns None. ember traces either way (as dynamo=False does).
            torch.export-style ``dynamic_shapes=`` is read as dynamic_axes when those are
            not given; the dynamo exporter's other options are ignored.

    Example::

        >>> model = nn.Sequential(nn.Linear(4, 2), nn.ReLU())
        >>> ember.onnx.export(model, ember.randn(1, 4), "model.onnx",
        ...                   input_names=["x"], dynamic_axes={"x": {0: "batch"}})

    Exporting is not thread-safe: ops other threads run during the trace are traced too.
    """
    import onnx

    from . import (  # noqa: F401 - importing registers the converters
        _converters,
        _converters_more,
        _converters_nn,
        _converters_shape,
    )
    from ._graph import GraphBuilder
    from ._trace import Tracer

    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(f"Unsupported ONNX opset version: {opset} (ember exports opsets "
                         f"{MIN_OPSET} to {newest})")
    if f is None and not dynamo:
        raise ValueError("export needs a file name or a file-like object to write to (f)")
    forward_args, forward_kwargs = _split_args(args, kwargs)
    example_args, example_kwargs = forward_args, forward_kwargs
    graph = GraphBuilder(opset)
    tracer = Tracer(graph, fold_constants=do_constant_folding)

    param_names = _bind_state(model, graph, tracer)
    inputs, forward_args, forward_kwargs = _bind_inputs(
        model, graph, tracer, forward_args, forward_kwargs, input_names)
    if dynamic_axes is None and dynamo_options.get("dynamic_shapes") is not None:
        dynamic_axes = _axes_from_dynamic_shapes(model, forward_args, forward_kwargs, inputs,
                                                 dynamo_options["dynamic_shapes"])
    graph.dynamic_dims = _dynamic_dims(graph, inputs, dynamic_axes or {})
    graph.dynamic_sizes = frozenset(graph.dynamic_dims)
    if not export_params:
        inputs += [name for name in param_names]

    from ..autograd.grad_mode import enable_grad

    with _training_mode(model, training), _module_scopes(model, graph), enable_grad(), \
            tracer, _exporting():
        result = model(*forward_args, **forward_kwargs)

    outputs = _bind_outputs(graph, tracer, _flatten(result), output_names, set(inputs))
    used = {name for _, node_inputs, _, _, _ in graph.nodes for name in node_inputs}
    used.update(outputs)
    initializers = [(name, array) for name, array in graph.initializers.items()
                    if name in used]
    params = [(name, tensor) for name, tensor in param_names.items() if name in used]
    if export_params:
        initializers = [(name, _host(t._data)) for name, t in params] + initializers
        inputs = [name for name in inputs if name not in param_names]
    else:
        inputs = [name for name in inputs if name not in param_names or name in used]
    model_proto = _assemble(graph, inputs, outputs, initializers, dynamic_axes or {},
                            keep_initializers_as_inputs)
    if verbose:
        print(onnx.helper.printable_graph(model_proto.graph))
    data = model_proto.SerializeToString()  # once: the checker reads the same bytes
    onnx.checker.check_model(data)
    if f is not None:
        _write(data, f)
    if verify:
        from ._verify import verify as run_verification

        with _training_mode(model, training):
            run_verification(model, example_args, example_kwargs, data,
                             len(inputs) - (0 if export_params else len(params)),
                             dict(params))
    if dynamo:
        from ._program import ONNXProgram

        return ONNXProgram(model_proto,
                           _reference=(model, example_args, example_kwargs, training))
    return None


# -- arguments ----------------------------------------------------------------------------


def _split_args(args, kwargs):
    if isinstance(args, Tensor):
        args = (args,)
    elif isinstance(args, list):
        args = tuple(args)
    elif not isinstance(args, tuple):
        args = (args,)
    extra = {}
    if args and isinstance(args[-1], dict):
        extra = dict(args[-1])
        args = args[:-1]
    if kwargs:
        extra.update(kwargs)
    return args, extra


def _bind_state(model, graph, tracer):
    """Parameters and buffers, named by their state_dict keys (the first key of a shared
    tensor): they are graph values before the trace starts."""
    names = {}
    if not hasattr(model, "named_parameters"):
        return names
    seen = set()
    for named in (model.named_parameters(), model.named_buffers()):
        for name, tensor in named:
            if tensor is None or id(tensor) in seen:
                continue
            seen.add(id(tensor))
            names[name] = tensor
            graph.dtype[name] = tensor._data.dtype
            graph.shape[name] = tuple(tensor._data.shape)
            tracer.bind(tensor, name)
    return names


def _default_names(kind, count):
    return [kind] if count == 1 else [f"{kind}_{i}" for i in range(count)]


def _bind_inputs(model, graph, tracer, args, kwargs, input_names):
    """Copies of the Tensor arguments (float ones requiring grad, so every op on them
    records), bound to the graph's input names."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    tensors += [v for v in kwargs.values() if isinstance(v, Tensor)]
    names = list(input_names or [])
    defaults = _default_names("input", len(tensors))
    names += defaults[len(names):]
    copies = {}
    for tensor, name in zip(tensors, names):
        copy = tensor.detach().clone()
        if copy._data.dtype.kind in "fc":
            copy = copy.requires_grad_().clone()  # not a leaf: forward may write to it
        tracer.flag_traced(copy)
        graph.dtype[name] = copy._data.dtype
        graph.shape[name] = tuple(copy._data.shape)
        tracer.bind(copy, name)
        copies[id(tensor)] = copy
    args = tuple(copies.get(id(a), a) if isinstance(a, Tensor) else a for a in args)
    kwargs = {k: copies.get(id(v), v) if isinstance(v, Tensor) else v
              for k, v in kwargs.items()}
    return names[:len(tensors)], args, kwargs


def _axes_from_dynamic_shapes(model, args, kwargs, inputs, dynamic_shapes):
    """torch.export-style ``dynamic_shapes`` (per forward argument, by name or position:
    ``{dim: Dim or name}`` or one entry per dim, None for static) as dynamic_axes."""
    import inspect

    tensors = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    if isinstance(dynamic_shapes, dict):
        forward = getattr(model, "forward", model)
        params = list(inspect.signature(forward).parameters)
        by_name = {params[i]: i for i in range(min(len(params), len(args)))}
        specs = {by_name.get(k, k): v for k, v in dynamic_shapes.items()}
    else:
        specs = dict(enumerate(dynamic_shapes))
    keyword = [k for k, v in kwargs.items() if isinstance(v, Tensor)]
    positions = tensors + keyword
    axes = {}
    for name, position in zip(inputs, positions):
        spec = specs.get(position)
        if spec is None:
            continue
        items = spec.items() if isinstance(spec, dict) else enumerate(spec)
        symbols = {}
        for axis, dim in items:
            if dim is not None:
                symbols[axis] = getattr(dim, "__name__", None) or (
                    dim if isinstance(dim, str) else f"{name}_dim_{axis}")
        if symbols:
            axes[name] = symbols
    return axes


def _dynamic_dims(graph, inputs, dynamic_axes):
    """{traced size: (input, axis)} for the inputs' dims that dynamic_axes marks."""
    dims = {}
    for name in inputs:
        axes = dynamic_axes.get(name, ())
        for axis in axes:  # a list of dims or a {dim: symbol} dict
            dims.setdefault(graph.shape[name][axis], (name, axis))
    return dims


def _flatten(result):
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, (tuple, list)):
        return [t for item in result for t in _flatten(item)]
    if isinstance(result, dict):
        return [t for item in result.values() for t in _flatten(item)]
    if result is None:
        return []
    raise OnnxExporterError(f"the model returned a {type(result).__name__}; ONNX outputs "
                            "must be tensors (or tuples, lists or dicts of them)")


def _bind_outputs(graph, tracer, results, output_names, inputs):
    names = list(output_names or [])
    defaults = _default_names("output", len(results))
    names += defaults[len(names):]
    produced = {out for _, _, node_outputs, _, _ in graph.nodes for out in node_outputs}
    taken = set()
    outputs = []
    for tensor, name in zip(results, names):
        value = tracer.name_of(tensor)
        if value in produced and value not in taken and value not in inputs:
            tracer.rename(value, name)
        else:  # a graph input, an initializer or an output already named: copy it
            graph.rename(graph.op("Identity", value), name)
        graph.dtype[name] = tensor._data.dtype
        graph.shape[name] = tuple(tensor._data.shape)
        taken.add(name)
        outputs.append(name)
    return outputs


# -- the model proto ----------------------------------------------------------------------


def _symbolic_dims(name, shape, dynamic_axes):
    axes = dynamic_axes.get(name)
    if axes is None:
        return None
    dims = list(shape)
    if isinstance(axes, dict):
        for axis, symbol in axes.items():
            dims[axis] = str(symbol)
    else:
        for k, axis in enumerate(axes):
            dims[axis] = f"{name}_dynamic_axes_{k + 1}"
    return dims


def _assemble(graph, inputs, outputs, initializers, dynamic_axes,
              keep_initializers_as_inputs):
    from onnx import helper, numpy_helper

    unknown = set(dynamic_axes) - set(inputs) - set(outputs)
    if unknown:
        import warnings

        warnings.warn(f"Provided key {min(unknown)} for dynamic axes is not a valid "
                      "input/output name", stacklevel=3)
    input_infos = [graph.value_info(name, _symbolic_dims(name, graph.shape[name], dynamic_axes))
                   for name in inputs]
    if keep_initializers_as_inputs:
        input_infos += [graph.value_info(name) for name, _ in initializers]
    output_infos = [graph.value_info(name, _symbolic_dims(name, graph.shape[name],
                                                          dynamic_axes))
                    for name in outputs]
    tensors = [numpy_helper.from_array(np.array(array, order="C"), name)
               for name, array in initializers]
    graph_proto = helper.make_graph(graph.node_protos(), "main_graph", input_infos,
                                    output_infos, tensors)
    model = helper.make_model(
        graph_proto, opset_imports=[helper.make_opsetid("", graph.opset)],
        producer_name="ember", producer_version=_version())
    # the oldest IR version the opset allows: what the widest range of runtimes reads
    model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))
    if dynamic_axes:
        model = _infer_output_shapes(model, outputs, dynamic_axes)
    return model


def _infer_output_shapes(model, outputs, dynamic_axes):
    """With dynamic inputs, an output's traced size may not hold at run time: take the
    output shapes from ONNX's shape inference (symbolic where they follow an input's
    dynamic dim), keeping the user's dynamic_axes names."""
    import onnx

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for output in probe.graph.output:
        if output.name not in dynamic_axes:
            output.type.tensor_type.ClearField("shape")
    try:
        inferred = onnx.shape_inference.infer_shapes(probe)
    except onnx.shape_inference.InferenceError:  # inference is a refinement only
        return model
    shapes = {o.name: o.type.tensor_type for o in inferred.graph.output}
    for output in model.graph.output:
        if output.name in dynamic_axes or output.name not in shapes:
            continue
        found = shapes[output.name]
        output.type.tensor_type.ClearField("shape")
        if found.HasField("shape"):
            output.type.tensor_type.shape.CopyFrom(found.shape)
    return model


def _version():
    from ..version import __version__

    return __version__


def _host(array):
    return array.get() if hasattr(array, "get") else np.asarray(array)


def _write(data, f):
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as handle:
            handle.write(data)
    elif hasattr(f, "write"):
        f.write(data)
    else:
        raise TypeError(f"f must be a path or a file-like object, got {type(f).__name__}")


# -- modes --------------------------------------------------------------------------------


@contextlib.contextmanager
def _training_mode(model, training):
    """Put the model in the requested mode for the trace; restore every module's flag."""
    modules = list(model.modules()) if hasattr(model, "modules") else []
    saved = [(module, module.training) for module in modules]
    if training == TrainingMode.EVAL and modules:
        model.train(False)
    elif training == TrainingMode.TRAINING and modules:
        model.train(True)
    try:
        yield
    finally:
        for module, mode in saved:
            module.training = mode


@contextlib.contextmanager
def _module_scopes(model, graph):
    """Name nodes after the submodule whose forward made them (``/layer1.0.conv1/Conv``),
    as PyTorch's exporter scopes them, through forward hooks removed afterwards."""
    handles = []
    if hasattr(model, "named_modules"):
        for name, module in model.named_modules():
            if not name:
                continue

            def enter(module, args, name=name):
                module.__dict__.setdefault("_onnx_scopes", []).append(graph.scope)
                graph.scope = "/" + name

            def leave(module, args, output):
                graph.scope = module.__dict__["_onnx_scopes"].pop()

            handles.append(module.register_forward_pre_hook(enter))
            handles.append(module.register_forward_hook(leave))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
        for _, module in (model.named_modules() if handles else ()):
            module.__dict__.pop("_onnx_scopes", None)


@contextlib.contextmanager
def _exporting():
    _in_export[0] = True
    try:
        yield
    finally:
        _in_export[0] = False



def verify(model, args, f, *, kwargs=None, rtol: float = 1e-3, atol: float = 1e-5,
           training=TrainingMode.EVAL) -> None:
    """Check an exported file against ``model``: run it in onnxruntime on ``args`` and on
    fresh inputs of the same shapes, and raise OnnxExporterError naming the first output
    that differs. ``f`` is a path, a binary file object or the file's bytes.

    Example::

        >>> ember.onnx.export(model, x, "model.onnx")
        >>> ember.onnx.verify(model, x, "model.onnx")
    """
    from ._verify import verify as run_verification

    if isinstance(f, (bytes, bytearray)):
        data = bytes(f)
    elif isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as handle:
            data = handle.read()
    else:
        data = f.read()
    forward_args, forward_kwargs = _split_args(args, kwargs)
    count = sum(isinstance(a, Tensor) for a in forward_args)
    count += sum(isinstance(v, Tensor) for v in forward_kwargs.values())
    params = {}
    if hasattr(model, "named_parameters"):
        params = dict(model.named_parameters())
        params.update(dict(model.named_buffers()))
    with _training_mode(model, training):
        run_verification(model, forward_args, forward_kwargs, data, count, params,
                         rtol=rtol, atol=atol)


def register_custom_op_symbolic(symbolic_name: str, symbolic_fn, opset_version: int) -> None:
    """Export the op ``symbolic_name`` (``"ember::Lgamma"``; PyTorch's ``"aten::lgamma"``
    names the same op) with ``symbolic_fn(g, *args)`` from ``opset_version`` on, as
    ``torch.onnx.register_custom_op_symbolic``. ``g.op("Name", *inputs, attr_f=...)``
    adds nodes; tensor arguments arrive as graph values, the others as passed."""
    from ._trace import CUSTOM_SYMBOLICS, symbolic_key

    if "::" not in symbolic_name:
        raise ValueError(f"Failed to register operator {symbolic_name}. The symbolic name "
                         "must match the format domain::name, and should start with a letter "
                         "and contain only alphanumerical characters")
    CUSTOM_SYMBOLICS.setdefault(symbolic_key(symbolic_name), {})[int(opset_version)] = \
        symbolic_fn


def unregister_custom_op_symbolic(symbolic_name: str, opset_version: int) -> None:
    """Undo ``register_custom_op_symbolic`` for that op and opset."""
    from ._trace import CUSTOM_SYMBOLICS, symbolic_key

    CUSTOM_SYMBOLICS.get(symbolic_key(symbolic_name), {}).pop(int(opset_version), None)
