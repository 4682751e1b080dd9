"""ember.distributed (PyTorch's ``torch.distributed``): process groups and collectives
for data-parallel training on CPUs (``gloo``/``mpi``) and CUDA (``nccl``, moved through
the host the same way).

Start the processes with the launcher, which runs ``mpirun`` and sets RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR and MASTER_PORT as torchrun does::

    ember run --nproc-per-node 2 train.py
    python -m ember.distributed.run --nproc-per-node 2 train.py

and in the script::

    import ember.distributed as dist
    dist.init_process_group("gloo")
    dist.all_reduce(tensor)          # summed over both processes

Under an MPI launcher the data moves through MPI (mpi4py). Scripts that start their own
workers with ``multiprocessing.spawn`` and call ``init_process_group("gloo", rank=r,
world_size=w)`` work too: their processes meet at MASTER_ADDR:MASTER_PORT and talk over
plain TCP sockets (``_tcp``), slower than MPI but with nothing to install. mpi4py is
imported only under an MPI launcher, so ``import ember`` works without the
``distributed`` extra.
"""

from ._collectives import *
from ._collectives import __all__ as _collectives_all
from ._config import *
from ._config import __all__ as _config_all
from ._errors import *
from ._errors import __all__ as _errors_all
from ._grad_bucket import (
    _DEFAULT_FIRST_BUCKET_BYTES as _DEFAULT_FIRST_BUCKET_BYTES,
    BuiltinCommHookType,
    GradBucket,
    _compute_bucket_assignment_by_size as _compute_bucket_assignment_by_size,
)
from ._group import *
from ._group import __all__ as _group_all
from ._objects import *
from ._objects import __all__ as _objects_all
from ._subgroups import *
from ._subgroups import __all__ as _subgroups_all
from ._store import FileStore, HashStore, PrefixStore, Store
from ._tcp_store import TCPStore
from .device_mesh import DeviceMesh, init_device_mesh
from .rendezvous import register_rendezvous_handler, rendezvous

__all__ = [*_group_all, *_collectives_all, *_objects_all, *_errors_all,  # noqa: PLE0604
           *_config_all, *_subgroups_all,
           "BuiltinCommHookType", "DeviceMesh", "FileStore", "GradBucket", "HashStore",
           "PrefixStore", "Store", "TCPStore", "init_device_mesh",
           "register_rendezvous_handler", "rendezvous"]
