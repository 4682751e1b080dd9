"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict.

Children are registered under their index or key, as PyTorch does, so ``state_dict`` keys
(``0.weight``, ``layers.3.bias``) and ``repr`` match PyTorch's. ``ParameterList`` keeps its
length in ``_size`` and ``ParameterDict`` its key order in ``_keys``: PyTorch's names,
since pickles of these modules carry them.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from itertools import islice, repeat

from ..._tensor import Tensor
from ..parameter import Parameter
from .module import Module, _addindent, _typename

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


def _abs_index(idx, size):
    idx = operator.index(idx)
    if not -size <= idx < size:
        raise IndexError(f"index {idx} is out of range")
    return idx + size if idx < 0 else idx


def _require_iterable(obj, what, refuse_tensor=False):
    """``what`` is the start of PyTorch's message ("ModuleList.extend should be called
    with an iterable"); a tensor counts as one value, not an iterable, where asked."""
    if not isinstance(obj, Iterable) or (refuse_tensor and isinstance(obj, Tensor)):
        raise TypeError(f"{what}, but got {type(obj).__name__}")


def _checked_pairs(items, owner):
    """Yield ``(key, value)`` from a sequence of pairs, refusing a bad element when it is
    reached (earlier pairs are already in, as in PyTorch)."""
    for j, pair in enumerate(items):
        if not isinstance(pair, Iterable):
            raise TypeError(f"{owner} update sequence element #{j} should be Iterable; "
                            f"is{type(pair).__name__}")
        if len(pair) != 2:
            raise ValueError(f"{owner} update sequence element #{j} has length "
                             f"{len(pair)}; 2 is required")
        yield pair[0], pair[1]


def _as_parameter(value):
    """Parameter containers hold parameters: a plain tensor is wrapped, anything else
    (a parameter, a non-tensor object) is stored as given."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _hide_positions(module):
    """``dir()`` without the numeric child names."""
    return [name for name in Module.__dir__(module) if not name.isdigit()]


class _Positional:
    """What Sequential and ModuleList share: children in ``_modules`` at keys that are
    their positions (Sequential may use names instead, addressed by position all the
    same), renumbered after a deletion."""

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __dir__(self):
        return _hide_positions(self)

    def _key_at(self, idx):
        return next(islice(self._modules, _abs_index(idx, len(self)), None))

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return self._sliced(idx)
        return self._modules[self._key_at(idx)]

    def __setitem__(self, idx, module):
        setattr(self, self._key_at(idx), module)

    def __delitem__(self, idx):
        doomed = list(self._modules)[idx] if isinstance(idx, slice) else [self._key_at(idx)]
        for key in doomed:
            delattr(self, key)
        self._modules = OrderedDict(zip(map(str, range(len(self))), self._modules.values()))

    def pop(self, key):
        child = self[key]
        del self[key]
        return child

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def _append_all(self, modules):
        for module in modules:
            self.append(module)
        return self

    def _open_slot(self, index, module):
        """Move the children from ``index`` on up one key and put ``module`` at
        ``index`` (no name checks, as PyTorch's insert)."""
        for pos in reversed(range(index + 1, len(self._modules) + 1)):
            self._modules[str(pos)] = self._modules[str(pos - 1)]
        self._modules[str(index)] = module


def _require_sequential(other):
    if not isinstance(other, Sequential):
        raise ValueError("add operator supports only objects of Sequential class, but "
                         f"{type(other)} is given.")


class Sequential(_Positional, Module):
    """Modules called in order; ``Sequential(OrderedDict(...))`` names them."""

    def __init__(self, *args):
        super().__init__()
        named = len(args) == 1 and isinstance(args[0], OrderedDict)
        for key, module in (args[0].items() if named else zip(map(str, range(len(args))), args)):
            self.add_module(key, module)

    def _sliced(self, idx):
        return type(self)(OrderedDict(list(self._modules.items())[idx]))

    def __add__(self, other):
        _require_sequential(other)
        return Sequential(*self, *other)

    def __iadd__(self, other):
        _require_sequential(other)
        return self._append_all(other)

    def __mul__(self, other):
        if not isinstance(other, int):
            raise TypeError(f"unsupported operand type(s) for *: {type(self)} and {type(other)}")
        if other <= 0:
            raise ValueError(f"Non-positive multiplication factor {other} for {type(self)}")
        return Sequential(*(list(self) * other))

    __rmul__ = __mul__

    def insert(self, index, module):
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        size = len(self)
        if not -size <= index <= size:
            raise IndexError(f"Index out of range: {index}")
        self._open_slot(index + size if index < 0 else index, module)
        return self

    def extend(self, sequential):
        return self._append_all(sequential)

    def forward(self, input):
        for stage in self:
            input = stage(input)
        return input


class ModuleList(_Positional, Module):
    """A list of modules, registered so their parameters are seen."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _sliced(self, idx):
        return type(self)(list(self)[idx])

    def _key_at(self, idx):
        # a ModuleList's keys are its positions: index directly instead of walking
        return str(_abs_index(idx, len(self)))

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList([*self, *other])

    def __repr__(self):
        """Runs of identical children print once, as ``(0-2): 3 x Linear(...)``."""
        reprs = [repr(item) for item in self]
        if not reprs:
            return self._get_name() + "()"
        spans = [[0, 0]]
        blocks = [reprs[0]]
        for i, r in enumerate(reprs[1:], 1):
            if r == blocks[-1]:
                spans[-1][1] += 1
                continue
            spans.append([i, i])
            blocks.append(r)
        lines = []
        for (start, end), block in zip(spans, blocks):
            text = f"({start}): {block}" if start == end else \
                f"({start}-{end}): {end - start + 1} x {block}"
            lines.append(_addindent(text, 2))
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"

    def insert(self, index, module):
        self._open_slot(index, module)

    def extend(self, modules):
        _require_iterable(modules, "ModuleList.extend should be called with an iterable")
        return self._append_all(modules)


class ModuleDict(Module):
    """An ordered dict of modules, registered under their keys."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def clear(self):
        self._modules.clear()

    def pop(self, key):
        child = self._modules[key]
        del self[key]
        return child

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules):
        _require_iterable(modules, "ModuleDict.update should be called with an iterable of "
                                   "key/value pairs")
        keyed = isinstance(modules, (Mapping, ModuleDict))
        for key, module in (modules.items() if keyed else _checked_pairs(modules, "ModuleDict")):
            self[key] = module


def _param_line(key, p, type_text):
    if isinstance(p, Tensor):
        size_str = "x".join(str(s) for s in p.size())
        device_str = f" ({p.device})" if p.device.type == "cuda" else ""
        kind = "Parameter" if isinstance(p, Parameter) else "Tensor"
        return f"  ({key}): {kind} containing: [{type_text(p)} of size {size_str}{device_str}]"
    return f"  ({key}): Object of type: {type(p).__name__}"


class ParameterList(Module):
    """A list of parameters (plain tensors are wrapped in Parameter)."""

    def __init__(self, values=None):
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def _attr_at(self, idx):
        return str(_abs_index(idx, len(self)))

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(map(self.__getitem__, range(*idx.indices(len(self)))))
        return getattr(self, self._attr_at(idx))

    def __setitem__(self, idx, param):
        setattr(self, self._attr_at(idx), _as_parameter(param))

    def __len__(self):
        return self._size

    def __iter__(self):
        return map(self.__getitem__, range(len(self)))

    def __iadd__(self, parameters):
        return self.extend(parameters)

    def __dir__(self):
        return _hide_positions(self)

    def append(self, value):
        self._size += 1
        self[self._size - 1] = value
        return self

    def extend(self, values):
        _require_iterable(values, "ParameterList.extend should be called with an iterable",
                          refuse_tensor=True)
        for value in values:
            self.append(value)
        return self

    def extra_repr(self):
        return "\n".join(_param_line(k, p, lambda t: t.dtype) for k, p in enumerate(self))

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterList should not be called.")


class ParameterDict(Module):
    """An ordered dict of parameters (plain tensors are wrapped in Parameter)."""

    def __init__(self, parameters=None):
        super().__init__()
        self._keys = {}
        if parameters is not None:
            self.update(parameters)

    @staticmethod
    def _attr(key):
        """Values live as attributes named by their key, so keys must be strings."""
        if isinstance(key, str):
            return key
        raise TypeError(
            "Index given to ParameterDict cannot be used as a key as it is not a string "
            f"(type is '{type(key).__name__}'). Open an issue on github if you need "
            "non-string keys.")

    def __getitem__(self, key):
        return getattr(self, self._attr(key))

    def __setitem__(self, key, value):
        self._keys[key] = None  # recorded first, even for a key then refused: PyTorch's order
        setattr(self, self._attr(key), _as_parameter(value))

    def __delitem__(self, key):
        del self._keys[key]
        delattr(self, self._attr(key))

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __reversed__(self):
        return reversed(self._keys)

    def __contains__(self, key):
        return key in self._keys

    def copy(self):
        return ParameterDict(OrderedDict(self.items()))

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self):
        for key in list(self._keys):
            del self[key]

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def popitem(self):
        if not self._keys:
            raise KeyError("popitem(): dictionary is empty")
        last = next(reversed(self._keys))
        return last, self.pop(last)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def fromkeys(self, keys, default=None):
        return ParameterDict(zip(keys, repeat(default)))

    def keys(self):
        return self._keys.keys()

    def items(self):
        return zip(self._keys, self.values())

    def values(self):
        return map(self.__getitem__, self._keys)

    def update(self, parameters):
        """Ordered sources keep their order, a plain mapping is taken in sorted key order
        (PyTorch's rule), anything else must be a sequence of pairs."""
        _require_iterable(parameters, "ParametersDict.update should be called with an "
                                      "iterable of key/value pairs")
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = parameters.items()
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())
        else:
            pairs = _checked_pairs(parameters, "ParameterDict")
        for key, value in pairs:
            self[key] = value

    def extra_repr(self):
        return "\n".join(_param_line(k, p, _typename) for k, p in self.items())

    def __call__(self, input):
        raise RuntimeError("ParameterDict should not be called.")

    def __or__(self, other):
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self, other):
        merged = other.copy()
        merged.update(self)
        return merged

    def __ior__(self, other):
        self.update(other)
        return self
