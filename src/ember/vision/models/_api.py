"""Weights enums, the checkpoint cache and the model registry (torchvision.models._api).

A ``Weights`` entry names a torchvision checkpoint file by URL; loading looks for that file
in the hub cache folders first (so a file fetched once, by ember or by PyTorch, is reused
offline), and downloads it through ``ember.hub`` otherwise.
"""

from __future__ import annotations

import enum
import os
import typing
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

__all__ = [
    "Weights", "WeightsEnum", "ImageClassification", "get_model", "get_model_builder",
    "get_model_weights", "get_weight", "list_models", "load_state_dict_from_url",
    "checkpoint_dirs", "make_weights_enum",
]

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageClassification:
    """torchvision's inference preset: resize, center crop, scale to [0, 1], normalize.

    Takes a PIL image, or a uint8/float tensor shaped (..., C, H, W) (the layout decoded
    images have), and returns a float tensor (..., C, crop, crop).
    """

    def __init__(self, *, crop_size: int, resize_size: int = 256,
                 mean=_IMAGENET_MEAN, std=_IMAGENET_STD, interpolation: str = "bilinear",
                 antialias: bool = True) -> None:
        self.crop_size = [crop_size]
        self.resize_size = [resize_size]
        self.mean = list(mean)
        self.std = list(std)
        self.interpolation = interpolation
        self.antialias = antialias

    def __call__(self, img):
        import numpy as np

        import ember
        import ember.nn.functional as F

        if not isinstance(img, ember.Tensor):  # a PIL image: HWC uint8 -> CHW tensor
            pixels = np.asarray(img.convert("RGB"), dtype=np.uint8)
            img = ember.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))
        batched = img.dim() == 4
        x = img if batched else img.unsqueeze(0)
        if not x.is_floating_point():
            x = x.to(ember.float32) / 255.0
        h, w = x.shape[-2:]
        short = self.resize_size[0]
        if h <= w:
            size = (short, int(short * w / h))
        else:
            size = (int(short * h / w), short)
        x = F.interpolate(x, size=size, mode=self.interpolation, align_corners=False,
                          antialias=self.antialias)
        crop = self.crop_size[0]
        top = int(round((size[0] - crop) / 2.0))
        left = int(round((size[1] - crop) / 2.0))
        x = x[..., top:top + crop, left:left + crop]
        mean = ember.tensor(self.mean, dtype=x.dtype).view(-1, 1, 1)
        std = ember.tensor(self.std, dtype=x.dtype).view(-1, 1, 1)
        x = (x - mean) / std
        return x if batched else x.squeeze(0)

    def __repr__(self) -> str:
        return (f"ImageClassification(\n    crop_size={self.crop_size}\n"
                f"    resize_size={self.resize_size}\n    mean={self.mean}\n"
                f"    std={self.std}\n    interpolation={self.interpolation}\n)")


@dataclass
class Weights:
    """One checkpoint: where it lives, how inputs are prepared, what it reports."""

    url: str
    transforms: Callable
    meta: dict[str, Any] = field(default_factory=dict)

    def __eq__(self, other) -> bool:
        return isinstance(other, Weights) and self.url == other.url

    def __hash__(self) -> int:
        return hash(self.url)


class WeightsEnum(enum.Enum):
    """Base of ``ResNet18_Weights`` and friends: members hold a ``Weights`` value."""

    @classmethod
    def verify(cls, obj):
        if obj is None or isinstance(obj, cls):
            return obj
        if isinstance(obj, str):
            name = obj.replace(cls.__name__ + ".", "")
            try:
                return cls[name]
            except KeyError:
                raise ValueError(f"Failed to find Weights {name} in {cls.__name__}.") from None
        raise TypeError(f"Invalid Weight class provided; expected {cls.__name__} "
                        f"but received {obj.__class__.__name__}.")

    def get_state_dict(self, progress: bool = True, check_hash: bool = False):
        return load_state_dict_from_url(self.url, progress=progress, check_hash=check_hash)

    @property
    def url(self) -> str:
        return self.value.url

    @property
    def transforms(self):
        return self.value.transforms

    @property
    def meta(self) -> dict:
        return self.value.meta

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}.{self._name_}"

    def __str__(self) -> str:
        return repr(self)


def imagenet_weights(url: str, num_params: int, acc1: float, acc5: float,
                     crop: int = 224, resize: int = 256, interpolation: str = "bilinear",
                     **meta) -> Weights:
    """A Weights entry with ImageNet-1K metadata, the common case."""
    # The 1000 class names are not bundled; ``num_classes`` carries what builders need.
    info = {"num_params": num_params, "num_classes": 1000,
            "min_size": (1, 1),
            "_metrics": {"ImageNet-1K": {"acc@1": acc1, "acc@5": acc5}}}
    info.update(meta)
    return Weights(url=url, transforms=partial(ImageClassification, crop_size=crop,
                                               resize_size=resize,
                                               interpolation=interpolation), meta=info)


def make_weights_enum(name: str, members: dict, module: str):
    """A WeightsEnum subclass; a ``DEFAULT`` entry equal to another becomes its alias."""
    members = dict(members)
    if "DEFAULT" not in members:
        members["DEFAULT"] = list(members.values())[-1]
    enum_cls = WeightsEnum(name, members, module=module)
    return enum_cls


def checkpoint_dirs() -> list[str]:
    """Cache folders searched in order; downloads go to the first one.

    ``$EMBER_HOME`` or ``$TORCH_HOME`` (``<home>/hub/checkpoints``) when set, then
    ``~/.cache/ember/hub/checkpoints`` and PyTorch's own ``~/.cache/torch/hub/checkpoints``.
    """
    dirs = []
    for var in ("EMBER_HOME", "TORCH_HOME"):
        home = os.environ.get(var)
        if home:
            dirs.append(os.path.join(os.path.expanduser(home), "hub", "checkpoints"))
    cache = os.environ.get("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache"))
    dirs.append(os.path.join(cache, "ember", "hub", "checkpoints"))
    dirs.append(os.path.join(cache, "torch", "hub", "checkpoints"))
    return dirs


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location=None,
                             progress: bool = True, check_hash: bool = False,
                             file_name: str | None = None, weights_only: bool = True):
    """``ember.hub.load_state_dict_from_url`` over several cache folders: a file already in
    any of :func:`checkpoint_dirs` (PyTorch's cache included) is used offline; otherwise it
    is downloaded into the first one.

    Raises RuntimeError naming the file, the folders searched and the network error when
    the file is neither cached nor downloadable.
    """
    from urllib.error import URLError

    from ... import hub

    filename = file_name or os.path.basename(url.split("?")[0])
    dirs = [model_dir] if model_dir else checkpoint_dirs()
    folder = next((d for d in dirs if os.path.isfile(os.path.join(d, filename))), dirs[0])
    try:
        return hub.load_state_dict_from_url(url, folder, map_location=map_location,
                                            progress=progress, check_hash=check_hash,
                                            file_name=filename, weights_only=weights_only)
    except (URLError, ValueError) as err:  # ValueError: a URL urllib cannot open
        reason = getattr(err, "reason", err)
        raise RuntimeError(
            f"Weights file {filename} was not found in {', '.join(dirs)} and could not be "
            f"downloaded from {url}: {reason}. Place the file in one of those folders to use "
            f"it offline.") from err


# -- registry ----------------------------------------------------------------------------

_BUILDERS: dict[str, Callable] = {}


def register_model(name: str | None = None):
    def wrap(fn):
        _BUILDERS[name or fn.__name__] = fn
        return fn
    return wrap


def list_models(module=None, include=None, exclude=None) -> list[str]:
    """Names of the registered builders, sorted; ``module`` (a package such as
    ``models.quantization``) keeps those defined directly in it; ``fnmatch`` filters as
    torchvision's."""
    import fnmatch

    # a package, as torchvision: models lists the classifiers, models.quantization its own
    names = sorted(n for n, fn in _BUILDERS.items()
                   if module is None or fn.__module__.rsplit(".", 1)[0] == module.__name__)
    if include:
        pats = [include] if isinstance(include, str) else include
        names = [n for n in names if any(fnmatch.fnmatch(n, p) for p in pats)]
    if exclude:
        pats = [exclude] if isinstance(exclude, str) else exclude
        names = [n for n in names if not any(fnmatch.fnmatch(n, p) for p in pats)]
    return names


def get_model_builder(name: str) -> Callable:
    name = name.lower()
    try:
        return _BUILDERS[name]
    except KeyError:
        raise ValueError(f"Unknown model {name}") from None


def get_model(name: str, **config):
    return get_model_builder(name)(**config)


def get_model_weights(name) -> type:
    import inspect

    fn = get_model_builder(name) if isinstance(name, str) else name
    ann = inspect.signature(fn).parameters["weights"].annotation
    if isinstance(ann, str):
        ann = fn.__globals__[ann.split("|")[0].strip().split("[")[-1].strip("] ")]
    elif typing.get_args(ann):  # Optional[X] / X | None written without string annotations
        ann = next(arg for arg in typing.get_args(ann) if arg is not type(None))
    return ann


def get_weight(name: str):
    import sys

    enum_name, member = name.split(".")
    for mod_name, mod in list(sys.modules.items()):
        if mod_name.startswith("ember.vision.models.") and hasattr(mod, enum_name):
            return getattr(mod, enum_name)[member]
    raise ValueError(f"Invalid weight name provided: '{name}'")


def resolve_weights(weights, kwargs: dict, enum_cls):
    """A builder's ``weights`` as torchvision resolves them: the deprecated
    ``pretrained=True`` means the first (IMAGENET1K_V1) weights, with torchvision's
    deprecation warnings; ``weights`` must belong to ``enum_cls``; ``num_classes``
    defaults to (and must agree with) the weights' category count."""
    if "pretrained" in kwargs:
        import warnings

        pretrained = kwargs.pop("pretrained")
        warnings.warn("The parameter 'pretrained' is deprecated since 0.13 and may be removed "
                      "in the future, please use 'weights' instead.", UserWarning,
                      stacklevel=3)
        if weights is None and pretrained:
            weights = list(enum_cls)[0]
            warnings.warn(
                "Arguments other than a weight enum or `None` for 'weights' are deprecated "
                "since 0.13 and may be removed in the future. The current behavior is "
                f"equivalent to passing `weights={enum_cls.__name__}.{weights.name}`. You can "
                f"also use `weights={enum_cls.__name__}.DEFAULT` to get the most up-to-date "
                "weights.", UserWarning, stacklevel=3)
    weights = enum_cls.verify(weights)
    override_num_classes(kwargs, weights)
    return weights


def apply_weights(model, weights, progress: bool, fix_keys: Callable | None = None):
    """Load ``weights`` into ``model``; ``fix_keys`` renames keys of old checkpoints."""
    if weights is None:
        return model
    state_dict = weights.get_state_dict(progress=progress, check_hash=True)
    if fix_keys is not None:
        state_dict = fix_keys(state_dict)
    model.load_state_dict(state_dict)
    return model


def override_num_classes(kwargs: dict, weights) -> None:
    """torchvision's rule: num_classes defaults to the weights' category count."""
    if weights is None:
        return
    categories = weights.meta["num_classes"]
    if "num_classes" in kwargs and kwargs["num_classes"] != categories:
        raise ValueError(f"The parameter 'num_classes' expected value {categories} "
                         f"but got {kwargs['num_classes']} instead.")
    kwargs["num_classes"] = categories
