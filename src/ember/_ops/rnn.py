"""Recurrent layers as fused Functions: one direction of one RNN/LSTM/GRU layer over a
whole (possibly packed) sequence.

Why fused: a layer step built from Tensor ops records a dozen graph nodes; here the
forward runs the time loop on backend arrays (one GEMM for the input projections of
all steps and gates, then one GEMM per step for the recurrent part) and keeps the gate
activations, and the backward is back-propagation through time on arrays with one GEMM
per step, followed by one GEMM each for the weight and input gradients of the whole
sequence. Double backward (``create_graph=True``) re-runs the step with Tensor ops and
differentiates that, so it is exact too, only slower.

Layout: the input is 2-D, ``(rows, features)``; time step t owns the contiguous rows
``[offset_t, offset_t + batch_t)``. A padded (T, B, F) batch is the case
``offset_t = t * B, batch_t = B``; a PackedSequence's data is already in this layout,
with decreasing ``batch_t``. Sigmoids are evaluated as ``0.5 * tanh(x / 2) + 0.5``:
the halving is folded into the weights (exact, a power of two), so each step applies
all gate nonlinearities with one ``tanh`` and one multiply-add over the gate block.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled, enable_grad
from .._backend.kernels import launch
from . import _rnn_cuda
from ._kept import kept_array
from ._util import _make, xp_of

__all__: list[str] = []

TENSOR_METHODS: dict = {}

GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


_BLAS_CONTROLLER = []


def _one_blas_thread(xp):
    """Run the time loop's small per-step GEMMs on one BLAS thread: waking a BLAS thread
    pool for a (batch x hidden) product costs more than the product (and far more on a
    busy machine). A no-op on CuPy or without threadpoolctl."""
    import contextlib

    if xp is not np:
        return contextlib.nullcontext()
    if not _BLAS_CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS_CONTROLLER.append(ThreadpoolController())
        except ImportError:
            _BLAS_CONTROLLER.append(None)
    controller = _BLAS_CONTROLLER[0]
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


def step_slices(batch_sizes, batch, steps):
    """(offset, batch) per time step, for packed ``batch_sizes`` or a full (T, B) grid."""
    if batch_sizes is None:
        return tuple((t * batch, batch) for t in range(steps))
    offsets = []
    offset = 0
    for size in batch_sizes:
        offsets.append((offset, int(size)))
        offset += int(size)
    return tuple(offsets)


def _gate_scale(xp, like, mode, hidden, dtype):
    """Per-row scale of the gate block: 0.5 for sigmoid gates, 1 for tanh/relu ones; kept
    per shape, dtype and device (``_kept.py``: a fill and a write per layer per call on a
    GPU otherwise). Only read."""
    if mode == "LSTM":
        return _half_then(xp, like, 4 * hidden, 2 * hidden, 3 * hidden, 1.0, dtype)
    if mode == "GRU":
        return _half_then(xp, like, 3 * hidden, 2 * hidden, 3 * hidden, 1.0, dtype)
    return None


def _half_then(xp, like, width, start, stop, value, dtype):
    """0.5 everywhere but ``value`` in [start, stop), kept (see ``_gate_scale``)."""
    def make():
        out = xp.full(width, 0.5, dtype=dtype)
        out[start:stop] = value
        return out

    return kept_array(xp, like, ("half_then", width, start, stop, value, np.dtype(dtype)),
                      make)


class RecurrentLayer(Function):
    """One direction of one layer. Inputs: x (rows, in), w_ih, w_hh, b_ih, b_hh, w_hr
    (None when absent), h0 (B, out), c0 (B, hidden) or None; then the mode, the step
    slices and the direction. Outputs: (y (rows, out), h_n) or (y, h_n, c_n) for LSTM."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh, w_hr, h0, c0, mode, steps, reverse):
        xp = xp_of(x)
        hidden = w_hh.shape[1] if w_hr is None else w_hr.shape[1]
        scale = _gate_scale(xp, x, mode, hidden, x.dtype)
        w_ih_s, w_hh_s, b_ih_s, b_hh_s = w_ih, w_hh, b_ih, b_hh
        if scale is not None:
            w_ih_s, w_hh_s = w_ih * scale[:, None], w_hh * scale[:, None]
            b_ih_s = None if b_ih is None else b_ih * scale
            b_hh_s = None if b_hh is None else b_hh * scale
        gates = x @ w_ih_s.T
        if b_ih_s is not None:
            gates += b_ih_s
        if mode != "GRU" and b_hh_s is not None:
            gates += b_hh_s
        order = reversed(steps) if reverse else steps
        # C-contiguous copy: OpenBLAS is ~3x slower on a (batch x hidden) product against a
        # transposed (Fortran-order) matrix than against a contiguous one
        w_hh_t = xp.ascontiguousarray(w_hh_s.T)
        h = h0.copy()
        out = xp.empty((x.shape[0], h0.shape[1]), dtype=x.dtype)
        h_prev = xp.empty_like(out)
        run = _FORWARD_STEPS[mode]
        with _one_blas_thread(xp):
            state = run(xp, ctx, gates, h, c0, out, h_prev, w_hh_t, b_hh_s, w_hr, order,
                        hidden)
        ctx.mode, ctx.steps, ctx.reverse = mode, steps, reverse
        ctx.gates, ctx.h_prev = gates, h_prev
        ctx.save_for_backward(x, w_ih, w_hh, b_ih, b_hh, w_hr, h0, c0)
        if mode == "LSTM":
            return out, h, state
        if mode.startswith("RNN"):
            # backward reads the activations; the caller may edit its output in place (as
            # PyTorch allows here), so it gets a copy
            ctx.out = out
            return out.copy(), h
        return out, h

    @staticmethod
    def backward(ctx, grad_out, grad_h, grad_c=None):
        if _grad_enabled[0]:
            return _backward_with_graph(ctx, grad_out, grad_h, grad_c)
        x, w_ih, w_hh, b_ih, b_hh, w_hr, h0, c0 = ctx.saved_tensors
        xd = x._data
        xp = xp_of(xd)
        grad_out = _array_or_zeros(xp, grad_out, ctx.h_prev.shape, xd.dtype)
        grad_h = _array_or_zeros(xp, grad_h, h0.shape, xd.dtype)
        arrays = [None if t is None else t._data for t in (w_hh, w_hr)]
        run = _BACKWARD_STEPS[ctx.mode]
        order = ctx.steps if ctx.reverse else tuple(reversed(ctx.steps))
        if ctx.mode == "LSTM":
            grad_c = _array_or_zeros(xp, grad_c, c0.shape, xd.dtype)
        with _one_blas_thread(xp):
            d_gates, d_hh_gates, d_h0, d_c0, d_w_hr = run(xp, ctx, grad_out, grad_h, grad_c,
                                                          arrays[0], arrays[1], order)
        needs = ctx.needs_input_grad
        grad_x = _make(d_gates @ w_ih._data) if needs[0] else None
        grad_w_ih = _make(d_gates.T @ xd) if needs[1] else None
        grad_w_hh = _make(d_hh_gates.T @ ctx.h_prev) if needs[2] else None
        grad_b_ih = _make(d_gates.sum(0)) if b_ih is not None and needs[3] else None
        grad_b_hh = _make(d_hh_gates.sum(0)) if b_hh is not None and needs[4] else None
        grad_w_hr = _make(d_w_hr) if w_hr is not None and needs[5] else None
        grad_h0 = _make(d_h0) if needs[6] else None
        grad_c0 = _make(d_c0) if c0 is not None and needs[7] else None
        return (grad_x, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh, grad_w_hr, grad_h0,
                grad_c0, None, None, None)


def _array_or_zeros(xp, grad, shape, dtype):
    if grad is None:
        return xp.zeros(tuple(shape), dtype=dtype)
    return grad._data


# -- forward steps (arrays) -----------------------------------------------------------------


def _lstm_forward(xp, ctx, gates, h, c0, out, h_prev, w_hh_t, b_hh, w_hr, order, hidden):
    c = c0.copy()
    kernels = None if w_hr is not None else _rnn_cuda.lstm_kernels(xp, gates.dtype)
    if kernels is not None and _lstm_forward_fused(xp, ctx, kernels[0], gates, h, c, out,
                                                   h_prev, w_hh_t, order, hidden):
        return c
    rows, width = gates.shape
    c_prev = xp.empty((rows, hidden), dtype=gates.dtype)
    cell = xp.empty_like(c_prev)
    # act = a * tanh(z) + b: a = b = 0.5 on the sigmoid gates (i, f, o), a = 1, b = 0 on g
    act_scale = _half_then(xp, gates, width, 2 * hidden, 3 * hidden, 1.0, gates.dtype)
    act_shift = _half_then(xp, gates, width, 2 * hidden, 3 * hidden, 0.0, gates.dtype)
    projected = None if w_hr is None else xp.empty((rows, hidden), dtype=gates.dtype)
    w_hr_t = None if w_hr is None else xp.ascontiguousarray(w_hr.T)
    for offset, n in order:
        end = offset + n
        block = gates[offset:end]
        hp = h[:n]
        h_prev[offset:end] = hp
        block += hp @ w_hh_t
        xp.tanh(block, out=block)
        block *= act_scale
        block += act_shift
        cp = c[:n]
        c_prev[offset:end] = cp
        cp *= block[:, hidden:2 * hidden]
        cp += block[:, :hidden] * block[:, 2 * hidden:3 * hidden]
        cell_tanh = xp.tanh(cp, out=cell[offset:end])
        if w_hr is None:
            h_new = xp.multiply(block[:, 3 * hidden:], cell_tanh, out=out[offset:end])
        else:
            m = xp.multiply(block[:, 3 * hidden:], cell_tanh, out=projected[offset:end])
            h_new = xp.matmul(m, w_hr_t, out=out[offset:end])
        hp[...] = h_new
    ctx.c_prev, ctx.cell_tanh, ctx.projected = c_prev, cell, projected
    return c


def _lstm_forward_fused(xp, ctx, kernel, gates, h, c, out, h_prev, w_hh_t, order, hidden):
    """``_lstm_forward`` with a step's elementwise work in one kernel (``_rnn_cuda``);
    False, having written nothing, where the backend cannot compile it."""
    c_prev = xp.empty((gates.shape[0], hidden), dtype=gates.dtype)
    cell = xp.empty_like(c_prev)
    hidden_arg = np.int64(hidden)
    recurrent = _rnn_cuda.lstm_recurrent_kernel(xp, gates.dtype, h.shape[0], hidden)
    h_in = None  # the first step's h, a copy (later steps read theirs from ``out``)
    previous, previous_n = None, 0  # the previous step's first row in ``out``, its rows
    for offset, n in order:
        end = offset + n
        if recurrent is not None:  # one launch: the kernel forms h_in @ w_hh_t itself
            if h_in is None or n > previous_n:  # the first step (an empty batch too), or a
                # growing batch (a reversed packed sequence): rows past it are h0's
                h_in, previous = h[:n].copy(), None
            written = launch(xp, recurrent, w_hh_t, h_in, np.int64(previous or 0),
                             np.bool_(previous is not None), hidden_arg, np.int64(offset),
                             gates, c, c_prev, cell, h_prev, out, h, size=n * hidden)
            previous, previous_n = offset, n
        else:
            written = launch(xp, kernel, h[:n] @ w_hh_t, hidden_arg, gates[offset:end], c[:n],
                             c_prev[offset:end], cell[offset:end], h_prev[offset:end],
                             out[offset:end], h[:n], size=n * hidden)
        if not written:
            return False
    ctx.c_prev, ctx.cell_tanh, ctx.projected = c_prev, cell, None
    return True


def _gru_forward(xp, ctx, gates, h, c0, out, h_prev, w_hh_t, b_hh, w_hr, order, hidden):
    rows = gates.shape[0]
    hh_new = xp.empty((rows, hidden), dtype=gates.dtype)
    ctx.hh_new = hh_new
    kernels = None if xp is np else _rnn_cuda.gru_kernels(xp, gates.dtype, h.shape[0], hidden)
    if kernels is not None and _gru_forward_fused(xp, kernels[0], gates, h, out, h_prev,
                                                  hh_new, w_hh_t, b_hh, order, hidden):
        return None
    for offset, n in order:
        end = offset + n
        block = gates[offset:end]
        hp = h[:n]
        h_prev[offset:end] = hp
        hh = hp @ w_hh_t
        if b_hh is not None:
            hh += b_hh
        rz = block[:, :2 * hidden]
        rz += hh[:, :2 * hidden]
        xp.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        hh_n = hh[:, 2 * hidden:]
        hh_new[offset:end] = hh_n
        candidate = block[:, 2 * hidden:]
        candidate += rz[:, :hidden] * hh_n
        xp.tanh(candidate, out=candidate)
        # h' = n + z * (h - n)
        h_new = xp.subtract(hp, candidate, out=out[offset:end])
        h_new *= rz[:, hidden:]
        h_new += candidate
        hp[...] = h_new
    return None


def _gru_forward_fused(xp, kernel, gates, h, out, h_prev, hh_new, w_hh_t, b_hh, order,
                       hidden):
    """``_gru_forward``'s time loop as one kernel a step (``_rnn_cuda``), the recurrent
    product inside; False, having written nothing, where the backend cannot compile it."""
    hidden_arg, has_bias = np.int64(hidden), np.bool_(b_hh is not None)
    bias = gates if b_hh is None else xp.ascontiguousarray(b_hh)  # never read without one
    h_in = None  # the previous h, in a buffer this step does not write
    for offset, n in order:
        end = offset + n
        if h_in is None or h_in.shape[0] < n:  # the first step, or a growing batch
            h_in = h[:n].copy()
        if not launch(xp, kernel, w_hh_t, h_in[:n], bias, hidden_arg, has_bias,
                      gates[offset:end], hh_new[offset:end], h_prev[offset:end],
                      out[offset:end], h[:n], size=n * hidden):
            return False
        h_in = out[offset:end]
    return True


def _rnn_forward(xp, ctx, gates, h, c0, out, h_prev, w_hh_t, b_hh, w_hr, order, hidden,
                 relu=False):
    for offset, n in order:
        end = offset + n
        block = gates[offset:end]
        hp = h[:n]
        h_prev[offset:end] = hp
        block += hp @ w_hh_t
        if relu:
            xp.maximum(block, 0, out=out[offset:end])
        else:
            xp.tanh(block, out=out[offset:end])
        hp[...] = out[offset:end]
    return None


def _rnn_relu_forward(*args):
    return _rnn_forward(*args, relu=True)


_FORWARD_STEPS = {"LSTM": _lstm_forward, "GRU": _gru_forward, "RNN_TANH": _rnn_forward,
                  "RNN_RELU": _rnn_relu_forward}


# -- backward steps (arrays) ----------------------------------------------------------------


def _lstm_factors(xp, acts, c_prev, cell_tanh, hidden, fused):
    """The factors that do not depend on the incoming gradient, for the whole sequence at
    once: d gate_pre = d c * factor (i, f, g) or d m * factor (o), and
    d c += d m * cell_factor (o * (1 - tanh^2)). One kernel where ``fused`` and the
    backend compiles (``_rnn_cuda``), else these array ops."""
    factor = xp.empty_like(acts)
    cell_factor = xp.empty_like(cell_tanh)
    kernel = _rnn_cuda.lstm_factor_kernel(xp, acts.dtype) if fused else None
    if launch(xp, kernel, acts, c_prev, cell_tanh, np.int64(hidden), factor, cell_factor,
              size=cell_tanh.size):
        return factor, cell_factor
    i, f = acts[:, :hidden], acts[:, hidden:2 * hidden]
    g, o = acts[:, 2 * hidden:3 * hidden], acts[:, 3 * hidden:]
    xp.multiply(g, i * (1 - i), out=factor[:, :hidden])
    xp.multiply(c_prev, f * (1 - f), out=factor[:, hidden:2 * hidden])
    xp.multiply(i, 1 - g * g, out=factor[:, 2 * hidden:3 * hidden])
    xp.multiply(cell_tanh, o * (1 - o), out=factor[:, 3 * hidden:])
    xp.multiply(o, 1 - cell_tanh * cell_tanh, out=cell_factor)
    return factor, cell_factor


def _lstm_backward(xp, ctx, grad_out, grad_h, grad_c, w_hh, w_hr, order):
    acts = ctx.gates
    rows, width = acts.shape
    hidden = width // 4
    kernels = None if w_hr is not None else _rnn_cuda.lstm_kernels(xp, acts.dtype)
    factor, cell_factor = _lstm_factors(xp, acts, ctx.c_prev, ctx.cell_tanh, hidden,
                                        fused=kernels is not None)
    d_gates = xp.empty_like(acts)
    d_h = grad_h.copy()
    d_c = grad_c.copy()
    if kernels is not None and _lstm_backward_fused(xp, kernels[1], grad_out, cell_factor,
                                                    factor, acts, d_gates, d_h, d_c, w_hh,
                                                    order):
        return d_gates, d_gates, d_h, d_c, None
    f = acts[:, hidden:2 * hidden]
    factor3 = factor.reshape(rows, 4, hidden)[:, :3]
    d_gates3 = d_gates.reshape(rows, 4, hidden)[:, :3]
    d_proj = None if w_hr is None else xp.empty((rows, w_hr.shape[0]), dtype=acts.dtype)
    for offset, n in order:
        end = offset + n
        d_ht = d_h[:n] + grad_out[offset:end]
        if w_hr is None:
            d_m = d_ht
        else:
            d_proj[offset:end] = d_ht
            d_m = d_ht @ w_hr
        d_ct = d_c[:n]
        d_ct += d_m * cell_factor[offset:end]
        xp.multiply(factor3[offset:end], d_ct[:, None, :], out=d_gates3[offset:end])
        xp.multiply(d_m, factor[offset:end, 3 * hidden:], out=d_gates[offset:end, 3 * hidden:])
        d_ct *= f[offset:end]
        xp.matmul(d_gates[offset:end], w_hh, out=d_h[:n])
    d_w_hr = None if w_hr is None else d_proj.T @ ctx.projected
    return d_gates, d_gates, d_h, d_c, d_w_hr


def _lstm_backward_fused(xp, kernel, grad_out, cell_factor, factor, acts, d_gates, d_h, d_c,
                         w_hh, order):
    """``_lstm_backward``'s time loop with a step's elementwise work in one kernel; False,
    having written nothing, where the backend cannot compile it."""
    hidden = d_c.shape[1]
    hidden_arg = np.int64(hidden)
    order = tuple(order)
    recurrent = _rnn_cuda.lstm_backward_recurrent_kernel(xp, acts.dtype, d_c.shape[0], hidden)
    if recurrent is not None and len({n for _, n in order}) == 1:  # one batch size
        previous = None
        for offset, n in order:  # one launch a step: the kernel forms d_gates' @ w_hh
            if not launch(xp, recurrent, grad_out, cell_factor, factor, acts, w_hh, d_h,
                          hidden_arg, np.int64(offset), np.int64(previous or 0),
                          np.bool_(previous is not None), d_gates, d_c, size=n * hidden):
                return False
            previous = offset
        if order:  # the gradient of the first step's input h
            n = order[-1][1]
            xp.matmul(d_gates[previous:previous + n], w_hh, out=d_h[:n])
        return True
    for offset, n in order:
        end = offset + n
        if not launch(xp, kernel, grad_out[offset:end], cell_factor[offset:end],
                      factor[offset:end], acts[offset:end], hidden_arg,
                      d_gates[offset:end], d_h[:n], d_c[:n], size=n * hidden):
            return False
        xp.matmul(d_gates[offset:end], w_hh, out=d_h[:n])
    return True


def _gru_backward(xp, ctx, grad_out, grad_h, grad_c, w_hh, w_hr, order):
    acts, h_prev, hh_new = ctx.gates, ctx.h_prev, ctx.hh_new
    hidden = acts.shape[1] // 3
    r, z, cand = acts[:, :hidden], acts[:, hidden:2 * hidden], acts[:, 2 * hidden:]
    factor_z = (h_prev - cand) * (z * (1 - z))
    factor_n = (1 - z) * (1 - cand * cand)
    factor_r = hh_new * (r * (1 - r))
    d_gates = xp.empty_like(acts)
    d_hh = xp.empty_like(acts)
    d_h = grad_h.copy()
    order = tuple(order)
    kernels = None if xp is np else _rnn_cuda.gru_kernels(xp, acts.dtype, d_h.shape[0], hidden)
    if kernels is not None and len({n for _, n in order}) == 1 and _gru_backward_fused(
            xp, kernels[1], xp.ascontiguousarray(grad_out), factor_n, factor_r, factor_z,
            acts, w_hh, d_gates, d_hh, d_h, order, hidden):
        return d_gates, d_hh, d_h, None, None
    for offset, n in order:
        end = offset + n
        d_ht = d_h[:n] + grad_out[offset:end]
        d_n = xp.multiply(d_ht, factor_n[offset:end], out=d_gates[offset:end, 2 * hidden:])
        xp.multiply(d_n, factor_r[offset:end], out=d_gates[offset:end, :hidden])
        xp.multiply(d_ht, factor_z[offset:end], out=d_gates[offset:end, hidden:2 * hidden])
        d_hh[offset:end, :2 * hidden] = d_gates[offset:end, :2 * hidden]
        xp.multiply(d_n, r[offset:end], out=d_hh[offset:end, 2 * hidden:])
        d_ht *= z[offset:end]
        d_ht += d_hh[offset:end] @ w_hh
        d_h[:n] = d_ht
    return d_gates, d_hh, d_h, None, None


def _gru_backward_fused(xp, kernel, grad_out, factor_n, factor_r, factor_z, acts, w_hh,
                        d_gates, d_hh, d_h, order, hidden):
    """``_gru_backward``'s time loop for one batch size as one kernel a step, the
    recurrent gradient inside (``d_h`` carries ``d_h * z``); False, having written
    nothing, where the backend cannot compile it."""
    hidden_arg = np.int64(hidden)
    previous = d_hh[:0]
    for offset, n in order:
        end = offset + n
        if not launch(xp, kernel, grad_out[offset:end], factor_n[offset:end],
                      factor_r[offset:end], factor_z[offset:end], acts[offset:end], w_hh,
                      previous, hidden_arg, np.bool_(previous.size > 0), d_gates[offset:end],
                      d_hh[offset:end], d_h[:n], size=n * hidden):
            return False
        previous = d_hh[offset:end]
    if order:  # the first step's input h: the carried d_h * z plus d_hh @ w_hh
        d_h[:order[-1][1]] += previous @ w_hh
    return True


def _rnn_backward(xp, ctx, grad_out, grad_h, grad_c, w_hh, w_hr, order):
    out = ctx.out
    if ctx.mode == "RNN_TANH":
        derivative = 1 - out * out
    else:
        derivative = (out > 0).astype(out.dtype)
    d_gates = xp.empty_like(out)
    d_h = grad_h.copy()
    for offset, n in order:
        end = offset + n
        d_pre = xp.add(d_h[:n], grad_out[offset:end], out=d_gates[offset:end])
        d_pre *= derivative[offset:end]
        xp.matmul(d_pre, w_hh, out=d_h[:n])
    return d_gates, d_gates, d_h, None, None


_BACKWARD_STEPS = {"LSTM": _lstm_backward, "GRU": _gru_backward, "RNN_TANH": _rnn_backward,
                   "RNN_RELU": _rnn_backward}


# -- Tensor-op cells: the cell modules, and double backward of the fused layer --------------


def lstm_cell(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
    """One LSTM step from Tensor ops; returns (h', c')."""
    from ..nn._functional import linear

    gates = linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)
    in_gate, forget_gate, cell_gate, out_gate = gates.chunk(4, 1)
    c_new = forget_gate.sigmoid() * c + in_gate.sigmoid() * cell_gate.tanh()
    h_new = out_gate.sigmoid() * c_new.tanh()
    if w_hr is not None:
        h_new = linear(h_new, w_hr)
    return h_new, c_new


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step from Tensor ops (gate order r, z, n); returns h'."""
    from ..nn._functional import linear

    in_r, in_z, in_n = linear(x, w_ih, b_ih).chunk(3, 1)
    hh_r, hh_z, hh_n = linear(h, w_hh, b_hh).chunk(3, 1)
    reset = (in_r + hh_r).sigmoid()
    update = (in_z + hh_z).sigmoid()
    candidate = (in_n + reset * hh_n).tanh()
    return candidate + update * (h - candidate)


def rnn_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """One Elman RNN step from Tensor ops; returns h'."""
    from ..nn._functional import linear

    pre = linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def layer_with_graph(x, w_ih, w_hh, b_ih, b_hh, w_hr, h0, c0, mode, steps, reverse):
    """The fused layer's result computed step by step with Tensor ops (differentiable to
    any order); the rows of finished sequences keep their state, as in the fused path."""
    from .shape import cat

    h, c = h0, c0
    outputs = [None] * len(steps)
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    for index in order:
        offset, n = steps[index]
        xt, hp = x[offset:offset + n], h[:n]
        if mode == "LSTM":
            h_new, c_new = lstm_cell(xt, hp, c[:n], w_ih, w_hh, b_ih, b_hh, w_hr)
            c = c_new if n == c.shape[0] else cat([c_new, c[n:]], 0)
        elif mode == "GRU":
            h_new = gru_cell(xt, hp, w_ih, w_hh, b_ih, b_hh)
        else:
            h_new = rnn_cell(xt, hp, w_ih, w_hh, b_ih, b_hh,
                             "tanh" if mode == "RNN_TANH" else "relu")
        outputs[index] = h_new
        h = h_new if n == h.shape[0] else cat([h_new, h[n:]], 0)
    out = cat(outputs, 0)
    return (out, h, c) if mode == "LSTM" else (out, h)


def _backward_with_graph(ctx, grad_out, grad_h, grad_c):
    from ..autograd import grad as autograd_grad

    inputs = ctx.saved_tensors
    with enable_grad():
        results = layer_with_graph(*inputs, ctx.mode, ctx.steps, ctx.reverse)
    grads = (grad_out, grad_h, grad_c)[:len(results)]
    pairs = [(r, g) for r, g in zip(results, grads) if g is not None]
    wanted = [i for i, t in enumerate(inputs) if t is not None and ctx.needs_input_grad[i]
              and t.requires_grad]
    found = autograd_grad([r for r, _ in pairs], [inputs[i] for i in wanted],
                          [g for _, g in pairs], create_graph=True, allow_unused=True)
    result = [None] * 11
    for i, value in zip(wanted, found):
        result[i] = value
    return tuple(result)
