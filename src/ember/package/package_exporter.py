"""``PackageExporter``: write code, pickled objects and resources into one package archive,
in torch.package's format (``torch.package.PackageImporter`` reads what ember writes where
the pickled objects are tensors and plain containers; ember reads torch's packages).

Which modules go in is decided as in PyTorch. Every module a saved module imports (found
by reading its source: ``find_file_dependencies``) and every module a pickle names is
matched against the patterns given to ``intern`` (copy its source in and follow its own
imports), ``extern`` (import it from the loading environment), ``mock`` (replace it with a
stub) and ``deny`` (refuse), first matching pattern winning. ``torch``, ``ember`` and the
standard library (except ``sys`` and ``io``) are extern without asking. A module matched
by nothing, denied, without source, or mocked yet used by a pickle is an error: ``close``
raises one PackagingError listing every such module by reason.
"""

from __future__ import annotations

import collections
import importlib.machinery
import io
import linecache
import os
import platform
import sys
from enum import Enum
from importlib.machinery import SourceFileLoader
from pathlib import Path

import numpy as np

from .. import _serialization_format as fmt
from ._digraph import DiGraph
from ._importlib import _normalize_path
from ._mangling import demangle, is_mangled
from ._package_pickler import PackagePickler, pickle_globals
from ._zip import ZipWriter
from .find_file_dependencies import find_files_source_depends_on
from .glob_group import GlobGroup, GlobPattern
from .importer import Importer, OrderedImporter, sys_importer

__all__ = ["EmptyMatchError", "PackageExporter", "PackagingError", "PackagingErrorReason"]

# stdlib modules with system-level access: packaged only when extern'ed by name
_DISALLOWED_MODULES = ["sys", "io"]
# top-level packages the loading side always provides (ember maps torch's names to its own)
_ALWAYS_EXTERN = ("torch", "ember")

_MOCK_IMPL = """\
from _mock import MockedObject
def __getattr__(attr: str):
    return MockedObject(__name__ + '.' + attr, _suppress_err=True)
"""


class _ModuleProviderAction(Enum):
    INTERN = 1
    EXTERN = 2
    MOCK = 3
    DENY = 4
    REPACKAGED_MOCK_MODULE = 5  # the ``_mock`` module of a package being re-exported
    SKIP = 6  # ``torch_package_importer``, which every PackageImporter provides


class PackagingErrorReason(Enum):
    """Why a module cannot be packaged (the texts PackagingError prints)."""

    def __repr__(self):
        return f"<{self.__class__.__name__}.{self.name}>"

    IS_EXTENSION_MODULE = (
        "Module is a C extension module. torch.package supports Python modules only.")
    NO_DUNDER_FILE = "Module had no __file__ defined."
    SOURCE_FILE_NOT_FOUND = (
        "Module had a __file__, but we could not find it in your filesystem.")
    DEPENDENCY_RESOLUTION_FAILED = "Dependency resolution failed."
    NO_ACTION = (
        "Module did not match against any action pattern. Extern, mock, or intern it.")
    DENIED = "Module was denied by a pattern."
    MOCKED_BUT_STILL_USED = (
        "Module was mocked out, but is still being used in the package. Please intern or "
        "extern the mocked modules if objects are supposed to be in the package.")


class _PatternInfo:
    """A pattern's action, whether it may match nothing, and whether it has matched."""

    def __init__(self, action: _ModuleProviderAction, allow_empty: bool) -> None:
        self.action = action
        self.allow_empty = allow_empty
        self.was_matched = False


class EmptyMatchError(Exception):
    """An ``extern``/``mock``/``intern`` pattern given ``allow_empty=False`` matched no
    module by the time the package was closed."""


class PackagingError(Exception):
    """Every module that could not be packaged, grouped by reason (``debug=True`` adds
    the chain of imports that brought each one in)."""

    def __init__(self, dependency_graph: DiGraph, debug: bool = False) -> None:
        broken: dict = collections.defaultdict(list)
        for module_name, attrs in dependency_graph.nodes.items():
            if attrs.get("error") is not None:
                broken[attrs["error"]].append(module_name)
        message = io.StringIO()
        message.write("\n")
        for reason, module_names in broken.items():
            message.write(f"* {reason.value}\n")
            for module_name in module_names:
                message.write(f"    {module_name}\n")
                context = dependency_graph.nodes[module_name].get("error_context")
                if context is not None:
                    message.write(f"      Context: {context}\n")
                if module_name in _DISALLOWED_MODULES:
                    message.write(
                        "      Note: While we usually use modules in the python standard "
                        f"library from the local environment, `{module_name}` has a lot of "
                        "system level access and therefore can pose a security risk. We "
                        f"heavily recommend removing `{module_name}` from your packaged code. "
                        "However, if that is not possible, add it to the extern list by "
                        f'calling PackageExporter.extern("`{module_name}`")\n')
                if debug:
                    path = dependency_graph.first_path(module_name)
                    message.write(f"      A path to {module_name}: {' -> '.join(path)}\n")
        if not debug:
            message.write("\nSet debug=True when invoking PackageExporter for a "
                          "visualization of where broken modules are coming from!\n")
        self.dependency_graph = dependency_graph
        super().__init__(message.getvalue())


def _read_file(filename: str) -> str:
    with open(filename, "rb") as f:
        return f.read().decode("utf-8")


def _is_stdlib_module(module_name: str) -> bool:
    return module_name.partition(".")[0] in sys.stdlib_module_names


class PackageExporter:
    """Writes a package: source code, pickled objects, text and binary resources.

    Args:
        f: a path, or a binary file object to write to.
        importer: where modules and objects are looked up: an Importer, or a sequence of
            them (tried in order, as an OrderedImporter); ``sys_importer`` by default.
        debug: make PackagingError show how each broken module was reached.

    Example::

        >>> with PackageExporter("model.pt") as exporter:
        ...     exporter.intern("my_models.**")
        ...     exporter.save_pickle("model", "model.pkl", model)
    """

    importer: Importer

    def __init__(self, f, importer=sys_importer, debug: bool = False) -> None:
        self.debug = debug
        if isinstance(importer, Importer):
            self.importer = importer
        elif isinstance(importer, collections.abc.Sequence):
            self.importer = OrderedImporter(*importer)
        else:
            raise TypeError("importer arg should be an Importer or a sequence of Importers, "
                            f"got {type(importer)} instead.")
        self._zip = ZipWriter(f)
        self._written_files: set[str] = set()
        self.serialized_reduces: dict[int, tuple] = {}
        self.dependency_graph = DiGraph()
        self._extern_hooks: dict = collections.OrderedDict()
        self._mock_hooks: dict = collections.OrderedDict()
        self._intern_hooks: dict = collections.OrderedDict()
        self.patterns: dict[GlobGroup, _PatternInfo] = {}
        self._unique_id = 0
        self._storages: dict = {}  # shared by every pickle: a storage is written once
        self._storages_alive: list = []
        self._closed = False

    # -- patterns and hooks -------------------------------------------------------------

    def intern(self, include: GlobPattern, *, exclude: GlobPattern = (),
               allow_empty: bool = True) -> None:
        """Modules to copy into the package (their own imports are followed in turn)."""
        self._add_pattern(_ModuleProviderAction.INTERN, include, exclude, allow_empty)

    def extern(self, include: GlobPattern, *, exclude: GlobPattern = (),
               allow_empty: bool = True) -> None:
        """Modules the loading environment provides (listed in ``.data/extern_modules``)."""
        self._add_pattern(_ModuleProviderAction.EXTERN, include, exclude, allow_empty)

    def mock(self, include: GlobPattern, *, exclude: GlobPattern = (),
             allow_empty: bool = True) -> None:
        """Modules replaced by a stub whose every attribute is a MockedObject: code that
        only names them still loads; pickles that hold their objects are refused."""
        self._add_pattern(_ModuleProviderAction.MOCK, include, exclude, allow_empty)

    def deny(self, include: GlobPattern, *, exclude: GlobPattern = ()) -> None:
        """Modules the package must not depend on: a dependency on one is an error."""
        self._add_pattern(_ModuleProviderAction.DENY, include, exclude, True)

    def _add_pattern(self, action, include, exclude, allow_empty) -> None:
        self.patterns[GlobGroup(include, exclude=exclude)] = _PatternInfo(action, allow_empty)

    def _register_hook(self, hooks: dict, hook):
        from ..utils.hooks import RemovableHandle

        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def register_extern_hook(self, hook):
        """``hook(exporter, module_name)`` for each extern module, when the package is
        written; returns a handle whose ``remove()`` unregisters it."""
        return self._register_hook(self._extern_hooks, hook)

    def register_mock_hook(self, hook):
        """``hook(exporter, module_name)`` for each mocked module."""
        return self._register_hook(self._mock_hooks, hook)

    def register_intern_hook(self, hook):
        """``hook(exporter, module_name)`` for each interned module."""
        return self._register_hook(self._intern_hooks, hook)

    # -- source ------------------------------------------------------------------------

    def get_unique_id(self) -> str:
        """An id handed out once per package (for ``__reduce_package__`` resources)."""
        self._unique_id += 1
        return str(self._unique_id - 1)

    def save_source_file(self, module_name: str, file_or_directory: str,
                         dependencies: bool = True) -> None:
        """The code of ``module_name`` from a file, or from a folder of ``.py`` files
        (``__init__.py`` making packages), all recorded before any is scanned so the
        folder's modules are not looked up elsewhere."""
        path = Path(file_or_directory)
        if not path.is_dir():
            self.save_source_string(module_name, _read_file(file_or_directory),
                                    path.name == "__init__.py", dependencies)
            return
        base = module_name.replace(".", "/")
        pending = []
        for filename in path.glob("**/*.py"):
            archived = f"{base}/{filename.relative_to(path).as_posix()}"
            is_package = filename.name == "__init__.py"
            stem = archived[:-len("/__init__.py")] if is_package else archived[:-len(".py")]
            pending.append((stem.replace("/", "."), _read_file(str(filename)), is_package))
        for name, source, is_package in pending:
            self.save_source_string(name, source, is_package, dependencies)

    def save_source_string(self, module_name: str, src: str, is_package: bool = False,
                           dependencies: bool = True) -> None:
        """``src`` as the code of ``module_name`` (a package if ``is_package``)."""
        self.dependency_graph.add_node(module_name, source=src, is_package=is_package,
                                       provided=True, action=_ModuleProviderAction.INTERN)
        if dependencies:
            self._add_dependencies_of(module_name, src, is_package)

    def save_module(self, module_name: str, dependencies: bool = True) -> None:
        """The code of an importable module (found through the importer), interned."""
        if not isinstance(module_name, str):
            raise TypeError("save_module() expects a string input, did you perhaps mean to "
                            "pass `__name__`?")
        self._intern_module(module_name, dependencies)

    def _add_dependencies_of(self, module_name: str, src: str, is_package: bool) -> None:
        for dep in self._get_dependencies(src, module_name, is_package):
            self.dependency_graph.add_edge(module_name, dep)
            self.add_dependency(dep)

    def _get_dependencies(self, src: str, module_name: str, is_package: bool) -> list[str]:
        """The existing modules ``src`` imports; ``from pkg import sub`` names the
        submodule ``pkg.sub`` when there is one (then ``pkg`` itself is not needed)."""
        package = module_name if is_package else module_name.rsplit(".", 1)[0]
        try:
            references = find_files_source_depends_on(src, package)
        except Exception as error:  # noqa: BLE001 - recorded as the module's error
            self.dependency_graph.add_node(
                module_name, error=PackagingErrorReason.DEPENDENCY_RESOLUTION_FAILED,
                error_context=str(error))
            return []
        found: dict[str, bool] = {}
        for module, attribute in references:
            if attribute is not None and self._module_exists(f"{module}.{attribute}"):
                found[f"{module}.{attribute}"] = True
            elif self._module_exists(module):
                found[module] = True
        return list(found)

    def _import_module(self, module_name: str):
        try:
            return self.importer.import_module(module_name)
        except ModuleNotFoundError:
            if not is_mangled(module_name):
                raise
            raise ModuleNotFoundError(
                f"Module not found: '{module_name}'. Make sure the PackageImporter that "
                "created this module is present in `self.importer`") from None

    def _module_exists(self, module_name: str) -> bool:
        try:
            self._import_module(module_name)
        except Exception:  # noqa: BLE001 - any failure to import means "not a module"
            return False
        return True

    @staticmethod
    def _get_source_of_module(module) -> str | None:
        filename = None
        loader = getattr(getattr(module, "__spec__", None), "loader", None)
        if isinstance(loader, SourceFileLoader):
            try:
                filename = loader.get_filename(module.__name__)
            except ImportError:
                pass
        if filename is None:
            filename = getattr(module, "__file__", None)
        if isinstance(filename, str) and filename.endswith(".py"):
            return "".join(linecache.getlines(filename, module.__dict__))
        return None

    def add_dependency(self, module_name: str, dependencies: bool = True) -> None:
        """Put ``module_name`` in the graph with the action its patterns give it."""
        graph = self.dependency_graph
        if module_name in graph and graph.nodes[module_name].get("provided") is True:
            return
        if module_name == "torch_package_importer":
            graph.add_node(module_name, action=_ModuleProviderAction.SKIP, provided=True)
            return
        if module_name == "_mock":
            graph.add_node(module_name, action=_ModuleProviderAction.REPACKAGED_MOCK_MODULE,
                           provided=True)
            return
        if self._can_implicitly_extern(module_name):
            graph.add_node(module_name, action=_ModuleProviderAction.EXTERN, provided=True)
            return
        for pattern, info in self.patterns.items():
            if not pattern.matches(module_name):
                continue
            info.was_matched = True
            graph.add_node(module_name, action=info.action, provided=True)
            if info.action == _ModuleProviderAction.DENY:
                graph.add_node(module_name, error=PackagingErrorReason.DENIED)
            elif info.action == _ModuleProviderAction.INTERN:
                self._intern_module(module_name, dependencies)
            return
        graph.add_node(module_name, error=PackagingErrorReason.NO_ACTION)

    def _intern_module(self, module_name: str, dependencies: bool) -> None:
        module = self._import_module(module_name)
        module_name = demangle(module_name)  # imported fine: store it unmangled
        is_package = hasattr(module, "__path__")
        source = self._get_source_of_module(module)
        if source is None:
            filename = getattr(module, "__file__", None)
            context = None
            if filename is None:
                reason = PackagingErrorReason.NO_DUNDER_FILE
            elif filename.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
                reason = PackagingErrorReason.IS_EXTENSION_MODULE
            else:
                reason = PackagingErrorReason.SOURCE_FILE_NOT_FOUND
                context = f"filename: {filename}"
            self.dependency_graph.add_node(
                module_name, action=_ModuleProviderAction.INTERN, is_package=is_package,
                error=reason, error_context=context, provided=True)
            return
        self.dependency_graph.add_node(module_name, action=_ModuleProviderAction.INTERN,
                                       is_package=is_package, source=source, provided=True)
        if dependencies:
            self._add_dependencies_of(module_name, source, is_package)

    def _can_implicitly_extern(self, module_name: str) -> bool:
        top = module_name.partition(".")[0]
        return top in _ALWAYS_EXTERN or (
            top not in _DISALLOWED_MODULES and _is_stdlib_module(top))

    # -- resources ---------------------------------------------------------------------

    def save_pickle(self, package: str, resource: str, obj, dependencies: bool = True,
                    pickle_protocol: int = 3) -> None:
        """Pickle ``obj`` as ``package/resource`` (tensors as torch stores them); with
        ``dependencies``, the modules its classes come from are packaged by the patterns."""
        if pickle_protocol not in (3, 4):
            raise AssertionError(
                f"torch.package only supports pickle protocols 3 and 4, got {pickle_protocol}")
        filename = self._filename(package, resource)
        writer = fmt._Writer()
        writer.storages, writer.alive = self._storages, self._storages_alive
        known = set(self._storages)
        data = io.BytesIO()
        PackagePickler(data, self.importer, writer, self._persistent_reduce,
                       protocol=pickle_protocol).dump(obj)
        for root_id, (key, root, _) in self._storages.items():
            if root_id not in known:  # first seen in this pickle: its bytes, once
                self._write(f".data/{key}.storage", np.ascontiguousarray(root).tobytes())
        data_value = data.getvalue()
        node = f"<{package}.{resource}>"
        self.dependency_graph.add_node(node, action=_ModuleProviderAction.INTERN,
                                       provided=True, is_pickle=True)
        if dependencies:
            self._add_pickle_dependencies(node, package, resource, data_value)
        self._write(filename, data_value)

    def _add_pickle_dependencies(self, node, package, resource, data_value) -> None:
        modules: list[str] = []
        mocked: dict[str, list[str]] = collections.defaultdict(list)
        for module, field in pickle_globals(data_value):
            if module not in modules:
                modules.append(module)
            if self._can_implicitly_extern(module):
                continue
            for pattern, info in self.patterns.items():
                if pattern.matches(module):  # the first matching pattern decides
                    if info.action == _ModuleProviderAction.MOCK:
                        mocked[module].append(field)
                    break
        for module in modules:
            self.dependency_graph.add_edge(node, module)
            if module in mocked:
                self.dependency_graph.add_node(
                    module, action=_ModuleProviderAction.MOCK,
                    error=PackagingErrorReason.MOCKED_BUT_STILL_USED,
                    error_context=f"Object(s) '{mocked[module]}' from module `{module}` was "
                    "mocked out during packaging but is being used in resource - "
                    f"`{resource}` in package `{package}`. ", provided=True)
            else:
                self.add_dependency(module)

    def _persistent_reduce(self, obj):
        """The persistent id of an object with ``__reduce_package__``: computed once."""
        key = id(obj)
        if key not in self.serialized_reduces:
            self.serialized_reduces[key] = ("reduce_package", key,
                                            *obj.__reduce_package__(self))
        return self.serialized_reduces[key]

    def save_text(self, package: str, resource: str, text: str) -> None:
        """``text`` (UTF-8) as ``package/resource``."""
        self.save_binary(package, resource, text.encode("utf-8"))

    def save_binary(self, package: str, resource: str, binary: bytes) -> None:
        """``binary`` as ``package/resource``."""
        self._write(self._filename(package, resource), binary)

    @staticmethod
    def _filename(package: str, resource: str) -> str:
        return f"{package.replace('.', '/')}/{_normalize_path(resource)}"

    def _write(self, filename: str, payload) -> None:
        if filename in self._written_files:
            raise AssertionError(f"Tried to write file '{filename}', but it already exists in "
                                 "this archive. Please file a bug.")
        if is_mangled(filename):
            raise AssertionError(f"Tried to save a torch.package'd module as '{filename}'. "
                                 "Directly saving torch.package'd modules is not allowed.")
        self._written_files.add(filename)
        self._zip.write_record(filename, payload.encode("utf-8") if isinstance(payload, str)
                               else bytes(payload))

    # -- finishing ---------------------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        if exc_type is not None:  # leave a readable archive of what was written, no more
            self._finalize_zip()
            return
        self.close()

    def close(self) -> None:
        """Check the dependency graph, write every module it decided on, the extern list
        and the Python version, and finish the archive."""
        try:
            self._execute_dependency_graph()
            self._write(".data/python_version", platform.python_version())
            self._write(".data/version", "6\n")  # PyTorch's minimum reader version
            self._write("byteorder", sys.byteorder)
        finally:  # on a PackagingError too: the file is closed, its archive readable
            self._finalize_zip()

    def _finalize_zip(self) -> None:
        if not self._closed:
            self._closed = True
            self._zip.finish()

    def _validate_dependency_graph(self) -> None:
        if any("error" in attrs for attrs in self.dependency_graph.nodes.values()):
            raise PackagingError(self.dependency_graph, debug=self.debug)
        for pattern, info in self.patterns.items():
            if not info.allow_empty and not info.was_matched:
                raise EmptyMatchError(f"Exporter did not match any modules to {pattern}, which "
                                      "was marked as allow_empty=False")

    def _write_mock_file(self) -> None:
        if "_mock.py" not in self._written_files:
            self._write("_mock.py", _read_file(os.path.join(os.path.dirname(__file__),
                                                            "_mock.py")))

    def _write_source_string(self, module_name: str, src: str, is_package: bool) -> None:
        suffix = "/__init__.py" if is_package else ".py"
        self._write(module_name.replace(".", "/") + suffix, src)

    def _execute_dependency_graph(self) -> None:
        self._validate_dependency_graph()
        extern_modules = []
        for module_name, attrs in self.dependency_graph.nodes.items():
            action = attrs["action"]
            if action == _ModuleProviderAction.EXTERN:
                for hook in self._extern_hooks.values():
                    hook(self, module_name)
                extern_modules.append(module_name)
            elif action == _ModuleProviderAction.MOCK:
                for hook in self._mock_hooks.values():
                    hook(self, module_name)
                self._write_mock_file()
                is_package = hasattr(self._import_module(module_name), "__path__")
                self._write_source_string(module_name, _MOCK_IMPL, is_package)
            elif action == _ModuleProviderAction.INTERN:
                for hook in self._intern_hooks.values():
                    hook(self, module_name)
                if not attrs.get("is_pickle"):
                    self._write_source_string(module_name, attrs["source"],
                                              attrs["is_package"])
            elif action == _ModuleProviderAction.REPACKAGED_MOCK_MODULE:
                self._write_mock_file()
        self._write(".data/extern_modules", "\n".join(extern_modules) + "\n")

    # -- inspection --------------------------------------------------------------------

    def dependency_graph_string(self) -> str:
        """The dependency graph as dot text."""
        return self.dependency_graph.to_dot()

    def _nodes_with_action_type(self, action) -> list[str]:
        return sorted(name for name, attrs in self.dependency_graph.nodes.items()
                      if attrs.get("action") == action and "is_pickle" not in attrs)

    def externed_modules(self) -> list[str]:
        return self._nodes_with_action_type(_ModuleProviderAction.EXTERN)

    def interned_modules(self) -> list[str]:
        return self._nodes_with_action_type(_ModuleProviderAction.INTERN)

    def mocked_modules(self) -> list[str]:
        return self._nodes_with_action_type(_ModuleProviderAction.MOCK)

    def denied_modules(self) -> list[str]:
        return self._nodes_with_action_type(_ModuleProviderAction.DENY)

    def get_rdeps(self, module_name: str) -> list[str]:
        """The modules (and pickles) that depend on ``module_name``."""
        graph = self.dependency_graph
        return list(graph.predecessors(module_name)) if module_name in graph else []

    def all_paths(self, src: str, dst: str) -> str:
        """Every path from ``src`` to ``dst`` in the dependency graph, as dot text."""
        return self.dependency_graph.all_paths(src, dst)
