"""What the *_script.py files started by mpirun, ``ember run`` or ``ember.distributed.run``
share. They import it by name: each launcher puts the script's folder on ``sys.path``."""

import json
import os
import sys


def env_from_mpi(default_port: str) -> None:
    """torchrun's variables from Open MPI's (real PyTorch's env:// rendezvous needs them);
    the port is the script's first argument when given."""
    os.environ.setdefault("RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0"))
    os.environ.setdefault("WORLD_SIZE", os.environ.get("OMPI_COMM_WORLD_SIZE", "1"))
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", sys.argv[1] if len(sys.argv) > 1 else default_port)


def report(tag: str, rank: int, results: dict, **dumps_options) -> None:
    """The ``TAG {"rank": ..., "results": ...}`` line conftest's ``Run.results`` reads:
    written to EMBER_TEST_OUT/rank<rank>.out when that is set (long lines from several
    ranks on one pipe interleave), printed otherwise."""
    line = f"{tag} " + json.dumps({"rank": rank, "results": results}, **dumps_options)
    folder = os.environ.get("EMBER_TEST_OUT")
    if folder:
        with open(os.path.join(folder, f"rank{rank}.out"), "w") as out:
            out.write(line + "\n")
    else:
        print(line, flush=True)
