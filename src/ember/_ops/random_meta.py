"""Samplers on the meta device: results with PyTorch's shape, dtype and layout, no draw.

People build models with ``device='meta'`` to learn shapes before paying for memory, and
a meta sampler that drew its full-size sample first (``randn(10**10, device='meta')``)
would cost exactly what meta exists to avoid. PyTorch's meta kernels draw nothing and leave
the generator alone, and they check less than the cpu kernels do: no value checks (there
are no values: a meta ``bernoulli`` takes any ``p``, ``multinomial`` any weights) and a few
dtype checks of their own. The functions here reproduce those rules; ``random.py`` calls
them after one device check on its cold side, so cpu and cuda sampling is unchanged.
"""

from __future__ import annotations

import numpy as np

from .._backend import dtypes as _dt
from .._backend.meta import MetaArray, empty, empty_like
from ._util import _make


def no_meta_kernel(op_name) -> NotImplementedError:
    """PyTorch's error for an operator without a meta kernel (binomial, dirichlet draws)."""
    return NotImplementedError(
        f"aten::{op_name}: attempted to run this operator with Meta tensors, but there was no "
        "fake impl or Meta kernel registered. You may have run into this message while using "
        "an operator with PT2 compilation APIs (torch.compile/torch.export); in order to use "
        "this operator with those APIs you'll need to add a fake impl. Please see the "
        "following for next steps:  "
        "https://pytorch.org/tutorials/advanced/custom_ops_landing_page.html")


def is_meta(value) -> bool:
    """Whether ``value`` is a tensor on the meta device (anything else: False)."""
    return type(getattr(value, "_data", None)) is MetaArray


def np_dtype_of(dtype):
    """The NumPy dtype a factory's ``dtype=`` names (the default float dtype for None)."""
    return _dt.to_dtype(dtype).numpy_dtype if dtype is not None else _dt.get_default_dtype().np


def check_floating(np_dtype):
    """The meta ``normal`` kernels' dtype check (its wording differs from the cpu one's)."""
    if np_dtype.kind not in "fcV":
        raise RuntimeError("expected a floating-point or complex dtype, but got "
                           f"dtype={_dt.from_numpy_dtype(np_dtype)}")


def sample(shape, np_dtype, requires_grad=False):
    """A fresh contiguous meta tensor: what every meta factory sampler returns."""
    return finish(empty(shape, np_dtype), requires_grad)


def like(array, np_dtype, requires_grad=False):
    """A meta tensor laid out as ``array`` (the ``*_like`` samplers keep the input's
    strides, as PyTorch's preserve_format does)."""
    return finish(empty_like(array, dtype=np_dtype), requires_grad)


def finish(array, requires_grad):
    tensor = _make(array)
    if requires_grad:
        if array.dtype.kind not in "fcV":
            raise RuntimeError(
                "Only Tensors of floating point and complex dtype can require gradients")
        tensor._requires_grad = True
    return tensor


def _check_same_device(mean, std):
    """PyTorch's device check between a meta and a cpu operand of ``normal``: a cpu
    0-d ``std`` rides along with a meta ``mean`` as a scalar, nothing else mixes."""
    if is_meta(mean) and not is_meta(std):
        if std._data.ndim:
            raise RuntimeError("Tensor on device meta is not on the expected device cpu!")
    elif not is_meta(mean):
        raise RuntimeError("Tensor on device cpu is not on the expected device meta!")


def normal_array(mean, std, mean_is_t, std_is_t, broadcast):
    """``normal(mean, std)`` with a meta tensor among them: the result's meta array.
    ``broadcast(a, b)`` is the caller's shape rule (with its error)."""
    if mean_is_t and std_is_t:
        _check_same_device(mean, std)
        np_dtype = _dt.result_np(mean._data, std._data)
        if np_dtype.kind not in "fcV":
            np_dtype = _dt.get_default_dtype().np
        shape = broadcast(mean._data.shape, std._data.shape)
        if shape == mean._data.shape and is_meta(mean):
            return empty_like(mean._data, dtype=np_dtype)
        return empty(shape, np_dtype)
    if mean_is_t:  # normal(Tensor mean, float std): mean's dtype, which must be floating
        check_floating(mean._data.dtype)
        return empty(mean._data.shape, mean._data.dtype)
    np_dtype = std._data.dtype  # normal(float mean, Tensor std): a default float for ints
    return empty(std._data.shape, np_dtype if np_dtype.kind in "fcV" else
                 _dt.get_default_dtype().np)


def bernoulli_array(input):
    """A meta ``bernoulli``: any dtype, any ``p`` (no values to check), contiguous."""
    return empty(input._data.shape, input._data.dtype)


def poisson_array(input):
    return empty_like(input._data)


def multinomial_array(input, num_samples):
    """A meta ``multinomial``: only the rank and the sample count are checked."""
    shape = input._data.shape
    if len(shape) not in (1, 2):
        raise RuntimeError(
            f"The probability distributions dimensions must be 1 or 2, but got {len(shape)}")
    num_samples = int(num_samples)
    out_shape = (num_samples,) if len(shape) == 1 else (shape[0], num_samples)
    if num_samples < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {num_samples}: "
                           f"[{', '.join(str(n) for n in out_shape)}]")
    return empty(out_shape, np.int64)
