"""A package's container: the zip archive torch.package writes (every record under one
top-level folder named after the file, stored uncompressed, data 64-byte aligned as
PyTorch's ``PyTorchFileWriter`` lays it out), or an unzipped package folder."""

from __future__ import annotations

import io
import os
import zipfile

from .. import _serialization_format as fmt


class ZipWriter:
    """Collects records and writes them as one archive when finished."""

    def __init__(self, f) -> None:
        if isinstance(f, (str, os.PathLike)):
            self._path = os.fspath(f)
            self._buffer = None
            stem = os.path.splitext(os.path.basename(self._path))[0]
            self._root = stem or "archive"
            open(self._path, "wb").close()  # as PyTorch: the file exists from the start
        else:
            if not hasattr(f, "write"):
                raise AttributeError(
                    "expected 'f' to be string, path, or a file-like object with a 'write' "
                    f"attribute (got {type(f).__name__})")
            self._path, self._buffer, self._root = None, f, "archive"
        self._records: list[tuple[str, bytes]] = []

    def write_record(self, name: str, payload: bytes) -> None:
        self._records.append((name, payload))

    def finish(self) -> None:
        """Write the archive to the path or buffer given at construction."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
            for name, payload in self._records:
                full = f"{self._root}/{name}"
                info = zipfile.ZipInfo(full, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_STORED
                info.extra = fmt._padding(out, full, fmt.ALIGNMENT)
                z.writestr(info, payload)
        if self._path is not None:
            with open(self._path, "wb") as target:
                target.write(out.getvalue())
        else:
            self._buffer.write(out.getvalue())
            if hasattr(self._buffer, "flush"):
                self._buffer.flush()


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
