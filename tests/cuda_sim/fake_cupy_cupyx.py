"""``cupyx`` for the fake CuPy: the scatter and special functions ember's kernels use,
``errstate`` and pinned host memory.

``fake_cupy.py`` loads this file (after ``fake_cupy_graph.py``, ``fake_cupy_cuda.py`` and
``fake_cupy_array.py``, which it imports) and puts ``cupyx`` in ``modules()``.
"""

from __future__ import annotations

import types
import weakref

import numpy

import fake_cupy_graph as _graph
from fake_cupy_array import (_common_device, _config, _device_function, _plain, _unwrap_key,
                             atomic_extreme_at)
from fake_cupy_cuda import _pinned_blocks


def _empty_pinned(shape, dtype=float, order="C"):
    """``cupyx.empty_pinned``: a host ``numpy.ndarray`` over a "page-locked" block."""
    block = numpy.empty(shape, dtype=dtype, order=order)
    start = block.__array_interface__["data"][0]
    key = id(block)
    _pinned_blocks[key] = (start, start + max(block.nbytes, 1))
    weakref.finalize(block, _pinned_blocks.pop, key, None)
    return block


def _scatter_add(a, slices, value):
    """``cupyx.scatter_add``: unbuffered ``a[slices] += value`` (NumPy's ``add.at``)."""
    _graph.launch(_scatter_add_now, (a, slices, value), written=[a])


def _scatter_add_now(a, slices, value):
    _common_device([a, value] + list(slices if isinstance(slices, tuple) else [slices]))
    numpy.add.at(a.view(numpy.ndarray), _unwrap_key(slices), _plain(value))


class _SpecialModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        import scipy.special

        return _device_function(getattr(scipy.special, name))


def _scatter_with(ufunc):
    def scatter(a, slices, value):
        """``cupyx.scatter_max``/``scatter_min``: ``maximum.at``/``minimum.at`` on CuPy
        (``fake_cupy_array.atomic_extreme_at``: float32 comparisons for floats)."""
        _graph.launch(scatter_now, (a, slices, value), written=[a])

    def scatter_now(a, slices, value):
        _common_device([a, value] + list(slices if isinstance(slices, tuple) else [slices]))
        atomic_extreme_at(ufunc, a, slices, value)

    return scatter


class errstate:
    """``cupyx.errstate(linalg="raise")``: inv/solve/cholesky raise LinAlgError inside."""

    def __init__(self, *, linalg=None):
        self.linalg, self._previous = linalg, []

    def __enter__(self):
        self._previous.append(dict(_config))
        if self.linalg is not None:
            _config["linalg"] = self.linalg
        return self

    def __exit__(self, *exc):
        _config.update(self._previous.pop())
        return False


def _geterr():
    return dict(_config)


cupyx = types.ModuleType("cupyx")
cupyx.errstate = errstate
cupyx.geterr = _geterr
cupyx.scatter_add = _scatter_add
cupyx.scatter_max = _scatter_with(numpy.maximum)
cupyx.scatter_min = _scatter_with(numpy.minimum)
cupyx.empty_pinned = _empty_pinned
cupyx.scipy = types.ModuleType("cupyx.scipy")
cupyx.scipy.special = _SpecialModule("cupyx.scipy.special")
