#!/usr/bin/env bash
# One prepared check for a lent GPU machine (CuPy, PyTorch with CUDA, pytest, hypothesis
# already there; nothing is installed). About 6 minutes on an H100/H200, in four parts:
#   1. the bench workloads (MLP, LeNet, LSTM, Transformer steps) on ember-cuda against
#      torch-cuda, one table, then a cProfile of each ember step (scripts/gpu_bench.py),
#      first, while the machine is quiet;
#   2. the oracle suite's core with ember's (and torch's) inputs on cuda: tests/cuda_sim
#      (real CuPy here), tests/test_devices.py, CI's fake-cuda SLICE (ops, nn, optimizer,
#      amp, the newer families, onnx, quantization/sparse/Tensor/views), tests/serve and
#      the dynamic quantization tests, then the rest of tests/ops and tests/nn
#      (`pytest --device cuda`), split over SHARDS pytest processes that share the one
#      GPU, each stopped by --time-budget;
#      beside them, the yardstick programs that pick cuda when it is there, under torch
#      and through `ember run` (scripts/gpu_yardstick.py);
#   3. a summary: counts, failures by file, the first failures;
#   4. the shard logs packed into $LOG/tests_logs.tar.gz (a lent machine returns few files).
#   bash scripts/gpu_check.sh    (TEST_BUDGET=seconds per shard, SHARDS=n, BENCH_REPEAT=n,
#                                 GPU_CHECK_LOG=dir; EMBER_TEST_TORCH_DEVICE=cpu keeps
#                                 torch's side of the oracle on the host)
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
LOG=${GPU_CHECK_LOG:-$(mktemp -d)}
mkdir -p "$LOG/shards"
TEST_BUDGET=${TEST_BUDGET:-200}
BENCH_REPEAT=${BENCH_REPEAT:-20}
CORES=$(nproc)
SHARDS=${SHARDS:-$(( CORES > 14 ? 12 : (CORES > 2 ? CORES - 2 : 1) ))}
START=$SECONDS

python3 - <<'PY' 2>&1 | tee "$LOG/env.txt"
import cupy, torch
print("cupy", cupy.__version__, "| torch", torch.__version__, "| cuda available to torch:",
      torch.cuda.is_available(), "| device",
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")
import sys
sys.path.insert(0, "tests/cuda_sim")
import conftest
print("tests/cuda_sim runs on", "real CuPy" if conftest.REAL_GPU else "the NumPy fake (no GPU seen)")
PY

timeout -k 5 60 python3 scripts/gpu_probe.py >> "$LOG/env.txt" 2>&1

echo "== 1. bench: ember-cuda vs torch-cuda =="
timeout -k 10 150 python3 scripts/gpu_bench.py --device cuda --repeat "$BENCH_REPEAT" \
    --profile 10 > "$LOG/bench.txt" 2> "$LOG/bench_errors.txt"
BENCH_RC=$?
sed -n '1,/^== profile/p' "$LOG/bench.txt" | head -n 40

echo "== 2. oracle tests on cuda ($SHARDS shards, budget ${TEST_BUDGET} s each) =="
# one test that hangs must not eat the lease: pytest-timeout, where installed
PER_TEST=$(python3 -c "import pytest_timeout" 2>/dev/null && echo "--timeout=60")
SLICE=$(python3 -c "
import sys; sys.path[:0] = ['tests', 'tests/cuda_sim']
from test_oracle_on_cuda import SLICE
print(' '.join(path for paths in SLICE.values() for path in paths))")
REST=$(ls tests/ops/test_*.py tests/nn/test_*.py | grep -v -x -F -f <(tr ' ' '\n' <<< "$SLICE"))
# device-aware files outside CI's slice (too slow for it on the double: HTTP server,
# subprocesses); the quantized integer kernels are host-only there, as PyTorch's
EXTRA="tests/serve tests/quantization/test_dynamic.py"
# the biggest files first, each to the least loaded shard (bytes of test code stand in
# for time)
python3 - "$SHARDS" "$LOG/shards" tests/cuda_sim tests/test_devices.py $SLICE $EXTRA $REST <<'PY'
import os, sys
shards, folder, paths = int(sys.argv[1]), sys.argv[2], list(dict.fromkeys(sys.argv[3:]))
def size(path):
    path = path.split("::")[0]
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path)
                   for f in fs if f.startswith("test_") and f.endswith(".py"))
    return os.path.getsize(path)
loads = [[0, []] for _ in range(shards)]
for path in sorted(paths, key=size, reverse=True):
    lightest = min(loads, key=lambda load: load[0])
    lightest[0] += size(path)
    lightest[1].append(path)
for index, (_, assigned) in enumerate(loads):
    with open(os.path.join(folder, f"files_{index}.txt"), "w") as out:
        out.write("\n".join(assigned) + "\n")
PY
# beside the shards: the yardstick programs that pick cuda, under torch and `ember run`
timeout -k 10 $((TEST_BUDGET + 60)) python3 scripts/gpu_yardstick.py --jobs 3 \
    --limit "$TEST_BUDGET" > "$LOG/yardstick.txt" 2>&1 &
YARDSTICK_PID=$!
PIDS=()
for ((i = 0; i < SHARDS; i++)); do
    timeout -k 10 $((TEST_BUDGET + 60)) python3 -m pytest -p no:cacheprovider -p no:xdist \
        --device cuda --time-budget "$TEST_BUDGET" --continue-on-collection-errors -rfE \
        --tb=short $PER_TEST $(cat "$LOG/shards/files_$i.txt") \
        > "$LOG/shards/tests_$i.txt" 2>&1 &
    PIDS+=($!)
done
TESTS_RC=0
for pid in "${PIDS[@]}"; do wait "$pid" || TESTS_RC=$?; done
wait "$YARDSTICK_PID"
cat "$LOG"/shards/tests_*.txt > "$LOG/tests.txt"

echo "== 3. summary ($((SECONDS - START)) s) =="
head -n 1 "$LOG/env.txt"
python3 - "$LOG/shards" <<'PY'
import glob, re, sys
totals, stopped = {}, 0
for path in sorted(glob.glob(sys.argv[1] + "/tests_*.txt")):
    text = open(path, errors="replace").read()
    lines = [l for l in text.splitlines() if re.search(r"(passed|failed|error).* in [0-9.]+s", l)]
    for count, what in re.findall(r"(\d+) (passed|failed|errors?|xfailed|skipped)",
                                  lines[-1] if lines else ""):
        what = "error" if what.startswith("error") else what
        totals[what] = totals.get(what, 0) + int(count)
    stopped += "--time-budget" in text or not lines
print("tests:", ", ".join(f"{n} {w}" for w, n in totals.items()),
      f"| shards stopped by the budget or the timeout: {stopped}")
PY
echo "  failures by file:"
grep -h -E "^(FAILED|ERROR) " "$LOG"/shards/tests_*.txt | sed -E 's/^(FAILED|ERROR) ([^:]+)::.*/\2/' \
    | sort | uniq -c | sort -rn | head -n 25
grep -h -E "^(FAILED|ERROR) " "$LOG"/shards/tests_*.txt | cut -c1-200 | head -n 40
cat "$LOG/yardstick.txt" | tail -n 20
echo "  kernels NVRTC refused (each falls back to its array path):"
grep -h -o "refused the CUDA kernel '[^']*'.*" "$LOG"/shards/tests_*.txt "$LOG/bench_errors.txt" \
    | cut -c1-300 | sort | uniq -c | head -n 20
echo "bench (exit $BENCH_RC):"
sed -n '1,/^== profile/p' "$LOG/bench.txt" | grep -v "^== profile" | head -n 12
tar -czf "$LOG/tests_logs.tar.gz" -C "$LOG" shards && rm -rf "$LOG/shards"
echo "logs: $LOG (tests_logs.tar.gz holds each shard's log)"
