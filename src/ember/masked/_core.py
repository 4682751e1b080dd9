"""``MaskedTensor``: a tensor whose elements are each specified (mask True) or not.

Layout: a MaskedTensor *is* an ember Tensor holding the data (masked-out elements keep
whatever value they had) plus a bool ``_masked_mask`` of the same shape. Because the data
is the tensor itself, autograd needs nothing new: an op on MaskedTensors runs the plain op
on ``get_data()`` (a differentiable alias) and re-types the result with the op's mask, so
the graph is ember's ordinary one and ``.grad`` is the accumulated plain gradient shown
with the mask PyTorch would give it (``_grad_masks`` works that out).

Which ops are allowed and what mask their result gets is ``_dispatch``'s business, reached
through ``__torch_function__``. The protocol is attached, and ember's dispatch trampolines
installed, only when the first MaskedTensor is built: importing ember.masked costs plain
tensors nothing.
"""

from __future__ import annotations

import warnings

import ember

from .._C import DisableTorchFunction
from .._tensor import Tensor

_PROTOTYPE = ("The PyTorch API of MaskedTensors is in prototype stage and will change in the "
              "near future. Please open a Github issue for features requests and see our "
              "documentation on the torch.masked module for further information about the "
              "project.")
_DATA_REQUIRES_GRAD = ("It is not recommended to create a MaskedTensor with a tensor that "
                       "requires_grad. To avoid this, you can use data.detach().clone()")
# the dtypes torch.masked accepts
_DTYPES = (ember.float16, ember.float32, ember.float64, ember.bool, ember.int8, ember.int16,
           ember.int32, ember.int64)


def is_masked_tensor(obj, /) -> bool:
    """Whether ``obj`` is a MaskedTensor."""
    return isinstance(obj, MaskedTensor)


def _plain_alias(tensor: Tensor) -> Tensor:
    """A plain-Tensor alias of ``tensor`` (same memory, ``AliasBackward0`` in a graph)."""
    with DisableTorchFunction():
        return Tensor.__getitem__(tensor, Ellipsis)


def _check_members(data, mask) -> None:
    if data.layout != mask.layout:
        raise TypeError("data and mask must have the same layout.")
    if data.layout not in (ember.strided, ember.sparse_coo, ember.sparse_csr):
        raise TypeError(f"data layout of {data.layout} is not supported.")
    if mask.dtype != ember.bool:
        raise TypeError("mask must have dtype bool.")
    if data.dtype not in _DTYPES:
        raise TypeError(f"{data.dtype} is not supported in MaskedTensor.")
    if data.dim() != mask.dim():
        raise ValueError("data.dim() must equal mask.dim()")
    if data.size() != mask.size():
        raise ValueError("data.size() must equal mask.size()")


def _enable_dispatch() -> None:
    """Attach ``__torch_function__`` (once) and make sure the trampolines are installed
    (tests may have uninstalled them since)."""
    from .. import overrides

    if "_masked_torch_function" not in MaskedTensor.__dict__:
        from ._dispatch import torch_function

        MaskedTensor.__torch_function__ = classmethod(torch_function)
        MaskedTensor._masked_torch_function = True
    if not overrides._INSTALLED[0]:
        overrides._install()


def _wrap(data: Tensor, mask: Tensor, keep=()) -> MaskedTensor:
    """``data`` (a fresh plain result, possibly in a graph) re-typed as a MaskedTensor
    with ``mask``. A tensor the caller still holds (listed in ``keep``) is aliased first."""
    from ..overrides import _retype

    if any(data is kept for kept in keep):
        data = _plain_alias(data)
    out = _retype(data, MaskedTensor)
    out._masked_mask = mask
    return out


class MaskedTensor(Tensor):
    """A tensor with a bool mask: ``True`` marks the elements that are specified.

    Build it with ``ember.masked.masked_tensor(data, mask)`` (a leaf, like
    ``ember.tensor``) or ``as_masked_tensor`` (keeps ``data``'s autograd history).
    Elementwise ops keep the mask, binary ops require equal masks, reductions skip
    masked-out elements and mask out results with no specified input.

    Example::

        >>> data = ember.arange(6.).reshape(2, 3)
        >>> mt = ember.masked.masked_tensor(data, data > 1)
        >>> mt.sum(1)
        MaskedTensor(
          [  2.0000,  12.0000]
        )
    """

    def __new__(cls, data, mask, requires_grad=False):
        if is_masked_tensor(data) or not isinstance(data, Tensor):
            raise TypeError("data must be a Tensor")
        if is_masked_tensor(mask) or not isinstance(mask, Tensor):
            raise TypeError("mask must be a Tensor")
        warnings.warn(_PROTOTYPE, UserWarning, stacklevel=2)
        if data.requires_grad:
            warnings.warn(_DATA_REQUIRES_GRAD, UserWarning, stacklevel=2)
        _check_members(data, mask)
        _enable_dispatch()
        sparse_mask = None
        if data.layout is not ember.strided:
            from ._sparse import split

            data, mask, sparse_mask = split(data.detach(), mask)
        with DisableTorchFunction():
            out = _wrap(Tensor.clone(Tensor.detach(data)), Tensor.clone(mask))
            if requires_grad:
                Tensor.requires_grad_(out, True)
        out._sparse_mask = sparse_mask
        return out

    def __init__(self, data, mask, requires_grad=False):
        pass

    @staticmethod
    def _from_values(data, mask):
        """A MaskedTensor that keeps ``data``'s autograd history (``as_masked_tensor``)."""
        if is_masked_tensor(data) or not isinstance(data, Tensor):
            raise TypeError("data must be a Tensor")
        if is_masked_tensor(mask) or not isinstance(mask, Tensor):
            raise TypeError("mask must be a Tensor")
        warnings.warn(_PROTOTYPE, UserWarning, stacklevel=2)
        _check_members(data, mask)
        _enable_dispatch()
        if data.layout is not ember.strided:  # no history through sparse data here
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # warned once above
                return MaskedTensor(data.detach(), mask)
        with DisableTorchFunction():
            return _wrap(Tensor.clone(data), Tensor.clone(mask))

    # -- the two members --------------------------------------------------------------------

    _sparse_mask = None  # the mask in its sparse layout, for a sparse MaskedTensor

    def get_data(self) -> Tensor:
        """The data as a plain Tensor, masked-out elements included; differentiable
        (gradients flow back to this MaskedTensor). Sparse for a sparse MaskedTensor."""
        if self._sparse_mask is not None:
            return self._masked_data.sparse_mask(self._sparse_mask)
        return _plain_alias(self)

    def get_mask(self) -> Tensor:
        """The bool mask (True: specified), in the data's layout."""
        if self._sparse_mask is not None:
            return self._sparse_mask
        return self._masked_mask

    def _dense_data(self) -> Tensor:
        """The data as a dense plain Tensor (differentiable), whatever the layout."""
        return _plain_alias(self)

    def _dense_mask(self) -> Tensor:
        return self._masked_mask

    @property
    def layout(self):
        return ember.strided if self._sparse_mask is None else self._sparse_mask.layout

    @property
    def _masked_data(self) -> Tensor:
        with DisableTorchFunction():
            return Tensor.detach(self)

    def to_tensor(self, value) -> Tensor:
        """A plain Tensor with masked-out elements replaced by ``value``."""
        with DisableTorchFunction():  # dense, also for a sparse MaskedTensor
            return Tensor.masked_fill(_plain_alias(self), ~self._masked_mask, value)

    def _set_data_mask(self, data, mask) -> None:
        """Replace both members in place (the data is copied into this tensor)."""
        _check_members(data, mask)
        with DisableTorchFunction():
            Tensor.copy_(_plain_alias(self), data)
        self._masked_mask = mask

    @classmethod
    def unary(cls, fn, data, mask):
        return MaskedTensor(fn(data), mask)

    # -- autograd: gradients are shown with the mask -------------------------------------------

    @property
    def grad(self):
        """The accumulated gradient as a MaskedTensor with this tensor's mask, or None."""
        with DisableTorchFunction():
            grad = Tensor.grad.fget(self)  # warns on a non-leaf, as a plain tensor does
        if grad is None:
            return None
        mask = self.__dict__.get("_grad_mask")
        return _wrap(_plain_alias(grad), self._masked_mask if mask is None else mask)

    @grad.setter
    def grad(self, value):
        # the engine stores plain gradients through here too: the mask worked out for
        # them stays; clearing the gradient clears it
        if value is None:
            self.__dict__["_grad_mask"] = None
        elif is_masked_tensor(value):
            self.__dict__["_grad_mask"] = value.get_mask()
            value = value.get_data().detach()
        with DisableTorchFunction():
            Tensor.grad.fset(self, value)

    @grad.deleter
    def grad(self):
        self._grad = None
        self.__dict__["_grad_mask"] = None

    # -- what torch.masked defines on the class -------------------------------------------------

    def __lt__(self, other):
        """Elementwise ``<`` keeping this tensor's mask (PyTorch does not compare masks
        here, unlike the other binary ops)."""
        other_data = other.get_data() if is_masked_tensor(other) else other
        with DisableTorchFunction():
            return _wrap(Tensor.lt(_plain_alias(self), other_data), self._masked_mask)

    def is_sparse_coo(self) -> bool:
        return self.layout is ember.sparse_coo

    def is_sparse_csr(self) -> bool:
        return self.layout is ember.sparse_csr

    @property
    def is_sparse(self) -> bool:
        return self._sparse_mask is not None

    def __repr__(self) -> str:
        from ._repr import masked_tensor_repr

        return masked_tensor_repr(self)

    __str__ = __repr__

    def __deepcopy__(self, memo):
        """A new leaf with copies of data and mask (``copy.deepcopy``)."""
        if id(self) in memo:
            return memo[id(self)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            copied = MaskedTensor(self._masked_data, self._masked_mask, self.requires_grad)
        copied._sparse_mask = self._sparse_mask
        memo[id(self)] = copied
        return copied

    def __reduce_ex__(self, protocol):
        return (MaskedTensor, (self.get_data().detach().clone(), self.get_mask().clone(),
                               self.requires_grad))
