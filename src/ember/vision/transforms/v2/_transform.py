"""The v2 Transform base: flatten any nested sample, decide which leaves to transform,
draw the random parameters once, and apply them to every leaf alike."""

from __future__ import annotations

import enum

import ember
from ember import nn
from ember.vision import tv_tensors

from .. import _functional_pil as F_pil
from ._utils import check_type, has_any, tree_flatten, tree_unflatten
from .functional._utils import _get_kernel, is_pure_tensor


class Transform(nn.Module):
    """Base class of the v2 transforms; subclasses define ``make_params`` and ``transform``.

    ``forward`` takes one input or several (``t(img, boxes)``, ``t({"image": ...})``),
    flattens it, draws parameters once for the whole sample and transforms every leaf of a
    ``_transformed_types`` type, so an image and its boxes move together. Plain Tensors
    follow torchvision's heuristic: if the sample holds an Image, Video or PIL image they
    pass through; otherwise only the first plain Tensor is treated as the image.
    """

    _transformed_types: tuple = (ember.Tensor, F_pil.is_pil_image)
    _v1_transform_cls = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls._v1_transform_cls is not None and hasattr(cls._v1_transform_cls, "get_params"):
            cls.get_params = staticmethod(cls._v1_transform_cls.get_params)

    def check_inputs(self, flat_inputs: list) -> None:
        pass

    def make_params(self, flat_inputs: list) -> dict:
        return {}

    def _call_kernel(self, functional, inpt, *args, **kwargs):
        kernel = _get_kernel(functional, type(inpt), allow_passthrough=True)
        return kernel(inpt, *args, **kwargs)

    def transform(self, inpt, params: dict):
        raise NotImplementedError

    def forward(self, *inputs):
        flat_inputs, spec = tree_flatten(inputs if len(inputs) > 1 else inputs[0])
        self.check_inputs(flat_inputs)
        needs = self._needs_transform_list(flat_inputs)
        params = self.make_params([inpt for inpt, need in zip(flat_inputs, needs) if need])
        flat_outputs = [self.transform(inpt, params) if need else inpt
                        for inpt, need in zip(flat_inputs, needs)]
        return tree_unflatten(flat_outputs, spec)

    def _needs_transform_list(self, flat_inputs: list) -> list[bool]:
        transform_pure_tensor = not has_any(flat_inputs, tv_tensors.Image, tv_tensors.Video,
                                            F_pil.is_pil_image)
        needs = []
        for inpt in flat_inputs:
            need = True
            if not check_type(inpt, self._transformed_types):
                need = False
            elif is_pure_tensor(inpt):
                if transform_pure_tensor:
                    transform_pure_tensor = False
                else:
                    need = False
            needs.append(need)
        return needs

    def extra_repr(self) -> str:
        extra = []
        for name, value in self.__dict__.items():
            if name.startswith("_") or name == "training":
                continue
            if not isinstance(value, (bool, int, float, str, tuple, list, enum.Enum)):
                continue
            extra.append(f"{name}={value}")
        return ", ".join(extra)


class _RandomApplyTransform(Transform):
    """A transform applied to the whole sample with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError("`p` should be a floating point value in the interval [0.0, 1.0].")
        super().__init__()
        self.p = p

    def forward(self, *inputs):
        inputs = inputs if len(inputs) > 1 else inputs[0]
        flat_inputs, spec = tree_flatten(inputs)
        self.check_inputs(flat_inputs)
        if float(ember.rand(1).item()) >= self.p:
            return inputs
        needs = self._needs_transform_list(flat_inputs)
        params = self.make_params([inpt for inpt, need in zip(flat_inputs, needs) if need])
        flat_outputs = [self.transform(inpt, params) if need else inpt
                        for inpt, need in zip(flat_inputs, needs)]
        return tree_unflatten(flat_outputs, spec)
