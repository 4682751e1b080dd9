"""The multi-process runs the distributed tests check, started together once per session
(each launch costs about a second and a half plus every rank's imports, so there are as
few as possible and they overlap). Both test files share one xdist group, so one worker
starts them once."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent
_LAUNCH_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR",
                     "MASTER_PORT", "TORCHELASTIC_RUN_ID")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_env() -> dict:
    """This process's environment without MPI's or a launcher's variables."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("OMPI_", "PMIX_", "PRTE_", "PMI_"))
           and name not in _LAUNCH_VARIABLES}
    env["OMP_NUM_THREADS"] = "1"
    return env


def mpirun_command(count: int) -> list:
    from ember.distributed.run import find_mpirun
    command = [find_mpirun(), "-n", str(count), "--oversubscribe"]
    if os.geteuid() == 0:
        command.append("--allow-run-as-root")
    return command


class Run:
    """A started process tree, collected by a thread as it runs; ``output()`` waits for
    it and returns its stdout (``stderr`` its stderr), ``seconds`` is its wall time."""

    def __init__(self, command, cwd=HERE, env=None):
        self.command = command
        self.env = env or {}
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, cwd=cwd, env={**clean_env(), **self.env},
                                        text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._result = None
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()

    def _collect(self):
        try:
            stdout, stderr = self.process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            stdout, stderr = self.process.communicate()
        self.seconds = time.monotonic() - self.started
        self._result = (self.process.returncode, stdout, stderr)

    def output(self, expected_status: int = 0) -> str:
        self._collector.join()
        code, stdout, stderr = self._result
        assert code == expected_status, (
            f"{self.command} exited with {code}:\n{stdout[-2000:]}\n{stderr[-4000:]}")
        return stdout

    @property
    def stderr(self) -> str:
        self._collector.join()
        return self._result[2]

    def results(self, expected_status: int = 0, tag: str = "RESULT") -> dict:
        """The ``RESULT {json}`` lines (printed, or written to one file per rank under
        EMBER_TEST_OUT), by rank (a line without one under key 0)."""
        lines = self.output(expected_status).splitlines()
        folder = self.env.get("EMBER_TEST_OUT")
        if folder:
            for path in sorted(Path(folder).glob("rank*.out")):
                lines += path.read_text().splitlines()
        found = {}
        for line in lines:
            if line.startswith(tag + " "):
                record = json.loads(line[len(tag) + 1:])
                found[record.get("rank", 0)] = record.get("results", record)
        return found


def run_both_by_rank(script: str, world: int, folder: Path, cwd: Path = HERE,
                     out_folder: bool = False) -> dict:
    """``python SCRIPT torch|ember RANK WORLD PORT OUT`` on ``world`` processes per
    library, all started together; {library: [rank results]} read back from
    FOLDER/<library><rank>.json. OUT is that file, or FOLDER when ``out_folder`` (the
    script names its files)."""
    runs = {}
    for library in ("torch", "ember"):
        port = free_port()
        runs[library] = [Run([sys.executable, script, library, str(rank), str(world), str(port),
                              str(folder if out_folder else folder / f"{library}{rank}.json")],
                             cwd=cwd)
                         for rank in range(world)]
    results = {}
    for library, ranks in runs.items():
        for run in ranks:
            run.output()
        results[library] = [json.loads((folder / f"{library}{rank}.json").read_text())
                            for rank in range(world)]
    return results


def run_mpirun_and_ember(script: str, tag: str, folders: dict | None = None) -> dict:
    """SCRIPT on 2 ranks under real PyTorch (gloo, mpirun) and under ``ember run``, started
    together: {"torch"|"ember": {rank: record}} of its ``TAG {json}`` lines (each run's
    EMBER_TEST_OUT is folders[name] when given)."""
    env = {name: {"EMBER_TEST_OUT": str(folder)} for name, folder in (folders or {}).items()}
    both = {"torch": Run([*mpirun_command(2), sys.executable, script, str(free_port())],
                         env=env.get("torch")),
            "ember": Run([sys.executable, "-m", "ember", "run", "--nproc-per-node", "2",
                          script], env=env.get("ember"))}
    found = {name: run.results(tag=tag) for name, run in both.items()}
    assert sorted(found["torch"]) == sorted(found["ember"]) == [0, 1]
    return found


@pytest.fixture
def world_of_one():
    """Both libraries' default group as a world of one, met through a HashStore (DDP,
    meshes and DTensors need one), removed after the test."""
    import torch.distributed as tdist

    import ember.distributed as dist
    tdist.init_process_group("gloo", store=tdist.HashStore(), rank=0, world_size=1)
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    yield
    tdist.destroy_process_group()
    dist.destroy_process_group()


def _start_all(folder: Path) -> dict:
    """Three launches cover everything: collectives_script.py (every collective, DDP
    hooks, Join, futures) on PyTorch's gloo as the oracle and on ember over both
    transports; the MPI run goes on with ddp_script.py, the TCP run ends with a failing
    rank so the launcher's exit handling is checked by the same launch."""
    python = sys.executable
    return {
        # the oracle: the script on real PyTorch's gloo
        "torch": Run([*mpirun_command(2), python, "collectives_script.py", str(free_port())]),
        # ember through `ember run --nproc-per-node 2`: torch resolved to ember everywhere
        "mpi": Run([python, "-m", "ember", "run", "--nproc-per-node", "2",
                    "collectives_script.py"], env={"EMBER_TEST_DDP": "1"}),
        # the torchrun-like module without mpirun: subprocesses over TCP; rank 1 then
        # fails (exit status 3) while rank 0 would wait a minute
        "tcp": Run([python, "-m", "ember.distributed.run", "--torch-alias",
                    "--transport", "tcp", "--nproc-per-node", "2",
                    "--master-port", str(free_port()), "collectives_script.py"],
                   env={"EMBER_TEST_OUT": str(folder), "EMBER_TEST_FAIL": "1"}),
    }


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """The three runs, started together on first use (they overlap)."""
    started = _start_all(tmp_path_factory.mktemp("tcp_ranks"))
    yield started
    for run in started.values():
        if run.process.poll() is None:
            run.process.kill()
        run._collector.join()
