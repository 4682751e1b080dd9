"""to_image (PIL / ndarray / tensor -> tv_tensors.Image) and v1's PIL converters."""

from __future__ import annotations

import numpy as np

import ember
from ember.vision import tv_tensors

from ... import _functional_pil as F_pil
from ... import functional as F1

to_pil_image = F1.to_pil_image
pil_to_tensor = F1.pil_to_tensor
to_tensor = F1.to_tensor


def to_image(inpt) -> tv_tensors.Image:
    """An Image (C, H, W) from a PIL image, an (H, W[, C]) ndarray or a tensor; no scaling."""
    if isinstance(inpt, np.ndarray):
        output = ember.from_numpy(np.atleast_3d(inpt)).permute((2, 0, 1)).contiguous()
    elif F_pil.is_pil_image(inpt):
        output = pil_to_tensor(inpt)
    elif isinstance(inpt, ember.Tensor):
        output = inpt
    else:
        raise TypeError("Input can either be a pure Tensor, a numpy array, or a PIL image, but "
                        f"got {type(inpt)} instead.")
    return tv_tensors.Image(output)
