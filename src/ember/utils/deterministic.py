"""``torch.utils.deterministic``: the ``fill_uninitialized_memory`` switch.

While ``use_deterministic_algorithms(True)`` is in force and this flag is True (the
default), memory that PyTorch leaves uninitialised (``empty``, ``empty_like``,
``new_empty``, ``empty_strided``, the grown part of ``resize_``) is filled with NaN for
floating and complex dtypes and with the largest value for integers (True for bool), so
a computation that reads it shows. ember does the same; otherwise its "uninitialised"
memory is zeros.

Example::

    >>> import ember.utils.deterministic
    >>> ember.use_deterministic_algorithms(True)
    >>> ember.empty(2)
    tensor([nan, nan])
    >>> ember.utils.deterministic.fill_uninitialized_memory = False
    >>> ember.empty(2)
    tensor([0., 0.])
"""

import sys
import types

from .._ops._factory import DETERMINISTIC


class _Deterministic(types.ModuleType):
    @property
    def fill_uninitialized_memory(self) -> bool:
        """Whether to fill uninitialized memory with a known value when
        :meth:`ember.use_deterministic_algorithms()` is set to ``True``."""
        return DETERMINISTIC["fill_uninitialized_memory"]

    @fill_uninitialized_memory.setter
    def fill_uninitialized_memory(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise RuntimeError(f"expected a bool, but got {type(mode).__name__}")
        DETERMINISTIC["fill_uninitialized_memory"] = mode


sys.modules[__name__].__class__ = _Deterministic
