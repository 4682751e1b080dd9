"""The pieces of importlib's logic a PackageImporter needs (relative names, __package__,
resource names), as CPython's ``importlib._bootstrap`` defines them."""

from __future__ import annotations

import os.path
import warnings


def _normalize_line_endings(source: bytes) -> bytes:
    return source.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _resolve_name(name: str, package: str, level: int) -> str:
    """The absolute name of ``from <level dots>name import ...`` inside ``package``."""
    parts = package.rsplit(".", level - 1)
    if len(parts) < level:
        raise ValueError("attempted relative import beyond top-level package")
    return f"{parts[0]}.{name}" if name else parts[0]


def _sanity_check(name, package, level) -> None:
    if not isinstance(name, str):
        raise TypeError(f"module name must be str, not {type(name)}")
    if level < 0:
        raise ValueError("level must be >= 0")
    if level > 0:
        if not isinstance(package, str):
            raise TypeError("__package__ not set to a string")
        if not package:
            raise ImportError("attempted relative import with no known parent package")
    if not name and level == 0:
        raise ValueError("Empty module name")


def _calc___package__(globals_: dict) -> str:
    """The package a module's relative imports resolve against."""
    package = globals_.get("__package__")
    spec = globals_.get("__spec__")
    if package is not None:
        if spec is not None and package != spec.parent:
            warnings.warn(f"__package__ != __spec__.parent ({package!r} != {spec.parent!r})",
                          ImportWarning, stacklevel=3)
        return package
    if spec is not None:
        return spec.parent
    warnings.warn("can't resolve package from __spec__ or __package__, falling back on "
                  "__name__ and __path__", ImportWarning, stacklevel=3)
    package = globals_["__name__"]
    return package if "__path__" in globals_ else package.rpartition(".")[0]


def _normalize_path(path: str) -> str:
    """A resource name: a bare file name (a path with folders is refused)."""
    parent, file_name = os.path.split(path)
    if parent:
        raise ValueError(f"{path!r} must be only a file name")
    return file_name
