"""What FX graph mode quantization knows about ops: which node is a quantizable weighted
module, a binary op, an op whose output keeps its input's scale, or one with a fixed
output range; which qconfig a node gets from a QConfigMapping; the tracer; and fusion
of conv-bn(-relu) / linear(-bn)(-relu) / bn-relu runs in the traced graph.

The tables follow PyTorch's default backend configuration (x86/fbgemm) for the ops ember
has quantized kernels for; a node of another kind stays in float and its quantized
inputs are dequantized first, as PyTorch does for ops its backend does not support.
"""

from __future__ import annotations

import operator
import re

import ember

from .... import fx, nn
from ...nn import intrinsic as nni
from ...nn import qat as nnqat
from ...nn.intrinsic import qat as nniqat
from ..fuse_modules import get_fuser_method

F = nn.functional

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_BNS = {nn.Conv1d: nn.BatchNorm1d, nn.Conv2d: nn.BatchNorm2d, nn.Conv3d: nn.BatchNorm3d,
        nn.Linear: nn.BatchNorm1d}


def weighted_module_types():
    """Module types computed with a weight (quantized by ``convert_fx``)."""
    return (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear, nni.ConvReLU1d, nni.ConvReLU2d,
            nni.ConvReLU3d, nni.LinearReLU, nni.ConvBn1d, nni.ConvBn2d, nni.ConvBn3d,
            nni.ConvBnReLU1d, nni.ConvBnReLU2d, nni.ConvBnReLU3d, nni.LinearBn1d,
            nnqat.Linear, nnqat.Conv2d, nnqat.Conv3d, nniqat.ConvBn1d, nniqat.ConvBn2d,
            nniqat.ConvBn3d, nniqat.ConvBnReLU1d, nniqat.ConvBnReLU2d, nniqat.ConvBnReLU3d,
            nniqat.ConvReLU2d, nniqat.ConvReLU3d, nniqat.LinearReLU, nniqat.LinearBn1d)


def _share_module_types():
    return (nn.ReLU, nn.ReLU6, nn.Hardtanh, nn.Identity, nn.MaxPool1d, nn.MaxPool2d,
            nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d, nn.AdaptiveAvgPool1d,
            nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.PixelShuffle, nn.PixelUnshuffle)


def _share_functions():
    return {F.relu, ember.relu, F.relu6, F.hardtanh, F.max_pool1d, F.max_pool2d,
            F.max_pool3d, F.avg_pool1d, F.avg_pool2d, F.avg_pool3d, F.adaptive_avg_pool1d,
            F.adaptive_avg_pool2d, F.adaptive_avg_pool3d, F.interpolate, F.pixel_shuffle,
            F.pixel_unshuffle, ember.clamp, ember.flatten, ember.mean, ember.narrow,
            ember.repeat_interleave, ember.transpose, ember.squeeze, ember.unsqueeze}


# PyTorch's method list (``x.flatten(1)`` is not in it: it runs in float there)
_SHARE_METHODS = frozenset({
    "contiguous", "clamp", "detach", "detach_", "mean", "permute", "repeat",
    "repeat_interleave", "reshape", "resize_", "relu", "relu_", "squeeze", "squeeze_",
    "transpose", "unsqueeze", "unsqueeze_", "view"})


def _default_module_types():
    """Ops observed on input and output with observers of their own."""
    return (nn.ELU, nn.LeakyReLU, nn.Hardswish, nn.InstanceNorm1d, nn.InstanceNorm2d,
            nn.InstanceNorm3d, nn.Dropout, nn.PReLU, nn.LayerNorm, nn.BatchNorm2d,
            nn.BatchNorm3d, nni.BNReLU2d, nni.BNReLU3d)


def _default_functions():
    return {F.elu, F.hardswish, F.leaky_relu, F.dropout, F.layer_norm}


def _fixed_module_types():
    return (nn.Sigmoid, nn.Tanh, nn.Hardsigmoid, nn.Softmax)


def _fixed_functions():
    return {ember.sigmoid, ember.tanh, F.hardsigmoid}


_FIXED_METHODS = frozenset({"sigmoid", "tanh", "hardsigmoid"})


def _binary_functions():
    return {operator.add: "add", ember.add: "add", operator.mul: "mul", ember.mul: "mul"}


def _called_as_torch_relu(node):
    """``torch.relu(x)`` rather than ``F.relu(x)`` (one ember function; the tracer keeps
    the name it was called under): PyTorch fuses and shares observers for F.relu only."""
    return node.target is ember.relu and node._hinted_qualname() == "torch.relu"


def is_relu(node, modules, after_binary=False):
    """A relu that fuses with the op before it: nn.ReLU or F.relu (torch.relu too after
    add/mul, as PyTorch's binary-op patterns list it)."""
    if node.op == "call_module":
        return type(modules.get(node.target)) is nn.ReLU
    if node.op == "call_function":
        return node.target in (F.relu, ember.relu) and (
            after_binary or not _called_as_torch_relu(node))
    return False  # x.relu() fuses with nothing in PyTorch's patterns


def op_kind(node, modules):
    """``"weighted"``, ``"binary"`` (add/mul of two tensors or a tensor and a number),
    ``"share"`` (output keeps the input's quantization), ``"fixed"`` (known output
    range), ``"default"`` (own input and output observers), ``"cat"`` (inputs and output
    share one observer), ``"functional_linear"`` (F.linear of a stored weight, observed
    by the qconfig's weight observer), ``"lstm"`` or None."""
    if node.op == "call_module":
        module = modules.get(node.target)
        if isinstance(module, weighted_module_types()):
            return "weighted"
        if type(module) is nn.LSTM:
            return "lstm"
        if type(module) in _share_module_types():
            return "share"
        if type(module) in _fixed_module_types():
            return "fixed"
        if type(module) in _default_module_types():
            return "default"
        return None
    if node.op == "call_function":
        if _called_as_torch_relu(node):  # observed on both sides, as PyTorch does
            return "default"
        if node.target in _binary_functions():
            args = node.args[:2]
            tensors = [a for a in args if isinstance(a, fx.Node)]
            numbers = [a for a in args if isinstance(a, (int, float)) and
                       not isinstance(a, bool)]
            if node.kwargs or len(args) != 2 or len(tensors) + len(numbers) != 2 or \
                    not tensors:
                return None
            return "binary"
        if node.target in _share_functions():
            return "share"
        if node.target in _fixed_functions():
            return "fixed"
        if node.target in _default_functions():
            return "default"
        if node.target is ember.cat and node.args and isinstance(node.args[0], (list, tuple)):
            return "cat"
        if node.target is F.linear and len(node.args) >= 2 and \
                isinstance(node.args[1], fx.Node) and node.args[1].op in (
                    "get_attr", "call_module"):  # (the weight's observer once prepared)
            return "functional_linear"
        return None
    if node.op == "call_method":
        if node.target in _SHARE_METHODS:
            return "share"
        if node.target in _FIXED_METHODS:
            return "fixed"
    return None


def binary_name(node):
    return _binary_functions()[node.target]


# ---------------------------------------------------------------------------
# qconfig of each node
# ---------------------------------------------------------------------------

def _regex_qconfig(mapping, name, fallback):
    for regex, qconfig in mapping.module_name_regex_qconfigs.items():
        if re.match(regex, name):
            return qconfig
    return fallback


def _object_type_qconfig(mapping, obj, fallback):
    return mapping.object_type_qconfigs.get(obj, fallback)


def module_qconfigs(model, mapping):
    """Qualified name -> qconfig for every submodule: the parent's qconfig, replaced by
    the module class's entry, a matching regex, then the module's own name (PyTorch's
    order of precedence). A fused module answers to its own class only (an entry for
    ``nn.Linear`` does not reach a LinearReLU, as in PyTorch)."""
    qconfigs = {}

    def visit(module, name, inherited):
        qconfig = _object_type_qconfig(mapping, type(module), inherited)
        qconfig = _regex_qconfig(mapping, name, qconfig)
        qconfig = mapping.module_name_qconfigs.get(name, qconfig)
        qconfigs[name] = qconfig
        for child_name, child in module.named_children():
            visit(child, f"{name}.{child_name}" if name else child_name, qconfig)

    visit(model, "", mapping.global_qconfig)
    return qconfigs


def update_qconfig_for_fusion(gm, mapping):
    """A fused module takes the object-type qconfig its parts share; parts with
    different entries are an error (PyTorch's rule). ``mapping`` is prepare's copy."""
    from ..qconfig import qconfig_equals

    object_type = mapping.object_type_qconfigs
    if not object_type:
        return
    for node in gm.graph.nodes:
        if node.op != "call_module":
            continue
        fused = gm.get_submodule(node.target)
        if not isinstance(fused, nni._FusedModule):
            continue
        parts = list(fused._modules.values())
        fused_qconfig = object_type.get(type(parts[0]))
        for part in parts[1:]:
            if not qconfig_equals(object_type.get(type(part)), fused_qconfig):
                raise LookupError(
                    "During fusion, we need to specify the same qconfigs for all module "
                    f"types in {type(fused)} offending type: {type(part)}")
        if fused_qconfig is not None:
            object_type[type(fused)] = fused_qconfig


def node_qconfigs(graph, mapping, qconfig_of_module, node_name_to_scope):
    """Node name -> qconfig. A module call takes its module's qconfig; a function or
    method call takes its object type's entry, else the qconfig of the module whose
    forward called it, and a (module path, object type, index) entry counts calls of
    that type inside that module in order."""
    root_qconfig = qconfig_of_module.get("", mapping.global_qconfig)
    seen = {}
    qconfigs = {}
    for node in graph.nodes:
        if node.op == "call_module":
            qconfigs[node.name] = qconfig_of_module.get(node.target, root_qconfig)
        elif node.op in ("call_function", "call_method"):
            path = node_name_to_scope.get(node.name, ("", None))[0]
            qconfig = qconfig_of_module.get(path, root_qconfig)
            qconfig = _object_type_qconfig(mapping, node.target, qconfig)
            index = seen.get((path, node.target), 0)
            seen[(path, node.target)] = index + 1
            qconfig = mapping.module_name_object_type_order_qconfigs.get(
                (path, node.target, index), qconfig)
            qconfigs[node.name] = qconfig
        elif node.op == "get_attr":  # a weight or constant: its module's qconfig
            path = node_name_to_scope.get(node.name, ("", None))[0]
            qconfigs[node.name] = qconfig_of_module.get(path, root_qconfig)
        else:
            qconfigs[node.name] = None
    return qconfigs


# ---------------------------------------------------------------------------
# tracing and fusion
# ---------------------------------------------------------------------------

class QuantizationTracer(fx.Tracer):
    """ember.nn's modules and ember.ao.nn's fused / QAT / quantized modules are leaves;
    ``skipped_module_names`` / ``skipped_module_classes`` (not quantized) are too. Each
    node's scope, the (path, type) of the module whose ``forward`` made it, is recorded in
    ``node_name_to_scope``: a function called inside ``block`` takes ``block``'s qconfig."""

    def __init__(self, skipped_module_names=(), skipped_module_classes=()):
        super().__init__()
        self.skipped_module_names = list(skipped_module_names)
        self.skipped_module_classes = tuple(skipped_module_classes)
        self.current_scope = ("", None)
        self.node_name_to_scope = {}

    def is_leaf_module(self, m, module_qualified_name):
        if isinstance(m, nni._FusedModule):
            return True
        if type(m).__module__.startswith("ember.ao.nn") and \
                not isinstance(m, nn.Sequential):
            return True
        return (super().is_leaf_module(m, module_qualified_name)
                or module_qualified_name in self.skipped_module_names
                or isinstance(m, self.skipped_module_classes))

    def call_module(self, m, forward, args, kwargs):
        path = self.path_of_module(m)
        if self.is_leaf_module(m, path):  # one node, in the caller's scope
            return super().call_module(m, forward, args, kwargs)
        outer = self.current_scope
        self.current_scope = (path, type(m))
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self.current_scope = outer

    def create_node(self, kind, target, args, kwargs, name=None, type_expr=None):
        node = super().create_node(kind, target, args, kwargs, name, type_expr)
        self.node_name_to_scope[node.name] = self.current_scope
        return node


def _single_user(node):
    return len(node.users) == 1


def _functional_relu(root):
    """The ReLU module standing for a functional relu in a fused run, in the run's mode (as
    PyTorch's fuse handler sets it): an eval conv-bn-relu fuses for inference."""
    relu = nn.ReLU()
    relu.training = root.training
    return relu


def _module_of(node, modules):
    return modules.get(node.target) if node.op == "call_module" else None


def _fusion_run(node, modules):
    """The nodes fused with ``node`` (a conv, linear or batch norm module call): up to a
    batch norm and a relu, each the only user of the previous one."""
    first = _module_of(node, modules)
    run = [node]
    if type(first) in _BNS and _single_user(node):
        user = next(iter(node.users))
        if type(_module_of(user, modules)) is _BNS[type(first)]:
            run.append(user)
    if type(first) in (nn.BatchNorm2d, nn.BatchNorm3d) or type(first) in _BNS:
        last = run[-1]
        if _single_user(last) and is_relu(next(iter(last.users)), modules):
            run.append(next(iter(last.users)))
    return run if len(run) > 1 else None


def fuse_graph(gm, is_qat):
    """Replace each fusable run by its fused module, installed under the first module's
    name; the other nodes of the run are erased (PyTorch's fuse_fx)."""
    modules = dict(gm.named_modules(remove_duplicate=False))
    absorbed = set()
    for node in list(gm.graph.nodes):
        if node.op != "call_module" or node.target in absorbed:
            continue
        run = _fusion_run(node, modules)
        if run is None:
            continue
        fuser = None
        while fuser is None and len(run) > 1:
            parts = [_module_of(n, modules) if n.op == "call_module"
                     else _functional_relu(_module_of(run[0], modules)) for n in run]
            try:
                fuser = get_fuser_method(tuple(type(p) for p in parts))
            except AssertionError:  # no fused module for the whole run: try shorter
                run = run[:-1]
        if fuser is None:
            continue
        fused = fuser(is_qat, *parts)
        _set_submodule(gm, node.target, fused)
        modules[node.target] = fused
        for later in run[1:]:
            later.replace_all_uses_with(node)
            gm.graph.erase_node(later)
            if later.op == "call_module":
                absorbed.add(later.target)
    still_called = {n.target for n in gm.graph.nodes if n.op == "call_module"}
    for target in absorbed - still_called:  # now a part of a fused module
        gm.delete_submodule(target)
    gm.graph.lint()
    gm.delete_all_unused_submodules()
    gm.recompile()
    return gm


def _set_submodule(root, target, module):
    *parents, last = target.split(".")
    for name in parents:
        root = getattr(root, name)
    setattr(root, last, module)
