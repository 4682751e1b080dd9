"""The ``ember`` command: ``ember demo``, ``ember run script.py [args]``, ``ember info``.

``python -m ember ...`` is the same command. ``demo`` trains a small CNN on real
handwritten digits (offline) and shows the whole workflow end to end; ``run`` executes
an unmodified PyTorch script on ember; ``info`` says what ember runs on (versions, BLAS,
threads, devices, extras), the first thing to paste into a bug report.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import os
import platform
import re
import runpy
import sys
import time
import types
from pathlib import Path

__all__ = ["main", "TorchAliasFinder", "install_torch_alias"]

# ---------------------------------------------------------------------------------------
# `ember run`: torch / torchvision resolved to ember for one process
# ---------------------------------------------------------------------------------------

# Top-level torch names to ember's packages; the longest prefix wins.
_ALIASES = (("torchvision", "ember.vision"), ("torch", "ember"))

# PyTorch submodules a script may reach by attribute (``torch.fft.rfft2``). When ember
# lacks one, attribute access returns a placeholder whose own attributes raise with the
# full PyTorch name, so the message says ``torch.fft.rfft2`` rather than ``torch.fft``.
_TORCH_SUBMODULES = frozenset({
    "ao", "amp", "autograd", "backends", "compiler", "cpu", "cuda", "distributed",
    "distributions", "export", "fft", "func", "futures", "fx", "hub", "jit", "library",
    "linalg", "masked", "monitor", "mps", "multiprocessing", "nested", "nn", "onnx", "optim",
    "overrides", "package", "profiler", "quantization", "signal", "sparse", "special",
    "testing", "types", "utils", "xpu",
})


def _ember_name(torch_name: str) -> str | None:
    for torch_prefix, ember_prefix in _ALIASES:
        if torch_name == torch_prefix or torch_name.startswith(torch_prefix + "."):
            return ember_prefix + torch_name[len(torch_prefix):]
    return None


def _torch_name(ember_name: str) -> str:
    for torch_prefix, ember_prefix in _ALIASES:  # ember.vision before ember
        if ember_name == ember_prefix or ember_name.startswith(ember_prefix + "."):
            return torch_prefix + ember_name[len(ember_prefix):]
    return ember_name


def _not_implemented(torch_name: str) -> str:
    return f"ember does not implement {torch_name} yet"


class _MissingModule(types.ModuleType):
    """Stands for a PyTorch submodule ember does not have: touching anything in it
    raises AttributeError naming the PyTorch attribute."""

    def __init__(self, torch_name: str):
        super().__init__(torch_name)
        self.__torch_name = torch_name

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(_not_implemented(f"{self.__torch_name}.{name}"))

    def __repr__(self):
        return f"<module {self.__torch_name!r} (not implemented by ember)>"


def _install_fallback(module: types.ModuleType) -> None:
    """Give an ember module a module-level ``__getattr__`` (PEP 562) that imports a
    missing submodule when there is one and otherwise raises AttributeError with the
    PyTorch name. An existing module ``__getattr__`` is tried first."""
    if getattr(module, "__ember_alias_fallback__", False):
        return
    ember_name = module.__name__
    previous = module.__dict__.get("__getattr__")

    def __getattr__(name: str):
        if previous is not None:
            try:
                return previous(name)
            except AttributeError:
                pass
        if name.startswith("__"):
            raise AttributeError(f"module {ember_name!r} has no attribute {name!r}")
        torch_name = f"{_torch_name(ember_name)}.{name}"
        if hasattr(module, "__path__") and not name.startswith("_"):
            try:
                submodule = importlib.import_module(f"{ember_name}.{name}")
            except ModuleNotFoundError as error:
                if error.name != f"{ember_name}.{name}":
                    raise
            else:
                _install_fallback(submodule)
                return submodule
            if ember_name == "ember" and name in _TORCH_SUBMODULES:
                return _MissingModule(torch_name)
        raise AttributeError(_not_implemented(torch_name))

    module.__getattr__ = __getattr__
    module.__ember_alias_fallback__ = True


class _AliasLoader(importlib.abc.Loader):
    """Loads ``torch.X`` by importing ``ember.X`` and handing back that very module
    object, so ``torch.nn is ember.nn`` and state is shared."""

    def __init__(self, ember_name: str):
        self.ember_name = ember_name
        self._original_spec = None

    def create_module(self, spec):
        torch_name = spec.name
        try:
            module = importlib.import_module(self.ember_name)
        except ModuleNotFoundError as error:
            missing = error.name or ""
            if self.ember_name == missing or self.ember_name.startswith(missing + "."):
                raise ModuleNotFoundError(_not_implemented(torch_name),
                                          name=torch_name) from None
            raise
        # The import system overwrites __spec__ on the returned module; exec_module
        # puts ember's own back so ember's modules keep describing themselves.
        self._original_spec = module.__spec__
        _install_fallback(module)
        return module

    def exec_module(self, module):
        if self._original_spec is not None:
            module.__spec__ = self._original_spec


class TorchAliasFinder(importlib.abc.MetaPathFinder):
    """A ``sys.meta_path`` finder that resolves ``torch``, ``torch.*``, ``torchvision``
    and ``torchvision.*`` to ``ember``, ``ember.*``, ``ember.vision``, ``ember.vision.*``."""

    def find_spec(self, fullname, path=None, target=None):
        ember_name = _ember_name(fullname)
        if ember_name is None:
            return None
        loader = _AliasLoader(ember_name)
        return importlib.machinery.ModuleSpec(fullname, loader)


def install_torch_alias() -> TorchAliasFinder:
    """Make ``import torch`` / ``import torchvision`` give ember for this process.

    Returns the finder (remove it from ``sys.meta_path`` to undo future imports)."""
    for name in [name for name in sys.modules if _ember_name(name) is not None]:
        del sys.modules[name]  # a real torch imported earlier must not shadow ember
    finder = TorchAliasFinder()
    sys.meta_path.insert(0, finder)
    import ember  # noqa: F401  (its public modules get the fallback below)
    for name, module in list(sys.modules.items()):
        if (name == "ember" or name.startswith("ember.")) and isinstance(
                module, types.ModuleType) and not any(
                part.startswith("_") for part in name.split(".")):
            _install_fallback(module)
    return finder


def _cmd_run(args) -> int:
    script = Path(args.script)
    if not script.is_file():
        print(f"ember run: can't open file '{args.script}': no such file", file=sys.stderr)
        return 2
    if args.nproc_per_node is not None:  # N processes through mpirun, as torchrun
        from .distributed.run import launch
        return launch([args.script, *args.args], args.nproc_per_node, torch_alias=True)
    install_torch_alias()
    _alias_spawned_children()
    sys.argv = [str(script), *args.args]
    sys.path.insert(0, str(script.resolve().parent))  # as `python script.py` does
    try:
        runpy.run_path(str(script), run_name="__main__")
    except ImportError as error:
        _name_missing_import(error)
        raise
    return 0


def _alias_spawned_children() -> None:
    """Processes started with the ``spawn`` start method (``mp.set_start_method('spawn')``,
    DataLoader workers with ``multiprocessing_context='spawn'``) are fresh interpreters
    that re-import the script: give them the torch alias before they do."""
    from multiprocessing import spawn

    original = spawn.get_command_line
    if getattr(original, "__ember_alias__", False):
        return

    def get_command_line(**kwds):
        command = original(**kwds)
        if "-c" in command:
            at = command.index("-c") + 1
            command[at] = ("from ember.cli import install_torch_alias; install_torch_alias(); "
                           + command[at])
        return command

    get_command_line.__ember_alias__ = True
    spawn.get_command_line = get_command_line


def _name_missing_import(error: ImportError) -> None:
    """``from torch.nn import Foo`` fails inside the interpreter with "cannot import name
    'Foo' from 'ember.nn'"; add a note with the PyTorch name the script asked for."""
    match = re.match(r"cannot import name '([^']+)' from '(ember(?:\.[\w.]+)?)'", str(error))
    if match and hasattr(error, "add_note"):
        error.add_note(_not_implemented(f"{_torch_name(match.group(2))}.{match.group(1)}"))


# ---------------------------------------------------------------------------------------
# `ember info`
# ---------------------------------------------------------------------------------------

_CUPY_DISTRIBUTIONS = ("cupy-cuda12x", "cupy-cuda13x", "cupy-cuda11x", "cupy")
_EXTRAS = (  # (extra, distribution names to look for, what it enables)
    ("bf16", ("ml_dtypes",), "bfloat16 tensors"),
    ("vision", ("pillow",), "image transforms and datasets"),
    ("progress", ("tqdm",), "progress bars"),
    ("plot", ("matplotlib",), "training curves and confusion matrix PNGs"),
    ("safetensors", ("safetensors",), "safetensors files"),
    ("data", ("scikit-learn",), "the offline digits dataset, ember demo"),
    ("cuda", _CUPY_DISTRIBUTIONS, "CUDA tensors"),
    ("distributed", ("mpi4py",), "multi-process training over MPI"),
    ("onnx", ("onnx",), "ONNX export (onnxruntime runs the files)"),
    ("serve", ("uvicorn",), "ember serve: a model server over HTTP"),
    ("tensorboard", ("tensorboard",), "utils.tensorboard.SummaryWriter logs"),
    ("threads", ("threadpoolctl",), "BLAS thread inspection"),
)


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _blas_lines() -> list[str]:
    """The BLAS NumPy calls: threadpoolctl sees the loaded library and its threads;
    without it, NumPy's build configuration names the library."""
    try:
        import threadpoolctl
    except ImportError:
        threadpoolctl = None
    if threadpoolctl is not None:
        libraries = [info for info in threadpoolctl.threadpool_info()
                     if info.get("user_api") == "blas"]
        if libraries:
            return [f"BLAS:        {info.get('internal_api')} {info.get('version')} "
                    f"({info.get('threading_layer', '?')}, {info.get('architecture', '?')}), "
                    f"{info.get('num_threads')} threads, {info.get('filepath')}"
                    for info in libraries]
    import numpy
    try:
        config = numpy.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return [f"BLAS:        {blas.get('name')} {blas.get('version')} (from NumPy's build "
                "configuration; install threadpoolctl to see its threads)"]
    except Exception:  # NumPy < 1.25 has no mode="dicts"
        return ["BLAS:        unknown (numpy.show_config() prints NumPy's build)"]


def _device_lines() -> list[str]:
    lines = ["Devices:     cpu"]
    if not any(_version(name) for name in _CUPY_DISTRIBUTIONS):
        lines.append("             cuda: not available (CuPy is not installed: "
                     "pip install 'ember[cuda]')")
        return lines
    try:
        import ember
        if not ember.cuda.is_available():
            lines.append("             cuda: not available (CuPy found no CUDA device)")
        for index in range(ember.cuda.device_count()):
            lines.append(f"             cuda:{index} {ember.cuda.get_device_name(index)}")
    except Exception as error:  # a broken driver must not break `ember info`
        lines.append(f"             cuda: unavailable ({type(error).__name__}: {error})")
    return lines


def info_text() -> str:
    import numpy

    import ember
    try:
        usable_cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        usable_cpus = os.cpu_count()
    thread_env = ", ".join(f"{name}={os.environ[name]}" for name in (
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS") if name in os.environ)
    lines = [
        f"ember:       {ember.__version__} ({Path(ember.__file__).parent})",
        f"Python:      {platform.python_version()} ({platform.python_implementation()}) "
        f"on {platform.platform()}",
        f"NumPy:       {numpy.__version__}",
        *_blas_lines(),
        f"Threads:     {usable_cpus} usable CPU cores of {os.cpu_count()}; "
        f"ember.get_num_threads() = {_num_threads(ember)}"
        + (f"; {thread_env}" if thread_env else ""),
        *_device_lines(),
        "Extras:",
    ]
    for extra, distributions, purpose in _EXTRAS:
        installed = [(name, _version(name)) for name in distributions]
        found = [f"{name} {version}" for name, version in installed if version]
        status = found[0] if found else "not installed"
        lines.append(f"  {extra:<12} {status:<28} {purpose}")
    return "\n".join(lines)


def _num_threads(ember) -> str:
    getter = getattr(ember, "get_num_threads", None)
    return str(getter()) if callable(getter) else "n/a"


def _cmd_info(args) -> int:
    print(info_text())
    return 0


# ---------------------------------------------------------------------------------------
# `ember demo`
# ---------------------------------------------------------------------------------------

def _load_digits(train: bool):
    """ember.vision.datasets.Digits (scikit-learn's 8x8 handwritten digits, shipped inside
    the package, so no download): its uint8 images as float (N, 1, 8, 8) in [0, 1], and
    int64 labels. Reading the whole split as two tensors skips per-image PIL work."""
    from ember.vision.datasets import Digits
    try:
        split = Digits(train=train)
    except ImportError as error:
        raise SystemExit(f"ember demo: {error}") from error
    return split.data.unsqueeze(1).float() / 255.0, split.targets


def _digits_cnn():
    """Two 3x3 conv layers with batch norm, one max-pool, a small MLP head: ~40k
    parameters, enough for 97%+ on 8x8 digits within a few seconds per epoch."""
    from ember import nn

    class DigitsCNN(nn.Module):
        def __init__(self, num_classes: int = 10):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                nn.MaxPool2d(2),                                   # 8x8 -> 4x4
            )
            self.classifier = nn.Sequential(
                nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 4 * 4, 64), nn.ReLU(),
                nn.Linear(64, num_classes),
            )

        def forward(self, x):
            return self.classifier(self.features(x))

    return DigitsCNN()


def _random_shift(images, generator=None):
    """Move each image by up to one pixel in each direction (zero fill): the test digits
    come from other writers, and small translations are the variation that matters on an
    8x8 grid. One gather for the whole batch, no per-image loop."""
    import ember
    import ember.nn.functional as F
    count, _, height, width = images.shape
    padded = F.pad(images, (1, 1, 1, 1))
    shift_rows = ember.randint(0, 3, (count, 1, 1), generator=generator)
    shift_cols = ember.randint(0, 3, (count, 1, 1), generator=generator)
    rows = shift_rows + ember.arange(height).view(1, height, 1)
    cols = shift_cols + ember.arange(width).view(1, 1, width)
    return padded[ember.arange(count).view(count, 1, 1), 0, rows, cols].unsqueeze(1)


def _progress(iterable, description: str):
    """A tqdm bar on stderr when tqdm is installed (extra ``progress``), else the bare
    iterable; the bar disappears when the epoch ends and its summary line is printed."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=description, unit="batch", leave=False, file=sys.stderr,
                dynamic_ncols=True)


def _evaluate(model, images, labels, batch_size: int = 512):
    """Mean cross-entropy, accuracy and predictions on a held-out set, in eval mode
    (batch norm uses running statistics, dropout is off) and without a graph."""
    import ember
    import ember.nn.functional as F
    model.eval()
    losses, predictions = [], []
    with ember.no_grad():
        for start in range(0, len(labels), batch_size):
            logits = model(images[start:start + batch_size])
            losses.append(F.cross_entropy(logits, labels[start:start + batch_size],
                                          reduction="sum"))
            predictions.append(logits.argmax(dim=1))
    predicted = ember.cat(predictions)
    loss = (ember.stack(losses).sum() / len(labels)).item()
    accuracy = (predicted == labels).float().mean().item()
    return loss, accuracy, predicted


def _confusion_matrix(predicted, labels, num_classes: int):
    try:
        from ember.metrics import confusion_matrix
        matrix = confusion_matrix(predicted, labels, task="multiclass",
                                  num_classes=num_classes)
        return matrix.numpy() if hasattr(matrix, "numpy") else matrix
    except (ImportError, TypeError):
        import numpy as np
        pairs = labels.numpy() * num_classes + predicted.numpy()
        return np.bincount(pairs, minlength=num_classes ** 2).reshape(num_classes, -1)


def _classification_report(predicted, labels) -> str:
    try:
        from ember.metrics import classification_report
        return classification_report(labels.numpy(), predicted.numpy(), digits=4)
    except ImportError:
        from sklearn.metrics import classification_report
        return classification_report(labels.numpy(), predicted.numpy(), digits=4)


def _matrix_text(matrix) -> str:
    size = len(matrix)
    width = max(4, len(str(int(matrix.max()))) + 2)
    lines = ["true\\pred" + "".join(f"{j:>{width}}" for j in range(size))]
    lines += [f"{i:>9}" + "".join(f"{int(v):>{width}}" for v in row)
              for i, row in enumerate(matrix)]
    return "\n".join(lines)


def run_demo(epochs: int = 12, seed: int = 0, out: Path = Path("ember_runs/demo"),
             batch_size: int = 64, lr: float = 3e-3) -> int:
    """Train, evaluate, save: the whole workflow on real data in well under a minute."""
    import ember
    import ember.nn.functional as F
    from ember.utils.data import DataLoader, TensorDataset
    if epochs < 1:
        raise SystemExit("ember demo: --epochs must be at least 1")
    started = time.perf_counter()
    ember.manual_seed(seed)
    train_images, train_labels = _load_digits(train=True)
    test_images, test_labels = _load_digits(train=False)
    train_set = TensorDataset(train_images, train_labels)
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True)
    print(f"ember demo: {len(train_set)} training and {len(test_labels)} test images of "
          "handwritten digits (8x8, scikit-learn's offline copy)")

    model = _digits_cnn()
    ember.utils.summary(model, input_size=(batch_size, 1, 8, 8))
    optimizer = ember.optim.Adam(model.parameters(), lr=lr)
    scheduler = ember.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)

    history = {"train loss": [], "test loss": [], "train accuracy": [], "test accuracy": []}
    for epoch in range(1, epochs + 1):
        model.train()
        loss_sum, correct, seen = 0.0, 0, 0
        batches = _progress(loader, f"epoch {epoch}/{epochs}")
        for batch_images, batch_labels in batches:
            logits = model(_random_shift(batch_images))
            loss = F.cross_entropy(logits, batch_labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            batch_loss = loss.item()
            loss_sum += batch_loss * len(batch_labels)
            correct += (logits.argmax(dim=1) == batch_labels).sum().item()
            seen += len(batch_labels)
            if hasattr(batches, "set_postfix"):
                batches.set_postfix(loss=f"{batch_loss:.4f}")
        scheduler.step()
        test_loss, test_accuracy, predicted = _evaluate(model, test_images, test_labels)
        history["train loss"].append(loss_sum / seen)
        history["train accuracy"].append(correct / seen)
        history["test loss"].append(test_loss)
        history["test accuracy"].append(test_accuracy)
        print(f"epoch {epoch:>2}/{epochs}  train loss {loss_sum / seen:.4f}  "
              f"train acc {correct / seen:6.2%}  test loss {test_loss:.4f}  "
              f"test acc {test_accuracy:6.2%}", flush=True)

    elapsed = time.perf_counter() - started
    hits = int((predicted == test_labels).sum().item())
    print(f"\nTest accuracy: {test_accuracy:.2%} ({hits}/{len(test_labels)} digits) "
          f"after {epochs} epochs in {elapsed:.1f} s")
    print("\nClassification report (test set):\n")
    print(_classification_report(predicted, test_labels))
    matrix = _confusion_matrix(predicted, test_labels, 10)
    print("Confusion matrix (rows: true digit, columns: predicted digit):\n")
    print(_matrix_text(matrix))

    out.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out / "checkpoint.pt"
    ember.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "epoch": epochs, "seed": seed,
                "history": history, "test_accuracy": test_accuracy}, checkpoint_path)
    saved = [("checkpoint", checkpoint_path)]
    try:
        from .utils import plot
        saved.append(("loss curve", Path(plot.plot_history(
            history, out / "loss_curve.png", title="ember demo: handwritten digits"))))
        saved.append(("confusion matrix", Path(plot.plot_confusion_matrix(
            matrix, out / "confusion_matrix.png", title="Test set confusion matrix"))))
    except ImportError as error:
        print(f"\n{error}: the PNG plots were skipped")
    print("\nSaved:")
    for what, path in saved:
        print(f"  {what + ':':<18} {path}")
    print(f"\nReload the model with ember.load({str(checkpoint_path)!r})['model'] "
          "(PyTorch's torch.load reads it too).")
    return 0


def _cmd_serve(args) -> int:
    try:
        from .serve import load_model, serve
    except ImportError as error:
        print(f"ember serve needs the serve extra ({error.name} is missing): "
              "pip install 'ember[serve]'", file=sys.stderr)
        return 1
    try:
        model = load_model(args.checkpoint, args.model, map_location=args.device)
    except (OSError, ValueError, RuntimeError) as error:
        print(f"ember serve: {error}", file=sys.stderr)
        return 1
    serve(model, host=args.host, port=args.port, max_batch_size=args.max_batch_size,
          max_delay_ms=args.max_delay_ms, device=args.device)
    return 0


def _cmd_demo(args) -> int:
    return run_demo(epochs=args.epochs, seed=args.seed, out=Path(args.out),
                    batch_size=args.batch_size, lr=args.lr)


# ---------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    import ember
    parser = argparse.ArgumentParser(
        prog="ember", description="ember: PyTorch's API on NumPy (CPU) and CuPy (CUDA).")
    parser.add_argument("--version", action="version", version=f"ember {ember.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{demo,run,info,serve}")

    demo = commands.add_parser("demo", help="train a small CNN on handwritten digits",
                               description="Train a small CNN on scikit-learn's 8x8 "
                               "handwritten digits (offline), then evaluate it and save a "
                               "checkpoint and plots.")
    demo.add_argument("--epochs", type=int, default=12, help="training epochs (default 12)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--out", default=os.path.join("ember_runs", "demo"),
                      help="output folder (default ./ember_runs/demo)")
    demo.add_argument("--batch-size", type=int, default=64, help=argparse.SUPPRESS)
    demo.add_argument("--lr", type=float, default=3e-3, help=argparse.SUPPRESS)
    demo.set_defaults(handler=_cmd_demo)

    run = commands.add_parser("run", help="run a PyTorch script on ember",
                              description="Run an unmodified PyTorch script with `torch` and "
                              "`torchvision` resolved to ember for this process.")
    run.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=None,
                     help="start N processes through mpirun (torchrun's variables set)")
    run.add_argument("script", help="the Python file to run as __main__")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    run.set_defaults(handler=_cmd_run)

    info = commands.add_parser("info", help="versions, BLAS, threads, devices, extras")
    info.set_defaults(handler=_cmd_info)

    serve = commands.add_parser("serve", help="serve a saved model over HTTP",
                                description="Serve a model over HTTP (POST /predict, GET "
                                "/health, /metadata, /metrics) with dynamic batching. Needs "
                                "the serve extra: pip install 'ember[serve]'.")
    serve.add_argument("checkpoint", help="a torch.save'd module, or a state_dict with --model")
    serve.add_argument("--model", default=None, metavar="MODULE:FACTORY",
                       help="builds the module a state_dict checkpoint loads into")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--max-batch-size", type=int, default=32)
    serve.add_argument("--max-delay-ms", type=float, default=5.0,
                       help="how long a request waits for others to batch with")
    serve.add_argument("--device", default="cpu")
    serve.set_defaults(handler=_cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ember`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
