"""``IterDataPipe`` and ``MapDataPipe``: datasets built by chaining small pipes, each
reachable from the previous one by a registered functional name (``dp.map(fn).batch(4)``).

A functional name is looked up in the class's ``functions`` table by ``__getattr__``, so a
user's ``@functional_datapipe("name")`` class becomes a method of every pipe, as PyTorch's.
"""

from __future__ import annotations

import copy
import functools
import random
import warnings
from typing import Callable

from ..dataset import Dataset, IterableDataset

__all__ = ["DataChunk", "IterDataPipe", "MapDataPipe", "functional_datapipe"]


class DataChunk(list):
    """A batch produced by ``batch``/``groupby``: a list that ``unbatch`` opens."""

    def __init__(self, items=()):
        super().__init__(items)
        self.items = self

    def as_str(self, indent: str = "") -> str:
        return indent + "[" + ", ".join(str(i) for i in iter(self)) + "]"

    def raw_iterator(self):
        yield from self


class _FunctionalMixin:
    """``functions`` registry and attribute lookup shared by both pipe kinds."""

    functions: dict[str, Callable] = {}

    def __getattr__(self, attribute_name):
        function = type(self).functions.get(attribute_name)
        if function is None:
            raise AttributeError(
                f"'{self.__class__.__name__}' object has no attribute '{attribute_name}"
            )
        method = functools.partial(function, self)
        functools.update_wrapper(wrapper=method, wrapped=function, assigned=("__doc__",))
        return method

    @classmethod
    def register_function(cls, function_name, function):
        cls.functions[function_name] = function

    @classmethod
    def register_datapipe_as_function(cls, function_name, cls_to_register,
                                      enable_df_api_tracing=False):
        if function_name in cls.functions:
            raise Exception(  # noqa: TRY002  (PyTorch's type)
                f"Unable to add DataPipe function name {function_name} as it is already taken"
            )
        cls.functions[function_name] = cls_to_register

    def __repr__(self):
        return self.__class__.__qualname__

    def __str__(self):
        return self.__class__.__qualname__

    def __dir__(self):
        return list(super().__dir__()) + list(type(self).functions)


class IterDataPipe(_FunctionalMixin, IterableDataset):
    """An iterable-style pipe; ``reset()`` runs when a new iteration starts."""

    functions: dict[str, Callable] = {}

    def reset(self) -> None:
        """Clear per-iteration state; pipes with buffers or RNGs override it."""


class MapDataPipe(_FunctionalMixin, Dataset):
    """A map-style pipe: ``__getitem__`` and usually ``__len__``."""

    functions: dict[str, Callable] = {}


class _Shuffling:
    """The switch and seed every shuffling pipe shares, as PyTorch's: ``set_shuffle`` turns
    it off (a DataLoader's ``shuffle=False`` calls it), ``set_seed`` fixes the next
    iteration's order, and without one each iteration draws its seed from ember's global
    generator (so ``manual_seed`` reproduces it)."""

    def _init_shuffling(self) -> None:
        self._enabled = True
        self._seed = None
        self._rng = random.Random()

    def set_shuffle(self, shuffle=True):
        self._enabled = shuffle
        return self

    def set_seed(self, seed: int):
        self._seed = seed
        return self

    def _reseed(self) -> None:
        """Seed ``_rng`` for one iteration; a ``set_seed`` seed is used once."""
        if self._seed is None:
            from .... import empty, int64  # the ember package, imported by now

            self._seed = int(empty((), dtype=int64).random_().item())
        self._rng.seed(self._seed)
        self._seed = None


class functional_datapipe:
    """Class decorator registering a pipe under a functional name, e.g.
    ``@functional_datapipe("double")`` makes ``dp.double(...)`` build ``cls(dp, ...)``."""

    def __init__(self, name: str, enable_df_api_tracing=False) -> None:
        self.name = name
        self.enable_df_api_tracing = enable_df_api_tracing

    def __call__(self, cls):
        if issubclass(cls, IterDataPipe):
            IterDataPipe.register_datapipe_as_function(self.name, cls)
        elif issubclass(cls, MapDataPipe):
            MapDataPipe.register_datapipe_as_function(self.name, cls)
        else:
            raise TypeError("`functional_datapipe` can only decorate IterDataPipe or MapDataPipe")
        return cls


class _Batching:
    """The arguments and the length rule of both ``batch`` pipes (iterable and map)."""

    def __init__(self, datapipe, batch_size: int, drop_last: bool = False,
                 wrapper_class=DataChunk) -> None:
        if batch_size <= 0:
            raise AssertionError("Batch size is required to be larger than 0!")
        self.datapipe, self.batch_size = datapipe, batch_size
        self.drop_last, self.wrapper_class = drop_last, wrapper_class

    def _num_batches(self, n: int) -> int:
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def _check_pipes(datapipes, kind) -> None:
    """PyTorch's errors for no input, or an input that is not a ``kind`` pipe."""
    if len(datapipes) == 0:
        raise ValueError("Expected at least one DataPipe, but got nothing")
    if not all(isinstance(dp, kind) for dp in datapipes):
        raise TypeError(f"Expected all inputs to be `{kind.__name__}`")


def _deepcopy_or_itself(value, message: str):
    """A deep copy of a wrapped source; the source itself, warning ``message``, when it
    cannot be deep-copied."""
    try:
        return copy.deepcopy(value)
    except TypeError:
        warnings.warn(message, stacklevel=3)
        return value


def _len_or_raise(pipe, *sources):
    """The length of every source; PyTorch's TypeError naming ``pipe`` when a source has no
    ``__len__`` (a sized source that cannot tell its length raises its own)."""
    if not all(hasattr(type(source), "__len__") for source in sources):
        raise TypeError(f"{type(pipe).__name__} instance doesn't have valid length")
    return [len(source) for source in sources]
