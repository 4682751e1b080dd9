"""The ONNX graph being built: nodes, initializers and what is known of every value.

Converters talk to a ``GraphBuilder`` only: ``g.op("Relu", x)`` appends a node and
returns its output's name, ``g.const(array)`` adds an initializer. Each value's dtype and
traced shape are kept (``g.dtype[name]``, ``g.shape[name]``) so converters can decide
casts and attribute values without asking ONNX's shape inference. ``onnx`` is imported
only when a model is assembled, so building stays plain Python.
"""

from __future__ import annotations

import numpy as np


class GraphBuilder:
    """Nodes in the order the trace met them, plus initializers by name."""

    def __init__(self, opset: int):
        self.opset = opset
        self.nodes = []  # (op_type, inputs, outputs, attributes, node name)
        self.initializers = {}  # name -> NumPy array
        self.dtype = {}  # value name -> NumPy dtype
        self.shape = {}  # value name -> shape seen by the trace
        self._counts = {}
        self._const_cache = {}  # (dtype, shape, bytes) -> name, for small constants
        # traced sizes of the inputs' dynamic dims: reshapes keep them inferred (-1)
        self.dynamic_sizes = frozenset()
        self.dynamic_dims = {}  # traced size -> (graph input, axis) it was read from
        self.scope = ""  # "/<qualified module name>" of the module whose forward runs

    # -- names -------------------------------------------------------------------------

    def _fresh(self, hint: str) -> str:
        """A unique name under the current module scope, as PyTorch's exporter names
        nodes: ``/fc1/Gemm``, then ``/fc1/Gemm_1``, ..."""
        key = f"{self.scope}/{hint}"
        count = self._counts.get(key, 0)
        self._counts[key] = count + 1
        return f"{key}_{count}" if count else key

    def rename(self, old: str, new: str):
        """Give a value a new name everywhere (graph outputs take the user's names)."""
        for index, (op_type, inputs, outputs, attrs, name) in enumerate(self.nodes):
            if old in inputs or old in outputs:
                self.nodes[index] = (
                    op_type, [new if i == old else i for i in inputs],
                    [new if o == old else o for o in outputs], attrs, name)
        for table in (self.dtype, self.shape):
            if old in table:
                table[new] = table[old]

    # -- nodes and constants ----------------------------------------------------------

    def op(self, op_type: str, *inputs, outputs: int = 1, dtype=None, shape=None, **attrs):
        """Append a node; return its output name (a list when ``outputs`` > 1).

        ``dtype``/``shape`` describe the (first) output when the caller knows them;
        elementwise nodes default to their first input's. An input of ``None`` is an
        omitted optional input (ONNX's empty name)."""
        name = self._fresh(op_type)
        out_names = [f"{name}_output_{k}" for k in range(outputs)]
        in_names = ["" if i is None else i for i in inputs]
        self.nodes.append((op_type, in_names, out_names, attrs, name))
        first = out_names[0]
        if dtype is None and inputs and inputs[0] is not None:
            dtype = self.dtype.get(inputs[0])
        if dtype is not None:
            for out in out_names:
                self.dtype[out] = np.dtype(dtype)
        if shape is not None:
            self.shape[first] = tuple(shape)
        elif inputs and inputs[0] is not None and inputs[0] in self.shape and outputs == 1:
            self.shape[first] = self.shape[inputs[0]]
        return out_names if outputs > 1 else first

    def initializer(self, name: str, array) -> str:
        array = np.asarray(array)
        self.initializers[name] = array
        self.dtype[name] = array.dtype
        self.shape[name] = array.shape
        return name

    def const(self, value, dtype=None) -> str:
        """A constant initializer holding ``value``; small ones are shared."""
        array = np.asarray(value, dtype=dtype)
        if array.dtype == np.float64 and dtype is None and not isinstance(value, np.ndarray):
            array = array.astype(np.float32)  # a bare Python float
        key = None
        if array.size <= 16:
            key = (array.dtype.str, array.shape, array.tobytes())
            cached = self._const_cache.get(key)
            if cached is not None:
                return cached
        scope, self.scope = self.scope, ""  # constants are shared across modules
        name = self.initializer(self._fresh("Constant"), np.array(array, order="C"))
        self.scope = scope
        if key is not None:
            self._const_cache[key] = name
        return name

    def ints(self, values) -> str:
        """A 1-D int64 constant (shapes, axes, starts/ends)."""
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1))

    def scalar_like(self, value, name: str) -> str:
        """A 0-d constant of ``name``'s dtype (a Python number meeting a tensor)."""
        return self.const(np.asarray(value, dtype=self.dtype[name]))

    def dim_of_input(self, size: int) -> str | None:
        """A 1-element int64 value holding, at run time, the graph input's dynamic dim
        whose traced size is ``size`` (the batch a constant target shape must follow), or
        None when no dynamic dim has that size."""
        found = self.dynamic_dims.get(size)
        if found is None:
            return None
        name, axis = found
        shape = self.op("Shape", name, dtype=np.int64, shape=(len(self.shape[name]),))
        return self.op("Gather", shape, self.ints([axis]), axis=0, dtype=np.int64, shape=(1,))

    # -- helpers that depend on the opset ----------------------------------------------

    def cast(self, name: str, dtype) -> str:
        dtype = np.dtype(dtype)
        if self.dtype.get(name) == dtype:
            return name
        from onnx import helper

        return self.op("Cast", name, to=helper.np_dtype_to_tensor_dtype(dtype), dtype=dtype,
                       shape=self.shape.get(name))

    def reduce(self, op_type: str, name: str, axes, keepdims: bool, shape=None) -> str:
        """ReduceSum/Mean/Max/... over ``axes`` (all when empty): ``axes`` is an input
        from opset 18 (ReduceSum from 13), an attribute before."""
        axes = list(axes)
        if not axes:
            return self.op(op_type, name, keepdims=int(keepdims), shape=shape)
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, name, self.ints(axes), keepdims=int(keepdims), shape=shape)
        return self.op(op_type, name, axes=axes, keepdims=int(keepdims), shape=shape)

    def unsqueeze(self, name: str, axes, shape=None) -> str:
        return self.op("Unsqueeze", name, self.ints(axes), shape=shape)

    def squeeze(self, name: str, axes, shape=None) -> str:
        return self.op("Squeeze", name, self.ints(axes), shape=shape)

    # -- assembly ----------------------------------------------------------------------

    def node_protos(self):
        from onnx import helper

        return [helper.make_node(op_type, inputs, outputs, name=name, **attrs)
                for op_type, inputs, outputs, attrs, name in self.nodes]

    def value_info(self, name: str, dims=None):
        """A ValueInfoProto for ``name`` with the traced shape, or ``dims`` (ints and
        dim_param strings) when given."""
        from onnx import helper

        elem = helper.np_dtype_to_tensor_dtype(np.dtype(self.dtype[name]))
        shape = self.shape.get(name) if dims is None else dims
        return helper.make_tensor_value_info(name, elem, None if shape is None else list(shape))
