"""ember.package against torch.package: packages written by torch load in ember (model
code run on ember, weights from the ``.data/`` storages), ember's packages load in ember
and, for tensors and containers, in torch; dependency discovery, intern/extern/mock/deny,
hooks, file_structure and the errors compared with torch's on the same modules."""

from __future__ import annotations

import io
import pickle
import sys
import textwrap
import uuid
import zipfile

import numpy as np
import pytest
import torch
import torch.package as tp

import ember
import ember.package as ep

# torch's own exporter and importer use TypedStorage, which torch warns about
pytestmark = pytest.mark.filterwarnings("ignore:TypedStorage is deprecated:UserWarning")


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """Writes modules under a fresh name prefix into tmp_path (on sys.path for the test);
    returns (write(files), prefix). The modules are dropped from sys.modules afterwards."""
    prefix = "pk" + uuid.uuid4().hex[:8]
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(files: dict) -> None:
        for name, source in files.items():
            path = tmp_path / name.format(p=prefix)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source.format(p=prefix)))

    yield write, prefix
    for name in [n for n in sys.modules if n.startswith(prefix)]:
        del sys.modules[name]


def _as_numpy(tensor):
    return tensor.detach().numpy()


MODEL_FILES = {
    "{p}/__init__.py": "",
    "{p}/util.py": """\
        import math

        def scale(x):
            return x * math.sqrt(4.0)
        """,
    "{p}/net.py": """\
        import {lib}
        import {lib}.nn.functional as F
        from {lib} import nn
        from . import util

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(3, 2)
                self.register_buffer("steps", {lib}.zeros(1, dtype={lib}.int64))

            def forward(self, x):
                return util.scale(F.relu(self.fc(x))) + {lib}.tanh(x).sum(-1, keepdim=True)
        """,
}


def _model_files(lib):
    return {k: v.replace("{lib}", lib) for k, v in MODEL_FILES.items()}


def test_torch_package_loads_in_ember(modules, tmp_path):
    write, p = modules
    write(_model_files("torch"))
    net_module = __import__(f"{p}.net", fromlist=["Net"])
    torch.manual_seed(0)
    model = net_module.Net()
    weights = {"w": torch.arange(6.0).reshape(2, 3)[:, 1], "n": torch.ones(2, dtype=torch.int64)}
    path = tmp_path / "torch_made.pt"
    with tp.PackageExporter(str(path)) as exporter:
        exporter.intern(f"{p}.**")
        exporter.save_pickle("model", "model.pkl", model)
        exporter.save_pickle("model", "weights.pkl", weights)
        exporter.save_text("notes", "readme.txt", "a model")
        exporter.save_binary("notes", "blob.bin", b"\x00\x01\x02")

    importer = ep.PackageImporter(str(path))
    loaded = importer.load_pickle("model", "model.pkl")
    assert isinstance(loaded, ember.nn.Module)
    assert type(loaded).__module__ == f"{importer.id()}.{p}.net"
    assert ep.is_from_package(loaded) and type(loaded) is not net_module.Net
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    torch.testing.assert_close(_as_numpy(loaded(ember.tensor(x))),
                               _as_numpy(model(torch.tensor(x))))
    assert loaded.steps.dtype == ember.int64
    loaded_weights = importer.load_pickle("model", "weights.pkl")
    for key, value in weights.items():
        np.testing.assert_array_equal(_as_numpy(loaded_weights[key]), _as_numpy(value))
        assert str(loaded_weights[key].dtype) == str(value.dtype)
    assert importer.load_text("notes", "readme.txt") == "a model"
    assert importer.load_binary("notes", "blob.bin") == b"\x00\x01\x02"
    theirs = tp.PackageImporter(str(path))
    assert str(importer.file_structure()) == str(theirs.file_structure())
    assert str(importer.file_structure(include="model/**")) == \
        str(theirs.file_structure(include="model/**"))
    assert importer.file_structure().has_file(f"{p}/net.py")
    assert importer.python_version() == theirs.python_version()
    assert importer.id().startswith("<torch_package_") and importer.id().endswith(">")


def test_ember_package_round_trip_and_torch_reads_its_tensors(modules):
    write, p = modules
    write(_model_files("ember"))
    net_module = __import__(f"{p}.net", fromlist=["Net"])
    model = net_module.Net()
    base = ember.arange(12.0).reshape(3, 4)
    tensors = {"view": base[:, 1], "base": base, "ints": ember.tensor([1, 2], dtype=ember.int64),
               "half": ember.ones(2, dtype=ember.float16), "sd": model.state_dict()}
    buffer = io.BytesIO()
    with ep.PackageExporter(buffer) as exporter:
        exporter.intern(f"{p}.**")
        exporter.save_pickle("model", "model.pkl", model)
        exporter.save_pickle("model", "tensors.pkl", tensors)
        exporter.save_text("notes", "readme.txt", "a model")
        assert exporter.interned_modules() == [f"{p}.net", f"{p}.util"]
    data = buffer.getvalue()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "archive/.data/0.storage" in names and "archive/.data/extern_modules" in names
    # the model's 3 tensors, written once though the state_dict pickle holds them again,
    # and one storage each for base (with its view), ints and half
    assert sum(name.endswith(".storage") for name in names) == 6

    importer = ep.PackageImporter(io.BytesIO(data))
    loaded = importer.load_pickle("model", "model.pkl")
    x = ember.randn(2, 3)
    np.testing.assert_array_equal(loaded(x).detach().numpy(), model(x).detach().numpy())
    again = importer.load_pickle("model", "tensors.pkl")
    assert again["view"]._base is not None or again["view"].stride() == (4,)
    theirs = tp.PackageImporter(io.BytesIO(data)).load_pickle("model", "tensors.pkl")
    for key in ("view", "base", "ints", "half"):
        np.testing.assert_array_equal(_as_numpy(again[key]), tensors[key].numpy())
        np.testing.assert_array_equal(_as_numpy(theirs[key]), tensors[key].numpy())
        assert str(theirs[key].dtype) == str(tensors[key].dtype)
    assert theirs["view"].untyped_storage().data_ptr() == \
        theirs["base"].untyped_storage().data_ptr()  # one storage, as written
    assert list(theirs["sd"]) == list(model.state_dict()) == ["steps", "fc.weight", "fc.bias"]
    torch.testing.assert_close(theirs["sd"]["fc.weight"],
                               torch.tensor(model.fc.weight.detach().numpy()))
    assert tp.PackageImporter(io.BytesIO(data)).load_text("notes", "readme.txt") == "a model"


def test_a_package_folder_and_map_location(modules, tmp_path):
    write, p = modules
    write(_model_files("torch"))
    path = tmp_path / "unzip_me.pt"
    with ep.PackageExporter(str(path)) as exporter:
        exporter.intern(f"{p}.**")
        exporter.save_module(f"{p}.net")
        exporter.save_pickle("data", "t.pkl", ember.arange(3.0))
    theirs = tp.PackageImporter(str(path)).load_pickle("data", "t.pkl")
    np.testing.assert_array_equal(theirs.numpy(), [0.0, 1.0, 2.0])
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
    importer = ep.PackageImporter(str(folder / "unzip_me"))
    module = importer.import_module(f"{p}.net")
    assert isinstance(module.Net()(ember.ones(1, 3)), ember.Tensor)  # torch there is ember
    assert module.torch is ember
    loaded = importer.load_pickle("data", "t.pkl", map_location="cpu")
    np.testing.assert_array_equal(loaded.numpy(), [0.0, 1.0, 2.0])


DEPENDENCY_FILES = {
    "{p}/__init__.py": "",
    "{p}/a.py": """\
        import json
        from . import b
        from .sub import c
        from {p}.sub.c import VALUE
        import {p}.mocked
        __import__("{p}.dyn")
        """,
    "{p}/b.py": "import os.path\n",
    "{p}/dyn.py": "",
    "{p}/mocked.py": "VALUE = 1\n",
    "{p}/ext.py": "",
    "{p}/sub/__init__.py": "from .. import ext\n",
    "{p}/sub/c.py": "VALUE = 3\n",
}


def _export_both(build):
    """Run ``build(exporter)`` under torch's exporter and ember's (in-memory packages);
    returns ((torch exporter, its error), (ember exporter, its error))."""
    results = []
    for package in (tp, ep):
        exporter = package.PackageExporter(io.BytesIO())
        error = None
        try:
            build(exporter)
            exporter.close()
        except Exception as caught:  # noqa: BLE001 - compared below
            error = caught
        results.append((exporter, error))
    return results


def test_dependency_discovery_and_actions_match_torch(modules):
    write, p = modules
    write(DEPENDENCY_FILES)
    calls = {}

    def build(exporter):
        seen = calls.setdefault(type(exporter).__module__, [])
        exporter.register_extern_hook(lambda e, name: seen.append(("extern", name)))
        exporter.register_mock_hook(lambda e, name: seen.append(("mock", name)))
        handle = exporter.register_intern_hook(lambda e, name: seen.append(("dropped", name)))
        handle.remove()
        exporter.register_intern_hook(lambda e, name: seen.append(("intern", name)))
        exporter.extern(f"{p}.ext")
        exporter.mock(f"{p}.mocked")
        exporter.intern([f"{p}.**"], exclude=[f"{p}.nothing"])
        exporter.save_module(f"{p}.a")

    (theirs, their_error), (ours, our_error) = _export_both(build)
    assert their_error is None and our_error is None
    assert ours.interned_modules() == theirs.interned_modules()
    assert ours.externed_modules() == theirs.externed_modules()
    assert ours.mocked_modules() == theirs.mocked_modules() == [f"{p}.mocked"]
    assert ours.get_rdeps(f"{p}.b") == theirs.get_rdeps(f"{p}.b")
    their_calls, our_calls = calls.values()
    assert our_calls == their_calls and ("intern", f"{p}.sub.c") in our_calls
    assert ours.dependency_graph_string() == theirs.dependency_graph_string()
    # torch's all_paths walks the characters of its arguments (set(src)): checked alone
    paths = ours.all_paths(f"{p}.a", "os.path")
    assert f'"{p}.a" -> "{p}.b";' in paths and f'"{p}.b" -> "os.path";' in paths
    assert "json" not in paths


def test_mocked_module_in_the_package(modules):
    write, p = modules
    write(DEPENDENCY_FILES)
    buffer = io.BytesIO()
    with ep.PackageExporter(buffer) as exporter:
        exporter.extern(f"{p}.ext")
        exporter.mock(f"{p}.mocked")
        exporter.intern(f"{p}.**")
        exporter.save_module(f"{p}.a")
    for package in (ep, tp):
        importer = package.PackageImporter(io.BytesIO(buffer.getvalue()))
        stub = importer.import_module(f"{p}.mocked").VALUE
        assert repr(stub) == f"MockedObject({importer.id()}.{p}.mocked.VALUE)"
        with pytest.raises(NotImplementedError, match="was mocked out during packaging"):
            stub + 1
        assert importer.import_module(f"{p}.sub.c").VALUE == 3


ERROR_CASES = {
    "no_action": lambda e, p: (e.intern(f"{p}.a"), e.save_module(f"{p}.a")),
    "denied": lambda e, p: (e.deny(f"{p}.sub.**"), e.extern(f"{p}.ext"), e.intern(f"{p}.**"),
                            e.save_module(f"{p}.a")),
    "empty_match": lambda e, p: (e.extern("nothing.**", allow_empty=False),
                                 e.save_text("x", "y.txt", "z")),
    "mocked_but_used": lambda e, p: (e.mock(f"{p}.mocked"), e.save_pickle(
        "x", "obj.pkl", sys.modules[f"{p}.mocked"].Thing())),
    "not_a_module_name": lambda e, p: e.save_module(sys),
    "bad_protocol": lambda e, p: e.save_pickle("x", "y.pkl", 1, pickle_protocol=2),
    "resource_path": lambda e, p: e.save_text("x", "a/b.txt", "z"),
}


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_export_errors_match_torch(modules, case, debug):
    write, p = modules
    files = dict(DEPENDENCY_FILES)
    files["{p}/mocked.py"] = "class Thing:\n    pass\n"
    write(files)
    __import__(f"{p}.mocked")
    results = []
    for package in (tp, ep):
        exporter = package.PackageExporter(io.BytesIO(), debug=debug)
        with pytest.raises(Exception) as caught:  # noqa: PT011 - compared with torch's
            ERROR_CASES[case](exporter, p)
            exporter.close()
        results.append(caught.value)
    theirs, ours = results
    assert type(ours).__name__ == type(theirs).__name__
    assert isinstance(ours, type(theirs).__mro__[1]) or type(theirs).__module__ == "builtins"
    assert str(ours) == str(theirs)


def test_import_errors_match_torch(modules, tmp_path):
    write, p = modules
    write(DEPENDENCY_FILES)
    path = tmp_path / "errors.pt"
    with tp.PackageExporter(str(path)) as exporter:
        exporter.extern(f"{p}.ext")
        exporter.mock(f"{p}.mocked")
        exporter.intern(f"{p}.**")
        exporter.save_module(f"{p}.a")
    for call in (lambda pkg: pkg.PackageImporter(str(path)).import_module("missing.mod"),
                 lambda pkg: pkg.PackageImporter(str(path), lambda name: name != "json"),
                 lambda pkg: pkg.PackageImporter(str(path)).load_text(f"{p}.a", "x.txt"),
                 lambda pkg: pkg.PackageImporter(str(path)).load_text(f"{p}", "a/x.txt")):
        errors = []
        for package in (tp, ep):
            with pytest.raises(Exception) as caught:  # noqa: PT011 - compared with torch's
                call(package)
            errors.append(caught.value)
        assert type(errors[1]) is type(errors[0])
        if not isinstance(errors[0], RuntimeError):  # the reader's wording is PyTorch's C++
            assert str(errors[1]) == str(errors[0])


def test_repackaging_needs_the_package_importer(modules):
    write, p = modules
    write(_model_files("ember"))
    model = __import__(f"{p}.net", fromlist=["Net"]).Net()
    buffer = io.BytesIO()
    with ep.PackageExporter(buffer) as exporter:
        exporter.intern(f"{p}.**")
        exporter.save_pickle("model", "model.pkl", model)
    importer = ep.PackageImporter(io.BytesIO(buffer.getvalue()))
    loaded = importer.load_pickle("model", "model.pkl")
    again = io.BytesIO()
    with ep.PackageExporter(again, importer=(importer, ep.sys_importer)) as exporter:
        exporter.intern(f"{p}.**")
        exporter.save_pickle("model", "model.pkl", loaded)
    reloaded = ep.PackageImporter(io.BytesIO(again.getvalue())).load_pickle("model", "model.pkl")
    x = ember.ones(1, 3)
    np.testing.assert_array_equal(reloaded(x).detach().numpy(), model(x).detach().numpy())
    exporter = ep.PackageExporter(io.BytesIO())  # the class is found, but it is another one
    with pytest.raises(pickle.PicklingError, match="importer lists the importer for <torch"):
        exporter.save_pickle("model", "model.pkl", loaded)
    with pytest.raises(TypeError, match="importer arg should be an Importer"):
        ep.PackageExporter(io.BytesIO(), importer=object())


def test_source_strings_and_the_packages_importer():
    """Packaged code imports its own modules (relative and absolute), reaches its
    importer as ``torch_package_importer``, and reads the package's resources."""
    buffer = io.BytesIO()
    with ep.PackageExporter(buffer) as exporter:
        exporter.save_source_string("toy", "", is_package=True)
        exporter.save_source_string("toy.core", textwrap.dedent("""\
            from .helpers import triple
            import toy.helpers
            import torch_package_importer as importer
            def run(x):
                return triple(x), importer.load_text("toy", "note.txt")
            """))
        exporter.save_source_string("toy.helpers", "def triple(x):\n    return 3 * x\n")
        exporter.save_text("toy", "note.txt", "hi")
    for package in (ep, tp):
        importer = package.PackageImporter(io.BytesIO(buffer.getvalue()))
        core = importer.import_module("toy.core")
        assert core.run(2) == (6, "hi")
        assert importer.import_module("toy").helpers.triple(1) == 3
        assert core.importer is importer


GLOBS = [("torch.**", ["torch", "torch.nn", "torch.nn.f", "torchvision"]),
         ("torch.*", ["torch", "torch.nn", "torch.nn.f"]),
         ("torch*.**", ["torch", "torchvision.ops", "tor"]),
         ("a.*b*.c", ["a.b.c", "a.xbx.c", "a.b.d.c"]),
         (["a", "b.**"], ["a", "a.x", "b", "b.y.z"])]


@pytest.mark.parametrize("include,names", GLOBS)
def test_glob_group_matches_torch(include, names):
    for exclude in ((), "torch.nn.**", ["a"]):
        ours = ep.GlobGroup(include, exclude=exclude)
        theirs = tp.GlobGroup(include, exclude=exclude)
        assert [ours.matches(n) for n in names] == [theirs.matches(n) for n in names]
        assert str(ours) == str(theirs)
    assert ep.GlobGroup("a/*.py", separator="/").matches("a/b.py")
    with pytest.raises(ValueError, match=r"\*\* can only appear as an entire path segment"):
        ep.GlobGroup("a.b**")


REDUCE_FILES = {
    "{p}/__init__.py": "",
    "{p}/special.py": """\
        def rebuild(importer, text, version):
            return Special(importer.load_text("res", text) + "!" + str(version))

        class Special:
            def __init__(self, text):
                self.text = text

            def __reduce_package__(self, exporter):
                name = "t" + exporter.get_unique_id() + ".txt"
                exporter.save_text("res", name, self.text)
                return (rebuild, (name, 1))
        """,
}


def test_reduce_package_objects_match_torch(modules):
    """An object with ``__reduce_package__`` saves its own resources; the same object
    twice in one pickle is reduced and rebuilt once."""
    write, p = modules
    write(REDUCE_FILES)
    special = __import__(f"{p}.special", fromlist=["Special"]).Special("hi")
    texts = []
    for package in (tp, ep):
        buffer = io.BytesIO()
        with package.PackageExporter(buffer) as exporter:
            exporter.intern(f"{p}.**")
            exporter.save_pickle("obj", "pair.pkl", [special, special])
        for reader in (tp, ep):
            pair = reader.PackageImporter(io.BytesIO(buffer.getvalue())).load_pickle(
                "obj", "pair.pkl")
            assert pair[0] is pair[1]
            texts.append(pair[0].text)
    assert texts == ["hi!1"] * 4


def test_save_source_file_folder_matches_torch(modules, tmp_path):
    write, p = modules
    write(DEPENDENCY_FILES)
    structures = []
    for package in (tp, ep):
        buffer = io.BytesIO()
        with package.PackageExporter(buffer) as exporter:
            exporter.extern(f"{p}.ext")
            exporter.mock(f"{p}.mocked")
            exporter.intern(f"{p}.**")  # the copied code imports p's modules
            exporter.save_source_file("copied", str(tmp_path / p))
            exporter.save_source_file("single", str(tmp_path / p / "sub" / "c.py"))
        importer = ep.PackageImporter(io.BytesIO(buffer.getvalue()))
        assert importer.import_module("copied.sub.c").VALUE == 3
        assert importer.import_module("single").VALUE == 3
        structures.append(str(importer.file_structure(exclude=".data/**")))
    assert structures[0] == structures[1]
