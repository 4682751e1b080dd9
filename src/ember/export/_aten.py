"""ATen names for the calls ``ember.export`` records, and the ops behind them.

PyTorch's exported graphs call ATen operators (``torch.ops.aten.linear.default``,
``aten.add.Tensor``, ``aten.sum.dim_IntList``). ember has no ATen; this module names each
recorded ember call the way PyTorch's export names the same call (overload chosen from
the arguments, arguments in the ATen schema's order, trailing defaults dropped) and
registers ``ember.ops.aten.<name>.<overload>`` operators that compute them with ember's
functions, so exported graphs print like PyTorch's and run on ember.

Calls without an entry here keep ember's Python signature under ``aten.<name>.default``;
that is PyTorch's name for most ops, but the argument lists of some may differ from
ATen's schema.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable

import ember
import ember.nn.functional as F

from .. import ops as _ops

_TENSOR = ember.Tensor

# method / dunder name -> the function name (and overload family) PyTorch records
_BINARY = {
    "add": "add", "__add__": "add", "__radd__": "add", "__iadd__": "add_", "add_": "add_",
    "sub": "sub", "__sub__": "sub", "subtract": "sub", "__isub__": "sub_", "sub_": "sub_",
    "mul": "mul", "__mul__": "mul", "__rmul__": "mul", "multiply": "mul", "__imul__": "mul_",
    "mul_": "mul_", "div": "div", "__truediv__": "div", "divide": "div", "true_divide": "div",
    "__itruediv__": "div_", "div_": "div_",
    "eq": "eq", "__eq__": "eq", "ne": "ne", "__ne__": "ne", "lt": "lt", "__lt__": "lt",
    "le": "le", "__le__": "le", "gt": "gt", "__gt__": "gt", "ge": "ge", "__ge__": "ge",
    "remainder": "remainder", "__mod__": "remainder",
}
_SCALAR_OVERLOAD = {"eq", "ne", "lt", "le", "gt", "ge", "remainder"}
_RENAMED = {
    "__matmul__": "matmul", "__neg__": "neg", "negative": "neg", "__abs__": "abs",
    "absolute": "abs", "__invert__": "bitwise_not", "__floordiv__": "floor_divide",
    "concat": "cat", "concatenate": "cat", "__and__": "bitwise_and", "__or__": "bitwise_or",
    "__xor__": "bitwise_xor",
}
_SIZE_VARARGS = {"view", "reshape", "permute", "expand", "repeat", "tile", "new_ones",
                 "new_zeros", "new_empty"}
_INT_OVERLOAD = {"transpose", "select", "softmax", "log_softmax", "swapaxes"}
# pooling ops: (spatial dims, positions of their int[d] arguments), expanded as ATen's
_POOL_INT_LISTS = {
    **{f"max_pool{d}d": (d, (1, 2, 3, 4)) for d in (1, 2, 3)},
    **{f"avg_pool{d}d": (d, (1, 2, 3)) for d in (1, 2, 3)},
    **{f"adaptive_avg_pool{d}d": (d, (1,)) for d in (1, 2, 3)},
    **{f"adaptive_max_pool{d}d": (d, (1,)) for d in (1, 2, 3)},
}
_UPSAMPLE = {("nearest", 1): "upsample_nearest1d", ("nearest", 2): "upsample_nearest2d",
             ("nearest", 3): "upsample_nearest3d", ("linear", 1): "upsample_linear1d",
             ("bilinear", 2): "upsample_bilinear2d", ("bicubic", 2): "upsample_bicubic2d",
             ("trilinear", 3): "upsample_trilinear3d"}
_DIM_OVERLOAD = {"sum": "dim_IntList", "mean": "dim", "amax": "default", "amin": "default"}
_FACTORIES = {"zeros", "ones", "empty", "full", "arange", "rand", "randn", "randint",
              "eye", "linspace", "tensor", "zeros_like", "ones_like", "empty_like",
              "full_like", "rand_like", "randn_like"}


def _resolve(name: str):
    """The ember callable computing ``aten.<name>`` from ember-ordered arguments
    (``aten.linalg_qr`` / ``special_i1`` / ``fft_rfft`` are ``ember.linalg.qr``, ...)."""
    spaces = [(name, space) for space in (ember, F, ember.special, ember.linalg)]
    prefix, _, rest = name.partition("_")
    if prefix in ("linalg", "special", "fft") and rest:
        spaces.append((rest, getattr(ember, prefix)))
    for key, space in spaces:
        fn = vars(space).get(key)
        if callable(fn) and not isinstance(fn, type):
            return _unwrapped(fn)
    fn = getattr(_TENSOR, name, None)
    if callable(fn):
        return _unwrapped(fn)
    raise AttributeError(f"'_OpNamespace' 'aten' object has no attribute '{name}'")


def _unwrapped(fn):
    """The ember function itself, not a tracing wrapper standing in for it."""
    for attr in ("_export_original", "_fx_original"):
        fn = getattr(fn, attr, fn)
    return fn


def _splatting(fn: Callable) -> Callable:
    """``fn`` taking its ``*sizes`` as one list, as ATen's ``int[] size`` arguments."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return fn
    kinds = [p.kind for p in params]
    if inspect.Parameter.VAR_POSITIONAL not in kinds:
        return fn
    index = kinds.index(inspect.Parameter.VAR_POSITIONAL)

    def call(*args, **kwargs):
        if len(args) > index and isinstance(args[index], (list, tuple)):
            args = args[:index] + tuple(args[index]) + args[index + 1:]
        return fn(*args, **kwargs)
    return call


def _binary_impl(name: str) -> Callable:
    inplace = name.endswith("_")
    base = name.rstrip("_")
    python_ops = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
                  "div": operator.truediv, "eq": operator.eq, "ne": operator.ne,
                  "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
                  "remainder": operator.mod}

    def call(a, b, *, alpha=1, rounding_mode=None):
        if inplace:
            method = getattr(a, name)
            if base in ("add", "sub"):
                return method(b, alpha=alpha)
            if base == "div" and rounding_mode is not None:
                return method(b, rounding_mode=rounding_mode)
            return method(b)
        if base in ("add", "sub") and alpha != 1:
            return getattr(ember, base)(a, b, alpha=alpha)
        if base == "div" and rounding_mode is not None:
            return ember.div(a, b, rounding_mode=rounding_mode)
        return python_ops[base](a, b)
    return call


def _batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
                cudnn_enabled=False):
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _slice(x, dim=0, start=None, end=None, step=1):
    dim = dim % x.dim()
    return x[(slice(None),) * dim + (slice(start, end, step),)]


def _to_copy(x, *, dtype=None, layout=None, device=None, pin_memory=None,
             non_blocking=False, memory_format=None):
    return x.to(device=device, dtype=dtype, non_blocking=non_blocking, copy=True)


_GRID_MODES = ("bilinear", "nearest", "bicubic")
_GRID_PADDINGS = ("zeros", "border", "reflection")


def _grid_sampler(x, grid, interpolation_mode, padding_mode, align_corners):
    return F.grid_sample(x, grid, mode=_GRID_MODES[interpolation_mode],
                         padding_mode=_GRID_PADDINGS[padding_mode], align_corners=align_corners)


# ATen's fft_norm_mode (0: none, 1: 1/sqrt(n), 2: 1/n) as ``norm=`` of a forward or an
# inverse transform
_FFT_NORMS = {True: ("backward", "ortho", "forward"), False: ("forward", "ortho", "backward")}


def _fft_r2c(x, dim, normalization, onesided):
    transform = ember.fft.rfftn if onesided else ember.fft.fftn
    return transform(x, dim=dim, norm=_FFT_NORMS[True][normalization])


def _fft_c2c(x, dim, normalization, forward):
    transform = ember.fft.fftn if forward else ember.fft.ifftn
    return transform(x, dim=dim, norm=_FFT_NORMS[forward][normalization])


def _fft_c2r(x, dim, normalization, last_dim_size):
    sizes = [x.shape[d] for d in dim[:-1]] + [last_dim_size]
    return ember.fft.irfftn(x, s=sizes, dim=dim, norm=_FFT_NORMS[False][normalization])


def _upsample_default(mode: str, antialias: bool = False) -> Callable:
    """``aten.upsample_<mode><d>d.default`` (and the ``_aa`` / ``nearest_exact`` ones):
    ``(self, output_size, [align_corners,] *scales)``; given scales place the samples."""
    nearest = mode.startswith("nearest")

    def impl(x, output_size, *rest):
        align_corners = None if nearest else rest[0]
        scales = rest if nearest else rest[1:]
        if scales and all(scale is not None for scale in scales):
            return F.interpolate(x, scale_factor=list(scales), mode=mode,
                                 align_corners=align_corners, antialias=antialias)
        return F.interpolate(x, size=list(output_size), mode=mode,
                             align_corners=align_corners, antialias=antialias)
    return impl


def _nll_loss_forward(x, target, weight, reduction, ignore_index):
    """``(output, total_weight)``: the summed weight of the targets not ignored (0 for the
    unreduced loss, as ATen's kernel leaves it)."""
    output = F.nll_loss(x, target, weight, ignore_index=ignore_index,
                        reduction=("none", "mean", "sum")[reduction])
    if reduction == 0:
        return output, x.new_zeros(())
    kept = target != ignore_index
    if weight is None:
        return output, kept.sum().to(x.dtype)
    picked = weight[ember.where(kept, target, ember.zeros_like(target))]
    return output, (picked * kept).sum().to(x.dtype)


_SPECIAL_IMPLS: dict[str, Callable] = {
    "nll_loss_forward": _nll_loss_forward,
    "nll_loss2d_forward": _nll_loss_forward,
    **{f"_upsample_nearest_exact{d}d": _upsample_default("nearest-exact") for d in (1, 2, 3)},
    "_upsample_bilinear2d_aa": _upsample_default("bilinear", antialias=True),
    "_upsample_bicubic2d_aa": _upsample_default("bicubic", antialias=True),
    "_unsafe_view": lambda x, size: x.reshape(size),
    "_to_copy": _to_copy,
    "_prelu_kernel": lambda x, weight: F.prelu(x, weight),
    "_adaptive_avg_pool2d": lambda x, output_size: F.adaptive_avg_pool2d(x, output_size),
    "_adaptive_avg_pool3d": lambda x, output_size: F.adaptive_avg_pool3d(x, output_size),
    "log_sigmoid_forward": lambda x: (F.logsigmoid(x), x.abs().neg().exp()),  # the CPU buffer
    "grid_sampler_2d": _grid_sampler,
    "grid_sampler_3d": _grid_sampler,
    "_linalg_svd": lambda a, full_matrices=False, compute_uv=True, *, driver=None: tuple(
        ember.linalg.svd(a, full_matrices=full_matrices)),
    "_fft_r2c": _fft_r2c, "_fft_c2c": _fft_c2c, "_fft_c2r": _fft_c2r,
    "_ctc_loss": lambda log_probs, targets, input_lengths, target_lengths, blank=0,
    zero_infinity=False: (F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                                     "none", zero_infinity), log_probs.new_zeros(0)),
    "affine_grid_generator": lambda theta, size, align_corners: F.affine_grid(
        theta, size, align_corners=align_corners),
    **{f"{kind}_pad{d}d": (lambda mode: lambda x, padding: F.pad(x, padding, mode=mode))(mode)
       for kind, mode in (("reflection", "reflect"), ("replication", "replicate"))
       for d in (1, 2, 3)},
    "im2col": lambda x, kernel_size, dilation, padding, stride: F.unfold(
        x, kernel_size, dilation, padding, stride),
    "col2im": lambda x, output_size, kernel_size, dilation, padding, stride: F.fold(
        x, output_size, kernel_size, dilation, padding, stride),

    "slice": _slice,
    "select": lambda x, dim, index: x.select(dim, index),
    "numpy_T": lambda x: x.T,
    "alias": lambda x: x.view_as(x),
    "item": lambda x: x.item(),
    "mT": lambda x: x.mT,
    "batch_norm": _batch_norm,
    "rsub": lambda a, b, alpha=1: b - a * alpha if alpha != 1 else b - a,
    "pow": lambda a, b: a ** b,
    "sym_size": lambda x, dim: x.size(dim),
    "dropout": lambda x, p, train: F.dropout(x, p, train),
    "to": lambda x, *args, **kwargs: x.to(*args, **kwargs),
}


def register_aten_op(name: str, overload: str = "default") -> _ops.OpOverload:
    """``ember.ops.aten.<name>.<overload>``, registered on first use."""
    packets = _ops._namespace("aten").__dict__["_packets"]
    packet = packets.get(name)
    if packet is not None and overload in packet._overloads:
        return packet._overloads[overload]
    modes = {op_name: mode for (mode, _), op_name in _UPSAMPLE.items()}
    if name in modes and overload != "default":
        return _register_upsample(name, modes[name])
    if name in modes:  # ``.default``: the overload PyTorch's dispatcher runs (sizes first)
        return _ops._register("aten", name, overload, _upsample_default(modes[name]))
    if name in _SPECIAL_IMPLS:
        impl = _SPECIAL_IMPLS[name]
    elif name.rstrip("_") in _SCALAR_OVERLOAD | {"add", "sub", "mul", "div"}:
        impl = _binary_impl(name)
    else:
        impl = _splatting(_resolve(name))
    return _ops._register("aten", name, overload, impl)


# -- from a recorded ember call to an ATen call ------------------------------------------

def _bound(fn, args, kwargs):
    """(positional values, keyword-only values) of a call, trailing defaults dropped,
    ``*sizes`` packed into one list."""
    try:
        sig = inspect.signature(fn)
        bound = sig.bind(*args, **kwargs)
    except (TypeError, ValueError):
        return list(args), dict(kwargs)
    positional, keywords, defaults = [], {}, []
    for name, param in sig.parameters.items():
        if param.kind is param.VAR_POSITIONAL:
            values = bound.arguments.get(name, ())
            if len(values) == 1 and isinstance(values[0], (list, tuple)):
                values = values[0]
            positional.append(list(values))
            defaults.append(None)
        elif param.kind is param.VAR_KEYWORD:
            keywords.update(bound.arguments.get(name, {}))
        elif param.kind is param.KEYWORD_ONLY:
            if name in bound.arguments and not _same(bound.arguments[name], param.default):
                keywords[name] = bound.arguments[name]
        elif name in bound.arguments:
            value = bound.arguments[name]
            if isinstance(value, tuple) and all(type(v) is int for v in value):
                value = list(value)  # int[] arguments print as lists
            positional.append(value)
            defaults.append(param.default)
        else:
            positional.append(param.default)
            defaults.append(param.default)
    while positional and defaults and defaults[-1] is not inspect.Parameter.empty and \
            defaults[-1] is not None and _same(positional[-1], defaults[-1]):
        positional.pop()
        defaults.pop()
    while positional and defaults and defaults[-1] is None and positional[-1] is None:
        positional.pop()
        defaults.pop()
    # drop private arguments (_stacklevel) PyTorch's ATen schemas do not have
    keywords = {k: v for k, v in keywords.items() if not k.startswith("_")}
    return positional, keywords


def _same(value, default) -> bool:
    if default is inspect.Parameter.empty:
        return False
    if isinstance(value, (list, tuple)) and isinstance(default, int) and value and \
            all(type(v) is int and v == default for v in value):
        return True  # stride=(1, 1) is the default stride=1
    try:
        return type(value) is type(default) and bool(value == default)
    except (TypeError, ValueError, RuntimeError):
        return False


def to_aten(name: str, fn: Callable, args: tuple, kwargs: dict):
    """(target, args, kwargs) of the ATen call PyTorch's export records for ember's
    ``name(*args, **kwargs)``; target is an OpOverload or ``operator.getitem``."""
    if name == "__getitem__":
        return operator.getitem, tuple(args), {}
    if name == "__setitem__":
        return operator.setitem, tuple(args), {}
    if name in _BINARY:
        return _binary(name, args, kwargs)
    if name == "__rsub__":
        return register_aten_op("rsub", "Scalar"), (args[0], args[1]), {}
    if name in ("pow", "__pow__", "float_power"):
        other = args[1] if len(args) > 1 else kwargs.get("exponent")
        overload = "Tensor_Tensor" if isinstance(other, _TENSOR) else "Tensor_Scalar"
        return register_aten_op("pow", overload), (args[0], other), {}
    if name == "__rpow__":
        return register_aten_op("pow", "Scalar"), (args[1], args[0]), {}
    if name in ("__rmatmul__",):
        return register_aten_op("matmul"), (args[1], args[0]), {}
    if name == "interpolate":
        lowered = _upsample(fn, args, kwargs)
        if lowered is not None:
            return lowered
    if name == "batch_norm":
        bound = inspect.signature(fn).bind(*args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        values = (a["input"], a.get("weight"), a.get("bias"), a.get("running_mean"),
                  a.get("running_var"), a.get("training", False), a.get("momentum", 0.1),
                  a.get("eps", 1e-5), False)
        return register_aten_op("batch_norm"), values, {}
    name = _RENAMED.get(name, name)
    if name == "to":
        rest = args[1:]
        if len(rest) == 1 and isinstance(rest[0], ember.dtype) and not kwargs:
            return register_aten_op("to", "dtype"), (args[0], rest[0]), {}
        return register_aten_op("to"), tuple(args), dict(kwargs)
    original = _unwrapped(fn)
    if inplace_requested(fn, args, kwargs):
        # F.relu(x, inplace=True) is aten.relu_.default(x), as PyTorch records it
        bound = inspect.signature(original).bind(*args, **kwargs)
        positional = [v for k, v in bound.arguments.items() if k != "inplace"]
        return register_aten_op(name + "_"), tuple(positional), {}
    try:
        impl = _SPECIAL_IMPLS.get(name) or _unwrapped(_resolve(name))
    except AttributeError:
        return original, tuple(args), dict(kwargs)  # no ATen name: the function itself
    if impl is not original and name not in _SPECIAL_IMPLS and \
            not _same_convention(impl, original):
        converted = _convert_call(impl, original, args, kwargs)
        if converted is None:
            return original, tuple(args), dict(kwargs)
        args, kwargs = converted
        fn = impl
    positional, keywords = _bound(fn, args, kwargs)
    overload = "default"
    if name in _DIM_OVERLOAD and (len(positional) > 1 or "dim" in keywords):
        dim = positional[1] if len(positional) > 1 else keywords.pop("dim")
        dims = list(dim) if isinstance(dim, (list, tuple)) else [dim]
        positional = [positional[0], dims, *positional[2:]]
        overload = _DIM_OVERLOAD[name]
    elif name in ("max", "min") and len(positional) > 1 and not isinstance(positional[1],
                                                                           _TENSOR):
        overload = "dim"
    elif name in ("max", "min") and len(positional) > 1:
        overload = "other"
    elif name == "flatten":
        overload = "using_ints"
    elif name.startswith("conv_transpose"):
        overload = "input"
    elif name in _INT_OVERLOAD:
        overload = "int"
        positional = positional[:3] if name in ("transpose", "select", "swapaxes") else \
            positional[:2]
    elif name == "split" and len(positional) > 1:
        overload = "Tensor" if isinstance(positional[1], int) else "sizes"
    elif name == "squeeze" and len(positional) > 1:
        overload = "dim" if isinstance(positional[1], int) else "dims"
    elif name == "to" and len(positional) > 1 and isinstance(positional[1], ember.dtype):
        overload = "dtype"
    elif name == "dropout":
        positional = (positional + [0.5, True])[:3]
    elif name in _POOL_INT_LISTS:
        positional = _expand_pool_args(name, positional)
    if name in ("float", "double", "half", "long", "int", "bool"):
        dtypes = {"float": ember.float32, "double": ember.float64, "half": ember.float16,
                  "long": ember.int64, "int": ember.int32, "bool": ember.bool}
        return register_aten_op("to", "dtype"), (positional[0], dtypes[name]), {}
    return register_aten_op(name, overload), tuple(positional), keywords


_ALIASES = {"indices": "input", "train": "training"}
_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}


def _parameters(fn):
    try:
        return list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None


def _same_convention(impl, original) -> bool:
    """Both take the same arguments in the same order (``self`` may be ``input``)."""
    a, b = _parameters(impl), _parameters(original)
    if a is None or b is None or len(a) != len(b):
        return False
    return all(p.kind == q.kind and (i == 0 or p.name == q.name)
               for i, (p, q) in enumerate(zip(a, b)))


def _convert_call(impl, original, args, kwargs):
    """A ``torch.nn.functional`` call as the ATen-ordered ``torch.*`` function takes it
    (``F.embedding(input, weight)`` -> ``embedding(weight, input)``, reduction names to
    their enum values); None when an argument has no place there."""
    original_params, impl_params = _parameters(original), _parameters(impl)
    if original_params is None or impl_params is None:
        return None
    try:
        bound = inspect.signature(original).bind(*args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    values = dict(bound.arguments)
    used, new_args, new_kwargs = set(), [], {}
    for index, param in enumerate(impl_params):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            return None
        if param.name in values:
            key = param.name
        elif _ALIASES.get(param.name) in values:
            key = _ALIASES[param.name]
        elif index == 0 and original_params:
            key = original_params[0].name
        else:
            key = None
        if key is not None:
            value = values[key]
            used.add(key)
        elif param.default is not param.empty:
            value = param.default
        else:
            return None
        if param.name == "reduction" and isinstance(value, str):
            value = _REDUCTIONS[value]
        if param.name in ("cudnn_enable", "cudnn_enabled"):
            value = False  # what torch.nn.functional passes on a CPU build
        if param.kind is param.KEYWORD_ONLY:
            new_kwargs[param.name] = value
        else:
            new_args.append(value)
    for param in original_params:
        if param.name not in used and param.name in values and not (
                values[param.name] is param.default or _same(values[param.name], param.default)):
            return None
    return tuple(new_args), new_kwargs


def _expand_pool_args(name: str, positional: list) -> list:
    """``max_pool2d(x, 2)`` as ATen's ``max_pool2d(x, [2, 2], [2, 2])``: ints widened to
    int[d]; a stride of None is the kernel size (the module passes it so), trailing
    defaults dropped again."""
    dims, indices = _POOL_INT_LISTS[name]
    positional = list(positional)
    if name.startswith(("max_pool", "avg_pool")) and len(positional) > 2 and \
            positional[2] is None:
        positional[2] = positional[1] if name.startswith("max_pool") else []
    for index in indices:
        if index < len(positional) and isinstance(positional[index], int) and \
                not isinstance(positional[index], bool):
            positional[index] = [positional[index]] * dims
        elif index < len(positional) and isinstance(positional[index], tuple):
            positional[index] = list(positional[index])
    defaults = {3: [0] * dims, 4: [1] * dims} if name.startswith("max_pool") else \
        {2: [], 3: [0] * dims, 4: False, 5: True, 6: None}
    if name.startswith("max_pool"):
        defaults[5] = False
    while len(positional) > 2 and defaults.get(len(positional) - 1, object()) == \
            positional[-1]:
        positional.pop()
    return positional


def _upsample(fn, args, kwargs):
    """``F.interpolate`` as PyTorch's export records it: ``upsample_<mode><d>d.vec``."""
    try:
        bound = inspect.signature(_unwrapped(fn)).bind(*args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    values = bound.arguments
    x, size, scale = values.get("input"), values.get("size"), values.get("scale_factor")
    mode = values.get("mode", "nearest")
    if not isinstance(x, _TENSOR) or values.get("antialias") or \
            values.get("recompute_scale_factor"):
        return None
    dims = x.dim() - 2
    op_name = _UPSAMPLE.get((mode, dims))
    if op_name is None:
        return None
    if size is not None:
        size = [int(v) for v in size] if isinstance(size, (list, tuple)) else [int(size)] * dims
    if scale is not None:
        scale = [float(v) for v in scale] if isinstance(scale, (list, tuple)) else \
            [float(scale)] * dims
    op = _register_upsample(op_name, mode)
    if mode == "nearest":
        return op, (x, size, scale), {}
    return op, (x, size, bool(values.get("align_corners") or False), scale), {}


def _register_upsample(op_name: str, mode: str):
    packets = _ops._namespace("aten").__dict__["_packets"]
    if op_name in packets and "vec" in packets[op_name]._overloads:
        return packets[op_name]._overloads["vec"]

    if mode == "nearest":
        def impl(x, output_size, scale_factors):
            return F.interpolate(x, size=output_size, scale_factor=scale_factors, mode=mode)
    else:
        def impl(x, output_size, align_corners, scale_factors):
            return F.interpolate(x, size=output_size, scale_factor=scale_factors, mode=mode,
                                 align_corners=align_corners)
    return _ops._register("aten", op_name, "vec", impl)


def _binary(name, args, kwargs):
    base = _BINARY[name]
    a = args[0]
    b = args[1] if len(args) > 1 else kwargs.get("other")
    keywords = {}
    if kwargs.get("alpha", 1) != 1:
        keywords["alpha"] = kwargs["alpha"]
    if kwargs.get("rounding_mode") is not None:
        keywords["rounding_mode"] = kwargs["rounding_mode"]
        return register_aten_op(base, "Tensor_mode"), (a, b), keywords
    if base.rstrip("_") in _SCALAR_OVERLOAD:
        overload = "Tensor" if isinstance(b, _TENSOR) else "Scalar"
    else:
        overload = "Tensor"
    return register_aten_op(base, overload), (a, b), keywords


_END = 9223372036854775807  # PyTorch's "to the end" for aten.slice


def lower_getitem(ndim: int, index):
    """``x[index]`` as PyTorch's export records it: a chain of ``(op, args)`` steps
    (``slice.Tensor``, ``select.int``, ``unsqueeze``) applied to the previous result,
    or None for indices it keeps as one op (tensors, booleans)."""
    items = index if isinstance(index, tuple) else (index,)
    if not all(i is None or i is Ellipsis or isinstance(i, slice) or
               (isinstance(i, int) and not isinstance(i, bool)) for i in items):
        return None
    if sum(i is Ellipsis for i in items) > 1:
        return None
    consumed = sum(1 for i in items if i is not None and i is not Ellipsis)
    steps, dim = [], 0
    for item in items:
        if item is Ellipsis:
            dim += ndim - consumed
        elif item is None:
            steps.append((register_aten_op("unsqueeze"), (dim,), "unsqueeze"))
            dim += 1
        elif isinstance(item, int):
            steps.append((register_aten_op("select", "int"), (dim, item), "select"))
        else:
            if item == slice(None):
                dim += 1
                continue
            start = 0 if item.start is None else item.start
            end = _END if item.stop is None else item.stop
            args = (dim, start, end) if item.step in (None, 1) else (dim, start, end, item.step)
            steps.append((register_aten_op("slice", "Tensor"), args, "slice"))
            dim += 1
    return steps


def inplace_requested(fn, args, kwargs) -> bool:
    """True for a call passing ``inplace=True`` (``F.relu(x, inplace=True)``)."""
    if kwargs.get("inplace") is True:
        return True
    params = _parameters(_unwrapped(fn))
    if not params:
        return False
    names = [p.name for p in params]
    if "inplace" not in names:
        return False
    index = names.index("inplace")
    return len(args) > index and args[index] is True


def is_factory(name: str) -> bool:
    return name in _FACTORIES
