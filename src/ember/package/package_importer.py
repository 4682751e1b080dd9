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

    modules: dict[str, types.ModuleType]

    def __init__(self, file_or_buffer, module_allowed=lambda module_name: True) -> None:
        if isinstance(file_or_buffer, (ZipReader, DirectoryReader)):
            self.filename = "<pytorch_file_reader>"
            self.zip_reader = file_or_buffer
        elif isinstance(file_or_buffer, (str, os.PathLike)):
            self.filename = os.fspath(file_or_buffer)
            self.zip_reader = (DirectoryReader(self.filename) if os.path.isdir(self.filename)
                               else ZipReader(self.filename))
        else:
            self.filename = "<binary>"
            self.zip_reader = ZipReader(file_or_buffer)
        self.root = _PackageNode(None)
        self.modules = {}
        self.extern_modules = self._read_extern()
        for extern_module in self.extern_modules:
            if not module_allowed(extern_module):
                raise ImportError(f"package '{file_or_buffer}' needs the external module "
                                  f"'{extern_module}' but that module has been disallowed")
            self._add_extern(extern_module)
        for name in self.zip_reader.get_all_records():
            self._add_file(name)
        self.patched_builtins = builtins.__dict__.copy()
        self.patched_builtins["__import__"] = self.__import__
        self.modules["torch_package_importer"] = self  # packaged code may import its importer
        self._mangler = PackageMangler()
        self.storage_context = None
        self.last_map_location = None
        self.Unpickler = lambda *args, **kwargs: PackageUnpickler(self, *args, **kwargs)

    # -- resources ---------------------------------------------------------------------

    def import_module(self, name: str, package=None):
        """The module ``name`` of this package (loaded on first use)."""
        return self._gcd_import(self._mangler.demangle(name))

    def load_binary(self, package: str, resource: str) -> bytes:
        return self.zip_reader.get_record(self._zipfile_path(package, resource))

    def load_text(self, package: str, resource: str, encoding: str = "utf-8",
                  errors: str = "strict") -> str:
        return self.load_binary(package, resource).decode(encoding, errors)

    def load_pickle(self, package: str, resource: str, map_location=None):
        """Unpickle ``package/resource``, importing the modules its objects need from the
        package; ``map_location`` moves tensors as in ``ember.load``."""
        from ..serialization import _check_map_location, _restorer

        _check_map_location(map_location)
        pickle_file = self._zipfile_path(package, resource)
        restore = _restorer(map_location)
        swap = self.zip_reader.has_record("byteorder") and \
            self.zip_reader.get_record("byteorder").strip() == b"big"
        loaded_storages: dict = {}
        loaded_reduces: dict = {}

        def load_storage(storage_type, key, location, numel):
            dtype = getattr(storage_type, "dtype", None)
            np_dtype = np.dtype(np.uint8) if dtype is None else dtype.numpy_dtype
            raw = self.zip_reader.get_record(f".data/{key}.storage")
            if len(raw) != numel * np_dtype.itemsize:
                raise RuntimeError(f"storage record '.data/{key}.storage' holds {len(raw)} "
                                   f"bytes; expected {numel * np_dtype.itemsize}")
            array = np.frombuffer(bytearray(raw), dtype=np_dtype)
            if swap and np_dtype.itemsize > 1:
                array = array.view(np_dtype.newbyteorder(">")).astype(np_dtype)
            return restore(fmt.LoadedStorage(array), location)

        def persistent_load(saved_id):
            typename = saved_id[0]
            if isinstance(typename, bytes):
                typename = typename.decode("ascii")
            data = saved_id[1:]
            if typename == "storage":
                storage_type, key, location, numel = data
                if isinstance(location, bytes):
                    location = location.decode("ascii")
                if key not in loaded_storages:
                    loaded_storages[key] = load_storage(storage_type, key, location, numel)
                return loaded_storages[key]
            if typename == "reduce_package":
                if len(data) == 2:
                    func, args = data
                    return func(self, *args)
                reduce_id, func, args = data
                if reduce_id not in loaded_reduces:
                    loaded_reduces[reduce_id] = func(self, *args)
                return loaded_reduces[reduce_id]
            raise RuntimeError("Unknown typename for persistent_load, expected 'storage' or "
                               f"'reduce_package' but got '{typename}'")

        unpickler = self.Unpickler(io.BytesIO(self.zip_reader.get_record(pickle_file)))
        unpickler.persistent_load = persistent_load
        self.last_map_location = map_location
        try:
            return unpickler.load()
        finally:
            self.last_map_location = None

    def id(self) -> str:
        """This importer's module-name prefix, like ``<torch_package_0>``."""
        return self._mangler.parent_name()

    def file_structure(self, *, include: GlobPattern = "**",
                       exclude: GlobPattern = ()) -> Directory:
        """The package's files (those matching ``include`` and not ``exclude``, "/"
        separated glob patterns) as a Directory tree."""
        return _create_directory_from_file_list(
            self.filename, self.zip_reader.get_all_records(), include, exclude)

    def python_version(self) -> str | None:
        """The Python version that wrote the package, if it says."""
        path = ".data/python_version"
        if not self.zip_reader.has_record(path):
            return None
        return self.zip_reader.get_record(path).decode("utf-8").strip()

    def get_source(self, module_name) -> str:
        module = self.import_module(demangle(module_name))
        return self.zip_reader.get_record(demangle(module.__file__)).decode("utf-8")

    def get_resource_reader(self, fullname):
        try:
            package = self._get_package(fullname)
        except ImportError:
            return None
        if package.__loader__ is not self:
            return None
        return _PackageResourceReader(self, fullname)

    # -- the module tree ---------------------------------------------------------------

    def _read_extern(self) -> list[str]:
        return self.zip_reader.get_record(".data/extern_modules").decode("utf-8").splitlines()

    def _get_or_create_package(self, atoms: list[str]):
        node = self.root
        for i, atom in enumerate(atoms):
            child = node.children.get(atom)
            if child is None:
                child = node.children[atom] = _PackageNode(None)
            if isinstance(child, _ExternNode):
                return child
            if isinstance(child, _ModuleNode):
                raise ImportError(f"inconsistent module structure. module {'.'.join(atoms[:i])} "
                                  "is not a package, but has submodules")
            node = child
        return node

    def _add_file(self, filename: str) -> None:
        *prefix, last = filename.split("/")
        if prefix and prefix[0] == ".data":
            return  # storages and metadata, not modules
        package = self._get_or_create_package(prefix)
        if isinstance(package, _ExternNode):
            raise ImportError(f"inconsistent module structure. package contains a module file "
                              f"{filename} that is a subpackage of a module marked external.")
        if last == "__init__.py":
            package.source_file = filename
        elif last.endswith(".py"):
            package.children[last[:-len(".py")]] = _ModuleNode(filename)

    def _add_extern(self, extern_name: str) -> None:
        *prefix, last = extern_name.split(".")
        package = self._get_or_create_package(prefix)
        if not isinstance(package, _ExternNode):  # else a shorter extern covers it
            package.children[last] = _ExternNode()

    def _make_module(self, name: str, filename: str | None, is_package: bool, parent: str):
        mangled_filename = self._mangler.mangle(filename) if filename else None
        spec = importlib.machinery.ModuleSpec(name, self, origin="<package_importer>",
                                              is_package=is_package)
        module = importlib.util.module_from_spec(spec)
        self.modules[name] = module
        module.__name__ = self._mangler.mangle(name)
        namespace = module.__dict__
        namespace.update(__spec__=spec, __loader__=self, __file__=mangled_filename,
                         __cached__=None, __builtins__=self.patched_builtins,
                         __torch_package__=True)
        _package_imported_modules[module.__name__] = module
        self._install_on_parent(parent, name, module)
        if filename is not None:
            linecache.lazycache(mangled_filename, namespace)  # tracebacks and inspect
            source = _normalize_line_endings(self.zip_reader.get_record(filename))
            exec(compile(source, mangled_filename, "exec", dont_inherit=True), namespace)
        return module

    def _load_module(self, name: str, parent: str):
        node = self.root
        for atom in name.split("."):
            if not isinstance(node, _PackageNode) or atom not in node.children:
                if name in IMPLICIT_IMPORT_ALLOWLIST:
                    module = self.modules[name] = importlib.import_module(name)
                    return module
                raise ModuleNotFoundError(
                    f'No module named "{name}" in self-contained archive "{self.filename}" '
                    "and the module is also not in the list of allowed external modules: "
                    f"{self.extern_modules}", name=name)
            node = node.children[atom]
            if isinstance(node, _ExternNode):
                module = self.modules[name] = _import_extern(name)
                return module
        return self._make_module(name, node.source_file, isinstance(node, _PackageNode), parent)

    def _install_on_parent(self, parent: str, name: str, module) -> None:
        if parent and self.modules[parent].__loader__ is self:
            setattr(self.modules[parent], name.rpartition(".")[2], module)

    def _do_find_and_load(self, name: str):
        parent = name.rpartition(".")[0]
        if parent:
            if parent not in self.modules:
                self._gcd_import(parent)
            if name in self.modules:  # importing the parent may have imported us
                return self.modules[name]
            if not hasattr(self.modules[parent], "__path__"):
                raise ModuleNotFoundError((_ERR_MSG + "; {!r} is not a package").format(
                    name, parent), name=name)
        module = self._load_module(name, parent)
        self._install_on_parent(parent, name, module)
        return module

    def _find_and_load(self, name: str):
        module = self.modules.get(name, _NEEDS_LOADING)
        if module is _NEEDS_LOADING:
            return self._do_find_and_load(name)
        if module is None:
            raise ModuleNotFoundError(f"import of {name} halted; None in sys.modules", name=name)
        if name == "os":  # os.path is a module attribute of os, not a submodule
            self.modules["os.path"] = module.path
        return module

    def _gcd_import(self, name: str, package=None, level: int = 0):
        _sanity_check(name, package, level)
        if level > 0:
            name = _resolve_name(name, package, level)
        return self._find_and_load(name)

    def _handle_fromlist(self, module, fromlist, *, recursive: bool = False):
        """``from module import a, b``: import each name that is a submodule not yet
        loaded (as importlib's ``_handle_fromlist``)."""
        module_name = demangle(module.__name__)
        if not hasattr(module, "__path__"):
            return module
        for item in fromlist:
            if not isinstance(item, str):
                where = module_name + ".__all__" if recursive else "``from list''"
                raise TypeError(f"Item in {where} must be str, not {type(item).__name__}")
            if item == "*":
                if not recursive and hasattr(module, "__all__"):
                    self._handle_fromlist(module, module.__all__, recursive=True)
            elif not hasattr(module, item):
                from_name = f"{module_name}.{item}"
                try:
                    self._gcd_import(from_name)
                except ModuleNotFoundError as error:
                    if error.name == from_name and \
                            self.modules.get(from_name, _NEEDS_LOADING) is not None:
                        continue
                    raise
        return module

    def __import__(self, name, globals=None, locals=None, fromlist=(), level=0):
        """The ``__import__`` packaged code runs with (its ``__builtins__`` hold it)."""
        if level == 0:
            module = self._gcd_import(name)
        else:
            module = self._gcd_import(name, _calc___package__(globals or {}), level)
        if fromlist:
            return self._handle_fromlist(module, fromlist)
        if level == 0:
            return self._gcd_import(name.partition(".")[0])
        if not name:
            return module
        cut_off = len(name) - len(name.partition(".")[0])
        module_name = demangle(module.__name__)
        return self.modules[module_name[:len(module_name) - cut_off]]

    def _get_package(self, package):
        """The package module for a name or module; TypeError if it is not a package."""
        module = package if hasattr(package, "__spec__") else self.import_module(package)
        if module.__spec__.submodule_search_locations is None:
            shown = repr(module.__spec__.name) if module is package else repr(package)
            raise TypeError(f"{shown} is not a package")
        return module

    def _zipfile_path(self, package, resource=None) -> str:
        module = self._get_package(package)
        if module.__loader__ is not self:
            raise AssertionError(f"package.__loader__ must be self, got {module.__loader__}")
        path = demangle(module.__name__).replace(".", "/")
        return path if resource is None else f"{path}/{_normalize_path(resource)}"


class _PackageNode:
    def __init__(self, source_file: str | None) -> None:
        self.source_file = source_file
        self.children: dict = {}


class _ModuleNode:
    __slots__ = ["source_file"]

    def __init__(self, source_file: str) -> None:
        self.source_file = source_file


class _ExternNode:
    pass


# mangled name -> module, for inspect.getfile on classes defined in packages
_package_imported_modules: WeakValueDictionary = WeakValueDictionary()
_orig_getfile = inspect.getfile


def _patched_getfile(obj):
    """inspect.getfile for a packaged class: its module's (mangled) file name, whose
    source linecache serves, so inspect.getsource works on packaged classes too."""
    if inspect.isclass(obj) and obj.__module__ in _package_imported_modules:
        return _package_imported_modules[obj.__module__].__file__
    return _orig_getfile(obj)


inspect.getfile = _patched_getfile


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
