"""Top-level spellings PyTorch also exposes: nn.functional ops (``torch.conv2d``,
``torch.layer_norm``, ``torch.kl_div``, the recurrent cells, ...) with torch's top-level
argument orders (losses take ``reduction`` as an int code), Tensor methods as functions
(``torch.abs_(x)``, ``torch.detach(x)``), comparison aliases (``torch.greater``) and a
few small constructors and predicates (``torch.range``, ``torch.scalar_tensor``,
``torch.fill``). Each forwards to the one implementation in ``_ops`` or ``nn``."""

from __future__ import annotations

import builtins as _builtins

from ._backend import get_default_dtype as _get_default_dtype
from ._backend.dtypes import bool_ as _bool
from ._backend.dtypes import float64 as _float64
from ._ops import compare as _compare
from ._ops import conv as _conv
from ._ops import creation as _creation
from ._ops import loss as _loss
from ._ops import norm as _norm
from ._ops import pool as _pool
from ._ops import resample as _resample
from ._ops import rnn as _rnn
from ._ops import where_clamp as _where
from ._ops._util import _make
from ._ops._util import xp_of as _xp_of
from ._tensor import Tensor as _Tensor

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "alpha_dropout",
    "alpha_dropout_",
    "avg_pool1d",
    "batch_norm",
    "bilinear",
    "binary_cross_entropy_with_logits",
    "channel_shuffle",
    "constant_pad_nd",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "convolution",
    "cosine_embedding_loss",
    "cosine_similarity",
    "ctc_loss",
    "dropout",
    "dropout_",
    "embedding",
    "embedding_bag",
    "feature_alpha_dropout",
    "feature_alpha_dropout_",
    "feature_dropout",
    "feature_dropout_",
    "fill",
    "greater",
    "greater_equal",
    "group_norm",
    "gru_cell",
    "hinge_embedding_loss",
    "instance_norm",
    "is_inference",
    "is_same_size",
    "kl_div",
    "layer_norm",
    "less",
    "less_equal",
    "lstm_cell",
    "margin_ranking_loss",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "not_equal",
    "pairwise_distance",
    "pdist",
    "pixel_shuffle",
    "pixel_unshuffle",
    "poisson_nll_loss",
    "range",
    "rms_norm",
    "rnn_relu_cell",
    "rnn_tanh_cell",
    "scalar_tensor",
    "triplet_margin_loss",
]

conv1d, conv2d, conv3d = _conv.conv1d, _conv.conv2d, _conv.conv3d
conv_transpose1d = _conv.conv_transpose1d
conv_transpose2d = _conv.conv_transpose2d
conv_transpose3d = _conv.conv_transpose3d
avg_pool1d = _pool.avg_pool1d
adaptive_avg_pool1d = _pool.adaptive_avg_pool1d
pixel_shuffle, pixel_unshuffle = _resample.pixel_shuffle, _resample.pixel_unshuffle
channel_shuffle = _resample.channel_shuffle


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _pool.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _pool.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _pool.max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode)


def adaptive_max_pool1d(input, output_size):
    """torch.adaptive_max_pool1d returns (values, indices), like return_indices=True."""
    return _pool.adaptive_max_pool1d(input, output_size, return_indices=True)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):
    return _norm.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    return _norm.group_norm(input, num_groups, weight, bias, eps)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
               cudnn_enabled=True):
    return _norm.batch_norm(input, running_mean, running_var, weight, bias, training,
                            momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum,
                  eps, cudnn_enabled=True):
    return _norm.instance_norm(input, running_mean, running_var, weight, bias,
                               use_input_stats, momentum, eps)


def _check_p(p):
    """torch's top-level dropouts raise RuntimeError (F.dropout's ValueError is Python's)."""
    if not 0 <= p <= 1:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input, p, train):
    from .nn._functional import dropout as _dropout

    _check_p(p)
    return _dropout(input, p, training=train)


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    from .nn._functional import embedding as _embedding

    return _embedding(indices, weight, None if padding_idx == -1 else padding_idx,
                      scale_grad_by_freq=scale_grad_by_freq)


# -- torch-level spellings of Tensor methods ---------------------------------------------------
# ``torch.abs_(x)`` is ``x.abs_()``: one generated forwarder per name, so the Tensor method
# stays the single implementation.

_METHOD_ALIASES = [
    "abs_", "acos_", "acosh_", "asin_", "asinh_", "atan_", "atanh_", "arccos_", "arccosh_",
    "arcsin_", "arcsinh_", "arctan_", "arctanh_", "ceil_", "floor_", "round_", "trunc_", "fix_",
    "frac_", "clamp_", "clamp_min_", "clamp_max_", "clip_", "cos_", "cosh_", "sin_", "sinh_",
    "tan_", "tanh_", "exp_", "exp2_", "expm1_", "erf_", "erfc_", "log_", "log10_", "log1p_",
    "log2_", "neg_", "negative_", "reciprocal_", "rsqrt_", "sigmoid_", "sinc_", "sqrt_",
    "square_", "deg2rad_", "rad2deg_", "logit_", "nan_to_num_", "xlogy_", "zero_", "fill_",
    "detach", "detach_", "index_put_", "get_device", "is_signed",
]


def _method_alias(name):
    def alias(input, *args, **kwargs):
        if not isinstance(input, _Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                            f"{type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = name
    alias.__doc__ = f"``torch.{name}(input, ...)``: the same as ``input.{name}(...)``."
    return alias


for _name in _METHOD_ALIASES:
    globals()[_name] = _method_alias(_name)
__all__.extend(_METHOD_ALIASES)


def greater(input, other):
    return _compare.gt(input, other)


def greater_equal(input, other):
    return _compare.ge(input, other)


def less(input, other):
    return _compare.lt(input, other)


def less_equal(input, other):
    return _compare.le(input, other)


def not_equal(input, other):
    return _compare.ne(input, other)


def fill(input, value):
    """A tensor like ``input`` holding ``value`` (a number or a 0-d tensor). The gradient
    of ``input`` is zero and a tensor ``value`` receives the sum of the upstream gradient,
    as PyTorch's FillBackward."""
    if isinstance(value, _Tensor):
        if value.dim() != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value.dim()} dimensions.")
        value = value.to(input.dtype)
        if not (input.requires_grad or value.requires_grad):
            return value.expand(input.shape).clone()
    elif not input.requires_grad:
        return _creation.full_like(input, value)
    else:
        value = _creation.full_like(input, value)
    mask = _creation.ones_like(input, dtype=_bool)
    return _where.where(mask, value, input)


def is_same_size(input, other) -> bool:
    return tuple(input.shape) == tuple(other.shape)


def is_inference(input) -> bool:
    """False: ember's ``inference_mode`` disables recording like ``no_grad`` but makes no
    inference tensors, so no tensor is one."""
    if not isinstance(input, _Tensor):
        raise TypeError(f"is_inference(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return False


def scalar_tensor(s, *, dtype=None, layout=None, device=None, pin_memory=False,
                  requires_grad=False):
    """A 0-d tensor of ``s``, in the default float dtype unless ``dtype`` says otherwise
    (``scalar_tensor(3)`` is ``tensor(3.)``)."""
    if isinstance(s, complex) and dtype is None:
        raise RuntimeError("value cannot be converted to type float without overflow")
    dtype = dtype if dtype is not None else _get_default_dtype()
    return _creation.tensor(s, dtype=dtype, device=device, requires_grad=requires_grad)


def range(start, end, step=1, *, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False):
    """Deprecated ``torch.range``: ``start`` to ``end`` *inclusive* by ``step``, in the
    default float dtype unless ``dtype`` is given; warns as PyTorch does."""
    import math
    import warnings

    warnings.warn(
        "torch.range is deprecated and will be removed in a future release because its "
        "behavior is inconsistent with Python's range builtin. Instead, use torch.arange, "
        "which produces values in [start, end).", UserWarning, stacklevel=2)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    count = math.floor((end - start) / step) + 1
    dtype = dtype if dtype is not None else _get_default_dtype()
    values = _creation.arange(count, dtype=_float64, device=device) * step + start
    result = values.to(dtype)
    if requires_grad:
        result.requires_grad_(True)
    if out is not None:
        out.resize_(result.shape)
        return out.copy_(result)
    return result




# -- the dropout family at the top level: (input, p, train) ------------------------------------


def _check_features(input, p, train):
    _check_p(p)
    if train and 0 < p and input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")


def dropout_(input, p, train):
    from .nn._functional import dropout as _dropout

    _check_p(p)
    return _dropout(input, p, training=train, inplace=True)


def alpha_dropout(input, p, train):
    from .nn._functional import alpha_dropout as _alpha_dropout

    _check_p(p)
    return _alpha_dropout(input, p, training=train)


def alpha_dropout_(input, p, train):
    from .nn._functional import alpha_dropout as _alpha_dropout

    _check_p(p)
    return _alpha_dropout(input, p, training=train, inplace=True)


def feature_alpha_dropout(input, p, train):
    from .nn._functional import feature_alpha_dropout as _feature_alpha_dropout

    _check_features(input, p, train)
    return _feature_alpha_dropout(input, p, training=train)


def feature_alpha_dropout_(input, p, train):
    from .nn._functional import feature_alpha_dropout as _feature_alpha_dropout

    _check_features(input, p, train)
    return _feature_alpha_dropout(input, p, training=train, inplace=True)


def feature_dropout(input, p, train):
    """Whole channels (dim 1) zeroed with probability ``p``, the rest scaled by 1/(1-p)."""
    from .nn._functional import _dropout_impl

    _check_features(input, p, train)
    return _dropout_impl(input, p, train, False, feature=True, alpha=False)


def feature_dropout_(input, p, train):
    from .nn._functional import _dropout_impl

    _check_features(input, p, train)
    return _dropout_impl(input, p, train, True, feature=True, alpha=False)




# -- nn.functional ops at the top level, with torch's positional orders -------------------------
# torch's top-level losses take ``reduction`` as an int: 0 none, 1 mean, 2 sum. Called
# from Python without it they reduce nothing (the binding's default), so 0 is ours too.

_REDUCTIONS = ("none", "mean", "sum")


def _reduction(value):
    if isinstance(value, str):
        return value
    return _REDUCTIONS[value] if value in (1, 2) else "none"  # torch: any other int is none


def bilinear(input1, input2, weight, bias=None):
    from .nn._functional import bilinear as _bilinear

    return _bilinear(input1, input2, weight, bias)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):
    return _loss.binary_cross_entropy_with_logits(input, target, weight,
                                                  reduction=_reduction(reduction),
                                                  pos_weight=pos_weight)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    from .nn._functional import cosine_similarity as _cosine_similarity

    return _cosine_similarity(x1, x2, dim, eps)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    from .nn._functional import pairwise_distance as _pairwise_distance

    return _pairwise_distance(x1, x2, p, eps, keepdim)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=0):
    return _loss.cosine_embedding_loss(input1, input2, target, margin,
                                       reduction=_reduction(reduction))


def hinge_embedding_loss(input, target, margin=1.0, reduction=0):
    return _loss.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=0):
    return _loss.margin_ranking_loss(input1, input2, target, margin,
                                     reduction=_reduction(reduction))


def kl_div(input, target, reduction=0, *, log_target=False):
    """torch.kl_div: the pointwise KL term reduced by an int code; unlike F.kl_div it does
    not warn about 'mean'."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _loss.kl_div(input, target, reduction=_reduction(reduction),
                            log_target=log_target)


def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    return _loss.poisson_nll_loss(input, target, log_input, full, eps=eps,
                                  reduction=_reduction(reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False,
                        reduction=0):
    return _loss.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                     reduction=_reduction(reduction))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0,
             zero_infinity=False):
    from ._ops._ctc import ctc_loss as _ctc_loss

    return _ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                     _reduction(reduction), zero_infinity)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    return _norm.rms_norm(input, normalized_shape, weight, eps)


def constant_pad_nd(input, pad, value=0):
    if len(pad) % 2:
        raise RuntimeError(f"Length of pad must be even but instead it equals {len(pad)}")
    return _resample.pad(input, pad, "constant", value)


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
                groups):
    """The generic convolution entry point: the weight's rank picks 1-, 2- or 3-d."""
    nd = weight.dim() - 2
    if input.dim() != weight.dim():
        raise RuntimeError(
            f"Expected {weight.dim()}-dimensional input for {weight.dim()}-dimensional weight "
            f"{list(weight.shape)}, but got {input.dim()}-dimensional input of size "
            f"{list(input.shape)} instead")
    if nd not in (1, 2, 3):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to conv2d, but got "
                           f"input of size: {list(input.shape)}")
    if transposed:
        fn = (_conv.conv_transpose1d, _conv.conv_transpose2d, _conv.conv_transpose3d)[nd - 1]
        return fn(input, weight, bias, stride, padding, output_padding, groups, dilation)
    fn = (_conv.conv1d, _conv.conv2d, _conv.conv3d)[nd - 1]
    return fn(input, weight, bias, stride, padding, dilation, groups)


_EMBEDDING_BAG_MODES = ("sum", "mean", "max")


def embedding_bag(weight, indices, offsets, scale_grad_by_freq=False, mode=0, sparse=False,
                  per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """torch.embedding_bag: ``(output, offset2bag, bag_size, max_indices)`` as PyTorch's
    kernel returns them (offset2bag empty and bag_size zero in sum mode; max_indices the
    bag sizes outside max mode)."""
    from .nn._functional import embedding_bag as _embedding_bag

    if padding_idx is not None and padding_idx < 0:
        padding_idx = None
    name = _EMBEDDING_BAG_MODES[mode]
    output = _embedding_bag(indices, weight, offsets, None, 2, scale_grad_by_freq, name,
                            sparse, per_sample_weights, include_last_offset, padding_idx)
    xp = _xp_of(indices._data)
    ids = indices._data.reshape(-1)
    bags = output.shape[0]
    if offsets is None:
        starts = xp.arange(0, ids.size, max(indices.shape[-1], 1))
    else:
        starts = offsets._data[:bags]
    counts = xp.diff(xp.append(starts, ids.size)) if bags else xp.zeros(0, "int64")
    bag_of = xp.repeat(xp.arange(bags), counts).astype("int64")
    if padding_idx is not None:
        counts = counts - xp.bincount(bag_of[ids == padding_idx], minlength=bags)
    counts = counts.astype("int64")
    on_cpu = indices.device.type == "cpu"
    if not on_cpu:
        # the CUDA kernel's layout: offset2bag for every index, bag_size (offsets' length:
        # with include_last_offset its last entry is never written; here 0) in every mode,
        # max_indices empty outside max mode and -1 for an empty bag
        if offsets is not None and offsets.shape[0] > bags:
            counts = xp.concatenate([counts, xp.zeros(offsets.shape[0] - bags, "int64")])
        if name != "max":
            return output, _make(bag_of), _make(counts), _make(xp.zeros(0, "int64"))
    if name == "sum":
        empty = _make(xp.zeros(0, "int64"))
        return output, empty, _make(xp.zeros(bags, "int64")), _make(xp.zeros(bags, "int64"))
    if name == "mean":
        return output, _make(bag_of), _make(counts), _make(counts.copy())
    rows = weight._data[ids]
    best = xp.full((bags, weight.shape[1]), 0 if on_cpu else -1, "int64")
    for bag in _builtins.range(bags):  # max mode only: per bag, which row won each column
        members = xp.nonzero(bag_of == bag)[0]
        if members.size:
            best[bag] = ids[members[xp.argmax(rows[members], axis=0)]]
    return output, _make(bag_of), _make(counts), _make(best)


def pdist(input, p=2):
    """Distances between every pair of rows ``i < j`` of a (N, M) input, in row-major
    order of the pairs: N*(N-1)/2 values."""
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    rows = input.shape[0]
    from .linalg import vector_norm

    pairs = _creation.triu_indices(rows, rows, 1, device=input.device)
    diff = input[pairs[0]] - input[pairs[1]]
    if p != float("inf"):
        return vector_norm(diff, p, -1)
    # torch's inf-norm gradient goes in full to every tied maximum (amax splits it): the
    # value from amax, the gradient from the tied entries' own |diff|
    size = diff.abs()
    largest = size.amax(-1, keepdim=True).detach()
    tied = (size.detach() == largest).to(size.dtype)
    return largest.squeeze(-1) + ((size - size.detach()) * tied).sum(-1)




# -- the recurrent cells at the top level ------------------------------------------------------


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step; ``hx`` is ``(h, c)``; returns ``(h', c')``."""
    if len(hx) != 2:
        raise RuntimeError("lstm_cell expects two hidden states")
    return _rnn.lstm_cell(input, hx[0], hx[1], w_ih, w_hh, b_ih, b_hh)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return _rnn.gru_cell(input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return _rnn.rnn_cell(input, hx, w_ih, w_hh, b_ih, b_hh, "tanh")


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return _rnn.rnn_cell(input, hx, w_ih, w_hh, b_ih, b_hh, "relu")


