"""``torch.nested``: batches of tensors with one ragged dimension (see _nested_tensor)."""

from ._nested_tensor import (
    NestedTensor,
    as_nested_tensor,
    jagged,
    nested_tensor,
    nested_tensor_from_jagged,
    to_padded_tensor,
)
from ._from_strided import masked_select, narrow

__all__ = ["as_nested_tensor", "jagged", "masked_select", "narrow", "nested_tensor",
           "nested_tensor_from_jagged", "to_padded_tensor"]

_ = NestedTensor  # the class, for isinstance checks: ember.nested._nested_tensor.NestedTensor
