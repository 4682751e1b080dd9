"""The yardstick programs that choose cuda when it is there, on a GPU: each under PyTorch
(torch on cuda) and through `ember run` (ember on cuda), outputs compared with the
yardstick's own rule (tests/yardstick/test_yardstick.py). One line per program.

    PYTHONPATH=src python3 scripts/gpu_yardstick.py [--jobs 4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "tests" / "yardstick"
sys.path[:0] = [str(ROOT / "tests"), str(HERE)]


def cuda_programs():
    return sorted(path.name for path in HERE.glob("*.py")
                  if not path.name.startswith("test_")
                  and "cuda.is_available()" in path.read_text())


def _run(command, limit):
    # the programs run in their own folder: ember's src on the path by its full name
    path = os.pathsep.join([str(ROOT / "src")] + [p for p in os.environ.get(
        "PYTHONPATH", "").split(os.pathsep) if p and p != "src"])
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1", TQDM_DISABLE="1",
               PYTHONPATH=path)
    try:
        return subprocess.run(command, cwd=HERE, capture_output=True, text=True,
                              timeout=limit, env=env)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(command, -9, "", f"timed out after {limit} s")


def compare(name, limit):
    """(name, verdict, detail) for one program."""
    from test_yardstick import assert_same_output

    theirs = _run([sys.executable, name], limit)
    ours = _run([sys.executable, "-m", "ember", "run", name], limit)
    if theirs.returncode != 0:
        return name, "torch failed", theirs.stderr.strip().splitlines()[-1:]
    if ours.returncode != 0:
        return name, "EMBER FAILED", ours.stderr.strip().splitlines()[-3:]
    try:
        assert_same_output(ours.stdout, theirs.stdout)
    except AssertionError as exc:
        return name, "DIFFERS", str(exc).splitlines()[:6]
    return name, "same", []


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--limit", type=int, default=240, help="seconds per run")
    args = parser.parse_args(argv)
    names = cuda_programs()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(lambda name: compare(name, args.limit), names))
    for name, verdict, detail in rows:
        print(f"{name:<34} {verdict}")
        for line in detail:
            print(f"    {line[:200]}")
    ran = [v for _, v, _ in rows if v != "torch failed"]  # programs not written for cuda
    print(f"yardstick on cuda: {ran.count('same')}/{len(ran)} of the programs torch runs "
          f"there print the same ({len(rows) - len(ran)} fail under torch itself)")
    return rows


if __name__ == "__main__":
    main()
