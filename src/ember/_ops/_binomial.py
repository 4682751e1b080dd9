"""``binomial(count, prob)``: binomial draws, with PyTorch's argument checks and its rules
for counts and probabilities outside the usual ranges.

Draws come from the ember generator (NumPy's PCG64 stream, not PyTorch's), on the host,
and move to the input's device as the other samplers' do. PyTorch defines no derivative:
a result that needs grad has a ``NotImplemented`` node whose backward raises.
"""

from __future__ import annotations

import numpy as np

from ._util import Tensor, _make, type_name
from .creation import _on_device
from .random import Generator, _host, _rng, _ZeroGradSample
from .random_meta import is_meta, no_meta_kernel


class Binomial(_ZeroGradSample):
    _node_name = "torch::autograd::NotImplemented"

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::binomial is not implemented")


def _broadcast_shapes(a, b):
    """Broadcast shape, or PyTorch's error naming the right-most mismatching dim."""
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    for i in range(n - 1, -1, -1):
        if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1:
            raise RuntimeError(f"The size of tensor a ({pa[i]}) must match the size of tensor b "
                               f"({pb[i]}) at non-singleton dimension {i}")
    return tuple(max(x, y) for x, y in zip(pa, pb))


def _check_arguments(count, prob, generator):
    for position, (name, value) in enumerate((("count", count), ("prob", prob)), 1):
        if not isinstance(value, Tensor):
            raise TypeError(f"binomial(): argument '{name}' (position {position}) must be "
                            f"Tensor, not {type(value).__name__}")
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError("binomial(): argument 'generator' must be torch.Generator, not "
                        f"{type(generator).__name__}")
    if is_meta(count) or is_meta(prob):  # PyTorch registers no meta kernel for binomial
        raise no_meta_kernel("binomial")
    for name, value in (("count", count), ("prob", prob)):
        dtype = value._data.dtype
        if dtype.kind != "f" and dtype.name != "bfloat16":
            raise ValueError(f"binomial only supports floating-point dtypes for {name}, got: "
                             f"{type_name(dtype)}")


def _draw(rng, n, p):
    """PyTorch's per-element rules: 0 when count <= 0 or prob <= 0, count itself when
    prob >= 1, NaN for a NaN prob; otherwise a draw with floor(count) trials (its
    samplers count whole trials). NaN or infinite counts give NaN (PyTorch's sampler
    does not terminate on a NaN count)."""
    with np.errstate(invalid="ignore"):
        zero = (n <= 0) | (p <= 0)
        full = ~zero & (p >= 1)
        regular = ~zero & ~full & (p > 0) & (p < 1)
        out = np.where(full, n, np.where(zero, 0.0, np.nan))
        finite = regular & np.isfinite(n)
        trials = np.floor(n[finite]).astype(np.int64)
    out[finite] = rng.binomial(trials, p[finite])
    return out


def binomial(count, prob, generator=None) -> Tensor:
    """A draw from Binomial(count, prob) per element, in ``count``'s dtype.

    Args:
        count: the numbers of trials (a floating-point tensor).
        prob: the success probabilities, broadcastable with ``count``, same dtype.
        generator: an ``ember.Generator`` to draw from instead of the default one.

    Example:
        >>> ember.binomial(ember.tensor([10.0, 5.0]), ember.tensor([0.5, 0.2]))
    """
    _check_arguments(count, prob, generator)
    shape = _broadcast_shapes(count._data.shape, prob._data.shape)
    np_dtype = count._data.dtype
    if prob._data.dtype != np_dtype:
        raise RuntimeError(f"Found dtype {type_name(prob._data.dtype)} but expected "
                           f"{type_name(np_dtype)}")
    if np_dtype.itemsize == 2:
        raise NotImplementedError(f'"binomial_cpu" not implemented for \'{type_name(np_dtype)}\'')
    n = np.broadcast_to(_host(count._data).astype(np.float64), shape)
    p = np.broadcast_to(_host(prob._data).astype(np.float64), shape)
    sample = _on_device(_draw(_rng(generator), n, p).astype(np_dtype), count.device)
    if count._requires_grad or prob._requires_grad:
        return Binomial.apply(_make(sample), count, prob)
    return _make(sample)
