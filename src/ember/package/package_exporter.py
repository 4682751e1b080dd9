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
_RISKY_STDLIB = ("sys", "io")
# top-level packages the loading side always provides (ember maps torch's names to its own)
_ALWAYS_EXTERN = ("torch", "ember")
_PICKLE_PROTOCOLS = (3, 4)  # what torch.package's reader accepts

# The module written for each mocked module: every attribute is a MockedObject.
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


# Module names with a fixed action whatever the patterns say.
_RESERVED = {"torch_package_importer": _ModuleProviderAction.SKIP,
             "_mock": _ModuleProviderAction.REPACKAGED_MOCK_MODULE}


class PackagingErrorReason(Enum):
    """Why a module cannot be packaged (the texts PackagingError prints)."""

    def __repr__(self):
        return f"<{type(self).__name__}.{self.name}>"

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


def _risky_note(name: str) -> str:
    return ("      Note: While we usually use modules in the python standard "
            f"library from the local environment, `{name}` has a lot of "
            "system level access and therefore can pose a security risk. We "
            f"heavily recommend removing `{name}` from your packaged code. "
            "However, if that is not possible, add it to the extern list by "
            f'calling PackageExporter.extern("`{name}`")\n')


class PackagingError(Exception):
    """Every module that could not be packaged, grouped by reason (``debug=True`` adds
    the chain of imports that brought each one in)."""

    def __init__(self, dependency_graph: DiGraph, debug: bool = False) -> None:
        by_reason: dict = {}
        for name, attrs in dependency_graph.nodes.items():
            if attrs.get("error") is not None:
                by_reason.setdefault(attrs["error"], []).append(name)
        parts = ["\n"]
        for reason, names in by_reason.items():
            parts.append(f"* {reason.value}\n")
            for name in names:
                parts.append(self._describe(dependency_graph, name, debug))
        if not debug:
            parts.append("\nSet debug=True when invoking PackageExporter for a "
                         "visualization of where broken modules are coming from!\n")
        self.dependency_graph = dependency_graph
        super().__init__("".join(parts))

    @staticmethod
    def _describe(graph: DiGraph, name: str, debug: bool) -> str:
        """One broken module's lines: its name, the error context, advice, its path."""
        text = f"    {name}\n"
        context = graph.nodes[name].get("error_context")
        if context is not None:
            text += f"      Context: {context}\n"
        if name in _RISKY_STDLIB:
            text += _risky_note(name)
        if debug:
            text += f"      A path to {name}: {' -> '.join(graph.first_path(name))}\n"
        return text


def _read_file(filename: str) -> str:
    return Path(filename).read_bytes().decode("utf-8")


def _is_stdlib_module(module_name: str) -> bool:
    return module_name.partition(".")[0] in sys.stdlib_module_names


def _module_source(module) -> str | None:
    """The text of a module's ``.py`` file (through linecache, as tracebacks see it), or
    None for modules without one (extensions, built-ins, frozen, namespace packages)."""
    spec = getattr(module, "__spec__", None)
    loader = getattr(spec, "loader", None)
    path = None
    if isinstance(loader, SourceFileLoader):
        try:
            path = loader.get_filename(module.__name__)
        except ImportError:
            path = None
    path = path if path is not None else getattr(module, "__file__", None)
    if not (isinstance(path, str) and path.endswith(".py")):
        return None
    return "".join(linecache.getlines(path, module.__dict__))


def _missing_source_reason(module) -> tuple[PackagingErrorReason, str | None]:
    """Why a module has no source to copy, with the context PackagingError shows."""
    path = getattr(module, "__file__", None)
    if path is None:
        return PackagingErrorReason.NO_DUNDER_FILE, None
    if path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
        return PackagingErrorReason.IS_EXTENSION_MODULE, None
    return PackagingErrorReason.SOURCE_FILE_NOT_FOUND, f"filename: {path}"


def _archive_path(module_name: str, is_package: bool) -> str:
    return module_name.replace(".", "/") + ("/__init__.py" if is_package else ".py")


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

    def __init__(self, f, importer=sys_importer, debug: bool = False) -> None:
        self.debug = debug
        if not isinstance(importer, (Importer, collections.abc.Sequence)):
            raise TypeError("importer arg should be an Importer or a sequence of Importers, "
                            f"got {type(importer)} instead.")
        self.importer: Importer = (importer if isinstance(importer, Importer)
                                   else OrderedImporter(*importer))
        self._zip = ZipWriter(f)
        self._records: set[str] = set()  # archive paths written so far
        self.serialized_reduces: dict[int, tuple] = {}
        self.dependency_graph = DiGraph()
        # hooks per action, called as each module is written out
        self._hooks = {action: collections.OrderedDict() for action in (
            _ModuleProviderAction.EXTERN, _ModuleProviderAction.MOCK,
            _ModuleProviderAction.INTERN)}
        self.patterns = {}  # GlobGroup -> _PatternInfo, in the order given
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

    def _first_match(self, module_name: str):
        """The (pattern, info) deciding ``module_name``: the first pattern given wins."""
        return next(((pattern, info) for pattern, info in self.patterns.items()
                     if pattern.matches(module_name)), (None, None))

    def _register_hook(self, action, hook):
        from ..utils.hooks import RemovableHandle

        table = self._hooks[action]
        handle = RemovableHandle(table)
        table[handle.id] = hook
        return handle

    def register_extern_hook(self, hook):
        """``hook(exporter, module_name)`` for each extern module, when the package is
        written; returns a handle whose ``remove()`` unregisters it."""
        return self._register_hook(_ModuleProviderAction.EXTERN, hook)

    def register_mock_hook(self, hook):
        """``hook(exporter, module_name)`` for each mocked module."""
        return self._register_hook(_ModuleProviderAction.MOCK, hook)

    def register_intern_hook(self, hook):
        """``hook(exporter, module_name)`` for each interned module."""
        return self._register_hook(_ModuleProviderAction.INTERN, hook)

    # -- source ------------------------------------------------------------------------

    def get_unique_id(self) -> str:
        """An id handed out once per package (for ``__reduce_package__`` resources)."""
        issued, self._unique_id = self._unique_id, self._unique_id + 1
        return str(issued)

    def save_source_file(self, module_name: str, file_or_directory: str,
                         dependencies: bool = True) -> None:
        """The code of ``module_name`` from a file, or from a folder of ``.py`` files
        (``__init__.py`` making packages), all recorded before any is scanned so the
        folder's modules are not looked up elsewhere."""
        root = Path(file_or_directory)
        if not root.is_dir():
            self.save_source_string(module_name, _read_file(file_or_directory),
                                    root.name == "__init__.py", dependencies)
            return
        found = []
        for file in root.rglob("*.py"):
            parts = file.relative_to(root).with_suffix("").parts
            is_package = file.name == "__init__.py"
            dotted = ".".join((module_name, *(parts[:-1] if is_package else parts)))
            found.append((dotted, _read_file(str(file)), is_package))
        for dotted, source, is_package in found:
            self.save_source_string(dotted, source, is_package, dependencies)

    def save_source_string(self, module_name: str, src: str, is_package: bool = False,
                           dependencies: bool = True) -> None:
        """``src`` as the code of ``module_name`` (a package if ``is_package``)."""
        self._record_source(module_name, src, is_package, dependencies)

    def save_module(self, module_name: str, dependencies: bool = True) -> None:
        """The code of an importable module (found through the importer), interned."""
        if not isinstance(module_name, str):
            raise TypeError("save_module() expects a string input, did you perhaps mean to "
                            "pass `__name__`?")
        self._intern(module_name, dependencies)

    def _record_source(self, name: str, src: str, is_package: bool, follow: bool) -> None:
        """Enter ``name`` as an interned module with ``src``, and (if ``follow``) the
        modules it imports, each with the action its patterns give it."""
        graph = self.dependency_graph
        graph.add_node(name, source=src, is_package=is_package, provided=True,
                       action=_ModuleProviderAction.INTERN)
        if not follow:
            return
        for needed in self._imports_of(src, name, is_package):
            graph.add_edge(name, needed)
            self.add_dependency(needed)

    def _imports_of(self, src: str, module_name: str, is_package: bool) -> list[str]:
        """The existing modules ``src`` imports; ``from pkg import sub`` names the
        submodule ``pkg.sub`` when there is one (then ``pkg`` itself is not needed)."""
        anchor = module_name if is_package else module_name.rsplit(".", 1)[0]
        try:
            references = find_files_source_depends_on(src, anchor)
        except Exception as error:  # noqa: BLE001 - recorded as the module's error
            self.dependency_graph.add_node(
                module_name, error=PackagingErrorReason.DEPENDENCY_RESOLUTION_FAILED,
                error_context=str(error))
            return []
        needed: dict[str, None] = {}  # ordered, without repeats
        for module, attribute in references:
            submodule = None if attribute is None else f"{module}.{attribute}"
            if submodule is not None and self._module_exists(submodule):
                needed[submodule] = None
            elif self._module_exists(module):
                needed[module] = None
        return list(needed)

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

    def add_dependency(self, module_name: str, dependencies: bool = True) -> None:
        """Put ``module_name`` in the graph with the action its patterns give it."""
        graph = self.dependency_graph
        if module_name in graph and graph.nodes[module_name].get("provided") is True:
            return  # already decided
        fixed = _RESERVED.get(module_name)
        if fixed is None and self._can_implicitly_extern(module_name):
            fixed = _ModuleProviderAction.EXTERN
        if fixed is not None:
            graph.add_node(module_name, action=fixed, provided=True)
            return
        pattern, info = self._first_match(module_name)
        if pattern is None:
            graph.add_node(module_name, error=PackagingErrorReason.NO_ACTION)
            return
        info.was_matched = True
        graph.add_node(module_name, action=info.action, provided=True)
        if info.action is _ModuleProviderAction.DENY:
            graph.add_node(module_name, error=PackagingErrorReason.DENIED)
        elif info.action is _ModuleProviderAction.INTERN:
            self._intern(module_name, dependencies)

    def _intern(self, module_name: str, dependencies: bool) -> None:
        """Copy an importable module's source in (or record why it cannot be)."""
        module = self._import_module(module_name)
        name = demangle(module_name)  # imported fine: store it unmangled
        is_package = hasattr(module, "__path__")
        source = _module_source(module)
        if source is not None:
            self._record_source(name, source, is_package, dependencies)
            return
        reason, context = _missing_source_reason(module)
        self.dependency_graph.add_node(
            name, action=_ModuleProviderAction.INTERN, is_package=is_package,
            error=reason, error_context=context, provided=True)

    def _can_implicitly_extern(self, module_name: str) -> bool:
        top = module_name.partition(".")[0]
        if top in _ALWAYS_EXTERN:
            return True
        return top not in _RISKY_STDLIB and _is_stdlib_module(top)

    # -- resources ---------------------------------------------------------------------

    def save_pickle(self, package: str, resource: str, obj, dependencies: bool = True,
                    pickle_protocol: int = 3) -> None:
        """Pickle ``obj`` as ``package/resource`` (tensors as torch stores them); with
        ``dependencies``, the modules its classes come from are packaged by the patterns."""
        if pickle_protocol not in _PICKLE_PROTOCOLS:
            raise AssertionError(
                f"torch.package only supports pickle protocols 3 and 4, got {pickle_protocol}")
        target = self._filename(package, resource)
        writer = fmt._Writer()
        writer.storages, writer.alive = self._storages, self._storages_alive
        before = set(self._storages)
        out = io.BytesIO()
        PackagePickler(out, self.importer, writer, self._persistent_reduce,
                       protocol=pickle_protocol).dump(obj)
        for root_id, (key, root, _) in self._storages.items():
            if root_id not in before:  # first seen in this pickle: its bytes, once
                self._write(f".data/{key}.storage", np.ascontiguousarray(root).tobytes())
        pickled = out.getvalue()
        node = f"<{package}.{resource}>"
        self.dependency_graph.add_node(node, action=_ModuleProviderAction.INTERN,
                                       provided=True, is_pickle=True)
        if dependencies:
            self._add_pickle_dependencies(node, package, resource, pickled)
        self._write(target, pickled)

    def _add_pickle_dependencies(self, node, package, resource, pickled) -> None:
        """Link a pickle to the modules its globals come from; a mocked one is an error
        (the stub could not rebuild the object)."""
        used: dict[str, list[str]] = {}  # module -> the names a mocked module must give
        mocked: set[str] = set()
        for module, field in pickle_globals(pickled):
            fields = used.setdefault(module, [])
            if self._can_implicitly_extern(module):
                continue
            _, info = self._first_match(module)
            if info is not None and info.action is _ModuleProviderAction.MOCK:
                mocked.add(module)
                fields.append(field)
        graph = self.dependency_graph
        for module, fields in used.items():
            graph.add_edge(node, module)
            if module not in mocked:
                self.add_dependency(module)
                continue
            context = (f"Object(s) '{fields}' from module `{module}` was mocked out during "
                       f"packaging but is being used in resource - `{resource}` in package "
                       f"`{package}`. ")
            graph.add_node(module, action=_ModuleProviderAction.MOCK, provided=True,
                           error=PackagingErrorReason.MOCKED_BUT_STILL_USED,
                           error_context=context)

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
        """One archive record (text is written as UTF-8); each path only once."""
        if filename in self._records:
            raise AssertionError(f"Tried to write file '{filename}', but it already exists in "
                                 "this archive. Please file a bug.")
        if is_mangled(filename):
            raise AssertionError(f"Tried to save a torch.package'd module as '{filename}'. "
                                 "Directly saving torch.package'd modules is not allowed.")
        self._records.add(filename)
        data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        self._zip.write_record(filename, data)

    # -- finishing ---------------------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        if exc_type is None:
            self.close()
        else:  # leave a readable archive of what was written, no more
            self._finalize_zip()

    def close(self) -> None:
        """Check the dependency graph, write every module it decided on, the extern list
        and the Python version, and finish the archive."""
        try:
            self._check_graph()
            self._write_modules()
            trailer = ((".data/python_version", platform.python_version()),
                       (".data/version", "6\n"),  # PyTorch's minimum reader version
                       ("byteorder", sys.byteorder))
            for record, text in trailer:
                self._write(record, text)
        finally:  # on a PackagingError too: the file is closed, its archive readable
            self._finalize_zip()

    def _finalize_zip(self) -> None:
        if not self._closed:
            self._closed = True
            self._zip.finish()

    def _check_graph(self) -> None:
        """Refuse a package with a broken module or an unmatched strict pattern."""
        if any("error" in attrs for attrs in self.dependency_graph.nodes.values()):
            raise PackagingError(self.dependency_graph, debug=self.debug)
        for pattern, info in self.patterns.items():
            if not (info.allow_empty or info.was_matched):
                raise EmptyMatchError(f"Exporter did not match any modules to {pattern}, which "
                                      "was marked as allow_empty=False")

    def _write_mock_support(self) -> None:
        """The ``_mock`` module that mocked modules import (written once)."""
        if "_mock.py" in self._records:
            return
        self._write("_mock.py", _read_file(os.path.join(os.path.dirname(__file__), "_mock.py")))

    def _write_modules(self) -> None:
        """Write each module as its action says, in graph order, calling its hooks first."""
        externs = []
        actions = _ModuleProviderAction
        for name, attrs in self.dependency_graph.nodes.items():
            action = attrs["action"]
            for hook in self._hooks.get(action, {}).values():
                hook(self, name)
            if action is actions.EXTERN:
                externs.append(name)
            elif action is actions.MOCK:
                self._write_mock_support()
                is_package = hasattr(self._import_module(name), "__path__")
                self._write(_archive_path(name, is_package), _MOCK_IMPL)
            elif action is actions.INTERN and not attrs.get("is_pickle"):
                self._write(_archive_path(name, attrs["is_package"]), attrs["source"])
            elif action is actions.REPACKAGED_MOCK_MODULE:
                self._write_mock_support()
        self._write(".data/extern_modules", "\n".join(externs) + "\n")

    # -- inspection --------------------------------------------------------------------

    def dependency_graph_string(self) -> str:
        """The dependency graph as dot text."""
        return self.dependency_graph.to_dot()

    def _modules_with(self, action) -> list[str]:
        return sorted(name for name, attrs in self.dependency_graph.nodes.items()
                      if attrs.get("action") == action and "is_pickle" not in attrs)

    def externed_modules(self) -> list[str]:
        return self._modules_with(_ModuleProviderAction.EXTERN)

    def interned_modules(self) -> list[str]:
        return self._modules_with(_ModuleProviderAction.INTERN)

    def mocked_modules(self) -> list[str]:
        return self._modules_with(_ModuleProviderAction.MOCK)

    def denied_modules(self) -> list[str]:
        return self._modules_with(_ModuleProviderAction.DENY)

    def get_rdeps(self, module_name: str) -> list[str]:
        """The modules (and pickles) that depend on ``module_name``."""
        graph = self.dependency_graph
        return list(graph.predecessors(module_name)) if module_name in graph else []

    def all_paths(self, src: str, dst: str) -> str:
        """Every path from ``src`` to ``dst`` in the dependency graph, as dot text."""
        return self.dependency_graph.all_paths(src, dst)
