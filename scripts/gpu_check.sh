#!/usr/bin/env bash
# One prepared check for a lent GPU machine (CuPy, PyTorch with CUDA, pytest already
# installed there; nothing is installed here). Runs ember's device-parametrised tests on
# cuda, then times an MLP training step on ember-cuda and torch-cuda, and prints a table.
#   bash scripts/gpu_check.sh
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH=src
python3 - <<'PY'
import cupy, torch
print("cupy", cupy.__version__, "| torch", torch.__version__, "| device",
      torch.cuda.get_device_name(0))
PY
# tests/cuda_sim uses the real CuPy here (its conftest installs the NumPy fake only when
# cupy cannot be imported or sees no GPU), so the CUDA paths CI checks on the fake run for real.
python3 - <<'PY'
import sys
sys.path.insert(0, "tests/cuda_sim")
import conftest
print("tests/cuda_sim runs on", "real CuPy" if conftest.REAL_GPU else "the NumPy fake (no GPU seen)")
PY
python3 -m pytest -q -p no:cacheprovider tests/test_devices.py tests/amp \
    tests/cuda_sim/test_cuda_sim.py 2>&1 | tail -n 25
python3 - <<'PY'
import statistics, time
import torch
import ember

def mlp_step(lib, device):
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(784, 512), lib.nn.ReLU(), lib.nn.Linear(512, 256),
                              lib.nn.ReLU(), lib.nn.Linear(256, 10)).to(device)
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = lib.randn(128, 784, device=device)
    y = lib.randint(0, 10, (128,), device=device)
    def step():
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step

def median_ms(step, sync, repeat=30):
    for _ in range(5):
        step()
    sync()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        sync()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3

e = median_ms(mlp_step(ember, "cuda"), ember.cuda.synchronize)
t = median_ms(mlp_step(torch, "cuda"), torch.cuda.synchronize)
print(f"{'workload':<32} {'ember ms':>10} {'torch ms':>10} {'ratio':>7}")
print(f"{'MLP 784-512-256-10 train step':<32} {e:>10.3f} {t:>10.3f} {e / t:>7.2f}")
PY
