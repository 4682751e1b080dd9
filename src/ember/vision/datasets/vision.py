"""VisionDataset: the root/transform/target_transform plumbing every dataset shares."""

from __future__ import annotations

import os

from ember.utils.data import Dataset

__all__ = ["VisionDataset", "StandardTransform"]


def _apply_transforms(owner, input, target):
    """``owner.transform`` on the input and ``owner.target_transform`` on the target,
    each where set: a StandardTransform's call and every dataset's ``__getitem__``."""
    if owner.transform is not None:
        input = owner.transform(input)
    if owner.target_transform is not None:
        target = owner.target_transform(target)
    return input, target


class StandardTransform:
    """Apply ``transform`` to the input and ``target_transform`` to the target."""

    def __init__(self, transform=None, target_transform=None) -> None:
        self.transform = transform
        self.target_transform = target_transform

    def __call__(self, input, target):
        return _apply_transforms(self, input, target)

    @staticmethod
    def _format(transform, head: str) -> list[str]:
        lines = repr(transform).splitlines()
        return [f"{head}{lines[0]}"] + [" " * len(head) + line for line in lines[1:]]

    def __repr__(self) -> str:
        body = [self.__class__.__name__]
        if self.transform is not None:
            body += self._format(self.transform, "Transform: ")
        if self.target_transform is not None:
            body += self._format(self.target_transform, "Target transform: ")
        return "\n".join(body)


class VisionDataset(Dataset):
    """Base class: pass either ``transforms`` (joint) or ``transform``/``target_transform``."""

    _repr_indent = 4

    def __init__(self, root=None, transforms=None, transform=None,
                 target_transform=None) -> None:
        if isinstance(root, (str, os.PathLike)):
            root = os.path.expanduser(root)
        self.root = root
        has_transforms = transforms is not None
        has_separate = transform is not None or target_transform is not None
        if has_transforms and has_separate:
            raise ValueError("Only transforms or transform/target_transform can be passed "
                             "as argument")
        self.transform = transform
        self.target_transform = target_transform
        if has_separate:
            transforms = StandardTransform(transform, target_transform)
        self.transforms = transforms

    def __getitem__(self, index):
        raise NotImplementedError

    def _transformed(self, input, target):
        """What ``__getitem__`` returns: ``transform(input), target_transform(target)``
        (as torchvision, a joint ``transforms`` alone is not applied here)."""
        return _apply_transforms(self, input, target)

    def __len__(self) -> int:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        head = "Dataset " + self.__class__.__name__
        body = [f"Number of datapoints: {self.__len__()}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        if self.transforms is not None:
            body.append(repr(self.transforms))
        lines = [head] + [" " * self._repr_indent + line for line in body]
        return "\n".join(lines)
