"""ImageList: a padded batch of images plus each image's size before padding.

Detection models take images of different sizes; the transform pads them into one
tensor, and the heads need the real sizes back to clip boxes and paste masks.
"""

from __future__ import annotations

from ember import Tensor


class ImageList:
    """Holds ``tensors`` [N, C, H, W] and ``image_sizes`` (one (h, w) per image)."""

    def __init__(self, tensors: Tensor, image_sizes: list[tuple[int, int]]) -> None:
        self.tensors = tensors
        self.image_sizes = image_sizes

    def to(self, device) -> ImageList:
        return ImageList(self.tensors.to(device), self.image_sizes)
