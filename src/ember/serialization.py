"""``ember.save`` / ``ember.load``: PyTorch's checkpoint files, both ways, safe by default.

``save`` writes PyTorch's zip format, so ``torch.load(f, weights_only=True)`` reads it.
``load`` reads that format and the legacy (pre-1.6) one. By default it unpickles only an
allowlist of globals (tensor rebuilders, storages, dtypes, OrderedDict, ...), as
PyTorch's ``weights_only=True`` does: a checkpoint cannot run code on load. Writes to a
path are atomic: a failed save leaves any previous file intact.

Tensor subclasses, tensors with attributes, MaskedTensor and nested tensors use torch's
own forms (``_serialization_subclass``); the knobs torch.serialization has around
save/load (``skip_data``, load endianness, mmap flags, ``config``) are in
``_serialization_options``.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import collections
import contextlib
import io
import os
import pickle
import struct
import tempfile
import zipfile
import zlib

from . import _serialization_format as fmt
from . import _serialization_subclass as _sub
from ._serialization_options import (  # noqa: F401  (torch.serialization's names)
    DEFAULT_PROTOCOL,
    MAP_PRIVATE,
    MAP_SHARED,
    LoadEndianness,
    SourceChangeWarning,
    check_module_version_greater_or_equal,
    get_crc32_options,
    get_default_load_endianness,
    get_default_mmap_options,
    get_unsafe_globals_in_checkpoint,
    set_crc32_options,
    set_default_load_endianness,
    set_default_mmap_options,
    mkdtemp,
    skip_data,
    validate_cuda_device,
)
from ._serialization_options import skipping_data as _skipping_data
from ._backend import dtypes as _dt

__all__ = ["save", "load"]

_user_safe_globals: list = []


# ---------------------------------------------------------------------------
# Safe globals
# ---------------------------------------------------------------------------


def add_safe_globals(safe_globals) -> None:
    """Allow these classes/functions (or ``(obj, "module.name")`` pairs) in weights-only
    loads."""
    _user_safe_globals.extend(safe_globals)


def get_safe_globals() -> list:
    return list(_user_safe_globals)


def clear_safe_globals() -> None:
    _user_safe_globals.clear()


@contextlib.contextmanager
def safe_globals(safe_globals):
    """Context manager form of ``add_safe_globals``."""
    before = len(_user_safe_globals)
    _user_safe_globals.extend(safe_globals)
    try:
        yield
    finally:
        del _user_safe_globals[before:]


def _get_layout(name):
    from .sparse._layout import layout_from_name

    return layout_from_name(name)


def _rebuild_sparse_tensor(layout, data):
    from .sparse._coo import _rebuild_sparse_tensor as rebuild

    return rebuild(layout, data)


def _builtin_allowlist():
    from ._backend.device import device
    from ._tensor import Size, Tensor
    from .nn.parameter import Parameter

    allowed = {
        "collections.OrderedDict": collections.OrderedDict,
        "collections.Counter": collections.Counter,
        "builtins.set": set,
        "builtins.frozenset": frozenset,
        "builtins.bytearray": bytearray,
        "builtins.complex": complex,
        "_codecs.encode": codecs.encode,
        "torch._utils._rebuild_tensor": fmt.rebuild_tensor,
        "torch._utils._rebuild_tensor_v2": fmt.rebuild_tensor_v2,
        "torch._utils._rebuild_tensor_v3": fmt.rebuild_tensor_v3,
        "torch.storage.UntypedStorage": fmt.StorageType(_dt.uint8),
        "torch._utils._rebuild_meta_tensor_no_storage": fmt.rebuild_meta_tensor_no_storage,
        "torch._utils._rebuild_parameter": fmt.rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": fmt.rebuild_parameter,
        "torch._tensor._rebuild_from_type_v2": fmt.rebuild_from_type_v2,
        "torch.serialization._get_layout": _get_layout,
        "torch._utils._rebuild_sparse_tensor": _rebuild_sparse_tensor,
        "torch.Size": Size,
        "torch.Tensor": Tensor,
        "torch.device": device,
        "torch.nn.parameter.Parameter": Parameter,
    }
    for name, d in fmt.STORAGE_NAMES.items():
        allowed[f"torch.{name}"] = fmt.StorageType(d)
    for d in _dt.ALL_DTYPES:
        allowed[f"torch.{d.name}"] = d
    for alias, d in _dt.ALIASES.items():
        allowed[f"torch.{alias}"] = d
    from ._ops.quantized import checkpoint_globals  # quantized tensors, dtypes, qschemes

    allowed.update(checkpoint_globals())
    allowed.update(_sub.allowed_by_default())  # nested tensors, as torch after import
    return allowed


def _qualified(obj):
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"


def _lookup_user_global(full_name):
    candidates = {full_name}
    mapped = _sub.ember_object_for(full_name)  # torch's MaskedTensor -> ember's
    if mapped is not None:
        candidates.add(_qualified(mapped))
    for src, dst in (("torchvision.", "ember.vision."), ("torch.", "ember.")):
        if full_name.startswith(src):
            candidates.add(dst + full_name[len(src):])
    for entry in _user_safe_globals:
        if isinstance(entry, tuple):
            if len(entry) != 2:
                raise _BadSafeGlobalLength(
                    "Expected tuple of length 2 (global, str of callable full path), but got "
                    f"tuple of length: {len(entry)}")
            if type(entry[1]) is not str:
                raise _BadSafeGlobalName(
                    "Expected second item in tuple to be str of callable full path, but got: "
                    f"{type(entry[1])}")
            obj, name = entry
            if name in candidates:
                return obj
        elif _qualified(entry) in candidates:
            return entry
    return None


def _python3_name(module, name):
    """Protocol-2 pickles name Python 2 modules (``__builtin__.long``); map them."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


class _AllowlistUnpickler(pickle.Unpickler):
    """Both load modes: Python 2 names mapped, then the allowlist (``allowed``: full name ->
    object) consulted; a subclass's ``_unlisted`` decides about every other global."""

    def __init__(self, file, allowed):
        super().__init__(file)
        self._allowed = allowed

    def find_class(self, module, name):
        module, name = _python3_name(module, name)
        full_name = f"{module}.{name}"
        if full_name in self._allowed:
            return self._allowed[full_name]
        return self._unlisted(module, name, full_name)


class _WeightsOnlyUnpickler(_AllowlistUnpickler):
    """Resolves only allowlisted globals; anything else is refused before it exists."""

    def _unlisted(self, module, name, full_name):
        found = _lookup_user_global(full_name)
        if found is not None:
            return found
        raise pickle.UnpicklingError(
            "Weights only load failed. This file can still be loaded, to do so you have two "
            "options, do those steps only if you trust the source of the checkpoint.\n\t(1) "
            "Re-running `ember.load` with `weights_only` set to `False` will likely succeed, "
            "but it can result in arbitrary code execution. Do it only if you got the file "
            "from a trusted source.\n\t(2) Alternatively, to load with `weights_only=True` "
            "allowlist the global.\n\tWeightsUnpickler error: Unsupported global: GLOBAL "
            f"{full_name} was not an allowed global by default. Please use "
            f"`ember.serialization.add_safe_globals([{full_name}])` or the "
            f"`ember.serialization.safe_globals([{full_name}])` context manager to allowlist "
            "this global if you trust this class/function."
        )


class _FullUnpickler(_AllowlistUnpickler):
    """weights_only=False: any global, with torch's names mapped to ember's."""

    def _unlisted(self, module, name, full_name):
        mapped = _sub.ember_object_for(full_name)
        if mapped is not None:
            return mapped
        for src, dst in (("torchvision", "ember.vision"), ("torch", "ember")):
            if module == src or module.startswith(src + "."):
                try:
                    return pickle.Unpickler.find_class(self, dst + module[len(src):], name)
                except (ImportError, AttributeError):
                    raise pickle.UnpicklingError(
                        f"ember does not implement {full_name} yet"
                    ) from None
        try:
            return pickle.Unpickler.find_class(self, module, name)
        except AttributeError as exc:  # torch.load's error for a class that is gone
            raise _MissingGlobal(str(exc)) from None


class _CallerError(Exception):
    """Errors of the caller's setup, not of the file: ``load`` raises them as they are
    (as torch.load does) instead of as a corrupt checkpoint."""


class _MissingGlobal(_CallerError, AttributeError):
    """A global the checkpoint names that its module no longer has (AttributeError: Can't
    get attribute ...)."""


class _BadSafeGlobalLength(_CallerError, ValueError):
    """An ``add_safe_globals`` tuple that is not ``(obj, "module.name")``."""


class _BadSafeGlobalName(_CallerError, TypeError):
    """An ``add_safe_globals`` tuple whose name is not a str."""


# ---------------------------------------------------------------------------
# save
# ---------------------------------------------------------------------------


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False) -> None:
    """Write ``obj`` (tensors, state_dicts, containers, numbers, strings) in PyTorch's zip
    format to a path, ``pathlib.Path`` or binary file object. Inside ``skip_data()`` the
    storages are laid out but left as zeros; ``_disable_byteorder_record`` leaves out the
    byte-order record (loads then follow ``set_default_load_endianness``)."""
    if _skipping_data() and not _use_new_zipfile_serialization:
        raise RuntimeError("Cannot use skip_data=True with _use_new_zipfile_serialization=False")
    options = {"byteorder": not _disable_byteorder_record, "skip_data": _skipping_data()}
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise RuntimeError(f"Parent directory {directory} does not exist.")
        archive = os.path.splitext(os.path.basename(path))[0] or "archive"
        handle, temp_path = tempfile.mkstemp(prefix=".ember-save-", dir=directory)
        try:
            with os.fdopen(handle, "wb") as out:
                fmt.write_zip(obj, out, archive, **options)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp_path, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp_path)
            raise
        return
    if not hasattr(f, "write"):
        raise AttributeError(
            f"expected 'f' to be string, path, or a file-like object with a 'write' attribute "
            f"(got {type(f).__name__})"
        )
    buffer = io.BytesIO()
    fmt.write_zip(obj, buffer, "archive", **options)
    f.write(buffer.getvalue())


# ---------------------------------------------------------------------------
# load
# ---------------------------------------------------------------------------


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Read a checkpoint written by ``torch.save`` (zip or legacy format) or ``ember.save``.

    ``weights_only`` (default True) refuses every global outside the allowlist with
    ``pickle.UnpicklingError``; ``mmap=True`` (default: ``config.load.mmap``) maps
    storages from the file instead of reading them, copy-on-write unless
    ``set_default_mmap_options(MAP_SHARED)``. ``map_location`` may be a device, a string,
    a dict or a callable. Big-endian files are read and swapped to this machine's order.
    """
    if weights_only is None:
        weights_only = True
    if mmap is None:
        from .utils.serialization import config

        mmap = config.load.mmap
    _check_map_location(map_location)
    allowed = _builtin_allowlist()
    unpickler_cls = _WeightsOnlyUnpickler if weights_only else _FullUnpickler

    def make_unpickler(stream):
        return unpickler_cls(stream, allowed)

    name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "<file>")
    if mmap and not isinstance(f, (str, os.PathLike)):
        raise ValueError("f must be a file path in order to use the mmap argument")
    with _open(f) as stream:
        head = stream.read(4)
        stream.seek(-len(head), io.SEEK_CUR)
        try:
            if head == b"PK\x03\x04":
                onto_meta = _is_meta_location(map_location)  # no bytes read, as PyTorch's
                result = fmt.read_zip(stream, make_unpickler,
                                      mmap_path=os.fspath(f) if mmap else None,
                                      restore=None if onto_meta else _restorer(map_location),
                                      meta=onto_meta, skip=_skipping_data())
                map_location = None  # applied per storage
            elif head[:1] == b"\x80" or head[:1] in (b"K", b"J", b"\x8a"):
                if mmap:
                    raise RuntimeError(
                        "mmap can only be used with files saved with "
                        "`torch.save(_use_new_zipfile_serialization=True), "
                        "please torch.save your checkpoint with this option in order to use "
                        "mmap.")
                result = fmt.read_legacy(stream, make_unpickler)
            elif not head:
                raise EOFError("Ran out of input")
            else:
                raise pickle.UnpicklingError(
                    f"invalid load key, {head[:1]!r}: {name} is not a PyTorch checkpoint"
                )
        except (pickle.UnpicklingError, fmt.CheckpointError, EOFError, _CallerError):
            raise
        except zipfile.BadZipFile as exc:
            raise fmt.CheckpointError(
                f"PytorchStreamReader failed reading zip archive {name}: {exc}"
            ) from None
        except (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError,
                struct.error, zlib.error, UnicodeDecodeError, MemoryError, RecursionError) as exc:
            raise fmt.CheckpointError(
                f"{name} is corrupt or not a checkpoint: {type(exc).__name__}: {exc}"
            ) from None
    return _apply_map_location(result, map_location)


@contextlib.contextmanager
def _open(f):
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as handle:
            yield handle
        return
    if not hasattr(f, "read"):
        raise AttributeError(
            f"expected 'f' to be string, path, or a file-like object with a 'read' attribute "
            f"(got {type(f).__name__})"
        )
    if hasattr(f, "seekable") and not f.seekable():
        yield io.BytesIO(f.read())
        return
    yield f


def _check_map_location(map_location):
    from ._backend.device import device

    if map_location is None or callable(map_location):
        return
    locations = map_location.values() if isinstance(map_location, dict) else [map_location]
    for loc in locations:
        dev = loc if isinstance(loc, device) else device(str(loc))
        if dev.type == "cuda":
            from ._backend.device import cupy_module

            if cupy_module() is None:
                raise RuntimeError(
                    "Attempting to deserialize object on a CUDA device but "
                    "ember.cuda.is_available() is False. If you are running on a CPU-only "
                    "machine, please use ember.load with map_location=ember.device('cpu') to "
                    "map your storages to the CPU."
                )
        elif dev.type not in ("cpu", "meta"):
            raise RuntimeError(f"don't know how to restore data location of {dev}")


def _is_meta_location(map_location):
    """``map_location`` names the meta device outright (a dict or callable may map to
    meta too: their storages are read, then restored onto meta)."""
    from ._backend.device import device

    return str(map_location) == "meta" if isinstance(map_location, (str, device)) else False


def _restorer(map_location):
    """PyTorch's restore rule for one storage saved at ``location`` ('cpu', 'cuda:1'): a
    callable's answer if it gives one; else the dict's mapping of that location, or the
    one device named; else where it was saved."""
    from ._backend.device import device

    def restore(storage, location):
        target = location
        if isinstance(map_location, dict):
            target = str(map_location.get(location, location))
        elif isinstance(map_location, (str, device)):
            target = str(map_location)
        elif callable(map_location):
            result = map_location(storage, location)
            if result is not None:
                return result if isinstance(result, fmt.LoadedStorage) else \
                    fmt.LoadedStorage(getattr(result, "_data", result))
        return _storage_to(storage, target)

    return restore


def _storage_to(storage, location):
    """``storage`` with its array on ``location``; PyTorch's errors for a missing GPU."""
    from ._backend.device import cupy_module, device, device_of

    dev = location if isinstance(location, device) else device(str(location))
    if dev.type == "cpu":
        array = storage.array
        return storage if device_of(array).type == "cpu" else fmt.LoadedStorage(array.get())
    if dev.type == "meta":
        from ._backend.meta import to_meta

        return fmt.LoadedStorage(to_meta(storage.array))
    if dev.type != "cuda":
        raise RuntimeError(f"don't know how to restore data location of {location}")
    cp = cupy_module()
    if cp is None:
        raise RuntimeError(
            "Attempting to deserialize object on a CUDA device but "
            "ember.cuda.is_available() is False. If you are running on a CPU-only "
            "machine, please use ember.load with map_location=ember.device('cpu') to "
            "map your storages to the CPU.")
    count = int(cp.cuda.runtime.getDeviceCount())
    index = int(cp.cuda.runtime.getDevice()) if dev.index is None else dev.index
    if index >= count:
        raise RuntimeError(
            f"Attempting to deserialize object on CUDA device {index} but "
            f"ember.cuda.device_count() is {count}. Please use ember.load with map_location "
            "to map your storages to an existing device.")
    with cp.cuda.Device(index):
        return fmt.LoadedStorage(cp.asarray(storage.array))


def _apply_map_location(obj, map_location):
    """Move every tensor to the requested device (legacy checkpoints load to cpu first)."""
    if map_location is None:
        return obj
    from ._tensor import Tensor

    def target(tensor):
        if callable(map_location) and not isinstance(map_location, (str, dict)):
            return None
        if isinstance(map_location, dict):
            return map_location.get("cpu", None)
        return map_location

    def move(value):
        if isinstance(value, Tensor):
            dev = target(value)
            if dev is None or str(dev) == "cpu":
                return value
            moved = value.to(dev)
            moved.requires_grad_(value.requires_grad)
            return moved
        if isinstance(value, collections.OrderedDict):
            out = collections.OrderedDict((k, move(v)) for k, v in value.items())
            if hasattr(value, "_metadata"):
                out._metadata = value._metadata
            return out
        if type(value) is dict:
            return {k: move(v) for k, v in value.items()}
        if type(value) is list:
            return [move(v) for v in value]
        if type(value) is tuple:
            return tuple(move(v) for v in value)
        return value

    return move(obj)


# ---------------------------------------------------------------------------
# Plain pickling of ember tensors (DataLoader workers, copy, user pickles)
# ---------------------------------------------------------------------------


def _rebuild_from_array(array, requires_grad, location="cpu"):
    from ._tensor import _make

    if location != "cpu":  # a pickled cuda tensor comes back on its device, as PyTorch's
        array = _storage_to(fmt.LoadedStorage(array), location).array
    tensor = _make(array)
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor


def _reduce_tensor(tensor):
    array = tensor._data
    location = "cpu"
    if hasattr(array, "get"):
        if tensor.is_meta:  # no data: PyTorch's reduce for meta tensors
            return _reduce_meta_tensor(tensor)
        location = f"cuda:{array.device.id}"
        array = array.get()
    state = {k: v for k, v in tensor.__dict__.items() if not k.startswith("_post")}
    if type(tensor).__name__ == "Parameter":
        data = _rebuild_from_array(array, False, location)
        return (type(tensor), (data, tensor.requires_grad), state or None)
    return (_rebuild_from_array, (array, tensor.requires_grad, location), state or None)


def _reduce_meta_tensor(tensor):
    """A meta tensor pickles as its geometry, as PyTorch's does (no storage offset)."""
    geometry = (tensor.dtype, tuple(tensor.shape), tuple(tensor.stride()))
    state = {k: v for k, v in tensor.__dict__.items() if not k.startswith("_post")}
    if type(tensor).__name__ == "Parameter":
        data = fmt.rebuild_meta_tensor_no_storage(*geometry)
        return (type(tensor), (data, tensor.requires_grad), state or None)
    return (fmt.rebuild_meta_tensor_no_storage, (*geometry, tensor.requires_grad), state or None)
