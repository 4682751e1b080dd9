"""Converters for the layers: linear algebra, convolution, pooling, normalisation,
embedding. Pooling is recorded at the level of ``_max_pool_nd``/``_avg_pool_nd`` (see
``converts_call``): below them, max pooling is a gather by precomputed indices and the
window geometry is gone."""

from __future__ import annotations

import math

import numpy as np

from .. import _linalg_norms
from .._ops import (
    _cumulative,
    _pool_adaptive,
    _resample_kernels,
    _vector_norm,
    conv,
    linalg,
    norm,
    pool,
    resample,
    rnn,
)
from .._ops._conv_kernels import _expand
from ..nn import _embedding, _functional
from ._converters_shape import reshape
from ._trace import converts, converts_call
from .errors import UnsupportedOperatorError

# -- linear algebra -----------------------------------------------------------------------


@converts(_functional.Linear)
def _linear(g, op):
    x, weight = op.input(0), op.input(1)
    bias = op.input(2)
    if len(op.shape(0)) == 2:
        return g.op("Gemm", x, weight, bias, transB=1, shape=op.out_shape())
    out = g.op("MatMul", x, g.op("Transpose", weight, perm=[1, 0]), shape=op.out_shape())
    return out if bias is None else g.op("Add", out, bias)


@converts(linalg.Matmul)
def _matmul(g, op):
    return g.op("MatMul", op.input(0), op.input(1), shape=op.out_shape())


@converts(linalg.AddMatmul)
def _add_matmul(g, op):
    """beta * bias + alpha * (a @ b): one Gemm for matrices."""
    bias, a, b = op.input(0), op.input(1), op.input(2)
    beta, alpha = float(op.args[3]), float(op.args[4])
    if len(op.shape(1)) == 2 and len(op.shape(2)) == 2:
        return g.op("Gemm", a, b, bias, alpha=alpha, beta=beta, shape=op.out_shape())
    out = g.op("MatMul", a, b, shape=op.out_shape())
    if alpha != 1.0:
        out = g.op("Mul", out, g.scalar_like(alpha, out))
    if beta != 1.0:
        bias = g.op("Mul", bias, g.scalar_like(beta, bias))
    return g.op("Add", out, bias) if beta != 0.0 else out


@converts(linalg._Addbmm)
def _addbmm(g, op):
    """beta * bias + alpha * sum_b(batch1[b] @ batch2[b]): a batched MatMul summed over b."""
    bias, a, b = op.input(0), op.input(1), op.input(2)
    beta, alpha = float(op.args[3]), float(op.args[4])
    batch, rows, _ = op.shape(1)
    cols = op.shape(2)[2]
    out = g.reduce("ReduceSum", g.op("MatMul", a, b, shape=(batch, rows, cols)), [0], False,
                   shape=op.out_shape())
    if alpha != 1.0:
        out = g.op("Mul", out, g.scalar_like(alpha, out))
    if beta != 1.0:
        bias = g.op("Mul", bias, g.scalar_like(beta, bias))
    return g.op("Add", out, bias) if beta != 0.0 else out


# -- convolution --------------------------------------------------------------------------


def _conv_attributes(geo):
    return {"kernel_shape": list(geo.kernel), "strides": list(geo.stride),
            "pads": list(geo.pad_lo) + list(geo.pad_hi), "dilations": list(geo.dilation),
            "group": int(geo.groups)}


@converts(conv._Conv)
def _conv(g, op):
    geo = op.args[3]
    return g.op("Conv", op.input(0), op.input(1), op.input(2), shape=op.out_shape(),
                **_conv_attributes(geo))


@converts(conv._ConvInputGrad)
def _conv_transpose(g, op):
    """conv_transpose: the conv's adjoint; output_padding is whatever the traced output
    size adds to the size ONNX computes from stride, padding and kernel."""
    geo = op.args[3]
    output_padding = [
        size - ((i - 1) * s - lo - hi + d * (k - 1) + 1)
        for size, i, s, lo, hi, d, k in zip(geo.in_spatial, geo.out_spatial, geo.stride,
                                            geo.pad_lo, geo.pad_hi, geo.dilation, geo.kernel)
    ]
    return g.op("ConvTranspose", op.input(0), op.input(1), op.input(2), shape=op.out_shape(),
                output_padding=output_padding, **_conv_attributes(geo))


# -- pooling ------------------------------------------------------------------------------


def _pool_input(g, op, nd):
    """The pool's input as a batched graph value (unbatched inputs gain a batch dim)."""
    x = op.input(0)
    unbatched = len(op.shape(0)) == nd + 1
    return (g.unsqueeze(x, [0]) if unbatched else x), unbatched


def _pool_output(g, out, unbatched):
    return g.squeeze(out, [0]) if unbatched else out


class _Batched:
    """What ``pool._window_geometry`` reads of its input: the batched shape."""

    def __init__(self, shape, nd):
        self.shape = tuple(shape) if len(shape) == nd + 2 else (1, *shape)


def _window(op, kernel_size, stride, padding, dilation, ceil_mode, nd):
    """PyTorch's pooling geometry as ONNX attributes: ceil_mode becomes explicit high-side
    padding (ONNX's ceil_mode keeps a last window that starts in the padding, PyTorch's
    drops it), so the output sizes agree."""
    kernel, stride, padding, pad_hi, dilation, out = pool._window_geometry(
        _Batched(op.shape(0), nd), kernel_size, stride, padding, dilation, ceil_mode, nd,
        f"pool{nd}d")
    attrs = {"kernel_shape": list(kernel), "strides": list(stride),
             "pads": list(padding) + list(pad_hi)}
    return attrs, (kernel, stride, padding, out)


@converts_call(pool, "_max_pool_nd")
def _max_pool(g, op):
    # _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode,
    #              return_indices, nd)
    kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd = op.args[1:8]
    if return_indices:
        raise UnsupportedOperatorError(f"ember::max_pool{nd}d_with_indices", g.opset)
    attrs, _ = _window(op, kernel_size, stride, padding, dilation, ceil_mode, nd)
    x, unbatched = _pool_input(g, op, nd)
    out = g.op("MaxPool", x, dilations=list(_expand(dilation, nd)), **attrs)
    return _pool_output(g, out, unbatched)


@converts_call(pool, "_avg_pool_nd")
def _avg_pool(g, op):
    """AveragePool over the in-bounds elements, rescaled by a constant map to PyTorch's
    divisor (which counts padding but not the ceil_mode overhang, or is overridden)."""
    # _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
    #              divisor_override, nd, node=None)
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor, nd = op.args[1:8]
    attrs, (kernel, stride, padding, out_size) = _window(op, kernel_size, stride, padding, 1,
                                                         ceil_mode, nd)
    x, unbatched = _pool_input(g, op, nd)
    out = g.op("AveragePool", x, count_include_pad=0, **attrs)
    dtype = np.dtype(g.dtype[x])
    spatial = op.shape(0)[-nd:]
    inside = pool._avg_divisor(np, dtype, kernel, stride, padding, spatial, out_size, False,
                               None)
    wanted = pool._avg_divisor(np, dtype, kernel, stride, padding, spatial, out_size,
                               count_include_pad, divisor)
    scale = np.asarray(inside, dtype=np.float64) / np.asarray(wanted, dtype=np.float64)
    if not np.all(scale == 1):
        out = g.op("Mul", out, g.const(scale.astype(dtype)))
    return _pool_output(g, out, unbatched)


@converts(_pool_adaptive._AdaptiveAvgPool)
def _adaptive_avg_pool(g, op):
    """Separable: a MatMul by each axis's (in, out) averaging matrix, last axis first."""
    x = op.input(0)
    matrices = op.args[1].matrices
    ndim = len(op.shape(0))
    for offset, matrix in enumerate(reversed(matrices)):
        axis = ndim - 1 - offset
        host = matrix.get() if hasattr(matrix, "get") else np.asarray(matrix)
        if axis == ndim - 1:
            x = g.op("MatMul", x, g.const(host))
            continue
        perm = list(range(ndim))
        perm[axis], perm[-1] = perm[-1], perm[axis]
        x = g.op("Transpose", x, perm=perm)
        x = g.op("MatMul", x, g.const(host))
        x = g.op("Transpose", x, perm=perm)
    return x


# -- normalisation ------------------------------------------------------------------------


def _param_or(g, op, index, fill, size, dtype):
    if op.args[index] is not None:
        return op.input(index)
    return g.const(np.full(size, fill, dtype=dtype))


@converts(norm._AffineStats)
def _batch_norm_eval(g, op):
    # (x, weight, bias, running_mean, running_var, param_shape, eps)
    dtype = op.args[0]._data.dtype
    channels = op.shape(0)[1]
    scale = _param_or(g, op, 1, 1.0, channels, dtype)
    bias = _param_or(g, op, 2, 0.0, channels, dtype)
    mean = g.cast(op.input(3), dtype)
    var = g.cast(op.input(4), dtype)
    return g.op("BatchNormalization", op.input(0), scale, bias, mean, var,
                epsilon=float(op.args[6]))


@converts(norm._LayerNorm)
def _layer_norm(g, op):
    # (x, weight, bias, axes, param_shape, eps, stats_sink)
    if g.opset < 17:
        return _normalize(g, op)
    dtype = op.args[0]._data.dtype
    param_shape = tuple(op.args[4])
    scale = _param_or(g, op, 1, 1.0, param_shape, dtype)
    bias = _param_or(g, op, 2, 0.0, param_shape, dtype)
    return g.op("LayerNormalization", op.input(0), scale, bias, axis=-len(op.args[3]),
                epsilon=float(op.args[5]))


@converts(norm._Normalize)
def _normalize(g, op):
    """(x - mean) / sqrt(var + eps) * weight + bias with the statistics of x over
    ``axes``: batch norm in training, layer norm before opset 17."""
    # (x, weight, bias, axes, param_shape, eps, stats_sink)
    return _normalized(g, op, op.input(0), op.args[3], tuple(op.args[4]), float(op.args[5]))


@converts(norm._NormalizeGrouped)
def _normalize_grouped(g, op):
    """Group and instance norm: the same over a regrouping of the input, reshaped back."""
    # (x, weight, bias, inner_shape, out_shape, axes, param_shape, eps, stats_sink)
    in_shape, inner, out_shape = op.shape(0), tuple(op.args[3]), tuple(op.args[4])
    x = reshape(g, op.input(0), in_shape, inner)
    out = _normalized(g, op, x, op.args[5], tuple(op.args[6]), float(op.args[7]))
    return reshape(g, out, inner, out_shape)


def _normalized(g, op, x, axes, param_shape, eps):
    mean = g.reduce("ReduceMean", x, axes, True)
    centered = g.op("Sub", x, mean)
    var = g.reduce("ReduceMean", g.op("Mul", centered, centered), axes, True)
    out = g.op("Div", centered, g.op("Sqrt", g.op("Add", var, g.scalar_like(eps, x))))
    if op.args[1] is not None:
        out = g.op("Mul", out, reshape(g, op.input(1), op.shape(1), param_shape))
    if op.args[2] is not None:
        out = g.op("Add", out, reshape(g, op.input(2), op.shape(2), param_shape))
    return out


# -- embedding ----------------------------------------------------------------------------


@converts(_embedding._EmbeddingFn, _embedding._GatherRows)
def _embedding_op(g, op):
    return g.op("Gather", op.input(0), g.cast(op.input(1), np.int64), axis=0,
                shape=op.out_shape())


# -- recurrent layers ---------------------------------------------------------------------

# ONNX's gate order as indices into PyTorch's: LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h
_GATE_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN_TANH": [0], "RNN_RELU": [0]}
_ONNX_RNN = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN", "RNN_RELU": "RNN"}


def _gates_reordered(g, name, mode):
    """A (gates * hidden, ...) weight or bias with its gate blocks in ONNX's order."""
    order = _GATE_ORDER[mode]
    if len(order) == 1:
        return name
    blocks = g.op("Split", name, g.ints([g.shape[name][0] // len(order)] * len(order)),
                  outputs=len(order), axis=0)
    return g.op("Concat", *[blocks[i] for i in order], axis=0)


def _initial_state(g, op, index):
    """h0/c0 as (1, B, H), or None when it is a constant zero (ONNX's default), so a
    default initial state does not fix the batch size."""
    value = op.args[index]
    if value is None:
        return None
    name = op.input(index)
    if name in g.initializers and not np.any(g.initializers[name]):
        return None
    return g.unsqueeze(name, [0])


@converts(rnn.RecurrentLayer)
def _recurrent(g, op):
    """One direction of one layer: the (rows, in) step-major input becomes (T, B, in) for
    ONNX's LSTM/GRU/RNN, and its outputs are reshaped back."""
    # (x, w_ih, w_hh, b_ih, b_hh, w_hr, h0, c0, mode, steps, reverse)
    mode, steps, reverse = op.args[8], op.args[9], op.args[10]
    if op.args[5] is not None:
        raise UnsupportedOperatorError("ember::LSTM (proj_size > 0)", g.opset)
    if len({batch for _, batch in steps}) > 1:
        raise UnsupportedOperatorError("ember::RecurrentLayer (a PackedSequence)", g.opset)
    gates = len(_GATE_ORDER[mode])
    hidden = op.shape(2)[1]
    features = op.shape(0)[1]
    batch = steps[0][1]
    x = reshape(g, op.input(0), op.shape(0), (len(steps), batch, features))
    weight = g.unsqueeze(_gates_reordered(g, op.input(1), mode), [0])
    recurrent = g.unsqueeze(_gates_reordered(g, op.input(2), mode), [0])
    dtype = op.args[0]._data.dtype
    biases = [_gates_reordered(g, op.input(i), mode) if op.args[i] is not None
              else g.const(np.zeros(gates * hidden, dtype=dtype)) for i in (3, 4)]
    bias = g.unsqueeze(g.op("Concat", *biases, axis=0), [0])
    attrs = {"hidden_size": hidden, "direction": "reverse" if reverse else "forward"}
    if mode == "GRU":
        attrs["linear_before_reset"] = 1
    if mode.startswith("RNN"):
        attrs["activations"] = ["Relu" if mode == "RNN_RELU" else "Tanh"]
    inputs = [x, weight, recurrent, bias, None, _initial_state(g, op, 6)]
    if mode == "LSTM":
        inputs.append(_initial_state(g, op, 7))
    while inputs[-1] is None:
        inputs.pop()
    outs = g.op(_ONNX_RNN[mode], *inputs, outputs=3 if mode == "LSTM" else 2, **attrs)
    y = g.op("Reshape", g.squeeze(outs[0], [1]), g.ints([-1, hidden]))
    states = [g.squeeze(state, [0]) for state in outs[1:]]
    return (y, *states)


# -- padding and resampling ---------------------------------------------------------------


@converts(resample.ConstantPad)
def _constant_pad(g, op):
    # (x, pads, value): pads as F.pad's, last dim first; negative pads crop (so do ONNX's)
    ndim = len(op.shape(0))
    pads = op.args[1]
    begins, ends = [0] * ndim, [0] * ndim
    for i in range(len(pads) // 2):
        begins[ndim - 1 - i], ends[ndim - 1 - i] = pads[2 * i], pads[2 * i + 1]
    x = op.input(0)
    return g.op("Pad", x, g.ints(begins + ends), g.scalar_like(op.args[2], x), mode="constant")


def _along(g, x, dim, ndim, fn):
    """Apply ``fn`` (a MatMul on the last axis) to axis ``dim``."""
    if dim == ndim - 1:
        return fn(x)
    perm = list(range(ndim))
    perm[dim], perm[-1] = perm[-1], perm[dim]
    return g.op("Transpose", fn(g.op("Transpose", x, perm=perm)), perm=perm)


def _gather_taps(g, x, dim, ndim, taps):
    """sum_j take(x, index_j, dim) * weight_j, a weight of None meaning 1."""
    out = None
    for index, weight in taps:
        host = index.get() if hasattr(index, "get") else np.asarray(index)
        term = g.op("Gather", x, g.const(host.astype(np.int64)), axis=dim)
        if weight is not None:
            weight = weight.get() if hasattr(weight, "get") else np.asarray(weight)
            shape = (-1,) + (1,) * (ndim - 1 - dim)
            term = g.op("Mul", term, g.const(weight.astype(g.dtype[x]).reshape(shape)))
        out = term if out is None else g.op("Add", out, term)
    return out


@converts(_resample_kernels._Separable)
def _separable(g, op):
    """interpolate (every mode) and reflect/replicate/circular padding: per-dim stages,
    each a gather of weighted taps or an (out, in) matrix, exactly as ember computes."""
    x = op.input(0)
    ndim = len(op.shape(0))
    for dim, taps, matrix, _ in op.args[1]:
        if matrix is None:
            x = _gather_taps(g, x, dim, ndim, taps)
        else:
            host = matrix.get() if hasattr(matrix, "get") else np.asarray(matrix)
            constant = g.const(np.ascontiguousarray(host.T.astype(g.dtype[x])))
            x = _along(g, x, dim, ndim, lambda value, c=constant: g.op("MatMul", value, c))
    return x if x != op.input(0) else g.op("Identity", x)


@converts(_resample_kernels.AxisGather)
def _axis_gather(g, op):
    return _gather_taps(g, op.input(0), op.args[1], len(op.shape(0)), op.args[2])


# -- cumulative sums and norms ------------------------------------------------------------


@converts(_cumulative.CumSum)
def _cumsum(g, op):
    x = g.cast(op.input(0), op.out_dtype())
    return g.op("CumSum", x, g.const(np.asarray(op.args[1], dtype=np.int64)))


@converts(_vector_norm.VectorNorm, _functional._VectorNorm, _linalg_norms.VectorNorm)
def _vector_norm(g, op):
    # (x, p, dims, keepdim)
    x = op.input(0)
    p, dims, keepdim = op.args[1], op.args[2], op.args[3]
    dims = () if dims is None else (dims,) if isinstance(dims, int) else tuple(dims)
    if p == 2:
        return g.reduce("ReduceL2", x, dims, keepdim)
    if p == 1:
        return g.reduce("ReduceL1", x, dims, keepdim)
    if p in (math.inf, -math.inf):
        return g.reduce("ReduceMax" if p > 0 else "ReduceMin", g.op("Abs", x), dims, keepdim)
    if p == 0:
        nonzero = g.cast(g.op("Not", g.op("Equal", x, g.scalar_like(0, x), dtype=np.bool_)),
                         g.dtype[x])
        return g.reduce("ReduceSum", nonzero, dims, keepdim)
    powered = g.op("Pow", g.op("Abs", x), g.scalar_like(p, x))
    return g.op("Pow", g.reduce("ReduceSum", powered, dims, keepdim), g.scalar_like(1 / p, x))


@converts(_functional._ClampMin, _functional._ClampMinNoGrad)
def _clamp_min(g, op):
    x = op.input(0)
    return g.op("Max", x, g.scalar_like(op.args[1], x))


@converts_call(_pool_adaptive, "_adaptive_max")
def _adaptive_max_pool(g, op):
    """ReduceMax for an output of 1, MaxPool when the sizes divide (windows are then
    disjoint and equal), else no ONNX form."""
    # _adaptive_max(input, output_size, return_indices, nd)
    nd, return_indices = op.args[3], op.args[2]
    in_shape = op.shape(0)
    spatial = in_shape[-nd:]
    out = op.out_shape(0)[-nd:] if not return_indices else None
    if out is None or any(s % o for s, o in zip(spatial, out)):
        what = "return_indices" if out is None else "sizes that do not divide"
        raise UnsupportedOperatorError(f"ember::adaptive_max_pool{nd}d ({what})", g.opset)
    axes = list(range(len(in_shape) - nd, len(in_shape)))
    if all(o == 1 for o in out):
        return g.reduce("ReduceMax", op.input(0), axes, True)
    kernel = [s // o for s, o in zip(spatial, out)]
    x, unbatched = _pool_input(g, op, nd)
    pooled = g.op("MaxPool", x, kernel_shape=kernel, strides=kernel)
    return _pool_output(g, pooled, unbatched)
