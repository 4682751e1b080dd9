"""A package's container: the zip archive torch.package writes (every record under one
top-level folder named after the file, stored uncompressed, data 64-byte aligned as
PyTorch's ``PyTorchFileWriter`` lays it out), or an unzipped package folder."""

from __future__ import annotations

import os
import zipfile

from .. import _serialization_format as fmt


class ZipWriter:
    """Writes records straight into the archive (a model's storages are not held twice in
    memory); ``finish`` writes the central directory."""

    def __init__(self, f) -> None:
        if isinstance(f, (str, os.PathLike)):
            path = os.fspath(f)
            self._file = open(path, "wb")  # noqa: SIM115 - closed by finish()
            self._owned = True
            self._root = os.path.splitext(os.path.basename(path))[0] or "archive"
        else:
            if not hasattr(f, "write"):
                raise AttributeError(
                    "expected 'f' to be string, path, or a file-like object with a 'write' "
                    f"attribute (got {type(f).__name__})")
            self._file, self._owned, self._root = f, False, "archive"
        self._zip = zipfile.ZipFile(self._file, "w", compression=zipfile.ZIP_STORED,
                                    allowZip64=True)

    def write_record(self, name: str, payload: bytes) -> None:
        full = f"{self._root}/{name}"
        info = zipfile.ZipInfo(full, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_STORED
        info.extra = fmt._padding(self._file, full, fmt.ALIGNMENT)  # data 64-byte aligned
        self._zip.writestr(info, payload)

    def finish(self) -> None:
        if self._zip is None:
            return
        archive, self._zip = self._zip, None
        archive.close()
        if self._owned:
            self._file.close()
        elif hasattr(self._file, "flush"):
            self._file.flush()

    def __del__(self) -> None:
        # an exporter dropped without close(): end the archive while its file is still
        # open (zipfile's own finalizer may run after the buffer is gone)
        try:
            self.finish()
        except (AttributeError, OSError, ValueError):
            pass


class ZipReader:
    """Records of a package archive, named without the top-level folder."""

    def __init__(self, source) -> None:
        try:
            self._zip = zipfile.ZipFile(source)
        except zipfile.BadZipFile:
            raise RuntimeError("PytorchStreamReader failed reading zip archive: failed "
                               "finding central directory") from None
        names = [n for n in self._zip.namelist() if not n.endswith("/")]
        roots = {n.split("/", 1)[0] for n in names}
        if len(roots) != 1 or any("/" not in n for n in names):
            raise RuntimeError("PytorchStreamReader failed locating file: the archive does "
                               "not hold its records in one top-level folder")
        self._prefix = next(iter(roots)) + "/"
        self._names = [n[len(self._prefix):] for n in names]

    def get_all_records(self) -> list[str]:
        return list(self._names)

    def has_record(self, name: str) -> bool:
        return self._prefix + name in self._zip.NameToInfo

    def get_record(self, name: str) -> bytes:
        try:
            return self._zip.read(self._prefix + name)
        except KeyError:
            raise RuntimeError(f"PytorchStreamReader failed locating file {name}: file "
                               "not found") from None


class DirectoryReader:
    """An unzipped package: records are the files below ``directory``."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def get_all_records(self) -> list[str]:
        found = []
        for folder, _, files in os.walk(self.directory):
            for name in files:
                path = os.path.relpath(os.path.join(folder, name), self.directory)
                found.append(path.replace(os.sep, "/"))
        return sorted(found)

    def has_record(self, name: str) -> bool:
        return os.path.isfile(os.path.join(self.directory, name))

    def get_record(self, name: str) -> bytes:
        with open(os.path.join(self.directory, name), "rb") as f:
            return f.read()
