"""The LSTM and GRU time steps as one CUDA kernel each way (``cupy.ElementwiseKernel``).

Why: ``rnn._lstm_forward``/``_lstm_backward`` run a step as a dozen array ops (gate
nonlinearities, cell update, copies), which is one kernel launch each on a GPU; with 35
steps and two layers the launches, not the arithmetic, were 60% of an LSTM language-model
step on an H200. Here a step is one kernel each way, the recurrent product inside (see
``lstm_recurrent_kernel`` and ``lstm_backward_recurrent_kernel``; a GEMM plus a kernel for
large hidden sizes, and backward for packed batches of varying size). The arithmetic is
the array path's, in the same order (sigmoids as ``0.5 * tanh(z) + 0.5`` on pre-halved
weights, see ``rnn``), with the recurrent dot products summed left to right, so results
agree to rounding.

Used for float32/float64 LSTMs without projections and GRUs on CuPy (the GRU kernels always
form the recurrent products themselves, so they apply within the same size limits);
everything else (NumPy, half precision, ``proj_size``) takes the array path, which is also
what CPU tests exercise (``ember._backend.kernels``: a backend that cannot compile falls
back there too).
"""

from __future__ import annotations

import numpy as np

from .._backend.kernels import elementwise

# the gates and the cell update of one step, shared by both forward kernels: ``{rec_n}``
# the recurrent products, ``{at}`` the step's element in the sequence buffers, ``{h_old}``
# the previous h (``base``: the element's first gate)
_CELL = """
T gate_i = tanh(gates[base] + {rec_0}) * (T)0.5 + (T)0.5;
T gate_f = tanh(gates[base + hidden] + {rec_1}) * (T)0.5 + (T)0.5;
T gate_g = tanh(gates[base + 2 * hidden] + {rec_2});
T gate_o = tanh(gates[base + 3 * hidden] + {rec_3}) * (T)0.5 + (T)0.5;
gates[base] = gate_i;
gates[base + hidden] = gate_f;
gates[base + 2 * hidden] = gate_g;
gates[base + 3 * hidden] = gate_o;
T c_old = c[i];
c_prev[{at}] = c_old;
T c_new = c_old * gate_f + gate_i * gate_g;
c[i] = c_new;
T c_tanh = tanh(c_new);
cell[{at}] = c_tanh;
T h_new = gate_o * c_tanh;
h_prev[{at}] = {h_old};
h_out[{at}] = h_new;
h[i] = h_new;
"""

_FORWARD = """
const ptrdiff_t row = i / hidden, col = i - row * hidden;
const ptrdiff_t base = row * 4 * hidden + col;
""" + _CELL.format(rec_0="rec[base]", rec_1="rec[base + hidden]", rec_2="rec[base + 2 * hidden]",
                   rec_3="rec[base + 3 * hidden]", at="i", h_old="h[i]")

# one step's gate gradients, shared by both backward kernels: ``{d_h}`` the gradient
# reaching this step's h from the next step, ``{at}`` the step's element in the sequence
# buffers
_BACKWARD_CELL = """
T d_ht = {d_h} + grad_out[{at}];
T d_ct = d_c[i] + d_ht * cell_factor[{at}];
d_gates[base] = factor[base] * d_ct;
d_gates[base + hidden] = factor[base + hidden] * d_ct;
d_gates[base + 2 * hidden] = factor[base + 2 * hidden] * d_ct;
d_gates[base + 3 * hidden] = d_ht * factor[base + 3 * hidden];
d_c[i] = d_ct * acts[base + hidden];
"""

_BACKWARD = """
const ptrdiff_t row = i / hidden, col = i - row * hidden;
const ptrdiff_t base = row * 4 * hidden + col;
""" + _BACKWARD_CELL.format(d_h="d_h[i]", at="i")


# The forward step with the recurrent product h @ W_hh^T inside: each thread forms its
# four gates' dot products over the previous h (``h_in``, a buffer the step does not write:
# threads of a row read all of it while others write the new h) and the transposed weight
# (``w_t``, (hidden, 4 hidden): neighbouring threads read neighbouring columns). For the
# hidden sizes this is used at, those dot products cost less device time than the GEMM
# they replace, and a step is one launch instead of two.
MAX_FUSED_HIDDEN = 1024
# ... and steps of at most this many multiply-adds (batch x 4 hidden x hidden): past it a
# thread's serial dot products outlast cuBLAS's GEMM
MAX_FUSED_WORK = 1 << 26

# Both recurrent kernels take whole buffers and the step's first row (``step``), not
# per-step slices: a step is then one launch with no array views made on the host, where
# slicing a dozen CuPy arrays cost more host time than the launch itself.
_FORWARD_RECURRENT = """
const ptrdiff_t row = i / hidden, col = i - row * hidden;
const ptrdiff_t at = step * hidden + i;
const ptrdiff_t base = (step + row) * 4 * hidden + col;
const ptrdiff_t src = (from_out ? in_row + row : row) * hidden;
T rec_0 = 0, rec_1 = 0, rec_2 = 0, rec_3 = 0;
for (ptrdiff_t k = 0; k < hidden; ++k) {
    const T h_k = from_out ? h_out[src + k] : h_in[src + k];
    const ptrdiff_t w = k * 4 * hidden + col;
    rec_0 += h_k * w_t[w];
    rec_1 += h_k * w_t[w + hidden];
    rec_2 += h_k * w_t[w + 2 * hidden];
    rec_3 += h_k * w_t[w + 3 * hidden];
}
""" + _CELL.format(rec_0="rec_0", rec_1="rec_1", rec_2="rec_2", rec_3="rec_3", at="at",
                   h_old="(from_out ? h_out[src + col] : h_in[src + col])")


def _fusable(dtype, batch, hidden, gates=4):
    return (np.dtype(dtype) in (np.float32, np.float64) and hidden <= MAX_FUSED_HIDDEN
            and batch * gates * hidden * hidden <= MAX_FUSED_WORK)


def lstm_recurrent_kernel(xp, dtype, batch, hidden):
    """The forward step kernel that also forms h @ W_hh^T, or None (other dtypes, steps
    past ``MAX_FUSED_HIDDEN``/``MAX_FUSED_WORK``, NumPy, a backend that cannot compile).
    The step writes rows ``step`` on of the sequence buffers (gates, c_prev, cell, h_prev,
    h_out) and the first rows of the running ``c`` and ``h``; it reads the previous h
    from ``h_out`` at row ``in_row`` (``from_out``) or from ``h_in`` (the first step, and
    where a packed batch grows), never from a row this launch writes."""
    if not _fusable(dtype, batch, hidden):
        return None
    return elementwise(xp, "ember_lstm_step_forward_recurrent",
                       "raw T w_t, raw T h_in, int64 in_row, bool from_out, int64 hidden, "
                       "int64 step",
                       "raw T gates, raw T c, raw T c_prev, raw T cell, raw T h_prev, "
                       "raw T h_out, raw T h", _FORWARD_RECURRENT)


# The backward step with the recurrent gradient d_gates(next step) @ W_hh inside: each
# thread sums over the previous step's gate gradients of its row (rows ``prev_step`` on
# of ``d_gates``, which this launch does not write) against its column of ``w_hh``
# ((4 hidden, hidden)); the first step takes ``d_h`` (the incoming gradient of the last
# h) instead. Whole buffers and the step's first row, as the forward kernel.
_BACKWARD_RECURRENT = """
const ptrdiff_t row = i / hidden, col = i - row * hidden;
const ptrdiff_t at = step * hidden + i;
const ptrdiff_t base = (step + row) * 4 * hidden + col;
T d_rec = 0;
if (has_prev) {
    const ptrdiff_t prev_row = (prev_step + row) * 4 * hidden;
    for (ptrdiff_t g = 0; g < 4 * hidden; ++g)
        d_rec += d_gates[prev_row + g] * w_hh[g * hidden + col];
} else {
    d_rec = d_h[i];
}
""" + _BACKWARD_CELL.format(d_h="d_rec", at="at")


def lstm_backward_recurrent_kernel(xp, dtype, batch, hidden):
    """The backward step kernel that also forms the recurrent gradient, or None (as
    ``lstm_recurrent_kernel``)."""
    if not _fusable(dtype, batch, hidden):
        return None
    return elementwise(xp, "ember_lstm_step_backward_recurrent",
                       "raw T grad_out, raw T cell_factor, raw T factor, raw T acts, "
                       "raw T w_hh, raw T d_h, int64 hidden, int64 step, int64 prev_step, "
                       "bool has_prev", "raw T d_gates, raw T d_c", _BACKWARD_RECURRENT)


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


# The backward's factors that do not depend on the incoming gradient (``rnn._lstm_factors``
# arithmetic), for the whole sequence in one launch instead of a dozen array ops
_FACTORS = """
const ptrdiff_t row = i / hidden, col = i - row * hidden;
const ptrdiff_t base = row * 4 * hidden + col;
const T gate_i = acts[base], gate_f = acts[base + hidden];
const T gate_g = acts[base + 2 * hidden], gate_o = acts[base + 3 * hidden];
const T c_tanh = cell_tanh[i];
factor[base] = gate_g * (gate_i * (1 - gate_i));
factor[base + hidden] = c_prev[i] * (gate_f * (1 - gate_f));
factor[base + 2 * hidden] = gate_i * (1 - gate_g * gate_g);
factor[base + 3 * hidden] = c_tanh * (gate_o * (1 - gate_o));
cell_factor[i] = gate_o * (1 - c_tanh * c_tanh);
"""


def lstm_factor_kernel(xp, dtype):
    """The kernel forming the LSTM backward's factors, or None (as ``lstm_kernels``)."""
    if np.dtype(dtype) not in (np.float32, np.float64):
        return None
    return elementwise(xp, "ember_lstm_backward_factors",
                       "raw T acts, raw T c_prev, raw T cell_tanh, int64 hidden",
                       "raw T factor, raw T cell_factor", _FACTORS)


# -- GRU: the same one-launch step each way -------------------------------------------------

# forward (``rnn._gru_forward``'s arithmetic): r, z = sigmoid via 0.5 tanh + 0.5 on
# pre-halved weights, n = tanh(x_n + r * (h W_hn + b_hn)), h' = (h - n) * z + n; the
# recurrent products h @ W_hh^T (``w_t``: (hidden, 3 hidden)) formed in the thread
_GRU_FORWARD = """
const ptrdiff_t row = i / hidden, col = i - row * hidden;
const ptrdiff_t base = row * 3 * hidden + col;
T rec_r = 0, rec_z = 0, rec_n = 0;
for (ptrdiff_t k = 0; k < hidden; ++k) {
    const T h_k = h_in[row * hidden + k];
    const ptrdiff_t w = k * 3 * hidden + col;
    rec_r += h_k * w_t[w];
    rec_z += h_k * w_t[w + hidden];
    rec_n += h_k * w_t[w + 2 * hidden];
}
if (has_bias) {
    rec_r += b_hh[col];
    rec_z += b_hh[col + hidden];
    rec_n += b_hh[col + 2 * hidden];
}
const T r = tanh(gates[base] + rec_r) * (T)0.5 + (T)0.5;
const T z = tanh(gates[base + hidden] + rec_z) * (T)0.5 + (T)0.5;
gates[base] = r;
gates[base + hidden] = z;
hh_new[i] = rec_n;
const T candidate = tanh(gates[base + 2 * hidden] + r * rec_n);
gates[base + 2 * hidden] = candidate;
const T h_old = h_in[i];
h_prev[i] = h_old;
T h_new = h_old - candidate;
h_new *= z;
h_new += candidate;
h_out[i] = h_new;
h[i] = h_new;
"""

# backward (``rnn._gru_backward``'s arithmetic); ``d_h`` carries d_h * z from step to step
# and the previous step's d_hh @ W_hh is formed in the thread (``w_hh``: (3 hidden, hidden))
_GRU_BACKWARD = """
const ptrdiff_t row = i / hidden, col = i - row * hidden;
const ptrdiff_t base = row * 3 * hidden + col;
T d_ht = d_h[i];
if (has_prev) {
    T recurrent = 0;
    const ptrdiff_t prev_row = row * 3 * hidden;
    for (ptrdiff_t g = 0; g < 3 * hidden; ++g)
        recurrent += d_hh_prev[prev_row + g] * w_hh[g * hidden + col];
    d_ht += recurrent;
}
d_ht += grad_out[i];
const T d_n = d_ht * factor_n[i];
const T d_r = d_n * factor_r[i];
const T d_z = d_ht * factor_z[i];
d_gates[base] = d_r;
d_gates[base + hidden] = d_z;
d_gates[base + 2 * hidden] = d_n;
d_hh[base] = d_r;
d_hh[base + hidden] = d_z;
d_hh[base + 2 * hidden] = d_n * acts[base];
d_h[i] = d_ht * acts[base + hidden];
"""


def gru_kernels(xp, dtype, batch, hidden):
    """(forward, backward) GRU step kernels with the recurrent products inside, or None
    (as ``lstm_recurrent_kernel``)."""
    if not _fusable(dtype, batch, hidden, gates=3):
        return None
    forward = elementwise(xp, "ember_gru_step_forward", "raw T w_t, raw T h_in, raw T b_hh, "
                          "int64 hidden, bool has_bias", "raw T gates, raw T hh_new, "
                          "raw T h_prev, raw T h_out, raw T h", _GRU_FORWARD)
    backward = elementwise(xp, "ember_gru_step_backward",
                           "raw T grad_out, raw T factor_n, raw T factor_r, raw T factor_z, "
                           "raw T acts, raw T w_hh, raw T d_hh_prev, int64 hidden, "
                           "bool has_prev", "raw T d_gates, raw T d_hh, raw T d_h",
                           _GRU_BACKWARD)
    if forward is None or backward is None:
        return None
    return forward, backward

