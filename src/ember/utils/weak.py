"""``torch.utils.weak``: dictionaries keyed weakly by object identity.

A ``weakref.WeakKeyDictionary`` hashes and compares its keys with ``__hash__`` and
``__eq__``; a tensor's ``__eq__`` is elementwise, so tensors cannot be keys there. These
key by ``id`` instead (``WeakIdRef``), and an entry disappears when its key is collected.
Iteration walks a snapshot of the keys, so entries may die (or be added) while a loop
runs without a "dictionary changed size" error.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Mapping, MutableMapping

from .._tensor import Tensor

__all__ = ["TensorWeakRef", "WeakIdRef", "WeakIdKeyDictionary", "WeakTensorKeyDictionary"]


class WeakIdRef(weakref.ref):
    """A weak reference hashed by its referent's ``id``. Two refs are equal when both
    referents are alive and the same object; a dead ref equals only itself (so a new
    object that reuses a dead one's id is not mistaken for it)."""

    __slots__ = ["_id"]

    def __init__(self, key, callback=None) -> None:
        self._id = id(key)
        super().__init__(key, callback)

    def __hash__(self) -> int:
        return self._id

    def __eq__(self, other) -> bool:
        mine, theirs = self(), other()
        if mine is not None and theirs is not None:
            return mine is theirs
        return self is other


class _WeakHashRef(weakref.ref):
    """As WeakIdRef, but hashed and compared by the referent's ``hash()`` (for objects
    whose hash names the thing they wrap, as TorchScript objects do)."""

    __slots__ = ["_id"]

    def __init__(self, key, callback=None) -> None:
        self._id = hash(key)
        super().__init__(key, callback)

    def __hash__(self) -> int:
        return self._id

    def __eq__(self, other) -> bool:
        mine, theirs = self(), other()
        if mine is not None and theirs is not None:
            return hash(mine) == hash(theirs)
        return self is other


class WeakIdKeyDictionary(MutableMapping):
    """A mapping whose keys are held weakly and matched by identity."""

    def __init__(self, dict=None, ref_type=WeakIdRef) -> None:  # noqa: A002 - PyTorch's name
        self.data = {}
        self.ref_type = ref_type
        self_ref = weakref.ref(self)

        def remove(key_ref) -> None:
            owner = self_ref()
            if owner is not None:
                owner.data.pop(key_ref, None)

        self._remove = remove
        if dict is not None:
            self.update(dict)

    def __getitem__(self, key):
        return self.data[self.ref_type(key)]

    def __setitem__(self, key, value) -> None:
        self.data[self.ref_type(key, self._remove)] = value

    def __delitem__(self, key) -> None:
        del self.data[self.ref_type(key)]

    def __contains__(self, key) -> bool:
        try:
            key_ref = self.ref_type(key)
        except TypeError:  # not weakly referenceable: cannot be a key
            return False
        return key_ref in self.data

    def __len__(self) -> int:
        return sum(1 for key_ref in list(self.data) if key_ref() is not None)

    def __iter__(self):
        for key_ref in list(self.data):
            key = key_ref()
            if key is not None:
                yield key

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} at {id(self):#x}>"

    def get(self, key, default=None):
        return self.data.get(self.ref_type(key), default)

    def items(self):
        for key_ref, value in list(self.data.items()):
            key = key_ref()
            if key is not None:
                yield key, value

    def keys(self):
        return iter(self)

    def values(self):
        for _, value in self.items():
            yield value

    def keyrefs(self) -> list:
        """The weak references to the keys (some may be dead by the time they are used)."""
        return list(self.data)

    def popitem(self):
        while True:
            key_ref, value = self.data.popitem()
            key = key_ref()
            if key is not None:
                return key, value

    def pop(self, key, *args):
        return self.data.pop(self.ref_type(key), *args)

    def setdefault(self, key, default=None):
        return self.data.setdefault(self.ref_type(key, self._remove), default)

    def update(self, dict=None, **kwargs) -> None:  # noqa: A002
        if dict is not None:
            items = dict.items() if hasattr(dict, "items") else dict
            for key, value in items:
                self[key] = value
        for key, value in kwargs.items():
            self[key] = value

    def copy(self):
        new = WeakIdKeyDictionary(ref_type=self.ref_type)
        for key, value in self.items():
            new[key] = value
        return new

    __copy__ = copy

    def __deepcopy__(self, memo):
        new = self.__class__(ref_type=self.ref_type)
        for key, value in self.items():
            new[key] = copy.deepcopy(value, memo)
        return new

    def __ior__(self, other):
        self.update(other)
        return self

    def __or__(self, other):
        if isinstance(other, Mapping):
            new = self.copy()
            new.update(other)
            return new
        return NotImplemented

    def __ror__(self, other):
        if isinstance(other, Mapping):
            new = self.__class__(ref_type=self.ref_type)
            new.update(other)
            new.update(self)
            return new
        return NotImplemented

    def __eq__(self, other) -> bool:
        """Equal to a mapping with the same key objects (by identity) and equal values."""
        if not isinstance(other, Mapping):
            return NotImplemented
        return ({id(key): value for key, value in self.items()}
                == {id(key): value for key, value in other.items()})


# A tensor-keyed dictionary is the same thing under the name PyTorch code reaches for.
WeakTensorKeyDictionary = WeakIdKeyDictionary


class TensorWeakRef:
    """A weak reference to a tensor; calling it gives the tensor or None."""

    def __init__(self, tensor: Tensor) -> None:
        if not isinstance(tensor, Tensor):
            raise AssertionError(f"expected torch.Tensor, got {type(tensor)}.")
        self.ref = weakref.ref(tensor)

    def __call__(self):
        out = self.ref()
        if out is not None and not isinstance(out, Tensor):
            raise AssertionError(f"expected torch.Tensor, got {type(out)}.")
        return out
