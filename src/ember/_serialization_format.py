"""PyTorch's checkpoint formats, written and read without PyTorch.

The zip format (``torch.save`` since 1.6): a stored (uncompressed) zip archive whose
folder is named after the file, holding ``data.pkl`` (pickle protocol 2 in which every
tensor is ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` and
every storage a persistent id ``('storage', torch.FloatStorage, key, location, numel)``),
one ``data/<key>`` record of raw little-endian bytes per storage, and small version
records. Records are padded to 64-byte alignment, so storages can be memory-mapped.

The legacy format (before 1.6): a magic number, a protocol version and system info as
three pickles, the object pickle, the list of storage keys, then each storage as an
8-byte element count followed by its bytes.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile

import numpy as np

from ._backend import dtypes as _dt
from ._backend.device import array_module
from ._backend.meta import MetaArray
from ._backend.meta import empty as meta_empty
from ._backend.strided import strided_view
from . import _serialization_subclass as _sub

STORAGE_NAMES = {
    "FloatStorage": _dt.float32, "DoubleStorage": _dt.float64, "HalfStorage": _dt.float16,
    "BFloat16Storage": _dt.bfloat16, "LongStorage": _dt.int64, "IntStorage": _dt.int32,
    "ShortStorage": _dt.int16, "CharStorage": _dt.int8, "ByteStorage": _dt.uint8,
    "BoolStorage": _dt.bool_, "ComplexFloatStorage": _dt.complex64,
    "ComplexDoubleStorage": _dt.complex128,
}
STORAGE_OF_DTYPE = {d.name: name for name, d in STORAGE_NAMES.items()}
UNTYPED = "UntypedStorage"  # torch.storage.UntypedStorage: bytes, for float8 and complex32

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
ALIGNMENT = 64


class CheckpointError(RuntimeError):
    """A file that is not a readable checkpoint (truncated, corrupt, wrong type)."""


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


class TorchGlobal:
    """A stand-in for a PyTorch global (``torch._utils._rebuild_tensor_v2``): pickled as a
    GLOBAL opcode naming it, so files written here need no PyTorch to write."""

    __slots__ = ("module", "name")

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle requires reduce functions to be callable
        raise TypeError(f"{self.module}.{self.name} exists only in a checkpoint file")


class _StorageRef:
    __slots__ = ("key", "storage_name", "numel", "location")

    def __init__(self, key, storage_name, numel, location="cpu"):
        self.key, self.storage_name, self.numel = key, storage_name, numel
        self.location = location


class _TorchPickler(pickle._Pickler):
    """Pure-Python pickler: it lets us emit GLOBALs for names that exist only in torch."""

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file, writer):
        super().__init__(file, protocol=2)
        self._writer = writer
        from ._tensor import Tensor

        self._tensor_type = Tensor

    def reducer_override(self, obj):
        """Tensors inside objects the writer does not walk (a whole Module's parameters and
        buffers, a user object's attributes) are written as storages too, as torch writes
        them, so ``map_location`` applies to them when the file is loaded."""
        if isinstance(obj, self._tensor_type) or _sub.is_nested(obj):
            return self._writer.convert(obj, self._writer.memo).__reduce__()
        return NotImplemented

    def save_torch_global(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
        self.memoize(obj)

    dispatch[TorchGlobal] = save_torch_global

    def persistent_id(self, obj):
        if isinstance(obj, _StorageRef):
            module = "torch.storage" if obj.storage_name == UNTYPED else "torch"
            return ("storage", TorchGlobal(module, obj.storage_name), obj.key, obj.location,
                    obj.numel)
        return None


def _root_array(array):
    """The array that owns the memory (through as_strided's intermediate objects too)."""
    root = array
    while True:
        base = getattr(root, "base", None)
        if isinstance(base, np.ndarray):
            root = base
        elif base is not None and isinstance(getattr(base, "base", None), np.ndarray):
            root = base.base
        else:
            return root


class _Writer:
    """Turns ember objects into reduce tuples with torch's names, collecting storages."""

    def __init__(self):
        self.storages = {}  # id(root array) -> (key, root array, storage name)
        self.memo = {}  # id(object) -> converted form, shared with the pickler's overrides
        self.alive = []  # every converted object: a temporary's id must not be reused

    def storage_for(self, root):
        entry = self.storages.get(id(root))
        if entry is None:
            # float8 and complex32 have no typed storage class: torch writes their bytes
            # as an UntypedStorage and names the dtype in _rebuild_tensor_v3
            name = STORAGE_OF_DTYPE.get(_dt.from_numpy_dtype(root.dtype).name, UNTYPED)
            entry = (str(len(self.storages)), root, name)
            self.storages[id(root)] = entry
        return entry

    def convert(self, obj, memo):
        """Recursively replace tensors, dtypes, devices and Sizes by torch reduce forms."""
        from ._backend.device import device
        from ._tensor import Size, Tensor

        key = id(obj)
        if key in memo:
            return memo[key]
        if isinstance(obj, Tensor):
            result = _sub.reduce_tensor(self, obj, memo)
        elif _sub.is_nested(obj):
            result = _sub.reduce_nested(self, obj, memo)
        elif isinstance(obj, _dt.dtype):
            result = TorchGlobal("torch", obj.name)
        elif isinstance(obj, device):
            result = _Reduce(TorchGlobal("torch", "device"), (str(obj),))
        elif isinstance(obj, Size):
            result = _Reduce(TorchGlobal("torch", "Size"), (tuple(obj),))
        elif isinstance(obj, collections.OrderedDict):
            result = _OrderedDictOut(
                [(self.convert(k, memo), self.convert(v, memo)) for k, v in obj.items()],
                getattr(obj, "_metadata", None),
            )
        elif type(obj) is dict:
            result = {self.convert(k, memo): self.convert(v, memo) for k, v in obj.items()}
        elif type(obj) is list:
            result = [self.convert(v, memo) for v in obj]
        elif type(obj) is tuple:
            result = tuple(self.convert(v, memo) for v in obj)
        elif isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple: plain tuple
            result = tuple(self.convert(v, memo) for v in obj)
        elif isinstance(obj, (set, frozenset)):
            result = type(obj)(self.convert(v, memo) for v in obj)
        else:
            result = _sub.reduce_other(obj)
        memo[key] = result
        self.alive.append(obj)
        return result

    def tensor(self, tensor):
        if tensor.is_quantized:  # torch._utils._rebuild_qtensor, written by the quantized ops
            from ._ops.quantized import checkpoint_reduce

            return checkpoint_reduce(self, tensor)
        if getattr(tensor, "_sparse_compressed", False):  # (layout, (ci, pi, v, size))
            layout = _Reduce(TorchGlobal("torch.serialization", "_get_layout"),
                             (str(tensor.layout),))
            size = _Reduce(TorchGlobal("torch", "Size"), (tuple(tensor.shape),))
            return _Reduce(TorchGlobal("torch._utils", "_rebuild_sparse_tensor"), (layout, (
                self.tensor(tensor._sc_cidx), self.tensor(tensor._sc_pidx),
                self.tensor(tensor._sp_values.detach()), size)))
        if tensor.is_sparse:  # torch._utils._rebuild_sparse_tensor(layout, (i, v, size, c))
            layout = _Reduce(TorchGlobal("torch.serialization", "_get_layout"),
                             ("torch.sparse_coo",))
            size = _Reduce(TorchGlobal("torch", "Size"), (tuple(tensor.shape),))
            return _Reduce(TorchGlobal("torch._utils", "_rebuild_sparse_tensor"), (layout, (
                self.tensor(tensor._indices()), self.tensor(tensor._values().detach()), size,
                tensor.is_coalesced())))
        array = tensor._data
        location = "cpu"
        if type(array) is not np.ndarray:
            if type(array) is MetaArray:
                return _meta_reduce(tensor)
            location = f"cuda:{array.device.id}"  # load restores it there, as PyTorch's does
            array = array.get()
        root = _root_array(array)
        itemsize = array.itemsize
        if (root.dtype != array.dtype or not root.flags.c_contiguous
                or any(st < 0 or st % itemsize for st in array.strides)):
            array = array.copy(order="C")  # save this tensor's values in a storage of its own
            root = array
        key, root, storage_name = self.storage_for(root)
        start = array.__array_interface__["data"][0]
        base = root.__array_interface__["data"][0]
        offset = (start - base) // itemsize if array.size else 0
        shape = array.shape
        stride = tuple(
            st // itemsize if n > 1 else _contiguous_stride(shape, i)
            for i, (st, n) in enumerate(zip(array.strides, shape))
        )
        untyped = storage_name == UNTYPED
        storage = _StorageRef(key, storage_name, root.nbytes if untyped else root.size,
                              location)
        # a Parameter of a user subclass is that subclass flagged ``_is_param``: torch
        # writes it as a tensor that requires grad, its flag in the subclass state
        is_parameter = _is_parameter_class(type(tensor))
        args = (storage, offset, tuple(shape), stride, tensor.requires_grad and
                not is_parameter, _Reduce(TorchGlobal("collections", "OrderedDict"), ()))
        if untyped:
            args += (TorchGlobal("torch", _dt.from_numpy_dtype(root.dtype).name),)
        rebuilt = _Reduce(TorchGlobal("torch._utils", "_rebuild_tensor_v3" if untyped
                                      else "_rebuild_tensor_v2"), args)
        if is_parameter:
            return _Reduce(
                TorchGlobal("torch._utils", "_rebuild_parameter"),
                (rebuilt, tensor.requires_grad,
                 _Reduce(TorchGlobal("collections", "OrderedDict"), ())),
            )
        return rebuilt


def _meta_reduce(tensor):
    """A meta tensor as PyTorch writes one: no storage, just
    ``torch._utils._rebuild_meta_tensor_no_storage(dtype, size, stride, requires_grad)``
    (so the storage offset of a view is not kept: it loads at offset 0, as in PyTorch), and
    a Parameter around it as for any tensor."""
    is_parameter = _is_parameter_class(type(tensor))
    rebuilt = _Reduce(TorchGlobal("torch._utils", "_rebuild_meta_tensor_no_storage"), (
        TorchGlobal("torch", tensor.dtype.name), tuple(tensor.shape), tuple(tensor.stride()),
        tensor.requires_grad and not is_parameter))
    if is_parameter:
        return _Reduce(TorchGlobal("torch._utils", "_rebuild_parameter"), (
            rebuilt, tensor.requires_grad, _Reduce(TorchGlobal("collections", "OrderedDict"),
                                                   ())))
    return rebuilt


def _is_parameter_class(cls):
    from .nn.parameter import Parameter

    return issubclass(cls, Parameter)


def _contiguous_stride(shape, i):
    n = 1
    for s in shape[i + 1:]:
        n *= s
    return n


class _Reduce:
    """An object pickled as ``func(*args)``."""

    __slots__ = ("func", "args")

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


class _OrderedDictOut:
    """An OrderedDict pickled as torch pickles state_dicts (with ``_metadata`` state)."""

    __slots__ = ("items", "metadata")

    def __init__(self, items, metadata):
        self.items, self.metadata = items, metadata

    def __reduce__(self):
        state = {"_metadata": self.metadata} if self.metadata is not None else None
        return (TorchGlobal("collections", "OrderedDict"), (), state, None, iter(self.items))


def write_zip(obj, file, archive_name="archive", byteorder=True, skip_data=False):
    """Write ``obj`` in torch's zip format to an open binary file. ``byteorder=False``
    leaves out the byte-order record (``_disable_byteorder_record``); ``skip_data`` writes
    every storage as zeros of its size (``torch.serialization.skip_data``)."""
    from .utils.serialization import config

    alignment = int(config.save.storage_alignment)
    writer = _Writer()
    converted = writer.convert(obj, writer.memo)
    pickled = io.BytesIO()
    _TorchPickler(pickled, writer).dump(converted)
    records = [
        ("data.pkl", pickled.getvalue()),
        (".format_version", b"1"),
        (".storage_alignment", str(alignment).encode()),
    ]
    if byteorder:
        records.append(("byteorder", b"little"))
    for key, root, _ in writer.storages.values():
        payload = bytes(root.nbytes) if skip_data else np.ascontiguousarray(root).tobytes()
        records.append((f"data/{key}", payload))
    records.append(("version", b"3\n"))
    records.append((".data/version", b"3\n"))
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, payload in records:
            full = f"{archive_name}/{name}"
            info = zipfile.ZipInfo(full, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.extra = _padding(file, full, alignment)
            archive.writestr(info, payload)


def _padding(file, name, alignment=ALIGNMENT):
    """An extra field ('FB', as torch writes) that moves the record's data to a multiple
    of ``alignment`` (64) bytes from the start of the file."""
    position = file.tell() if hasattr(file, "tell") else 0
    header = 30 + len(name.encode("utf-8"))
    unpadded = position + header + 4
    pad = (-unpadded) % alignment
    return struct.pack("<HH", 0x4246, pad) + b"Z" * pad


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


class StorageType:
    """What ``torch.FloatStorage`` unpickles to: just its dtype."""

    __slots__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype


class LoadedStorage:
    """One storage's bytes as a flat NumPy (or, once restored to a GPU, CuPy) array."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    @property
    def device(self):
        from ._backend.device import device_of

        return device_of(self.array)

    def cpu(self):
        """For ``map_location`` callables: ``lambda storage, loc: storage.cpu()``."""
        from .serialization import _storage_to

        return _storage_to(self, "cpu")

    def cuda(self, device=None):
        """For ``map_location`` callables: ``lambda storage, loc: storage.cuda(1)``."""
        from .serialization import _storage_to

        return _storage_to(self, "cuda" if device is None else f"cuda:{int(device)}")


def rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                      backward_hooks=None, metadata=None):
    from ._tensor import _make

    array = view_storage(storage, storage_offset, size, stride)
    if metadata and (metadata.get("conj") or metadata.get("neg")):
        # PyTorch saves a conjugate (or negative) view as its unresolved storage plus the
        # bit; ember's conj is physical, so the values are resolved here (the bit kept)
        array = -array if metadata.get("neg") else array.copy()
        if metadata.get("conj"):
            array = array.conj()
    tensor = _make(array)
    for bit in ("conj", "neg"):
        if metadata and metadata.get(bit):
            tensor.__dict__[f"_is_{bit}"] = True
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor


def rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad=False,
                      backward_hooks=None, dtype=None, metadata=None):
    """``torch._utils._rebuild_tensor_v3``: the form torch writes for dtypes without a
    typed storage (float8, complex32): an UntypedStorage's bytes, viewed as ``dtype``."""
    if not isinstance(storage, LoadedStorage) or not isinstance(dtype, _dt.dtype):
        raise CheckpointError("expected an untyped storage and a dtype")
    flat = storage.array
    if flat.dtype != np.uint8 or flat.size % dtype.itemsize:
        raise CheckpointError(f"a storage of {flat.size} bytes cannot hold {dtype}")
    typed = LoadedStorage(flat.view(dtype.numpy_dtype))
    return rebuild_tensor_v2(typed, storage_offset, size, stride, requires_grad,
                             backward_hooks, metadata)


def rebuild_meta_tensor_no_storage(dtype, size, stride, requires_grad=False):
    """``torch._utils._rebuild_meta_tensor_no_storage``: a meta tensor from its geometry."""
    from ._ops.combine import empty_strided

    if not isinstance(dtype, _dt.dtype):
        raise CheckpointError(f"expected a dtype, got {type(dtype).__name__}")
    return empty_strided(tuple(int(n) for n in size), tuple(int(n) for n in stride),
                         dtype=dtype, device="meta", requires_grad=bool(requires_grad))


def rebuild_tensor(storage, storage_offset, size, stride):
    return rebuild_tensor_v2(storage, storage_offset, size, stride)


def view_storage(storage, offset, size, stride):
    """A strided view into a storage, after checking it stays inside the storage (a
    corrupt file must raise, never read out of bounds)."""
    if not isinstance(storage, LoadedStorage):
        raise CheckpointError(f"expected a storage, got {type(storage).__name__}")
    flat = storage.array
    size = tuple(int(s) for s in size)
    stride = tuple(int(s) for s in stride)
    offset = int(offset)
    if len(size) != len(stride) or offset < 0 or any(s < 0 for s in size) or any(
            s < 0 for s in stride):
        raise CheckpointError(f"invalid tensor geometry: size {size}, stride {stride}")
    xp = array_module(flat)  # a storage restored to a GPU holds a CuPy array
    if 0 in size:
        return xp.zeros(size, flat.dtype)
    extent = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
    if extent > flat.size:
        raise CheckpointError(
            f"tensor of size {list(size)} and stride {list(stride)} at offset {offset} does "
            f"not fit in a storage of {flat.size} elements"
        )
    itemsize = flat.dtype.itemsize
    if itemsize == 1 and flat.dtype.kind == "f":  # float8_e5m2: its '<f1' array interface
        return strided_view(  # is not one NumPy reads back
            flat[offset:].view(np.uint8), size, stride).view(flat.dtype)
    return strided_view(flat[offset:], size, tuple(s * itemsize for s in stride))


def rebuild_parameter(data, requires_grad, backward_hooks=None, state=None):
    from .nn.parameter import Parameter

    param = Parameter(data, requires_grad)
    if state:
        param.__dict__.update(state)
    return param


rebuild_from_type_v2 = _sub.rebuild_from_type_v2


def _read_zip_storages(archive, prefix, mmap_path, meta=False, skip=False, big=False):
    """Return a loader: (key, dtype, numel) -> LoadedStorage. With ``meta`` (loading onto
    the meta device) no bytes are read: each storage is a meta array of its size, as
    PyTorch skips the data for ``map_location='meta'``; with ``skip`` (skip_data) each is
    zeros of its size. ``big``: the file's storages are big-endian; they are swapped."""
    from ._serialization_options import memmap_mode

    cache = {}
    infos = {info.filename: info for info in archive.infolist()}
    mapped = None
    if mmap_path is not None and not (meta or skip):
        mapped = np.memmap(mmap_path, dtype=np.uint8, mode=memmap_mode())

    def load(key, dtype, numel):
        if key in cache:
            return cache[key]
        name = f"{prefix}data/{key}"
        info = infos.get(name)
        if info is None:
            raise CheckpointError(f"checkpoint is missing the record '{name}'")
        np_dtype = dtype.numpy_dtype
        nbytes = numel * np_dtype.itemsize
        if info.file_size != nbytes:
            raise CheckpointError(
                f"record '{name}' holds {info.file_size} bytes; expected {nbytes}"
            )
        if meta:
            cache[key] = LoadedStorage(meta_empty((numel,), np_dtype))
            return cache[key]
        if skip:
            cache[key] = LoadedStorage(np.zeros(numel, np_dtype))
            return cache[key]
        if mapped is not None and info.compress_type == zipfile.ZIP_STORED and not (
                big and np_dtype.itemsize > 1):
            start = _data_offset(mapped, info)
            raw = mapped[start:start + nbytes]
            array = raw.view(np_dtype) if nbytes else np.zeros(0, np_dtype)
        else:
            array = np.frombuffer(_read_record(archive, info, name, nbytes), dtype=np_dtype)
            if big and np_dtype.itemsize > 1:  # the values, in this machine's order
                array = array.view(np_dtype.newbyteorder(">")).astype(np_dtype)
        storage = LoadedStorage(array)
        cache[key] = storage
        return storage

    return load


def _read_record(archive, info, name, nbytes):
    """A storage record's bytes. A stored record is read straight from the file without
    checking its CRC-32, as torch.load reads it (a file changed through a MAP_SHARED
    mapping loads with the new values); a compressed one through zipfile."""
    if info.compress_type != zipfile.ZIP_STORED:
        return bytearray(archive.read(name))
    fp = archive.fp
    fp.seek(info.header_offset)
    header = fp.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise CheckpointError("corrupt zip local header")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    fp.seek(info.header_offset + 30 + name_len + extra_len)
    raw = bytearray(nbytes)
    if fp.readinto(raw) != nbytes:
        raise CheckpointError(f"record '{name}' is truncated")
    return raw


def _data_offset(mapped, info):
    header = bytes(mapped[info.header_offset:info.header_offset + 30])
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise CheckpointError("corrupt zip local header")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len


def read_zip(file, unpickler_factory, mmap_path=None, restore=None, meta=False, skip=False):
    """``restore(storage, location)`` places each storage (once) where it belongs: the
    device it was saved from unless ``map_location`` says otherwise."""
    with zipfile.ZipFile(file) as archive:
        names = archive.namelist()
        pkl = [n for n in names if n.endswith("data.pkl") and n.count("/") <= 1]
        if not pkl:
            raise CheckpointError("zip archive has no data.pkl: not a PyTorch checkpoint")
        prefix = pkl[0][: -len("data.pkl")]
        from ._serialization_options import file_byteorder

        record = prefix + "byteorder"
        big = file_byteorder(archive.read(record) if record in names else None) == "big"
        load_storage = _read_zip_storages(archive, prefix, mmap_path, meta, skip, big)
        restored = {}

        def persistent_load(pid):
            if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
                raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
            _, storage_type, key, _location, numel = pid[:5]
            if not isinstance(storage_type, StorageType) or not isinstance(numel, int):
                raise pickle.UnpicklingError(f"unsupported storage record {pid!r}")
            storage = load_storage(str(key), storage_type.dtype, numel)
            if restore is None:
                return storage
            if str(key) not in restored:
                restored[str(key)] = restore(storage, str(_location))
            return restored[str(key)]

        data = archive.read(pkl[0])
        unpickler = unpickler_factory(io.BytesIO(data))
        unpickler.persistent_load = persistent_load
        return unpickler.load()


from ._serialization_legacy import read_legacy  # noqa: E402,F401 - fmt.read_legacy
