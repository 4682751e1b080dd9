"""ember.distributed.tensor (PyTorch's ``torch.distributed.tensor``): DTensor, a tensor
laid out over a DeviceMesh with a placement per mesh dimension (``Shard(dim)``,
``Replicate()``, ``Partial(op)``), the ops that run on it, and the factories.

Example (2 processes)::

    >>> mesh = init_device_mesh("cpu", (2,))
    >>> w = distribute_tensor(torch.randn(8, 4), mesh, [Shard(0)])   # 4 rows each
    >>> y = w @ x_replicated                                         # Shard(0)
    >>> y.full_tensor()                                              # the whole 8 rows
"""

from ..device_mesh import DeviceMesh, init_device_mesh
from ._api import (
    DTensor,
    distribute_module,
    distribute_tensor,
    empty,
    full,
    ones,
    rand,
    randn,
    zeros,
)
from .placement_types import Partial, Placement, Replicate, Shard

__all__ = ["DTensor", "DeviceMesh", "Partial", "Placement", "Replicate", "Shard",
           "distribute_module", "distribute_tensor", "empty", "full", "init_device_mesh",
           "ones", "rand", "randn", "zeros"]
