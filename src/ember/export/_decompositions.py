"""``ExportedProgram.run_decompositions``: lower composite ops to PyTorch's core ATen ops.

The lowerings are the ones PyTorch's default decomposition table applies to these ops
(``linear`` -> ``permute`` + ``addmm``, ``flatten`` -> ``view``, ``sum`` over all dims ->
``sum.dim_IntList(x, [])``, inference ``batch_norm`` ->
``_native_batch_norm_legit_no_training`` + ``getitem``). Other ops are kept as they are:
ember implements only this subset, and says so instead of pretending to lower the rest.
"""

from __future__ import annotations

import copy
import operator

import ember
import ember.nn.functional as F
from ember.fx import Graph

from ._pt2_ops import aten_op
from ._trace import TensorMeta


def _op(name: str, overload: str = "default"):
    """``ember.ops.aten.<name>.<overload>`` (the .pt2 reader's lookup, which also defines
    ``_native_batch_norm_legit_no_training``)."""
    return aten_op(name, overload)


def _static(meta) -> bool:
    return isinstance(meta, TensorMeta) and all(isinstance(s, int) for s in meta.shape)


def LOWERINGS() -> dict:  # noqa: N802 - a constant's shape, built on call (ops load lazily)
    """The ops ``decompose`` lowers, each with a function computing what its lowering
    computes (the values of ``torch.export.default_decompositions()`` for them)."""
    def linear(x, weight, bias=None):
        flipped = weight.permute(1, 0)
        return ember.mm(x, flipped) if bias is None else ember.addmm(bias, x, flipped)

    return {
        _op("linear"): linear,
        _op("flatten", "using_ints"): lambda x, start=0, end=-1: x.flatten(start, end),
        _op("sum"): lambda x, dtype=None: ember.sum(x, [], dtype=dtype),
        _op("batch_norm"): F.batch_norm,
    }


def decompose(program, decomp_table=None):
    """A copy of ``program`` with the ops of ``decomp_table`` (default: all of ``LOWERINGS``)
    lowered; an op missing from a given table is kept."""
    wanted = None if decomp_table is None else {str(op) for op in decomp_table}
    graph = Graph()
    env: dict = {}

    def new_node(target, args, name, meta):
        node = graph.create_node("call_function", target, args, {}, name=name)
        node.meta["val"] = node.meta["tensor_meta"] = meta
        return node

    for node in program.graph.nodes:
        if node.op == "placeholder":
            env[node] = graph.placeholder(node.name)
            env[node].meta = copy.copy(node.meta)
            continue
        if node.op == "output":
            graph.output(_map(node.args[0], env))
            continue
        args = _map(node.args, env)
        target = node.target
        meta = node.meta.get("val")
        name = str(target)
        replaced = None
        if wanted is not None and name not in wanted:
            name = ""  # kept as it is
        if name == "aten.linear.default" and len(args) >= 2 and _static(meta) and \
                len(node.args[0].meta["val"].shape) == 2:
            weight_meta = node.args[1].meta["val"]
            permuted = TensorMeta(tuple(reversed(weight_meta.shape)), weight_meta.dtype,
                                  weight_meta.device)
            permute = new_node(_op("permute"), (args[1], [1, 0]), "permute", permuted)
            if len(args) > 2 and args[2] is not None:
                replaced = new_node(_op("addmm"), (args[2], args[0], permute), "addmm", meta)
            else:
                replaced = new_node(_op("mm"), (args[0], permute), "mm", meta)
        elif name == "aten.flatten.using_ints" and _static(meta):
            replaced = new_node(_op("view"), (args[0], list(meta.shape)), "view", meta)
        elif name == "aten.sum.default" and len(args) == 1 and not node.kwargs:
            replaced = new_node(_op("sum", "dim_IntList"), (args[0], []), "sum", meta)
        elif name == "aten.batch_norm.default" and len(args) >= 8 and args[5] is False:
            x, weight, bias, mean, var, _, momentum, eps = args[:8]
            op = _op("_native_batch_norm_legit_no_training")
            triple = new_node(op, (x, weight, bias, mean, var, momentum, eps),
                              "_native_batch_norm_legit_no_training", None)
            replaced = new_node(operator.getitem, (triple, 0), "getitem", meta)
        if replaced is None:
            base = getattr(target, "_opname", None) or node.name
            replaced = graph.create_node(node.op, target, args, _map(node.kwargs, env),
                                         name=base)
            replaced.meta = copy.copy(node.meta)
        env[node] = replaced
    return program._with_graph(graph)


def _map(value, env):
    from ember.fx.node import map_arg

    return map_arg(value, lambda n: env[n])


