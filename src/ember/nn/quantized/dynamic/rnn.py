"""Dynamic quantized LSTM, as ``torch.ao.nn.quantized.dynamic.LSTM``.

Each layer and direction keeps its two int8 weight matrices (input-hidden and
hidden-hidden, each with its float bias) and runs PyTorch's quantized cell: the
input-hidden product is computed for the whole sequence at once (one set of activation
parameters for the layer's input, as PyTorch precomputes it), the hidden-hidden product
per step (parameters from that step's hidden state); both through the dynamic quantized
Linear kernel (7-bit activations, int32 sums, float32 rescale). The gates are the float
LSTM's.
"""

from __future__ import annotations

import ember

from ...._ops import _quantized_kernels as _k
from ...modules.module import Module
from .. import modules as _nnq

__all__ = ["LSTM"]


class LSTM(Module):
    """LSTM with int8 weights; float input, output and states."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=None):
        super().__init__()
        if not bias:
            raise AssertionError("mod.bias must be True")
        self.mode = "LSTM"
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.dtype = dtype or ember.qint8
        self.version = 2
        self._cells = []  # per layer, then direction: (packed_ih, packed_hh)

    def _get_name(self):
        return "DynamicQuantizedLSTM"

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
        """The quantized weights by the float LSTM's parameter names."""
        return self._by_name("weight", 0)

    def get_bias(self):
        return self._by_name("bias", 1)

    def _by_name(self, kind, slot):
        names, directions = {}, 2 if self.bidirectional else 1
        for index, cell in enumerate(self._cells):
            layer, direction = divmod(index, directions)
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            for part, packed in zip(("ih", "hh"), cell):
                names[f"{kind}_{part}{suffix}"] = (packed.qweight, packed.bias)[slot]
        return names

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """Quantize every weight matrix with a fresh weight observer of the qconfig."""
        from ....ao.quantization.qconfig import default_dynamic_qconfig

        if not mod.bias:
            raise AssertionError("mod.bias must be True")
        if getattr(mod, "proj_size", 0):
            raise NotImplementedError("dynamic quantized LSTM with proj_size is not supported")
        qconfig = getattr(mod, "qconfig", None) or default_dynamic_qconfig
        dtype = qconfig.weight().dtype
        if dtype is not ember.qint8:
            raise RuntimeError(f"Unsupported dtype for dynamic RNN quantization: {dtype}")
        qlstm = cls(mod.input_size, mod.hidden_size, mod.num_layers, mod.bias, mod.batch_first,
                    mod.dropout, mod.bidirectional, dtype)
        directions = 2 if mod.bidirectional else 1
        for layer in range(mod.num_layers):
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                qlstm._cells.append(tuple(
                    _pack(getattr(mod, f"weight_{part}{suffix}"),
                          getattr(mod, f"bias_{part}{suffix}"), qconfig)
                    for part in ("ih", "hh")))
        return qlstm

    def forward(self, input, hx=None):
        x = input.transpose(0, 1) if self.batch_first else input
        unbatched = x.dim() == 2
        if unbatched:
            x = x.unsqueeze(1)
        directions = 2 if self.bidirectional else 1
        if hx is None:
            zeros = ember.zeros(self.num_layers * directions, x.shape[1], self.hidden_size)
            hx = (zeros, zeros)
        elif unbatched:
            hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                out, h, c = _run_direction(x, hx[0][index], hx[1][index], *self._cells[index],
                                           reverse=direction == 1)
                outputs.append(out)
                h_n.append(h)
                c_n.append(c)
            x = outputs[0] if directions == 1 else ember.cat(outputs, dim=2)
        h_n, c_n = ember.stack(h_n), ember.stack(c_n)
        if unbatched:
            return x.squeeze(1), (h_n.squeeze(1), c_n.squeeze(1))
        return (x.transpose(0, 1) if self.batch_first else x), (h_n, c_n)


def _pack(weight, bias, qconfig):
    observer = qconfig.weight()
    observer(weight)
    qweight = _nnq._quantize_weight(weight.detach().float(), observer)
    return _k.PackedWeight(qweight, bias.detach())


def _run_direction(x, h, c, packed_ih, packed_hh, reverse):
    """One direction of one layer over the (time, batch, features) sequence."""
    steps, batch = x.shape[0], x.shape[1]
    input_gates = _k.linear_dynamic(x.reshape(steps * batch, x.shape[2]), packed_ih)
    input_gates = input_gates.reshape(steps, batch, -1)
    outputs = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        gates = input_gates[t] + _k.linear_dynamic(h, packed_hh)
        i, f, g, o = gates.chunk(4, 1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        outputs[t] = h
    return ember.stack(outputs), h, c
