"""``ember.func.rearrange``: einops-style ``rearrange`` (``torch.func.rearrange``).

A pattern such as ``"b (h w) c -> b h w c"`` names the axes of the input and of the
result; parentheses group axes merged into one dimension, ``...`` stands for the axes not
named, and ``1``/``()`` is a unit axis. The rearrangement is three view-or-copy steps:
reshape the input to its elementary axes, permute them into the result's order, reshape
to the result's groups. Differentiable through those ops.

As PyTorch's (first-class-dims) implementation: a unit axis on the left is summed away
(so it also accepts a longer axis there, which it sums), argument errors are ValueError /
TypeError with einops' messages, and size conflicts raise ``DimensionBindError``.
"""

from __future__ import annotations

import math

import ember

__all__ = ["DimensionBindError", "rearrange"]

_ELLIPSIS = "\u2026"


class DimensionBindError(Exception):
    """A dimension's size cannot be bound consistently (functorch.dim's error)."""


class _Expression:
    """One side of a pattern: ``groups`` is a list whose items are ``_ELLIPSIS`` or a list
    of axis names (``[]``: a unit axis)."""

    def __init__(self, text: str) -> None:
        self.has_ellipsis = False
        self.ellipsis_in_group = False
        self.names: set = set()
        self.numbered = False  # an anonymous axis longer than 1
        self.groups: list = []
        if "." in text:
            if "..." not in text:
                raise ValueError("Expression may contain dots only inside ellipsis (...)")
            if text.count("...") != 1 or text.count(".") != 3:
                raise ValueError("Expression may contain dots only inside ellipsis (...); only "
                                 "one ellipsis for tensor ")
            text = text.replace("...", _ELLIPSIS)
            self.has_ellipsis = True
        group = None
        token = ""
        for char in text + " ":
            if char in "() ":
                if token:
                    self._add(token, group)
                token = ""
                if char == "(":
                    if group is not None:
                        raise ValueError("Axis composition is one-level (brackets inside "
                                         "brackets not allowed)")
                    group = []
                elif char == ")":
                    if group is None:
                        raise ValueError("Brackets are not balanced")
                    self.groups.append(group)
                    group = None
            elif char.isalnum() or char in ("_", _ELLIPSIS):
                token += char
            else:
                raise ValueError(f"Unknown character '{char}'")
        if group is not None:
            raise ValueError(f"Imbalanced parentheses in expression: '{text}'")

    def _add(self, token: str, group) -> None:
        if token in self.names:
            raise ValueError(f"Indexing expression contains duplicate dimension '{token}'")
        if token == _ELLIPSIS:
            self.names.add(token)
            if group is None:
                self.groups.append(_ELLIPSIS)
            else:
                group.append(_ELLIPSIS)
                self.ellipsis_in_group = True
            return
        if token.isdecimal():
            if int(token) == 1:
                if group is None:
                    self.groups.append([])
                return
            if int(token) < 1:
                raise ValueError(f"Anonymous axis should have positive length, not {int(token)}")
            self.numbered = True
            (self.groups if group is None else group).append(token)
            return
        if token[0].isdigit() or not token.isidentifier():
            raise ValueError(f"Invalid axis identifier: {token}\nnot a valid python identifier")
        if token.startswith("_") or token.endswith("_"):
            raise ValueError(f"Invalid axis identifier: {token}\naxis name should should not "
                             "start or end with underscore")
        self.names.add(token)
        if group is None:
            self.groups.append([token])
        else:
            group.append(token)


def _parse(pattern: str, lengths: dict):
    try:
        left_text, right_text = pattern.split("->")
    except ValueError:
        raise ValueError("Pattern must contain a single '->' separator") from None
    if _ELLIPSIS in lengths:
        raise ValueError(f"'{_ELLIPSIS}' is not an allowed axis identifier")
    left, right = _Expression(left_text), _Expression(right_text)
    if not left.has_ellipsis and right.has_ellipsis:
        raise ValueError(f"Ellipsis found in right side, but not left side of a pattern {pattern}")
    if left.has_ellipsis and left.ellipsis_in_group:
        raise ValueError(f"Ellipsis is parenthesis in the left side is not allowed: {pattern}")
    for length in lengths.values():
        if type(length) is not int:
            raise TypeError(f"rearrange axis lengths must be integers, got: {type(length)}")
    if left.numbered or right.numbered:
        raise ValueError("rearrange only supports unnamed axes of size 1")
    only_one_side = left.names ^ right.names
    if only_one_side:
        raise ValueError("Identifiers only on one side of rearrange expression (should be on "
                         f"both): {only_one_side}")
    unknown = lengths.keys() - left.names
    if unknown:
        raise ValueError(f"Identifiers not found in rearrange expression: {unknown}")
    return left, right


def _bind(left: _Expression, shape: tuple, lengths: dict) -> tuple[dict, list]:
    """Axis sizes from the input shape; returns them and the input's elementary shape
    (ellipsis axes as ``("…", i)``, a left unit axis as ``None``)."""
    named = len(left.names - {_ELLIPSIS})
    unit_axes = sum(1 for g in left.groups if g == [])
    if left.has_ellipsis:
        if named + unit_axes > len(shape):
            raise ValueError(f"Number of dimensions in pattern ({named + unit_axes}) must be less "
                             "than or equal to the number of dimensions in the tensor "
                             f"({len(shape)})")
        n_ellipsis = len(shape) - (len(left.groups) - 1)
    else:
        if len(left.groups) != len(shape):
            raise ValueError(f"Number of dimensions in pattern ({len(left.groups)}) must be equal "
                             f"to the number of dimensions in the tensor ({len(shape)})")
        n_ellipsis = 0
    sizes, elementary, dim = dict(lengths), [], 0
    for group in left.groups:
        if group == _ELLIPSIS:
            for i in range(n_ellipsis):
                sizes[(_ELLIPSIS, i)] = shape[dim + i]
                elementary.append((_ELLIPSIS, i))
            dim += n_ellipsis
            continue
        size = shape[dim]
        dim += 1
        if not group:  # a unit axis: summed away (whatever its length)
            sizes[None] = size
            elementary.append(None)
            continue
        # PyTorch's messages name the axes d0, d1, ... in input order
        labels = {name: f"d{len(elementary) + i}" for i, name in enumerate(group)}
        unknown = [name for name in group if name not in sizes]
        known = math.prod(sizes[name] for name in group if name in sizes)
        if len(unknown) > 1:
            raise DimensionBindError(f"cannot infer the sizes of two dimensions at once "
                                     f"{labels[unknown[0]]} and {labels[unknown[1]]}")
        if unknown:
            if known == 0 or size % known:
                raise DimensionBindError(
                    "inferred dimension does not evenly fit into larger dimension: "
                    f"{size} vs {tuple(sizes[n] if n in sizes else '?' for n in group)}")
            sizes[unknown[0]] = size // known
        elif known != size:
            pack = ", ".join(labels[name] for name in group) + ("," if len(group) == 1 else "")
            raise DimensionBindError(f"Dimension sizes to do not match ({size} != {known}) when "
                                     f"matching dimension pack ({pack})")
        elementary.extend(group)
    return sizes, elementary


def rearrange(tensor, pattern: str, **axes_lengths: int):
    """Reorder, merge, split, insert or drop unit axes of ``tensor`` (or of the stack of a
    sequence of tensors) as ``pattern`` says.

    Example:
        >>> images = ember.randn(32, 30, 40, 3)
        >>> rearrange(images, "b (h1 h) (w1 w) c -> (b h1 w1) h w c", h1=2, w1=2).shape
        torch.Size([128, 15, 20, 3])
    """
    if not isinstance(tensor, ember.Tensor):
        tensor = ember.stack(tensor)
    left, right = _parse(pattern, axes_lengths)
    sizes, elementary = _bind(left, tuple(tensor.shape), axes_lengths)
    if not elementary and not right.groups:
        return tensor
    split = tensor.reshape([sizes[axis] for axis in elementary])
    if None in elementary:  # PyTorch sums its unit axes away
        split = split.sum([i for i, axis in enumerate(elementary) if axis is None])
        elementary = [axis for axis in elementary if axis is not None]
    n_ellipsis = sum(1 for axis in elementary if isinstance(axis, tuple))
    ellipsis_axes = [(_ELLIPSIS, i) for i in range(n_ellipsis)]
    order, result_shape = [], []
    for group in right.groups:
        if group == _ELLIPSIS:  # bare: each hidden axis stays its own dimension
            order.extend(ellipsis_axes)
            result_shape.extend(sizes[axis] for axis in ellipsis_axes)
            continue
        axes = []
        for name in group:
            axes.extend(ellipsis_axes if name == _ELLIPSIS else [name])
        order.extend(axes)
        result_shape.append(math.prod(sizes[axis] for axis in axes))
    moved = split.permute([elementary.index(axis) for axis in order])
    return moved.reshape(result_shape)
