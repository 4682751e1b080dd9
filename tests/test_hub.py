"""ember.hub against torch.hub: cache folders, downloads (file:// and a local HTTP server),
sha256-prefix checks, checkpoint loading, and hubconf.py entrypoints (local folders, cached
and downloaded GitHub repositories), with torch's results and error messages."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import zipfile
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torch.hub

import ember
from ember import hub


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private TORCH_HOME for both libraries, and neither has a set_dir override."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    for var in ("TORCH_HUB", "TORCH_MODEL_ZOO"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(hub, "_hub_dir", None)
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    return tmp_path


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.requests = {}, []
    httpd.url = f"http://localhost:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- folders -------------------------------------------------------------------------------

@pytest.mark.parametrize("env", [
    {"TORCH_HOME": "{tmp}/th"},
    {"TORCH_HOME": None, "XDG_CACHE_HOME": "{tmp}/xdg"},
    {"TORCH_HOME": None, "XDG_CACHE_HOME": None, "HOME": "{tmp}/user"},
    {"TORCH_HOME": "~/custom", "HOME": "{tmp}/user"},
])
def test_get_dir_follows_torch(home, monkeypatch, env):
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value.format(tmp=home))
    assert hub.get_dir() == torch.hub.get_dir()


def test_set_dir_and_deprecated_env(home, monkeypatch):
    monkeypatch.setenv("HOME", str(home / "user"))
    hub.set_dir("~/hubdir")
    torch.hub.set_dir("~/hubdir")
    assert hub.get_dir() == torch.hub.get_dir() == str(home / "user" / "hubdir")
    monkeypatch.setenv("TORCH_HUB", "x")
    with pytest.warns(UserWarning, match="TORCH_HUB is deprecated, please use env TORCH_HOME"):
        hub.get_dir()


# -- download_url_to_file -------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["file", "http"])
@pytest.mark.parametrize("good_hash", [None, True, False])
def test_download_url_to_file(home, server, scheme, good_hash, capfd):
    body = os.urandom(300_000)  # more than one read chunk
    src = home / "src.bin"
    src.write_bytes(body)
    server.files["/src.bin"] = body
    url = src.as_uri() if scheme == "file" else server.url + "/src.bin"
    prefix = None if good_hash is None else (_sha(body)[:10] if good_hash else "0123abcd")
    results = {}
    for name, lib in (("ember", hub), ("torch", torch.hub)):
        dst = home / name / "out.bin"
        dst.parent.mkdir()
        try:
            lib.download_url_to_file(url, str(dst), hash_prefix=prefix, progress=False)
            results[name] = dst.read_bytes()
        except RuntimeError as err:
            results[name] = str(err)
        assert os.listdir(dst.parent) == (["out.bin"] if good_hash is not False else [])
    assert results["ember"] == results["torch"]
    if good_hash is False:
        assert results["ember"] == f'invalid hash value (expected "0123abcd", got "{_sha(body)}")'
    else:
        assert results["ember"] == body
    assert capfd.readouterr().err == ""  # progress=False prints nothing


def test_download_progress_and_errors(home, server, capfd, monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    server.files["/a.bin"] = b"x" * 1000
    hub.download_url_to_file(server.url + "/a.bin", str(home / "a.bin"))
    assert "100%" in capfd.readouterr().err  # tqdm's bar, on stderr as torch's
    for lib in (hub, torch.hub):
        with pytest.raises(URLError) as info:  # HTTPError for a 404, as torch
            lib.download_url_to_file(server.url + "/missing", str(home / "m.bin"), progress=False)
        assert getattr(info.value, "code", None) == 404
        with pytest.raises(URLError):
            lib.download_url_to_file(_closed_port_url() + "/x", str(home / "m.bin"),
                                     progress=False)
    assert os.listdir(home) == ["a.bin"]  # no .partial files left behind


# -- load_state_dict_from_url ---------------------------------------------------------------

def _checkpoint(folder, stem="weights"):
    state = {"w": torch.arange(6.0).reshape(2, 3), "b": torch.tensor([1, 2], dtype=torch.int64)}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    body = buffer.getvalue()
    name = f"{stem}-{_sha(body)[:8]}.pth"
    (folder / name).write_bytes(body)
    return state, body, name


def _same_state(ours, theirs):
    assert sorted(ours) == sorted(theirs)
    for key, value in theirs.items():
        assert ours[key].dtype == getattr(ember, str(value.dtype).split(".")[1])
        np.testing.assert_array_equal(ours[key].numpy(), value.numpy())


@pytest.mark.parametrize("kwargs", [
    {}, {"check_hash": True}, {"map_location": "cpu", "weights_only": True},
    {"file_name": "renamed.pth"}, {"model_dir": "{tmp}/models", "progress": False},
])
def test_load_state_dict_from_url(home, server, kwargs, capsys):
    state, body, name = _checkpoint(home)
    server.files["/" + name] = body
    kwargs = {k: v.format(tmp=home) if isinstance(v, str) and "{" in v else v
              for k, v in kwargs.items()}
    url = f"{server.url}/{name}"
    ours = hub.load_state_dict_from_url(url, **kwargs)
    _same_state(ours, state)
    folder = kwargs.get("model_dir", os.path.join(hub.get_dir(), "checkpoints"))
    cached = os.path.join(folder, kwargs.get("file_name", name))
    assert os.path.isfile(cached)
    assert f'Downloading: "{url}" to {cached}\n' in capsys.readouterr().out
    # torch finds ember's cached file (same folder and name) and loads it without a request
    requests = len(server.requests)
    theirs = torch.hub.load_state_dict_from_url(url, **kwargs)
    assert len(server.requests) == requests
    _same_state(ours, theirs)


def test_load_state_dict_cached_file_url_and_bad_hash(home):
    state, body, name = _checkpoint(home)
    url = (home / name).as_uri()
    _same_state(hub.load_state_dict_from_url(url, check_hash=True), state)
    os.remove(home / name)  # cached now: the source may go away
    _same_state(hub.load_state_dict_from_url(url, check_hash=True), state)
    bad = home / "weights-deadbeef.pth"
    bad.write_bytes(body)
    messages = []
    for lib in (hub, torch.hub):
        with pytest.raises(RuntimeError) as info:
            lib.load_state_dict_from_url(bad.as_uri(), check_hash=True)
        messages.append(str(info.value))
    assert messages[0] == messages[1] == (
        f'invalid hash value (expected "deadbeef", got "{_sha(body)}")')
    assert not os.path.exists(os.path.join(hub.get_dir(), "checkpoints", bad.name))


def test_load_state_dict_legacy_zip(home):
    state = {"w": torch.ones(2, 2)}
    raw = io.BytesIO()
    torch.save(state, raw, _use_new_zipfile_serialization=False)
    with zipfile.ZipFile(home / "legacy.zip", "w") as archive:
        archive.writestr("legacy.pth", raw.getvalue())
    url = (home / "legacy.zip").as_uri()
    with pytest.warns(FutureWarning, match="Falling back to the old format < 1.6"):
        ours = hub.load_state_dict_from_url(url, weights_only=False)
    _same_state(ours, state)
    assert os.path.isfile(os.path.join(hub.get_dir(), "checkpoints", "legacy.pth"))


# -- hubconf entrypoints ----------------------------------------------------------------------

HUBCONF = '''
dependencies = {deps}

import helper_module


def tiny(width=3, scale=1.0):
    """A tiny model: {{width}} numbers."""
    return [scale * i for i in range(width)] + [helper_module.TAG]


def _private():
    return None


not_callable = 5
'''


def _repo(folder, deps=("os",)):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hubconf.py").write_text(HUBCONF.format(deps=list(deps)))
    (folder / "helper_module.py").write_text("TAG = 'from-helper'\n")
    return str(folder)


@pytest.mark.parametrize("call", [
    lambda lib, d: lib.load(d, "tiny", source="local"),
    lambda lib, d: lib.load(d, "tiny", 4, source="LOCAL", scale=2.0),
    lambda lib, d: lib.load(d, "missing", source="local"),
    lambda lib, d: lib.load(d, "not_callable", source="local"),
    lambda lib, d: lib.load(d, 3, source="local"),
    lambda lib, d: lib.load(d, "tiny", source="gitlab"),
    lambda lib, d: lib.load(d + "_nodeps", "tiny", source="local"),
])
def test_load_local_matches_torch(home, call):
    folder = _repo(home / "repo")
    _repo(home / "repo_nodeps", deps=("os", "surely_missing_pkg", "another_missing"))
    results = []
    for lib in (hub, torch.hub):
        sys.modules.pop("helper_module", None)
        try:
            results.append(call(lib, folder))
        except Exception as err:  # noqa: BLE001 - the type and text are compared
            results.append((type(err), str(err)))
    assert results[0] == results[1]
    assert folder not in sys.path  # the folder is on sys.path only while hubconf runs


def _cached_repo(owner="someone", name="models", ref="main"):
    return _repo(Path(hub.get_dir()) / f"{owner}_{name}_{ref}")


def test_github_cached_repo_list_help_load(home, monkeypatch, capsys):
    _cached_repo()
    monkeypatch.setattr(hub, "_GITHUB", _closed_port_url())  # offline, whatever the machine
    for github in ("someone/models:main", "someone/models"):
        sys.modules.pop("helper_module", None)
        assert hub.list(github, trust_repo=True) == ["tiny"]
        assert hub.help(github, "tiny", trust_repo=True) == "A tiny model: {width} numbers."
        assert hub.load(github, "tiny", 2, trust_repo=True) == [0.0, 1.0, "from-helper"]
    assert "Using cache found in" in capsys.readouterr().err
    # torch reads the same cache folder (ref given: no network needed)
    sys.modules.pop("helper_module", None)
    assert torch.hub.list("someone/models:main", trust_repo=True) == ["tiny"]
    assert torch.hub.load("someone/models:main", "tiny", 2, trust_repo=True) == [
        0.0, 1.0, "from-helper"]


def test_github_offline_without_cache_is_a_clear_error(home, monkeypatch):
    monkeypatch.setattr(hub, "_GITHUB", _closed_port_url())
    monkeypatch.setattr(hub, "_GITHUB_API", _closed_port_url())
    with pytest.raises(RuntimeError) as info:
        hub.load("someone/models", "tiny", trust_repo=True)
    assert str(info.value) == ("It looks like there is no internet connection and the repo "
                               f"could not be found in the cache ({hub.get_dir()})")
    with pytest.raises(URLError) as info:
        hub.list("someone/models:v1", trust_repo=True)
    text = str(info.value)
    assert "cannot download someone/models at v1" in text
    assert os.path.join(hub.get_dir(), "someone_models_v1") in text


def _zipball(top="someone-models-abc123"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{top}/", "")
        archive.writestr(f"{top}/hubconf.py", HUBCONF.format(deps=["os"]))
        archive.writestr(f"{top}/helper_module.py", "TAG = 'downloaded'\n")
    return buffer.getvalue()


@pytest.mark.parametrize("validate", [False, True])
def test_github_download_extracts_and_validates(home, server, monkeypatch, validate):
    monkeypatch.setattr(hub, "_GITHUB", server.url)
    monkeypatch.setattr(hub, "_GITHUB_API", server.url + "/api")
    server.files["/someone/models/tree/main/"] = b"ok"
    server.files["/someone/models/zipball/main"] = _zipball()
    branches = [{"name": "dev", "commit": {"sha": "1111"}}, {"name": "main",
                                                            "commit": {"sha": "2222"}}]
    server.files["/api/repos/someone/models/branches?per_page=100&page=1"] = json.dumps(
        branches).encode()
    sys.modules.pop("helper_module", None)
    result = hub.load("someone/models", "tiny", 1, trust_repo=True,
                      skip_validation=not validate)
    assert result == [0.0, "downloaded"]
    repo_dir = os.path.join(hub.get_dir(), "someone_models_main")
    assert {"helper_module.py", "hubconf.py"} <= set(os.listdir(repo_dir))
    assert "main.zip" not in os.listdir(hub.get_dir())
    assert any(p.startswith("/api/") for p in server.requests) == validate
    with open(os.path.join(hub.get_dir(), "trusted_list")) as f:
        assert f.read() == "someone_models\n"


def test_github_fork_ref_is_rejected(home, server, monkeypatch):
    monkeypatch.setattr(hub, "_GITHUB_API", server.url + "/api")
    server.files["/api/repos/someone/models/branches?per_page=100&page=1"] = b"[]"
    server.files["/api/repos/someone/models/tags?per_page=100&page=1"] = b"[]"
    with pytest.raises(ValueError, match="Cannot find deadbeef in https://github.com/someone/"
                                         "models. If it's a commit from a forked repo"):
        hub.list("someone/models:deadbeef", trust_repo=True)


@pytest.mark.parametrize("answer, error", [("n", "Untrusted repository."),
                                           ("maybe", "Unrecognized response maybe."),
                                           ("y", None)])
def test_untrusted_repo_asks(home, monkeypatch, answer, error):
    _cached_repo(owner="stranger")
    prompts = []
    monkeypatch.setattr("builtins.input", lambda text: prompts.append(text) or answer)
    sys.modules.pop("helper_module", None)
    if error is None:
        assert hub.list("stranger/models:main", trust_repo=False) == ["tiny"]
    else:
        with pytest.raises(Exception, match=error):
            hub.list("stranger/models:main", trust_repo=False)
    assert prompts[0].startswith("The repository stranger_models does not belong to the list "
                                 "of trusted repositories")


def test_ember_run_maps_torch_in_hubconf(tmp_path):
    """Under ``ember run``, a hubconf that imports torch builds an ember module."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "hubconf.py").write_text(textwrap.dedent('''
        dependencies = ["torch"]
        import torch


        def linear(n=2):
            """A Linear layer."""
            torch.manual_seed(0)
            return torch.nn.Linear(n, 1)
    '''))
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(f'''
        import torch
        m = torch.hub.load({str(repo)!r}, "linear", 3, source="local")
        print(type(m).__module__, tuple(m.weight.shape))
    '''))
    env = dict(os.environ, TQDM_DISABLE="1")
    out = subprocess.run([sys.executable, "-m", "ember", "run", str(script)], check=False,
                         cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ember.nn.modules.linear", "(1,", "3)"]


def test_hub_namespace_and_vision_loads_through_it(home, monkeypatch):
    import ember.vision.models._api as api

    assert ember.hub is hub
    assert set(hub.__all__) == set(torch.hub.__all__)
    state, _, name = _checkpoint(home)
    calls = []
    real = hub.load_state_dict_from_url
    monkeypatch.setattr(hub, "load_state_dict_from_url",
                        lambda *a, **k: calls.append((a, k)) or real(*a, **k))
    monkeypatch.setenv("EMBER_HOME", str(home / "eh"))
    _same_state(api.load_state_dict_from_url((home / name).as_uri(), check_hash=True), state)
    assert len(calls) == 1 and calls[0][1]["check_hash"] is True
    assert os.path.isfile(home / "eh" / "hub" / "checkpoints" / name)
