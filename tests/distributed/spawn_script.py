"""PyTorch's multiprocessing.spawn pattern, run with ``ember run spawn_script.py PORT``:
each spawned worker sets RANK, WORLD_SIZE and MASTER_ADDR/PORT and runs
collectives_script.py, whose init_process_group("gloo") then meets the other worker over
ember's TCP transport (no MPI launcher involved). Each worker writes to its own file,
printed after both finish (two processes' long lines would interleave on one pipe)."""

import contextlib
import os
import runpy
import sys
import tempfile

import torch.multiprocessing as mp

HERE = os.path.dirname(os.path.abspath(__file__))


def worker(rank, world_size, port, folder):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    sys.argv = [os.path.join(HERE, "collectives_script.py")]
    with open(os.path.join(folder, f"rank{rank}.out"), "w") as out, \
            contextlib.redirect_stdout(out):
        runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        mp.spawn(worker, args=(2, int(sys.argv[1]), folder), nprocs=2)
        for rank in range(2):
            with open(os.path.join(folder, f"rank{rank}.out")) as out:
                print(out.read(), end="", flush=True)
