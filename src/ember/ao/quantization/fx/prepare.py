"""prepare_fx: trace, fuse, (for QAT) swap in training modules, and insert observers as
``call_module`` nodes named ``activation_post_process_N``, where PyTorch puts them.

Placement, for a node whose qconfig quantizes statically:

- each tensor input that is not already observed gets an observer (shared by every
  quantized user of that input);
- weighted modules, F.linear of a stored weight (whose weight gets the qconfig's weight
  observer as a node), add/mul of two tensors (with a following relu fused in), ops
  with observers of their own (hardswish, elu, leaky_relu, dropout, layer norm,
  torch.relu) and fixed-range ops (sigmoid, tanh, hardsigmoid, softmax) get a new
  observer on their output;
- ops whose output keeps the input's quantization (F.relu, pooling, torch.flatten,
  reshape, mean, add/mul of a number...) get their input's observer again under a new
  name, as PyTorch shares it; cat's inputs and output all share the first input's.

Dynamic qconfigs only mark the inputs of Linear/LSTM (PlaceholderObservers). The
qconfig and scope of every node are kept in ``meta`` for ``convert_fx``.
"""

from __future__ import annotations

import warnings

import ember

from .... import fx
from ..fake_quantize import FakeQuantizeBase, FixedQParamsFakeQuantize
from ..observer import FixedQParamsObserver, ObserverBase, ReuseInputObserver
from ..qconfig_mapping import QConfigMapping
from ..quantize import _unique_device, get_default_qat_module_mappings
from . import _patterns
from .custom_config import PrepareCustomConfig

META_KEY = "_observed_graph_module_attrs"
USER_PRESERVED_KEY = "_user_preserved_attributes"


class ObservedGraphModuleAttrs:
    """What convert_fx needs from prepare_fx: each node's qconfig and the mode."""

    def __init__(self, node_name_to_qconfig, qconfig_mapping, is_qat, node_name_to_scope,
                 prepare_custom_config):
        self.node_name_to_qconfig = node_name_to_qconfig
        self.qconfig_mapping = qconfig_mapping
        self.is_qat = is_qat
        self.node_name_to_scope = node_name_to_scope
        self.prepare_custom_config = prepare_custom_config

    def __deepcopy__(self, memo):
        # qconfigs hold observer factories and dtypes, which are shared, never copied
        return ObservedGraphModuleAttrs(dict(self.node_name_to_qconfig),
                                        self.qconfig_mapping, self.is_qat,
                                        dict(self.node_name_to_scope),
                                        self.prepare_custom_config)


def is_observer_module(module):
    return isinstance(module, (ObserverBase, FakeQuantizeBase))


def activation_mode(qconfig):
    """``"static"``, ``"dynamic"`` or None (not quantized) for a qconfig's activations."""
    if qconfig is None:
        return None
    activation = qconfig.activation()
    if getattr(activation, "is_dynamic", False):
        return "dynamic"
    if isinstance(activation, ReuseInputObserver):
        return "reuse"
    dtype = getattr(activation, "dtype", None)
    return "static" if dtype in (ember.quint8, ember.qint8) else None


def _as_mapping(qconfig_mapping):
    if qconfig_mapping is None:
        return QConfigMapping()
    if isinstance(qconfig_mapping, dict):
        warnings.warn(
            "Passing a QConfig dictionary to prepare is deprecated and will not be supported "
            "in a future version. Please pass in a QConfigMapping instead.",
            FutureWarning, stacklevel=3)
        return QConfigMapping.from_dict(qconfig_mapping)
    if not isinstance(qconfig_mapping, QConfigMapping):
        raise AssertionError("qconfig_mapping must be a QConfigMapping")
    return QConfigMapping.from_dict(qconfig_mapping.to_dict())  # the caller's stays as is


def as_prepare_custom_config(prepare_custom_config):
    """A PrepareCustomConfig from None, a legacy dict or one; what ember cannot do
    (standalone modules, custom module classes, pre-quantized inputs) is refused."""
    if prepare_custom_config is None:
        return PrepareCustomConfig()
    if isinstance(prepare_custom_config, dict):
        warnings.warn(
            "Passing a prepare_custom_config_dict to prepare is deprecated and will not be "
            "supported in a future version. Please pass in a PrepareCustomConfig instead.",
            FutureWarning, stacklevel=3)
        prepare_custom_config = PrepareCustomConfig.from_dict(prepare_custom_config)
    for option in ("standalone_module_names", "standalone_module_classes",
                   "float_to_observed_mapping", "input_quantized_indexes"):
        if getattr(prepare_custom_config, option):
            raise NotImplementedError(
                f"PrepareCustomConfig.{option} is not supported by ember's prepare_fx")
    return prepare_custom_config


def trace(model, config):
    """(GraphModule of ``model``, node name -> (module path, module type) scope); the
    config's preserved attributes are copied onto the GraphModule."""
    tracer = _patterns.QuantizationTracer(config.non_traceable_module_names,
                                          config.non_traceable_module_classes)
    graph = tracer.trace(model)
    gm = fx.GraphModule(model, graph)
    for name in config.preserved_attributes:
        setattr(gm, name, getattr(model, name))
    return gm, tracer.node_name_to_scope


def _swap_qat_modules(gm, qconfig_of_module):
    """Float (and fused) modules become their quantization-aware-training forms."""
    mapping = get_default_qat_module_mappings()
    for node in gm.graph.nodes:
        if node.op != "call_module":
            continue
        module = gm.get_submodule(node.target)
        qconfig = qconfig_of_module.get(node.target)
        if qconfig is None or type(module) not in mapping:
            continue
        module.qconfig = qconfig
        try:
            qat_module = mapping[type(module)].from_float(module)
        finally:
            del module.qconfig
        _patterns._set_submodule(gm, node.target, qat_module)


class _ObserverInserter:
    def __init__(self, gm):
        self.gm = gm
        self.graph = gm.graph
        self.input_observer = {}  # observed node -> its observer node
        # observers live where the model does (a model calibrated on cuda keeps its
        # statistics there), as PyTorch's prepare places them
        self.device = _unique_device(gm)

    def _free_name(self):
        index = 0
        while hasattr(self.gm, f"activation_post_process_{index}"):
            index += 1
        return f"activation_post_process_{index}"

    def _insert(self, after, module):
        if self.device is not None:
            module = module.to(self.device)
        name = self._free_name()
        setattr(self.gm, name, module)
        with self.graph.inserting_after(after):
            return self.graph.create_node("call_module", name, (after,), {}, name=name)

    def is_observed(self, node):
        return (isinstance(node, fx.Node) and node.op == "call_module"
                and is_observer_module(self.gm.get_submodule(node.target)))

    def observe_input(self, node, arg, factory):
        """Route ``node``'s use of ``arg`` through an observer (one per ``arg``)."""
        if not isinstance(arg, fx.Node) or self.is_observed(arg):
            return
        observer = self.input_observer.get(arg)
        if observer is None:
            observer = self._insert(arg, factory())
            self.input_observer[arg] = observer
        node.replace_input_with(arg, observer)

    def observe_output(self, node, module):
        observer = self._insert(node, module)
        node.replace_all_uses_with(observer, delete_user_cb=lambda user: user is not observer)
        return observer


def _is_fixed_range(qconfig):
    activation = qconfig.activation()
    return isinstance(activation, (FixedQParamsObserver, FixedQParamsFakeQuantize))


def _fused_relu(node, modules, node_qconfig):
    """The relu node following an add/mul as its only user with the same qconfig."""
    if len(node.users) != 1:
        return None
    user = next(iter(node.users))
    if _patterns.is_relu(user, modules, after_binary=True) and \
            node_qconfig.get(user.name) is node_qconfig.get(node.name):
        return user
    return None


def _observe_cat(inserter, gm, node, qconfig):
    """cat's inputs and output share one observer (the first input's), as in PyTorch:
    the other inputs' observers are re-pointed to it, so every input is quantized with
    the parameters the concatenation keeps."""
    for arg in [a for a in node.args[0] if isinstance(a, fx.Node)]:
        inserter.observe_input(node, arg, qconfig.activation)
    observed = [a for a in node.args[0] if inserter.is_observed(a)]
    if not observed:
        return
    shared = gm.get_submodule(observed[0].target)
    for other in observed[1:]:
        setattr(gm, other.target, shared)
    inserter.observe_output(node, shared)


def insert_observers(gm, node_qconfig):
    inserter = _ObserverInserter(gm)
    modules = dict(gm.named_modules(remove_duplicate=False))
    skip = set()
    for node in list(gm.graph.nodes):
        if node in skip or node.op in ("placeholder", "output", "get_attr"):
            continue
        qconfig = node_qconfig.get(node.name)
        kind = _patterns.op_kind(node, modules)
        mode = activation_mode(qconfig)
        if kind is None or mode is None:
            continue
        if mode == "dynamic":
            module = modules.get(node.target) if node.op == "call_module" else None
            if kind == "lstm" or type(module) is ember.nn.Linear:
                inserter.observe_input(node, node.args[0], qconfig.activation)
            continue
        if kind == "lstm":
            continue
        scalar_operand = kind == "binary" and not all(
            isinstance(a, fx.Node) for a in node.args[:2])
        if kind == "share" or mode == "reuse" or scalar_operand:
            # x * 2.0 too: PyTorch shares the input's observer (the kernel derives the
            # output's parameters from the input's)
            source = node.args[0] if node.args else None
            if scalar_operand and not isinstance(source, fx.Node):
                source = node.args[1]
            if mode == "reuse" and not inserter.is_observed(source):
                continue
            inserter.observe_input(node, source, qconfig.activation)
            observed = node.args[1] if scalar_operand and not isinstance(
                node.args[0], fx.Node) else node.args[0]
            if inserter.is_observed(observed):
                shared = gm.get_submodule(observed.target)
                inserter.observe_output(node, shared)
            continue
        if kind == "cat":
            _observe_cat(inserter, gm, node, qconfig)
            continue
        if kind == "functional_linear":
            inserter.observe_input(node, node.args[0], qconfig.activation)
            inserter.observe_input(node, node.args[1], qconfig.weight)  # the weight
            inserter.observe_output(node, qconfig.activation())
            continue
        if kind == "fixed" and not _is_fixed_range(qconfig):
            continue  # as PyTorch: a fixed-range op needs a fixed-range observer
        for arg in node.args[:2 if kind == "binary" else 1]:
            if isinstance(arg, fx.Node):  # a number operand of add/mul is not observed
                inserter.observe_input(node, arg, qconfig.activation)
        last = node
        if kind == "binary":
            relu = _fused_relu(node, modules, node_qconfig)
            if relu is not None:
                skip.add(relu)
                last = relu
        inserter.observe_output(last, qconfig.activation())
    gm.recompile()
    return gm


def prepare(model, qconfig_mapping, is_qat, example_inputs=None, prepare_custom_config=None,
            backend_config=None):
    """The observed GraphModule of ``model`` (see module docstring)."""
    if backend_config is not None:
        raise NotImplementedError(
            "backend_config is not supported: ember's prepare_fx/convert_fx use the "
            "patterns of PyTorch's default native backend (x86/fbgemm)")
    mapping = _as_mapping(qconfig_mapping)
    config = as_prepare_custom_config(prepare_custom_config)
    gm, node_name_to_scope = trace(model, config)
    _patterns.fuse_graph(gm, is_qat)
    _patterns.update_qconfig_for_fusion(gm, mapping)
    qconfig_of_module = _patterns.module_qconfigs(gm, mapping)
    if is_qat:
        _swap_qat_modules(gm, qconfig_of_module)
    node_qconfig = _patterns.node_qconfigs(gm.graph, mapping, qconfig_of_module,
                                           node_name_to_scope)
    insert_observers(gm, node_qconfig)
    preserved = {name: getattr(gm, name) for name in config.preserved_attributes}
    gm = fx.GraphModule(gm, gm.graph)  # submodules in graph order, as PyTorch's
    for name, value in preserved.items():
        setattr(gm, name, value)
    gm.meta[META_KEY] = ObservedGraphModuleAttrs(node_qconfig, mapping, is_qat,
                                                 node_name_to_scope, config)
    gm.meta[USER_PRESERVED_KEY] = preserved
    return gm
