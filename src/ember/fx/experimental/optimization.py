"""``fuse``: fold eval-mode BatchNorm into the preceding Conv/Linear of a traced model,
as ``torch.fx.experimental.optimization.fuse``. Inference then runs one layer where it
ran two, with the same results (up to rounding)."""

from __future__ import annotations

import copy

from ... import nn
from ...nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval
from .. import GraphModule, Node, symbolic_trace

__all__ = ["fuse", "matches_module_pattern", "replace_node_module"]


def _parent_name(target: str) -> tuple[str, str]:
    """``"foo.bar.baz"`` -> ``("foo.bar", "baz")``."""
    *parent, name = target.rsplit(".", 1)
    return (parent[0] if parent else ""), name


def matches_module_pattern(pattern, node: Node, modules: dict) -> bool:
    """Whether ``node`` and its first argument are calls of modules of exactly the two
    types in ``pattern`` (first argument first)."""
    if len(node.args) == 0:
        return False
    for expected_type, current in zip(pattern, (node.args[0], node)):
        if not isinstance(current, Node) or current.op != "call_module":
            return False
        if not isinstance(current.target, str) or current.target not in modules:
            return False
        if type(modules[current.target]) is not expected_type:
            return False
    return True


def replace_node_module(node: Node, modules: dict, new_module) -> None:
    """Install ``new_module`` where ``node``'s target module was."""
    parent_name, name = _parent_name(node.target)
    modules[node.target] = new_module
    setattr(modules[parent_name], name, new_module)


def fuse(model, inplace: bool = False, no_trace: bool = False):
    """Fuse Conv{1,2,3}d + BatchNorm{1,2,3}d and Linear + BatchNorm1d pairs of an
    eval-mode model into single layers (the model is deep-copied unless ``inplace``).

    Example::

        fused = torch.fx.experimental.optimization.fuse(model.eval())
    """
    patterns = [(nn.Conv1d, nn.BatchNorm1d), (nn.Conv2d, nn.BatchNorm2d),
                (nn.Conv3d, nn.BatchNorm3d), (nn.Linear, nn.BatchNorm1d)]
    if not inplace:
        model = copy.deepcopy(model)
    if not no_trace or not isinstance(model, GraphModule):
        fx_model = symbolic_trace(model)
    else:
        fx_model = model
    modules = dict(fx_model.named_modules())
    new_graph = copy.deepcopy(fx_model.graph)
    for pattern in patterns:
        for node in new_graph.nodes:
            if not matches_module_pattern(pattern, node, modules):
                continue
            if len(node.args[0].users) > 1:  # the layer's output is used elsewhere too
                continue
            first_layer = modules[node.args[0].target]
            bn = modules[node.target]
            if not bn.track_running_stats:
                continue
            if pattern[0] is nn.Linear:
                fused = fuse_linear_bn_eval(first_layer, bn)
            else:
                fused = fuse_conv_bn_eval(first_layer, bn)
            replace_node_module(node.args[0], modules, fused)
            node.replace_all_uses_with(node.args[0])
            new_graph.erase_node(node)
    return GraphModule(fx_model, new_graph)
