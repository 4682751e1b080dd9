"""The ``torch`` top-level names gathered from their small modules (one import line in
``ember/__init__.py``)."""

# ruff: noqa: F401, F403  (re-exports)

from ._sym_ops import *
from ._toplevel_flags import *
from ._sym_ops import __all__ as _sym_names
from ._toplevel_flags import __all__ as _flag_names

__all__ = [*_sym_names, *_flag_names]
