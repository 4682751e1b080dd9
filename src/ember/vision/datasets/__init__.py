"""ember.vision.datasets: torchvision's datasets, with real downloads and an offline one.

Every dataset takes ``root``, ``transform``, ``target_transform`` and (where files are
fetched) ``download``. ``Digits`` ships with scikit-learn and needs no network.
"""

from __future__ import annotations

from ._download import (
    DownloadError,
    check_integrity,
    download_and_extract_archive,
    download_url,
    extract_archive,
)
from .cifar import CIFAR10, CIFAR100
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, find_classes, make_dataset
from .mnist import EMNIST, KMNIST, MNIST, QMNIST, FashionMNIST, read_idx
from .svhn import SVHN
from .synthetic import Digits, FakeData, SklearnDigits
from .vision import StandardTransform, VisionDataset

__all__ = [
    "CIFAR10", "CIFAR100", "DatasetFolder", "Digits", "DownloadError", "EMNIST",
    "FakeData", "FashionMNIST", "IMG_EXTENSIONS", "ImageFolder", "KMNIST", "MNIST",
    "QMNIST", "SVHN", "SklearnDigits", "StandardTransform", "VisionDataset",
    "check_integrity", "download_and_extract_archive", "download_url", "extract_archive",
    "find_classes", "make_dataset", "read_idx",
]
