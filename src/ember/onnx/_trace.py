"""Tracing one forward run: every op the model applies becomes ONNX nodes as it runs.

The exporter runs the model once with ``Function.apply``'s trace hook set (see
``ember.autograd.function.trace_hook``). The hook runs each op as usual, then hands the
op's Function class, arguments and outputs to the converter registered for that class,
which appends ONNX nodes to the graph and returns the names of the op's outputs.

Which ONNX value an ember Tensor is: a Tensor produced by a traced op has that op's node
(``grad_fn``) as its history, so values are looked up by (node, output index); in-place
ops adopt the history of their out-of-place result, so a tensor written in place resolves
to the value written. Tensors without history (graph inputs, parameters, buffers, integer
results) are looked up by identity; anything else is a constant, becoming an initializer.
The trace runs with grad enabled and float inputs requiring grad, so ops take their
recording path through ``Function.apply`` rather than a no-graph fast path.

A few ops are composites whose Function-level form loses their meaning (max pooling
records a gather by precomputed indices): the tracer wraps those functions for the
duration of the export and records the call as one op (``composite``).
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np

from .._tensor import Tensor
from ..autograd import function as _function
from ..autograd import grad_mode
from .errors import SymbolicValueError, TracerWarning, UnsupportedOperatorError

# Function class -> converter(g, op); filled by the _converters* modules.
CONVERTERS: dict = {}
# (module, attribute name, converter): functions recorded as one op while tracing.
COMPOSITES: list = []


def converts(*classes):
    """Register the decorated ``converter(g, op)`` for these Function classes (and their
    subclasses, unless one has its own)."""

    def register(fn):
        for cls in classes:
            CONVERTERS[cls] = fn
        return fn

    return register


def converts_call(module, attribute: str):
    """Register the decorated converter for calls of ``module.attribute``."""

    def register(fn):
        COMPOSITES.append((module, attribute, fn))
        return fn

    return register


# normalised op name -> {opset: symbolic fn}: ember.onnx.register_custom_op_symbolic
CUSTOM_SYMBOLICS: dict = {}


def symbolic_key(name: str) -> str:
    """``"aten::layer_norm"``, ``"ember::LayerNorm"`` and ``"LayerNorm"`` all name one op."""
    return name.rsplit("::", 1)[-1].replace("_", "").lower()


def converter_for(cls, opset: int | None = None):
    custom = CUSTOM_SYMBOLICS.get(symbolic_key(getattr(cls, "_op_name", "")))
    if custom:
        usable = [v for v in custom if opset is None or v <= opset]
        if usable:
            return _symbolic_converter(custom[max(usable)])
    for klass in cls.__mro__:
        fn = CONVERTERS.get(klass)
        if fn is not None:
            return fn
    if callable(getattr(cls, "symbolic", None)):
        return _symbolic_converter(None)
    return None


def _symbolic_converter(symbolic):
    """A converter calling PyTorch-style ``symbolic(g, *args)`` (a user Function's own
    staticmethod when ``symbolic`` is None): tensor arguments arrive as graph value
    names, the rest as they were passed."""

    def convert(g, op):
        fn = symbolic or op.cls.symbolic
        args = [op.input(i) if isinstance(a, Tensor) else a for i, a in enumerate(op.args)]
        return fn(SymbolicContext(g), *args, **op.kwargs)

    return convert


class SymbolicContext:
    """The ``g`` a ``symbolic`` method receives: ``g.op("Name", *inputs, outputs=1,
    attr_f=1.0, attr_i=2, ...)`` as in PyTorch (the type suffix is optional here)."""

    _SUFFIXES = ("_i", "_f", "_s", "_t", "_is", "_fs", "_ss", "_ts")

    def __init__(self, graph):
        self.graph = graph

    @property
    def opset(self) -> int:
        return self.graph.opset

    def op(self, op_type: str, *inputs, outputs: int = 1, **attributes):
        attrs = {}
        for key, value in attributes.items():
            for suffix in self._SUFFIXES:
                if key.endswith(suffix):
                    key = key[: -len(suffix)]
                    break
            if isinstance(value, Tensor):
                from onnx import numpy_helper

                value = numpy_helper.from_array(value.detach().cpu().numpy())  # any device
            attrs[key] = value
        names = [self.graph.const(np.asarray(i)) if not isinstance(i, str) and i is not None
                 else i for i in inputs]
        return self.graph.op(op_type, *names, outputs=outputs, **attrs)


def op_label(cls) -> str:
    return f"ember::{getattr(cls, '_op_name', getattr(cls, '__name__', str(cls)))}"


class TracedOp:
    """What a converter sees of one applied op: its arguments and outputs, the node it
    recorded (``ctx``, holding what forward computed: stride, padding, ...) and the names
    of its tensor arguments in the graph (``op.input(i)``)."""

    __slots__ = ("_tracer", "args", "cls", "ctx", "kwargs", "outputs")

    def __init__(self, cls, args, kwargs, outputs, tracer):
        self.cls, self.args, self.kwargs, self.outputs = cls, args, kwargs, outputs
        self._tracer = tracer
        self.ctx = next((o.grad_fn for o in outputs
                         if isinstance(o, Tensor) and o.grad_fn is not None), None)

    def input(self, index: int) -> str | None:
        """The graph value of argument ``index`` (a Tensor or array), or None for None."""
        value = self.args[index]
        return None if value is None else self._tracer.name_of(value)

    def value(self, value) -> str:
        return self._tracer.name_of(value)

    def shape(self, index: int) -> tuple:
        value = self.args[index]
        return tuple((value._data if isinstance(value, Tensor) else value).shape)

    def out_shape(self, index: int = 0) -> tuple:
        return tuple(self.outputs[index]._data.shape)

    def out_dtype(self, index: int = 0):
        return self.outputs[index]._data.dtype

    @property
    def label(self) -> str:
        return op_label(self.cls)


class Tracer:
    """Installs the trace hook (and composite wrappers) for one export; maps tensors to
    graph values."""

    def __init__(self, graph, fold_constants: bool = True):
        self.graph = graph
        self._saved_attrs = []
        self._converting = False
        self.fold_constants = fold_constants
        self.live = set()  # values that depend on graph inputs or parameters
        self._by_node = {}  # id(node) -> (node, [output names])
        self._by_tensor = {}  # id(tensor) -> (tensor, name)
        self._by_array = {}  # id(array) -> (array, name)
        self._saved = []

    # -- values ------------------------------------------------------------------------

    def bind(self, tensor, name: str, live: bool = True):
        """``tensor`` is graph value ``name`` from now on."""
        node = tensor.grad_fn
        if node is not None:
            entry = self._by_node.get(id(node))
            if entry is None:
                entry = self._by_node[id(node)] = (node, [None] * max(node._num_outputs, 1))
            names = entry[1]
            if tensor._output_nr >= len(names):
                names.extend([None] * (tensor._output_nr + 1 - len(names)))
            names[tensor._output_nr] = name
        else:
            self._by_tensor[id(tensor)] = (tensor, name)
        self.bind_array(tensor._data, name)
        if live:
            self.live.add(name)

    def bind_array(self, array, name: str):
        self._by_array[id(array)] = (array, name)

    def rename(self, old: str, new: str):
        """Value ``old`` is called ``new`` from now on, in the graph and for every tensor
        bound to it (graph outputs take the user's names)."""
        self.graph.rename(old, new)
        for _, names in self._by_node.values():
            for index, name in enumerate(names):
                if name == old:
                    names[index] = new
        for table in (self._by_tensor, self._by_array):
            for key, (value, name) in list(table.items()):
                if name == old:
                    table[key] = (value, new)
        if old in self.live:
            self.live.add(new)

    def known(self, value) -> str | None:
        """The graph value ``value`` already is, or None."""
        if isinstance(value, Tensor):
            node = value.grad_fn
            if node is not None:
                entry = self._by_node.get(id(node))
                if entry is not None and entry[0] is node and value._output_nr < len(entry[1]):
                    return entry[1][value._output_nr]
                return None
            entry = self._by_tensor.get(id(value))
            if entry is not None and entry[0] is value:
                return entry[1]
            value = value._data
        entry = self._by_array.get(id(value))
        if entry is not None and entry[0] is value:
            return entry[1]
        return None

    def name_of(self, value) -> str:
        name = self.known(value)
        if name is not None:
            return name
        if isinstance(value, Tensor):
            if value.grad_fn is not None:
                raise SymbolicValueError(
                    f"a tensor of shape {list(value.shape)} reached the export with history "
                    f"({value.grad_fn.name()}) computed outside the trace; compute it inside "
                    "the model's forward")
            base = value._base
            if base is not None and self.known(base) in self.live:
                raise SymbolicValueError(
                    f"a view of shape {list(value.shape)} of a traced tensor was taken by a "
                    "path the exporter cannot see (an op on a tensor that does not require "
                    "grad, such as an integer input); use ops that record")
            array = value._data
        else:
            array = value
        host = array.get() if hasattr(array, "get") else np.asarray(array)
        name = self.graph.const(host)
        if isinstance(value, Tensor):
            self._saved.append(value)  # keep ids stable while the trace runs
            self._by_tensor[id(value)] = (value, name)
        else:
            self._by_array[id(array)] = (array, name)
        return name

    # -- recording ---------------------------------------------------------------------

    def __call__(self, cls, args, kwargs):
        """The ``Function.apply`` hook: run the op untraced, then convert it."""
        _function.trace_hook[0] = None
        try:
            result = cls.apply(*args, **kwargs)
        finally:
            _function.trace_hook[0] = self
        self.record(cls, converter_for(cls, self.graph.opset), args, kwargs, result)
        return result

    def _depends_on_graph(self, args, kwargs) -> bool:
        for value in list(args) + list(kwargs.values()):
            if isinstance(value, (list, tuple)):
                if self._depends_on_graph(value, {}):
                    return True
            elif isinstance(value, Tensor) or hasattr(value, "dtype"):
                if self.known(value) in self.live:
                    return True
                if isinstance(value, Tensor) and value.grad_fn is not None:
                    return True  # history from outside the trace: name_of explains
        return False

    def record(self, cls, converter, args, kwargs, result):
        outputs = tuple(result) if isinstance(result, tuple) else (result,)
        if self.fold_constants and not self._depends_on_graph(args, kwargs):
            return  # constant folding: the outputs become initializers when used
        if converter is None:
            raise UnsupportedOperatorError(op_label(cls), self.graph.opset)
        op = TracedOp(cls, args, kwargs, outputs, self)
        names = converter(self.graph, op)
        if isinstance(names, str):
            names = (names,)
        for tensor, name in zip(outputs, names):
            if isinstance(tensor, Tensor) and name is not None:
                self.graph.dtype[name] = tensor._data.dtype
                self.graph.shape[name] = tuple(tensor._data.shape)
                self.flag_traced(tensor)
                self.bind(tensor, name)
                self._saved.append(tensor)

    @staticmethod
    def flag_traced(tensor):
        """Give a traced tensor that has no history (an integer or bool result, or one
        computed from arrays only) a stand-in node and mark it as requiring grad, for the
        rest of the trace: ops on it then take their recording paths through
        ``Function.apply`` instead of paths that would bake its values in, and a tensor
        an in-place op writes it into adopts the node, so it resolves to this value too.
        No backward ever runs through these nodes."""
        if tensor.grad_fn is None:
            tensor.grad_fn = _TracedValue()
            tensor._output_nr = 0
        tensor._requires_grad = True

    def _wrap(self, fn, converter, label):
        """``fn`` recorded as one op; its converter sees every parameter positionally, in
        the signature's order and with defaults filled in."""
        tracer = self
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError):  # a builtin without one
            signature = None

        def traced(*args, **kwargs):
            if _function.trace_hook[0] is not tracer:  # inside another recorded op
                return fn(*args, **kwargs)
            _function.trace_hook[0] = None
            try:
                result = fn(*args, **kwargs)
            finally:
                _function.trace_hook[0] = tracer
            if signature is not None:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                args, kwargs = tuple(bound.arguments.values()), {}
            tracer.record(_Composite(label), converter, args, kwargs, result)
            return result

        return traced

    def _warn_to_python(self, method, kind):
        """``Tensor.item`` (``float()``, ``bool()``, ...) that warns, as PyTorch's tracer
        does, when the tensor is a traced value: the Python value leaves the graph."""
        tracer = self

        def warned(tensor, *args, **kwargs):
            if tracer._converting:  # float() calling item(): one warning
                return method(tensor, *args, **kwargs)
            if _function.trace_hook[0] is tracer and tracer.known(tensor) in tracer.live:
                warnings.warn(
                    f"Converting a tensor to a Python {kind} might cause the trace to be "
                    "incorrect. The exporter cannot record the data flow of Python values, "
                    "so this value will be treated as a constant. This means that the trace "
                    "might not generalize to other inputs!", TracerWarning, stacklevel=2)
            tracer._converting = True
            try:
                return method(tensor, *args, **kwargs)
            finally:
                tracer._converting = False

        return warned

    # -- installing --------------------------------------------------------------------

    def __enter__(self):
        for module, attribute, converter in COMPOSITES:
            original = getattr(module, attribute)
            self._saved_attrs.append((module, attribute, original))
            setattr(module, attribute, self._wrap(original, converter, attribute))
        for owner in (grad_mode.no_grad, grad_mode.inference_mode):
            original = owner.__enter__
            self._saved_attrs.append((owner, "__enter__", original))
            owner.__enter__ = _warn_grad_off(original)
        for attribute, kind in _TO_PYTHON.items():
            original = getattr(Tensor, attribute)
            self._saved_attrs.append((Tensor, attribute, original))
            setattr(Tensor, attribute, self._warn_to_python(original, kind))
        _function.trace_hook[0] = self
        return self

    def __exit__(self, *exc):
        _function.trace_hook[0] = None
        for module, attribute, original in reversed(self._saved_attrs):
            setattr(module, attribute, original)
        self._saved_attrs = []
        return False


# Tensor methods that turn a tensor into Python values, and what they give.
_TO_PYTHON = {"item": "number", "tolist": "list", "__float__": "float", "__int__": "integer",
              "__bool__": "boolean", "__index__": "index"}


def _warn_grad_off(enter):
    """``no_grad().__enter__`` that warns: inside the traced forward, ops that record
    nothing may skip ``Function.apply``, and what they compute would be exported as a
    constant."""

    def warned(self):
        if _function.trace_hook[0] is not None:
            warnings.warn(
                "the traced forward turned gradients off (no_grad or inference_mode): ops "
                "that record nothing can skip the tracer, so their results may be exported "
                "as constants", TracerWarning, stacklevel=2)
        return enter(self)

    return warned


class _TracedValue:
    """The stand-in history of a traced tensor that has none (see ``flag_traced``)."""

    __slots__ = ("__weakref__",)
    _num_outputs = 1
    next_functions = ()

    def name(self):
        return "TracedValue"


class _Composite:
    """Stands in for a Function class when a composite function is recorded."""

    __slots__ = ("_op_name",)

    def __init__(self, name):
        self._op_name = name
