"""Where a package's exporter finds modules and objects by name: ``Importer`` (the
interface), ``sys_importer`` (Python's own import system) and ``OrderedImporter`` (several
tried in turn). The round trip they guarantee: ``get_name(obj)`` gives (module, name) such
that ``getattr(import_module(module), name) is obj``, or raises ObjNotFoundError /
ObjMismatchError."""

from __future__ import annotations

import importlib
import logging
import pickle
from abc import ABC, abstractmethod
from types import ModuleType
from typing import Any

from ._mangling import demangle, get_mangle_prefix, is_mangled

__all__ = ["ObjNotFoundError", "ObjMismatchError", "Importer", "OrderedImporter",
           "sys_importer"]
log = logging.getLogger(__name__)


class ObjNotFoundError(Exception):
    """An importer found no object under the name it looked for."""


class ObjMismatchError(Exception):
    """An importer found a different object under the name of the one given."""


def _lookup(module, qualname: str):
    """``module.a.b`` for qualname "a.b"; AttributeError when a step is missing."""
    obj = module
    for part in qualname.split("."):
        if part == "<locals>":
            raise AttributeError(f"Can't get local attribute {qualname!r} on {module!r}")
        obj = getattr(obj, part)
    return obj


class Importer(ABC):
    """An environment to import modules from (``sys_importer``, a PackageImporter, ...)."""

    modules: dict[str, ModuleType]

    @abstractmethod
    def import_module(self, module_name: str) -> ModuleType:
        """``importlib.import_module`` within this environment."""

    def get_name(self, obj: Any, name: str | None = None) -> tuple[str, str]:
        """(module name, attribute name) under which this environment finds ``obj``.

        Raises:
            ObjNotFoundError: nothing under the name.
            ObjMismatchError: a different object under the name (e.g. ``obj`` came from a
                package whose importer is not in this exporter's importer list).
        """
        if name is None and obj and type(obj) not in pickle._Pickler.dispatch:
            reduce = getattr(obj, "__reduce__", None)
            try:  # objects that pickle as a global name say so by reducing to a str
                reduced = reduce() if reduce is not None else None
            except Exception:  # noqa: BLE001 - not a by-name object; use its own name
                reduced = None
            if isinstance(reduced, str):
                name = reduced
        if name is None:
            name = getattr(obj, "__qualname__", None) or obj.__name__
        module_name = demangle(self.whichmodule(obj, name))
        try:
            found = _lookup(self.import_module(module_name), name)
        except (ImportError, KeyError, AttributeError):
            raise ObjNotFoundError(f"{obj} was not found as {module_name}.{name}") from None
        if found is obj:
            return module_name, name

        def origin(value):
            where = self.whichmodule(value, name)
            if is_mangled(where):
                prefix = get_mangle_prefix(where)
                return where, prefix, f"the importer for {prefix}"
            return where, "the current Python environment", "'sys_importer'"

        obj_module, obj_location, obj_importer = origin(obj)
        found_module, found_location, found_importer = origin(found)
        raise ObjMismatchError(
            f"\n\nThe object provided is from '{obj_module}', which is coming from "
            f"{obj_location}.\nHowever, when we import '{found_module}', it's coming from "
            f"{found_location}.\nTo fix this, make sure this 'PackageExporter's importer "
            f"lists {obj_importer} before {found_importer}.")

    def whichmodule(self, obj: Any, name: str) -> str:
        """The module ``obj`` belongs to: its ``__module__``, else a search of this
        importer's own modules (not ``sys.modules``), else ``__main__``."""
        module_name = getattr(obj, "__module__", None)
        if module_name is not None:
            return module_name
        for module_name, module in list(self.modules.items()):
            if module is None or module_name in ("__main__", "__mp_main__"):
                continue
            try:
                if _lookup(module, name) is obj:
                    return module_name
            except AttributeError:
                pass
        return "__main__"


class _SysImporter(Importer):
    """Python's own import system."""

    def import_module(self, module_name: str):
        return importlib.import_module(module_name)

    def whichmodule(self, obj: Any, name: str) -> str:
        module_name = getattr(obj, "__module__", None)
        return module_name if module_name is not None else pickle.whichmodule(obj, name)


sys_importer = _SysImporter()


class OrderedImporter(Importer):
    """Several importers, tried in order; the first that answers wins."""

    def __init__(self, *args) -> None:
        self._importers: list[Importer] = list(args)

    @staticmethod
    def _is_torchpackage_dummy(module) -> bool:
        """An empty package folder of a torch.package (``a`` when only ``a.b`` was
        interned): skipped, so a later importer can supply the real ``a``."""
        if not getattr(module, "__torch_package__", False) or not hasattr(module, "__path__"):
            return False
        return getattr(module, "__file__", None) is None

    def get_name(self, obj: Any, name: str | None = None) -> tuple[str, str]:
        for importer in self._importers:
            try:
                return importer.get_name(obj, name)
            except (ObjNotFoundError, ObjMismatchError) as error:
                log.warning("Tried to call get_name with obj %s, and name %s on %s and got %s",
                            obj, name, importer, error)
        raise ObjNotFoundError(
            f"Could not find obj {obj} and name {name} in any of the importers "
            f"{self._importers}")

    def import_module(self, module_name: str) -> ModuleType:
        last_error = None
        for importer in self._importers:
            if not isinstance(importer, Importer):
                raise TypeError(f"{importer} is not a Importer. All importers in "
                                "OrderedImporter must inherit from Importer.")
            try:
                module = importer.import_module(module_name)
            except ModuleNotFoundError as error:
                last_error = error
                continue
            if not self._is_torchpackage_dummy(module):
                return module
        if last_error is not None:
            raise last_error
        raise ModuleNotFoundError(module_name)

    def whichmodule(self, obj: Any, name: str) -> str:
        for importer in self._importers:
            module_name = importer.whichmodule(obj, name)
            if module_name != "__main__":
                return module_name
        return "__main__"
