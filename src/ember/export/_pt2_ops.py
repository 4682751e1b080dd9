"""The ember operators behind the ATen targets of a loaded ``.pt2`` graph.

Most ``torch.ops.aten.<op>.<overload>`` targets are the ``ember.ops.aten`` operators
ember's own export registers (``_aten``), which take ATen's argument order. The ones
PyTorch's export records and ember's export never does (``max_pool2d_with_indices``,
``lift_fresh_copy``, ``_assert_tensor_metadata``, the core-IR ``convolution`` and
``_native_batch_norm_legit_functional`` of decomposed programs, ...) are defined here,
each as a composition of ember functions. Loss ops are the one place both conventions
meet under one name (ATen's int ``reduction`` from torch, ``F.<loss>``'s arguments from
ember's export): their operator takes either.
"""

from __future__ import annotations

from .. import ops as _ops
from ._aten import register_aten_op


def aten_op(name: str, overload: str):
    """``ember.ops.aten.<name>.<overload>``, or None when ember has no such operator."""
    if name in _LOSSES and overload == "default":
        return _loss_op(name)
    packets = _ops._namespace("aten").__dict__["_packets"]
    packet = packets.get(name)
    if packet is not None and overload in packet._overloads:
        return packet._overloads[overload]
    impl = _IMPLS.get(f"{name}.{overload}") or _IMPLS.get(name)
    if impl is not None:
        return _ops._register("aten", name, overload, impl)
    try:
        return register_aten_op(name, overload)
    except AttributeError:
        return None


_IMPLS: dict = {}

# ATen's loss ops: the arguments after (self, target), reduction as an int. ember's own
# export records ``F.<loss>`` under the same name with the functional's argument list
# (``size_average``, ``reduce``, ``reduction='mean'``), so one operator serves both forms.
_LOSSES = {
    "mse_loss": ("mse_loss", ("reduction",)),
    "l1_loss": ("l1_loss", ("reduction",)),
    "smooth_l1_loss": ("smooth_l1_loss", ("reduction", "beta")),
    "huber_loss": ("huber_loss", ("reduction", "delta")),
    "binary_cross_entropy": ("binary_cross_entropy", ("weight", "reduction")),
    "binary_cross_entropy_with_logits": ("binary_cross_entropy_with_logits",
                                         ("weight", "pos_weight", "reduction")),
    "nll_loss_nd": ("nll_loss", ("weight", "reduction", "ignore_index")),
    "nll_loss": ("nll_loss", ("weight", "reduction", "ignore_index")),
    "kl_div": ("kl_div", ("reduction",)),
    "cross_entropy_loss": ("cross_entropy", ("weight", "reduction", "ignore_index",
                                             "label_smoothing")),
}
_REDUCTION_NAMES = ("none", "mean", "sum")


def _aten_loss_arguments(rest: tuple, kwargs: dict, names: tuple) -> dict | None:
    """A loss call's arguments after (self, target) by name when it has ATen's form (an
    int ``reduction``), else None (``F.<loss>``'s form)."""
    if len(rest) > len(names) or set(kwargs) - set(names) - {"log_target"}:
        return None
    bound = dict(zip(names, rest), **kwargs)
    return bound if type(bound.get("reduction", 1)) is int else None


def _loss_op(name: str):
    import ember.nn.functional as F

    function_name, names = _LOSSES[name]
    function = getattr(F, function_name)
    packets = _ops._namespace("aten").__dict__["_packets"]
    packet = packets.get(name)
    existing = packet._overloads.get("default") if packet is not None else None
    if existing is not None and getattr(existing._call, "_aten_loss", False):
        return existing
    ember_form = existing._call if existing is not None else function

    def impl(x, target, *rest, **kwargs):
        bound = _aten_loss_arguments(rest, kwargs, names)
        if bound is None:
            return ember_form(x, target, *rest, **kwargs)
        bound["reduction"] = _REDUCTION_NAMES[bound.get("reduction", 1)]
        return function(x, target, **bound)

    impl._aten_loss = True
    return _ops._register("aten", name, "default", impl)


def _assert_tensor_metadata(a, size=None, stride=None, dtype=None, *, device=None,
                            layout=None):
    """PyTorch's export checks ``.to()``'s input here; the same check, ember's message."""
    if dtype is not None and a.dtype != dtype:
        raise RuntimeError(f"Tensor dtype mismatch! Expected: {dtype}, Got: {a.dtype}")
    if size is not None and tuple(a.shape) != tuple(size):
        raise RuntimeError(f"Tensor sizes mismatch! Expected: {list(size)}, "
                           f"Got: {list(a.shape)}")


def _max_pool_with_indices(function):
    def impl(x, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
        return tuple(function(x, kernel_size, stride or None, padding, dilation,
                              ceil_mode=ceil_mode, return_indices=True))
    return impl


def _convolution(x, weight, bias, stride, padding, dilation, transposed, output_padding,
                 groups):
    """``aten.convolution``: the core-IR conv every ``conv<d>d`` lowers to."""
    import ember.nn.functional as F

    dims = weight.dim() - 2
    if transposed:
        function = getattr(F, f"conv_transpose{dims}d")
        return function(x, weight, bias, stride, padding, output_padding, groups, dilation)
    return getattr(F, f"conv{dims}d")(x, weight, bias, stride, padding, dilation, groups)


def _batch_norm_stats(x, eps):
    """(mean, 1/sqrt(biased var + eps)) over every dim but the channels, as ATen saves."""
    dims = [0, *range(2, x.dim())]
    mean = x.mean(dims)
    var = x.var(dims, correction=0)
    return mean, (var + eps).rsqrt()


def _native_batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps):
    """``native_batch_norm`` / ``_native_batch_norm_legit``: the output plus the saved
    statistics; running stats are updated in place when training."""
    import ember.nn.functional as F

    out = F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
    if not training:
        empty = x.new_zeros((0,))
        return out, empty, empty
    mean, rstd = _batch_norm_stats(x, eps)
    return out, mean, rstd


def _native_batch_norm_functional(x, weight, bias, running_mean, running_var, training,
                                  momentum, eps):
    """``_native_batch_norm_legit_functional``: as above, the updated running stats
    returned as new tensors (the program writes them back as buffer mutations)."""
    new_mean, new_var = running_mean.clone(), running_var.clone()
    out, mean, rstd = _native_batch_norm(x, weight, bias, new_mean, new_var, training,
                                         momentum, eps)
    return out, mean, rstd, new_mean, new_var


def _native_layer_norm(x, normalized_shape, weight, bias, eps):
    import ember.nn.functional as F

    dims = list(range(x.dim() - len(normalized_shape), x.dim()))
    mean = x.mean(dims, keepdim=True)
    rstd = (x.var(dims, correction=0, keepdim=True) + eps).rsqrt()
    return F.layer_norm(x, normalized_shape, weight, bias, eps), mean, rstd


def _native_dropout(x, p, train):
    import ember

    if not train or p == 0:
        return x.clone(), ember.ones_like(x, dtype=ember.bool)
    mask = ember.rand_like(x) >= p
    return x * mask / (1 - p), mask


def _index(x, indices):
    """``aten.index.Tensor``: advanced indexing, None standing for a full slice."""
    return x[tuple(slice(None) if i is None else i for i in indices)]


def _register_impls() -> None:
    import ember
    import ember.nn.functional as F

    _IMPLS.update({
        "lift_fresh_copy": lambda x: x.clone(),
        "lift_fresh": lambda x: x,
        "detach_": lambda x: x.detach_(),
        "_assert_tensor_metadata": _assert_tensor_metadata,
        "max_pool1d_with_indices": _max_pool_with_indices(F.max_pool1d),
        "max_pool2d_with_indices": _max_pool_with_indices(F.max_pool2d),
        "max_pool3d_with_indices": _max_pool_with_indices(F.max_pool3d),
        "_assert_scalar": lambda condition, message: None,
        "convolution": _convolution,
        "index.Tensor": _index,
        "native_batch_norm": _native_batch_norm,
        "_native_batch_norm_legit": _native_batch_norm,
        "_native_batch_norm_legit_functional": _native_batch_norm_functional,
        "_native_batch_norm_legit_no_training": lambda x, weight, bias, running_mean,
        running_var, momentum, eps: _native_batch_norm(x, weight, bias, running_mean,
                                                       running_var, False, momentum, eps),
        "native_layer_norm": _native_layer_norm,
        "native_dropout": _native_dropout,
        "_softmax": lambda x, dim, half_to_float: ember.softmax(x, dim),
        "_log_softmax": lambda x, dim, half_to_float: ember.log_softmax(x, dim),
        "sym_constrain_range_for_size": lambda size, *, min=None, max=None: None,
        "empty.memory_format": lambda size, *, dtype=None, layout=None, device=None,
        pin_memory=None, memory_format=None: ember.empty(size, dtype=dtype, device=device),
    })


_register_impls()
