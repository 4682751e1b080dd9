"""A PyTorch DDP script, unmodified, for ``ember run --nproc-per-node 2``: it prints the
variables the launcher set and one DDP step's result."""

import json
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group(backend="gloo")
rank = dist.get_rank()
torch.manual_seed(rank)
model = DDP(torch.nn.Linear(3, 1))
x = torch.ones(4, 3) * (rank + 1)
model(x).sum().backward()
record = {
    "rank": rank,
    "results": {
        "module": torch.__name__,
        "world_size": dist.get_world_size(),
        "env": {name: os.environ.get(name) for name in (
            "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
            "TORCHELASTIC_RUN_ID", "OMP_NUM_THREADS")},
        "weight_grad": model.module.weight.grad.tolist(),
        "weight": model.module.weight.tolist(),
    },
}
print("RESULT " + json.dumps(record), flush=True)
dist.destroy_process_group()
