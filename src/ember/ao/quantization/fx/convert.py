"""convert_fx: turn an observed GraphModule into a quantized one, as PyTorch's lowering
for its default backend leaves it.

The observed graph is rebuilt node by node, tracking which values are quantized tensors:

- an observer on a float value becomes ``quantize_per_tensor(x, <prefix>scale_N,
  <prefix>zero_point_N, dtype)`` with the parameters stored as attributes (PyTorch's
  names); an observer on a value already quantized with its parameters disappears;
- a weighted module with a quantized input becomes its quantized module (``from_float``
  with the output observer's parameters): QuantizedConv2d, QuantizedLinearReLU, ...;
- add/mul (and add-relu) of two quantized tensors become ``ember.ops.quantized.add`` /
  ``add_relu`` / ``mul`` / ``mul_relu`` with the output observer's parameters (of a
  tensor and a number: the parameters follow from the input's);
- F.linear of a stored weight becomes ``ember.ops.quantized.linear`` with the weight
  packed once; F.hardswish / elu / leaky_relu / dropout their quantized operators;
- ops that keep their input's quantization run on the quantized tensor as they are;
- any other node gets its quantized inputs dequantized (``x.dequantize()``), as does the
  graph's output.

Dynamic qconfigs swap Linear/LSTM for their dynamically quantized modules.
``convert_to_reference_fx`` keeps float modules instead (weights rounded through their
quantization) with a quantize/dequantize pair at each observer: PyTorch's reference
representation.
"""

from __future__ import annotations

import copy
import inspect

import ember

from .... import fx, nn
from ....nn.quantized import Dropout as _QuantizedDropout
from ....nn.quantized import Softmax as _QuantizedSoftmax
from ...nn import intrinsic as nni
from ..quantize import (
    get_default_dynamic_quant_module_mappings,
    get_default_static_quant_module_mappings,
)
from . import _patterns, _quantized_ops  # noqa: F401 - registers ember.ops.quantized.*
from .custom_config import ConvertCustomConfig
from .prepare import META_KEY, USER_PRESERVED_KEY, activation_mode, is_observer_module


def _from_float(quantized_class, module, qconfig, output_observer=None):
    """``quantized_class.from_float`` reads ``qconfig`` / ``activation_post_process``
    attributes (eager mode's protocol); they are set for the call only, as the float
    module may still belong to the user's model."""
    module.qconfig = qconfig
    if output_observer is not None:
        module.activation_post_process = output_observer
    try:
        return quantized_class.from_float(module)
    finally:
        del module.qconfig
        if output_observer is not None:
            del module.activation_post_process


def _is_static_observer(observer):
    dtype = getattr(observer, "dtype", None)
    return dtype in (ember.quint8, ember.qint8) and not getattr(
        observer, "is_dynamic", False) and hasattr(observer, "calculate_qparams")


def _numbered(base, index):
    return base if index == 0 else f"{base}_{index}"


def _attribute(root, target):
    for name in target.split("."):
        root = getattr(root, name)
    return root


def _static_module_mapping():
    """The eager mapping and the swaps FX lowering adds (as PyTorch's backend does)."""
    mapping = get_default_static_quant_module_mappings()
    mapping[nn.Softmax] = _QuantizedSoftmax
    mapping[nn.Dropout] = _QuantizedDropout
    return mapping


def _quantized_functions():
    """float function -> (quantized op name, the arguments it passes on by name)."""
    from .. import quantization_mappings  # noqa: F401 - registers the quantized ops

    F = nn.functional
    return {F.hardswish: ("hardswish", ()), F.elu: ("elu", ("alpha",)),
            F.leaky_relu: ("leaky_relu", ("negative_slope", "inplace")),
            F.dropout: ("dropout", ("p", "training"))}


class _Converter:
    def __init__(self, gm, attrs, is_reference):
        self.gm = gm
        self.node_qconfig = attrs.node_name_to_qconfig
        self.node_scope = attrs.node_name_to_scope
        self.output_quantized_indexes = (
            () if is_reference else attrs.prepare_custom_config.output_quantized_indexes)
        self.is_reference = is_reference
        self.modules = dict(gm.named_modules(remove_duplicate=False))
        self.graph = fx.Graph()
        self.env = {}
        self.quantized = set()  # new nodes holding quantized tensors
        self.dequantized = {}  # quantized new node -> its dequantize node
        self.names = {}  # observer node -> its (scale, zero point) attribute names
        self.taken = set()
        # PyTorch names nodes after its reference graph: the k-th static observer became
        # quantize_per_tensor_k / dequantize_k, and a lowered op created next to the
        # float one it replaces takes the next free name ("add" -> "add_1")
        self.ordinal = {}
        for node in gm.graph.nodes:
            if self._is_observer(node) and _is_static_observer(self._module(node)):
                self.ordinal[node] = len(self.ordinal)
        self.value_ordinal = {}  # quantized new node -> ordinal of its last observer
        self.original_names = {node.name for node in gm.graph.nodes}

    # -- helpers -------------------------------------------------------------

    def _module(self, node):
        # by path: an observer shared by two ops is one module under two names
        if node.op != "call_module":
            return None
        try:
            return self.gm.get_submodule(node.target)
        except AttributeError:
            return None

    def _is_observer(self, node):
        return isinstance(node, fx.Node) and is_observer_module(self._module(node))

    def _as_float(self, new):
        if new not in self.quantized:
            return new
        if new not in self.dequantized:  # right after the value, where PyTorch puts it
            with self.graph.inserting_after(new):
                self.dequantized[new] = self.graph.create_node(
                    "call_method", "dequantize", (new,), {},
                    name=_numbered("dequantize", self.value_ordinal.get(new, 0)))
        return self.dequantized[new]

    def _fresh_name(self, candidate):
        """``candidate`` or the next ``candidate_N`` free among the observed graph's
        names and those given so far."""
        used = self.original_names | {n.name for n in self.graph.nodes}
        name, index = candidate, 0
        while name in used:
            index += 1
            name = f"{candidate}_{index}"
        return name

    def _float_args(self, node):
        return fx.map_arg(node.args, lambda n: self._as_float(self.env[n])), \
            fx.map_arg(node.kwargs, lambda n: self._as_float(self.env[n]))

    def _raw_args(self, node):
        return fx.map_arg(node.args, lambda n: self.env[n]), \
            fx.map_arg(node.kwargs, lambda n: self.env[n])

    def _qparam_names(self, observer_node):
        """``<prefix>scale_N`` / ``<prefix>zero_point_N`` of an observer node. Every
        static observer gets its names in graph order, used or not (PyTorch names them
        all in its reference graph, then lowering drops some), so the indices match."""
        if observer_node not in self.names:
            prefix = self._prefix(observer_node)
            index = 0
            while f"{prefix}scale_{index}" in self.taken or \
                    hasattr(self.gm, f"{prefix}scale_{index}"):
                index += 1
            self.taken.add(f"{prefix}scale_{index}")
            self.names[observer_node] = (f"{prefix}scale_{index}",
                                         f"{prefix}zero_point_{index}")
        return self.names[observer_node]

    def _qparam_nodes(self, observer_node):
        """get_attr nodes of the observer's parameters (stored as tensors)."""
        scale, zero_point = self._module(observer_node).calculate_qparams()
        names = self._qparam_names(observer_node)
        self.gm.register_buffer(names[0], ember.tensor(float(scale)))
        self.gm.register_buffer(names[1], ember.tensor(int(zero_point)))
        return tuple(self.graph.get_attr(name) for name in names)

    def _prefix(self, observer_node):
        """PyTorch's attribute prefix: the path of the module the observed value comes
        from (a module call's own path, a function's enclosing module), or for a value
        observed only as an input (a graph input, the output of an unquantized op) the
        path of its first user followed by ``_input``."""
        observed = observer_node.args[0]
        if self.node_qconfig.get(observed.name) is None:
            users = list(observer_node.users)
            source, suffix = (users[0] if users else None), "_input"
        else:
            source, suffix = observed, ""
        if source is None:
            path = ""
        elif source.op == "call_module":
            path = source.target
        else:
            path = self.node_scope.get(source.name, ("", None))[0]
        return path.replace(".", "_") + suffix + "_"

    def _is_weight_observer(self, node):
        users = list(node.users)
        return len(users) == 1 and users[0].op == "call_function" and \
            _patterns.op_kind(users[0], self.modules) == "functional_linear" and \
            users[0].args[1] is node

    def _output_observer(self, node):
        """The observer node that is ``node``'s only user, if any."""
        if len(node.users) == 1:
            user = next(iter(node.users))
            if self._is_observer(user):
                return user
        return None

    def _static(self, node):
        return activation_mode(self.node_qconfig.get(node.name)) == "static"

    # -- node kinds ------------------------------------------------------------

    def _observer(self, node):
        observer = self._module(node)
        source = self.env[node.args[0]]
        if node not in self.ordinal:  # dynamic or float: nothing to quantize here
            self.env[node] = source
            return
        ordinal = self.ordinal[node]
        self._qparam_names(node)
        if self._is_weight_observer(node):
            self.env[node] = source  # read by the quantized op's packing, never run
            return
        if source in self.quantized:
            self.env[node] = source  # produced with these parameters already
            self.value_ordinal[source] = ordinal
            return
        scale_node, zero_point_node = self._qparam_nodes(node)
        quantized = self.graph.create_node(
            "call_function", ember.quantize_per_tensor,
            (source, scale_node, zero_point_node, observer.dtype), {},
            name=_numbered("quantize_per_tensor", ordinal))
        if self.is_reference:
            self.env[node] = self.graph.create_node(
                "call_method", "dequantize", (quantized,), {},
                name=_numbered("dequantize", ordinal))
        else:
            self.quantized.add(quantized)
            self.value_ordinal[quantized] = ordinal
            self.env[node] = quantized

    def _weighted(self, node, module, qconfig):
        output_observer = self._output_observer(node)
        source = self.env[node.args[0]]
        mapping = _static_module_mapping()
        if (output_observer is None or source not in self.quantized
                or type(module) not in mapping or len(node.args) != 1 or node.kwargs):
            return False
        quantized_module = _from_float(mapping[type(module)], module, qconfig,
                                       self._module(output_observer))
        _patterns._set_submodule(self.gm, node.target, quantized_module)
        new = self.graph.call_module(node.target, (source,))
        self.quantized.add(new)
        self.env[node] = new
        return True

    def _reference_weighted(self, node, module, qconfig):
        """Float module whose weight went through its quantization (reference form). A
        quantization-aware-training module becomes its float form (batch norm folded)
        with the weight rounded by its trained fake quantizer's parameters."""
        if hasattr(module, "weight_fake_quant"):  # QAT: fold the batch norm first
            observer = module.weight_fake_quant
            module = module.to_float()
        else:
            module = copy.deepcopy(module)  # the user's float model keeps its weights
            observer = None
        _patterns._set_submodule(self.gm, node.target, module)
        core = module[0] if isinstance(module, nni._FusedModule) else module
        if getattr(core, "weight", None) is None:
            return
        if observer is None:
            observer = qconfig.weight()
            observer(core.weight)
        from ....nn.quantized.modules import _quantize_weight

        rounded = _quantize_weight(core.weight.detach().float(), observer).dequantize()
        with ember.no_grad():
            core.weight.copy_(rounded)

    def _binary(self, node, qconfig):
        relu = None
        output_observer = self._output_observer(node)
        if output_observer is None and len(node.users) == 1:
            relu = next(iter(node.users))
            if not _patterns.is_relu(relu, self.modules, after_binary=True):
                return False
            output_observer = self._output_observer(relu)
        a, b = (self.env[arg] if isinstance(arg, fx.Node) else arg for arg in node.args[:2])
        if not isinstance(node.args[0], fx.Node):
            a, b = b, a  # 2.0 * x: the tensor first
        scalar = not isinstance(b, fx.Node)
        if output_observer is None or a not in self.quantized or (
                not scalar and b not in self.quantized):
            return False
        name = _patterns.binary_name(node) + ("_relu" if relu is not None else "")
        op = getattr(ember.ops.quantized, name)
        if scalar:  # the output parameters follow from the input's
            args = (a, b)
        else:
            args = (a, b, *self._qparam_nodes(output_observer))
        new = self.graph.create_node("call_function", op, args, {},
                                     name=self._fresh_name(name))
        self.quantized.add(new)
        self.env[node] = new
        if relu is not None:
            self.env[relu] = new
            self._done.add(relu)
        return True

    def _keeps_quantization(self, node, kind):
        """A share or fixed-range op on a quantized input runs as it is."""
        if not node.args or self.env.get(node.args[0]) not in self.quantized:
            return False
        module = self._module(node)
        if kind == "fixed" and type(module) in _static_module_mapping():
            output_observer = self._output_observer(node)
            if output_observer is None:
                return False
            quantized_module = _from_float(_static_module_mapping()[type(module)], module,
                                           None, self._module(output_observer))
            _patterns._set_submodule(self.gm, node.target, quantized_module)
        args, kwargs = self._raw_args(node)
        new = self.graph.create_node(node.op, node.target, args, kwargs, name=node.name)
        self.quantized.add(new)
        self.env[node] = new
        return True

    def _dynamic(self, node, module, qconfig):
        mapping = get_default_dynamic_quant_module_mappings()
        if type(module) in mapping:
            _patterns._set_submodule(self.gm, node.target,
                                     _from_float(mapping[type(module)], module, qconfig))

    # -- driver ----------------------------------------------------------------

    def run(self):
        self._done = set()
        for node in self.gm.graph.nodes:
            if node in self._done:
                continue
            if node.op == "placeholder":
                self.env[node] = self.graph.node_copy(node)
            elif node.op == "output":
                self.graph.output(self._outputs(node.args[0]))
            elif self._is_observer(node):
                self._observer(node)
            elif not self._convert_op(node):
                args, kwargs = self._float_args(node)
                self.env[node] = self.graph.create_node(node.op, node.target, args, kwargs,
                                                        name=node.name)
        for new in list(self.graph.nodes):
            if new.op == "get_attr" and not new.users:  # a weight packed away
                self.graph.erase_node(new)
        converted = fx.GraphModule(self.gm, self.graph)
        converted.delete_all_unused_submodules()
        return converted

    def _outputs(self, result):
        """The graph's result in float, but at the output quantized indexes of the
        PrepareCustomConfig (an output kept quantized, for a quantized consumer)."""
        keep = set(self.output_quantized_indexes)
        if isinstance(result, (tuple, list)):
            return type(result)(
                fx.map_arg(r, lambda n: self.env[n] if i in keep else
                           self._as_float(self.env[n])) for i, r in enumerate(result))
        return fx.map_arg(result, lambda n: self.env[n] if 0 in keep else
                          self._as_float(self.env[n]))

    def _convert_op(self, node):
        """Emit ``node`` in quantized form when it can be; False to copy it in float."""
        qconfig = self.node_qconfig.get(node.name)
        mode = activation_mode(qconfig)
        kind = _patterns.op_kind(node, self.modules)
        if kind is None or mode is None:
            return False
        module = self._module(node)
        if mode == "dynamic":
            if not self.is_reference and kind in ("weighted", "lstm"):
                self._dynamic(node, module, qconfig)
            return False
        if self.is_reference:
            if kind == "weighted":
                self._reference_weighted(node, module, qconfig)
            return False
        if kind == "weighted":
            return self._weighted(node, module, qconfig)
        if kind == "binary":
            return self._binary(node, qconfig)
        if kind in ("share", "fixed"):
            return self._keeps_quantization(node, kind)
        if kind == "cat":
            return self._cat(node)
        if kind == "functional_linear":
            return self._functional_linear(node)
        if kind == "default" and module is not None:
            return self._swapped_module(node, module)
        if kind == "default" and node.op == "call_function":
            return self._quantized_function(node)
        return False

    def _quantized_function(self, node):
        """F.hardswish / elu / leaky_relu / dropout on a quantized input become
        ``ember.ops.quantized.<name>(x, <their arguments>, output_scale=...,
        output_zero_point=...)``, PyTorch's lowering; others stay in float."""
        kept = _quantized_functions().get(node.target)
        output_observer = self._output_observer(node)
        if kept is None or output_observer is None or not node.args or \
                self.env.get(node.args[0]) not in self.quantized:
            return False
        bound = inspect.signature(node.target).bind(*node.args, **node.kwargs)
        bound.apply_defaults()
        kwargs = {name: bound.arguments[name] for name in kept[1]}
        scale_node, zero_point_node = self._qparam_nodes(output_observer)
        kwargs.update(output_scale=scale_node, output_zero_point=zero_point_node)
        op = getattr(ember.ops.quantized, kept[0])
        new = self.graph.create_node("call_function", op, (self.env[node.args[0]],), kwargs,
                                     name=self._fresh_name(kept[0]))
        self.quantized.add(new)
        self.env[node] = new
        return True

    def _functional_linear(self, node):
        """F.linear(x, w, b) with x quantized and w observed: the weight quantized with
        its observer and packed once (``_packed_weight_N``), then
        ``ember.ops.quantized.linear(x, packed, scale, zero_point)``, PyTorch's lowering."""
        from ....nn.quantized.modules import _quantize_weight

        source = self.env[node.args[0]]
        weight_observer = node.args[1]
        output_observer = self._output_observer(node)
        if source not in self.quantized or output_observer is None or \
                not self._is_observer(weight_observer):
            return False
        weight = self.gm.get_parameter(weight_observer.args[0].target) \
            if weight_observer.args[0].target in dict(self.gm.named_parameters()) \
            else _attribute(self.gm, weight_observer.args[0].target)
        bias = node.args[2] if len(node.args) > 2 else node.kwargs.get("bias")
        if isinstance(bias, fx.Node):
            if bias.op != "get_attr":
                return False
            bias = _attribute(self.gm, bias.target)
        observer = self._module(weight_observer)
        qweight = _quantize_weight(weight.detach().float(), observer)
        index = 0
        while hasattr(self.gm, f"_packed_weight_{index}"):
            index += 1
        from ...._ops import _quantized_kernels

        setattr(self.gm, f"_packed_weight_{index}", _quantized_kernels.PackedWeight(
            qweight, None if bias is None else bias.detach().float()))
        packed = self.graph.get_attr(f"_packed_weight_{index}")
        scale_node, zero_point_node = self._qparam_nodes(output_observer)
        new = self.graph.create_node(  # PyTorch re-targets the node: its name stays
            "call_function", ember.ops.quantized.linear,
            (source, packed, scale_node, zero_point_node), {}, name=node.name)
        self.quantized.add(new)
        self.env[node] = new
        return True

    def _cat(self, node):
        """cat of quantized tensors sharing one observer's parameters runs as it is."""
        inputs = [self.env[a] for a in node.args[0]]
        if not inputs or any(new not in self.quantized for new in inputs):
            return False
        args, kwargs = self._raw_args(node)
        new = self.graph.create_node(node.op, node.target, args, kwargs, name=node.name)
        self.quantized.add(new)
        self.env[node] = new
        return True

    def _swapped_module(self, node, module):
        """A module with a quantized counterpart (Hardswish, ELU, LeakyReLU, ...) taking
        its output parameters from its observer; others run in float between a
        dequantize and the output's quantize, PyTorch's reference form."""
        mapping = _static_module_mapping()
        output_observer = self._output_observer(node)
        if (type(module) not in mapping or output_observer is None or not node.args
                or self.env.get(node.args[0]) not in self.quantized):
            return False
        quantized_module = _from_float(mapping[type(module)], module, None,
                                       self._module(output_observer))
        _patterns._set_submodule(self.gm, node.target, quantized_module)
        args, kwargs = self._raw_args(node)
        new = self.graph.create_node(node.op, node.target, args, kwargs, name=node.name)
        self.quantized.add(new)
        self.env[node] = new
        return True


def convert(observed, is_reference=False, convert_custom_config=None):
    attrs = getattr(observed, "meta", {}).get(META_KEY)
    if attrs is None:
        raise AssertionError(
            "incoming model must be produced by prepare_fx")
    if isinstance(convert_custom_config, dict):
        convert_custom_config = ConvertCustomConfig.from_dict(convert_custom_config)
    config = convert_custom_config or ConvertCustomConfig()
    if config.observed_to_quantized_mapping:
        raise NotImplementedError(
            "ConvertCustomConfig.observed_to_quantized_mapping (custom modules) is not "
            "supported by ember's convert_fx")
    converted = _Converter(observed, attrs, is_reference).run()
    converted.meta.pop(META_KEY, None)
    # the converted module keeps the attributes ConvertCustomConfig names (those prepare
    # kept are not carried over, as in PyTorch)
    preserved = {name: getattr(observed, name) for name in config.preserved_attributes}
    for name, value in preserved.items():
        setattr(converted, name, value)
    converted.meta[USER_PRESERVED_KEY] = preserved
    return converted
