"""Module-name mangling: each PackageImporter's modules are named ``<torch_package_N>.name``
so two packages (or a package and the running program) can hold modules of one name. The
prefix is PyTorch's, so code that inspects ``__module__`` sees the names it expects."""

from __future__ import annotations

import itertools
import re

_next_index = itertools.count()
_MANGLED = re.compile(r"<torch_package_\d+>")


class PackageMangler:
    """The mangling of one importer: a fresh ``<torch_package_N>`` parent."""

    def __init__(self) -> None:
        self._mangle_parent = f"<torch_package_{next(_next_index)}>"

    def mangle(self, name: str) -> str:
        if not name:
            raise AssertionError("name must not be empty")
        return f"{self._mangle_parent}.{name}"

    def demangle(self, mangled: str) -> str:
        """Strips this mangler's prefix only; other names pass through."""
        prefix = self._mangle_parent + "."
        return mangled[len(prefix):] if mangled.startswith(prefix) else mangled

    def parent_name(self) -> str:
        return self._mangle_parent


def is_mangled(name: str) -> bool:
    return _MANGLED.match(name) is not None


def demangle(name: str) -> str:
    """Strips any importer's prefix (``<torch_package_3>.a.b`` -> ``a.b``)."""
    if not is_mangled(name):
        return name
    _, dot, rest = name.partition(".")
    return rest if dot else ""


def get_mangle_prefix(name: str) -> str:
    return name.partition(".")[0] if is_mangled(name) else name
