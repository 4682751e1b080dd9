"""SVHN: Street View House Numbers, 32x32 digit crops from MATLAB .mat files."""

from __future__ import annotations

import os

import numpy as np

from ._download import check_integrity, download_url, verify_str_arg
from .vision import VisionDataset

__all__ = ["SVHN"]


def _loadmat(path: str):
    try:
        import scipy.io as sio
    except ImportError as err:
        raise ImportError("SVHN reads .mat files with scipy.io.loadmat; install scipy "
                          "(pip install scipy) to use this dataset") from err
    return sio.loadmat(path)


class SVHN(VisionDataset):
    """Args: root, split ("train", "test" or "extra"), transform, target_transform,
    download. Label 10 (digit zero in the files) is mapped to 0, as torchvision.

    ``data`` is a uint8 NumPy array (N, 3, 32, 32), ``labels`` int64 (N,).
    """

    split_list = {
        "train": ["http://ufldl.stanford.edu/housenumbers/train_32x32.mat",
                  "train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373"],
        "test": ["http://ufldl.stanford.edu/housenumbers/test_32x32.mat",
                 "test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3"],
        "extra": ["http://ufldl.stanford.edu/housenumbers/extra_32x32.mat",
                  "extra_32x32.mat", "a93ce644f1a588dc4d68dda5feec44a7"],
    }

    def __init__(self, root: str, split: str = "train", transform=None,
                 target_transform=None, download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.split = verify_str_arg(split, "split", tuple(self.split_list.keys()))
        self.url, self.filename, self.file_md5 = self.split_list[split]
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True "
                               "to download it")
        loaded = _loadmat(os.path.join(self.root, self.filename))
        self.data = np.transpose(loaded["X"], (3, 2, 0, 1))
        labels = loaded["y"].astype(np.int64).squeeze(-1) if loaded["y"].ndim > 1 \
            else loaded["y"].astype(np.int64)
        labels[labels == 10] = 0
        self.labels = labels

    def __getitem__(self, index: int):
        from PIL import Image

        img = Image.fromarray(np.transpose(self.data[index], (1, 2, 0)))
        target = int(self.labels[index])
        return self._transformed(img, target)

    def __len__(self) -> int:
        return len(self.data)

    def _check_integrity(self) -> bool:
        return check_integrity(os.path.join(self.root, self.filename), self.file_md5)

    def download(self) -> None:
        download_url(self.url, self.root, self.filename, self.file_md5)

    def extra_repr(self) -> str:
        return f"Split: {self.split}"
