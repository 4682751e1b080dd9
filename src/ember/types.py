"""``torch.types``: the type aliases PyTorch's signatures are annotated with.

``Number``, ``Device``, ``FileLike`` and the ``Storage`` interface are public; the
underscored aliases (``_size``, ``_dtype``, ``_TensorOrTensors``, ...) are what library
code writes in annotations, so annotations copied from PyTorch resolve here too.
"""

from __future__ import annotations

import os
from builtins import (  # noqa: F401 - re-exported under PyTorch's names
    bool as _bool,
    bytes as _bytes,
    complex as _complex,
    float as _float,
    int as _int,
    str as _str,
)
from collections.abc import Sequence
from typing import IO, Any, TypeAlias

from . import Size, SymBool, SymFloat, SymInt, Tensor
from . import device as _device  # noqa: F401
from . import dtype as _dtype  # noqa: F401
from . import layout as _layout  # noqa: F401
from . import qscheme as _qscheme  # noqa: F401

__all__ = ["Number", "Device", "FileLike", "Storage"]

_TensorOrTensors: TypeAlias = Tensor | Sequence[Tensor]
_TensorOrOptionalTensors: TypeAlias = Tensor | Sequence[Tensor | None]
_TensorOrTensorsOrGradEdge: TypeAlias = Tensor | Sequence[Tensor] | Any
_size: TypeAlias = Size | list[int] | tuple[int, ...]
_symsize: TypeAlias = Size | Sequence[int | SymInt]
_dispatchkey: TypeAlias = str

IntLikeType: TypeAlias = int | SymInt
FloatLikeType: TypeAlias = float | SymFloat
BoolLikeType: TypeAlias = bool | SymBool

py_sym_types = (SymInt, SymFloat, SymBool)
PySymType: TypeAlias = SymInt | SymFloat | SymBool

Number: TypeAlias = int | float | bool
_Number = (int, float, bool)  # for isinstance checks

FileLike: TypeAlias = str | os.PathLike[str] | IO[bytes]

Device: TypeAlias = _device | str | int | None


class Storage:
    """The interface a storage offers (PyTorch's typing stub: every method raises
    NotImplementedError here; ``ember.UntypedStorage`` and ``ember.TypedStorage`` are
    the implementations)."""

    _cdata: int
    device: _device
    dtype: _dtype
    _torch_load_uninitialized: bool

    def __deepcopy__(self, memo: dict[int, Any]) -> Storage:
        raise NotImplementedError

    def _new_shared(self, size: int) -> Storage:
        raise NotImplementedError

    def _write_file(self, f: Any, is_real_file: bool, save_size: bool,
                    element_size: int) -> None:
        raise NotImplementedError

    def element_size(self) -> int:
        raise NotImplementedError

    def is_shared(self) -> bool:
        raise NotImplementedError

    def share_memory_(self) -> Storage:
        raise NotImplementedError

    def nbytes(self) -> int:
        raise NotImplementedError

    def cpu(self) -> Storage:
        raise NotImplementedError

    def data_ptr(self) -> int:
        raise NotImplementedError

    def from_file(self, filename: str, shared: bool = False, nbytes: int = 0) -> Storage:
        raise NotImplementedError

    def _new_with_file(self, f: Any, element_size: int) -> Storage:
        raise NotImplementedError
