"""``torch.masked``: reductions and normalizations that skip masked-out elements, and
``MaskedTensor``, a tensor that carries which of its elements are specified.

Prototype in PyTorch, and built the same way here: a masked op is the plain op on the
input with masked-out elements replaced by the op's identity (``_mask``), and a
MaskedTensor is an ember Tensor holding its data plus a bool mask (``_core``), whose ops
are routed by ``__torch_function__`` (``_dispatch``); gradient masks (``_grad_masks``)
and sparse layouts (``_sparse``) ride along.
"""

from ._core import MaskedTensor, is_masked_tensor
from ._normalizations import (
    cumprod,
    cumsum,
    log_softmax,
    logaddexp,
    normalize,
    softmax,
    softmin,
)
from ._reductions import (
    amax,
    amin,
    argmax,
    argmin,
    logsumexp,
    mean,
    median,
    norm,
    prod,
    std,
    sum,
    var,
)


def masked_tensor(data, mask, requires_grad: bool = False) -> MaskedTensor:
    """A MaskedTensor leaf holding copies of ``data`` and ``mask`` (like ``ember.tensor``).

    Example::

        >>> data = ember.tensor([1.0, 2.0, 3.0])
        >>> ember.masked.masked_tensor(data, ember.tensor([True, False, True]))
        MaskedTensor(
          [  1.0000,       --,   3.0000]
        )
    """
    return MaskedTensor(data, mask, requires_grad)


def as_masked_tensor(data, mask) -> MaskedTensor:
    """A MaskedTensor that keeps ``data``'s autograd history (like ``ember.as_tensor``):
    gradients flow back to ``data``."""
    return MaskedTensor._from_values(data, mask)


__all__ = [
    "amax", "amin", "argmax", "argmin", "as_masked_tensor", "cumprod", "cumsum",
    "is_masked_tensor", "log_softmax", "logaddexp", "logsumexp", "masked_tensor",
    "MaskedTensor", "mean", "median", "norm", "normalize", "prod", "softmax", "softmin", "std",
    "sum", "var",
]
