"""``torch.utils.benchmark.FuzzedSparseTensor``: a Fuzzer tensor in sparse COO layout,
its number of stored values set by a ``density`` parameter and its coalescing by a
``coalesced`` parameter. Like ``FuzzedTensor``, shapes and properties follow PyTorch for
a seed; values come from ember's generator."""

from __future__ import annotations

import math
from numbers import Number

from .fuzzer import FuzzedTensor

__all__ = ["FuzzedSparseTensor"]


class FuzzedSparseTensor(FuzzedTensor):
    """``size`` as for FuzzedTensor; ``sparse_dim`` / ``nnz`` / ``density`` / ``coalesced``
    name parameters (``density`` and ``coalesced`` are read from the params by those
    names, as PyTorch does)."""

    def __init__(self, name: str, size, min_elements=None, max_elements=None,
                 dim_parameter=None, sparse_dim=None, nnz=None, density=None, coalesced=None,
                 dtype=None, cuda=False) -> None:
        super().__init__(name=name, size=size, min_elements=min_elements,
                         max_elements=max_elements, dim_parameter=dim_parameter, dtype=dtype,
                         cuda=cuda)
        self._density, self._coalesced, self._sparse_dim = density, coalesced, sparse_dim

    @staticmethod
    def sparse_tensor_constructor(size, dtype, sparse_dim, nnz, is_coalesced):
        """``nnz`` random coordinates (duplicates possible) over the first ``sparse_dim``
        dims. Uncoalesced, every coordinate is stored twice (the second time with normal
        values), so the pattern has the same ``nnz`` coordinates either way."""
        import ember

        if isinstance(size, Number):
            size = [size] * sparse_dim
        if all(size[d] <= 0 for d in range(sparse_dim)) and nnz != 0:
            raise AssertionError("invalid arguments")
        value_size = [nnz, *size[sparse_dim:]]
        if dtype.is_floating_point:
            values = ember.rand(size=value_size, dtype=dtype, device="cpu")
        else:
            values = ember.randint(1, 127, size=value_size, dtype=dtype, device="cpu")
        indices = ember.rand(sparse_dim, nnz, device="cpu")
        indices.mul_(ember.tensor(list(size[:sparse_dim])).unsqueeze(1).to(indices))
        indices = indices.to(ember.long)
        if not is_coalesced:
            values = ember.cat([values, ember.randn_like(values)], 0)
            indices = ember.cat([indices, indices], 1)
        tensor = ember.sparse_coo_tensor(indices, values, ember.Size(size))
        return tensor.coalesce() if is_coalesced else tensor

    def _make_tensor(self, params, state):
        size, _, _ = self._get_size_and_steps(params)
        density = params["density"]
        nnz = math.ceil(sum(size) * density)
        if nnz > sum(size):
            raise AssertionError("nnz cannot exceed total number of elements")
        is_coalesced = params["coalesced"]
        sparse_dim = params["sparse_dim"] if self._sparse_dim else len(size)
        sparse_dim = min(sparse_dim, len(size))
        tensor = self.sparse_tensor_constructor(size, self._dtype, sparse_dim, nnz,
                                                is_coalesced)
        if self._cuda:
            tensor = tensor.cuda()
        sparse_dim, dense_dim = tensor.sparse_dim(), tensor.dense_dim()
        return tensor, {
            "numel": int(tensor.numel()), "shape": tensor.size(),
            "is_coalesced": tensor.is_coalesced(), "density": density,
            "sparsity": 1.0 - density, "sparse_dim": sparse_dim, "dense_dim": dense_dim,
            "is_hybrid": len(size[sparse_dim:]) > 0, "dtype": str(self._dtype),
        }
