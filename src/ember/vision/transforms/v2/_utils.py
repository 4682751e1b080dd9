"""Helpers of the v2 transform classes: a small pytree, input queries, argument setup."""

from __future__ import annotations

import collections.abc
import numbers
from collections.abc import Sequence
from contextlib import suppress

import ember
from ember.vision import tv_tensors

from .. import _functional_pil as F_pil
from .. import transforms as _v1_transforms
from .functional import get_dimensions, get_size
from .functional._utils import is_pure_tensor

# ----------------------------------------------------------------------------- pytree


class _Spec:
    """How to rebuild a container from its flattened leaves."""

    __slots__ = ("children", "kind", "meta")

    def __init__(self, kind, meta=None, children=()):
        self.kind, self.meta, self.children = kind, meta, children

    @property
    def num_leaves(self) -> int:
        if self.kind == "leaf":
            return 1
        return sum(child.num_leaves for child in self.children)


def _is_namedtuple(obj) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def tree_flatten(tree):
    """Leaves of nested lists/tuples/dicts, depth first (torch.utils._pytree's order)."""
    leaves: list = []

    def visit(node):
        if isinstance(node, (list, tuple)) and not isinstance(node, ember.Tensor):
            return _Spec(type(node), None, [visit(child) for child in node])
        if isinstance(node, dict):
            keys = list(node.keys())
            return _Spec(type(node), (keys, getattr(node, "default_factory", None)),
                         [visit(node[key]) for key in keys])
        leaves.append(node)
        return _Spec("leaf")
    spec = visit(tree)
    return leaves, spec


def tree_unflatten(leaves, spec):
    iterator = iter(leaves)

    def build(node):
        if node.kind == "leaf":
            return next(iterator)
        children = [build(child) for child in node.children]
        if node.kind in (list, tuple):
            return node.kind(children)
        if issubclass(node.kind, tuple):
            return node.kind(*children) if _is_namedtuple_type(node.kind) else \
                node.kind(children)
        if issubclass(node.kind, dict):
            keys, factory = node.meta
            if issubclass(node.kind, collections.defaultdict):
                out = node.kind(factory)
            else:
                out = node.kind()
            for key, child in zip(keys, children):
                out[key] = child
            return out
        return node.kind(children)
    return build(spec)


def _is_namedtuple_type(cls) -> bool:
    return hasattr(cls, "_fields")


# ----------------------------------------------------------------------------- queries

def check_type(obj, types_or_checks) -> bool:
    for type_or_check in types_or_checks:
        if isinstance(type_or_check, type):
            if isinstance(obj, type_or_check):
                return True
        elif type_or_check(obj):
            return True
    return False


def has_any(flat_inputs, *types_or_checks) -> bool:
    return any(check_type(inpt, types_or_checks) for inpt in flat_inputs)


def has_all(flat_inputs, *types_or_checks) -> bool:
    return all(has_any(flat_inputs, check) for check in types_or_checks)


def _sequence_to_str(seq) -> str:
    return ", ".join(f"'{item}'" for item in seq)


_IMAGE_LIKE = (is_pure_tensor, tv_tensors.Image, F_pil.is_pil_image, tv_tensors.Video)


def query_chw(flat_inputs) -> tuple[int, int, int]:
    """(C, H, W) of the images/videos in a sample (all must agree)."""
    chws = {tuple(get_dimensions(inpt)) for inpt in flat_inputs
            if check_type(inpt, _IMAGE_LIKE)}
    if not chws:
        raise TypeError("No image or video was found in the sample")
    if len(chws) > 1:
        raise ValueError(f"Found multiple CxHxW dimensions in the sample: "
                         f"{_sequence_to_str(sorted(chws))}")
    return chws.pop()


def query_size(flat_inputs) -> tuple[int, int]:
    """(H, W) shared by the images, videos, masks, boxes and keypoints of a sample."""
    types = (*_IMAGE_LIKE, tv_tensors.Mask, tv_tensors.BoundingBoxes, tv_tensors.KeyPoints)
    sizes = {tuple(get_size(inpt)) for inpt in flat_inputs if check_type(inpt, types)}
    if not sizes:
        raise TypeError("No image, video, mask, bounding box of keypoint was found in the "
                        "sample")
    if len(sizes) > 1:
        raise ValueError(f"Found multiple HxW dimensions in the sample: "
                         f"{_sequence_to_str(sorted(sizes))}")
    return sizes.pop()


def get_bounding_boxes(flat_inputs):
    try:
        return next(inpt for inpt in flat_inputs if isinstance(inpt, tv_tensors.BoundingBoxes))
    except StopIteration:
        raise ValueError("No bounding boxes were found in the sample") from None


# ----------------------------------------------------------------------------- arguments

# one implementation of the argument checks for v1 and v2
_setup_size = _v1_transforms._setup_size
_check_sequence_input = _v1_transforms._check_sequence_input


def _setup_number_or_seq(arg, name: str) -> Sequence[float]:
    if not isinstance(arg, (int, float, Sequence)):
        raise TypeError(f"{name} should be a number or a sequence of numbers. Got {type(arg)}")
    if isinstance(arg, Sequence) and len(arg) not in (1, 2):
        raise ValueError(f"If {name} is a sequence its length should be 1 or 2. Got {len(arg)}")
    if isinstance(arg, Sequence):
        for element in arg:
            if not isinstance(element, (int, float)):
                raise ValueError(  # noqa: TRY004
                    f"{name} should be a sequence of numbers. Got {type(element)}")
    if isinstance(arg, (int, float)):
        arg = [float(arg), float(arg)]
    elif len(arg) == 1:
        arg = [float(arg[0]), float(arg[0])]
    elif len(arg) == 2:
        arg = [float(arg[0]), float(arg[1])]
    return arg


def _convert_fill_arg(fill):
    if fill is None:
        return fill
    if not isinstance(fill, (int, float)):
        fill = [float(v) for v in list(fill)]
    return fill


def _check_fill_arg(fill) -> None:
    if isinstance(fill, dict):
        for value in fill.values():
            _check_fill_arg(value)
    elif fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg, only Numbers, tuples, lists and dicts "
                        "are allowed.")


def _setup_fill_arg(fill):
    """Fill as a per-type dict ({Image: 0, Mask: 255}) or one value for every type."""
    _check_fill_arg(fill)
    if isinstance(fill, dict):
        for key, value in fill.items():
            fill[key] = _convert_fill_arg(value)
        return fill
    return {"others": _convert_fill_arg(fill)}


def _get_fill(fill_dict, inpt_type):
    if inpt_type in fill_dict:
        return fill_dict[inpt_type]
    if "others" in fill_dict:
        return fill_dict["others"]
    raise RuntimeError("This should never happen, please open an issue on the torchvision "
                       "repo if you hit this.")


def _find_labels_default_heuristic(inputs):
    """The labels of a sample: a "labels" key (else any key containing "label") of a dict,
    or of the dict second in a (image, target) pair, or that pair's second item."""
    if isinstance(inputs, (tuple, list)):
        inputs = inputs[1]
    if is_pure_tensor(inputs):
        return inputs
    if not isinstance(inputs, collections.abc.Mapping):
        raise ValueError(  # noqa: TRY004
            "When using the default labels_getter, the input passed to forward must be a "
            "dictionary or a two-tuple whose second item is a dictionary or a tensor, but got "
            f"{inputs} instead.")
    candidate_key = None
    with suppress(StopIteration):
        candidate_key = next(key for key in inputs if key.lower() == "labels")
    if candidate_key is None:
        with suppress(StopIteration):
            candidate_key = next(key for key in inputs if "label" in key.lower())
    if candidate_key is None:
        raise ValueError(
            "Could not infer where the labels are in the sample. Try passing a callable as the "
            "labels_getter parameter?If there are no labels in the sample by design, pass "
            "labels_getter=None.")
    return inputs[candidate_key]


def _parse_labels_getter(labels_getter):
    if labels_getter == "default":
        return _find_labels_default_heuristic
    if callable(labels_getter):
        return labels_getter
    if labels_getter is None:
        return lambda _: None
    raise ValueError(f"labels_getter should either be 'default', a callable, or None, but got "
                     f"{labels_getter}.")
