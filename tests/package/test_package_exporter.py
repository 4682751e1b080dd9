"""PackageExporter paths the model tests in test_package.py do not reach, each against
torch's exporter: modules without source (built-in, C extension), source that cannot be
parsed, the records of an archive with no modules, hooks on a pickle's node, a bad
importer argument and reusing a record path."""

import io
import zipfile

import pytest
import torch.package as tp

import ember.package as ep

pytestmark = pytest.mark.filterwarnings("ignore:TypedStorage is deprecated:UserWarning")


def _closing_error(package, fill):
    exporter = package.PackageExporter(io.BytesIO())
    with pytest.raises(Exception) as caught:  # noqa: PT011 - compared with torch's
        fill(exporter)
        exporter.close()
    return type(caught.value).__name__, str(caught.value)


@pytest.mark.parametrize("fill", [
    lambda e: e.save_module("_json"),  # built in: no __file__
    lambda e: e.save_module("numpy.core._multiarray_umath"),  # a C extension
    lambda e: e.save_source_string("bad", "def broken(:\n"),  # cannot be parsed
    lambda e: (e.save_text("a", "x.txt", "1"), e.save_text("a", "x.txt", "2")),
], ids=["builtin", "extension", "unparsable", "same record twice"])
def test_errors_match_torch(fill):
    assert _closing_error(ep, fill) == _closing_error(tp, fill)


def test_bad_importer_matches_torch():
    messages = []
    for package in (tp, ep):
        with pytest.raises(TypeError) as caught:
            package.PackageExporter(io.BytesIO(), importer=42)
        messages.append(str(caught.value))
    assert messages[1] == messages[0]


def _records(package, fill):
    buffer = io.BytesIO()
    seen = []
    with package.PackageExporter(buffer) as exporter:
        exporter.register_intern_hook(lambda e, name: seen.append(("intern", name)))
        exporter.register_extern_hook(lambda e, name: seen.append(("extern", name)))
        fill(exporter)
    archive = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    # Left out: torch's random serialization_id, which ember does not write.
    prefix = archive.namelist()[0].split("/")[0] + "/"
    contents = {n[len(prefix):]: archive.read(n) for n in archive.namelist()
                if not n.endswith("/serialization_id")}
    return seen, contents


@pytest.mark.parametrize("fill", [
    lambda e: e.save_text("notes", "a.txt", "hello"),  # no modules at all
    lambda e: e.save_pickle("data", "d.pkl", {"x": [1, 2.5, "s"]}),
    lambda e: (e.save_source_string("pkg", "import json\nfrom . import leaf\n", True),
               e.save_source_string("pkg.leaf", "VALUE = 1\n")),
], ids=["text only", "plain pickle", "sources"])
def test_records_and_hooks_match_torch(fill):
    ours, theirs = _records(ep, fill), _records(tp, fill)
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
