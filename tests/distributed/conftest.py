"""The multi-process runs the distributed tests check, started together once per session
(each mpirun costs about a second and a half plus imports, so they overlap)."""

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
    it and returns its stdout, ``seconds`` is its wall time."""

    def __init__(self, command, cwd=HERE):
        self.command = command
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, cwd=cwd, env=clean_env(), text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._result = None
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()

    def _collect(self):
        try:
            stdout, stderr = self.process.communicate(timeout=240)
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

    def results(self, expected_status: int = 0) -> dict:
        """The ``RESULT {json}`` lines, by rank (or the one line under key 0)."""
        found = {}
        for line in self.output(expected_status).splitlines():
            if line.startswith("RESULT "):
                record = json.loads(line[len("RESULT "):])
                found[record.get("rank", 0)] = record.get("results", record)
        return found


def _start_group(group: str) -> dict:
    python = sys.executable
    if group == "collectives":
        return {
            # ember through `ember run --nproc-per-node 2`: torch resolved to ember everywhere
            "collectives_ember": Run([python, "-m", "ember", "run", "--nproc-per-node", "2",
                                      "collectives_script.py"]),
            # the oracle: the same script on real PyTorch's gloo
            "collectives_torch": Run([*mpirun_command(2), python, "collectives_script.py",
                                      str(free_port())]),
            # PyTorch's mp.spawn pattern: no MPI, ember's TCP transport
            "collectives_spawn": Run([python, "-m", "ember", "run", "spawn_script.py",
                                      str(free_port())]),
        }
    return {
        # DDP training through the torchrun-like module
        "ddp": Run([python, "-m", "ember.distributed.run", "--nproc-per-node", "2",
                    "--master-port", "29512", "ddp_script.py"]),
        # the torchrun-like module without mpirun: subprocesses over TCP
        "launcher_tcp": Run([python, "-m", "ember.distributed.run", "--transport", "tcp",
                             "--nproc-per-node", "2", "--master-port", str(free_port()),
                             "launcher_script.py"]),
    }


class Runs:
    """``runs[name]``: the first request starts every run at once, so they overlap; under
    pytest-xdist only the group of runs ``name`` belongs to (one test file's), so workers
    that collect other files' tests do not start them."""

    def __init__(self):
        self.started = {}

    def __getitem__(self, name: str) -> Run:
        if name not in self.started:
            if os.environ.get("PYTEST_XDIST_WORKER"):
                groups = ["collectives" if name.startswith("collectives") else "ddp"]
            else:  # one process runs every test: overlap everything
                groups = ["collectives", "ddp"]
            for group in groups:
                self.started.update(_start_group(group))
        return self.started[name]


@pytest.fixture(scope="session")
def runs():
    started = Runs()
    yield started
    for run in started.started.values():
        if run.process.poll() is None:
            run.process.kill()
        run._collector.join()
