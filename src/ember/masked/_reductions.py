"""Masked reductions: ``ember.masked.sum``, ``prod``, ``amax``, ``amin``, ``argmax``,
``argmin``, ``mean``, ``median``, ``logsumexp``, ``norm``, ``var``, ``std``.

Each is the plain reduction of ``where(mask, input, identity)`` (see ``_mask``). Where
every element along the reduced dims is masked out, the result is the identity (0 for
sum, -inf for amax, ...) or nan where the op has none (mean, median, var, std), as in
``torch.masked``. Only strided inputs: sparse layouts raise ValueError.
"""

from __future__ import annotations

import ember

from ._mask import (
    _canonical_dim,
    _check_strided,
    _combine_input_and_mask,
    _data_of,
    _input_mask,
)

_PROMOTED_TO_INT64 = (ember.uint8, ember.bool, ember.int8, ember.int16, ember.int32)


def _sum_dtype(input, dtype):
    if dtype is not None:
        return dtype
    return ember.int64 if input.dtype in _PROMOTED_TO_INT64 else input.dtype


def sum(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Sum of the elements of ``input`` where ``mask`` is True; fully masked-out slices
    give 0. Integer and bool inputs sum as int64 unless ``dtype`` says otherwise.

    Example::

        >>> x = ember.tensor([[-3, -2, -1], [0, 1, 2]])
        >>> ember.masked.sum(x, 1, mask=ember.tensor([[False, True, False], [False] * 3]))
        tensor([-2, 0])
    """
    _check_strided("sum", input)
    dtype = _sum_dtype(input, dtype)
    dims = _canonical_dim(dim, input.ndim)
    return ember.sum(_combine_input_and_mask("sum", input, mask), dims, bool(keepdim),
                     dtype=dtype)


def prod(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Product of the unmasked elements of ``input``; fully masked-out slices give 1."""
    _check_strided("prod", input)
    dtype = _sum_dtype(input, dtype)
    dims = _canonical_dim(dim, input.ndim)
    result = _combine_input_and_mask("prod", input, mask).to(dtype=dtype)
    for d in reversed(dims):  # ember.prod takes one dim at a time, as torch.prod
        result = result.prod(dim=d, keepdim=bool(keepdim))
    return result


def _extremum(name, input, dim, keepdim, dtype, mask):
    _check_strided(name, input)
    dtype = input.dtype if dtype is None else dtype
    combined = _combine_input_and_mask(name, input, mask)
    dims = _canonical_dim(dim, combined.ndim)
    return getattr(ember, name)(combined, dims, bool(keepdim)).to(dtype=dtype)


def amax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Largest unmasked element of ``input``; fully masked-out slices give -inf (the
    dtype's minimum for integers)."""
    return _extremum("amax", input, dim, keepdim, dtype, mask)


def amin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Smallest unmasked element of ``input``; fully masked-out slices give +inf (the
    dtype's maximum for integers)."""
    return _extremum("amin", input, dim, keepdim, dtype, mask)


def _arg_extremum(name, input, dim, keepdim, dtype, mask):
    _check_strided(name, input)
    dtype = input.dtype if dtype is None else dtype
    combined = _combine_input_and_mask(name, input, mask)
    # the index comes back in the input's dtype unless ``dtype`` is given, as torch.masked
    return getattr(ember, name)(combined, dim, bool(keepdim)).to(dtype=dtype)


def argmax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Index of the largest unmasked element (in ``input``'s dtype, as torch.masked)."""
    return _arg_extremum("argmax", input, dim, keepdim, dtype, mask)


def argmin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Index of the smallest unmasked element (in ``input``'s dtype, as torch.masked)."""
    return _arg_extremum("argmin", input, dim, keepdim, dtype, mask)


def _count(input, dim, keepdim, mask):
    """How many elements each reduced slice holds: all of them without a mask (also for
    a MaskedTensor, as torch.masked counts), else the unmasked ones (int64)."""
    if mask is None:
        ones = ember.ones(input.shape, dtype=ember.int64, device=input.device)
        return sum(ones, dim, keepdim=keepdim)
    return _input_mask(input, mask).sum(dim=dim, keepdim=bool(keepdim))


def mean(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Mean of the unmasked elements; fully masked-out slices give nan."""
    source = "Optional"
    if dtype is None:
        dtype, source = input.dtype, "Input"
    if not (dtype.is_floating_point or dtype.is_complex):
        raise ValueError(f"mean(): Could not infer output dtype. {source} dtype must be "
                         f"either a floating point or complex dtype. Got: {dtype}")
    if input.layout is not ember.strided:
        raise ValueError(f"masked mean expects strided or sparse_csr tensor (got "
                         f"{input.layout} tensor)")
    count = _count(input, dim, keepdim, mask)
    mask = None if mask is None else _input_mask(input, mask)
    return sum(input, dim, keepdim=keepdim, dtype=dtype, mask=mask) / count


def median(input, dim=-1, *, keepdim=False, dtype=None, mask=None):
    """Median of the unmasked elements along one dim (the lower of the two middle ones,
    as torch.median); fully masked-out slices give nan, which integer inputs refuse."""
    _check_strided("median", input)
    dtype = input.dtype if dtype is None else dtype
    dim = _canonical_dim(dim, input.ndim)[0]
    is_float = input.dtype.is_floating_point
    if not is_float:
        input = input.to(dtype=ember.float32)
    output = ember.nanmedian(_combine_input_and_mask("median", input, mask), dim,
                             keepdim).values
    if is_float:
        return output
    if bool(ember.isnan(output).any()):
        raise ValueError("masked median expects no fully masked out rows if dtype is not "
                         "floating point")
    return output.to(dtype=dtype)


def logsumexp(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """log(sum(exp(x))) over the unmasked elements; fully masked-out slices give -inf."""
    _check_strided("logsumexp", input)
    dtype = input.dtype if dtype is None else dtype
    dims = _canonical_dim(dim, input.ndim)
    combined = _combine_input_and_mask("logsumexp", input, mask)
    return ember.logsumexp(combined, dims, keepdim=keepdim).to(dtype=dtype)


def norm(input, ord=2.0, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Vector ``ord``-norm of the unmasked elements (masked-out ones count as 0, or as
    +inf for ``ord=-inf``)."""
    dtype = input.dtype if dtype is None else dtype
    combined = _combine_input_and_mask("norm", input, mask, ord)
    _check_strided("norm", combined)
    dims = _canonical_dim(dim, input.ndim)
    return ember.linalg.vector_norm(combined, ord, dims, bool(keepdim), dtype=dtype)


def _std_var(input, dim, unbiased, correction_opt, keepdim, dtype, mask, take_sqrt):
    if unbiased is not None and correction_opt is not None:
        raise AssertionError("Only one of unbiased and correction may be given")
    correction = 1.0
    if unbiased is not None:
        correction = 1.0 if unbiased else 0.0
    if correction_opt is not None:
        correction = float(correction_opt)
    if dtype is None:
        dtype = input.dtype
        if not (dtype.is_floating_point or dtype.is_complex):
            dtype = ember.float32
    compute_dtype = dtype
    if not (compute_dtype.is_floating_point or compute_dtype.is_complex):
        compute_dtype = ember.float32
    if input.layout is not ember.strided:
        raise ValueError(f"masked std/var expects strided tensor (got {input.layout} tensor)")
    inmask = None if mask is None else _input_mask(input, mask)
    count = _count(input, dim, True, inmask)
    sample_mean = sum(input, dim, keepdim=True, dtype=dtype, mask=inmask) / count
    centred = _data_of(input) - sample_mean
    total = sum(centred * centred.conj(), dim, keepdim=keepdim, dtype=compute_dtype,
                mask=inmask if inmask is not None else _own_mask(input))
    if not keepdim:
        count = count.reshape(total.shape)
    if correction != 0:
        real_dtype = compute_dtype.to_real() if compute_dtype.is_complex else compute_dtype
        count = ember.clamp_min(count.to(real_dtype) - correction, 0)
    output = (total / count).to(dtype=dtype)
    return ember.sqrt(output) if take_sqrt else output


def _own_mask(input):
    """A MaskedTensor's mask (torch.masked sums its deviations through the MaskedTensor,
    whose mask then applies), else None."""
    return input._dense_mask() if hasattr(input, "_dense_mask") else None


def var(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None,
        mask=None):
    """Variance of the unmasked elements with Bessel's ``correction`` (default 1);
    slices with no more unmasked elements than the correction give nan or inf."""
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, False)


def std(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None,
        mask=None):
    """Standard deviation of the unmasked elements (the square root of ``var``)."""
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, True)

