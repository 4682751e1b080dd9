"""The pickler a PackageExporter writes resources with, and the reading of a pickle's globals.

Objects are pickled as torch.package pickles them: protocol 3 (or 4), classes and functions
named through the exporter's importer (so a class loaded from a package is written under
its unmangled name), and every tensor in PyTorch's checkpoint form
(``torch._utils._rebuild_tensor_v2`` over a persistent id
``("storage", torch.FloatStorage, key, location, numel)``), whose bytes the exporter
stores as ``.data/<key>.storage``. ember's checkpoint writer (``_serialization_format``)
supplies those forms, so a package's tensors and a ``torch.save`` file's agree.
"""

from __future__ import annotations

import pickle
import pickletools
from types import FunctionType

from .. import _serialization_format as fmt
from .importer import ObjMismatchError, ObjNotFoundError


def _is_tensor_like(obj) -> bool:
    from .._backend import dtypes as _dt
    from .._backend.device import device
    from .._serialization_subclass import is_nested
    from .._tensor import Size, Tensor

    return isinstance(obj, (Tensor, _dt.dtype, device, Size)) or is_nested(obj)


class PackagePickler(pickle._Pickler):
    """Pickles through ``importer`` (names) and ``writer`` (tensor forms and storages);
    ``reduce_package(obj)`` answers for objects with ``__reduce_package__``."""

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file, importer, writer, reduce_package, protocol: int = 3) -> None:
        super().__init__(file, protocol=protocol)
        self.importer = importer
        self._writer = writer
        self._reduce_package = reduce_package

    def reducer_override(self, obj):
        if _is_tensor_like(obj):
            converted = self._writer.convert(obj, self._writer.memo)
            if converted is not obj:
                return converted.__reduce__()
        return NotImplemented

    def persistent_id(self, obj):
        if isinstance(obj, fmt._StorageRef):
            return ("storage", fmt.TorchGlobal("torch", obj.storage_name), obj.key,
                    obj.location, obj.numel)
        if type(obj) is not fmt.TorchGlobal and hasattr(obj, "__reduce_package__"):
            return self._reduce_package(obj)
        return None

    def save_torch_global(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
        self.memoize(obj)

    dispatch[fmt.TorchGlobal] = save_torch_global

    def save_global(self, obj, name=None):
        """A class or function by the name the importer finds it under."""
        try:
            module_name, name = self.importer.get_name(obj, name)
        except (ObjNotFoundError, ObjMismatchError) as error:
            raise pickle.PicklingError(f"Can't pickle {obj}: {error}") from error
        module = self.importer.import_module(module_name)
        *outer, last = name.split(".")
        parent = module
        for part in outer:
            parent = getattr(parent, part)
        if self.proto >= 4:
            self.save(module_name)
            self.save(name)
            self.write(pickle.STACK_GLOBAL)
        elif parent is not module:  # a nested name: getattr(parent, last)
            self.save_reduce(getattr, (parent, last))
        else:
            self.write(pickle.GLOBAL + f"{module_name}\n{name}\n".encode("utf-8"))
        self.memoize(obj)

    dispatch[FunctionType] = save_global


_STRINGS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING",
            "BINSTRING", "STRING"}
_GETS = {"GET", "BINGET", "LONG_BINGET"}
_PUTS = {"PUT", "BINPUT", "LONG_BINPUT"}


def pickle_globals(data: bytes) -> list[tuple[str, str]]:
    """(module, name) of every global a pickle references, in order: GLOBAL opcodes, and
    STACK_GLOBAL with the two strings pushed before it (directly or from the memo)."""
    found: list[tuple[str, str]] = []
    memo: dict[int, object] = {}
    recent: list[object] = [None, None]
    top = None  # the value last pushed, when it is a string (else None)
    for opcode, arg, _ in pickletools.genops(data):
        name = opcode.name
        if name in _STRINGS:
            top = arg
            recent = [recent[-1], arg]
        elif name == "MEMOIZE":
            memo[len(memo)] = top
        elif name in _PUTS:
            memo[arg] = top
        elif name in _GETS:
            top = memo.get(arg)
            recent = [recent[-1], top]
        elif name == "GLOBAL":
            module, _, attr = arg.partition(" ")
            found.append((module, attr))
            top = None
        elif name == "STACK_GLOBAL":
            if isinstance(recent[0], str) and isinstance(recent[1], str):
                found.append((recent[0], recent[1]))
            top = None
        else:
            top = None
    return found
