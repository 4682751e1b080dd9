"""Where PyTorch keeps ``functional_datapipe``."""

from .datapipe import functional_datapipe

__all__ = ["functional_datapipe"]
