"""``PackageImporter``: load code, pickles and resources from a package written by
``torch.package.PackageExporter`` or ember's.

Code runs hermetically: a packaged module is built from the archive's source into the
importer's own ``modules`` (named ``<torch_package_N>.name``, never in ``sys.modules``),
and its imports resolve inside the package, except for the modules the package lists as
external (``.data/extern_modules``), which come from the running environment.

ember in place of PyTorch: the external modules ``torch`` and ``torch.*`` (``torchvision``
and ``torchvision.*``) are ember's (``ember.*``, ``ember.vision.*``), so a packaged model
written against torch (``import torch; from torch import nn``) builds ember modules; and
pickled globals map as ``ember.load`` maps them (``torch._utils._rebuild_tensor_v2``,
``torch.FloatStorage``, dtypes, ``torch.nn.modules.linear.Linear``). Tensors are read from
the package's ``.data/<key>.storage`` records.
"""

from __future__ import annotations

import builtins
import functools
import importlib
import importlib.machinery
import importlib.util
import inspect
import io
import linecache
import os
import pickle
import types
from weakref import WeakValueDictionary

import numpy as np

from .. import _serialization_format as fmt
from ._importlib import (
    _calc___package__,
    _normalize_line_endings,
    _normalize_path,
    _resolve_name,
    _sanity_check,
)
from ._mangling import PackageMangler, demangle
from ._zip import DirectoryReader, ZipReader
from .file_structure_representation import Directory, _create_directory_from_file_list
from .glob_group import GlobPattern
from .importer import Importer

__all__ = ["PackageImporter"]

# modules a package may use without listing them (numpy's pickled arrays need these)
IMPLICIT_IMPORT_ALLOWLIST = ["numpy", "numpy.core", "numpy.core._multiarray_umath", "builtins"]
_ERR_MSG = "No module named {!r}"
_NEEDS_LOADING = object()
# torch's top-level packages -> ember's (the mapping ember.load uses for pickled names)
_EMBER_FOR = (("torchvision", "ember.vision"), ("torch", "ember"))


def _ember_module_name(name: str) -> str:
    for source, target in _EMBER_FOR:
        if name == source or name.startswith(source + "."):
            return target + name[len(source):]
    return name


def _import_extern(name: str):
    """An external module from the running environment, torch's names being ember's."""
    target = _ember_module_name(name)
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError:
        if target == name:
            raise
        raise ModuleNotFoundError(f"the package needs the external module {name!r}; ember has "
                                  f"no counterpart of it ({target!r})", name=name) from None


class PackageUnpickler(pickle._Unpickler):
    """Finds globals through the importer, torch's checkpoint globals as ember's."""

    def __init__(self, importer: Importer, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._importer = importer
        from ..serialization import _builtin_allowlist

        self._checkpoint_globals = _builtin_allowlist()

    def find_class(self, module, name):
        if self.proto < 3 and self.fix_imports:
            from ..serialization import _python3_name

            module, name = _python3_name(module, name)
        found = self._checkpoint_globals.get(f"{module}.{name}")
        if found is None and module.partition(".")[0] in ("torch", "torchvision"):
            from .._serialization_subclass import ember_object_for

            found = ember_object_for(f"{module}.{name}")
        if found is not None:
            return found
        return getattr(self._importer.import_module(module), name)


def _open_archive(file_or_buffer):
    """(the name shown in messages, a record reader) for whatever the caller handed in."""
    if isinstance(file_or_buffer, (ZipReader, DirectoryReader)):
        return "<pytorch_file_reader>", file_or_buffer
    if isinstance(file_or_buffer, (str, os.PathLike)):
        path = os.fspath(file_or_buffer)
        return path, (DirectoryReader if os.path.isdir(path) else ZipReader)(path)
    return "<binary>", ZipReader(file_or_buffer)


class _PersistentIds:
    """Resolves a pickle's persistent ids: tensor storages (read once per key from
    ``.data/<key>.storage``) and ``reduce_package`` objects (built once per id)."""

    def __init__(self, importer, map_location) -> None:
        from ..serialization import _restorer

        self.importer, self.reader = importer, importer.zip_reader
        self.restore = _restorer(map_location)
        self.big_endian = (self.reader.has_record("byteorder")
                           and self.reader.get_record("byteorder").strip() == b"big")
        self.storages: dict = {}
        self.reduced: dict = {}

    def __call__(self, saved_id):
        kind = saved_id[0].decode("ascii") if isinstance(saved_id[0], bytes) else saved_id[0]
        if kind == "storage":
            return self._storage(*saved_id[1:])
        if kind == "reduce_package":
            return self._reduced(*saved_id[1:])
        raise RuntimeError("Unknown typename for persistent_load, expected 'storage' or "
                           f"'reduce_package' but got '{kind}'")

    def _storage(self, storage_type, key, location, numel):
        if key in self.storages:
            return self.storages[key]
        if isinstance(location, bytes):
            location = location.decode("ascii")
        dtype = getattr(storage_type, "dtype", None)
        item = np.dtype(np.uint8) if dtype is None else dtype.numpy_dtype
        record = f".data/{key}.storage"
        raw = self.reader.get_record(record)
        if len(raw) != numel * item.itemsize:
            raise RuntimeError(f"storage record '{record}' holds {len(raw)} "
                               f"bytes; expected {numel * item.itemsize}")
        array = np.frombuffer(bytearray(raw), dtype=item)
        if self.big_endian and item.itemsize > 1:
            array = array.view(item.newbyteorder(">")).astype(item)
        loaded = self.storages[key] = self.restore(fmt.LoadedStorage(array), location)
        return loaded

    def _reduced(self, *saved):
        # (func, args) is rebuilt every time; (id, func, args) once per id.
        if len(saved) == 2:
            return saved[0](self.importer, *saved[1])
        ident, func, args = saved
        if ident not in self.reduced:
            self.reduced[ident] = func(self.importer, *args)
        return self.reduced[ident]


class PackageImporter(Importer):
    """Opens a package (a path to an archive or to an unzipped package folder, or a
    binary file object) for ``import_module`` and the ``load_*`` methods.

    Args:
        file_or_buffer: the package.
        module_allowed: called with each external module the package needs; False
            refuses the package with ImportError.

    Example::

        >>> importer = PackageImporter("model.pt")
        >>> model = importer.load_pickle("model", "model.pkl")
    """

    def __init__(self, file_or_buffer, module_allowed=lambda module_name: True) -> None:
        self.filename, self.zip_reader = _open_archive(file_or_buffer)
        self.root = _PackageNode(None)
        self.modules: dict[str, types.ModuleType] = {}
        listed = self.zip_reader.get_record(".data/extern_modules").decode("utf-8")
        self.extern_modules = listed.splitlines()
        refused = next((m for m in self.extern_modules if not module_allowed(m)), None)
        if refused is not None:
            raise ImportError(f"package '{file_or_buffer}' needs the external module "
                              f"'{refused}' but that module has been disallowed")
        for name in self.extern_modules:
            self._mark_extern(name)
        for record in self.zip_reader.get_all_records():
            self._index_record(record)
        # Packaged code gets builtins whose __import__ resolves inside this package.
        self.patched_builtins = {**builtins.__dict__, "__import__": self.__import__}
        self.modules["torch_package_importer"] = self  # packaged code may import its importer
        self._prefix = PackageMangler()
        self.storage_context = None
        self.last_map_location = None
        self.Unpickler = functools.partial(PackageUnpickler, self)

    # -- resources ---------------------------------------------------------------------

    def import_module(self, name: str, package=None):
        """The module ``name`` of this package (loaded on first use)."""
        return self._import_absolute(self._prefix.demangle(name))

    def load_binary(self, package: str, resource: str) -> bytes:
        return self.zip_reader.get_record(self._zipfile_path(package, resource))

    def load_text(self, package: str, resource: str, encoding: str = "utf-8",
                  errors: str = "strict") -> str:
        return self.load_binary(package, resource).decode(encoding, errors)

    def load_pickle(self, package: str, resource: str, map_location=None):
        """Unpickle ``package/resource``, importing the modules its objects need from the
        package; ``map_location`` moves tensors as in ``ember.load``."""
        from ..serialization import _check_map_location

        _check_map_location(map_location)
        record = self._zipfile_path(package, resource)
        ids = _PersistentIds(self, map_location)
        unpickler = self.Unpickler(io.BytesIO(self.zip_reader.get_record(record)))
        unpickler.persistent_load = ids
        self.last_map_location = map_location  # reduce_package functions may read it
        try:
            return unpickler.load()
        finally:
            self.last_map_location = None

    def id(self) -> str:
        """This importer's module-name prefix, like ``<torch_package_0>``."""
        return self._prefix.parent_name()

    def file_structure(self, *, include: GlobPattern = "**",
                       exclude: GlobPattern = ()) -> Directory:
        """The package's files (those matching ``include`` and not ``exclude``, "/"
        separated glob patterns) as a Directory tree."""
        records = self.zip_reader.get_all_records()
        return _create_directory_from_file_list(self.filename, records, include, exclude)

    def python_version(self) -> str | None:
        """The Python version that wrote the package, if it says."""
        path = ".data/python_version"
        if not self.zip_reader.has_record(path):
            return None
        return self.zip_reader.get_record(path).decode("utf-8").strip()

    def get_source(self, module_name) -> str:
        owner = self.import_module(demangle(module_name))
        return self.zip_reader.get_record(demangle(owner.__file__)).decode("utf-8")

    def get_resource_reader(self, fullname):
        """importlib.resources' hook: a reader for packages this importer made, else None."""
        try:
            found = self._get_package(fullname)
        except ImportError:
            return None
        return _PackageResourceReader(self, fullname) if found.__loader__ is self else None

    # -- the module tree ---------------------------------------------------------------

    def _node_at(self, path: list[str]):
        """The package node for ``path``, creating missing ones; an extern node on the way
        is returned as is (everything below it comes from the environment)."""
        node = self.root
        for depth, part in enumerate(path):
            node = node.children.setdefault(part, _PackageNode(None))
            if isinstance(node, _ExternNode):
                break
            if isinstance(node, _ModuleNode):
                raise ImportError(f"inconsistent module structure. module "
                                  f"{'.'.join(path[:depth])} is not a package, but has "
                                  "submodules")
        return node

    def _index_record(self, record: str) -> None:
        """Enter an archive file into the module tree (only ``.py`` files are modules)."""
        folder, _, leaf = record.rpartition("/")
        path = folder.split("/") if folder else []
        if path[:1] == [".data"]:
            return  # storages and metadata
        node = self._node_at(path)
        if isinstance(node, _ExternNode):
            raise ImportError(f"inconsistent module structure. package contains a module file "
                              f"{record} that is a subpackage of a module marked external.")
        if leaf == "__init__.py":
            node.source_file = record
        elif leaf.endswith(".py"):
            node.children[leaf[:-3]] = _ModuleNode(record)

    def _mark_extern(self, name: str) -> None:
        *path, leaf = name.split(".")
        node = self._node_at(path)
        if isinstance(node, _PackageNode):  # else a shorter extern already covers it
            node.children[leaf] = _ExternNode()

    def _make_module(self, name: str, filename: str | None, is_package: bool, parent: str):
        """Create packaged module ``name``, register it, and run its source in it."""
        shown_file = self._prefix.mangle(filename) if filename else None
        spec = importlib.machinery.ModuleSpec(name, self, origin="<package_importer>",
                                              is_package=is_package)
        made = importlib.util.module_from_spec(spec)
        self.modules[name] = made  # registered before running, for circular imports
        made.__name__ = self._prefix.mangle(name)
        namespace = made.__dict__
        namespace.update(__spec__=spec, __loader__=self, __file__=shown_file,
                         __cached__=None, __builtins__=self.patched_builtins,
                         __torch_package__=True)
        _modules_by_mangled_name[made.__name__] = made
        self._attach(parent, name, made)
        if filename is not None:
            linecache.lazycache(shown_file, namespace)  # tracebacks and inspect
            source = _normalize_line_endings(self.zip_reader.get_record(filename))
            exec(compile(source, shown_file, "exec", dont_inherit=True), namespace)
        return made

    def _load(self, name: str, parent: str):
        """Build ``name`` from the archive, or fetch it from the environment if external."""
        node = self.root
        for part in name.split("."):
            child = node.children.get(part) if isinstance(node, _PackageNode) else None
            if child is None:
                if name not in IMPLICIT_IMPORT_ALLOWLIST:
                    raise ModuleNotFoundError(
                        f'No module named "{name}" in self-contained archive '
                        f'"{self.filename}" and the module is also not in the list of '
                        f"allowed external modules: {self.extern_modules}", name=name)
                self.modules[name] = importlib.import_module(name)
                return self.modules[name]
            if isinstance(child, _ExternNode):
                self.modules[name] = _import_extern(name)
                return self.modules[name]
            node = child
        return self._make_module(name, node.source_file, isinstance(node, _PackageNode), parent)

    def _attach(self, parent: str, name: str, child) -> None:
        """Make ``child`` an attribute of its parent package, when that is one of ours."""
        if parent and self.modules[parent].__loader__ is self:
            setattr(self.modules[parent], name.rpartition(".")[2], child)

    def _import_absolute(self, name: str):
        """importlib's find-and-load, inside this package's module table."""
        if name in self.modules:
            found = self.modules[name]
            if found is None:
                raise ModuleNotFoundError(f"import of {name} halted; None in sys.modules",
                                          name=name)
            if name == "os":  # os.path is a module attribute of os, not a submodule
                self.modules["os.path"] = found.path
            return found
        parent = name.rpartition(".")[0]
        if parent:
            if parent not in self.modules:
                self._import_absolute(parent)
            if name in self.modules:  # importing the parent may have imported us
                return self.modules[name]
            if not hasattr(self.modules[parent], "__path__"):
                raise ModuleNotFoundError((_ERR_MSG + "; {!r} is not a package").format(
                    name, parent), name=name)
        loaded = self._load(name, parent)
        self._attach(parent, name, loaded)
        return loaded

    def _import_relative(self, name: str, package=None, level: int = 0):
        _sanity_check(name, package, level)
        return self._import_absolute(_resolve_name(name, package, level) if level else name)

    def _import_from(self, owner, names, *, via_all: bool = False):
        """``from owner import a, b``: import each name that is a submodule not yet
        loaded (importlib's ``_handle_fromlist``); ``*`` follows ``__all__`` once."""
        if not hasattr(owner, "__path__"):
            return owner
        owner_name = demangle(owner.__name__)
        for item in names:
            if not isinstance(item, str):
                where = owner_name + ".__all__" if via_all else "``from list''"
                raise TypeError(f"Item in {where} must be str, not {type(item).__name__}")
            if item == "*":
                if not via_all and hasattr(owner, "__all__"):
                    self._import_from(owner, owner.__all__, via_all=True)
                continue
            if hasattr(owner, item):
                continue
            submodule = f"{owner_name}.{item}"
            try:
                self._import_absolute(submodule)
            except ModuleNotFoundError as missing:
                # Not a submodule after all: the ImportError comes from the from-import.
                blocked = self.modules.get(submodule, _NEEDS_LOADING) is None
                if missing.name != submodule or blocked:
                    raise
        return owner

    def __import__(self, name, globals=None, locals=None, fromlist=(), level=0):
        """The ``__import__`` packaged code runs with (its ``__builtins__`` hold it)."""
        package = _calc___package__(globals or {}) if level else None
        target = self._import_relative(name, package, level)
        if fromlist:
            return self._import_from(target, fromlist)
        if level == 0:  # ``import a.b.c`` binds ``a``
            return self._import_relative(name.partition(".")[0])
        if not name:
            return target
        # A relative ``a.b`` binds the module ``a`` resolves to: cut the characters of
        # ``.b`` off the end of the target's full name.
        tail = len(name) - len(name.partition(".")[0])
        full = demangle(target.__name__)
        return self.modules[full[:len(full) - tail]]

    def _get_package(self, package):
        """The package module for a name or module; TypeError if it is not a package."""
        found = package if hasattr(package, "__spec__") else self.import_module(package)
        if found.__spec__.submodule_search_locations is None:
            shown = repr(found.__spec__.name) if found is package else repr(package)
            raise TypeError(f"{shown} is not a package")
        return found

    def _zipfile_path(self, package, resource=None) -> str:
        owner = self._get_package(package)
        if owner.__loader__ is not self:
            raise AssertionError(f"package.__loader__ must be self, got {owner.__loader__}")
        path = demangle(owner.__name__).replace(".", "/")
        return path if resource is None else f"{path}/{_normalize_path(resource)}"


class _PackageNode:
    """A package in the archive's module tree: its ``__init__.py`` (if any) and children."""

    def __init__(self, source_file: str | None) -> None:
        self.source_file = source_file
        self.children: dict = {}


class _ModuleNode:
    """A plain module (one ``.py`` file) in the archive's module tree."""

    __slots__ = ["source_file"]

    def __init__(self, source_file: str) -> None:
        self.source_file = source_file


class _ExternNode:
    """A module the package takes from the environment (with everything below it)."""


# inspect.getfile on a class defined in a package: find its module by mangled name, whose
# file name linecache serves, so inspect.getsource works on packaged classes too.
_modules_by_mangled_name: WeakValueDictionary = WeakValueDictionary()


def _getfile_knowing_packages(obj, _plain=inspect.getfile):
    owner = _modules_by_mangled_name.get(obj.__module__) if inspect.isclass(obj) else None
    return _plain(obj) if owner is None else owner.__file__


inspect.getfile = _getfile_knowing_packages


class _PackageResourceReader:
    """importlib.resources access to a packaged package's files."""

    def __init__(self, importer: PackageImporter, fullname: str) -> None:
        self.importer = importer
        self.fullname = fullname

    def open_resource(self, resource):
        return io.BytesIO(self.importer.load_binary(self.fullname, resource))

    def resource_path(self, resource):
        reader = self.importer.zip_reader
        relative = os.path.join(self.fullname, resource)
        if isinstance(reader, DirectoryReader) and reader.has_record(relative):
            return os.path.join(reader.directory, self.fullname, resource)
        raise FileNotFoundError

    def is_resource(self, name) -> bool:
        return self.importer.zip_reader.has_record(self.importer._zipfile_path(self.fullname,
                                                                                name))

    def contents(self):
        base = self.importer._zipfile_path(self.fullname) + "/"
        seen = set()
        for record in self.importer.zip_reader.get_all_records():
            if not record.startswith(base):
                continue
            head, _, rest = record[len(base):].partition("/")
            if head not in seen:
                seen.add(head)
                yield head
