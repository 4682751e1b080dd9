"""Converters for elementwise math, activations, softmax and reductions.

A converter is ``fn(g, op) -> output name(s)``: ``g`` the GraphBuilder, ``op`` the traced
op (its Function class, arguments, outputs and recorded node). See _trace.py.
"""

from __future__ import annotations

import math

import numpy as np

from .._ops import _activation_fused as fused
from .._ops import _softmax, activation, binary, pointwise, reduce, unary, where_clamp
from .._tensor import Tensor
from ._trace import converts, converts_call


def _operand(g, op, index, dtype):
    """Argument ``index`` as a graph value of ``dtype``: tensors are cast when their dtype
    differs (PyTorch's promotion happened inside the op); Python numbers are constants."""
    value = op.args[index]
    if isinstance(value, Tensor) or hasattr(value, "dtype") and hasattr(value, "shape"):
        return g.cast(op.input(index), dtype)
    return g.const(np.asarray(value, dtype=dtype))


def _binary(onnx_type):
    def convert(g, op):
        dtype = op.out_dtype()
        x = _operand(g, op, 0, dtype)
        y = _operand(g, op, 1, dtype)
        return g.op(onnx_type, x, y, dtype=dtype)

    return convert


converts(pointwise.Add)(_binary("Add"))
converts(pointwise.Sub)(_binary("Sub"))
converts(pointwise.Mul)(_binary("Mul"))
converts(pointwise.Pow)(_binary("Pow"))


converts(pointwise.Div)(_binary("Div"))  # int / int operands are cast to the float result


@converts(pointwise._RoundedDiv)
def _rounded_div(g, op):
    dtype = op.out_dtype()
    x, y = _operand(g, op, 0, dtype), _operand(g, op, 1, dtype)
    mode = op.args[2]
    if dtype.kind in "iu":
        if mode == "trunc":
            return g.op("Div", x, y)  # ONNX's integer Div truncates
        # floor: (x - x mod y) / y is exact, with the divisor's sign for mod as Python's
        return g.op("Div", g.op("Sub", x, g.op("Mod", x, y, fmod=0)), y)
    quotient = g.op("Div", x, y)
    return g.op("Floor", quotient) if mode == "floor" else _trunc(g, quotient)


@converts(binary._Modulo)
def _modulo(g, op):
    """remainder (the divisor's sign) and fmod (the dividend's)."""
    dtype = op.out_dtype()
    x, y = _operand(g, op, 0, dtype), _operand(g, op, 1, dtype)
    floored = op.args[2]
    if dtype.kind in "iu":
        return g.op("Mod", x, y, fmod=0 if floored else 1)
    if not floored:
        return g.op("Mod", x, y, fmod=1)
    # x - floor(x / y) * y: ONNX's float Mod requires fmod=1 (C's fmod)
    return g.op("Sub", x, g.op("Mul", g.op("Floor", g.op("Div", x, y)), y))


def _trunc(g, name):
    """Round toward zero: sign(x) * floor(|x|)."""
    return g.op("Mul", g.op("Sign", name), g.op("Floor", g.op("Abs", name)))


@converts(pointwise.Neg)
def _neg(g, op):
    return g.op("Neg", op.input(0))


def _unsupported(g, op, what):
    from .errors import UnsupportedOperatorError

    return UnsupportedOperatorError(f"{op.label} ({what})", g.opset)


# -- unary math ---------------------------------------------------------------------------

_UNARY = {
    "Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt", "Reciprocal": "Reciprocal", "Sin": "Sin",
    "Cos": "Cos", "Tan": "Tan", "Asin": "Asin", "Acos": "Acos", "Atan": "Atan",
    "Sinh": "Sinh", "Cosh": "Cosh", "Tanh": "Tanh", "Asinh": "Asinh", "Acosh": "Acosh",
    "Atanh": "Atanh", "Sigmoid": "Sigmoid", "Erf": "Erf", "Abs": "Abs", "Floor": "Floor",
    "Ceil": "Ceil",
}


def _unary_op(onnx_type):
    def convert(g, op):
        x = g.cast(op.input(0), op.out_dtype())  # integer inputs compute in float
        return g.op(onnx_type, x)

    return convert


for _name, _onnx in _UNARY.items():
    converts(unary._FUNCTIONS[_name])(_unary_op(_onnx))


def _float_input(g, op):
    return g.cast(op.input(0), op.out_dtype())


@converts(unary._FUNCTIONS["Rsqrt"])
def _rsqrt(g, op):
    return g.op("Reciprocal", g.op("Sqrt", _float_input(g, op)))


@converts(unary._FUNCTIONS["Log2"], unary._FUNCTIONS["Log10"])
def _log_base(g, op):
    base = 2.0 if op.cls._op_name == "Log2" else 10.0
    x = _float_input(g, op)
    return g.op("Div", g.op("Log", x), g.scalar_like(math.log(base), x))


@converts(unary._FUNCTIONS["Log1p"])
def _log1p(g, op):
    x = _float_input(g, op)
    return g.op("Log", g.op("Add", x, g.scalar_like(1, x)))


@converts(unary._FUNCTIONS["Expm1"])
def _expm1(g, op):
    x = _float_input(g, op)
    return g.op("Sub", g.op("Exp", x), g.scalar_like(1, x))


@converts(unary._FUNCTIONS["Trunc"])
def _trunc_op(g, op):
    return _trunc(g, op.input(0))


@converts(unary.Sign)
def _sign(g, op):
    return g.op("Sign", op.input(0))


@converts(unary.Round)
def _round(g, op):
    if len(op.args) > 1 and op.args[1]:
        raise _unsupported(g, op, "round with decimals")
    return g.op("Round", op.input(0))


# -- activations --------------------------------------------------------------------------


@converts(activation.Relu)
def _relu(g, op):
    return g.op("Relu", op.input(0))


@converts(activation.LeakyRelu)
def _leaky_relu(g, op):
    return g.op("LeakyRelu", op.input(0), alpha=float(op.args[1]))


@converts(activation.Hardtanh)
def _hardtanh(g, op):
    x = op.input(0)
    return g.op("Clip", x, g.scalar_like(op.args[1], x), g.scalar_like(op.args[2], x))


@converts(activation.Threshold)
def _threshold(g, op):
    x = op.input(0)
    keep = g.op("Greater", x, g.scalar_like(op.args[1], x), dtype=np.bool_)
    return g.op("Where", keep, x, g.scalar_like(op.args[2], x), dtype=g.dtype[x])


@converts(activation.Hardsigmoid)
def _hardsigmoid(g, op):
    return g.op("HardSigmoid", op.input(0), alpha=1.0 / 6, beta=0.5)


@converts(activation.Hardswish)
def _hardswish(g, op):
    return g.op("HardSwish", op.input(0))


@converts(activation.Elu)
def _elu(g, op):
    """scale * (x > 0 ? x : alpha * (exp(x * input_scale) - 1)): Elu, Selu and Celu."""
    x = op.input(0)
    alpha, scale, input_scale = (float(v) for v in op.args[1:4])
    if scale == 1.0 and input_scale == 1.0:
        return g.op("Elu", x, alpha=alpha)
    if input_scale == 1.0:
        return g.op("Selu", x, alpha=alpha, gamma=scale)
    if scale == 1.0 and abs(input_scale * alpha - 1.0) < 1e-12:
        return g.op("Celu", x, alpha=alpha)
    scaled = g.op("Mul", x, g.scalar_like(input_scale, x))
    negative = g.op("Mul", g.op("Sub", g.op("Exp", scaled), g.scalar_like(1, x)),
                    g.scalar_like(alpha, x))
    positive = g.op("Greater", x, g.scalar_like(0, x), dtype=np.bool_)
    chosen = g.op("Where", positive, x, negative, dtype=g.dtype[x])
    return g.op("Mul", chosen, g.scalar_like(scale, x))


@converts(activation.Softplus)
def _softplus(g, op):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold."""
    x = op.input(0)
    beta, threshold = float(op.args[1]), float(op.args[2])
    scaled = x if beta == 1.0 else g.op("Mul", x, g.scalar_like(beta, x))
    soft = g.op("Softplus", scaled)
    if beta != 1.0:
        soft = g.op("Div", soft, g.scalar_like(beta, x))
    linear = g.op("Greater", scaled, g.scalar_like(threshold, x), dtype=np.bool_)
    return g.op("Where", linear, x, soft, dtype=g.dtype[x])


@converts(activation.LogSigmoid)
def _logsigmoid(g, op):
    return g.op("Neg", g.op("Softplus", g.op("Neg", op.input(0))))


@converts(activation.Gelu)
def _gelu(g, op):
    x = op.input(0)
    approximate = op.args[1]
    if g.opset >= 20:
        return g.op("Gelu", x, approximate=approximate)
    half = g.op("Mul", x, g.scalar_like(0.5, x))
    if approximate == "tanh":
        cube = g.op("Mul", g.op("Mul", x, x), x)
        inner = g.op("Add", x, g.op("Mul", cube, g.scalar_like(0.044715, x)))
        gate = g.op("Tanh", g.op("Mul", inner, g.scalar_like(math.sqrt(2 / math.pi), x)))
    else:
        gate = g.op("Erf", g.op("Mul", x, g.scalar_like(1 / math.sqrt(2), x)))
    return g.op("Mul", half, g.op("Add", gate, g.scalar_like(1, x)))


@converts(activation.Silu)
def _silu(g, op):
    x = op.input(0)
    return g.op("Mul", x, g.op("Sigmoid", x))


@converts(fused.Mish)
def _mish(g, op):
    x = op.input(0)
    return g.op("Mul", x, g.op("Tanh", g.op("Softplus", x)))


@converts(fused.Glu)
def _glu(g, op):
    x = op.input(0)
    dim = op.args[1]
    half = op.shape(0)[dim] // 2
    first, second = g.op("Split", x, g.ints([half, half]), outputs=2, axis=dim)
    return g.op("Mul", first, g.op("Sigmoid", second))


@converts(fused.PreluKernel)
def _prelu(g, op):
    return g.op("PRelu", op.input(0), op.input(1))


@converts(_softmax.Softmax)
def _softmax_op(g, op):
    return g.op("Softmax", g.cast(op.input(0), op.out_dtype()), axis=op.args[1])


@converts(_softmax.LogSoftmax)
def _log_softmax(g, op):
    return g.op("LogSoftmax", g.cast(op.input(0), op.out_dtype()), axis=op.args[1])


# -- clamp, where, maximum/minimum -------------------------------------------------------


@converts(where_clamp.Clamp)
def _clamp(g, op):
    dtype = op.out_dtype()
    out = g.cast(op.input(0), dtype)
    low, high = op.args[1], op.args[2]
    if low is not None:
        out = g.op("Max", out, _operand(g, op, 1, dtype))
    if high is not None:
        out = g.op("Min", out, _operand(g, op, 2, dtype))
    return out if out != op.input(0) else g.op("Identity", out)


@converts(where_clamp.Where)
def _where(g, op):
    dtype = op.out_dtype()
    condition = g.cast(op.input(0), np.bool_)
    return g.op("Where", condition, _operand(g, op, 1, dtype), _operand(g, op, 2, dtype),
                dtype=dtype)


@converts(where_clamp._MinMax)
def _min_max(g, op):
    kind = op.args[2]
    if kind not in ("maximum", "minimum"):
        raise _unsupported(g, op, kind)
    dtype = op.out_dtype()
    return g.op("Max" if kind == "maximum" else "Min", _operand(g, op, 0, dtype),
                _operand(g, op, 1, dtype), dtype=dtype)


# -- reductions ---------------------------------------------------------------------------


def _dims(op, index=1):
    dims = op.args[index]
    if dims is None:
        return ()
    if isinstance(dims, int):
        return (dims,)
    return tuple(dims)


@converts(reduce.Sum)
def _sum(g, op):
    x = g.cast(op.input(0), op.out_dtype())
    return g.reduce("ReduceSum", x, _dims(op), op.args[2])


@converts(reduce.Mean)
def _mean(g, op):
    x = g.cast(op.input(0), op.out_dtype())
    return g.reduce("ReduceMean", x, _dims(op), op.args[2])


@converts(reduce.Prod)
def _prod(g, op):
    x = g.cast(op.input(0), op.out_dtype())
    dims = () if op.args[1] is None else (op.args[1],)
    return g.reduce("ReduceProd", x, dims, op.args[2])


@converts(reduce.Extreme)
def _extreme(g, op):
    return g.reduce("ReduceMax" if op.args[3] else "ReduceMin", op.input(0), _dims(op),
                    op.args[2])


@converts(reduce.LogSumExp)
def _logsumexp(g, op):
    x = g.cast(op.input(0), op.out_dtype())
    return g.reduce("ReduceLogSumExp", x, _dims(op), op.args[2])


@converts(reduce.Var)
def _var(g, op):
    """sum((x - mean)^2) / (count - correction), square-rooted for std."""
    x = op.input(0)
    dims, keepdim, correction, std = _dims(op), op.args[2], op.args[3], op.args[4]
    shape = op.shape(0)
    count = math.prod(shape[d] for d in dims) if dims else math.prod(shape)
    centered = g.op("Sub", x, g.reduce("ReduceMean", x, dims, True))
    total = g.reduce("ReduceSum", g.op("Mul", centered, centered), dims, keepdim)
    out = g.op("Div", total, g.scalar_like(max(count - correction, 0), x))
    return g.op("Sqrt", out) if std else out


# -- composites: comparisons and arg-extremes compute without a Function --------------------


@converts_call(reduce, "_select_along")
def _max_min_dim(g, op):
    # _select_along(name, input, dim, keepdim, largest) -> (values, indices)
    x = op.input(1)
    ndim = len(op.shape(1))
    dim, keepdim, largest = op.args[2] % max(ndim, 1), op.args[3], op.args[4]
    values = g.reduce("ReduceMax" if largest else "ReduceMin", x, [dim], keepdim)
    indices = g.op("ArgMax" if largest else "ArgMin", x, axis=dim, keepdims=int(keepdim),
                   dtype=np.int64)
    return values, indices


@converts_call(reduce, "_argmax_min")
def _argmax_min(g, op):
    # _argmax_min(name, input, dim, keepdim, largest)
    x = op.input(1)
    in_shape = op.shape(1)
    dim, keepdim, largest = op.args[2], op.args[3], op.args[4]
    kind = "ArgMax" if largest else "ArgMin"
    if dim is None:
        flat = g.op("Reshape", x, g.ints([-1]))
        index = g.op(kind, flat, axis=0, keepdims=0, dtype=np.int64)
        if keepdim:
            index = g.op("Reshape", index, g.ints([1] * len(in_shape)))
        return index
    return g.op(kind, x, axis=dim % max(len(in_shape), 1), keepdims=int(keepdim),
                dtype=np.int64)


def _common_operands(g, op):
    """Both operands of a comparison in one dtype (NumPy's promotion of the two; a Python
    number takes the tensor's dtype unless it is a float meeting integers)."""
    values = op.args[:2]
    dtypes = [v._data.dtype if isinstance(v, Tensor) else None for v in values]
    known = [d for d in dtypes if d is not None]
    dtype = np.result_type(*known)
    for value in values:
        if not isinstance(value, Tensor) and isinstance(value, float) and dtype.kind in "biu":
            dtype = np.dtype(np.float32)
    names = []
    for index, value in enumerate(values):
        if isinstance(value, Tensor):
            names.append(g.cast(op.input(index), dtype))
        else:
            names.append(g.const(np.asarray(value, dtype=dtype)))
    return names


def _comparison(onnx_type, negate=False):
    def convert(g, op):
        out = g.op(onnx_type, *_common_operands(g, op), dtype=np.bool_)
        return g.op("Not", out) if negate else out

    return convert


def _logical(onnx_type):
    arity = 1 if onnx_type == "Not" else 2

    def convert(g, op):
        operands = [g.cast(op.input(i), np.bool_) for i in range(arity)]
        return g.op(onnx_type, *operands, dtype=np.bool_)

    return convert


def _register_everywhere(name, converter):
    """``name`` is reachable as ember.name, Tensor.name, Tensor.__name__ (operators) and
    the compare module's own function: wrap each for the trace."""
    import sys

    from .._ops import compare

    owners = [(compare, name), (sys.modules["ember"], name), (Tensor, name)]
    if name in ("eq", "ne", "lt", "le", "gt", "ge"):
        owners.append((Tensor, f"__{name}__"))
    for owner, attribute in owners:
        if getattr(owner, attribute, None) is not None:
            converts_call(owner, attribute)(converter)


for _name, _onnx, _negate in (("eq", "Equal", False), ("ne", "Equal", True),
                              ("lt", "Less", False), ("le", "LessOrEqual", False),
                              ("gt", "Greater", False), ("ge", "GreaterOrEqual", False)):
    _register_everywhere(_name, _comparison(_onnx, _negate))
for _name, _onnx in (("logical_and", "And"), ("logical_or", "Or"), ("logical_xor", "Xor"),
                     ("logical_not", "Not")):
    _register_everywhere(_name, _logical(_onnx))


def _bitwise_not(g, op):
    x = op.input(0)
    if op.args[0]._data.dtype.kind == "b":
        return g.op("Not", x, dtype=np.bool_)
    if g.opset < 18:
        return g.op("Sub", g.op("Neg", x), g.scalar_like(1, x))  # ~x == -x - 1
    return g.op("BitwiseNot", x)


_register_everywhere("bitwise_not", _bitwise_not)
converts_call(Tensor, "__invert__")(_bitwise_not)
