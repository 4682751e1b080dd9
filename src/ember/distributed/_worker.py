"""One process started by ``ember.distributed.run``: under mpirun, take RANK and LOCAL_RANK
from the MPI launcher's variables (Open MPI, MPICH/Hydra, PMIx), then run the script (or
module) as ``__main__``, optionally with ``torch`` resolved to ember."""

from __future__ import annotations

import os
import runpy
import sys

_RANK_VARIABLES = ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK")
_LOCAL_RANK_VARIABLES = ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PALS_LOCAL_RANKID")


def _first(names) -> str | None:
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    return None


def main(argv: list) -> int:
    torch_alias = argv[:1] == ["--torch-alias"]
    if torch_alias:
        argv = argv[1:]
    module = argv[:1] == ["-m"]
    if module:
        argv = argv[1:]
    rank = _first(_RANK_VARIABLES)
    if rank is not None:  # under mpirun; without it the launcher set them already
        os.environ["RANK"] = os.environ["ROLE_RANK"] = rank
        os.environ["LOCAL_RANK"] = _first(_LOCAL_RANK_VARIABLES) or rank
    if torch_alias and not module:
        from ember.cli import main as ember_main
        return ember_main(["run", *argv])
    if torch_alias:
        from ember.cli import install_torch_alias
        install_torch_alias()
    sys.argv = list(argv)
    if module:
        runpy.run_module(argv[0], run_name="__main__", alter_sys=True)
    else:
        sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
        runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
