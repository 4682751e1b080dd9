"""``is_from_package``: whether an object (or module) came out of a PackageImporter."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from .._mangling import is_mangled


def is_from_package(obj: Any) -> bool:
    """True for a module a PackageImporter built, or an instance of a class defined in one
    (their module names carry the importer's ``<torch_package_N>`` prefix)."""
    if type(obj) is ModuleType:
        return is_mangled(obj.__name__)
    return is_mangled(type(obj).__module__)
