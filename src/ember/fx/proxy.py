"""``Proxy``: the stand-in value symbolic tracing passes through user code.

Every operation on a Proxy records a Node instead of computing: operators become
``call_function`` nodes on ``operator.*``, attribute reads become ``getattr`` nodes (or a
``call_method`` node when the attribute is called), and ember functions become
``call_function`` nodes through the tracer's wrappers. Control flow that would need a
concrete value (``if proxy:``, ``len(proxy)``, ``for v in proxy``) raises PyTorch's
``TraceError`` texts, because a graph cannot record a Python branch.
"""

from __future__ import annotations

import dis
import inspect
import operator
from typing import Any, ClassVar

from .graph import _REFLECTABLE, MAGIC_METHODS, Graph
from .node import Node, map_aggregate

__all__ = [
    "Attribute",
    "GraphAppendingTracer",
    "ParameterProxy",
    "Proxy",
    "TraceError",
    "TracerBase",
]


class TraceError(ValueError):
    """A traced program needed a concrete value (control flow on a Proxy)."""


class TracerBase:
    """Node and Proxy creation shared by all tracers; ``Tracer`` adds module handling."""

    graph: Graph
    record_stack_traces = False
    check_mutable_operations = False
    trace_asserts = False
    proxy_buffer_attributes = False
    traced_func_name = "forward"
    scope = None
    module_stack: ClassVar[dict] = {}
    node_name_to_scope: ClassVar[dict] = {}

    def create_node(self, kind: str, target, args: tuple, kwargs: dict,
                    name: str | None = None, type_expr=None) -> Node:
        return self.graph.create_node(kind, target, args, kwargs, name, type_expr)

    def proxy(self, node: Node) -> Proxy:
        return Proxy(node, self)

    def create_proxy(self, kind: str, target, args, kwargs, name: str | None = None,
                     type_expr=None, proxy_factory_fn=None) -> Proxy:
        """Record ``kind``/``target`` applied to ``args``/``kwargs`` (Proxies inside become
        their nodes) and return the Proxy of the new node."""
        args_ = self.create_arg(args)
        kwargs_ = self.create_arg(kwargs)
        if not isinstance(args_, tuple) or not isinstance(kwargs_, dict):
            raise AssertionError(  # noqa: TRY004 - PyTorch's type
                "create_arg must return a tuple for args and a dict for kwargs")
        node = self.create_node(kind, target, args_, kwargs_, name, type_expr)
        return self.proxy(node) if proxy_factory_fn is None else proxy_factory_fn(node)

    def create_arg(self, a: Any):
        """Turn a value into something a Node can hold: Proxies to nodes, containers
        element-wise, plain constants as they are."""
        if isinstance(a, Proxy):
            return a.node
        if isinstance(a, tuple) and hasattr(a, "_fields"):
            return type(a)(*(self.create_arg(elem) for elem in a))
        if isinstance(a, (tuple, list)):
            return type(a)(self.create_arg(elem) for elem in a)
        if isinstance(a, dict):
            out = {}
            for key, value in a.items():
                key = self.create_arg(key)
                if isinstance(key, Node):
                    raise RuntimeError(  # noqa: TRY004 - PyTorch's type
                        f"Keys for dictionaries used as an argument cannot contain a Node. "
                        f"Got key: {key}")
                out[key] = self.create_arg(value)
            return out
        if isinstance(a, slice):
            return slice(self.create_arg(a.start), self.create_arg(a.stop),
                         self.create_arg(a.step))
        if isinstance(a, range):
            return range(self.create_arg(a.start), self.create_arg(a.stop),
                         self.create_arg(a.step))
        if isinstance(a, Node) or a is None or a is ... or _is_base_type(a):
            return a
        raise NotImplementedError(f"argument of type: {type(a)}")

    def to_bool(self, obj: Proxy) -> bool:
        raise TraceError("symbolically traced variables cannot be used as inputs to control flow")

    def iter(self, obj: Proxy):
        raise TraceError(
            "Proxy object cannot be iterated. This can be attempted when the Proxy is used in "
            "a loop or as a *args or **kwargs function argument. See the torch.fx docs on "
            "pytorch.org for a more detailed explanation of what types of control flow can be "
            "traced, and check out the Proxy docstring for help troubleshooting Proxy "
            "iteration errors")

    def keys(self, obj: Proxy):
        return Attribute(obj, "keys")()


def _is_base_type(a) -> bool:
    import enum

    import ember

    return isinstance(a, (str, int, float, bool, complex, ember.dtype, ember.device, type,
                          enum.Enum)) or callable(a) and not isinstance(a, ember.Tensor)


class GraphAppendingTracer(TracerBase):
    """A tracer that appends to an existing graph (for ``Proxy(node)`` in passes)."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.scope = None
        self.module_stack = {}
        self.node_name_to_scope = {}


class Proxy:
    """A value being traced: records the operations applied to it as Nodes.

    Example::

        def forward(self, x):            # x is a Proxy during symbolic_trace
            return x.relu() + 1          # records call_method relu, then operator.add
    """

    def __init__(self, node: Node, tracer: TracerBase | None = None) -> None:
        if tracer is None:
            tracer = GraphAppendingTracer(node.graph)
        self.tracer = tracer
        self.node = node

    def __repr__(self) -> str:
        return f"Proxy({self.node.name})"

    __hash__ = object.__hash__

    def __getattr__(self, name: str) -> Attribute:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return Attribute(self, name)

    def __getstate__(self):
        return self.__dict__

    def __setstate__(self, state) -> None:
        self.__dict__ = state

    def __deepcopy__(self, memo) -> Proxy:
        return Proxy(self.node, self.tracer)

    def __call__(self, *args, **kwargs) -> Proxy:
        return self.tracer.create_proxy("call_method", "__call__", (self, *args), kwargs)

    def __iter__(self):
        frame = inspect.currentframe().f_back
        instructions = list(dis.get_instructions(frame.f_code))
        for inst in instructions:
            if inst.offset == frame.f_lasti and inst.opname == "UNPACK_SEQUENCE":
                # ``a, b = proxy`` has a known length: unpack into getitem nodes
                return (self[i] for i in range(inst.argval))
        return self.tracer.iter(self)

    def __bool__(self) -> bool:
        return self.tracer.to_bool(self)

    def keys(self):
        return self.tracer.keys(self)

    def __len__(self):
        raise RuntimeError("'len' is not supported in symbolic tracing by default. If you want "
                           "this call to be recorded, please call torch.fx.wrap('len') at "
                           "module scope")


def _binary(method_name: str):
    target = getattr(operator, method_name)

    def impl(*args, **kwargs):
        tracer = args[0].tracer
        return tracer.create_proxy("call_function", target, args, kwargs)

    impl.__name__ = f"__{method_name.strip('_')}__"
    return impl


# ``tensor + proxy`` reaches PyTorch's tracer as the Tensor method below (through
# __torch_function__); ember's Tensor declines the operand and Python calls the Proxy's
# reflected slot, which records the same call_method.
_TENSOR_METHOD_OF = {
    "add": "add", "sub": "sub", "mul": "mul", "truediv": "div", "floordiv": "__floordiv__",
    "mod": "remainder", "pow": "pow", "matmul": "matmul", "and_": "__and__", "or_": "__or__",
    "xor": "__xor__", "lshift": "__lshift__", "rshift": "__rshift__",
}


def _reflected(method_name: str):
    target = getattr(operator, method_name)
    tensor_method = _TENSOR_METHOD_OF.get(method_name)

    def impl(self, rhs):
        import ember

        if isinstance(rhs, ember.Tensor) and tensor_method is not None:
            return self.tracer.create_proxy("call_method", tensor_method, (rhs, self), {})
        return self.tracer.create_proxy("call_function", target, (rhs, self), {})

    impl.__name__ = f"__r{method_name.strip('_')}__"
    return impl


for _name in MAGIC_METHODS:
    if not hasattr(operator, _name):  # "div": Python 3 has no __div__
        continue
    setattr(Proxy, f"__{_name.strip('_')}__", _binary(_name))
for _name in _REFLECTABLE:
    if not hasattr(operator, _name):
        continue
    setattr(Proxy, f"__r{_name.strip('_')}__", _reflected(_name))


class Attribute(Proxy):
    """``proxy.name``: a ``call_method`` node when called, otherwise (lazily) a
    ``getattr`` node."""

    def __init__(self, root: Proxy, attr: str) -> None:
        self.root = root
        self.attr = attr
        self.tracer = root.tracer
        self._node: Node | None = None

    @property
    def node(self) -> Node:
        if self._node is None:
            self._node = self.tracer.create_proxy("call_function", getattr,
                                                  (self.root, self.attr), {}).node
        return self._node

    def __call__(self, *args, **kwargs) -> Proxy:
        return self.tracer.create_proxy("call_method", self.attr, (self.root, *args), kwargs)


class ParameterProxy(Proxy):
    """A Proxy for a parameter, which answers shape questions from the real parameter
    (PyTorch uses it when ``param_shapes_constant`` is set)."""

    def __init__(self, tracer: TracerBase, node: Node, name: str, param) -> None:
        super().__init__(node, tracer)
        self.param = param
        self.name = name

    def __repr__(self) -> str:
        return f"ParameterProxy({self.name})"

    @property
    def shape(self):
        return self.param.shape

    def size(self, dim=None):
        return self.param.size() if dim is None else self.param.size(dim)

    def dim(self) -> int:
        return self.param.dim()

    @property
    def ndim(self) -> int:
        return self.param.ndim

    def numel(self) -> int:
        return self.param.numel()

    def nelement(self) -> int:
        return self.param.nelement()


def _find_proxy(*objects) -> Proxy | None:
    found = []

    def visit(x):
        if isinstance(x, Proxy) and not found:
            found.append(x)
        return x

    map_aggregate(objects, visit)
    return found[0] if found else None
