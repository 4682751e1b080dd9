"""The oracle suite's core, re-run with ember's inputs on cuda (``pytest --device cuda``).

In CI the "GPU" is the CuPy double (tests/cuda_sim/fake_cupy.py), installed for the whole
child session by tests/conftest.py, so every op of these files runs through ember's CUDA
code paths: host arrays mixed into device ops, results landing on the host and
device-unaware kernels fail here as they would on a GPU. Each group is one child pytest
(the device is a session setting); pytest-xdist spreads the groups over its workers.
scripts/gpu_check.sh runs these files and more on a real GPU.
"""

import os
import subprocess
import sys

import oracle
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

OPS = ["pointwise", "unary", "reduce", "shape", "views", "index", "sort", "linalg", "matmul_forms"]
NN = ["activation", "linear", "loss", "conv", "pool", "norm", "padding", "resample",
      "embedding", "rnn", "attention", "transformer", "dropout", "utils"]
# The audits and the module-mechanics files (init, hooks, containers, pruning) run on cpu
# only here; scripts/gpu_check.sh runs all of tests/ops and tests/nn on a GPU.
# The families added since (issue 9): their tests build ember's tensors on the oracle's
# device too; about 45 s together on the fake.
NEW_FAMILIES = [
    "tests/ops/test_linalg_extra.py", "tests/ops/test_scientific.py", "tests/ops/test_combine.py",
    "tests/ops/test_complex.py", "tests/ops/test_complex_interop.py",
    "tests/ops/test_small_op_fast_paths.py", "tests/test_special.py",
    "tests/test_special_more.py", "tests/test_aliases.py", "tests/test_aliases_more.py",
    "tests/test_storage.py", "tests/test_memory_format.py", "tests/test_jit.py",
    "tests/autograd/test_forward_ad.py", "tests/autograd/test_grad_fn_names.py",
    "tests/autograd/test_gradcheck.py", "tests/func",
    "tests/fft", "tests/utils/test_tensorboard.py", "tests/utils/test_benchmark.py",
    "tests/optim/test_adafactor.py", "tests/nn/test_adaptive.py", "tests/nn/test_fusion.py",
    "tests/nn/test_nn_grad.py", "tests/serve/test_server.py::test_model_runner_on_the_oracle_device",
]
# Families whose tests build ember's tensors on the oracle's device since issue 9's last
# pass: quantized tensors and observers (the integer kernels refuse cuda, as PyTorch's),
# COO tensors, Tensor basics, views. Measured on the double: 12 s of CPU in one child
# (22-44 s wall on a 2-core machine at load 10). tests/serve and tests/quantization/
# test_dynamic.py run on a GPU through scripts/gpu_check.sh only.
HOST_FAMILIES = [
    "tests/quantization/test_qtensor.py", "tests/quantization/test_static.py", "tests/sparse",
    "tests/test_tensor.py", "tests/autograd/test_view_history.py",
]
SLICE = {
    "ops": [f"tests/ops/test_{name}.py" for name in OPS],
    "nn": [f"tests/nn/test_{name}.py" for name in NN],
    "optim-amp": ["tests/optim/test_optimizers.py", "tests/amp"],
    "new-families": NEW_FAMILIES,
    "quantization-sparse-tensor": HOST_FAMILIES,
    "onnx": ["tests/onnx"],  # export from cuda models and inputs (~20 s)
    "distributions": ["tests/distributions"],  # ~15 s
}


@pytest.mark.parametrize("group", list(SLICE))
def test_oracle_slice_on_cuda(group):
    if oracle.DEVICE == "cuda":
        return  # this session already runs every oracle test on cuda
    env = {k: v for k, v in os.environ.items() if k != "EMBER_TEST_DEVICE"}
    command = [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider",
               "-q", "--device", "cuda", "-x", *SLICE[group]]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False,
                         timeout=600)
    assert run.returncode == 0, \
        f"{' '.join(command[3:])}:\n{run.stdout[-6000:]}{run.stderr[-2000:]}"
