"""ToImage, ToPureTensor, PILToTensor, ToPILImage."""

from __future__ import annotations

import numpy as np

from ember.vision import tv_tensors

from .. import _functional_pil as F_pil
from . import functional as F
from ._transform import Transform
from .functional._utils import is_pure_tensor, unwrap


class PILToTensor(Transform):
    """PIL image -> plain CHW tensor (no scaling)."""

    _transformed_types = (F_pil.is_pil_image,)

    def transform(self, inpt, params):
        return F.pil_to_tensor(inpt)


class ToImage(Transform):
    """PIL image, HWC ndarray or plain tensor -> tv_tensors.Image (no scaling)."""

    _transformed_types = (is_pure_tensor, F_pil.is_pil_image, np.ndarray)

    def transform(self, inpt, params):
        return F.to_image(inpt)


class ToPILImage(Transform):
    _transformed_types = (is_pure_tensor, tv_tensors.Image, np.ndarray)

    def __init__(self, mode=None):
        super().__init__()
        self.mode = mode

    def transform(self, inpt, params):
        if isinstance(inpt, tv_tensors.Image):
            inpt = unwrap(inpt)
        return F.to_pil_image(inpt, mode=self.mode)


class ToPureTensor(Transform):
    """Every TVTensor -> plain Tensor (values untouched), e.g. before a model."""

    _transformed_types = (tv_tensors.TVTensor,)

    def transform(self, inpt, params):
        return unwrap(inpt)


class ToTensor(Transform):
    """[deprecated] v1's to_tensor: PIL/ndarray -> float tensor in [0, 1]."""

    _transformed_types = (F_pil.is_pil_image, np.ndarray)

    def transform(self, inpt, params):
        return F.to_tensor(inpt)


