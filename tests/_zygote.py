"""Run scripts as ``python script.py`` or ``ember run script.py`` would, each in a fork of
one interpreter that has already imported the library (the yardstick and the examples).

Every script still gets a process of its own that starts from the same clean state (the
parent imports the library and runs nothing), so scripts cannot see each other; what is
saved is the import (about two CPU seconds for torch and one for ember per script, minutes
over the yardstick on a two-core machine).

Two more things make the forks cheap. The torch parent also imports ``torch._dynamo``:
torch.optim's constructors import it on first use (about two CPU seconds, with sympy), so
nearly every script paid it again. And the parent freezes its heap (``gc.freeze``) before
forking: otherwise each child's first full garbage collection walks every object torch or
ember created at import, and writing their GC headers copies those pages into the child.
Both together cut the yardstick's torch runs from about 3 CPU seconds a script to under 1.
Neither changes what a script sees: it would import ``torch._dynamo`` itself, and frozen
objects are the library's, alive for the whole process anyway.

    python _zygote.py MODE JOBS.json OUT_DIR PARALLEL TIME_LIMIT

MODE: ``torch`` or ``ember`` (``python script.py`` with that library imported beforehand)
or ``ember run``. JOBS.json holds a list of command lines ``[script, *args]``, run in the
current folder. For the i-th OUT_DIR gets ``i.out``, ``i.err`` and ``i.rc`` (the exit
status; -9 when killed after TIME_LIMIT seconds).
"""

import gc
import json
import os
import runpy
import signal
import subprocess
import sys
import time


def _child(how: str, argv: list, out_dir: str, index: int):
    """In the fork: point stdout/stderr at files and run the script as its command would.
    Never returns: SystemExit or the script's own exception ends the process as it ends
    ``python script.py`` (traceback on stderr, status 1), with atexit handlers run."""
    for fd, suffix in ((1, "out"), (2, "err")):
        target = os.open(os.path.join(out_dir, f"{index}.{suffix}"),
                         os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if how != "ember run":
        sys.argv = list(argv)
        sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
        runpy.run_path(argv[0], run_name="__main__")
        raise SystemExit(0)
    from ember.cli import main

    raise SystemExit(main(["run", *argv]))


def _status(wait_status: int) -> int:
    if os.WIFSIGNALED(wait_status):
        return -os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)


def main():
    how, jobs_file, out_dir, parallel, time_limit = sys.argv[1:6]
    parallel, time_limit = int(parallel), float(time_limit)
    if how == "torch":
        import torch  # noqa: F401
        import torch._dynamo  # noqa: F401  (torch.optim imports it on first use)
    else:
        import ember  # noqa: F401
        import ember.cli  # noqa: F401
        assert how in ("ember", "ember run"), how
    gc.collect()
    gc.freeze()
    with open(jobs_file) as file:
        queue = list(enumerate(json.load(file)))
    running = {}  # pid -> (index, started)
    while queue or running:
        while queue and len(running) < parallel:
            index, argv = queue.pop(0)
            pid = os.fork()
            if pid == 0:
                _child(how, argv, out_dir, index)
            running[pid] = (index, time.monotonic())
        pid, wait_status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            now = time.monotonic()
            for late, (index, started) in running.items():
                if now - started > time_limit:
                    os.kill(late, signal.SIGKILL)
            time.sleep(0.02)
            continue
        index, _ = running.pop(pid)
        with open(os.path.join(out_dir, f"{index}.rc"), "w") as file:
            file.write(str(_status(wait_status)))


def run_forked(commands_by_mode: dict, cwd, out_dir, env: dict, time_limit: float,
               parallel: int = 2) -> dict:
    """Run each mode's command lines through one zygote per mode (all modes at once, up to
    ``parallel`` scripts each); returns {mode: [CompletedProcess per command line]}."""
    zygotes = {}
    for number, (how, commands) in enumerate(commands_by_mode.items()):
        folder = os.path.join(str(out_dir), str(number))
        os.makedirs(folder)
        jobs = os.path.join(folder, "jobs.json")
        with open(jobs, "w") as file:
            json.dump([[str(part) for part in command] for command in commands], file)
        zygotes[how] = (folder, subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), how, jobs, folder, str(parallel),
             str(time_limit)], cwd=cwd, env=env))
    runs = {}
    for how, (folder, zygote) in zygotes.items():
        assert zygote.wait() == 0, f"the {how} zygote failed"
        runs[how] = []
        for index, command in enumerate(commands_by_mode[how]):
            def read(suffix):
                with open(os.path.join(folder, f"{index}.{suffix}")) as file:
                    return file.read()
            runs[how].append(subprocess.CompletedProcess(
                command, int(read("rc")), read("out"), read("err")))
    return runs


if __name__ == "__main__":
    main()
