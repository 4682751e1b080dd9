"""nn.parallel: DataParallel and data_parallel on the one device there is.

ember runs one process on one device, so data parallelism over devices reduces to calling
the module; the wrapper keeps PyTorch's ``module.`` prefix in ``state_dict`` keys so
checkpoints saved from a DataParallel model load the same way. Scale-out across
processes is ``ember.distributed``'s job.
"""

from __future__ import annotations

from . import data_parallel as _data_parallel_module  # noqa: F401
from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel
from .parallel_apply import parallel_apply
from .replicate import replicate
from .scatter_gather import gather, scatter

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel", "gather",
           "parallel_apply", "replicate", "scatter"]
