"""Every learner example runs, as written and through `ember run` with `import torch`.

Each example is started as a subprocess (as a learner would), once as the file itself
and once as its PyTorch twin: the same text with ``import ember as torch`` (and the other
ember imports) rewritten to PyTorch's names, run by ``python -m ember run``. The twin must
print exactly what the file prints. The examples whose numbers do not depend on random
draws also run under real PyTorch, and print the same text there.

The runs go two at a time per kind from one module fixture, each in a process forked from
an interpreter that has imported the library once (tests/_zygote.py).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from _zygote import run_forked

import ember

# One xdist worker runs this whole module, so the module fixture's subprocesses run once
# (the suite runs with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("examples")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "examples"

SAME, RUNS = "same output", "runs"
# (file, imports torch-style names, what its twin does under real PyTorch: prints the same
# text, or runs (its numbers come from random draws, whose streams differ), or None: not
# tried (it needs torchvision or ember.metrics, or costs time the others already cover))
EXAMPLES = [
    ("01_tensors.py", True, SAME),
    ("02_tensor_manipulation.py", True, SAME),
    ("03_autograd.py", True, SAME),
    ("04_first_module.py", True, RUNS),
    ("05_training_loop.py", True, None),
    ("06_datasets_and_loaders.py", True, None),    # torchvision is not installed with torch
    ("07_evaluation.py", True, None),              # ember.metrics has no torch counterpart
    ("08_gpu.py", True, None),
    ("09_save_load_resume.py", True, RUNS),
    ("checkpointing.py", True, RUNS),
    ("polynomial_1_numpy.py", False, None),
    ("polynomial_2_tensors.py", True, SAME),
    ("polynomial_3_autograd.py", True, SAME),
    ("polynomial_4_custom_function.py", True, None),
    ("polynomial_5_nn.py", True, None),
    ("polynomial_6_optim.py", True, None),
    ("polynomial_7_custom_module.py", True, None),
    ("polynomial_8_dynamic_control_flow.py", True, None),
    ("10_tensorboard.py", True, RUNS),
    ("11_onnx_export.py", True, None),             # torch 2.13 exports through dynamo/onnxscript
    ("12_serving.py", True, None),                 # ember.serve has no torch counterpart
    ("13_function_transforms.py", True, RUNS),
    ("14_detection_data.py", True, None),          # torchvision is not installed with torch
]
# Arguments an example runs with here: checkpointing.py checks its own resume (and
# writes only to its own temporary folder, so two copies can run side by side).
EXAMPLE_ARGS = {"checkpointing.py": ["--verify", "--epochs", "4"]}
TIME_LIMIT = 120  # seconds per example: "runs in seconds", with room for a loaded machine

# What a PyTorch user would write instead of ember's names.
_REWRITES = [
    (r"^import ember as torch\b.*$", "import torch"),
    (r"^from ember import nn\b.*$", "from torch import nn"),
    (r"^from ember\.utils\.data import", "from torch.utils.data import"),
    (r"^from ember\.vision import", "from torchvision import"),
    (r"^from ember\.vision\.", "from torchvision."),
    (r"^from ember\.func import", "from torch.func import"),
    (r"^from ember\.utils\.tensorboard import", "from torch.utils.tensorboard import"),
]


def torch_twin(source: str) -> str:
    """The example's text with ember imports spelled as PyTorch's."""
    for pattern, replacement in _REWRITES:
        source = re.sub(pattern, replacement, source, flags=re.MULTILINE)
    return source


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Run every example, every twin through `ember run`, and the deterministic twins under
    real PyTorch; keyed by (file, how). Each run is its own process, forked by
    tests/_zygote.py from an interpreter that imported the library once."""
    workdir = tmp_path_factory.mktemp("examples")
    keys = {"python": [], "ember run": [], "torch": []}
    for name, torch_style, under_torch in EXAMPLES:
        keys["python"].append(name)
        if torch_style:
            (workdir / name).write_text(torch_twin((EXAMPLES_DIR / name).read_text()))
            keys["ember run"].append(name)
            if under_torch is not None:
                keys["torch"].append(name)
    modes = {"python": "ember", "ember run": "ember run", "torch": "torch"}
    commands = {modes[how]: [[str((EXAMPLES_DIR if how == "python" else workdir) / name),
                              *EXAMPLE_ARGS.get(name, [])] for name in names]
                for how, names in keys.items()}
    env = dict(os.environ, PYTHONHASHSEED="0", TQDM_DISABLE="1")
    runs = run_forked(commands, workdir, tmp_path_factory.mktemp("runs"), env, TIME_LIMIT)
    return {(name, how): run for how, names in keys.items()
            for name, run in zip(names, runs[modes[how]])}


def _ok(result):
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


def _without_timings(output: str) -> str:
    """Wall-clock seconds (08_gpu.py prints one) differ between any two runs."""
    return re.sub(r"\d+\.\d+ s\b", "<seconds> s", output)


def test_every_example_is_listed():
    mine = {name for name, _, _ in EXAMPLES}
    expected = {f"0{i}_" for i in range(1, 10)}
    assert {name[:3] for name in mine if name[0] == "0"} == expected
    numbered = sorted(path.name for path in EXAMPLES_DIR.glob("[0-9][0-9]_*.py"))
    assert set(numbered) <= mine, set(numbered) - mine
    assert sum(name.startswith("polynomial_") for name in mine) == 8
    for name in mine:
        assert (EXAMPLES_DIR / name).is_file(), name


@pytest.mark.parametrize("name", [name for name, _, _ in EXAMPLES])
def test_example_runs(results, name):
    output = _ok(results[(name, "python")])
    assert output.strip(), f"{name} printed nothing"


@pytest.mark.parametrize("name", [name for name, torch_style, _ in EXAMPLES if torch_style])
def test_example_runs_unchanged_through_ember_run(results, name):
    twin_source = torch_twin((EXAMPLES_DIR / name).read_text())
    assert "import torch" in twin_source and "import ember as torch" not in twin_source
    through_run = _ok(results[(name, "ember run")])
    assert _without_timings(through_run) == _without_timings(_ok(results[(name, "python")]))


@pytest.mark.parametrize("name", [name for name, _, how in EXAMPLES if how == SAME])
def test_example_prints_the_same_under_real_pytorch(results, name):
    assert _ok(results[(name, "ember run")]) == _ok(results[(name, "torch")])


@pytest.mark.parametrize("name", [name for name, _, how in EXAMPLES if how == RUNS])
def test_example_runs_under_real_pytorch(results, name):
    lines = _ok(results[(name, "torch")]).splitlines()
    assert len(lines) == len(_ok(results[(name, "ember run")]).splitlines())
    if name in ("09_save_load_resume.py", "checkpointing.py"):
        assert lines[-2 if name.startswith("09") else -1].endswith(": True")


def test_checks_the_examples_make_themselves(results):
    """The numbers the examples promise in their own text."""
    assert "bit-identical to the uninterrupted run: True" in _ok(
        results[("09_save_load_resume.py", "python")])
    assert "final training accuracy: 100.0%" in _ok(results[("05_training_loop.py", "python")])
    assert "gradcheck: True" in _ok(results[("polynomial_4_custom_function.py", "python")])
    device_line = _ok(results[("08_gpu.py", "python")]).splitlines()[0]
    expected = "Using the GPU" if ember.cuda.is_available() else "running on the CPU instead"
    assert expected in device_line
    accuracy = re.search(r"^accuracy:\s+([\d.]+)", _ok(results[("07_evaluation.py", "python")]),
                         re.MULTILINE)
    assert accuracy and float(accuracy.group(1)) > 0.85
    detection = _ok(results[("14_detection_data.py", "python")])
    assert "box 0 covers lit pixels: True" in detection and "[0, 2]" in detection
    iou = re.search(r"mean IoU with the true boxes: ([\d.]+)", detection)
    assert iou and float(iou.group(1)) > 0.8
    fit = _ok(results[("polynomial_1_numpy.py", "python")]).splitlines()[-1]
    assert fit.startswith("Result: y = ") and " x^3" in fit
    for how in ("python", "ember run"):
        assert "bit-identical to the uninterrupted one: True" in _ok(
            results[("checkpointing.py", how)])
