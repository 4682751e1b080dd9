"""The `ember` command: info, run (torch/torchvision import alias) and demo."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import ember
from ember import cli

BIN = Path(sys.executable).parent


def _ember(*args, cwd, timeout=120):
    env = dict(os.environ, TQDM_DISABLE="1")
    return subprocess.run([sys.executable, "-m", "ember", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env)


# --- names ------------------------------------------------------------------------------

@pytest.mark.parametrize("torch_name, ember_name", [
    ("torch", "ember"),
    ("torch.nn", "ember.nn"),
    ("torch.nn.functional", "ember.nn.functional"),
    ("torch.utils.data", "ember.utils.data"),
    ("torchvision", "ember.vision"),
    ("torchvision.transforms", "ember.vision.transforms"),
    ("torchvision.datasets.mnist", "ember.vision.datasets.mnist"),
    ("torchaudio", None),
    ("torch_geometric", None),
    ("numpy", None),
])
def test_alias_names(torch_name, ember_name):
    assert cli._ember_name(torch_name) == ember_name
    if ember_name is not None:
        assert cli._torch_name(ember_name) == torch_name
    spec = cli.TorchAliasFinder().find_spec(torch_name)
    assert (spec is None) == (ember_name is None)


# --- ember info ------------------------------------------------------------------------------

def test_info(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"^ember:\s+{re.escape(ember.__version__)} ", out, re.MULTILINE)
    assert f"Python:      {platform.python_version()}" in out
    assert f"NumPy:       {np.__version__}" in out
    assert re.search(r"^BLAS:\s+\S+", out, re.MULTILINE)
    assert re.search(r"^Threads:\s+\d+ usable CPU cores", out, re.MULTILINE)
    assert "Devices:     cpu" in out and "cuda" in out
    for extra, distribution in [("bf16", "ml_dtypes"), ("plot", "matplotlib"),
                                ("progress", "tqdm"), ("data", "scikit-learn")]:
        assert re.search(rf"^  {extra}\s+{distribution} \d", out, re.MULTILINE), extra
    assert re.search(r"^  cuda\s+(not installed|cupy)", out, re.MULTILINE)


def test_info_blas_without_threadpoolctl(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import now raises ImportError
    (line,) = cli._blas_lines()
    assert line.startswith("BLAS:") and "NumPy's build configuration" in line


# --- command line ------------------------------------------------------------------------------

def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "{demo,run,info,serve}" in capsys.readouterr().out


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"ember {ember.__version__}"


def test_demo_rejects_zero_epochs():
    with pytest.raises(SystemExit, match="--epochs must be at least 1"):
        cli.main(["demo", "--epochs", "0"])


def test_run_missing_script(tmp_path, capsys):
    assert cli.main(["run", str(tmp_path / "absent.py")]) == 2
    assert "can't open file" in capsys.readouterr().err


# --- ember run ------------------------------------------------------------------------------------

PROBE = textwrap.dedent('''
    import sys
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torchvision
    from torch.utils.data import DataLoader
    from torchvision import transforms
    import ember

    print("argv", sys.argv[1:])
    print("main", __name__)
    print("same", torch is ember, nn is ember.nn, F is ember.nn.functional,
          torchvision is ember.vision, transforms is ember.vision.transforms,
          DataLoader is ember.utils.data.DataLoader)
    print("spec", torch.__spec__.name, nn.__spec__.name)
    print("value", F.relu(torch.tensor([-1.0, 2.0])).tolist())
    print("hasattr", hasattr(torch, "definitely_not_a_torch_name"), hasattr(nn, "Linear"))
    for attempt in ("torch.utils.cpp_extension.load_inline", "torch.not_a_function", "torch.nn.NotALayer",
                    "torchvision.not_a_thing"):
        root, *path = attempt.split(".")
        obj = {"torch": torch, "torchvision": torchvision}[root]
        try:
            for part in path:
                obj = getattr(obj, part)
        except AttributeError as error:
            print("attr", error)
    for statement in ("import torch.utils.cpp_extension", "import torchvision.nope", "import torch.nn.nope"):
        try:
            exec(statement)
        except ModuleNotFoundError as error:
            print("import", error)
    try:
        import torchaudio
    except ModuleNotFoundError as error:
        print("other", error)
    ''')


def test_run_aliases_torch_and_torchvision(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    result = _ember("run", str(script), "--lr", "0.1", "pos", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "argv ['--lr', '0.1', 'pos']"
    assert lines[1] == "main __main__"
    assert lines[2] == "same True True True True True True"
    assert lines[3] == "spec ember ember.nn"       # ember's modules keep their own spec
    assert lines[4] == "value [0.0, 2.0]"
    assert lines[5] == "hasattr False True"
    assert lines[6:10] == [
        "attr ember does not implement torch.utils.cpp_extension yet",
        "attr ember does not implement torch.not_a_function yet",
        "attr ember does not implement torch.nn.NotALayer yet",
        "attr ember does not implement torchvision.not_a_thing yet",
    ]
    assert lines[10:13] == [
        "import ember does not implement torch.utils.cpp_extension yet",
        "import ember does not implement torchvision.nope yet",
        "import ember does not implement torch.nn.nope yet",
    ]
    assert lines[13] == "other No module named 'torchaudio'"


@pytest.mark.parametrize("body, status, message", [
    ("import torch\ntorch.utils.cpp_extension.load_inline('ext', '')\n", 1,
     "AttributeError: ember does not implement torch.utils.cpp_extension yet"),
    ("from torch.nn import FancyLayer\n", 1, "ember does not implement torch.nn.FancyLayer yet"),
    ("import sys\nsys.exit(3)\n", 3, None),
])
def test_run_failures_name_the_pytorch_api(tmp_path, body, status, message):
    script = tmp_path / "script.py"
    script.write_text(body)
    result = subprocess.run([str(BIN / "ember"), "run", str(script)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == status
    if message is not None:
        assert result.stderr.rstrip().endswith(message), result.stderr


def test_run_sees_modules_next_to_the_script(tmp_path):
    (tmp_path / "helper.py").write_text("import torch\nVALUE = torch.ones(2).sum().item()\n")
    (tmp_path / "main.py").write_text("from helper import VALUE\nprint(VALUE)\n")
    result = _ember("run", "main.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2.0"


def test_run_gives_spawned_children_the_alias(tmp_path):
    """mp.set_start_method('spawn') children re-import the script: torch is ember there."""
    (tmp_path / "spawner.py").write_text(
        "import sys\n"
        "import torch\n"
        "import torch.multiprocessing as mp\n\n\n"
        "def work(rank, queue, x):\n"
        "    queue.put((rank, (x * (rank + 1)).sum().item(), type(x).__module__.split('.')[0],\n"
        "               sys.modules['torch'].__name__))\n\n\n"
        "if __name__ == '__main__':\n"
        "    mp.set_start_method('spawn', force=True)\n"
        "    queue = mp.SimpleQueue()\n"
        "    mp.spawn(work, args=(queue, torch.ones(3)), nprocs=2)\n"
        "    print(sorted(queue.get() for _ in range(2)))\n")
    result = _ember("run", "spawner.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[(0, 3.0, 'ember', 'ember'), (1, 6.0, 'ember', 'ember')]"


# --- ember demo ---------------------------------------------------------------------------------

def test_demo_end_to_end(tmp_path):
    """The full default demo: 12 epochs on the digits, at least 97% on the test writers."""
    out = tmp_path / "run"
    result = _ember("demo", "--out", str(out), cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    text = result.stdout
    epochs = re.findall(r"^epoch\s+(\d+)/12\s+train loss ([\d.]+)\s+train acc\s+([\d.]+)%\s+"
                        r"test loss ([\d.]+)\s+test acc\s+([\d.]+)%$", text, re.MULTILINE)
    assert [int(e[0]) for e in epochs] == list(range(1, 13))
    accuracy = float(re.search(r"^Test accuracy: ([\d.]+)% \((\d+)/360 digits\)", text,
                               re.MULTILINE).group(1))
    assert accuracy >= 97.0, text
    assert "Total params: 38,378" in text                       # the model summary
    assert re.search(r"precision\s+recall\s+f1-score\s+support", text)
    assert "Confusion matrix (rows: true digit, columns: predicted digit)" in text
    for name in ("checkpoint.pt", "loss_curve.png", "confusion_matrix.png"):
        path = out / name
        assert path.is_file() and str(path) in text, name
    for name in ("loss_curve.png", "confusion_matrix.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    checkpoint = torch.load(out / "checkpoint.pt", weights_only=True)   # PyTorch reads it
    assert checkpoint["epoch"] == 12 and set(checkpoint) >= {"model", "optimizer", "scheduler"}
    assert checkpoint["test_accuracy"] == pytest.approx(accuracy / 100, abs=1e-4)
    model = cli._digits_cnn()
    model.load_state_dict(ember.load(out / "checkpoint.pt")["model"])
