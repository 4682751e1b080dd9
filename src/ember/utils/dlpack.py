"""``torch.utils.dlpack``: DLPack exchange (the implementation is ``ember._dlpack``)."""

from .._dlpack import DLDeviceType, from_dlpack, to_dlpack

__all__ = ["DLDeviceType", "from_dlpack", "to_dlpack"]
