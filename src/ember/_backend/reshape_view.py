"""``reshape_view``: an array with a new shape over the same memory, or None where the
memory layout cannot give that shape without a copy (what ``view`` needs to know).

The old way to ask was setting ``array.shape``, which NumPy 2.5 deprecates; NumPy 2.1+
answers with ``reshape(copy=False)`` (ValueError when a copy is needed). CuPy arrays
keep the shape setter (AttributeError when a copy is needed), as does NumPy before 2.1.
"""

from __future__ import annotations

import numpy as np


def _reshape_takes_copy() -> bool:
    try:
        np.ndarray.reshape(np.zeros(1), (1,), copy=False)
    except TypeError:  # NumPy < 2.1
        return False
    return True


_COPY_KEYWORD = _reshape_takes_copy()


def reshape_view(array, shape):
    """``array`` viewed as ``shape``, or None when that needs a copy. NumPy arrays and
    their subclasses (the CuPy double, meta arrays) come back as the same subclass."""
    if _COPY_KEYWORD and isinstance(array, np.ndarray):
        try:
            return np.ndarray.reshape(array, shape, copy=False)
        except ValueError as error:  # "Unable to avoid creating a copy while reshaping."
            if "copy" not in str(error):
                raise  # a wrong size, which the shape setter raised too
            return None
    out = array.view()
    try:
        out.shape = shape
    except AttributeError:
        return None
    return out
