"""``check_invariants`` of the compressed constructors, with torch's messages.

Run when a constructor gets ``check_invariants=True`` or inside
``torch.sparse.check_sparse_tensor_invariants()`` (off by default, as in PyTorch: the
checks cost passes over the indices). Shapes are checked first, then the index values,
each with one vectorized test.
"""

from __future__ import annotations

import numpy as np

from .._backend import array_module
from ._compressed import _BLOCKED, _ROW_COMPRESSED

_TYPE_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
               "uint8": "Byte", "float32": "Float", "float64": "Double", "bool": "Bool",
               "float16": "Half", "bfloat16": "BFloat16"}


def _type_name(tensor):
    name = str(tensor.dtype).rsplit(".", 1)[-1]
    return _TYPE_NAMES.get(name, name)


def _fail(message):
    raise RuntimeError(message)


def check_invariants(layout, cidx, pidx, values, size):
    """Raise torch's RuntimeError for the first invariant the parts break."""
    row = layout in _ROW_COMPRESSED
    cname, pname = ("crow", "col") if row else ("ccol", "row")
    if cidx.dtype != pidx.dtype:
        _fail(f"{cname}_indices and {pname}_indices must have the same dtype, bot got "
              f"{_type_name(cidx)} and {_type_name(pidx)}, respectively")
    if str(cidx.dtype) not in ("torch.int32", "torch.int64"):
        _fail(f"{cname}_indices and {pname}_indices dtype must be Int or Long, but got "
              f"{_type_name(cidx)}")
    if cidx.ndim != pidx.ndim:
        _fail(f"{cname}_indices and {pname}_indices dimensionalities must be equal but got "
              f"{cidx.ndim} and {pidx.ndim}, respectively")
    batch = cidx.ndim - 1
    block_ndim = 2 if layout in _BLOCKED else 0
    if values.ndim <= batch + block_ndim:
        what = f"{batch} + {block_ndim}" if layout in _BLOCKED else f"{batch} + 0"
        _fail("values must have dimensionality > sum of batch and block dimensionalities "
              f"(={what}) but got {values.ndim}")
    dense = values.ndim - batch - 1 - block_ndim
    if len(size) != batch + 2 + dense:
        _fail("tensor dimensionality must be sum of batch, base, and dense dimensionalities "
              f"(={batch} + 2 + {dense}) but got {len(size)}")
    batch_shape = list(size[:batch])
    parts = (list(cidx.shape[:batch]), list(pidx.shape[:batch]), list(values.shape[:batch]))
    if any(p != batch_shape for p in parts):
        _fail(f"all batch dimensions of {cname}_indices (={parts[0]}), {pname}_indices "
              f"(={parts[1]}), and values (={parts[2]}) must be equal to tensor batch "
              f"dimensions (={batch_shape})")
    block = tuple(values.shape[batch + 1:batch + 3]) if block_ndim else (1, 1)
    for d in (0, 1):
        if block_ndim and size[batch + d] % block[d]:
            _fail(f"tensor shape[{batch + d}] (={size[batch + d]}) must be divisible with "
                  f"blocksize[{d}] (={block[d]}) as defined by values shape")
    nrows, ncols = size[batch] // block[0], size[batch + 1] // block[1]
    n_compressed, n_plain = (nrows, ncols) if row else (ncols, nrows)
    if cidx.shape[-1] != n_compressed + 1:
        unit = ("rows" if row else "columns") if not block_ndim else (
            "row blocks" if row else "column blocks")
        _fail(f"{cname}_indices.shape[-1] must be equal to the number of {unit} + 1 "
              f"(={n_compressed + 1}), but got {cidx.shape[-1]}")
    nnz = values.shape[batch]
    if pidx.shape[-1] != nnz:
        _fail(f"{pname}_indices.shape[-1] must be equal to nnz (={nnz}) as defined by "
              f"values.shape[{batch}], but got {pidx.shape[-1]}")
    _check_values(cidx._data, pidx._data, cname, pname, n_plain, nnz, row)


def _check_values(c, p, cname, pname, n_plain, nnz, row):
    xp = array_module(c)
    c = c.reshape(-1, c.shape[-1]).astype(np.int64)
    p = p.reshape(-1, p.shape[-1]).astype(np.int64)
    if c.shape[0] and bool((c[:, 0] != 0).any()):
        _fail(f"`{cname}_indices[..., 0] == 0` is not satisfied.")
    if c.shape[0] and bool((c[:, -1] != nnz).any()):
        _fail(f"`{cname}_indices[..., -1] == nnz` is not satisfied.")
    extent = "ncols" if row else "nrows"
    if p.size and bool(((p < 0) | (p >= n_plain)).any()):
        _fail(f"`0 <= {pname}_indices < {extent}` is not satisfied.")
    steps = c[:, 1:] - c[:, :-1]
    if steps.size and bool(((steps < 0) | (steps > n_plain)).any()):
        _fail(f"`0 <= {cname}_indices[..., 1:] - {cname}_indices[..., :-1] <= {extent}` is "
              "not satisfied.")
    if p.shape[-1] > 1:
        # Within a slice each plain index must exceed the previous; a slice start resets.
        n_compressed = c.shape[1] - 1
        starts = xp.zeros(p.shape, dtype=bool)
        batch = xp.repeat(xp.arange(c.shape[0]), n_compressed)
        first = c[:, :n_compressed].reshape(-1)
        inside = first < p.shape[1]
        starts[batch[inside], first[inside]] = True
        increasing = p[:, 1:] > p[:, :-1]
        if bool((~increasing & ~starts[:, 1:]).any()):
            compressed_dim = "nrows" if row else "ncols"
            _fail(f"`{pname}_indices[..., {cname}_indices[..., i - 1]:{cname}_indices[..., i]] "
                  f"for all i = 1, ..., {compressed_dim} are sorted and distinct along the last "
                  "dimension values` is not satisfied.")
