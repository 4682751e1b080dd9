"""Dynamically quantized recurrent modules, as ``torch.ao.nn.quantized.dynamic``'s LSTM,
GRU, LSTMCell, GRUCell and RNNCell, with int8 (qint8) or float16 weights.

Each layer and direction (or the cell) keeps its two packed weight matrices
(input-hidden and hidden-hidden, each with its float bias). int8 weights run through the
dynamic quantized Linear kernel (activations quantized per call from their own range,
int32 sums, float32 rescale); float16 weights are widened back to float32 and multiplied
in float32, as PyTorch's fp16 kernels do. The gates are PyTorch's quantized cells'
(aten RNN.cpp), in its operation order.

The sequence modules (LSTM, GRU) compute the input-hidden product for the whole sequence
at once (one set of activation parameters for the layer's input, as PyTorch precomputes
it on CPU) and the hidden-hidden product per step; the single-step cells both products
of their one step. int8 activations are 7-bit (``reduce_range``) everywhere, as PyTorch's
fbgemm path (measured: the cells differ by ~1e-2 from PyTorch's with 8-bit ones).
"""

from __future__ import annotations

import ember

from ...._ops import _quantized_kernels as _k
from ...modules.module import Module
from ...modules.rnn import check_dropout
from .. import modules as _nnq

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNNCell"]


class _PackedFp16:
    """quantized::linear_prepack_fp16: the weight kept as float16, the float32 bias."""

    __slots__ = ("bias", "qweight")

    def __init__(self, weight, bias):
        self.qweight = weight.detach().float().to(ember.float16)
        self.bias = None if bias is None else bias.detach().float()


def _pack(weight, bias, dtype, observer_factory=None):
    """A weight (quantized with a fresh observer of ``observer_factory`` when int8 and
    still float) packed with its bias for ``_linear``."""
    if dtype is ember.float16:
        return _PackedFp16(weight, bias)
    if observer_factory is not None:
        observer = observer_factory()
        observer(weight)
        weight = _nnq._quantize_weight(weight.detach().float(), observer)
    return _k.PackedWeight(weight, None if bias is None else bias.detach())


def _random_pack(rows, columns, bias, dtype, scale):
    """The placeholder weights of a module built directly (PyTorch's constructors fill
    theirs with randn, quantized with a fixed scale and zero point 0)."""
    weight = ember.randn(rows, columns)
    if dtype is ember.qint8:
        weight = ember.quantize_per_tensor(weight, scale, 0, ember.qint8)
    return _pack(weight, bias, dtype)


def _linear(x, packed):
    if isinstance(packed, _PackedFp16):
        return _k.linear_dynamic_fp16(x, packed.qweight, packed.bias)
    return _k.linear_dynamic(x, packed, reduce_range=True)


def _weights(packed):
    """(weight, bias) as PyTorch's unpacking gives them: the quantized int8 weight, or
    the float16 weight widened to float32."""
    if isinstance(packed, _PackedFp16):
        return packed.qweight.float(), packed.bias
    return packed.qweight, packed.bias


# -- the cells (aten's LSTMCell, GRUCell, SimpleCell over quantized params) --------------

def _lstm_step(igates, state, packed_hh):
    h, c = state
    gates = _linear(h, packed_hh) + igates
    i, f, g, o = gates.chunk(4, 1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def _gru_step(igates, h, packed_hh):
    ir, iz, in_ = igates.chunk(3, 1)
    hr, hz, hn = _linear(h, packed_hh).chunk(3, 1)
    reset, update = (hr + ir).sigmoid(), (hz + iz).sigmoid()
    new = (in_ + hn * reset).tanh()
    return (h - new) * update + new


def _simple_step(nonlinearity):
    def step(igates, h, packed_hh):
        return nonlinearity(_linear(h, packed_hh) + igates)
    return step


def _float_weight_factory(mod):
    """``from_float``'s weight observer factory and dtype: the module's qconfig's
    (``default_dynamic_qconfig``'s when the qconfig or its weight is None)."""
    if not hasattr(mod, "qconfig"):
        raise AssertionError("Input float module must have qconfig defined")
    if mod.qconfig is not None and mod.qconfig.weight is not None:
        factory = mod.qconfig.weight
    else:
        from ....ao.quantization.qconfig import default_dynamic_qconfig

        factory = default_dynamic_qconfig.weight
    dtype = factory().dtype
    if dtype not in (ember.qint8, ember.float16):
        raise RuntimeError(f"Unsupported dtype for dynamic RNN quantization: {dtype}")
    return factory, dtype


# -- sequence modules ----------------------------------------------------------------------

class RNNBase(Module):
    """A stacked (optionally bidirectional) LSTM or GRU with packed weights."""

    _version = 2
    _GATES = {"LSTM": 4, "GRU": 3}

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, dtype=None):
        super().__init__()
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.dtype = dtype = dtype or ember.qint8
        self.version = 2
        self.training = False
        check_dropout(dropout, num_layers, stacklevel=2)
        if mode not in self._GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gates, directions = self._GATES[mode] * hidden_size, 2 if bidirectional else 1
        self._cells = []  # per layer, then direction: (packed_ih, packed_hh)
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for _ in range(directions):
                self._cells.append(tuple(
                    _random_pack(gates, columns, ember.randn(gates), dtype, 0.1)
                    for columns in (layer_input, hidden_size)))

    def _get_name(self):
        return "DynamicQuantizedRNN"

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    def get_weight(self):
        """The packed weights by the float module's parameter names."""
        return self._by_name("weight", 0)

    def get_bias(self):
        return self._by_name("bias", 1)

    def _by_name(self, kind, slot):
        names, directions = {}, 2 if self.bidirectional else 1
        for index, cell in enumerate(self._cells):
            layer, direction = divmod(index, directions)
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            for part, packed in zip(("ih", "hh"), cell):
                names[f"{kind}_{part}{suffix}"] = _weights(packed)[slot]
        return names

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """Pack every weight matrix (int8: each quantized with a fresh weight observer of
        the qconfig; float16: rounded)."""
        if type(mod) not in (ember.nn.LSTM, ember.nn.GRU):
            raise AssertionError(
                "nn.quantized.dynamic.RNNBase.from_float only works for nn.LSTM and nn.GRU")
        factory, dtype = _float_weight_factory(mod)
        if getattr(mod, "proj_size", 0):
            raise NotImplementedError("dynamic quantized LSTM with proj_size is not supported")
        quantized = {"LSTM": LSTM, "GRU": GRU}[mod.mode](
            mod.input_size, mod.hidden_size, mod.num_layers, mod.bias, mod.batch_first,
            mod.dropout, mod.bidirectional, dtype)
        if not mod.bias:
            raise AssertionError("mod.bias must be True")
        quantized._cells = []
        for layer in range(mod.num_layers):
            for direction in range(2 if mod.bidirectional else 1):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                quantized._cells.append(tuple(
                    _pack(getattr(mod, f"weight_{part}{suffix}"),
                          getattr(mod, f"bias_{part}{suffix}"), dtype, factory)
                    for part in ("ih", "hh")))
        return quantized

    def _check_forward_args(self, input, states):
        if input.dim() != 3:
            raise RuntimeError(f"input must have 3 dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError("input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")
        batch = input.size(0) if self.batch_first else input.size(1)
        expected = (self.num_layers * (2 if self.bidirectional else 1), batch,
                    self.hidden_size)
        for label, state in states:
            if tuple(state.size()) != expected:
                raise RuntimeError(
                    f"Expected hidden{label} size {expected}, got {list(state.size())}")

    def _run(self, input, hx, step):
        """Every layer and direction over the sequence; ``hx`` is a tuple of stacked
        states (LSTM: h and c; GRU: h alone)."""
        x = input.transpose(0, 1) if self.batch_first else input
        directions = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                state = tuple(s[index] for s in hx)
                out, state = _run_direction(x, state if len(state) > 1 else state[0],
                                            *self._cells[index], step, direction == 1)
                outputs.append(out)
                finals.append(state if isinstance(state, tuple) else (state,))
            x = outputs[0] if directions == 1 else ember.cat(outputs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = ember.nn.functional.dropout(x, self.dropout)  # as aten's layer stack
        stacked = tuple(ember.stack(parts) for parts in zip(*finals))
        return (x.transpose(0, 1) if self.batch_first else x), stacked

    def _zeros(self, input):
        batch = input.size(0) if self.batch_first else input.size(1)
        return ember.zeros(self.num_layers * (2 if self.bidirectional else 1), batch,
                           self.hidden_size, dtype=input.dtype)


def _run_direction(x, state, packed_ih, packed_hh, step, reverse):
    """One direction of one layer over the (time, batch, features) sequence."""
    steps, batch = x.shape[0], x.shape[1]
    igates = _linear(x.reshape(steps * batch, x.shape[2]), packed_ih)
    igates = igates.reshape(steps, batch, -1)
    outputs = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        state = step(igates[t], state, packed_hh)
        outputs[t] = state[0] if isinstance(state, tuple) else state
    return ember.stack(outputs), state


class LSTM(RNNBase):
    """LSTM with int8 or float16 weights; float input, output and states."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def _get_name(self):
        return "DynamicQuantizedLSTM"

    def forward(self, input, hx=None):
        if hx is None:
            zeros = self._zeros(input)
            hx = (zeros, zeros)
        self._check_forward_args(input, (("[0]", hx[0]), ("[1]", hx[1])))
        return self._run(input, tuple(hx), _lstm_step)


class GRU(RNNBase):
    """GRU with int8 or float16 weights; float input, output and state."""

    def __init__(self, *args, **kwargs):
        super().__init__("GRU", *args, **kwargs)

    def _get_name(self):
        return "DynamicQuantizedGRU"

    def forward(self, input, hx=None):
        if hx is None:
            hx = self._zeros(input)
        self._check_forward_args(input, (("", hx),))
        output, (h_n,) = self._run(input, (hx,), _gru_step)
        return output, h_n


# -- single-step cells ---------------------------------------------------------------------

class RNNCellBase(Module):
    """One step of a recurrent cell with packed weights. ``bias_ih``/``bias_hh`` are
    PyTorch's placeholders from construction: the packed weights carry the biases used."""

    def __init__(self, input_size, hidden_size, bias=True, num_chunks=4, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_dtype = dtype = dtype or ember.qint8
        rows = num_chunks * hidden_size
        self.bias_ih = ember.randn(rows) if bias else None
        self.bias_hh = ember.randn(rows) if bias else None
        self._packed_weight_ih = _random_pack(rows, input_size, self.bias_ih, dtype, 1.0)
        self._packed_weight_hh = _random_pack(rows, hidden_size, self.bias_hh, dtype, 1.0)

    def _get_name(self):
        return "DynamicQuantizedRNNBase"

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def get_weight(self):
        return {"weight_ih": _weights(self._packed_weight_ih)[0],
                "weight_hh": _weights(self._packed_weight_hh)[0]}

    def get_bias(self):
        return {"bias_ih": _weights(self._packed_weight_ih)[1],
                "bias_hh": _weights(self._packed_weight_hh)[1]}

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        kinds = {ember.nn.LSTMCell: LSTMCell, ember.nn.GRUCell: GRUCell,
                 ember.nn.RNNCell: RNNCell}
        if type(mod) not in kinds:
            raise AssertionError("nn.quantized.dynamic.RNNCellBase.from_float only works "
                                 "for nn.LSTMCell, nn.GRUCell and nn.RNNCell")
        factory, dtype = _float_weight_factory(mod)
        extra = {"nonlinearity": mod.nonlinearity} if type(mod) is ember.nn.RNNCell else {}
        quantized = kinds[type(mod)](mod.input_size, mod.hidden_size, bias=mod.bias,
                                     dtype=dtype, **extra)
        if not mod.bias:
            raise AssertionError("mod.bias must be True")
        quantized._packed_weight_ih = _pack(mod.weight_ih, mod.bias_ih, dtype, factory)
        quantized._packed_weight_hh = _pack(mod.weight_hh, mod.bias_hh, dtype, factory)
        return quantized

    def _check_forward_input(self, input):
        if input.size(1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)}, "
                               f"expected {self.input_size}")

    def _check_forward_hidden(self, input, hx, label=""):
        if input.size(0) != hx.size(0):
            raise RuntimeError(f"Input batch size {input.size(0)} doesn't match "
                               f"hidden{label} batch size {hx.size(0)}")
        if hx.size(1) != self.hidden_size:
            raise RuntimeError(f"hidden{label} has inconsistent hidden_size: got "
                               f"{hx.size(1)}, expected {self.hidden_size}")

    def _step(self, input, state, step):
        return step(_linear(input, self._packed_weight_ih), state, self._packed_weight_hh)

    def _zeros(self, input):
        return ember.zeros(input.size(0), self.hidden_size, dtype=input.dtype)


class RNNCell(RNNCellBase):
    """An Elman cell (tanh or ReLU) with int8 or float16 weights."""

    _STEPS = {"tanh": _simple_step(ember.tanh), "relu": _simple_step(ember.relu)}

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, dtype=dtype)
        self.nonlinearity = nonlinearity

    def _get_name(self):
        return "DynamicQuantizedRNNCell"

    def forward(self, input, hx=None):
        self._check_forward_input(input)
        if hx is None:
            hx = self._zeros(input)
        self._check_forward_hidden(input, hx)
        if self.nonlinearity not in self._STEPS:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return self._step(input, hx, self._STEPS[self.nonlinearity])


class LSTMCell(RNNCellBase):
    """An LSTM cell with int8 or float16 weights; returns ``(h, c)``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, num_chunks=4, **kwargs)

    def _get_name(self):
        return "DynamicQuantizedLSTMCell"

    def forward(self, input, hx=None):
        self._check_forward_input(input)
        if hx is None:
            zeros = self._zeros(input)
            hx = (zeros, zeros)
        self._check_forward_hidden(input, hx[0], "[0]")
        self._check_forward_hidden(input, hx[1], "[1]")
        return self._step(input, tuple(hx), _lstm_step)


class GRUCell(RNNCellBase):
    """A GRU cell with int8 or float16 weights."""

    def __init__(self, input_size, hidden_size, bias=True, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, dtype=dtype)

    def _get_name(self):
        return "DynamicQuantizedGRUCell"

    def forward(self, input, hx=None):
        self._check_forward_input(input)
        if hx is None:
            hx = self._zeros(input)
        self._check_forward_hidden(input, hx)
        return self._step(input, hx, _gru_step)
