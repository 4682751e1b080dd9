"""QuantStub, DeQuantStub and QuantWrapper (``torch.ao.quantization.stubs``)."""

from .quantize import DeQuantStub, QuantStub, QuantWrapper

__all__ = ["DeQuantStub", "QuantStub", "QuantWrapper"]
