"""Strided views and the storage they share, alike on NumPy and CuPy.

A tensor's storage is the array that owns its memory. NumPy and CuPy both name it through
``.base`` (a view of a view names the owner, not the view in between), with one gap:
CuPy's ``as_strided`` (and ``cupy.ndarray(memptr=...)``) is a new array over the same
pointer whose ``base`` is None. ``strided_view`` is how ember builds such views; for an
array that came back without a base it records the storage it came from, so
``storage_root`` still finds it (and storage offsets, ``untyped_storage()`` and
``as_strided`` of the view keep working on a GPU).

Addresses come from ``data_ptr``: NumPy's ``__array_interface__`` (CuPy arrays have none)
or CuPy's ``data.ptr`` (the address of the first element, offset included).
"""

from __future__ import annotations

import weakref

import numpy as np

from .device import array_module

# id(view) -> the array owning its memory, for views made with no base; each entry goes
# when its view is collected (a finalizer), so ids are never reused while recorded
_storage_of = {}


def data_ptr(array) -> int:
    """The address of ``array``'s first element."""
    if type(array) is np.ndarray:
        return array.__array_interface__["data"][0]
    interface = getattr(array, "__array_interface__", None)  # NumPy subclasses (meta)
    return array.data.ptr if interface is None else interface["data"][0]


def storage_root(array):
    """The array that owns ``array``'s memory (its storage)."""
    root = array
    kind = type(array)
    while True:
        recorded = _storage_of.get(id(root))
        if recorded is not None:
            return recorded
        # NumPy's as_strided hangs its source off a DummyArray: step over bases of
        # other types
        base = root.base
        while base is not None and not isinstance(base, kind):
            base = getattr(base, "base", None)
        if base is None:
            return root
        root = base


def storage_offset(array) -> int:
    """Offset of ``array``'s first element from the start of its storage, in elements."""
    root = storage_root(array)
    if root is array:
        return 0
    return (data_ptr(array) - data_ptr(root)) // array.dtype.itemsize


def adopt_storage(view, source):
    """Record that ``view`` (an array made over ``source``'s memory) shares ``source``'s
    storage, when its own ``base`` does not say so. Returns ``view``."""
    if view.base is None and view is not source:
        root = storage_root(source)
        key = id(view)
        _storage_of[key] = root
        weakref.finalize(view, _storage_of.pop, key, None)
    return view


def strided_view(array, shape, byte_strides):
    """A writable view of ``array``'s memory from its first element, with ``shape`` and
    ``byte_strides``, sharing ``array``'s storage."""
    view = array_module(array).lib.stride_tricks.as_strided(array, shape, byte_strides)
    return adopt_storage(view, array)
