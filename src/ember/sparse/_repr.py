"""PyTorch's printed form of a COO tensor::

    tensor(indices=tensor([[0, 1, 1],
                           [2, 0, 2]]),
           values=tensor([3., 4., 5.]),
           size=(2, 3), nnz=3, layout=torch.sparse_coo)

Same element formatting as dense tensors (ember._tensor_str); the suffixes always start a
new line, as PyTorch forces for sparse tensors.
"""

from __future__ import annotations

from .._backend import dtypes as _dt
from .._backend import get_default_device
from .._tensor_str import PRINT_OPTS, _tensor_str


def _part(prefix, tensor, indent):
    array = tensor.detach()._host_array()
    body = _tensor_str(array, indent + len(prefix))
    if array.size == 0:
        body += f", size={tuple(array.shape)}"
    return prefix + body + ")"


def _add_suffixes(text, suffixes, indent, force_newline=True):
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if force_newline or last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
            force_newline = False
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


_PREFIX = "tensor("
_INDENT = len(_PREFIX)


def _leading_suffixes(tensor) -> list:
    """device (when not the default), size, nnz and dtype (when not implied by the values)."""
    suffixes = []
    device = tensor.device
    if device.type != get_default_device().type:
        suffixes.append(f"device='{device}'")
    suffixes.append(f"size={tuple(tensor.shape)}")
    suffixes.append(f"nnz={tensor._nnz()}")
    implicit = (_dt.get_default_dtype(), _dt.default_complex(), _dt.int64, _dt.bool_)
    if tensor.dtype not in implicit:
        suffixes.append(f"dtype={tensor.dtype}")
    return suffixes


def _finish(tensor, parts, suffixes, force_newline=True) -> str:
    """The parts one per line, then the suffixes with the autograd one last."""
    if tensor.grad_fn is not None:
        suffixes.append(f"grad_fn=<{tensor.grad_fn.name().rsplit('::', 1)[-1]}>")
    elif tensor.requires_grad:
        suffixes.append("requires_grad=True")
    text = (",\n" + " " * _INDENT).join(parts)
    return _add_suffixes(_PREFIX + text, suffixes, _INDENT, force_newline=force_newline)


def sparse_repr(tensor) -> str:
    suffixes = _leading_suffixes(tensor)
    suffixes.append("layout=torch.sparse_coo")
    return _finish(tensor, [_part("indices=tensor(", tensor._indices(), _INDENT),
                            _part("values=tensor(", tensor._values(), _INDENT)], suffixes)


def compressed_repr(tensor) -> str:
    """A compressed tensor as PyTorch prints it: the two index tensors and the values,
    then size, nnz, dtype and layout, wrapped at the line width (no forced newline)."""
    from ._compressed import index_names

    suffixes = _leading_suffixes(tensor)
    compressed, plain = index_names(tensor.layout)
    suffixes.append(f"layout={tensor.layout}")
    parts = [_part(f"{compressed}_indices=tensor(", tensor._sc_cidx, _INDENT),
             _part(f"{plain}_indices=tensor(", tensor._sc_pidx, _INDENT),
             _part("values=tensor(", tensor._sp_values, _INDENT)]
    return _finish(tensor, parts, suffixes, force_newline=False)
