"""scripts/gpu_check.sh's Python parts, here on the host and on the CuPy double: the bench
workloads take a device, run on cuda, and the table prints (a lent GPU has no time for
a script that breaks halfway)."""

import os
import subprocess
import sys

import ember

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import gpu_bench  # noqa: E402


def test_every_gpu_bench_workload_runs():
    """ember on cuda, torch on cpu (it has no GPU here): both sides of every row."""
    rows = gpu_bench.run("cuda", "cpu", repeat=1, warmup=1)
    assert [row["workload"] for row in rows] == [name for name, _ in gpu_bench.WORKLOADS]
    for row in rows:
        assert "error" not in row, row["error"]
        assert row["ember"] > 0 and row["torch"] > 0
    table = gpu_bench.format_table(rows, "Fake GPU")
    assert "(Fake GPU)" in table and table.count("\n") == len(rows)


def test_workloads_put_model_and_data_on_the_device():
    seen = []
    real_synchronize = ember.cuda.synchronize

    def step_devices(lib, device):
        model = lib.nn.Linear(2, 2).to(device)
        seen.append(next(model.parameters()).device)
        return lambda: None

    gpu_bench.run("cuda", "cpu", repeat=1, warmup=0,
                  workloads=[("probe", step_devices)])
    assert seen[0].type == "cuda" and seen[1].type == "cpu"
    assert ember.cuda.synchronize is real_synchronize
    step = gpu_bench.mlp_train_step(ember, device="cuda")
    step()
    row = gpu_bench.run("cuda", "cpu", 1, 0, [("broken", lambda lib, device: 1 / 0)])[0]
    assert row["ember"] is None and "ZeroDivisionError" in row["error"]
    assert "broken" in gpu_bench.format_table([row])


def test_gpu_check_script_is_valid_bash():
    script = os.path.join(ROOT, "scripts", "gpu_check.sh")
    assert subprocess.run(["bash", "-n", script]).returncode == 0


def test_gpu_bench_profile_names_each_workload():
    probe = [("probe", lambda lib, device: lambda: lib.ones(3, device=device).sum())]
    report = gpu_bench.profile("cuda", steps=2, workloads=probe)
    assert report.startswith("== profile: probe (2 steps)") and "tottime" in report
    broken = gpu_bench.profile("cuda", steps=1, workloads=[("broken", lambda lib, device: 1 / 0)])
    assert "broken: failed" in broken and "ZeroDivisionError" in broken


def test_gpu_yardstick_finds_the_programs_that_pick_cuda():
    import gpu_yardstick

    names = gpu_yardstick.cuda_programs()
    assert "dcgan.py" in names and "amp_and_compile.py" in names
    assert all(not name.startswith("test_") for name in names)


def test_gpu_launches_counts_computing_ops_not_views():
    import gpu_launches

    def probe(lib, device):
        x = lib.ones(4, 3, device=device)

        def step():
            x.add_(1)  # one launch
            x.t().reshape(3, 4)  # views: none
            (x * 2).sum()  # two
        return step

    counts = gpu_launches.count(steps=2, workloads=[("probe", probe)])["probe"]
    assert sum(counts.values()) == 3 and counts["ufunc"] == 3
    sites = gpu_launches.count(steps=1, workloads=[("probe", probe)], where=True)["probe"]
    assert sum(sites.values()) == 3 and all(":" in site for site in sites)
