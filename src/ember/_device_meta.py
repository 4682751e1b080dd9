"""Meta tensors at the tensor layer: ``is_meta``, their repr, and in-place samplers that
skip sampling.

The backend (``_backend/meta.py``) makes a meta tensor's array cost nothing to create and
nothing to write. Samplers (``normal_``, ``uniform_``, ...) would still draw a full-size
array from the generator before writing it, which for the 10-billion-element parameters
people build on meta is the whole cost. PyTorch's meta samplers draw nothing and leave the
generator alone, so ember's do the same: the methods here wrap each sampler with one type
check. ``ember._ops`` binds ``TENSOR_METHODS`` after the op families, as for any family.
"""

from __future__ import annotations

import functools

from ._backend.meta import MetaArray
from ._ops import random as _random
from ._ops._util import inplace_check


def is_meta(self) -> bool:
    """Whether the tensor lives on the meta device (shape and dtype, no data)."""
    return type(self._data) is MetaArray


def meta_repr(tensor) -> str:
    """PyTorch's repr of a meta tensor: no values, the size always shown, the dtype
    whenever it is not the default float dtype (int64 included)."""
    from ._backend.dtypes import get_default_dtype
    from ._tensor import Tensor
    from ._tensor_str import _add_suffixes

    plain = type(tensor) is Tensor or type(tensor).__name__ == "Parameter"
    prefix = "tensor(" if plain else f"{type(tensor).__name__}("
    suffixes = ["device='meta'", f"size={tuple(tensor.shape)}"]
    if tensor.dtype is not get_default_dtype():
        suffixes.append(f"dtype={tensor.dtype}")
    if tensor.grad_fn is not None:
        suffixes.append(f"grad_fn=<{tensor.grad_fn.name().rsplit('::', 1)[-1]}>")
    elif tensor.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + "...", suffixes, len(prefix))


def _skip_on_meta(sampler):
    """``sampler`` for real tensors; on meta only the in-place rules and version bump."""

    @functools.wraps(sampler)
    def sample(self, *args, **kwargs):
        if type(self._data) is not MetaArray:
            return sampler(self, *args, **kwargs)
        inplace_check(self)
        self._vc[0] += 1
        return self

    return sample


_SAMPLERS = ("uniform_", "normal_", "bernoulli_", "random_", "exponential_", "geometric_",
             "log_normal_", "cauchy_")

TENSOR_METHODS = {"is_meta": property(is_meta)}
TENSOR_METHODS.update(
    {name: _skip_on_meta(_random.TENSOR_METHODS[name]) for name in _SAMPLERS
     if name in _random.TENSOR_METHODS}
)
