"""The tracer behind ``ember.export``: run the module once on the example inputs and
record every public ember call it makes.

PyTorch's export traces at the dispatcher with fake tensors. ember has no dispatcher, so
this tracer runs the model for real (make_fx's idea) while ember's public functions
(``ember.*``, ``ember.nn.functional.*``, ``special``, ``linalg``, ``fft``), Tensor methods
and operators are swapped for wrappers (the same namespaces ``ember.fx`` swaps). A wrapper
called from user code (not from inside another ember function) records one node, named
as PyTorch's ATen op (``_aten.to_aten``), whose arguments point at the nodes that produced
its input tensors (looked up by identity). Built-in ``ember.nn`` modules run their
PyTorch-shaped forward (``fx._module_forwards``), which calls the functional API.

Python control flow and non-tensor values (``x.shape[1]``, ``x.item()``) are evaluated on
the example and baked in, as PyTorch's export specializes static shapes. A dimension
marked dynamic gets a symbol: ``x.size(0)`` / ``x.shape[0]`` then return a ``SymInt``
(an ``int`` carrying a node), so ``x.view(x.size(0), -1)`` stays correct at other sizes.
"""

from __future__ import annotations

import inspect
import operator
import sys

import ember
from ember.fx import Graph
from ember.fx._symbolic_trace import _namespace_recorders, _Patcher
from ember.fx.graph import _snake_case
from ember.fx.node import map_aggregate
from ember.utils._pytree import tree_leaves

from . import _aten, _rnn, _symbolic
from ._symbolic import (
    _ACTIVE,
    SymFloat,
    SymInt,
    _active,
    data_dependent_error,
    traced_number,
)

_RAW_SHAPE = inspect.getattr_static(ember.Tensor, "shape").fget  # unpatched, for the tracer

# Tensor attributes that are metadata or bookkeeping, never graph nodes
_NOT_RECORDED = {
    "size", "dim", "ndimension", "numel", "nelement", "item", "tolist", "numpy", "stride",
    "is_contiguous", "data_ptr", "element_size", "requires_grad_", "retain_grad",
    "register_hook", "register_post_accumulate_grad_hook", "backward", "is_floating_point",
    "is_complex", "get_device", "storage", "untyped_storage", "storage_offset", "type",
    "is_signed", "is_set_to", "equal", "allclose", "dim_order", "has_names", "is_shared",
    "share_memory_", "pin_memory", "is_pinned", "cpu", "cuda", "new_tensor",
    "__repr__", "__format__", "__bool__", "__len__", "__hash__", "__index__", "__int__",
    "__float__", "__complex__", "__iter__", "__array__", "__reduce_ex__", "__deepcopy__",
    "__setstate__", "__contains__", "__dlpack__", "__dlpack_device__", "__array_wrap__",
}
_DUNDERS = [
    "__add__", "__radd__", "__iadd__", "__sub__", "__rsub__", "__isub__", "__mul__",
    "__rmul__", "__imul__", "__truediv__", "__rtruediv__", "__itruediv__", "__floordiv__",
    "__mod__", "__pow__", "__rpow__", "__matmul__", "__rmatmul__", "__neg__", "__abs__",
    "__invert__", "__and__", "__or__", "__xor__", "__eq__", "__ne__", "__lt__", "__le__",
    "__gt__", "__ge__", "__getitem__", "__setitem__",
]


# ops PyTorch records even when they return their input (dropout in eval mode)
_RECORDED_IDENTITY = {"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                      "feature_alpha_dropout"}
_IN_PLACE = {"__iadd__", "__isub__", "__imul__", "__itruediv__", "__setitem__"}


class TensorMeta:
    """What a node's value looks like: shape (ints and symbols), dtype, device."""

    __slots__ = ("device", "dtype", "requires_grad", "shape")

    def __init__(self, shape: tuple, dtype, device, requires_grad: bool = False) -> None:
        self.shape, self.dtype, self.device = shape, dtype, device
        self.requires_grad = requires_grad

    def __repr__(self) -> str:
        return f"TensorMeta(shape={list(self.shape)}, dtype={self.dtype})"


class ExportTracer:
    """One export run: the graph, the tensor -> node map, the symbols of dynamic dims."""

    def __init__(self, root) -> None:
        self.root = root
        self.graph = Graph()
        self.node_of: dict[int, object] = {}
        self.alive: list = []  # keeps traced tensors alive, so ids are not reused
        self.depth = 0
        self.symbols: dict[tuple[int, int], object] = {}  # (id(tensor), dim) -> Symbol
        self.hints: dict[int, object] = {}  # example value -> Symbol (for derived tensors)
        self.size_nodes: dict[tuple[int, int], SymInt] = {}
        self.constants: dict[str, ember.Tensor] = {}
        self.constant_nodes: list = []
        self.first_user_input = None  # lifted constants go before the user inputs
        self.unbacked = 0  # u0, u1, ...: values read out of traced tensors
        self.module_stack: list = []  # PyTorch's nn_module_stack entries of the calls
        self.module_paths = {id(m): path for path, m in root.named_modules()}
        self.module_tensors = {}
        for prefix, module in root.named_modules():
            for key, value in vars(module).items():
                if isinstance(value, ember.Tensor):
                    self.module_tensors[id(value)] = f"{prefix}.{key}" if prefix else key

    # -- values -> nodes ---------------------------------------------------------------

    def track(self, tensor, node) -> None:
        self.node_of[id(tensor)] = node
        self.alive.append(tensor)
        node.meta["val"] = self.meta_of(tensor)
        node.meta["tensor_meta"] = node.meta["val"]

    def meta_of(self, tensor) -> TensorMeta:
        shape = []
        for dim, size in enumerate(_RAW_SHAPE(tensor)):
            symbol = self.symbols.get((id(tensor), dim))
            shape.append(symbol if symbol is not None else int(size))
        return TensorMeta(tuple(shape), tensor.dtype, tensor.device, tensor.requires_grad)

    def arg(self, value):
        """A call argument with tensors and SymInts replaced by their nodes."""
        def convert(item):
            if isinstance(item, ember.Tensor):
                node = self.node_of.get(id(item))
                return node if node is not None else self.lift_constant(item)
            if isinstance(item, (SymInt, SymFloat)):
                return item.node
            return item
        return map_aggregate(value, convert)

    def lift_constant(self, tensor):
        """A tensor made outside the trace (a plain module attribute, a global): a
        ``CONSTANT_TENSOR`` input, as PyTorch lifts it."""
        qualname = self.module_tensors.get(id(tensor))
        name = f"c_{qualname.replace('.', '_')}" if qualname else \
            f"c_lifted_tensor_{len([n for n in self.constants if 'lifted' in n])}"
        target = qualname or name[2:]
        with self.graph.inserting_before(self.first_user_input):
            node = self.graph.placeholder(name)
        self.constants[target] = tensor
        self.constant_nodes.append((node, target))
        self.track(tensor, node)
        return node

    def contains_traced(self, value) -> bool:
        return any(isinstance(leaf, (ember.Tensor, SymInt, SymFloat))
                   for leaf in _leaves(value))

    # -- recording -----------------------------------------------------------------------

    def record(self, name: str, fn, args: tuple, kwargs: dict, result) -> None:
        if name in _NOT_RECORDED:
            return
        results = _leaves(result)
        if not any(isinstance(r, ember.Tensor) for r in results):
            if name == "__setitem__" and args and isinstance(args[0], ember.Tensor):
                pass
            else:
                return
        if not (self.contains_traced((args, kwargs)) or _aten.is_factory(name)):
            return
        in_place = (name.endswith("_") and not name.endswith("__")) or name in _IN_PLACE or \
            _aten.inplace_requested(fn, args, kwargs)
        if not in_place and name not in _RECORDED_IDENTITY and isinstance(
                result, ember.Tensor) and any(
                result is a for a in _leaves((args, kwargs))):
            return  # returned an input unchanged (dropout in eval, contiguous): no node
        if name == "__rtruediv__":
            # ``2 / x`` is ``x.reciprocal() * 2`` in PyTorch's Tensor.__rtruediv__
            reciprocal = self.graph.create_node(
                "call_function", _aten.register_aten_op("reciprocal"), (self.arg(args[0]),),
                {}, name="reciprocal")
            node = self.graph.create_node(
                "call_function", _aten.register_aten_op("mul", "Tensor"),
                (reciprocal, self.arg(args[1])), {}, name="mul")
            self.track(result, node)
            return
        if name == "__getitem__" and isinstance(args[0], ember.Tensor) and \
                isinstance(result, ember.Tensor):
            steps = _aten.lower_getitem(args[0].dim(), args[1])
            if steps:
                node = self.arg(args[0])
                for op, op_args, op_name in steps:
                    node = self.graph.create_node("call_function", op, (node, *op_args), {},
                                                  name=op_name)
                self.propagate_symbols(result, (args, kwargs))
                self.track(result, node)
                return
            if steps == []:  # x[:] / x[...]: the same values, as PyTorch's alias
                node = self.graph.create_node("call_function", _aten.register_aten_op(
                    "alias"), (self.arg(args[0]),), {}, name="alias")
                self.track(result, node)
                return
        target, aten_args, aten_kwargs = _aten.to_aten(name, fn, args, kwargs)
        node_name = _snake_case(getattr(target, "_opname", None) or
                                getattr(target, "__name__", name))
        node = self.graph.create_node("call_function", target, self.arg(tuple(aten_args)),
                                      self.arg(dict(aten_kwargs)), name=node_name)
        if name == "__setitem__":
            node.meta["val"] = None
            return
        if isinstance(result, ember.Tensor):
            self.propagate_symbols(result, (args, kwargs))
            self.track(result, node)
            return
        node.meta["val"] = None
        for index, item in enumerate(result):
            if isinstance(item, ember.Tensor):
                getter = self.graph.create_node("call_function", operator.getitem,
                                                (node, index), {}, name="getitem")
                self.propagate_symbols(item, (args, kwargs))
                self.track(item, getter)

    def propagate_symbols(self, tensor, inputs=()) -> None:
        """Give a result's dims the symbols of its inputs' dynamic dims: dim ``i`` gets
        symbol ``s`` when an input has ``s`` at the same position counted from the front
        or from the back and the sizes agree (a heuristic: there are no symbolic shape
        rules per op; a dim it misses is treated as static)."""
        if not self.hints:
            return
        front, back = {}, {}
        for value in _leaves(inputs):
            if not isinstance(value, ember.Tensor):
                continue
            ndim = value.dim()
            for dim in range(ndim):
                symbol = self.symbols.get((id(value), dim))
                if symbol is not None:
                    front.setdefault(dim, symbol)
                    back.setdefault(dim - ndim, symbol)
        shape = _RAW_SHAPE(tensor)
        for dim, size in enumerate(shape):
            for symbol in (front.get(dim), back.get(dim - len(shape))):
                if symbol is not None and symbol.hint == int(size):
                    self.symbols[(id(tensor), dim)] = symbol
                    break

    def symbolic_size(self, tensor, dim: int):
        dim = dim % max(tensor.dim(), 1)
        value = _RAW_SHAPE(tensor)[dim]
        symbol = self.symbols.get((id(tensor), dim))
        node = self.node_of.get(id(tensor))
        if symbol is None or node is None:
            return int(value)
        key = (id(tensor), dim)
        if key not in self.size_nodes:
            size_op = _aten.register_aten_op("sym_size", "int")
            size_node = self.graph.create_node("call_function", size_op, (node, dim), {},
                                               name="sym_size_int")
            size_node.meta["sym_expr"] = symbol.name
            size_node.meta["val"] = symbol  # a torch.SymInt, as PyTorch's sym_size node holds
            self.size_nodes[key] = SymInt(int(value), size_node, symbol.name)
        return self.size_nodes[key]


def _leaves(value) -> list:
    if isinstance(value, ember.Tensor):
        return [value]
    return tree_leaves(value)


# -- patching ember while a trace runs ----------------------------------------------------

def _wrap(name: str, original):
    def wrapper(*args, **kwargs):
        tracer = _active()
        if tracer is None or tracer.depth:
            return original(*args, **kwargs)
        tracer.depth += 1
        try:
            result = original(*args, **kwargs)
        finally:
            tracer.depth -= 1
        tracer.record(name, original, args, kwargs, result)
        return result

    wrapper.__name__ = getattr(original, "__name__", name)
    wrapper.__doc__ = getattr(original, "__doc__", None)
    wrapper._export_original = original
    return wrapper


def _patch_ember(patcher: _Patcher, root) -> None:
    originals: dict[int, object] = {}
    patched = set()
    for module, name, original, _recorder in _namespace_recorders():
        wrapper = originals.setdefault(id(original), _wrap(name, original))
        # the public name, and the defining module's (modules reach functions through
        # internal aliases too: nn.modules.pooling's ``F`` is ember._ops.pool)
        home = sys.modules.get(getattr(original, "__module__", None) or "")
        for owner, attr in ((module, name), (home, getattr(original, "__name__", name))):
            if owner is None or (id(owner), attr) in patched:
                continue
            if owner is module or vars(owner).get(attr) is original:
                patched.add((id(owner), attr))
                patcher.patch_attr(owner, attr, wrapper)
    names = {n for n in dir(ember.Tensor) if not n.startswith("_")} | set(_DUNDERS)
    for attr in sorted(names - _NOT_RECORDED):
        original = inspect.getattr_static(ember.Tensor, attr, None)
        if not callable(original) or isinstance(original, (type, staticmethod, classmethod)):
            continue
        patcher.patch_attr(ember.Tensor, attr, _wrap(attr, original))
    _patch_properties(patcher)
    patched_classes = set()
    for module in root.modules():
        # functions kept as attributes (TransformerEncoderLayer.activation = F.relu)
        for key, value in list(vars(module).items()):
            if callable(value) and id(value) in originals:
                patcher.patch_attr(module, key, originals[id(value)])
        # ... or as class attributes (ConvTranspose2d._functional = staticmethod(...))
        for klass in type(module).__mro__:
            if klass in patched_classes or klass is object:
                continue
            patched_classes.add(klass)
            for key, value in list(vars(klass).items()):
                if isinstance(value, staticmethod) and id(value.__func__) in originals:
                    patcher.patch_attr(klass, key, staticmethod(originals[id(value.__func__)]))
    visited = set()
    for module in root.modules():
        forward = getattr(type(module), "forward", None)
        globals_ = getattr(forward, "__globals__", None)
        if globals_ is None or id(globals_) in visited:
            continue
        visited.add(id(globals_))
        for key, value in list(globals_.items()):
            if callable(value) and id(value) in originals:
                patcher.patch_dict(globals_, key, originals[id(value)])
    _patch_module_call(patcher)


def _patch_properties(patcher: _Patcher) -> None:
    original_size = ember.Tensor.size
    original_shape = inspect.getattr_static(ember.Tensor, "shape")

    def size(self, dim=None):
        tracer = _active()
        if tracer is None or tracer.depth or not tracer.symbols:
            return original_size(self, dim) if dim is not None else original_size(self)
        if dim is not None:
            return tracer.symbolic_size(self, dim)
        # tuple.__new__: Size() would turn the SymInts back into plain ints
        return tuple.__new__(ember.Size, [tracer.symbolic_size(self, d)
                                          for d in range(self.dim())])

    def shape(self):
        tracer = _active()
        if tracer is None or tracer.depth or not tracer.symbols:
            return original_shape.fget(self)
        return size(self)

    patcher.patch_attr(ember.Tensor, "size", size)
    _patch_value_reads(patcher)
    patcher.patch_attr(ember.Tensor, "shape", property(shape))
    for prop, recorded in (("T", "numpy_T"), ("mT", "mT")):
        original = inspect.getattr_static(ember.Tensor, prop, None)
        if isinstance(original, property):
            patcher.patch_attr(ember.Tensor, prop, property(_wrap(recorded, original.fget)))


def _patch_value_reads(patcher: _Patcher) -> None:
    """``bool(tensor)`` on a traced tensor is refused (PyTorch's data-dependent guard
    error); ``tensor.item()`` records ``aten.item.default`` and returns a traced number."""
    original_bool = ember.Tensor.__bool__
    original_item = ember.Tensor.item

    def __bool__(self):
        tracer = _active()
        if tracer is not None and not tracer.depth and id(self) in tracer.node_of:
            tracer.unbacked += 1
            if _symbolic.draft_failures[0] is not None:  # draft_export: follow the example
                _symbolic.draft_failures[0].append(f"Eq(u{tracer.unbacked - 1}, 1)")
                return original_bool(self)
            raise data_dependent_error(tracer.unbacked - 1)
        return original_bool(self)

    def item(self):
        value = original_item(self)
        tracer = _active()
        if tracer is None or tracer.depth or id(self) not in tracer.node_of or \
                isinstance(value, bool):
            return value
        node = tracer.graph.create_node("call_function", _aten.register_aten_op("item"),
                                        (tracer.node_of[id(self)],), {}, name="item")
        name = f"u{tracer.unbacked}"
        tracer.unbacked += 1
        node.meta["sym_expr"] = name
        return traced_number(value, node, name)

    patcher.patch_attr(ember.Tensor, "__bool__", __bool__)
    patcher.patch_attr(ember.Tensor, "item", item)


def _patch_module_call(patcher: _Patcher) -> None:
    """Built-in modules run their PyTorch-shaped forward; a module whose output tensors
    the trace did not see (computed outside ember's public functions) is an error, not
    a silently constant result."""
    from ember.fx._module_forwards import traced_forward
    from ember.nn import Module

    original_call = Module.__call__

    def call(module, *args, **kwargs):
        tracer = _active()
        path = None if tracer is None or tracer.depth else tracer.module_paths.get(id(module))
        if path is None:
            return run_module(tracer, module, args, kwargs)
        cls = type(module)
        qualname = f"{cls.__module__}.{cls.__qualname__}"
        if qualname.startswith("ember."):
            qualname = "torch." + qualname[len("ember."):]
        tracer.module_stack.append((f"L__self__{path}", (path, qualname)))
        try:
            return run_module(tracer, module, args, kwargs)
        finally:
            tracer.module_stack.pop()

    def run_module(tracer, module, args, kwargs):
        if tracer is not None and not tracer.depth and _rnn.is_recordable(module, args, kwargs):
            tracer.depth += 1
            try:
                result = original_call(module, *args, **kwargs)
            finally:
                tracer.depth -= 1
            _rnn.record(tracer, module, args, kwargs, result)
            return result
        forward = traced_forward(module) if tracer is not None else None
        if forward is not None and not module._forward_hooks and \
                not module._forward_pre_hooks:
            result = forward(module, *args, **kwargs)
        else:
            result = original_call(module, *args, **kwargs)
        if tracer is not None and not tracer.depth:
            inputs_traced = any(isinstance(t, ember.Tensor) and id(t) in tracer.node_of
                                for t in _leaves((args, kwargs)))
            for out in _leaves(result):
                if inputs_traced and isinstance(out, ember.Tensor) and \
                        id(out) not in tracer.node_of:
                    raise RuntimeError(
                        f"ember.export: {type(module).__name__}.forward computed an output "
                        "outside ember's public functions and Tensor methods, so the graph "
                        "cannot record it; call ember / ember.nn.functional functions there")
        return result

    patcher.patch_attr(Module, "__call__", call)


def _op_call_hook(op, args, kwargs):
    """``ember.ops.<ns>.<op>.<overload>(...)`` (custom ops included) while tracing: one node
    whose target is the operator itself, as PyTorch records it."""
    tracer = _active()
    if tracer is None or tracer.depth:
        return op._call(*args, **kwargs)
    tracer.depth += 1
    try:
        result = op._call(*args, **kwargs)
    finally:
        tracer.depth -= 1
    if not tracer.contains_traced((args, kwargs)):
        return result
    node = tracer.graph.create_node("call_function", op, tracer.arg(tuple(args)),
                                    tracer.arg(dict(kwargs)), name=_snake_case(op._opname))
    if isinstance(result, ember.Tensor):
        tracer.propagate_symbols(result, (args, kwargs))
        tracer.track(result, node)
    elif isinstance(result, (list, tuple)):
        node.meta["val"] = None
        for index, item in enumerate(result):
            if isinstance(item, ember.Tensor):
                getter = tracer.graph.create_node("call_function", operator.getitem,
                                                  (node, index), {}, name="getitem")
                tracer.track(item, getter)
    return result


def run(tracer: ExportTracer, call):
    from .. import ops

    patcher = _Patcher()
    previous = _active()
    previous_hook = ops._CALL_HOOK[0]
    _ACTIVE.tracer = tracer
    ops._CALL_HOOK[0] = _op_call_hook
    original_create = tracer.graph.create_node

    def create_node(*args, **kwargs):
        node = original_create(*args, **kwargs)
        if tracer.module_stack and node.op == "call_function":
            node.meta["nn_module_stack"] = dict(tracer.module_stack)
        return node

    tracer.graph.create_node = create_node  # for this trace only (removed below)
    try:
        _patch_ember(patcher, tracer.root)
        return call()
    finally:
        patcher.restore()
        del tracer.graph.create_node
        _ACTIVE.tracer = previous
        ops._CALL_HOOK[0] = previous_hook
