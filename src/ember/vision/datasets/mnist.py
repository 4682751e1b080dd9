"""MNIST and its drop-in siblings (FashionMNIST, KMNIST, EMNIST, QMNIST) from IDX files.

IDX is the format LeCun's MNIST files use: a 4-byte magic (two zero bytes, a type code,
the number of dimensions), big-endian int32 sizes, then the array. Files are read raw or
straight from their ``.gz``.
"""

from __future__ import annotations

import gzip
import lzma
import os
import shutil
import string
import sys

import numpy as np

import ember

from ._download import (
    DownloadError,
    download_and_extract_archive,
    extract_archive,
    verify_str_arg,
)
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "EMNIST", "QMNIST", "read_idx"]

_IDX_TYPES = {
    0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}


def _open(path: str):
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".xz"):
        return lzma.open(path, "rb")
    return open(path, "rb")


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file (optionally .gz/.xz compressed) into a native-endian NumPy array."""
    with _open(path) as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise RuntimeError(f"{path} is not an IDX file (bad magic number)")
    ndim = data[3]
    dims = np.frombuffer(data, dtype=">i4", count=ndim, offset=4)
    dtype = _IDX_TYPES[data[2]]
    offset = 4 + 4 * ndim
    count = int(np.prod(dims)) if ndim else 1
    if len(data) - offset < count * dtype.itemsize:
        raise RuntimeError(f"{path} is truncated: expected {count} values of {dtype}")
    array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return array.astype(dtype.newbyteorder("="), copy=True).reshape(tuple(int(d) for d in dims))


def _find(folder: str, name: str) -> str | None:
    """The raw file, or its compressed copy, whichever is present."""
    for candidate in (name, name + ".gz", name + ".xz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    return None


def _image(array: np.ndarray):
    from PIL import Image

    return Image.fromarray(array)


class MNIST(VisionDataset):
    """Handwritten digits, 28x28 grayscale; 60,000 train and 10,000 test images.

    Args:
        root: folder holding ``MNIST/raw``. train: the training or the test split.
        transform: applied to the PIL image. target_transform: applied to the label.
        download: fetch the files from ``mirrors`` (checked against ``resources`` md5s)
            when missing.

    Items are ``(PIL.Image mode "L", int)``; ``data`` is a uint8 tensor (N, 28, 28) and
    ``targets`` an int64 tensor (N,).
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    training_file = "training.pt"
    test_file = "test.pt"
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: str, train: bool = True, transform=None, target_transform=None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        self.data, self.targets = self._load_data()

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def processed_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "processed")

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def _file_names(self) -> tuple[str, str]:
        prefix = "train" if self.train else "t10k"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    def _check_exists(self) -> bool:
        return all(_find(self.raw_folder, os.path.splitext(name)[0]) is not None
                   for name, _ in self.resources)

    def _load_data(self):
        images_name, labels_name = self._file_names()
        images = read_idx(_find(self.raw_folder, images_name))
        labels = read_idx(_find(self.raw_folder, labels_name))
        if images.dtype != np.uint8 or images.ndim != 3:
            raise RuntimeError(f"{images_name}: expected uint8 images of 3 dimensions, got "
                               f"{images.dtype} with {images.ndim}")
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise RuntimeError(f"{labels_name}: expected uint8 labels of 1 dimension, got "
                               f"{labels.dtype} with {labels.ndim}")
        return ember.from_numpy(images), ember.from_numpy(labels.astype(np.int64))

    def __getitem__(self, index: int):
        img = _image(self.data[index].numpy())
        target = int(self.targets[index])
        return self._transformed(img, target)

    def __len__(self) -> int:
        return len(self.data)

    def download(self) -> None:
        """Fetch each resource from the first mirror that answers; md5-checked."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            errors = []
            for mirror in self.mirrors:
                url = f"{mirror}{filename}"
                try:
                    download_and_extract_archive(url, download_root=self.raw_folder,
                                                 filename=filename, md5=md5)
                except DownloadError as error:
                    print(f"Failed to download (trying next):\n{error}", file=sys.stderr)
                    errors.append(str(error))
                    continue
                break
            else:
                raise RuntimeError(f"Error downloading {filename}: " + "; ".join(errors))

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's clothing images, MNIST's shapes and split sizes."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST: ten cursive Japanese characters."""

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


class EMNIST(MNIST):
    """Extended MNIST: letters and digits, one of six ``split`` s of NIST SD19.

    The images are stored transposed in the published files and are returned as stored,
    as torchvision does.
    """

    url = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    md5 = "58c8d27c78d21e728a6bc7b3cc06412e"
    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    _merged_classes = {"c", "i", "j", "k", "l", "m", "o", "p", "s", "u", "v", "w", "x", "y",
                       "z"}
    _all_classes = set(string.digits + string.ascii_letters)
    classes_split_dict = {
        "byclass": sorted(_all_classes),
        "bymerge": sorted(_all_classes - _merged_classes),
        "balanced": sorted(_all_classes - _merged_classes),
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root: str, split: str, **kwargs) -> None:
        self.split = verify_str_arg(split, "split", self.splits)
        self.classes = self.classes_split_dict[self.split]
        super().__init__(root, **kwargs)

    def _file_names(self) -> tuple[str, str]:
        prefix = f"emnist-{self.split}-{'train' if self.train else 'test'}"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    def _check_exists(self) -> bool:
        return all(_find(self.raw_folder, name) is not None for name in self._file_names())

    def download(self) -> None:
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        download_and_extract_archive(self.url, download_root=self.raw_folder, md5=self.md5)
        gzip_folder = os.path.join(self.raw_folder, "gzip")
        for name in os.listdir(gzip_folder):
            if name.endswith(".gz"):
                extract_archive(os.path.join(gzip_folder, name), self.raw_folder)
        shutil.rmtree(gzip_folder)


class QMNIST(MNIST):
    """QMNIST: MNIST reconstructed from NIST with 8 label columns per image.

    Args:
        what: "train", "test", "test10k", "test50k" or "nist" (defaults from ``train``).
        compat: targets are ints as MNIST's (True) or the full int64 row of 8 values:
            class, NIST hsf series, writer id, digit index, NIST class, 0, 0, 0 (False).
    """

    subsets = {"train": "train", "test": "test", "test10k": "test", "test50k": "test",
               "nist": "nist"}
    _base = "https://raw.githubusercontent.com/facebookresearch/qmnist/master/"
    resources = {
        "train": [(_base + "qmnist-train-images-idx3-ubyte.gz",
                   "ed72d4157d28c017586c42bc6afe6370"),
                  (_base + "qmnist-train-labels-idx2-int.gz",
                   "0058f8dd561b90ffdd0f734c6a30e5e4")],
        "test": [(_base + "qmnist-test-images-idx3-ubyte.gz",
                  "1394631089c404de565df7b7aeaf9412"),
                 (_base + "qmnist-test-labels-idx2-int.gz",
                  "5b5b05890a5e13444e108efe57b788aa")],
        "nist": [(_base + "xnist-images-idx3-ubyte.xz", "7f124b3b8ab81486c9d8c2749c17f834"),
                 (_base + "xnist-labels-idx2-int.xz", "5ed0e788978e45d4a8bd4b7caec3d79d")],
    }

    def __init__(self, root: str, what: str | None = None, compat: bool = True,
                 train: bool = True, **kwargs) -> None:
        if what is None:
            what = "train" if train else "test"
        self.what = verify_str_arg(what, "what", tuple(self.subsets.keys()))
        self.compat = compat
        super().__init__(root, train, **kwargs)

    def _file_names(self) -> tuple[str, str]:
        urls = [url for url, _ in self.resources[self.subsets[self.what]]]
        names = [os.path.basename(url) for url in urls]
        return tuple(os.path.splitext(name)[0] for name in names)

    def _check_exists(self) -> bool:
        return all(_find(self.raw_folder, name) is not None for name in self._file_names())

    def _load_data(self):
        images_name, labels_name = self._file_names()
        images = read_idx(_find(self.raw_folder, images_name))
        labels = read_idx(_find(self.raw_folder, labels_name))
        if images.dtype != np.uint8 or images.ndim != 3:
            raise RuntimeError(f"{images_name}: expected uint8 images of 3 dimensions")
        if labels.dtype != np.dtype(np.int32) or labels.ndim != 2:
            raise RuntimeError(f"{labels_name}: expected int32 labels of 2 dimensions")
        if self.what == "test10k":
            images, labels = images[:10000], labels[:10000]
        elif self.what == "test50k":
            images, labels = images[10000:], labels[10000:]
        return (ember.from_numpy(np.ascontiguousarray(images)),
                ember.from_numpy(labels.astype(np.int64)))

    def download(self) -> None:
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for url, md5 in self.resources[self.subsets[self.what]]:
            download_and_extract_archive(url, self.raw_folder, md5=md5)

    def __getitem__(self, index: int):
        img = _image(self.data[index].numpy())
        target = self.targets[index]
        if self.compat:
            target = int(target[0])
        return self._transformed(img, target)

    def extra_repr(self) -> str:
        return f"Split: {self.what}"
