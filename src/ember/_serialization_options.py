"""The knobs around ``ember.save`` / ``ember.load``, as ``torch.serialization``'s: default
load byte order, mmap flags, CRC option, ``skip_data`` and the static check
``get_unsafe_globals_in_checkpoint``. Values live in ``ember.utils.serialization.config``
(what PyTorch reads too), so setting either one is seen by both.
"""

from __future__ import annotations

import contextlib
import enum
import io
import os
import pickletools
import shutil
import sys
import tempfile
import threading
import warnings
import zipfile

DEFAULT_PROTOCOL = 2
MAP_PRIVATE = 2  # mmap.MAP_PRIVATE / MAP_SHARED on Linux and macOS
MAP_SHARED = 1
IS_WINDOWS = sys.platform == "win32"


def _config():
    from .utils.serialization import config

    return config


class SourceChangeWarning(Warning):
    """Kept for ``torch.serialization.SourceChangeWarning`` filters (pickled modules'
    source checks belong to torch's legacy format; ember never raises it)."""


class LoadEndianness(enum.Enum):
    NATIVE = 1
    LITTLE = 2
    BIG = 3


def get_default_load_endianness():
    """Byte order assumed for checkpoints without a ``byteorder`` record (None: little)."""
    return _config().load.endianness


def set_default_load_endianness(endianness) -> None:
    if not isinstance(endianness, LoadEndianness) and endianness is not None:
        raise TypeError("Invalid argument type in function set_default_load_endianness")
    _config().load.endianness = endianness


def file_byteorder(recorded):
    """The byte order of a checkpoint's storages: its ``byteorder`` record, else the
    default load endianness, as ``torch.load`` decides it."""
    if recorded is not None:
        recorded = recorded.strip()
        if recorded not in (b"little", b"big"):
            raise ValueError("Unknown endianness type: " + recorded.decode(errors="replace"))
        return recorded.decode()
    default = get_default_load_endianness()
    if default is None or default == LoadEndianness.LITTLE:
        return "little"
    if default == LoadEndianness.BIG:
        return "big"
    if default == LoadEndianness.NATIVE:
        return sys.byteorder
    raise ValueError("Invalid load endianness type")


def get_crc32_options() -> bool:
    return _config().save.compute_crc32


def set_crc32_options(compute_crc32: bool) -> None:
    """Recorded as PyTorch does; ember writes every record's CRC-32 either way."""
    _config().save.compute_crc32 = compute_crc32


def get_default_mmap_options():
    """Flags of ``load(..., mmap=True)``: MAP_PRIVATE (copy-on-write) by default."""
    return _config().load.mmap_flags


class set_default_mmap_options:
    """Set the mmap flags for ``mmap=True`` loads; as a context manager, only inside it.
    MAP_PRIVATE: writes to loaded tensors stay in memory; MAP_SHARED: they reach the file."""

    def __init__(self, flags: int) -> None:
        if IS_WINDOWS:
            raise RuntimeError(
                "Changing the default mmap options is currently not supported for Windows")
        if flags != MAP_PRIVATE and flags != MAP_SHARED:
            raise ValueError("Invalid argument in function set_default_mmap_options, "
                             f"expected mmap.MAP_PRIVATE or mmap.MAP_SHARED, but got {flags}")
        self.prev = _config().load.mmap_flags
        _config().load.mmap_flags = flags

    def __enter__(self) -> None:
        pass

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        _config().load.mmap_flags = self.prev


def memmap_mode():
    """np.memmap's mode for the configured flags ('c' copy-on-write, 'r+' shared)."""
    return "r+" if get_default_mmap_options() == MAP_SHARED else "c"


_tls = threading.local()


def skipping_data() -> bool:
    return getattr(_tls, "skip_data", False)


class skip_data:
    """Save: storages are laid out but their bytes are left as zeros (to fill in a later
    pass). Load: tensors come back with the checkpoint's geometry, their storages not read
    (zeros here). ``materialize_fake_tensors`` is accepted; ember has no fake tensors."""

    def __init__(self, materialize_fake_tensors: bool = False):
        self.materialize_fake_tensors = materialize_fake_tensors

    def __enter__(self):
        self._old = skipping_data()
        _tls.skip_data = True

    def __exit__(self, exc_type, exc_value, traceback):
        _tls.skip_data = self._old


def get_unsafe_globals_in_checkpoint(f) -> list:
    """The GLOBALs in a checkpoint's pickle that a weights-only load would refuse (not
    allowed by default, nor by ``add_safe_globals``), found without unpickling anything."""
    from . import serialization

    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as handle:
            data = handle.read()
    else:
        data = f.read()
    if data[:4] != b"PK\x03\x04":
        raise ValueError("Expected input to be a checkpoint returned by torch.save")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        if any(n.endswith("constants.pkl") for n in names):
            raise ValueError("Expected input to be a checkpoint returned by torch.save but "
                             "got a torchscript checkpoint")
        pkl = [n for n in names if n.endswith("data.pkl") and n.count("/") <= 1]
        if not pkl:
            raise ValueError("Expected input to be a checkpoint returned by torch.save")
        pickled = archive.read(pkl[0])
    allowed = serialization._builtin_allowlist()
    found = set()
    for opcode, arg, _ in pickletools.genops(pickled):
        if opcode.name == "GLOBAL":
            module, name = serialization._python3_name(*arg.split(" ", 1))
            found.add(f"{module}.{name}")
    return [name for name in found if name not in allowed
            and serialization._lookup_user_global(name) is None]


@contextlib.contextmanager
def mkdtemp():
    """A temporary directory, removed with its contents on exit."""
    path = tempfile.mkdtemp()
    try:
        yield path
    finally:
        shutil.rmtree(path)


def check_module_version_greater_or_equal(module, req_version_tuple, error_if_malformed=True):
    """Whether ``module.__version__`` ('x.y.z') is at least ``req_version_tuple``, each
    field compared as the type of the required one. A version that does not parse raises
    RuntimeError (or, with ``error_if_malformed=False``, warns and counts as met)."""
    try:
        fields = module.__version__.split(".")
        version = tuple(type(required)(fields[i]) for i, required in enumerate(req_version_tuple))
        return version >= req_version_tuple
    except Exception as exc:
        message = (f"'{module.__name__}' module version string is malformed "
                   f"'{module.__version__}' and cannot be compared with tuple "
                   f"{req_version_tuple}")
        if error_if_malformed:
            raise RuntimeError(message) from exc
        warnings.warn(message + ", but continuing assuming that requirement is met",
                      stacklevel=2)
        return True


def validate_cuda_device(location) -> int:
    """The CUDA device index ``location`` ('cuda', 'cuda:1', a device or an int) names,
    after checking that CUDA is there and has that device (torch.load's errors)."""
    from ._backend.device import cupy_module, device

    if isinstance(location, int):
        index = location
    else:
        dev = location if isinstance(location, device) else device(str(location))
        if dev.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {dev}")
        index = dev.index
    cp = cupy_module()
    if cp is None:
        raise RuntimeError(
            "Attempting to deserialize object on a CUDA device but ember.cuda.is_available() "
            "is False. If you are running on a CPU-only machine, please use ember.load with "
            "map_location=ember.device('cpu') to map your storages to the CPU.")
    if index is None:
        index = int(cp.cuda.runtime.getDevice())
    count = int(cp.cuda.runtime.getDeviceCount())
    if index >= count:
        raise RuntimeError(
            f"Attempting to deserialize object on CUDA device {index} but "
            f"ember.cuda.device_count() is {count}. Please use ember.load with map_location "
            "to map your storages to an existing device.")
    return index
