"""``torch.export.pt2_archive``: the zip container of PyTorch's ``.pt2`` files.

A ``.pt2`` archive is a zip of uncompressed records under one root folder
(``<root>/archive_format`` holds ``pt2``): ``models/<name>.json`` (the program in
torch's serialization schema), ``data/weights/`` and ``data/constants/`` (raw tensor
bytes plus a JSON config), ``data/sample_inputs/<name>.pt`` and ``extra/`` files.
Records are padded to 64-byte offsets as ``torch._C.PyTorchFileWriter`` writes them,
so torch can read the tensor bytes in place. ``_package`` holds ``package_pt2`` and
``load_pt2``, as in PyTorch.
"""

from __future__ import annotations

import io
import os
import zipfile

from ..._serialization_format import _padding

__all__ = ["PT2ArchiveReader", "PT2ArchiveWriter", "is_pt2_package"]

ARCHIVE_FORMAT_PATH = "archive_format"
ARCHIVE_FORMAT_VALUE = "pt2"
ARCHIVE_VERSION_PATH = "archive_version"
ARCHIVE_VERSION_VALUE = "0"
MODELS_DIR = "models/"
MODELS_FILENAME_FORMAT = "models/{}.json"
WEIGHTS_DIR = "data/weights/"
WEIGHTS_CONFIG_FILENAME_FORMAT = "data/weights/{}_weights_config.json"
WEIGHT_FILENAME_PREFIX = "weight_"
CONSTANTS_DIR = "data/constants/"
CONSTANTS_CONFIG_FILENAME_FORMAT = "data/constants/{}_constants_config.json"
TENSOR_CONSTANT_FILENAME_PREFIX = "tensor_"
SAMPLE_INPUTS_FILENAME_FORMAT = "data/sample_inputs/{}.pt"
EXTRA_DIR = "extra/"
AOTINDUCTOR_DIR = "data/aotinductor/"


def _root_of(names: list[str]) -> str:
    return names[0].split("/")[0] if names else ""


def is_pt2_package(serialized_model) -> bool:
    """True when ``serialized_model`` (bytes, a path or a seekable binary file) is a zip
    whose root folder holds ``archive_format`` = ``pt2``."""
    source = io.BytesIO(serialized_model) if isinstance(serialized_model, bytes) \
        else serialized_model
    try:
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
            path = f"{_root_of(names)}/{ARCHIVE_FORMAT_PATH}"
            return path in names and archive.read(path) == b"pt2"
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


class PT2ArchiveWriter:
    """Context manager writing records (paths relative to the root folder) to a .pt2."""

    def __init__(self, archive_path_or_buffer) -> None:
        self._owned = isinstance(archive_path_or_buffer, (str, os.PathLike))
        if self._owned:
            root = os.path.splitext(os.path.basename(os.fspath(archive_path_or_buffer)))[0]
            self._file = open(archive_path_or_buffer, "wb")  # noqa: SIM115 - closed in close()
        else:
            root, self._file = "archive", archive_path_or_buffer
        self._root = root or "archive"
        self._zip = zipfile.ZipFile(self._file, "w", compression=zipfile.ZIP_STORED,
                                    allowZip64=True)
        self._written: list[str] = []
        self.write_string(".data/version", "6\n")
        self.write_string("byteorder", "little")

    def __enter__(self) -> PT2ArchiveWriter:
        return self

    def __exit__(self, *args) -> None:
        if not self.has_record(ARCHIVE_FORMAT_PATH):
            self.write_string(ARCHIVE_FORMAT_PATH, ARCHIVE_FORMAT_VALUE)
        if not self.has_record(ARCHIVE_VERSION_PATH):
            self.write_string(ARCHIVE_VERSION_PATH, ARCHIVE_VERSION_VALUE)
        self.close()

    def has_record(self, name: str) -> bool:
        return name in self._written

    def count_prefix(self, prefix: str) -> int:
        return sum(1 for name in self._written if name.startswith(prefix))

    def write_bytes(self, name: str, data: bytes) -> None:
        if not isinstance(data, bytes):
            raise AssertionError(f"Expected bytes but got {type(data)}")
        full = f"{self._root}/{name}"
        info = zipfile.ZipInfo(full, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_STORED
        info.extra = _padding(self._file, full)
        self._zip.writestr(info, data)
        self._written.append(name)

    def write_string(self, name: str, data: str) -> None:
        if not isinstance(data, str):
            raise AssertionError(f"Expected string but got {type(data)}")
        self.write_bytes(name, data.encode())

    def write_file(self, name: str, file_path: str) -> None:
        if not os.path.isfile(file_path):
            raise AssertionError(f"{file_path} is not a valid file path")
        with open(file_path, "rb") as f:
            self.write_bytes(name, f.read())

    def close(self) -> None:
        self._zip.close()
        if self._owned:
            self._file.close()


class PT2ArchiveReader:
    """Context manager reading the records of a .pt2 (paths relative to its root)."""

    def __init__(self, archive_path_or_buffer) -> None:
        self._zip = zipfile.ZipFile(archive_path_or_buffer)
        names = self._zip.namelist()
        self._root = _root_of(names)
        self._names = [n[len(self._root) + 1:] for n in names if n.startswith(self._root + "/")]
        if ARCHIVE_FORMAT_PATH not in self._names or \
                self.read_string(ARCHIVE_FORMAT_PATH) != ARCHIVE_FORMAT_VALUE:
            raise AssertionError("Invalid archive format")

    def __enter__(self) -> PT2ArchiveReader:
        return self

    def __exit__(self, *args) -> None:
        self._zip.close()

    def read_bytes(self, name: str) -> bytes:
        return self._zip.read(f"{self._root}/{name}")

    def read_string(self, name: str) -> str:
        return self.read_bytes(name).decode()

    def archive_version(self) -> int:
        if ARCHIVE_VERSION_PATH not in self._names:
            return 0
        return int(self.read_string(ARCHIVE_VERSION_PATH))

    def get_file_names(self) -> list[str]:
        return list(self._names)


for _cls in (PT2ArchiveReader, PT2ArchiveWriter):
    _cls.__module__ = "torch.export.pt2_archive"
is_pt2_package.__module__ = "torch.export.pt2_archive"
