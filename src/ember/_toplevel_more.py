"""The ``torch`` top-level names gathered from their small modules (one import line in
``ember/__init__.py``)."""

# ruff: noqa: F401, F403  (re-exports)

from ._control_flow import *
from ._dlpack import from_dlpack, to_dlpack
from ._exceptions import *
from ._ops.segment_reduce import segment_reduce
from ._from_file import from_file
from ._native_ops import *
from ._native_ops import __all__ as _native_names
from ._rnn_functional import gru, lstm, rnn_relu, rnn_tanh
from ._storage_legacy import *
from ._stream import *
from ._sym_ops import *
from ._toplevel_flags import *
from ._control_flow import __all__ as _control_flow_names
from ._exceptions import __all__ as _exception_names
from ._storage_legacy import __all__ as _storage_names
from ._stream import __all__ as _stream_names
from ._sym_ops import __all__ as _sym_names
from ._toplevel_flags import __all__ as _flag_names
from .amp import GradScaler  # torch.GradScaler (2.3+): the same class as torch.amp's
from .amp._switches import *
from .amp._switches import __all__ as _autocast_names

__all__ = [*_control_flow_names, *_exception_names, *_stream_names, *_sym_names, *_flag_names,
           "GradScaler", *_autocast_names, "from_dlpack", "to_dlpack", "from_file",
           "segment_reduce",
           *_storage_names, *_native_names, "lstm", "gru", "rnn_tanh", "rnn_relu"]
