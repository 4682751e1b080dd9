"""``torch.distributed.tensor.device_mesh``: the DeviceMesh, where DTensor code imports it
from."""

from ..device_mesh import DeviceMesh, init_device_mesh

__all__ = ["DeviceMesh", "init_device_mesh"]
