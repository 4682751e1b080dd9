"""The bench workloads on a GPU: ember-cuda against torch-cuda, one table.

    PYTHONPATH=src python3 scripts/gpu_bench.py [--device cuda] [--repeat 20]

The workloads are bench/'s own (``setup(lib, device) -> step``), so the GPU rows time the
same code as the CPU rows. Each step is followed by the library's synchronize, so a row
is the wall time of one whole step on the device (CuPy and PyTorch both launch
asynchronously); ember's and torch's steps are timed in turn, one of each per round.
``--torch-device cpu`` keeps torch on the host (used by the tests on the CuPy double,
where torch has no GPU).
"""

from __future__ import annotations

import argparse
import os
import statistics
import traceback
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from bench_cnn import lenet_train_step  # noqa: E402
from bench_mlp import mlp_train_step  # noqa: E402
from bench_seq import lstm_lm_step, transformer_encoder_step  # noqa: E402

WORKLOADS = [
    ("MLP 784-512-256-10 train step, b128", mlp_train_step),
    ("LeNet-5 train step, b64, Adam", lenet_train_step),
    ("LSTM word LM step (2x200, 35x20)", lstm_lm_step),
    ("TransformerEncoder step (2x128, 64x32)", transformer_encoder_step),
]


def _synchronizer(lib, device):
    if device.startswith("cuda"):
        return lib.cuda.synchronize
    return lambda: None


def _interleaved_medians(steps, repeat, warmup, errors):
    """Median ms per label of ``steps`` (label -> (step, sync)), their samples taken in
    turn, one step of each per round: a lent machine's host speed drifts between runs
    and within one (LeNet's ember median once moved 4 -> 7.6 ms from one run to the next
    while torch's moved 10%), so each ratio compares steps timed under the same
    conditions. A step that raises gets its error in ``errors`` and leaves the rounds."""
    samples = {label: [] for label in steps}
    live = dict(steps)

    def timed(label):
        step, sync = live[label]
        try:
            start = time.perf_counter()
            step()
            sync()
            return time.perf_counter() - start
        except Exception as exc:  # noqa: BLE001 - report it in the table, go on
            traceback.print_exc()
            errors[label] = f"{label}: {type(exc).__name__}: {str(exc)[:120]}"
            del live[label]
            return None

    for label in list(live):
        for _ in range(warmup):
            if label in live:
                timed(label)
    for _ in range(repeat):
        for label in list(live):
            elapsed = timed(label)
            if elapsed is not None:
                samples[label].append(elapsed)
    return {label: statistics.median(samples[label]) * 1e3 if label in live else None
            for label in steps}


def run(device="cuda", torch_device=None, repeat=20, warmup=5, workloads=None):
    """One row per workload: ember and torch medians (ms, their steps timed in turn) and
    their ratio; a workload that raises gets its error in place of the numbers, and the
    others still run."""
    import torch

    import ember

    torch_device = torch_device or device
    rows = []
    for name, setup in workloads or WORKLOADS:
        row, steps, errors = {"workload": name}, {}, {}
        for label, lib, dev in (("ember", ember, device), ("torch", torch, torch_device)):
            try:
                lib.manual_seed(0)
                steps[label] = (setup(lib, device=dev), _synchronizer(lib, dev))
            except Exception as exc:  # noqa: BLE001 - report it in the table, go on
                traceback.print_exc()  # the whole story for the log; the row keeps a line
                errors[label] = f"{label}: {type(exc).__name__}: {str(exc)[:120]}"
        medians = _interleaved_medians(steps, repeat, warmup, errors)
        for label in ("ember", "torch"):
            row[label] = medians.get(label)
        if errors:
            row["error"] = "; ".join(errors[label] for label in ("ember", "torch")
                                     if label in errors)
        rows.append(row)
    return rows


def format_table(rows, device_name=""):
    lines = [f"{'workload':<40} {'ember ms':>10} {'torch ms':>10} {'ratio':>7}"
             + (f"   ({device_name})" if device_name else "")]
    for row in rows:
        e, t = row.get("ember"), row.get("torch")
        cells = [f"{v:>10.3f}" if v is not None else f"{'-':>10}" for v in (e, t)]
        ratio = f"{e / t:>7.2f}" if e is not None and t else f"{'-':>7}"
        lines.append(f"{row['workload']:<40} {cells[0]} {cells[1]} {ratio}")
        if "error" in row:
            lines.append(f"    {row['error']}")
    return "\n".join(lines)


def profile(device="cuda", steps=10, top=25, workloads=None):
    """cProfile of ``steps`` ember steps per workload (after a warm-up step): the functions
    with the most time of their own, then the most time under them: where a GPU step's
    host time goes."""
    import cProfile
    import io
    import pstats

    import ember

    reports = []
    for name, setup in workloads or WORKLOADS:
        try:
            ember.manual_seed(0)
            step, sync = setup(ember, device=device), _synchronizer(ember, device)
            step()
            sync()
            host, wait = [], []
            for _ in range(steps):  # host time to issue a step, then the wait for the GPU
                start = time.perf_counter()
                step()
                issued = time.perf_counter()
                sync()
                host.append(issued - start)
                wait.append(time.perf_counter() - issued)
            split = (f"issue {statistics.median(host) * 1e3:.3f} ms, then wait "
                     f"{statistics.median(wait) * 1e3:.3f} ms for the device (medians)")
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(steps):
                step()
            sync()
            profiler.disable()
            text = io.StringIO()
            stats = pstats.Stats(profiler, stream=text)
            stats.sort_stats("tottime").print_stats(top)
            stats.sort_stats("cumulative").print_stats(top + 15)
            reports.append(f"== profile: {name} ({steps} steps): {split}\n{text.getvalue()}")
        except Exception:  # noqa: BLE001 - a profile is a diagnostic; report and go on
            reports.append(f"== profile: {name}: failed\n{traceback.format_exc()}")
    return "\n".join(reports)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--torch-device", default=None)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--profile", type=int, default=0, metavar="STEPS",
                        help="after the table, cProfile this many ember steps per workload")
    args = parser.parse_args(argv)
    import torch

    name = ""
    if args.device.startswith("cuda") and torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        torch.backends.cudnn.benchmark = False
    rows = run(args.device, args.torch_device, args.repeat, args.warmup)
    print(format_table(rows, name), flush=True)
    if args.profile:
        print(profile(args.device, args.profile))
    return rows


if __name__ == "__main__":
    main()
