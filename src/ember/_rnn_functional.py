"""The function forms of the recurrent kernels: ``torch.lstm``, ``torch.gru``,
``torch.rnn_tanh`` and ``torch.rnn_relu`` (what ``nn.LSTM`` & co. call with their flat
weight list). Each runs ember's fused recurrent layer (``_ops.rnn.RecurrentLayer``) per
layer and direction, exactly as the modules do.

Two call forms, as PyTorch's: ``lstm(input, hx, params, has_biases, num_layers, dropout,
train, bidirectional, batch_first)`` on a padded (T, B, F) input, or ``lstm(data,
batch_sizes, hx, params, has_biases, num_layers, dropout, train, bidirectional)`` on a
packed sequence's data.
"""

from __future__ import annotations

from ._ops.rnn import RecurrentLayer, step_slices
from ._ops.shape import cat, stack

__all__ = ["lstm", "gru", "rnn_tanh", "rnn_relu"]


def _layers(mode, rows, steps, h0, c0, params, has_biases, num_layers, dropout, train,
            bidirectional):
    """All layers and directions over time-major rows; (rows, h_n, c_n or None)."""
    from .nn import functional as F

    directions = 2 if bidirectional else 1
    per_direction = len(params) // (num_layers * directions)
    projected = per_direction == (5 if has_biases else 3)
    final_h, final_c = [], []
    layer_input = rows
    for layer in range(num_layers):
        outputs = []
        for direction in range(directions):
            index = layer * directions + direction
            weights = params[index * per_direction:(index + 1) * per_direction]
            b_ih, b_hh = (weights[2], weights[3]) if has_biases else (None, None)
            result = RecurrentLayer.apply(
                layer_input, weights[0], weights[1], b_ih, b_hh,
                weights[-1] if projected else None, h0[index],
                c0[index] if c0 is not None else None, mode, steps, direction == 1)
            outputs.append(result[0])
            final_h.append(result[1])
            if c0 is not None:
                final_c.append(result[2])
        layer_input = outputs[0] if directions == 1 else cat(outputs, 1)
        if dropout and train and layer < num_layers - 1:
            layer_input = F.dropout(layer_input, dropout, True)
    return layer_input, stack(final_h, 0), stack(final_c, 0) if c0 is not None else None


def _run(mode, args):
    """Both call forms: (input, hx, params, has_biases, num_layers, dropout, train,
    bidirectional, batch_first) or (data, batch_sizes, hx, params, ..., bidirectional)."""
    if len(args) > 3 and isinstance(args[3], (list, tuple)):  # packed: data, batch_sizes, ...
        data, batch_sizes, hx, params, has_biases, num_layers, dropout, train, bidir = args
        steps = step_slices(batch_sizes.tolist(), None, None)
        states = tuple(hx) if isinstance(hx, (list, tuple)) else (hx,)
        out, h_n, c_n = _layers(mode, data, steps, states[0], states[1] if mode == "LSTM"
                                else None, list(params), has_biases, num_layers, dropout,
                                train, bidir)
        return out, h_n, c_n
    (input, hx, params, has_biases, num_layers, dropout, train, bidir,
     batch_first) = args
    if input.dim() != 3:
        raise RuntimeError(f"input must have 3 dimensions, got {input.dim()}")
    time_major = input.transpose(0, 1) if batch_first else input
    length, batch = time_major.shape[0], time_major.shape[1]
    rows = time_major.reshape(length * batch, time_major.shape[2])
    states = tuple(hx) if isinstance(hx, (list, tuple)) else (hx,)
    out, h_n, c_n = _layers(mode, rows, step_slices(None, batch, length), states[0],
                            states[1] if mode == "LSTM" else None, list(params), has_biases,
                            num_layers, dropout, train, bidir)
    out = out.reshape(length, batch, out.shape[-1])
    return (out.transpose(0, 1) if batch_first else out), h_n, c_n


def lstm(*args):
    """``(output, h_n, c_n)`` of a (multi-layer, maybe bidirectional) LSTM; ``hx`` is
    ``(h_0, c_0)`` and ``params`` the flat weights in ``nn.LSTM``'s order."""
    return _run("LSTM", args)


def gru(*args):
    """``(output, h_n)`` of a GRU; ``params`` in ``nn.GRU``'s order."""
    return _run("GRU", args)[:2]


def rnn_tanh(*args):
    """``(output, h_n)`` of an Elman RNN with tanh."""
    return _run("RNN_TANH", args)[:2]


def rnn_relu(*args):
    """``(output, h_n)`` of an Elman RNN with ReLU."""
    return _run("RNN_RELU", args)[:2]
