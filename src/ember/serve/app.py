"""The HTTP face of a model: a Starlette app (served by uvicorn) around one ember module.

Routes:
  POST /predict   JSON ``{"inputs": [...]}`` (a batch, or one instance with
                  ``"instance": true``) or an ``.npy`` body (``application/x-npy``);
                  answers ``{"outputs": [...]}`` or ``.npy`` alike. Bad input is a 400 with
                  the reason, a model that rejects the input's shape a 422 with its error.
  GET  /health    ``{"status": "ok"}``
  GET  /metadata  the model's class, parameter count, device, batching settings
  GET  /metrics   Prometheus text: requests, errors, instances, batches, latency
Requests that arrive together are batched into one forward pass (``_batcher``).
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time

import numpy as np

from ._batcher import DynamicBatcher

NPY = "application/x-npy"


class Stats:
    """Counters for /metrics (updated from the event loop and the model thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = self.errors = self.instances = self.batches = 0
        self.batched_instances = 0
        self.latency_sum = 0.0
        self.model_seconds = 0.0

    def record_request(self, instances: int, seconds: float, ok: bool) -> None:
        with self._lock:
            self.requests += 1
            self.errors += not ok
            self.instances += instances if ok else 0
            self.latency_sum += seconds

    def record_batch(self, size: int, seconds: float) -> None:
        with self._lock:
            self.batches += 1
            self.batched_instances += size
            self.model_seconds += seconds

    def prometheus(self) -> str:
        rows = [("ember_requests_total", "counter", "predict requests", self.requests),
                ("ember_request_errors_total", "counter", "rejected requests", self.errors),
                ("ember_instances_total", "counter", "instances predicted", self.instances),
                ("ember_batches_total", "counter", "forward passes", self.batches),
                ("ember_batched_instances_total", "counter", "instances over all forward passes",
                 self.batched_instances),
                ("ember_request_seconds_sum", "counter", "request latency, summed",
                 self.latency_sum),
                ("ember_model_seconds_sum", "counter", "time in forward passes, summed",
                 self.model_seconds)]
        lines = []
        for name, kind, text, value in rows:
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", f"{name} {value}"]
        return "\n".join(lines) + "\n"


class BadRequest(Exception):
    pass


def _decode(body: bytes, content_type: str):
    """(batch array, whether one instance was sent, whether to answer in .npy)."""
    if content_type.startswith(NPY):
        try:
            array = np.load(io.BytesIO(body), allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise BadRequest(f"the body is not a .npy array: {error}") from None
        if array.ndim == 0:
            raise BadRequest("an .npy body must hold a batch: an array with a leading "
                             "batch dimension")
        return array, False, True
    try:
        payload = json.loads(body or b"null")
    except json.JSONDecodeError as error:
        raise BadRequest(f"the body is not JSON: {error}") from None
    if not isinstance(payload, dict) or "inputs" not in payload:
        raise BadRequest('expected a JSON object with an "inputs" field')
    instance = bool(payload.get("instance", False))
    try:
        array = np.asarray(payload["inputs"])
    except ValueError as error:
        raise BadRequest(f'"inputs" is not a rectangular array: {error}') from None
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise BadRequest('"inputs" must hold numbers (a nested list of equal-length rows)')
    if instance:
        array = array[None]
    elif array.ndim == 0:
        raise BadRequest('"inputs" must be a batch (a list of instances); send one instance '
                         'with "instance": true')
    return array, instance, False


def _encode_npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


class ModelRunner:
    """Runs the module on a NumPy batch under inference mode; returns a NumPy batch.

    Inputs are cast to ``input_dtype``; by default to the model's parameter dtype, except
    integer inputs to a model that starts with an embedding (token ids stay integers)."""

    def __init__(self, model, device=None, input_dtype=None) -> None:
        import ember

        self.model = model.eval()
        params = list(model.parameters())
        self.device = ember.device(device) if device is not None else (
            params[0].device if params else ember.device("cpu"))
        self.input_dtype = input_dtype or (params[0].dtype if params else ember.float32)
        leaves = [m for m in model.modules() if not list(m.children())]
        self.keep_integers = input_dtype is None and bool(leaves) and isinstance(
            leaves[0], (ember.nn.Embedding, ember.nn.EmbeddingBag))
        self.lock = threading.Lock()  # one forward pass at a time

    def __call__(self, array: np.ndarray) -> np.ndarray:
        import ember

        inputs = ember.from_numpy(np.ascontiguousarray(array))
        if not (self.keep_integers and array.dtype.kind in "biu"):
            inputs = inputs.to(self.input_dtype)
        with self.lock, ember.inference_mode():
            output = self.model(inputs.to(self.device))
        if isinstance(output, (tuple, list)):
            output = output[0]
        return output.detach().cpu().numpy()


def create_app(model, *, max_batch_size: int = 32, max_delay_ms: float = 5.0, device=None,
               input_dtype=None):
    """A Starlette app serving ``model`` (an ember ``nn.Module``) over HTTP."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    runner = ModelRunner(model, device=device, input_dtype=input_dtype)
    stats = Stats()
    batcher = DynamicBatcher(runner, max_batch_size=max_batch_size,
                             max_delay=max_delay_ms / 1000, stats=stats)

    async def predict(request):
        started = time.perf_counter()
        body = await request.body()
        try:
            array, instance, as_npy = _decode(body, request.headers.get("content-type", ""))
            if len(array) > max_batch_size:
                raise BadRequest(f"a request may hold at most {max_batch_size} instances, got "
                                 f"{len(array)}")
        except BadRequest as error:
            stats.record_request(0, time.perf_counter() - started, ok=False)
            return JSONResponse({"error": str(error)}, status_code=400)
        try:
            outputs = await batcher.submit(array)
        except (RuntimeError, ValueError, TypeError, IndexError) as error:
            stats.record_request(0, time.perf_counter() - started, ok=False)
            return JSONResponse({"error": f"{type(error).__name__}: {error}"},
                                status_code=422)
        stats.record_request(len(array), time.perf_counter() - started, ok=True)
        if as_npy:
            return Response(_encode_npy(outputs), media_type=NPY)
        return JSONResponse({"outputs": (outputs[0] if instance else outputs).tolist()})

    async def health(request):
        return JSONResponse({"status": "ok"})

    async def metadata(request):
        parameters = sum(p.numel() for p in model.parameters())
        return JSONResponse({"model": type(model).__name__, "parameters": parameters,
                             "device": str(runner.device), "input_dtype": str(
                                 runner.input_dtype).replace("torch.", ""),
                             "max_batch_size": max_batch_size, "max_delay_ms": max_delay_ms})

    async def metrics(request):
        return PlainTextResponse(stats.prometheus(), media_type="text/plain; version=0.0.4")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        yield
        await batcher.stop()

    app = Starlette(routes=[Route("/predict", predict, methods=["POST"]),
                            Route("/health", health), Route("/metadata", metadata),
                            Route("/metrics", metrics)], lifespan=lifespan)
    app.state.stats = stats
    return app


def serve(model, host: str = "127.0.0.1", port: int = 8000, *, max_batch_size: int = 32,
          max_delay_ms: float = 5.0, device=None, log_level: str = "info") -> None:
    """Serve ``model`` until interrupted (uvicorn)."""
    import uvicorn

    app = create_app(model, max_batch_size=max_batch_size, max_delay_ms=max_delay_ms,
                     device=device)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
