#!/usr/bin/env bash
# One prepared check for a lent GPU machine (CuPy, PyTorch with CUDA, pytest, hypothesis
# already there; nothing is installed). Under 6 minutes on an H100, in three parts:
#   1. the oracle suite's core with ember's (and torch's) inputs on cuda: tests/cuda_sim
#      (real CuPy here), tests/test_devices.py, CI's fake-cuda SLICE (ops, nn, optimizer,
#      amp, the newer families, onnx, quantization/sparse/Tensor/views), tests/serve and
#      the dynamic quantization tests, then the rest of tests/ops and tests/nn
#      (`pytest --device cuda`, stopped by --time-budget);
#   2. the bench workloads (MLP, LeNet, LSTM, Transformer steps) on ember-cuda against
#      torch-cuda, one table (scripts/gpu_bench.py);
#   3. a summary that prints whatever happened above.
#   bash scripts/gpu_check.sh          (TEST_BUDGET=seconds, BENCH_REPEAT=n to change;
#                                       EMBER_TEST_TORCH_DEVICE=cpu keeps torch's side of
#                                       the oracle on the host)
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH=src PYTHONUNBUFFERED=1
LOG=${GPU_CHECK_LOG:-$(mktemp -d)}
mkdir -p "$LOG"
TEST_BUDGET=${TEST_BUDGET:-180}
BENCH_REPEAT=${BENCH_REPEAT:-20}
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

echo "== 1. oracle tests on cuda (budget ${TEST_BUDGET} s) =="
# one test that hangs must not eat the lease: pytest-timeout, where installed
PER_TEST=$(python3 -c "import pytest_timeout" 2>/dev/null && echo "--timeout=60")
# CI's fake-cuda slice first (tests/cuda_sim/test_oracle_on_cuda.py), then the rest of
# tests/ops and tests/nn (audits, module mechanics) while the budget lasts
SLICE=$(python3 -c "
import sys; sys.path[:0] = ['tests', 'tests/cuda_sim']
from test_oracle_on_cuda import SLICE
print(' '.join(path for paths in SLICE.values() for path in paths))")
REST=$(ls tests/ops/test_*.py tests/nn/test_*.py | grep -v -x -F -f <(tr ' ' '\n' <<< "$SLICE"))
# device-aware files outside CI's slice (too slow for it on the double: HTTP server,
# subprocesses); the quantized integer kernels are host-only there, as PyTorch's
EXTRA="tests/serve tests/quantization/test_dynamic.py"
timeout -k 10 $((TEST_BUDGET + 60)) python3 -m pytest -p no:cacheprovider -p no:xdist \
    --device cuda --time-budget "$TEST_BUDGET" --continue-on-collection-errors -rfE $PER_TEST \
    tests/cuda_sim tests/test_devices.py $SLICE $EXTRA $REST > "$LOG/tests.txt" 2>&1
TESTS_RC=$?
grep -E "^(FAILED|ERROR) " "$LOG/tests.txt" | cut -c1-220 | head -n 60
tail -n 1 "$LOG/tests.txt"

echo "== 2. bench: ember-cuda vs torch-cuda =="
timeout -k 10 120 python3 scripts/gpu_bench.py --device cuda --repeat "$BENCH_REPEAT" \
    > "$LOG/bench.txt" 2>&1
BENCH_RC=$?
cat "$LOG/bench.txt" | tail -n 20

echo "== summary ($((SECONDS - START)) s) =="
head -n 1 "$LOG/env.txt"
echo "tests (exit $TESTS_RC): $(grep -E '(passed|failed|error).* in [0-9.]+s' "$LOG/tests.txt" \
    | tail -n 1) $(grep -E '^!+ Interrupted' "$LOG/tests.txt" | tail -n 1)"
echo "  failures by file:"
grep -E "^(FAILED|ERROR) " "$LOG/tests.txt" | sed -E 's/^(FAILED|ERROR) ([^:]+)::.*/\2/' \
    | sort | uniq -c | sort -rn | head -n 15
echo "bench (exit $BENCH_RC):"
grep -E "ratio| step" "$LOG/bench.txt" | head -n 12
echo "logs: $LOG"
