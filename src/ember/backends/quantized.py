"""ember.backends.quantized: the quantized engine flag (``torch.backends.quantized.engine =
'qnnpack'``, as the quantization tutorials set it first thing).

ember's quantized kernels are one NumPy implementation for every engine, so the flag is
recorded and checked against the engines PyTorch's x86 build lists, not acted on; the
qconfig helpers take the backend by name (``get_default_qat_qconfig('fbgemm')``).
"""

from __future__ import annotations

import sys
import types

_SUPPORTED = ["qnnpack", "onednn", "x86", "fbgemm"]


class QuantizedEngine(types.ModuleType):
    """This module's class: ``engine`` is a checked property, as PyTorch's module is."""

    @property
    def engine(self) -> str:
        return self._engine

    @engine.setter
    def engine(self, name: str) -> None:
        if name not in _SUPPORTED:
            raise RuntimeError(f"{name} is not a valid value for quantized engine")
        self._engine = name

    @property
    def supported_engines(self) -> list:
        return list(_SUPPORTED)


_engine = "x86"
__all__ = ["engine", "supported_engines"]  # noqa: F822 - properties of the module class
sys.modules[__name__].__class__ = QuantizedEngine
