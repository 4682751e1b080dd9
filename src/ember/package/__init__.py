"""``ember.package``: torch.package's self-contained model archives (code, pickled objects
and resources in one zip), written and read in PyTorch's format. See
``package_exporter`` (what goes in, and how modules are chosen) and ``package_importer``
(how code is loaded hermetically, torch's names served by ember)."""

from .analyze.is_from_package import is_from_package
from .file_structure_representation import Directory
from .glob_group import GlobGroup
from .importer import (
    Importer,
    ObjMismatchError,
    ObjNotFoundError,
    OrderedImporter,
    sys_importer,
)
from .package_exporter import EmptyMatchError, PackageExporter, PackagingError
from .package_importer import PackageImporter

__all__ = [
    "Directory", "EmptyMatchError", "GlobGroup", "Importer", "ObjMismatchError",
    "ObjNotFoundError", "OrderedImporter", "PackageExporter", "PackageImporter",
    "PackagingError", "is_from_package", "sys_importer",
]
