"""Ufunc methods CuPy lacks, for either array module.

CuPy's ``ufunc.accumulate`` exists for add and multiply only, and ``ufunc.at`` for add,
subtract, maximum, minimum and the bitwise ops (others raise ``NotImplementedError``).
On NumPy these helpers call NumPy's own method; on CuPy they build the same result from
whole-array operations:

- ``running_extreme``: ``maximum.accumulate``/``minimum.accumulate`` along an axis, as a
  Hillis-Steele scan (log2(n) passes of ``maximum`` on shifted slices; NaN propagates as
  in the sequential scan, since ``maximum``/``minimum`` propagate it);
- ``ufunc_at``: ``ufunc.at(out, index, values)`` for any of NumPy's names; ``multiply``
  is a segmented product over the sorted flat targets (a log-step scan too), exact for
  integers (their products wrap the same in any order). ``maximum``/``minimum`` of floats
  do not use CuPy's own ``.at`` (``cupyx.scatter_max``): its atomicMax/atomicMin compare
  with ``fmaxf``/``fminf`` (cupy/_core/include/cupy/atomics.cuh), so NaN is dropped and a
  float64 result is rounded to float32 (a sparse log_softmax over one stored entry came
  out 1e-17, not 0, on an H200). They run on unsigned integer keys ordered as the floats,
  whose atomics are exact.

And ``check_index_bounds``: CuPy wraps out-of-range integer array indices around where
NumPy raises, so a device array's index arrays are checked first.
"""

from __future__ import annotations

import numpy as np

from . import graph_capture as _capture

# the ufunc.at methods CuPy implements (cupy/_core: scatter_add, scatter_max, ...)
_CUPY_AT = frozenset({"add", "subtract", "maximum", "minimum", "bitwise_and", "bitwise_or",
                      "bitwise_xor"})


def _shifted(ndim, axis, start, stop):
    key = [slice(None)] * ndim
    key[axis] = slice(start, stop)
    return tuple(key)


def running_extreme(xp, array, axis, largest):
    """``maximum.accumulate(array, axis)`` (``minimum`` unless ``largest``)."""
    op = xp.maximum if largest else xp.minimum
    if xp is np:
        return op.accumulate(array, axis=axis)
    out = array.copy()
    n, ndim = array.shape[axis], array.ndim
    step = 1
    while step < n:  # out[i] = op(out[i], out[i - step]); the right side is built first
        out[_shifted(ndim, axis, step, None)] = op(
            out[_shifted(ndim, axis, step, None)], out[_shifted(ndim, axis, 0, n - step)])
        step *= 2
    return out


def ufunc_at(xp, name, out, index, values):
    """``getattr(xp, name).at(out, index, values)``, in place, also where CuPy has no
    ``.at`` for ``name`` (multiply) or an inexact one (maximum/minimum of floats)."""
    if xp is not np and name in ("maximum", "minimum") and out.dtype.kind == "f":
        _float_extreme_at(xp, name, out, index, values)
        return
    if xp is np or name in _CUPY_AT:
        getattr(xp, name).at(out, index, values)
        return
    if name != "multiply":
        raise NotImplementedError(f"ufunc_at: no CuPy form for {name}.at")
    _multiply_at(xp, out, index, values)


# float itemsize -> (unsigned type of the same width, the type the key is scattered in:
# CuPy's atomicMax takes 32- and 64-bit unsigned integers, not 16-bit ones)
_KEY_TYPES = {2: (np.uint16, np.uint32), 4: (np.uint32, np.uint32), 8: (np.uint64, np.uint64)}


def _float_keys(xp, x, largest):
    """Unsigned integers ordered as the floats ``x`` (-inf lowest): a non-negative float's
    bits with the sign bit set, a negative one's bits inverted. NaN gets the key that wins
    (all ones for a max, 0 for a min), so it propagates as in NumPy's maximum/minimum."""
    same, scattered = _KEY_TYPES[x.dtype.itemsize]
    sign = same(1 << (8 * x.dtype.itemsize - 1))
    bits = x.view(same)
    keys = xp.where((bits & sign) != 0, ~bits, bits | sign)
    keys = xp.where(xp.isnan(x), same(np.iinfo(same).max if largest else 0), keys)
    return keys.astype(scattered, copy=False)


def _float_extreme_at(xp, name, out, index, values):
    """``maximum.at``/``minimum.at`` of a float ``out``, exactly: the extremes of the keys,
    decoded back into ``out`` (untouched entries decode to themselves)."""
    largest = name == "maximum"
    same = _KEY_TYPES[out.dtype.itemsize][0]
    keys = _float_keys(xp, out, largest)
    getattr(xp, name).at(keys, index, _float_keys(xp, xp.asarray(values, dtype=out.dtype),
                                                  largest))
    keys = keys.astype(same, copy=False)
    sign = same(1 << (8 * out.dtype.itemsize - 1))
    out[...] = xp.where((keys & sign) != 0, keys ^ sign, ~keys).view(out.dtype)


def _multiply_at(xp, out, index, values):
    """out[index] *= values with repeated targets multiplying up: ``index`` is a tuple of
    integer arrays, one per dim of ``out``. The products of each target's values come
    from a segmented scan over the targets in sorted order, then one write per target."""
    parts = index if isinstance(index, tuple) else (index,)
    if len(parts) != out.ndim or any(isinstance(p, slice) or p is None or p is Ellipsis
                                     for p in parts):
        raise NotImplementedError("multiply.at on CuPy: give one index array per dim")
    values = xp.asarray(values, dtype=out.dtype)
    shape = np.broadcast_shapes(*(p.shape for p in parts), values.shape)
    flat = tuple(xp.broadcast_to(p, shape).reshape(-1) for p in parts)
    target = xp.ravel_multi_index(flat, out.shape, mode="wrap") if out.ndim else \
        xp.zeros(1, np.int64)
    vals = xp.broadcast_to(values, shape).reshape(-1)
    m = vals.shape[0]
    if m == 0:
        return
    order = xp.argsort(target)
    target, prods = target[order], vals[order]
    step = 1
    while step < m:  # prods[i] *= prods[i - step] within one target's run
        same = target[step:] == target[:m - step]
        prods[step:] = xp.where(same, prods[step:] * prods[:m - step], prods[step:])
        step *= 2
    last = xp.ones(m, dtype=bool)
    last[:-1] = target[1:] != target[:-1]
    flat_out = out.reshape(-1)
    flat_out[target[last]] *= prods[last]
    if not out.flags.c_contiguous:  # reshape copied: write the result back
        out[...] = flat_out.reshape(out.shape)


def check_index_bounds(array, index):
    """PyTorch's IndexError for an integer index array of ``index`` (a tuple of parts)
    out of range for the dim it indexes of a device ``array``: one reduction and a sync
    per index array; skipped while a CUDA graph captures (no syncs there)."""
    if type(array) is np.ndarray or _capture.ACTIVE[0]:
        return
    consumed = sum(0 if p is None or p is Ellipsis or isinstance(p, bool) else
                   (p.ndim if _is_mask(p) else 1) for p in index)
    dim = 0
    for part in index:
        if part is Ellipsis:
            dim += array.ndim - consumed
        elif part is None or isinstance(part, bool):
            continue
        elif _is_mask(part):
            dim += part.ndim
        else:
            if getattr(part, "ndim", 0) and part.dtype.kind in "iu" and dim < array.ndim:
                size = array.shape[dim]
                bad = (part >= size) | (part < -size)
                if bad.any():
                    value = int(part.reshape(-1)[int(bad.reshape(-1).argmax())])
                    raise IndexError(f"index {value} is out of bounds for dimension {dim} "
                                     f"with size {size}")
            dim += 1


def _is_mask(part):
    return getattr(part, "dtype", None) is not None and part.dtype.kind == "b"
