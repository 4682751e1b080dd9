"""Colour v2 transforms: they change images and videos; masks, boxes and keypoints pass
through (no colour kernel is registered for them)."""

from __future__ import annotations

import ember

from .. import transforms as _v1
from .._base import _uniform
from . import functional as F
from ._transform import Transform, _RandomApplyTransform
from ._utils import query_chw


class Grayscale(Transform):
    _v1_transform_cls = _v1.Grayscale

    def __init__(self, num_output_channels=1):
        super().__init__()
        self.num_output_channels = num_output_channels

    def transform(self, inpt, params):
        return self._call_kernel(F.rgb_to_grayscale, inpt,
                                 num_output_channels=self.num_output_channels)


class RandomGrayscale(_RandomApplyTransform):
    """Grayscale with probability p, keeping the number of channels."""

    _v1_transform_cls = _v1.RandomGrayscale

    def __init__(self, p=0.1):
        super().__init__(p=p)

    def make_params(self, flat_inputs):
        return {"num_input_channels": query_chw(flat_inputs)[0]}

    def transform(self, inpt, params):
        return self._call_kernel(F.rgb_to_grayscale, inpt,
                                 num_output_channels=params["num_input_channels"])


class RGB(Transform):
    """Grayscale images to 3 channels (RGB input unchanged)."""

    def transform(self, inpt, params):
        return self._call_kernel(F.grayscale_to_rgb, inpt)


class ColorJitter(Transform):
    """Random brightness, contrast, saturation and hue in a random order (v1's draws)."""

    _v1_transform_cls = _v1.ColorJitter

    def __init__(self, brightness=None, contrast=None, saturation=None, hue=None):
        super().__init__()
        check = _v1.ColorJitter._check_input
        self.brightness = check(0 if brightness is None else brightness, "brightness")
        self.contrast = check(0 if contrast is None else contrast, "contrast")
        self.saturation = check(0 if saturation is None else saturation, "saturation")
        self.hue = check(0 if hue is None else hue, "hue", center=0, bound=(-0.5, 0.5),
                         clip_first_on_zero=False)

    def make_params(self, flat_inputs):
        fn_idx = ember.randperm(4)
        factors = [None if r is None else _uniform(r[0], r[1])
                   for r in (self.brightness, self.contrast, self.saturation, self.hue)]
        return {"fn_idx": fn_idx, "factors": factors}

    def transform(self, inpt, params):
        ops = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)
        for fn_id in params["fn_idx"].tolist():
            factor = params["factors"][fn_id]
            if factor is not None:
                inpt = self._call_kernel(ops[fn_id], inpt, factor)
        return inpt


class RandomChannelPermutation(Transform):
    def make_params(self, flat_inputs):
        return {"permutation": ember.randperm(query_chw(flat_inputs)[0]).tolist()}

    def transform(self, inpt, params):
        return self._call_kernel(F.permute_channels, inpt, params["permutation"])


class RandomPhotometricDistort(Transform):
    """SSD's photometric distortion: each jitter with probability p, contrast before or
    after saturation/hue, then maybe a channel permutation."""

    def __init__(self, brightness=(0.875, 1.125), contrast=(0.5, 1.5), saturation=(0.5, 1.5),
                 hue=(-0.05, 0.05), p=0.5):
        super().__init__()
        self.brightness, self.contrast, self.hue, self.saturation = (brightness, contrast, hue,
                                                                     saturation)
        self.p = p

    def make_params(self, flat_inputs):
        num_channels = query_chw(flat_inputs)[0]
        params = {}
        for key, bounds in (("brightness_factor", self.brightness),
                            ("contrast_factor", self.contrast),
                            ("saturation_factor", self.saturation),
                            ("hue_factor", self.hue)):
            hit = float(ember.rand(1).item()) < self.p
            params[key] = _uniform(bounds[0], bounds[1]) if hit else None
        params["contrast_before"] = bool(float(ember.rand(()).item()) < 0.5)
        hit = float(ember.rand(1).item()) < self.p
        params["channel_permutation"] = ember.randperm(num_channels).tolist() if hit else None
        return params

    def transform(self, inpt, params):
        if params["brightness_factor"] is not None:
            inpt = self._call_kernel(F.adjust_brightness, inpt, params["brightness_factor"])
        if params["contrast_factor"] is not None and params["contrast_before"]:
            inpt = self._call_kernel(F.adjust_contrast, inpt, params["contrast_factor"])
        if params["saturation_factor"] is not None:
            inpt = self._call_kernel(F.adjust_saturation, inpt, params["saturation_factor"])
        if params["hue_factor"] is not None:
            inpt = self._call_kernel(F.adjust_hue, inpt, params["hue_factor"])
        if params["contrast_factor"] is not None and not params["contrast_before"]:
            inpt = self._call_kernel(F.adjust_contrast, inpt, params["contrast_factor"])
        if params["channel_permutation"] is not None:
            inpt = self._call_kernel(F.permute_channels, inpt, params["channel_permutation"])
        return inpt


def _point_op(name, functional, *arg_names, v1=None):
    """A _RandomApplyTransform calling ``functional(inpt, *attrs)`` (invert, posterize...)."""
    def __init__(self, *args, p=0.5, **kwargs):
        _RandomApplyTransform.__init__(self, p=kwargs.pop("p", p))
        values = dict(zip(arg_names, args))
        values.update(kwargs)
        for arg in arg_names:
            setattr(self, arg, values[arg])

    def transform(self, inpt, params):
        return self._call_kernel(functional, inpt, *(getattr(self, a) for a in arg_names))
    return type(name, (_RandomApplyTransform,), {
        "__init__": __init__, "transform": transform, "_v1_transform_cls": v1,
        "__doc__": f"Apply F.{functional.__name__} with probability p.",
        "__module__": __name__})


RandomInvert = _point_op("RandomInvert", F.invert, v1=_v1.RandomInvert)
RandomPosterize = _point_op("RandomPosterize", F.posterize, "bits", v1=_v1.RandomPosterize)
RandomSolarize = _point_op("RandomSolarize", F.solarize, "threshold", v1=_v1.RandomSolarize)
RandomAutocontrast = _point_op("RandomAutocontrast", F.autocontrast,
                               v1=_v1.RandomAutocontrast)
RandomAdjustSharpness = _point_op("RandomAdjustSharpness", F.adjust_sharpness,
                                  "sharpness_factor", v1=_v1.RandomAdjustSharpness)
RandomEqualize = _point_op("RandomEqualize", F.equalize, v1=_v1.RandomEqualize)
