"""RandomErasing, MixUp, CutMix, and the auto-augment policies (v1's, on the sample's
single image or video)."""

from __future__ import annotations

import math
import numbers
import warnings

import ember
import ember.nn.functional as nnF
from ember.vision import tv_tensors

from .. import _functional_pil as F_pil
from .. import autoaugment as _v1_aa
from . import functional as F
from ._transform import Transform, _RandomApplyTransform
from ._utils import (
    _check_sequence_input,
    _parse_labels_getter,
    has_any,
    query_chw,
    query_size,
    tree_flatten,
    tree_unflatten,
)
from .functional._utils import is_pure_tensor, unwrap


class RandomErasing(_RandomApplyTransform):
    """Erase a random rectangle of images/videos (masks and boxes pass through)."""

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0, inplace=False):
        super().__init__(p=p)
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError("Argument value should be either a number or str or a sequence")
        if isinstance(value, str) and value != "random":
            raise ValueError("If value is str, it should be 'random'")
        if not isinstance(scale, (tuple, list)):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, (tuple, list)):
            raise TypeError("Ratio should be a sequence")
        if (scale[0] > scale[1]) or (ratio[0] > ratio[1]):
            warnings.warn("Scale and ratio should be of kind (min, max)")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError("Scale should be between 0 and 1")
        self.scale, self.ratio, self.inplace = scale, ratio, inplace
        if isinstance(value, (int, float)):
            self.value = [float(value)]
        elif isinstance(value, str):
            self.value = None
        else:
            self.value = [float(v) for v in value]
        self._log_ratio = ember.log(ember.tensor(self.ratio))

    def _call_kernel(self, functional, inpt, *args, **kwargs):
        if isinstance(inpt, (tv_tensors.BoundingBoxes, tv_tensors.KeyPoints, tv_tensors.Mask)):
            warnings.warn(f"{type(self).__name__}() is currently passing through inputs of type "
                          f"tv_tensors.{type(inpt).__name__}. This will likely change in the "
                          "future.")
        return super()._call_kernel(functional, inpt, *args, **kwargs)

    def make_params(self, flat_inputs):
        img_c, img_h, img_w = query_chw(flat_inputs)
        if self.value is not None and len(self.value) not in (1, img_c):
            raise ValueError("If value is a sequence, it should have either a single value or "
                             f"{img_c} (number of inpt channels)")
        area = img_h * img_w
        low, high = self._log_ratio.tolist()
        for _ in range(10):
            erase_area = area * float(ember.empty(1).uniform_(self.scale[0], self.scale[1]).item())
            aspect_ratio = float(ember.exp(ember.empty(1).uniform_(low, high)).item())
            h = round(math.sqrt(erase_area * aspect_ratio))
            w = round(math.sqrt(erase_area / aspect_ratio))
            if not (h < img_h and w < img_w):
                continue
            if self.value is None:
                v = ember.empty([img_c, h, w], dtype=ember.float32).normal_()
            else:
                v = ember.tensor(self.value)[:, None, None]
            i = int(ember.randint(0, img_h - h + 1, size=(1,)).item())
            j = int(ember.randint(0, img_w - w + 1, size=(1,)).item())
            break
        else:
            i, j, h, w, v = 0, 0, img_h, img_w, None
        return {"i": i, "j": j, "h": h, "w": w, "v": v}

    def transform(self, inpt, params):
        if params["v"] is not None:
            inpt = self._call_kernel(F.erase, inpt, **params, inplace=self.inplace)
        return inpt


class _BaseMixUpCutMix(Transform):
    def __init__(self, *, alpha=1.0, num_classes=None, labels_getter="default"):
        super().__init__()
        self.alpha = float(alpha)
        from ember.distributions import Beta
        self._dist = Beta(ember.tensor([alpha]), ember.tensor([alpha]))
        self.num_classes = num_classes
        self._labels_getter = _parse_labels_getter(labels_getter)

    def forward(self, *inputs):
        inputs = inputs if len(inputs) > 1 else inputs[0]
        flat_inputs, spec = tree_flatten(inputs)
        needs = self._needs_transform_list(flat_inputs)
        if has_any(flat_inputs, F_pil.is_pil_image, tv_tensors.BoundingBoxes, tv_tensors.Mask,
                   tv_tensors.KeyPoints):
            raise ValueError(f"{type(self).__name__}() does not support PIL images, bounding "
                             "boxes, keypoints and masks.")
        labels = self._labels_getter(inputs)
        if not isinstance(labels, ember.Tensor):
            raise ValueError(  # noqa: TRY004
                f"The labels must be a tensor, but got {type(labels)} instead.")
        if labels.ndim not in (1, 2):
            raise ValueError("labels should be index based with shape (batch_size,) or "
                             "probability based with shape (batch_size, num_classes), but got "
                             f"a tensor of shape {labels.shape} instead.")
        if labels.ndim == 2 and self.num_classes is not None and \
                labels.shape[-1] != self.num_classes:
            raise ValueError("When passing 2D labels, the number of elements in last dimension "
                             f"must match num_classes: {labels.shape[-1]} != "
                             f"{self.num_classes}. You can Leave num_classes to None.")
        if labels.ndim == 1 and self.num_classes is None:
            raise ValueError("num_classes must be passed if the labels are index-based (1D)")
        params = {"labels": labels, "batch_size": labels.shape[0],
                  **self.make_params([x for x, need in zip(flat_inputs, needs) if need])}
        needs[next(idx for idx, x in enumerate(flat_inputs) if x is labels)] = True
        return tree_unflatten([self.transform(x, params) if need else x
                               for x, need in zip(flat_inputs, needs)], spec)

    def _check_image_or_video(self, inpt, *, batch_size):
        expected = 5 if isinstance(inpt, tv_tensors.Video) else 4
        if inpt.ndim != expected:
            raise ValueError(f"Expected a batched input with {expected} dims, but got "
                             f"{inpt.ndim} dimensions instead.")
        if inpt.shape[0] != batch_size:
            raise ValueError("The batch size of the image or video does not match the batch "
                             f"size of the labels: {inpt.shape[0]} != {batch_size}.")

    def _mixup_label(self, label, *, lam):
        if label.ndim == 1:
            label = nnF.one_hot(label, num_classes=self.num_classes)
        if not label.is_floating_point():
            label = label.float()
        return label.roll(1, 0).mul(1.0 - lam).add(label.mul(lam))

    def _mix(self, inpt, params, mix):
        if inpt is params["labels"]:
            return self._mixup_label(inpt, lam=params["label_lam"])
        if isinstance(inpt, (tv_tensors.Image, tv_tensors.Video)) or is_pure_tensor(inpt):
            self._check_image_or_video(inpt, batch_size=params["batch_size"])
            output = mix(unwrap(inpt))
            if not is_pure_tensor(inpt):
                output = tv_tensors.wrap(output, like=inpt)
            return output
        return inpt


class MixUp(_BaseMixUpCutMix):
    """Blend each sample of a batch with the previous one: lam * x + (1 - lam) * x.roll(1),
    lam ~ Beta(alpha, alpha); labels become mixed one-hot vectors."""

    def make_params(self, flat_inputs):
        lam = float(self._dist.sample(()).item())
        return {"lam": lam, "label_lam": lam}

    def transform(self, inpt, params):
        lam = params["lam"]
        return self._mix(inpt, params,
                         lambda x: x.roll(1, 0).mul(1.0 - lam).add(x.mul(lam)))


class CutMix(_BaseMixUpCutMix):
    """Paste a random box of the previous sample of the batch; labels mix by its area."""

    def make_params(self, flat_inputs):
        lam = float(self._dist.sample(()).item())
        height, width = query_size(flat_inputs)
        r_x = int(ember.randint(0, width, size=(1,)).item())
        r_y = int(ember.randint(0, height, size=(1,)).item())
        r = 0.5 * math.sqrt(1.0 - lam)
        r_w_half, r_h_half = int(r * width), int(r * height)
        x1, y1 = max(r_x - r_w_half, 0), max(r_y - r_h_half, 0)
        x2, y2 = min(r_x + r_w_half, width), min(r_y + r_h_half, height)
        lam_adjusted = float(1.0 - (x2 - x1) * (y2 - y1) / (width * height))
        return {"box": (x1, y1, x2, y2), "label_lam": lam_adjusted}

    def transform(self, inpt, params):
        x1, y1, x2, y2 = params["box"]

        def paste(x):
            output = x.clone()
            output[..., y1:y2, x1:x2] = x.roll(1, 0)[..., y1:y2, x1:x2]
            return output
        return self._mix(inpt, params, paste)


class _AutoAugmentBase(Transform):
    """Run v1's policy on the sample's single image or video; other leaves pass through
    (boxes and masks are refused, as in torchvision)."""

    _v1_cls = None

    def __init__(self, *args, **kwargs):
        super().__init__()
        self._policy = self._v1_cls(*args, **kwargs)
        for key, value in vars(self._policy).items():
            if not key.startswith("_"):
                setattr(self, key, value)

    def forward(self, *inputs):
        flat_inputs, spec = tree_flatten(inputs if len(inputs) > 1 else inputs[0])
        if has_any(flat_inputs, tv_tensors.BoundingBoxes, tv_tensors.Mask,
                   tv_tensors.KeyPoints):
            raise TypeError(f"{type(self).__name__}() does not support bounding boxes, masks "
                            "and keypoints.")
        needs = self._needs_transform_list(flat_inputs)
        found = [idx for idx, (inpt, need) in enumerate(zip(flat_inputs, needs)) if need and (
            is_pure_tensor(inpt) or F_pil.is_pil_image(inpt)
            or isinstance(inpt, (tv_tensors.Image, tv_tensors.Video)))]
        if not found:
            raise TypeError("Found no image in the sample.")
        if len(found) > 1:
            raise TypeError(f"Auto augment transformations are only properly defined for a "
                            f"single image or video, but found {len(found)}.")
        flat_inputs[found[0]] = self._apply(flat_inputs[found[0]])
        return tree_unflatten(flat_inputs, spec)

    def _apply(self, inpt):
        if isinstance(inpt, tv_tensors.TVTensor):
            return tv_tensors.wrap(self._policy(unwrap(inpt)), like=inpt)
        return self._policy(inpt)


class AutoAugment(_AutoAugmentBase):
    _v1_cls = _v1_aa.AutoAugment


class RandAugment(_AutoAugmentBase):
    _v1_cls = _v1_aa.RandAugment


class TrivialAugmentWide(_AutoAugmentBase):
    _v1_cls = _v1_aa.TrivialAugmentWide


AutoAugmentPolicy = _v1_aa.AutoAugmentPolicy


class JPEG(Transform):
    """JPEG-compress images at a quality drawn from ``quality`` = (min, max) (or fixed)."""

    def __init__(self, quality):
        super().__init__()
        if isinstance(quality, int):
            if isinstance(quality, bool):
                raise TypeError("quality can't be bool")
            quality = [quality, quality]
        else:
            _check_sequence_input(quality, "quality", req_sizes=(2,))
        if not (1 <= quality[0] <= quality[1] <= 100 and isinstance(quality[0], int)
                and isinstance(quality[1], int)):
            raise ValueError(f"quality must be an integer from 1 to 100, got {quality =}")
        self.quality = quality

    def make_params(self, flat_inputs):
        low, high = self.quality
        return {"quality": int(ember.randint(low, high + 1, ()).item())}

    def transform(self, inpt, params):
        return self._call_kernel(F.jpeg, inpt, quality=params["quality"])
