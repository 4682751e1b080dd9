"""Lowering, before a program is written as ``.pt2``, of calls ember's export keeps
whole where PyTorch's records their ATen parts.

``F.multi_head_attention_forward`` (``nn.MultiheadAttention`` and the Transformer layers)
is one node in ember's graphs; torch has no ATen op of that name, so the node is
replaced by its computation in ATen ops (``linear``, ``chunk``, ``unflatten``,
``permute``, ``scaled_dot_product_attention``, ``flatten``), traced by ember's own export
on the node's example values and spliced in. Supported: packed input projection, no
``bias_k``/``bias_v``/zero-attention/key padding mask, an optional 2-D attention mask,
the attention weights not used; anything else still makes ``save`` raise naming the op.
"""

from __future__ import annotations

import copy
import inspect
import operator

import ember
import ember.nn.functional as F
from ember.fx import Graph, Interpreter
from ember.nn import Module

_MHA = "multi_head_attention_forward"


def _is_mha(node) -> bool:
    target = node.target
    name = getattr(target, "_opname", None) or getattr(target, "__name__", "")
    return node.op == "call_function" and name == _MHA


def run_for_metadata(program) -> dict:
    """Every node's value on the program's example inputs (copies of its state); empty
    when the program has none."""
    from ember.utils._pytree import tree_flatten

    if program.example_inputs is None:
        return {}
    users = tree_flatten(program.example_inputs)[0]
    interpreter = Interpreter(program.graph_module, garbage_collect_values=False)
    with ember.no_grad():
        interpreter.run(*[v.detach().clone() for v in program._lifted_values()], *users)
    return interpreter.env


def _attention(query, key, value, in_weight, in_bias, out_weight, out_bias, mask, *,
               num_heads: int, dropout_p: float):
    """``F.multi_head_attention_forward``'s result for (L, N, E) inputs, in ATen ops and
    without baking any size in (dynamic sizes stay dynamic)."""
    biases = in_bias.chunk(3) if in_bias is not None else (None, None, None)
    heads = []
    for x, weight, bias in zip((query, key, value), in_weight.chunk(3), biases):
        projected = F.linear(x, weight, bias)  # (L, N, E)
        heads.append(projected.unflatten(-1, (num_heads, -1)).permute(1, 2, 0, 3))
    out = F.scaled_dot_product_attention(*heads, mask, dropout_p)  # (N, H, L, hd)
    return F.linear(out.permute(2, 0, 1, 3).flatten(2), out_weight, out_bias)


def _bound_mha(node) -> dict:
    values = inspect.signature(F.multi_head_attention_forward).bind(*node.args, **node.kwargs)
    values.apply_defaults()
    return dict(values.arguments)


def _supported(arguments: dict, weights_used: bool) -> bool:
    mask = arguments["attn_mask"]
    return (arguments["bias_k"] is None and arguments["bias_v"] is None
            and not arguments["add_zero_attn"] and arguments["key_padding_mask"] is None
            and not arguments["use_separate_proj_weight"] and arguments["static_k"] is None
            and arguments["static_v"] is None and not weights_used
            and not arguments["is_causal"]
            and (mask is None or (hasattr(mask, "meta") and len(mask.meta["val"].shape) == 2)))


def _traced_attention(arguments: dict, values: dict, mask_is_bool: bool):
    """The decomposition exported by ember on the node's example values: (program,
    the argument nodes its user inputs stand for)."""
    names = ["query", "key", "value", "in_proj_weight", "in_proj_bias", "out_proj_weight",
             "out_proj_bias", "attn_mask"]
    present = [n for n in names if arguments[n] is not None]
    dropout_p = arguments["dropout_p"] if arguments["training"] else 0.0
    num_heads = arguments["num_heads"]

    class Attention(Module):
        def forward(self, *tensors):
            given = dict(zip(present, tensors))
            mask = given.get("attn_mask")
            if mask is not None and mask_is_bool:
                mask = mask.logical_not()  # MHA: True masks out; sdpa: True attends
            return _attention(*(given.get(n) for n in names[:-1]), mask,
                              num_heads=num_heads, dropout_p=dropout_p)

    examples = tuple(values[arguments[n]].detach().clone() for n in present)  # one each
    from ._export import export

    return export(Attention(), examples), [arguments[n] for n in present]


def lower(program):
    """``program`` with its multi-head attention nodes lowered (itself when it has
    none, or when one is not supported: ``save`` then names it)."""
    nodes = list(program.graph.nodes)
    targets = [n for n in nodes if _is_mha(n)]
    if not targets:
        return program
    values = run_for_metadata(program)
    graph, env = Graph(), {}
    outputs = {}  # getitem(mha, 0) -> its replacement
    for node in nodes:
        if node in outputs:
            env[node] = outputs[node]
            continue
        if _is_mha(node):
            users = list(node.users)
            first = [u for u in users if u.target is operator.getitem and u.args[1] == 0]
            arguments = _bound_mha(node)
            weights_used = any(u.target is operator.getitem and u.args[1] == 1 and u.users
                               for u in users)
            if not values or not _supported(arguments, weights_used) or \
                    len(first) + sum(u.args[1] == 1 for u in users) != len(users):
                return program
            mask = arguments["attn_mask"]
            mask_is_bool = mask is not None and values[mask].dtype == ember.bool
            sub_program, feeds = _traced_attention(arguments, values, mask_is_bool)
            result = _splice(graph, sub_program, [env[f] for f in feeds])
            for user in first:
                outputs[user] = result
            continue
        if node.op == "call_function" and node.target is operator.getitem and \
                _is_mha(node.args[0]):
            continue  # the unused attention weights
        new = graph.node_copy(node, lambda n: env[n])
        new.meta = copy.copy(node.meta)
        env[node] = new
    return program._with_graph(graph)


def _splice(graph: Graph, sub_program, inputs: list):
    """Copy ``sub_program``'s calls into ``graph`` (its user inputs bound to ``inputs``);
    returns the node of its one output."""
    env = {}
    placeholders = [n for n in sub_program.graph.nodes if n.op == "placeholder"]
    for placeholder, node in zip(placeholders, inputs):
        env[placeholder] = node
    for node in sub_program.graph.nodes:
        if node.op == "call_function":
            new = graph.node_copy(node, lambda n: env[n])
            new.meta = copy.copy(node.meta)
            env[node] = new
        elif node.op == "output":
            return env[node.args[0][0]]
    raise AssertionError("the traced attention has no output")
