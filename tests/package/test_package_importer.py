"""PackageImporter's import machinery and readers against torch's, on one archive written by
torch's exporter: absolute and relative imports inside the package (``import a.b`` binding
``a``, ``from .x import *`` following ``__all__``, a missing name), ``os.path``, source and
class-source lookup, importlib.resources, and the module-structure errors."""

import importlib.resources
import inspect
import io

import pytest
import torch.package as tp

import ember.package as ep

pytestmark = pytest.mark.filterwarnings("ignore:TypedStorage is deprecated:UserWarning")

SOURCES = {
    ("toy", True): "",
    ("toy.shapes", True): "__all__ = ['square']\nfrom .area import square, _hidden\n",
    ("toy.shapes.area", False): "def square(x):\n    return x * x\n\n_hidden = 1\n",
    ("toy.use", False): (
        "import toy.shapes.area\n"
        "from .shapes import *\n"
        "import os.path\n"
        "from . import shapes as shapes_pkg\n"
        "TOP = toy.__name__\n"
        "STAR = sorted(k for k in dir() if k in ('square', '_hidden'))\n"
        "JOIN = os.path.join('a', 'b')\n"
        "class Box:\n"
        "    size = square(3)\n"
    ),
    ("toy.broken", False): "from .shapes import nothing_here\n",
}


def _archive():
    buffer = io.BytesIO()
    with tp.PackageExporter(buffer) as exporter:
        for (name, is_package), source in SOURCES.items():
            exporter.save_source_string(name, source, is_package=is_package)
        exporter.save_text("toy.shapes", "notes.txt", "four sides")
    return buffer.getvalue()


def _observe(package, data):
    importer = package.PackageImporter(io.BytesIO(data))
    use = importer.import_module("toy.use")
    reader = importer.get_resource_reader("toy.shapes")
    seen = {
        "top": use.TOP.rpartition(".")[2],
        "star": use.STAR,
        "join": use.JOIN,
        "size": use.Box.size,
        "pkg": use.shapes_pkg.__name__.rpartition(">.")[2],
        "box_source": inspect.getsource(use.Box),
        "module_source": importer.get_source("toy.shapes.area"),
        "notes": reader.open_resource("notes.txt").read(),
        "is_resource": [reader.is_resource("notes.txt"), reader.is_resource("other.txt")],
        "contents": sorted(reader.contents()),
        "unknown_reader": importer.get_resource_reader("toy.nowhere"),
        "text": importer.load_text("toy.shapes", "notes.txt"),
    }
    with pytest.raises(ImportError) as broken:
        importer.import_module("toy.broken")
    message = str(broken.value).split(" (")[0].replace(importer.id() + ".", "")
    seen["broken"] = (type(broken.value).__name__, message)
    with pytest.raises(ModuleNotFoundError) as missing:
        importer.import_module("toy.shapes.area.deeper")
    seen["not_a_package"] = str(missing.value).replace(importer.id() + ".", "")
    for call in (lambda: importer.load_text("toy.use", "x.txt"),
                 lambda: importer.get_resource_reader("toy.use")):
        with pytest.raises(TypeError) as not_package:
            call()
        seen.setdefault("not_a_package_resource", []).append(str(not_package.value))
    return seen


def test_package_imports_and_readers_match_torch():
    data = _archive()
    theirs, ours = _observe(tp, data), _observe(ep, data)
    assert ours == theirs
    assert ours["star"] == ["square"] and ours["size"] == 9


def test_importlib_resources_reads_packaged_files():
    importer = ep.PackageImporter(io.BytesIO(_archive()))
    shapes = importer.import_module("toy.shapes")
    assert importlib.resources.files(shapes).joinpath("notes.txt").read_text() == "four sides"


def test_module_with_submodules_is_refused_like_torch():
    """A plain module file cannot also be a folder of modules."""
    buffer = io.BytesIO()
    with tp.PackageExporter(buffer) as exporter:
        exporter.save_source_string("flat", "X = 1\n")
        exporter.save_source_string("flat.inner", "Y = 2\n")
    messages = []
    for package in (tp, ep):
        with pytest.raises(ImportError) as refused:
            package.PackageImporter(io.BytesIO(buffer.getvalue()))
        messages.append(str(refused.value))
    assert messages[1] == messages[0]
