"""The LSTM time step as one CUDA kernel each way (``cupy.ElementwiseKernel``).

Why: ``rnn._lstm_forward``/``_lstm_backward`` run a step as a dozen array ops (gate
nonlinearities, cell update, copies), which is one kernel launch each on a GPU; with 35
steps and two layers the launches, not the arithmetic, were 60% of an LSTM language-model
step on an H200. Here a step is one GEMM plus one kernel forward and one kernel plus one
GEMM backward. The arithmetic is the array path's, in the same order (sigmoids as
``0.5 * tanh(z) + 0.5`` on pre-halved weights, see ``rnn``), so results agree to rounding.

Used for float32/float64 LSTMs without projections on CuPy; everything else (NumPy, half
precision, ``proj_size``) takes the array path, which is also what CPU tests exercise
(``ember._backend.kernels``: a backend that cannot compile falls back there too).
"""

from __future__ import annotations

import numpy as np

from .._backend.kernels import elementwise

_FORWARD = """
const ptrdiff_t row = i / hidden, col = i - row * hidden;
const ptrdiff_t base = row * 4 * hidden + col;
T gate_i = tanh(gates[base] + rec[base]) * (T)0.5 + (T)0.5;
T gate_f = tanh(gates[base + hidden] + rec[base + hidden]) * (T)0.5 + (T)0.5;
T gate_g = tanh(gates[base + 2 * hidden] + rec[base + 2 * hidden]);
T gate_o = tanh(gates[base + 3 * hidden] + rec[base + 3 * hidden]) * (T)0.5 + (T)0.5;
gates[base] = gate_i;
gates[base + hidden] = gate_f;
gates[base + 2 * hidden] = gate_g;
gates[base + 3 * hidden] = gate_o;
T c_old = c[i];
c_prev[i] = c_old;
T c_new = c_old * gate_f + gate_i * gate_g;
c[i] = c_new;
T c_tanh = tanh(c_new);
cell[i] = c_tanh;
T h_new = gate_o * c_tanh;
h_prev[i] = h[i];
h_out[i] = h_new;
h[i] = h_new;
"""

_BACKWARD = """
const ptrdiff_t row = i / hidden, col = i - row * hidden;
const ptrdiff_t base = row * 4 * hidden + col;
T d_ht = d_h[i] + grad_out[i];
T d_ct = d_c[i] + d_ht * cell_factor[i];
d_gates[base] = factor[base] * d_ct;
d_gates[base + hidden] = factor[base + hidden] * d_ct;
d_gates[base + 2 * hidden] = factor[base + 2 * hidden] * d_ct;
d_gates[base + 3 * hidden] = d_ht * factor[base + 3 * hidden];
d_c[i] = d_ct * acts[base + hidden];
"""


def lstm_kernels(xp, dtype):
    """(forward, backward) step kernels for ``xp`` arrays of ``dtype``, or None."""
    if np.dtype(dtype) not in (np.float32, np.float64):
        return None
    forward = elementwise(xp, "ember_lstm_step_forward", "raw T rec, int64 hidden",
                          "raw T gates, raw T c, raw T c_prev, raw T cell, raw T h_prev, "
                          "raw T h_out, raw T h", _FORWARD)
    if forward is None:
        return None
    backward = elementwise(xp, "ember_lstm_step_backward",
                           "raw T grad_out, raw T cell_factor, raw T factor, raw T acts, "
                           "int64 hidden", "raw T d_gates, raw T d_h, raw T d_c", _BACKWARD)
    return forward, backward
