"""Recurrent modules in exported graphs: one ``aten.lstm.input`` / ``aten.gru.input`` /
``aten.rnn_tanh.input`` / ``aten.rnn_relu.input`` node, as PyTorch records them.

ember's LSTM, GRU and RNN run a fused internal kernel that the call recorder cannot see,
so the tracer records the whole module call as PyTorch's ATen op (input, initial state,
the flat weights, and the configuration flags), and the op's implementation runs an
ember module of that configuration holding those weights.
"""

from __future__ import annotations

import operator
import warnings

import ember

from .. import ops as _ops

_MODES = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}
_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
_TEMPLATES: dict[tuple, object] = {}


def _module_for(mode, params, has_biases, num_layers, dropout, bidirectional, batch_first):
    """An ember recurrent module of this configuration (built once, weights swapped in)."""
    directions = 2 if bidirectional else 1
    per_direction = len(params) // (num_layers * directions)
    base = 4 if has_biases else 2
    proj_size = params[base].shape[0] if per_direction > base else 0
    hidden_size = params[1].shape[0] // _GATES[mode]
    key = (mode, params[0].shape[1], hidden_size, num_layers, has_biases, batch_first,
           dropout, bidirectional, proj_size)
    module = _TEMPLATES.get(key)
    if module is None:
        nn = ember.nn
        kwargs = {"bias": has_biases, "batch_first": batch_first, "dropout": dropout,
                  "bidirectional": bidirectional}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if mode == "LSTM":
                module = nn.LSTM(key[1], hidden_size, num_layers, proj_size=proj_size, **kwargs)
            elif mode == "GRU":
                module = nn.GRU(key[1], hidden_size, num_layers, **kwargs)
            else:
                module = nn.RNN(key[1], hidden_size, num_layers,
                                nonlinearity="tanh" if mode == "RNN_TANH" else "relu", **kwargs)
        _TEMPLATES[key] = module
    names = module._flat_weights_names
    for name, param in zip(names, params):
        module._parameters[name] = param  # plain tensors too (replays pass copies)
    module.__dict__["_flat_weights"] = list(params)
    return module


def _impl(mode: str):
    def run(input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
            batch_first):
        module = _module_for(mode, params, has_biases, num_layers, dropout, bidirectional,
                             batch_first)
        module.train(train)
        if mode == "LSTM":
            output, (h_n, c_n) = module(input, (hx[0], hx[1]))
            return output, h_n, c_n
        output, h_n = module(input, hx)
        return output, h_n
    return run


def rnn_op(mode: str) -> _ops.OpOverload:
    name = _MODES[mode]
    packets = _ops._namespace("aten").__dict__["_packets"]
    if name in packets and "input" in packets[name]._overloads:
        return packets[name]._overloads["input"]
    return _ops._register("aten", name, "input", _impl(mode))


def is_recordable(module, args, kwargs) -> bool:
    from ember.nn.modules.rnn import RNNBase

    return (isinstance(module, RNNBase) and module.mode in _MODES and len(args) >= 1
            and isinstance(args[0], ember.Tensor) and args[0].dim() == 3)


def record(tracer, module, args, kwargs, result) -> None:
    """One ATen recurrent node for ``module(*args)`` whose outputs are ``result``."""
    input = args[0]
    hx = args[1] if len(args) > 1 else kwargs.get("hx")
    lstm = module.mode == "LSTM"
    if hx is None:
        hx = _zero_state_nodes(tracer, module, input)
    elif lstm:
        hx = [tracer.arg(hx[0]), tracer.arg(hx[1])]
    else:
        hx = tracer.arg(hx)
    params = [tracer.arg(p) for p in module._flat_weights]
    op = rnn_op(module.mode)
    node = tracer.graph.create_node(
        "call_function", op,
        (tracer.arg(input), hx, params, module.bias, module.num_layers, float(module.dropout),
         module.training, module.bidirectional, module.batch_first), {},
        name=_MODES[module.mode])
    node.meta["val"] = None
    output, hidden = result
    values = [output, *hidden] if lstm else [output, hidden]
    for index, value in enumerate(values):
        getter = tracer.graph.create_node("call_function", operator.getitem, (node, index),
                                          {}, name="getitem")
        tracer.propagate_symbols(value, (input,))
        tracer.track(value, getter)


def _zero_state_nodes(tracer, module, input):
    """``aten.zeros`` nodes for the default initial state, as PyTorch's forward makes."""
    from ._aten import register_aten_op

    directions = 2 if module.bidirectional else 1
    batch = tracer.symbolic_size(input, 0 if module.batch_first else 1)
    size = module.proj_size if module.proj_size > 0 else module.hidden_size
    shapes = [[module.num_layers * directions, batch, size]]
    if module.mode == "LSTM":
        shapes.append([module.num_layers * directions, batch, module.hidden_size])
    zeros = register_aten_op("zeros")
    nodes = []
    for shape in shapes:
        node = tracer.graph.create_node(
            "call_function", zeros, (tracer.arg(shape),),
            {"dtype": input.dtype, "device": input.device, "pin_memory": False}, name="zeros")
        nodes.append(node)
    return nodes if module.mode == "LSTM" else nodes[0]
