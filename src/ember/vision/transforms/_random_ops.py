"""Probabilistic point ops (invert, posterize, solarize, sharpness, autocontrast,
equalize) and LinearTransformation (whitening), split out of transforms.py."""

from __future__ import annotations

from . import functional as F
from ._base import _coin, _Transform


class LinearTransformation(_Transform):
    """Flatten, subtract ``mean_vector``, multiply by ``transformation_matrix`` (whitening)."""

    def __init__(self, transformation_matrix, mean_vector):
        n = transformation_matrix.shape[0]
        if transformation_matrix.shape[0] != transformation_matrix.shape[1]:
            raise ValueError("transformation_matrix should be square. Got "
                             f"{tuple(transformation_matrix.shape)} rectangular matrix.")
        if mean_vector.shape[0] != n:
            raise ValueError(f"mean_vector should have the same length {mean_vector.shape[0]} "
                             "as any one of the dimensions of the transformation_matrix "
                             f"[{tuple(transformation_matrix.shape)}]")
        self.transformation_matrix, self.mean_vector = transformation_matrix, mean_vector

    def forward(self, tensor):
        shape = tensor.shape
        n = shape[-3] * shape[-2] * shape[-1]
        if n != self.transformation_matrix.shape[0]:
            raise ValueError("Input tensor and transformation matrix have incompatible shape."
                             f"[{shape[-3]} x {shape[-2]} x {shape[-1]}] != "
                             f"{self.transformation_matrix.shape[0]}")
        flat = tensor.reshape(-1, n) - self.mean_vector
        return (flat @ self.transformation_matrix.to(flat.dtype)).reshape(shape)


class _RandomOp(_Transform):
    """Apply ``self._op`` with probability p."""

    def __init__(self, p=0.5):
        self.p = p

    def forward(self, img):
        return self._op(img) if _coin(self.p) else img


class RandomInvert(_RandomOp):
    def _op(self, img):
        return F.invert(img)


class RandomAutocontrast(_RandomOp):
    def _op(self, img):
        return F.autocontrast(img)


class RandomEqualize(_RandomOp):
    def _op(self, img):
        return F.equalize(img)


class RandomPosterize(_RandomOp):
    def __init__(self, bits, p=0.5):
        super().__init__(p)
        self.bits = bits

    def _op(self, img):
        return F.posterize(img, self.bits)


class RandomSolarize(_RandomOp):
    def __init__(self, threshold, p=0.5):
        super().__init__(p)
        self.threshold = threshold

    def _op(self, img):
        return F.solarize(img, self.threshold)


class RandomAdjustSharpness(_RandomOp):
    def __init__(self, sharpness_factor, p=0.5):
        super().__init__(p)
        self.sharpness_factor = sharpness_factor

    def _op(self, img):
        return F.adjust_sharpness(img, self.sharpness_factor)
