"""Recurrent modules: RNN (tanh/relu), LSTM (with projections), GRU and their cells (as
torch.nn.modules.rnn).

Parameter names, shapes, registration order, gate order (LSTM i, f, g, o; GRU r, z, n)
and initialisation U(-1/sqrt(hidden), 1/sqrt(hidden)) are PyTorch's, so state_dicts move
between the two unchanged. Each layer and direction runs as one fused Function
(``ember._ops.rnn.RecurrentLayer``): one GEMM for the input projections of the whole
sequence, one per time step for the recurrent part.

A hidden state is one tensor, or LSTM's (h, c) pair; ``_each`` maps over either, so the
batching, permuting and zero-filling of states is written once for all three modes.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ..._ops.creation import empty, zeros
from ..._ops.rnn import GATES, RecurrentLayer, gru_cell, lstm_cell, rnn_cell, step_slices
from ..._ops.shape import cat, stack
from ..._tensor import Tensor
from .. import _functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_RNN_MODES = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}

# extra_repr shows a setting only when it differs from its default (identity for bools,
# so bidirectional=0 still shows, as in torch)
_LAYER_REPR = (("proj_size", 0), ("num_layers", 1), ("bias", True), ("batch_first", False),
               ("dropout", 0), ("bidirectional", False))
_CELL_REPR = (("bias", True), ("nonlinearity", "tanh"))


def _each(state, fn):
    """``fn`` applied to a hidden state: one tensor, or LSTM's (h, c) pair (a tuple back)."""
    if isinstance(state, (tuple, list)):
        return tuple(fn(part) for part in state)
    return fn(state)


def _describe(module, shown):
    """'input_size, hidden_size' then ``name=value`` for each non-default setting."""
    settings = vars(module)
    parts = [f"{module.input_size}, {module.hidden_size}"]
    for name, default in shown:
        value = settings.get(name, default)
        differs = value is not default if isinstance(default, bool) else value != default
        if differs:
            parts.append(f"{name}={value}")
    return ", ".join(parts)


def _init_uniform(module):
    """Every parameter from U(-1/sqrt(hidden), 1/sqrt(hidden)), in registration order so
    that seeded draws match torch's."""
    bound = 0 if module.hidden_size <= 0 else 1.0 / math.sqrt(module.hidden_size)
    for param in module.parameters():
        init.uniform_(param, -bound, bound)


def _refuse_proj_size(kwargs):
    if "proj_size" in kwargs:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")


class RNNBase(Module):
    """Shared machinery of RNN, LSTM and GRU: parameters, argument checks, the layer loop.

    Args:
        mode: "RNN_TANH", "RNN_RELU", "LSTM" or "GRU".
        input_size, hidden_size: features of the input and of the hidden state.
        num_layers: stacked layers (default 1).
        bias: learn bias_ih / bias_hh (default True).
        batch_first: inputs and outputs are (B, T, *) instead of (T, B, *).
        dropout: dropout probability on the outputs of every layer but the last.
        bidirectional: run a reversed direction too and concatenate the features.
        proj_size: LSTM only; project the hidden state to this size.
    """

    __constants__ = ["mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first",
                     "dropout", "bidirectional", "proj_size"]

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout = float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        _check_arguments(mode, input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, proj_size)
        # names per (layer, direction), and flattened: both are torch's attributes
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for index in range(num_layers * self._directions()):
            names = []
            for name, shape in self._layer_parameters(index):
                setattr(self, name, Parameter(empty(shape, device=device, dtype=dtype)))
                names.append(name)
            self._flat_weights_names += names
            self._all_weights.append(names)
        self._init_flat_weights()
        self.reset_parameters()

    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _state_width(self) -> int:
        """Size of h: the projection's when there is one, else hidden_size."""
        return self.proj_size or self.hidden_size

    def _layer_parameters(self, index):
        """(name, shape) of layer-direction ``index`` in torch's registration order."""
        layer, direction = divmod(index, self._directions())
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        rows = GATES[self.mode] * self.hidden_size
        fed = self.input_size if layer == 0 else self._state_width() * self._directions()
        specs = [("weight_ih", (rows, fed)), ("weight_hh", (rows, self._state_width()))]
        if self.bias:
            specs += [("bias_ih", (rows,)), ("bias_hh", (rows,))]
        if self.proj_size > 0:
            specs.append(("weight_hr", (self.proj_size, self.hidden_size)))
        return [(kind + suffix, shape) for kind, shape in specs]

    def _init_flat_weights(self) -> None:
        self._flat_weights = [getattr(self, name, None) for name in self._flat_weights_names]

    def __setattr__(self, attr, value) -> None:
        # a reassigned weight must also replace its entry in the list the layers read
        names, flat = self.__dict__.get("_flat_weights_names"), self.__dict__.get("_flat_weights")
        if flat is not None and names is not None and attr in names:
            flat[names.index(attr)] = value
        super().__setattr__(attr, value)

    def flatten_parameters(self) -> None:
        """Accepted for compatibility: ember's weights are always usable as they are (there
        is no cuDNN weight buffer to compact)."""

    def _apply(self, fn, recurse=True):
        result = super()._apply(fn, recurse)
        self._init_flat_weights()       # .to()/.double() made new parameter objects
        return result

    def reset_parameters(self) -> None:
        _init_uniform(self)

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    # -- argument checks, PyTorch's texts ------------------------------------------------

    def check_input(self, input: Tensor, batch_sizes) -> None:
        weight_dtype = self._flat_weights[0].dtype
        if input.dtype != weight_dtype:
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight_dtype})."
                f" Convert input: input.to({weight_dtype}), or convert model: "
                f"model.to({input.dtype})")
        rank = 3 if batch_sizes is None else 2        # packed data has no batch dim
        if input.dim() != rank:
            raise RuntimeError(f"input must have {rank} dimensions, got {input.dim()}")
        features = input.size(-1)
        if features != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {features}")

    def get_expected_hidden_size(self, input: Tensor, batch_sizes) -> tuple[int, int, int]:
        return self._expected_state_size(input, batch_sizes, self._state_width())

    def _expected_state_size(self, input: Tensor, batch_sizes,
                             size: int) -> tuple[int, int, int]:
        """(layers * directions, batch, size): the shape of h0 (and LSTM's c0)."""
        if batch_sizes is None:
            batch = input.size(0 if self.batch_first else 1)
        else:
            batch = int(batch_sizes[0])                # the first step has every sequence
        return (self.num_layers * self._directions(), batch, size)

    def check_hidden_size(self, hx: Tensor, expected_hidden_size,
                          msg: str = "Expected hidden size {}, got {}") -> None:
        expected = tuple(expected_hidden_size)
        if tuple(hx.size()) != expected:
            raise RuntimeError(msg.format(expected, list(hx.size())))

    def check_forward_args(self, input: Tensor, hidden: Tensor, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx, permutation):
        """Reorder the batch dim of a state (packed sequences sort by length)."""
        if permutation is None:
            return hx
        return _each(hx, lambda part: part.index_select(1, permutation))

    def extra_repr(self) -> str:
        return _describe(self, _LAYER_REPR)

    # -- the computation --------------------------------------------------------------------

    def _prepare(self, input, hx, name):
        """Normalise the input to time-major 2-D rows and hx to (L*D, B, H) tensors.

        Returns (rows, steps, batch, hx, restore) where ``restore(output, hidden)`` gives
        the caller's layout back.
        """
        if isinstance(input, PackedSequence):
            return self._prepare_packed(input, hx)
        if input.dim() not in (2, 3):
            tensor_word = " tensor" if name == "RNN" else ""
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D"
                             f"{tensor_word} instead")
        batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        if not batched:
            input = input.unsqueeze(batch_dim)
        if hx is None:
            hx = self._zero_state(input.size(batch_dim), input)
        else:
            hx = self._batch_hidden(hx, batched)
        self.check_forward_args(input, hx, None)
        time_major = input.transpose(0, 1) if self.batch_first else input
        length, batch, features = time_major.shape
        if length == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")

        def restore(rows_out, hidden):
            output = rows_out.reshape(length, batch, rows_out.shape[-1])
            if self.batch_first:
                output = output.transpose(0, 1)
            if batched:
                return output, hidden
            return output.squeeze(batch_dim), _each(hidden, lambda part: part.squeeze(1))

        rows = time_major.reshape(length * batch, features)
        return rows, step_slices(None, batch, length), batch, hx, restore

    def _prepare_packed(self, input, hx):
        data, batch_sizes, sorted_indices, unsorted_indices = input
        batch = int(batch_sizes[0])
        hx = (self._zero_state(batch, data) if hx is None
              else self.permute_hidden(hx, sorted_indices))
        self.check_forward_args(data, hx, batch_sizes)

        def restore(rows, hidden):
            packed = PackedSequence(rows, batch_sizes, sorted_indices, unsorted_indices)
            return packed, self.permute_hidden(hidden, unsorted_indices)

        steps = step_slices(batch_sizes.tolist(), None, None)
        return data, steps, batch, hx, restore

    def _state_widths(self):
        """Last-dim sizes of the state's parts: (h,) or LSTM's (h, c)."""
        return (self._state_width(),)

    def _zero_state(self, batch, like):
        lead = self.num_layers * self._directions()
        parts = tuple(zeros((lead, batch, width), dtype=like.dtype, device=like.device)
                      for width in self._state_widths())
        return parts if len(parts) > 1 else parts[0]

    def _batch_hidden(self, hx, is_batched):
        """Check the state's rank against the input's; unbatched states gain dim 1."""
        parts = tuple(hx) if len(self._state_widths()) > 1 else (hx,)
        want = 3 if is_batched else 2
        ranks = [part.dim() for part in parts]
        if any(rank != want for rank in ranks):
            layout = "batched 3-D" if is_batched else "unbatched 2-D"
            if len(ranks) > 1:
                got = f"({', '.join(f'{r}-D' for r in ranks)}) tensors"
                raise RuntimeError(f"For {layout} input, hx and cx should also be {want}-D "
                                   f"but got {got}")
            raise RuntimeError(f"For {layout} input, hx should also be {want}-D but got "
                               f"{ranks[0]}-D tensor")
        return hx if is_batched else _each(hx, lambda part: part.unsqueeze(1))

    def _layer_weights(self, index, per_direction):
        """(w_ih, w_hh, b_ih, b_hh, w_hr) of layer-direction ``index``; absent ones None."""
        group = self._flat_weights[index * per_direction:(index + 1) * per_direction]
        biases = tuple(group[2:4]) if self.bias else (None, None)
        return (group[0], group[1], *biases, group[-1] if self.proj_size > 0 else None)

    def _run(self, rows, steps, h0, c0):
        """All layers and directions; returns (output rows, h_n, c_n or None)."""
        lstm = self.mode == "LSTM"
        first_weight = self._flat_weights[0]
        for state in (h0, c0) if lstm else (h0,):
            if state.dtype != first_weight.dtype:
                raise _state_dtype_error(state, first_weight, lstm)
        directions = self._directions()
        per_direction = len(self._flat_weights) // (self.num_layers * directions)
        finals = []                    # (h_n,) or (h_n, c_n) per layer-direction, in order
        layer_input = rows
        for layer in range(self.num_layers):
            outputs = []
            for index in range(layer * directions, (layer + 1) * directions):
                out, *final = RecurrentLayer.apply(
                    layer_input, *self._layer_weights(index, per_direction), h0[index],
                    c0[index] if lstm else None, self.mode, steps, index % directions == 1)
                outputs.append(out)
                finals.append(final)
            layer_input = cat(outputs, 1) if len(outputs) > 1 else outputs[0]
            last = layer == self.num_layers - 1
            if self.training and self.dropout and not last:
                layer_input = F.dropout(layer_input, self.dropout, True)
        h_n = stack([final[0] for final in finals], 0)
        c_n = stack([final[1] for final in finals], 0) if lstm else None
        return layer_input, h_n, c_n

    def forward(self, input, hx=None):
        lstm = self.mode == "LSTM"
        name = "RNN" if self.mode in _RNN_MODES.values() else self.mode
        rows, steps, _, hx, restore = self._prepare(input, hx, name)
        h0, c0 = (hx[0], hx[1]) if lstm else (hx, None)
        output, h_n, c_n = self._run(rows, steps, h0, c0)
        return restore(output, (h_n, c_n) if lstm else h_n)


def _state_dtype_error(state, weight, lstm):
    """PyTorch's kernels' texts for an initial state whose dtype is not the weights':
    its float32 LSTM goes through oneDNN, which has no float64 type; the others multiply
    the state by the weights."""
    from ..._ops._util import type_name

    if lstm and str(weight.dtype) == "torch.float32" and str(state.dtype) == "torch.float64":
        return RuntimeError("get_mkldnn_dtype: unsupported data type")
    return RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                        f"{type_name(state._data.dtype)} and {type_name(weight._data.dtype)}")


def check_dropout(dropout, num_layers, stacklevel):
    """torch's first constructor checks of a recurrent module, shared with the dynamic
    quantized ones: ValueError for a dropout that is not a probability, a warning for
    dropout on a single layer (``stacklevel`` counted from the caller)."""
    is_probability = (isinstance(dropout, numbers.Number) and not isinstance(dropout, bool)
                      and 0 <= dropout <= 1)
    if not is_probability:
        raise ValueError("dropout should be a number in range [0, 1] representing the "
                         "probability of an element being zeroed")
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                      "non-zero dropout expects num_layers greater than 1, but got "
                      f"dropout={dropout} and num_layers={num_layers}",
                      stacklevel=stacklevel + 1)


def _check_arguments(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                     proj_size):
    """Constructor checks in torch's order (the first failing one is reported)."""
    check_dropout(dropout, num_layers, stacklevel=3)
    typed = (("bias", bias, bool), ("batch_first", batch_first, bool),
             ("input_size", input_size, int), ("hidden_size", hidden_size, int))
    for label, value, kind in typed:
        if not isinstance(value, kind):
            raise TypeError(f"{label} should be of type {kind.__name__}, got: "
                            f"{type(value).__name__}")
        if kind is int and value <= 0:
            raise ValueError(f"{label} must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")
    if mode not in GATES:
        raise ValueError("Unrecognized RNN mode: " + mode)


class RNN(RNNBase):
    """Elman RNN: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``, act tanh or relu.

    Shape: input (L, N, H_in) / (N, L, H_in) with batch_first / (L, H_in) unbatched;
    h_0 (D * num_layers, N, H_out). Returns (output (L, N, D * H_out), h_n).

    Example::

        >>> rnn = nn.RNN(10, 20, 2)
        >>> output, hn = rnn(torch.randn(5, 3, 10), torch.randn(2, 3, 20))
    """

    def __init__(self, *args, **kwargs):
        _refuse_proj_size(kwargs)
        # nonlinearity is the 4th positional argument in torch's signature
        if len(args) > 3:
            nonlinearity, args = args[3], args[:3] + args[4:]
        else:
            nonlinearity = kwargs.pop("nonlinearity", "tanh")
        self.nonlinearity = nonlinearity
        if not (isinstance(nonlinearity, str) and nonlinearity in _RNN_MODES):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' "
                             "or 'relu'.")
        super().__init__(_RNN_MODES[nonlinearity], *args, **kwargs)


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o), optionally with a projection of the
    hidden state (``proj_size``).

    Shape: input as RNN; (h_0, c_0) of shapes (D * num_layers, N, H_out) and
    (D * num_layers, N, H_cell). Returns (output, (h_n, c_n)).

    Example::

        >>> rnn = nn.LSTM(10, 20, 2)
        >>> output, (hn, cn) = rnn(torch.randn(5, 3, 10))
    """

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def _state_widths(self):
        return (self._state_width(), self.hidden_size)

    def get_expected_cell_size(self, input: Tensor, batch_sizes) -> tuple[int, int, int]:
        return self._expected_state_size(input, batch_sizes, self.hidden_size)

    def check_forward_args(self, input: Tensor, hidden, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        expected = (self.get_expected_hidden_size(input, batch_sizes),
                    self.get_expected_cell_size(input, batch_sizes))
        for position in (0, 1):
            self.check_hidden_size(hidden[position], expected[position],
                                   f"Expected hidden[{position}] size {{}}, got {{}}")


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n):
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.

    Shape and return value as RNN.
    """

    def __init__(self, *args, **kwargs):
        _refuse_proj_size(kwargs)
        super().__init__("GRU", *args, **kwargs)


# -- cells ----------------------------------------------------------------------------------


class RNNCellBase(Module):
    """Parameters of a single recurrent step: weight_ih, weight_hh, bias_ih, bias_hh.

    Subclasses set ``_label`` (the name in error texts) and ``_states`` (1, or 2 for
    LSTM's (h, c)); ``_batched`` validates and batches input and state for all three."""

    __constants__ = ["input_size", "hidden_size", "bias"]
    _label = "RNNCellBase"
    _states = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rows = num_chunks * hidden_size
        shapes = {"weight_ih": (rows, input_size), "weight_hh": (rows, hidden_size),
                  "bias_ih": (rows,), "bias_hh": (rows,)}
        for name, shape in shapes.items():
            wanted = bias or name.startswith("weight")
            self.register_parameter(
                name, Parameter(empty(shape, device=device, dtype=dtype)) if wanted else None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        return _describe(self, _CELL_REPR)

    def reset_parameters(self) -> None:
        _init_uniform(self)

    def _batched(self, input, hx):
        """(input as (N, in), state parts as (N, hidden) each, whether input was batched);
        a missing state is zeros."""
        label = self._label
        if input.dim() not in (1, 2):
            raise ValueError(f"{label}: Expected input to be 1D or 2D, got {input.dim()}D "
                             "instead")
        parts = None if hx is None else (tuple(hx) if self._states > 1 else (hx,))
        names = ("hidden",) if self._states == 1 else tuple(f"hx[{i}]" for i in range(2))
        for part_name, part in zip(names, parts or ()):
            if part.dim() not in (1, 2):
                raise ValueError(f"{label}: Expected {part_name} to be 1D or 2D, got "
                                 f"{part.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if parts is None:
            blank = zeros((input.size(0), self.hidden_size), dtype=input.dtype,
                          device=input.device)
            parts = (blank,) * self._states
        elif not batched:
            parts = tuple(part.unsqueeze(0) for part in parts)
        self._check_cell(input, parts[0])
        return input, parts, batched

    def _check_cell(self, input, hx):
        batch, features = input.size(0), input.size(1)
        if features != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {features} "
                               f"expected {self.input_size}")
        if batch != hx.size(0):
            raise RuntimeError(f"Input batch size {batch} doesn't match hidden0 batch "
                               f"size {hx.size(0)}")
        if hx.size(1) != self.hidden_size:
            raise RuntimeError(f"hidden0 has inconsistent hidden_size: got {hx.size(1)}, "
                               f"expected {self.hidden_size}")

    def _weights(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh


class RNNCell(RNNCellBase):
    """One Elman RNN step: ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``."""

    __constants__ = [*RNNCellBase.__constants__, "nonlinearity"]
    _label = "RNNCell"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device,
                         dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, (h,), batched = self._batched(input, hx)
        if self.nonlinearity not in tuple(_RNN_MODES):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        out = rnn_cell(input, h, *self._weights(), self.nonlinearity)
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; returns (h', c')."""

    _label = "LSTMCell"
    _states = 2

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device,
                         dtype=dtype)

    def forward(self, input: Tensor, hx=None):
        input, (h, c), batched = self._batched(input, hx)
        pair = lstm_cell(input, h, c, *self._weights())
        return tuple(pair) if batched else tuple(part.squeeze(0) for part in pair)


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n)."""

    _label = "GRUCell"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device,
                         dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, (h,), batched = self._batched(input, hx)
        out = gru_cell(input, h, *self._weights())
        return out if batched else out.squeeze(0)
