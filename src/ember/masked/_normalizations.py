"""Masked normalizations and scans: ``ember.masked.softmax``, ``log_softmax``,
``softmin``, ``normalize``, ``cumsum``, ``cumprod`` and the elementwise ``logaddexp``.

The output keeps the input's shape; masked-out elements enter as the identity of the op
(-inf for softmax, +inf for softmin, 0 for cumsum, 1 for cumprod), so a slice with
every element masked out gives nan under softmax, as in ``torch.masked``.
"""

from __future__ import annotations

import ember

from ._mask import _canonical_dim, _check_strided, _combine_input_and_mask
from ._reductions import norm


def _scan(name, identity_of, input, dim, dtype, mask):
    _check_strided(name, input)
    dtype = input.dtype if dtype is None else dtype
    dim = _canonical_dim(dim, input.ndim)[0]
    combined = _combine_input_and_mask(identity_of, input, mask)
    return getattr(ember, name)(combined, dim, dtype=dtype).to(dtype=dtype)


def cumsum(input, dim, *, dtype=None, mask=None):
    """Running sum along ``dim`` skipping masked-out elements (they add 0)."""
    return _scan("cumsum", "sum", input, dim, dtype, mask)


def cumprod(input, dim, *, dtype=None, mask=None):
    """Running product along ``dim`` skipping masked-out elements (they multiply by 1)."""
    return _scan("cumprod", "prod", input, dim, dtype, mask)


def _softmax_family(name, identity_of, input, dim, dtype, mask):
    _check_strided(name, input)
    dtype = input.dtype if dtype is None else dtype
    dim = _canonical_dim(dim, input.ndim)[0]
    combined = _combine_input_and_mask(identity_of, input, mask)
    return getattr(ember.nn.functional, name)(combined, dim, dtype=dtype)


def softmax(input, dim, *, dtype=None, mask=None):
    """Softmax along ``dim`` over the unmasked elements; masked-out ones get 0."""
    return _softmax_family("softmax", "amax", input, dim, dtype, mask)


def log_softmax(input, dim, *, dtype=None, mask=None):
    """Log-softmax along ``dim`` over the unmasked elements; masked-out ones get -inf."""
    return _softmax_family("log_softmax", "amax", input, dim, dtype, mask)


def softmin(input, dim, *, dtype=None, mask=None):
    """Softmin along ``dim`` over the unmasked elements; masked-out ones get 0."""
    return _softmax_family("softmin", "amin", input, dim, dtype, mask)


def normalize(input, ord, dim, *, eps=1e-12, dtype=None, mask=None):
    """``input`` divided by its masked ``ord``-norm along ``dim`` (at least ``eps``);
    masked-out elements become 0."""
    dtype = input.dtype if dtype is None else dtype
    combined = _combine_input_and_mask("sum", input, mask)
    _check_strided("normalize", combined)
    norms = norm(input, ord, dim, keepdim=True, dtype=dtype, mask=mask)
    return combined / ember.clamp_min(norms, eps)


def logaddexp(input, other, *, dtype=None, input_mask=None, other_mask=None):
    """log(exp(input) + exp(other)) with masked-out elements of either taken as -inf.

    Example::

        >>> x, y = ember.tensor([-100.0, -200, -300]), ember.tensor([-1.0, -2, -3])
        >>> m = ember.tensor([True, False, True])
        >>> ember.masked.logaddexp(x, y, input_mask=m, other_mask=m)
        tensor([-1., -inf, -3.])
    """
    dtype = input.dtype if dtype is None else dtype
    if input.layout is not ember.strided or other.layout is not ember.strided:
        raise ValueError(f"masked logaddexp expects strided tensors (got {input.layout} tensor "
                         f"for input, {other.layout} for other)")
    masked_input = _combine_input_and_mask("logaddexp", input, input_mask)
    masked_other = _combine_input_and_mask("logaddexp", other, other_mask)
    return ember.logaddexp(masked_input, masked_other).to(dtype=dtype)
