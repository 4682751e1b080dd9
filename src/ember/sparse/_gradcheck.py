"""``torch.sparse.as_sparse_gradcheck``: gradcheck for functions of sparse tensors.

A gradcheck perturbs strided inputs element by element. The wrapper hands it, for each
sparse input that requires grad, its ``values`` (a strided leaf), and rebuilds the sparse
tensor from them inside the checked function; sparse outputs are returned densified.
Unless ``masked=True``, the input is first given every position as a stored entry (a full
pattern), so the check covers the gradient at unstored positions too, as PyTorch's does.
"""

from __future__ import annotations

from .._tensor import Tensor
from ._compressed import _BLOCKED, COMPRESSED_LAYOUTS, index_names
from ._layout import sparse_coo, strided


def _full_pattern(tensor):
    """``tensor`` with every position stored (unstored ones as explicit zeros)."""
    from .._ops.creation import ones

    dense_dim = tensor.dense_dim()
    blocksize = None
    if tensor.layout in _BLOCKED:
        blocksize = tensor._blocksize()
    mask = ones(tuple(tensor.shape), dtype=_bool(), device=tensor.device)
    mask = mask.to_sparse(layout=tensor.layout, blocksize=blocksize, dense_dim=dense_dim)
    return tensor.to_dense().sparse_mask(mask)


def _bool():
    from .._backend import dtypes

    return dtypes.bool_


def _split(inputs, masked):
    """``(strided_inputs, specs)``: each differentiable sparse input replaced by a leaf copy
    of its values, with what rebuilding it needs in ``specs`` (None elsewhere)."""
    strided_inputs, specs = [], []
    for obj in inputs:
        if isinstance(obj, Tensor) and obj.requires_grad and obj.layout is not strided:
            if not masked:
                obj = _full_pattern(obj)
            if obj.layout is sparse_coo:
                spec = (sparse_coo, obj.shape, obj._indices(), obj.is_coalesced())
            else:
                compressed, plain = index_names(obj.layout)
                spec = (obj.layout, obj.shape, getattr(obj, f"{compressed}_indices")(),
                        getattr(obj, f"{plain}_indices")())
            values = obj._sp_values.detach().requires_grad_(True)
            strided_inputs.append(values)
            specs.append(spec)
        else:
            strided_inputs.append(obj)
            specs.append(None)
    return tuple(strided_inputs), specs


def _rebuild(args, specs):
    from ._compressed import sparse_compressed_tensor
    from ._coo import sparse_coo_tensor

    rebuilt = []
    for arg, spec in zip(args, specs):
        if spec is None:
            rebuilt.append(arg)
        elif spec[0] is sparse_coo:
            rebuilt.append(sparse_coo_tensor(spec[2], arg, spec[1], is_coalesced=spec[3]))
        elif spec[0] in COMPRESSED_LAYOUTS:
            rebuilt.append(sparse_compressed_tensor(spec[2], spec[3], arg, spec[1],
                                                    layout=spec[0]))
    return tuple(rebuilt)


def _densify(outputs):
    if isinstance(outputs, Tensor):
        return outputs.to_dense() if outputs.layout is not strided else outputs
    return tuple(_densify(o) if isinstance(o, Tensor) else o for o in outputs)


def as_sparse_gradcheck(gradcheck):
    """Wrap ``gradcheck`` (``torch.autograd.gradcheck`` or a ``functools.partial`` of it)
    so that ``func`` may take and return sparse tensors of any layout.

    Example::

        >>> gradcheck = ember.sparse.as_sparse_gradcheck(ember.autograd.gradcheck)
        >>> x = ember.tensor([[0., 1.], [2., 3.]], dtype=ember.float64).to_sparse_csr()
        >>> gradcheck(lambda x: x.to_dense(), x.requires_grad_(True))
        True
    """

    def gradcheck_with_sparse_support(func, inputs, **kwargs):
        masked = kwargs.pop("masked", False)
        if isinstance(inputs, Tensor):
            inputs = (inputs,)
        strided_inputs, specs = _split(tuple(inputs), masked)

        def func_on_values(*args):
            return _densify(func(*_rebuild(args, specs)))

        return gradcheck(func_on_values, strided_inputs, **kwargs)

    return gradcheck_with_sparse_support
