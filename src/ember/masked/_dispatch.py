"""``MaskedTensor.__torch_function__``: which ops a MaskedTensor takes, and the mask of
their results, as ``torch.masked``'s MaskedTensor:

- elementwise unary ops (and their in-place forms) keep the mask;
- binary ops require both masks to be equal (ValueError otherwise) and keep it; a plain
  Tensor or scalar operand is taken as fully specified;
- reductions (sum, mean, amin, amax, argmin, argmax, prod, all, norm, var, std) skip
  masked-out elements; a result is specified where any reduced input was;
- ``where`` picks data and mask alike; ``softmax`` runs over the specified elements;
- shape ops (indexing, views, transposes, cat/stack, split) move data and mask together;
- metadata queries (shape, dtype, requires_grad, backward, ...) answer for the data.

Anything else that would produce a tensor raises TypeError, as PyTorch's dispatcher does
for an op MaskedTensor does not implement. Every handler computes on ``get_data()``
(plain tensors), so ember's autograd records the ordinary ops and gradients flow back.
"""

from __future__ import annotations

import inspect

import ember

from .._C import DisableTorchFunctionSubclass
from .._tensor import Tensor
from . import _normalizations, _reductions, _sparse
from ._core import _check_members, _wrap, is_masked_tensor
from ._grad_masks import before_backward, moved_by, propagate, record, unbroadcast

_UNARY = (
    "abs", "absolute", "acos", "arccos", "acosh", "arccosh", "angle", "asin", "arcsin",
    "asinh", "arcsinh", "atan", "arctan", "atanh", "arctanh", "bitwise_not", "ceil", "clamp",
    "clip", "conj_physical", "cos", "cosh", "deg2rad", "digamma", "erf", "erfc", "erfinv",
    "exp", "exp2", "expm1", "fix", "floor", "frac", "lgamma", "log", "log10", "log1p", "log2",
    "logit", "i0", "isnan", "nan_to_num", "neg", "negative", "positive", "pow", "rad2deg",
    "reciprocal", "round", "rsqrt", "sigmoid", "sign", "sgn", "signbit", "sin", "sinc", "sinh",
    "sqrt", "square", "tan", "tanh", "trunc", "__invert__",
)
_NOT_INPLACE_UNARY = ("angle", "positive", "signbit", "isnan", "__invert__")
_BINARY = (
    "add", "atan2", "arctan2", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_left_shift", "bitwise_right_shift", "div", "divide", "floor_divide", "fmod",
    "logaddexp", "logaddexp2", "mul", "multiply", "nextafter", "remainder", "sub", "subtract",
    "true_divide", "eq", "ne", "le", "ge", "greater", "greater_equal", "gt", "less_equal", "lt",
    "less", "maximum", "minimum", "fmax", "fmin", "not_equal",
    "__eq__", "__ne__", "__and__", "__or__", "__xor__", "__floordiv__", "__lshift__",
    "__rshift__",
)
_NOT_INPLACE_BINARY = ("logaddexp", "logaddexp2", "fmin", "minimum", "maximum", "fmax")
_INPLACE_DUNDERS = ("__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__")
_REDUCTIONS = ("sum", "mean", "amin", "amax", "argmin", "argmax", "prod", "all", "norm", "var",
               "std")
# ops that only move elements: applied to data and mask alike (a superset of PyTorch's
# list, which leaves out permute, squeeze, unbind, flip and a few more)
_SHAPE = (
    "__getitem__", "select", "narrow", "transpose", "swapaxes", "swapdims", "t", "split",
    "chunk", "unbind", "expand", "expand_as", "view", "view_as", "reshape", "reshape_as",
    "flatten", "unflatten", "unsqueeze", "squeeze", "permute", "movedim", "moveaxis", "cat",
    "concat", "concatenate", "stack", "unfold", "flip", "roll", "repeat", "tile",
)
_SHAPE_PROPERTIES = ("T", "mT")
_CONVERSIONS = ("to", "type", "float", "double", "half", "int", "long", "short", "bool",
                "cpu", "cuda", "clone", "detach", "contiguous", "ones_like")
_LAYOUTS = {"to_dense": ember.strided, "to_sparse": ember.sparse_coo,
            "to_sparse_coo": ember.sparse_coo, "to_sparse_csr": ember.sparse_csr}
# in-place methods that are not handled here: refused before they touch the data
_REFUSED_DUNDERS = ("__setitem__",) + _INPLACE_DUNDERS[3:]

_TABLE: dict = {}
_SIGNATURES: dict = {}


def _build_table() -> None:
    F = ember.nn.functional
    kinds = [("unary", _UNARY), ("binary", _BINARY), ("reduction", _REDUCTIONS),
             ("shape", _SHAPE), ("convert", _CONVERSIONS),
             ("unary_", [n + "_" for n in _UNARY if n not in _NOT_INPLACE_UNARY]),
             ("binary_", [n + "_" for n in _BINARY
                          if n not in _NOT_INPLACE_BINARY and not n.startswith("__")]),
             ("binary_", _INPLACE_DUNDERS[:3]),
             ("where", ["where"]), ("softmax", ["softmax", "log_softmax"]),
             ("item", ["item", "__bool__", "__float__", "__int__", "__index__"]),
             ("to_python", ["tolist", "numpy"]), ("to_layout", list(_LAYOUTS)),
             ("copy_", ["copy_"])]
    for kind, names in kinds:
        for name in names:
            for owner in (ember, Tensor, F):
                fn = vars(owner).get(name) if owner is Tensor else getattr(owner, name, None)
                if callable(fn):
                    _TABLE[fn] = (kind, name.strip("_") if name.startswith("__") else name)
    _TABLE[ember.autograd.grad] = ("autograd_grad", "grad")
    _TABLE[ember.autograd.backward] = ("backward", "backward")
    _TABLE[Tensor.backward] = ("backward", "backward")
    for name in _SHAPE_PROPERTIES:
        _TABLE[vars(Tensor)[name].__get__] = ("shape", name)
    _TABLE[vars(Tensor)["data"].__get__] = ("convert", "detach")


def torch_function(cls, func, types, args=(), kwargs=None):
    """Route ``func(*args, **kwargs)`` to the handler of its kind (module docstring)."""
    if not _TABLE:
        _build_table()
    kwargs = kwargs or {}
    try:
        entry = _TABLE.get(func)
    except TypeError:  # an unhashable callable
        entry = None
    if entry is None:
        return _fallback(func, args, kwargs)
    kind, name = entry
    return _HANDLERS[kind](func, name, args, kwargs)


# -- helpers --------------------------------------------------------------------------------

def _map(values, fn):
    """``values`` with every MaskedTensor (also inside lists and tuples) replaced by
    ``fn(it)``."""
    out = []
    for value in values:
        if is_masked_tensor(value):
            out.append(fn(value))
        elif isinstance(value, (list, tuple)):
            out.append(type(value)(_map(value, fn)))
        else:
            out.append(value)
    return out


def _data(value):
    return value._dense_data() if is_masked_tensor(value) else value


def _mask_or_full(value):
    """A MaskedTensor's mask; a plain Tensor counts as fully specified."""
    if is_masked_tensor(value):
        return value._dense_mask()
    return ember.ones_like(value, dtype=ember.bool)


def _masks_match(a, b) -> bool:
    if not (is_masked_tensor(a) and is_masked_tensor(b)):
        return True
    mask_a, mask_b = a._dense_mask(), b._dense_mask()
    return mask_a.dim() == mask_b.dim() and bool(ember.eq(mask_a, mask_b).all())


def _wrap_all(result, mask, keep=()):
    if isinstance(result, (list, tuple)):
        return type(result)(_wrap_all(r, m, keep) for r, m in zip(result, mask))
    return _wrap(result, mask, keep)


def _signature(func):
    sig = _SIGNATURES.get(func)
    if sig is None:
        sig = _SIGNATURES[func] = inspect.signature(func)
    return sig


# -- the handlers -------------------------------------------------------------------------

def _unary(func, name, args, kwargs):
    if any(isinstance(a, Tensor) for a in args[1:]):
        raise TypeError("MaskedTensor unary ops do not support additional Tensor arguments")
    data = args[0]._dense_data()
    out = _wrap(func(data, *args[1:], **kwargs), args[0]._dense_mask(), (data,))
    out._sparse_mask = args[0]._sparse_mask
    record(out, args[:1], _same)
    return out


def _same(mask):
    return [mask]


def _unary_inplace(func, name, args, kwargs):
    if any(isinstance(a, Tensor) for a in args[1:]):
        raise TypeError("MaskedTensor unary ops do not support additional Tensor arguments")
    func(args[0]._dense_data(), *args[1:], **kwargs)
    return args[0]


def _check_binary(args, kwargs):
    if kwargs:
        raise ValueError("len(kwargs) must equal 0")
    if any(isinstance(a, Tensor) for a in args[2:]):
        raise TypeError("MaskedTensor binary ops do not support Tensor arguments aside from "
                        "the lhs and rhs")
    if len(args) >= 2 and not _masks_match(args[0], args[1]):
        raise ValueError("Input masks must match. If you need support for this, please open "
                         "an issue on Github.")


def _operand_data(mt):
    """A MaskedTensor operand's data with masked-out elements set to 1: when the other
    operand is a plain tensor requiring grad, its gradient sums products with this data,
    and an unspecified nan or inf there would turn 0 * nan into nan (PyTorch's gradient
    is a MaskedTensor whose reduction skips those elements)."""
    one = ember.ones((), dtype=mt.dtype, device=mt.device)
    return ember.where(mt._dense_mask(), mt._dense_data(), one)


def _sparse_operands(args):
    """The sparse mask a binary op's result keeps (None for dense operands); sparse
    operands must store the same positions, and a plain tensor cannot meet one."""
    sparse = [a for a in args[:2] if is_masked_tensor(a) and a._sparse_mask is not None]
    if not sparse:
        return None
    first = sparse[0]
    for other in args[:2]:
        if other is first or not isinstance(other, Tensor):
            continue
        if not is_masked_tensor(other) or other.layout is not first.layout:
            raise TypeError(f"MaskedTensor binary ops on {first.layout} data take another "
                            f"{first.layout} MaskedTensor or a scalar")
        if not _sparse.same_structure(first._sparse_mask, other._sparse_mask):
            kind = str(first.layout).rpartition(".")[2]
            raise ValueError(f"{kind} indices must match. If you need support for this, please "
                             "open an issue on Github.")
    return first._sparse_mask


def _binary(func, name, args, kwargs):
    _check_binary(args, kwargs)
    sparse_mask = _sparse_operands(args)
    plain_needs_grad = any(isinstance(a, Tensor) and not is_masked_tensor(a) and a.requires_grad
                           for a in args[:2]) and ember.is_grad_enabled()
    data_of = _operand_data if plain_needs_grad else (lambda mt: mt._dense_data())
    data_args = _map(args, data_of)
    result = func(*data_args)
    owner = args[0] if is_masked_tensor(args[0]) else args[1]
    out = _wrap(result, owner._dense_mask().expand_as(result), data_args)
    out._sparse_mask = sparse_mask
    parents = [a for a in args[:2] if is_masked_tensor(a)]
    record(out, parents, lambda mask: [unbroadcast(mask, p.shape) for p in parents])
    return out


def _binary_inplace(func, name, args, kwargs):
    _check_binary(args, kwargs)
    _sparse_operands(args)
    if not is_masked_tensor(args[0]):
        raise TypeError(f"{name}(): an in-place op on a plain Tensor cannot take a "
                        "MaskedTensor operand")
    func(*_map(args, lambda mt: mt._dense_data()))
    return args[0]


def _reduce_dim_args(input, dim, keepdim=False, dtype=None):
    return input, dim, keepdim, dtype


def _multidim_any(mask, dim, keepdim):
    dims = range(mask.dim()) if dim is None else [dim] if isinstance(dim, int) else dim
    for d in sorted((d % max(mask.dim(), 1) for d in dims), reverse=True):
        mask = ember.any(mask, dim=d, keepdim=keepdim)
    return mask


def _masked_all(data, mask, dim=None, keepdim=False):
    filled = data.masked_fill(~mask, True)
    if dim is None:
        return filled.all()
    for d in sorted((d % max(data.dim(), 1) for d in ([dim] if isinstance(dim, int) else dim)),
                    reverse=True):
        filled = filled.all(dim=d, keepdim=keepdim)
    return filled


def _reduction(func, name, args, kwargs):
    if len(args) == 1 and not kwargs:
        mt = args[0]
        data, mask = mt._dense_data(), mt._dense_mask()
        if name == "all":
            result = _masked_all(data, mask)
        else:
            result = getattr(_reductions, name)(data, mask=mask)
        if name in ("argmax", "argmin") and mt.layout is ember.sparse_coo:
            # torch.masked computes a COO index from strides, in the default float dtype
            result = result.to(ember.get_default_dtype())
        out = _wrap(result, mask.any(), (data,))
        record(out, (mt,), lambda _: [mt._dense_mask()])  # as torch.masked: the input's mask
        return out
    mt, dim, keepdim, dtype = _reduce_dim_args(*args, **kwargs)
    if not is_masked_tensor(mt):
        raise TypeError("Input to reduce_dim must be a MaskedTensor")
    if mt._sparse_mask is not None:
        raise TypeError(f"The sparse version of {name} is not implemented in reductions "
                        "over a dim (reduce over all elements, or call to_dense() first)")
    data, mask = mt._dense_data(), mt._dense_mask()
    if name == "all":
        result = _masked_all(data, mask, dim, keepdim)
    else:
        result = getattr(_reductions, name)(data, dim=dim, keepdim=keepdim, dtype=dtype,
                                            mask=mask)
    out = _wrap(result, _multidim_any(mask, dim, keepdim), (data,))
    record(out, (mt,), lambda _: [mt._dense_mask()])
    return out


def _refuse_sparse(func, values):
    for value in values:
        if isinstance(value, (list, tuple)):
            _refuse_sparse(func, value)
        elif is_masked_tensor(value) and value._sparse_mask is not None:
            raise _unsupported(func, " with sparse data (call to_dense() first)")


def _shape(func, name, args, kwargs):
    _refuse_sparse(func, args)
    first = args[0] if args else None
    holds_masked = is_masked_tensor(first) or (
        isinstance(first, (list, tuple)) and any(is_masked_tensor(t) for t in first))
    data_args = _map(args, lambda mt: mt._dense_data())
    data_kwargs = dict(zip(kwargs, _map(list(kwargs.values()), lambda mt: mt._dense_data())))
    result = func(*data_args, **data_kwargs)
    if not holds_masked:  # x.expand_as(mt): the MaskedTensor only lends its shape
        return result
    if isinstance(first, (list, tuple)):  # cat / stack: plain tensors are fully specified
        mask_args = [[_mask_or_full(t) for t in first]] + list(args[1:])
    else:
        mask_args = [first._dense_mask()] + _map(args[1:], lambda mt: mt._dense_mask())
    mask_kwargs = dict(zip(kwargs, _map(list(kwargs.values()), lambda mt: mt._dense_mask())))
    out = _wrap_all(result, func(*mask_args, **mask_kwargs), data_args)
    if isinstance(first, (list, tuple)):
        found = [(j, t) for j, t in enumerate(first) if is_masked_tensor(t)]
        parents, slots = [t for _, t in found], [((0, j), t.shape) for j, t in found]
    else:
        parents, slots = [first], [(0, first.shape)]
    if isinstance(out, (list, tuple)):
        for i, part in enumerate(out):
            record(part, parents, moved_by(func, data_args, data_kwargs, slots, i))
    else:
        record(out, parents, moved_by(func, data_args, data_kwargs, slots))
    return out


def _convert(func, name, args, kwargs):
    mt = args[0]
    data = mt._dense_data()
    result = func(data, *args[1:], **kwargs)
    if not isinstance(result, Tensor):  # x.type() names the type
        return result
    mask = mt._dense_mask()
    if name == "clone":
        mask = mask.clone()
    elif result.device != mask.device:
        mask = mask.to(device=result.device)
    _check_members(result, mask)
    out = _wrap(result, mask, (data,))
    out._sparse_mask = mt._sparse_mask
    if name != "detach":
        record(out, (mt,), _same)
    return out


def _where(func, name, args, kwargs):
    if kwargs or len(args) != 3:
        raise ValueError(f"__torch_function__, torch.where: len(args) must be 3 and "
                         f"len(kwargs) 0 but got {len(args)} and {len(kwargs)}")
    _refuse_sparse(func, args)
    if func is Tensor.where:  # x.where(condition, y) is where(condition, x, y)
        args = (args[1], args[0], args[2])
    cond, x, y = args
    if not isinstance(cond, Tensor) or is_masked_tensor(cond):
        raise ValueError("__torch_function__, torch.where: expected args[0] to be a tensor")

    def mask_of(value):
        if is_masked_tensor(value):
            return value._dense_mask()
        return ember.ones_like(value, dtype=ember.bool) if isinstance(value, Tensor) else True

    data = ember.where(cond, _data(x), _data(y))
    mask = ember.where(cond, mask_of(x), mask_of(y))
    out = _wrap(data, mask, (x, y))
    picks = [(value, taken) for value, taken in ((x, True), (y, False))
             if is_masked_tensor(value)]

    def rule(grad_mask):
        return [unbroadcast(ember.where(cond, grad_mask, False) if taken else
                            ember.where(cond, False, grad_mask), value.shape)
                for value, taken in picks]

    record(out, [value for value, _ in picks], rule)
    return out


def _softmax(func, name, args, kwargs):
    _refuse_sparse(func, args)
    bound = _signature(func).bind(*args, **kwargs)
    params = bound.arguments
    mt = args[0] if args else params.get("input")
    dim, dtype = params.get("dim"), params.get("dtype")
    if dim is None:
        raise TypeError(f"{name}(): MaskedTensor needs an explicit dim")
    data, mask = mt._dense_data(), mt._dense_mask()
    op = getattr(_normalizations, name)
    result = op(data, dim, dtype=dtype, mask=mask)
    fill = 0.0 if name == "softmax" else float("-inf")
    out = _wrap(ember.where(mask, result, fill), mask)
    record(out, (mt,), _same)
    return out


def _item(func, name, args, kwargs):
    """``item()``, ``bool()``, ``float()``, ``int()``: a masked-out element has no value."""
    mt = args[0]
    if not bool(mt._dense_mask()):
        raise ValueError("__torch_dispatch__, aten._local_scalar_dense: expected a mask tensor")
    return func(mt._masked_data, *args[1:], **kwargs)


def _to_python(func, name, args, kwargs):
    """PyTorch refuses ``tolist()`` and ``numpy()`` of tensor subclasses (the masked-out
    elements would come out as if specified): ``to_tensor(value)`` first."""
    if name == "tolist":
        raise RuntimeError(".tolist() is not supported for tensor subclasses, got MaskedTensor")
    raise RuntimeError(".numpy() is not supported for tensor subclasses.")


def _copy(func, name, args, kwargs):
    if not _masks_match(args[0], args[1]):
        raise ValueError("args[0] mask and args[1] mask must match but do not")
    func(_data(args[0]), _data(args[1]), *args[2:], **kwargs)
    return args[0]


def _autograd_grad(func, name, args, kwargs):
    """``ember.autograd.grad``: the gradient of a MaskedTensor input comes back as a
    MaskedTensor, masked as PyTorch would (``_grad_masks``), as ``.grad`` does."""
    arguments = _signature(func).bind(*args, **kwargs).arguments
    outputs = _as_tuple(arguments["outputs"])
    listed = _as_tuple(arguments["inputs"])
    gradients = _as_tuple(arguments.get("grad_outputs")) or (None,) * len(outputs)
    pairs = [(out, g._dense_mask() if is_masked_tensor(g) else out._dense_mask())
             for out, g in zip(outputs, gradients) if is_masked_tensor(out)]
    reached = propagate([p[0] for p in pairs], [p[1] for p in pairs]) if pairs else {}
    with DisableTorchFunctionSubclass():
        grads = func(*args, **kwargs)
    return tuple(_wrap(g, reached.get(id(x), (x, x._dense_mask()))[1])
                 if g is not None and is_masked_tensor(x) else g
                 for g, x in zip(grads, listed))


def _as_tuple(value):
    if value is None:
        return ()
    return (value,) if isinstance(value, Tensor) else tuple(value)


def _backward(func, name, args, kwargs):
    """``Tensor.backward`` / ``autograd.backward`` from MaskedTensors: the leaves' gradient
    masks are worked out first (``_grad_masks``), then the plain backward runs."""
    arguments = _signature(func).bind(*args, **kwargs).arguments
    if func is Tensor.backward:
        outputs, gradients = (arguments["self"],), (arguments.get("gradient"),)
    else:
        outputs = _as_tuple(arguments["tensors"])
        gradients = _as_tuple(arguments.get("grad_tensors")) or (None,) * len(outputs)
    before_backward(outputs, gradients)
    with DisableTorchFunctionSubclass():
        return func(*args, **kwargs)


def _to_layout(func, name, args, kwargs):
    """``to_dense()``, ``to_sparse()``/``to_sparse_coo()``, ``to_sparse_csr()``: a
    MaskedTensor already in that layout comes back as itself, as in PyTorch. The
    converted one is a new leaf (ember records no gradient through layout changes)."""
    mt = args[0]
    target = _LAYOUTS[name]
    if mt.layout is target:
        return mt
    data, mask, sparse_mask = _sparse.convert(mt, target)
    out = _wrap(data.clone(), mask.clone())
    out._sparse_mask = sparse_mask
    return out


def _contains_tensor(value) -> bool:
    if isinstance(value, Tensor):
        return True
    if isinstance(value, (list, tuple)):
        return any(_contains_tensor(v) for v in value)
    return False


def _unsupported(func, suffix=""):
    from ..overrides import resolve_name

    name = resolve_name(func) or getattr(func, "__name__", repr(func))
    return TypeError(f"{name} is not implemented for MaskedTensor{suffix}. MaskedTensor takes "
                     "elementwise unary and binary ops, reductions, where, softmax and shape "
                     "ops, as torch.masked's does.")


def _fallback(func, args, kwargs):
    """Metadata queries and autograd entry points run on the data; an op that would make
    a tensor is refused (before it runs, when it works in place)."""
    name = getattr(func, "__name__", "")
    if (name.endswith("_") and not name.startswith("__") and name != "requires_grad_") or (
            name in _REFUSED_DUNDERS):
        raise _unsupported(func)
    with DisableTorchFunctionSubclass():
        result = func(*args, **kwargs)
    if any(result is a for a in args):  # requires_grad_(), retain_grad() chains
        return result
    if _contains_tensor(result):
        raise _unsupported(func)
    return result


_HANDLERS = {
    "unary": _unary, "unary_": _unary_inplace, "binary": _binary, "binary_": _binary_inplace,
    "reduction": _reduction, "shape": _shape, "convert": _convert, "where": _where,
    "softmax": _softmax, "item": _item, "to_python": _to_python, "copy_": _copy,
    "to_layout": _to_layout,
    "autograd_grad": _autograd_grad, "backward": _backward,
}
