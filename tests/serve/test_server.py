"""ember.serve over real HTTP on the loopback: predictions equal the model's own outputs
(JSON and .npy), concurrent requests share forward passes, bad requests get 400/422 with
the reason and do not disturb the others, /health /metadata /metrics, and `ember serve`
from a checkpoint file."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import oracle
import pytest
import uvicorn
from oracle import as_numpy

import ember
from ember.serve import create_app

RNG = np.random.default_rng(0)
# A request's rows may ride in a bigger batch than the reference computes: one GEMM over
# more rows can round the last bit differently, so float32 outputs agree to 1e-5.
RTOL = 1e-5
# the folder holding the ember package under test: a child process finds it there even
# where ember is not installed (the tests put src/ on sys.path, not the environment)
_EMBER_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(ember.__file__)))


def _model(device="cpu"):
    """The served model, built on the cpu (same weights everywhere), then moved."""
    ember.manual_seed(0)
    return ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(),
                               ember.nn.Linear(8, 3)).to(device)


@pytest.fixture(scope="module")
def server():
    """(base url, model, app) of a server running in a background thread, its model on the
    oracle's device (pytest --device cuda): requests arrive and leave as host arrays."""
    model = _model(oracle.DEVICE)
    app = create_app(model, max_batch_size=16, max_delay_ms=30)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not running.started:
        assert time.time() < deadline, "the server did not start"
        time.sleep(0.02)
    port = running.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", model, app
    running.should_exit = True
    thread.join(timeout=10)


def _post(url, body, content_type="application/json"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers.get("content-type"), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type"), error.read()


def _expected(model, x):
    device = next(model.parameters()).device
    with ember.no_grad():
        return as_numpy(model(ember.tensor(x, dtype=ember.float32, device=device)))


def test_predict_json_batch_and_instance(server):
    url, model, _ = server
    x = RNG.standard_normal((5, 4))
    status, _, body = _post(url + "/predict", {"inputs": x.tolist()})
    assert status == 200
    np.testing.assert_allclose(json.loads(body)["outputs"], _expected(model, x), rtol=RTOL)
    status, _, body = _post(url + "/predict", {"inputs": x[0].tolist(), "instance": True})
    assert status == 200
    np.testing.assert_allclose(json.loads(body)["outputs"], _expected(model, x[:1])[0],
                               rtol=RTOL)


def test_predict_npy_round_trip(server):
    url, model, _ = server
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    buffer = io.BytesIO()
    np.save(buffer, x)
    status, content_type, body = _post(url + "/predict", buffer.getvalue(), "application/x-npy")
    assert status == 200 and content_type == "application/x-npy"
    np.testing.assert_allclose(np.load(io.BytesIO(body)), _expected(model, x), rtol=RTOL)


def test_concurrent_requests_share_forward_passes(server):
    url, model, app = server
    stats = app.state.stats
    before_batches, before_requests = stats.batches, stats.requests
    inputs = [RNG.standard_normal((2, 4)) for _ in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        replies = list(pool.map(lambda x: _post(url + "/predict", {"inputs": x.tolist()}),
                                inputs))
    for x, (status, _, body) in zip(inputs, replies):
        assert status == 200
        np.testing.assert_allclose(json.loads(body)["outputs"], _expected(model, x), rtol=RTOL)
    assert stats.requests - before_requests == 12
    assert stats.batches - before_batches < 12  # some requests rode together


@pytest.mark.parametrize("body,content_type,status,message", [
    (b"{not json", "application/json", 400, "the body is not JSON"),
    (b'{"x": 1}', "application/json", 400, 'expected a JSON object with an "inputs" field'),
    (b'{"inputs": [[1, 2], [3]]}', "application/json", 400, "not a rectangular array"),
    (b'{"inputs": ["a", "b"]}', "application/json", 400, '"inputs" must hold numbers'),
    (b'{"inputs": 3}', "application/json", 400, '"inputs" must be a batch'),
    (b"not npy", "application/x-npy", 400, "the body is not a .npy array"),
    (json.dumps({"inputs": np.zeros((17, 4)).tolist()}).encode(), "application/json", 400,
     "at most 16 instances, got 17"),
    (b'{"inputs": [[1, 2, 3]]}', "application/json", 422,
     "mat1 and mat2 shapes cannot be multiplied (1x3 and 4x8)"),
    (b'{"inputs": [[1, 2, 3, 4], [5, 6, 7]]}', "application/json", 400,
     "not a rectangular array"),
])
def test_bad_requests_get_the_reason(server, body, content_type, status, message):
    url, _, _ = server
    got, _, reply = _post(url + "/predict", body, content_type)
    assert got == status
    assert message in json.loads(reply)["error"]


def test_a_bad_request_batched_with_good_ones_fails_alone(server):
    url, model, _ = server
    good = [RNG.standard_normal((1, 4)) for _ in range(4)]
    bodies = [{"inputs": x.tolist()} for x in good] + [{"inputs": [[1.0, 2.0, 3.0]]}]
    with ThreadPoolExecutor(max_workers=5) as pool:
        replies = list(pool.map(lambda b: _post(url + "/predict", b), bodies))
    for x, (status, _, body) in zip(good, replies[:4]):
        assert status == 200
        np.testing.assert_allclose(json.loads(body)["outputs"], _expected(model, x), rtol=RTOL)
    assert replies[4][0] == 422


def test_integer_inputs_become_floats_except_token_ids():
    from ember.serve.app import ModelRunner

    linear = ModelRunner(_model(oracle.DEVICE))
    ints = np.array([[1, 2, 3, 4]])
    np.testing.assert_allclose(linear(ints), _expected(_model(), ints.astype(np.float32)),
                               rtol=RTOL)
    ember.manual_seed(0)
    tagger = ember.nn.Sequential(ember.nn.Embedding(10, 4), ember.nn.Linear(4, 2))
    out = ModelRunner(tagger.to(oracle.DEVICE))(np.array([[1, 2, 3]]))
    with ember.no_grad():
        expected = tagger(ember.tensor([[1, 2, 3]], device=oracle.DEVICE))
    assert type(out) is np.ndarray and np.array_equal(out, as_numpy(expected))


def test_health_metadata_metrics(server):
    url, _, _ = server
    with urllib.request.urlopen(url + "/health", timeout=10) as response:
        assert json.loads(response.read()) == {"status": "ok"}
    with urllib.request.urlopen(url + "/metadata", timeout=10) as response:
        meta = json.loads(response.read())
    assert meta["model"] == "Sequential" and meta["parameters"] == 4 * 8 + 8 + 8 * 3 + 3
    assert meta["max_batch_size"] == 16
    assert meta["device"] == ("cpu" if oracle.DEVICE == "cpu" else f"{oracle.DEVICE}:0")
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    assert "# TYPE ember_requests_total counter" in text
    assert any(line.startswith("ember_batches_total ") for line in text.splitlines())


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ember_serve_command_serves_a_checkpoint(tmp_path):
    """A state_dict checkpoint saved from the oracle's device: `ember serve` maps it onto
    its --device (cpu here: the child process has no GPU, as a CPU-only server has not)."""
    model = _model(oracle.DEVICE)
    whole, weights = tmp_path / "model.pt", tmp_path / "weights.pt"
    ember.save(_model(), whole)  # a whole pickled module: saved from the cpu
    ember.save({"model": model.state_dict(), "epoch": 3}, weights)
    for where in ("cpu", oracle.DEVICE):
        loaded = ember.load(weights, map_location=where)["model"]
        assert {t.device.type for t in loaded.values()} == {where}
    (tmp_path / "netdef.py").write_text(
        "import ember\n\ndef build():\n    return ember.nn.Sequential(ember.nn.Linear(4, 8), "
        "ember.nn.ReLU(), ember.nn.Linear(8, 3))\n")
    x = RNG.standard_normal((2, 4))
    for args in ([str(whole)], [str(weights), "--model", "netdef:build"]):
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "ember", "serve", *args, "--port", str(port),
             "--max-delay-ms", "1"], cwd=tmp_path, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                [str(tmp_path), _EMBER_ROOT, os.environ.get("PYTHONPATH", "")])))
        try:
            deadline = time.time() + 30
            while True:
                try:
                    status, _, body = _post(f"http://127.0.0.1:{port}/predict",
                                            {"inputs": x.tolist()})
                    break
                except (ConnectionError, urllib.error.URLError):
                    assert process.poll() is None, process.stdout.read().decode()
                    assert time.time() < deadline, "ember serve did not come up"
                    time.sleep(0.1)
            assert status == 200
            np.testing.assert_allclose(json.loads(body)["outputs"], _expected(model, x),
                                       rtol=RTOL)
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_ember_serve_reports_a_state_dict_without_a_factory(tmp_path):
    path = tmp_path / "weights.pt"
    ember.save(_model().state_dict(), path)
    result = subprocess.run([sys.executable, "-m", "ember", "serve", str(path)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "not a module: pass --model package.module:factory" in result.stderr
    missing = subprocess.run([sys.executable, "-m", "ember", "serve", str(tmp_path / "no.pt")],
                             capture_output=True, text=True, timeout=60, check=False)
    assert missing.returncode == 1 and "no checkpoint at" in missing.stderr


def test_model_runner_on_the_oracle_device():
    """A model on the oracle's device (pytest --device cuda) serves: each batch goes to the
    model's device and the answer comes back as a host array."""
    import oracle

    from ember.serve.app import ModelRunner

    runner = ModelRunner(_model().to(oracle.DEVICE))
    assert runner.device.type == oracle.DEVICE
    batch = RNG.standard_normal((5, 4)).astype(np.float32)
    out = runner(batch)
    assert type(out) is np.ndarray
    np.testing.assert_allclose(out, _model()(ember.tensor(batch)).detach().numpy(), rtol=RTOL)
