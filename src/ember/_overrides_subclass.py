"""Deep copies of user Tensor subclasses, as PyTorch's ``Tensor.__deepcopy__`` makes them.

PyTorch copies a subclass instance through ``__torch_function__`` (its handlers see
``Tensor.__deepcopy__``) and builds the copy with ``self.new_empty([])``: a subclass whose
``new_empty`` does not return its own class cannot be deep-copied and raises, which is
what the default ``__torch_function__`` gives (it runs ``new_empty`` with subclass dispatch
off, so the result is a plain Tensor). ember's own subclasses keep their own copies.
"""

from __future__ import annotations

import copy

from ._tensor import Tensor, _init_fields

_NOT_SAME_TYPE = (
    "The default implementation of __deepcopy__() for non-wrapper subclasses only works for "
    "subclass types that implement new_empty() and for which that function returns another "
    "instance of the same subclass. You should either properly implement new_empty() for your "
    "subclass or override __deepcopy__() if it is intended behavior for new_empty() to return "
    "an instance of a different type.")


def _deepcopy_subclass(tensor, memo):
    """``copy.deepcopy`` of an instance of a user's Tensor subclass."""
    from .autograd.grad_mode import no_grad
    from .overrides import handle_torch_function, has_torch_function

    if has_torch_function((tensor,)):
        return handle_torch_function(Tensor.__deepcopy__, (tensor,), tensor, memo)
    if not tensor.is_leaf:
        raise RuntimeError(
            "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
            "protocol at the moment.  If you were attempting to deepcopy a module, this may be "
            "because of a torch.nn.utils.weight_norm usage, see "
            "https://github.com/pytorch/pytorch/pull/103001")
    if id(tensor) in memo:
        return memo[id(tensor)]
    with no_grad():
        new = tensor.new_empty([])
        if type(new) is not type(tensor):
            raise RuntimeError(_NOT_SAME_TYPE)
        _init_fields(new, tensor._data.copy())  # the copied storage, a fresh version counter
        if tensor._requires_grad:
            new._requires_grad = True
        if tensor._grad is not None:
            new._grad = tensor._grad.__deepcopy__(memo)
        state = {k: v for k, v in tensor.__dict__.items() if not k.startswith("_post")}
        new.__dict__.update(copy.deepcopy(state, memo))
    memo[id(tensor)] = new
    return new
