"""Datasets that need no download: FakeData (random images) and Digits (real, bundled)."""

from __future__ import annotations

import numpy as np

import ember

from .vision import VisionDataset

__all__ = ["FakeData", "Digits", "SklearnDigits"]


class FakeData(VisionDataset):
    """Random images for smoke tests: item ``i`` is the same on every call.

    Args: size (number of items), image_size (C, H, W), num_classes, transform,
    target_transform, random_offset (shifts the per-item seeds).
    Items are (PIL image, int) as torchvision's.
    """

    def __init__(self, size: int = 1000, image_size: tuple[int, int, int] = (3, 224, 224),
                 num_classes: int = 10, transform=None, target_transform=None,
                 random_offset: int = 0) -> None:
        super().__init__(None, transform=transform, target_transform=target_transform)
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def __getitem__(self, index: int):
        from PIL import Image

        if index >= len(self):
            raise IndexError(f"{self.__class__.__name__} index out of range")
        # A private generator seeded by the index: deterministic, global RNG untouched.
        generator = ember.Generator().manual_seed(index + self.random_offset)
        img = ember.randn(*self.image_size, generator=generator)
        target = int(ember.randint(0, self.num_classes, size=(1,), dtype=ember.long,
                                   generator=generator)[0])
        # ToPILImage on a float tensor: scale by 255 and keep the low byte.
        pixels = (img.numpy() * 255).astype(np.int64).astype(np.uint8)
        pixels = np.moveaxis(pixels, 0, -1)
        pil = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
        return self._transformed(pil, target)

    def __len__(self) -> int:
        return self.size


class Digits(VisionDataset):
    """Real handwritten digits (UCI, 8x8, 1,797 images) bundled with scikit-learn.

    Needs no network, so demos and examples run anywhere. The first 1,437 images (80%)
    form the training split, the other 360 the test split. Pixel values 0..16 are scaled
    to uint8 0..255; items are (PIL image mode "L", int) like MNIST's.

    Args: root (unused; accepted for the common signature), train, transform,
    target_transform, download (nothing to fetch).
    """

    classes = [str(d) for d in range(10)]
    num_train = 1437

    def __init__(self, root: str | None = None, train: bool = True, transform=None,
                 target_transform=None, download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        try:
            from sklearn.datasets import load_digits
        except ImportError as err:
            raise ImportError("Digits reads scikit-learn's bundled digits; install "
                              "scikit-learn (pip install scikit-learn)") from err
        bunch = load_digits()
        images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)
        labels = bunch.target.astype(np.int64)
        split = slice(0, self.num_train) if train else slice(self.num_train, None)
        self.train = train
        self.data = ember.from_numpy(np.ascontiguousarray(images[split]))
        self.targets = ember.from_numpy(np.ascontiguousarray(labels[split]))
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    def __getitem__(self, index: int):
        from PIL import Image

        img = Image.fromarray(self.data[index].numpy())
        target = int(self.targets[index])
        return self._transformed(img, target)

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


SklearnDigits = Digits
