"""nn.init: parameter initialisation, same distributions and fan rules as PyTorch's.

Every initialiser writes in place under no_grad (so it works on parameters that require
grad) and draws from ember's RNG, honouring ``generator=``. The scale rules (Glorot, He)
reduce to "a std from the tensor's fans", computed once in ``_glorot_std`` / ``_he_std``;
the draw itself is always ``uniform_`` or ``normal_`` so the seeded stream matches torch's.
"""

from __future__ import annotations

import math
import warnings

from .._ops import _special
from .._ops._util import xp_of
from ..autograd.grad_mode import no_grad

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
    "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
    "kaiming_normal_", "orthogonal_", "sparse_", "uniform", "normal", "constant",
    "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal",
    "sparse", "eye", "dirac",
]

# Gains that need no parameter; the linear layers (and sigmoid) keep the variance as is.
_FIXED_GAINS = dict.fromkeys(
    ("linear", "sigmoid", "conv1d", "conv2d", "conv3d",
     "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"), 1)
_FIXED_GAINS.update(tanh=5.0 / 3, relu=math.sqrt(2.0), selu=3.0 / 4)

# U(-b, b) has std b / sqrt(3): the uniform variants scale their std by this to get b.
_UNIFORM_BOUND_PER_STD = math.sqrt(3.0)


def _write(tensor, array):
    """Store ``array`` into the tensor's memory (views of it see the change)."""
    tensor._data[...] = array
    tensor._vc[0] += 1
    return tensor


def _leaky_relu_gain(slope):
    """sqrt(2 / (1 + slope^2)); the slope must be a real number but not a bool."""
    if slope is None:
        slope = 0.01
    elif isinstance(slope, bool) or not isinstance(slope, (int, float)):
        raise ValueError(f"negative_slope {slope} not a valid number")
    return math.sqrt(2.0 / (1 + slope * slope))


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps activations' variance steady through ``nonlinearity``."""
    if nonlinearity == "leaky_relu":
        return _leaky_relu_gain(param)
    try:
        return _FIXED_GAINS[nonlinearity]
    except (KeyError, TypeError):
        raise ValueError(f"Unsupported nonlinearity {nonlinearity}") from None


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U(a, b)."""
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std^2)."""
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def _std_normal_cdf(z):
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """N(mean, std^2) truncated to [a, b]: one uniform draw between the CDF values of the
    ends (as torch draws, so seeded values agree), mapped back through erfinv."""
    if not (a - 2 * std <= mean <= b + 2 * std):
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The "
                      "distribution of values may be incorrect.", stacklevel=2)
    # draws live in erf's range [-1, 1], i.e. 2 * cdf - 1
    lo, hi = (2 * _std_normal_cdf((end - mean) / std) - 1 for end in (a, b))
    with no_grad():
        tensor.uniform_(lo, hi, generator=generator)
        xp = xp_of(tensor._data)
        z = _special.erfinv(xp, tensor._data)
        return _write(tensor, xp.clip(mean + z * (std * math.sqrt(2.0)), a, b))


def constant_(tensor, val):
    """Fill with ``val``."""
    with no_grad():
        return _write(tensor, val)


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def _require_2d(tensor):
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")


def eye_(tensor):
    """The identity matrix (2-D tensors)."""
    _require_2d(tensor)
    with no_grad():
        return _write(tensor, xp_of(tensor._data).eye(*tensor.shape, dtype=tensor._data.dtype))


def dirac_(tensor, groups=1):
    """Identity convolution kernels: each output channel passes one input channel through
    the kernel centre."""
    if tensor.dim() not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    n_out, n_in, *window = tensor.shape
    if n_out % groups:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = n_out // groups
    xp = xp_of(tensor._data)
    through = xp.arange(min(per_group, n_in))        # channels passed through per group
    out_idx = (xp.arange(groups)[:, None] * per_group + through).ravel()
    in_idx = xp.tile(through, groups)
    kernel = xp.zeros(tensor.shape, dtype=tensor._data.dtype)
    kernel[(out_idx, in_idx, *(w // 2 for w in window))] = 1
    with no_grad():
        return _write(tensor, kernel)


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out): input / output channels times the kernel window's size.
    The name is torch's; layers and user code call it for bias bounds."""
    if tensor.dim() < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    window = math.prod(tensor.shape[2:])
    return tensor.shape[1] * window, tensor.shape[0] * window


def _glorot_std(tensor, gain):
    fans = _calculate_fan_in_and_fan_out(tensor)
    return gain * math.sqrt(2.0 / float(sum(fans)))


def _he_std(tensor, a, mode, nonlinearity):
    mode = mode.lower()
    modes = ["fan_in", "fan_out"]
    if mode not in modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {modes}")
    fan = _calculate_fan_in_and_fan_out(tensor)[modes.index(mode)]
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot)."""
    bound = _UNIFORM_BOUND_PER_STD * _glorot_std(tensor, gain)
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)) (Glorot)."""
    return normal_(tensor, 0.0, _glorot_std(tensor, gain), generator)


def _skip_empty(tensor):
    """He init of a zero-element tensor warns and does nothing (torch does the same)."""
    if 0 not in tensor.shape:
        return False
    warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
    return True


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(-bound, bound) with bound = gain * sqrt(3 / fan) (He)."""
    if _skip_empty(tensor):
        return tensor
    bound = _UNIFORM_BOUND_PER_STD * _he_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std^2) with std = gain / sqrt(fan) (He)."""
    if _skip_empty(tensor):
        return tensor
    return normal_(tensor, 0, _he_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor, gain=1, generator=None):
    """A (semi-)orthogonal matrix from the QR of a Gaussian one, signs fixed by diag(R).
    QR runs on the tall orientation, so a wide matrix is factored transposed."""
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    from .._ops.creation import empty

    rows = tensor.shape[0]
    gaussian = empty(rows, tensor.numel() // rows, dtype=tensor.dtype, device=tensor.device)
    gaussian.normal_(0, 1, generator=generator)
    wide = gaussian.shape[0] < gaussian.shape[1]
    xp = xp_of(gaussian._data)
    q, r = xp.linalg.qr(gaussian._data.T if wide else gaussian._data)
    q = q * xp.sign(xp.diagonal(r))
    with no_grad():
        return _write(tensor, ((q.T if wide else q) * gain).reshape(tensor.shape))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """N(0, std^2) with ``ceil(sparsity * rows)`` zeros at random rows of each column; the
    rows are chosen by sorting a second uniform draw, after the normal one."""
    _require_2d(tensor)
    from .._ops.random import rand

    rows, cols = tensor.shape
    zeros_per_col = math.ceil(sparsity * rows)
    with no_grad():
        normal_(tensor, 0, std, generator)
        xp = xp_of(tensor._data)
        keys = rand(rows, cols, generator=generator, device=tensor.device)._data
        picked = xp.argsort(keys, axis=0)[:zeros_per_col]
        values = tensor._data.copy()
        values[picked, xp.arange(cols)] = 0
        return _write(tensor, values)


def _deprecated_alias(fn):
    """The pre-underscore name (``uniform`` for ``uniform_``): warns, then calls ``fn``."""
    old = fn.__name__.rstrip("_")

    def alias(*args, **kwargs):
        warnings.warn(f"`nn.init.{old}` is now deprecated in favor of "
                      f"`nn.init.{fn.__name__}`.", FutureWarning, stacklevel=2)
        return fn(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old
    return alias


(uniform, normal, constant, xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal,
 orthogonal, sparse, eye, dirac) = map(_deprecated_alias, (
    uniform_, normal_, constant_, xavier_uniform_, xavier_normal_, kaiming_uniform_,
    kaiming_normal_, orthogonal_, sparse_, eye_, dirac_))
