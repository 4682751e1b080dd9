"""``torch.ao.ns``: the numeric suite, comparing a float model with its quantized copy."""

from . import _numeric_suite

__all__ = ["_numeric_suite"]
