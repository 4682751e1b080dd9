"""For ``python -m ember.distributed.run --transport tcp --nproc-per-node 2``: both ranks
print what the launcher set and one all_reduce; then rank 1 fails (exit status 3) while
rank 0 would wait a minute, so the launcher must stop rank 0 and return 3."""

import json
import os
import sys
import time

import ember
import ember.distributed as dist

dist.init_process_group("gloo")
rank = dist.get_rank()
total = ember.tensor([rank + 1.0])
dist.all_reduce(total)
names = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
record = {"rank": rank, "results": {"total": total.item(), "mpi": "mpi4py.MPI" in sys.modules,
                                    "env": {name: os.environ.get(name) for name in names}}}
print("RESULT " + json.dumps(record), flush=True)
dist.barrier()
if rank == 1:
    sys.exit(3)
time.sleep(60)
