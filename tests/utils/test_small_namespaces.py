"""The small torch namespaces against torch: utils.model_zoo, utils.weak, types, storage,
utils.collect_env, utils.throughput_benchmark, utils.show_pickle, utils.module_tracker."""

from __future__ import annotations

import copy
import gc
import importlib
import io
import json
import pickle
import threading
import time
import warnings

import pytest
import torch
import torch.types
import torch.utils.collect_env
import torch.utils.show_pickle
import torch.utils.throughput_benchmark
import torch.utils.weak

import ember
import ember.storage
import ember.types
import ember.utils.collect_env as collect_env
import ember.utils.model_zoo as model_zoo
import ember.utils.show_pickle as show_pickle
import ember.utils.throughput_benchmark as throughput_benchmark
import ember.utils.weak as weak
from ember.utils.module_tracker import ModuleTracker


# ---- model_zoo ------------------------------------------------------------------------------

def test_model_zoo_load_url_reads_a_checkpoint(tmp_path):
    state = {"weight": ember.arange(6.0).view(2, 3)}
    ember.save(state, tmp_path / "net-0123abcd.pth")
    loaded = model_zoo.load_url((tmp_path / "net-0123abcd.pth").as_uri(),
                                model_dir=str(tmp_path / "cache"), progress=False)
    assert ember.equal(loaded["weight"], state["weight"])
    assert model_zoo.load_url is ember.hub.load_state_dict_from_url
    import tqdm

    assert model_zoo.tqdm is tqdm.tqdm


# ---- weak ----------------------------------------------------------------------------------

def _weak_dict_story(lib, module):
    """The same sequence of operations on torch's and ember's WeakIdKeyDictionary."""
    a, b, c = lib.zeros(2), lib.zeros(2), lib.ones(1)  # a and b are equal, not the same
    d = module.WeakIdKeyDictionary()
    d[a] = "a"
    d[b] = "b"
    seen = [len(d), d[a], d[b], a in d, c in d, 3 in d, d.get(c, "none")]
    assert d.setdefault(c, "c") == "c" and d.setdefault(c, "x") == "c"
    seen.append(sorted(d.values()))
    copied = d.copy()
    deep = copy.deepcopy(d)
    seen += [copied == d, deep[a], len(d | {c: "C"}), (d | {c: "C"})[c]]
    seen.append(d.pop(b))
    seen.append(len(d))
    del a
    gc.collect()
    seen += [len(d), sorted(d.values()), len(d.keyrefs())]
    key, value = d.popitem()
    seen += [key is c, value, len(d)]
    d.update({c: "again"}, **{})
    seen.append(list(d.items())[0][1])
    return seen


def test_weak_id_key_dictionary_behaves_as_torch():
    assert _weak_dict_story(ember, weak) == _weak_dict_story(torch, torch.utils.weak)
    assert weak.WeakTensorKeyDictionary is weak.WeakIdKeyDictionary


def test_weak_id_ref_equality_and_hash():
    for lib, module in ((ember, weak), (torch, torch.utils.weak)):
        x, y = lib.zeros(1), lib.zeros(1)
        rx, rx2, ry = module.WeakIdRef(x), module.WeakIdRef(x), module.WeakIdRef(y)
        assert hash(rx) == id(x) and rx == rx2 and not rx == ry and rx() is x
        del x
        gc.collect()
        assert rx() is None and not rx == rx2 and rx == rx


def test_tensor_weak_ref():
    t = ember.ones(2)
    ref = weak.TensorWeakRef(t)
    assert ref() is t
    del t
    gc.collect()
    assert ref() is None
    for lib, module in ((torch, torch.utils.weak), (ember, weak)):
        with pytest.raises(AssertionError, match="expected torch.Tensor"):
            module.TensorWeakRef([1])


# ---- types, storage ----------------------------------------------------------------------------

def test_types_aliases():
    assert ember.types.__all__ == torch.types.__all__
    assert ember.types.Number == torch.types.Number
    assert ember.types.FileLike == torch.types.FileLike
    assert ember.types._Number == torch.types._Number
    for value in ("cpu", 0, None, ember.device("cpu")):
        assert isinstance(value, ember.types.Device)
    assert set(vars(torch.types.Storage)) - set(vars(ember.types.Storage)) <= {
        "__annotations__", "__module__", "__dict__", "__weakref__", "__doc__"}
    with pytest.raises(NotImplementedError):
        ember.types.Storage().nbytes()


@pytest.fixture
def restore_storage_warning():
    saved = (ember.storage._warned[0], ember.storage._get_always_warn_typed_storage_removal())
    yield
    ember.storage._warned[0] = saved[0]
    ember.storage._set_always_warn_typed_storage_removal(saved[1])


def test_storage_module(restore_storage_warning):
    assert ember.storage.__all__ == torch.storage.__all__
    assert ember.storage.UntypedStorage is ember.UntypedStorage
    assert ember.storage.TypedStorage is ember.TypedStorage
    ember.storage._reset_warn_typed_storage_removal()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ember.storage._warn_typed_storage_removal()
        ember.storage._warn_typed_storage_removal()  # once per process
        ember.storage._set_always_warn_typed_storage_removal(True)
        ember.storage._warn_typed_storage_removal()
    assert len(caught) == 2 and "TypedStorage is deprecated" in str(caught[0].message)


# ---- collect_env -------------------------------------------------------------------------------

def test_collect_env_reports_ember_honestly(capsys):
    import numpy

    info = collect_env.get_env_info()
    assert info.ember_version == ember.__version__
    assert info.numpy_version == numpy.__version__
    assert info.is_cuda_available.startswith(str(ember.cuda.is_available()))
    assert "numpy==" in info.pip_packages
    text = collect_env.get_pretty_env_info()
    assert f"ember version: {ember.__version__}" in text and "Python version: " in text
    assert "PyTorch" not in text
    collect_env.main()
    out = capsys.readouterr().out
    assert out.startswith("Collecting environment information...\n")
    code, stdout, _ = collect_env.run(["python3", "-c", "print(42)"])
    assert (code, stdout) == torch.utils.collect_env.run(["python3", "-c", "print(42)"])[:2]
    assert collect_env.run(["/nonexistent-command"])[0] != 0


# ---- throughput_benchmark ----------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [{"time_us": 5}, {"time_us": 12345}, {"time_ms": 3.5},
                                    {"time_s": 2}, {"time_ms": 0.25}])
def test_format_time_matches_torch(kwargs):
    assert (throughput_benchmark.format_time(**kwargs)
            == torch.utils.throughput_benchmark.format_time(**kwargs))


def test_throughput_benchmark_runs_from_several_threads(tmp_path):
    calls = []
    lock = threading.Lock()
    linear = ember.nn.Linear(3, 2)

    def model(x, scale=1.0):
        with lock:
            calls.append(threading.get_ident())
        time.sleep(0.001)  # let the other thread in
        return linear(x) * scale

    bench = throughput_benchmark.ThroughputBenchmark(model)
    with pytest.raises(RuntimeError, match="Please provide benchmark inputs"):
        bench.benchmark()
    bench.add_input(ember.ones(1, 3))
    bench.add_input(ember.zeros(1, 3), scale=2.0)
    x = ember.randn(1, 3)
    assert ember.equal(bench.run_once(x, scale=3.0), linear(x) * 3.0)
    calls.clear()
    trace = tmp_path / "trace.json"
    stats = bench.benchmark(num_calling_threads=2, num_warmup_iters=3, num_iters=20,
                            profiler_output_path=str(trace))
    assert stats.num_iters == 20 and len(calls) == 2 * 3 + 20
    assert len(set(calls)) == 2
    assert stats.latency_avg_ms > 0
    assert stats.total_time_seconds == pytest.approx(20 * stats.latency_avg_ms / 1000 / 2)
    assert stats.iters_per_second == pytest.approx(20 / stats.total_time_seconds)
    assert str(stats).splitlines()[1] == "Total number of iterations: 20"
    assert stats.benchmark_config.num_calling_threads == 2
    assert "traceEvents" in json.loads(trace.read_text())


def test_throughput_benchmark_error_matches_torch():
    messages = []
    for module in (torch.utils.throughput_benchmark, throughput_benchmark):
        bench = module.ThroughputBenchmark(lambda x: x)
        with pytest.raises(RuntimeError) as info:
            bench.benchmark()
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_throughput_benchmark_reraises_model_errors():
    def broken(x):
        raise ValueError("boom")

    bench = throughput_benchmark.ThroughputBenchmark(broken)
    bench.add_input(1)
    with pytest.raises(ValueError, match="boom"):
        bench.benchmark(num_calling_threads=2, num_warmup_iters=1, num_iters=4)


# ---- show_pickle -------------------------------------------------------------------------------

class _Point:
    def __init__(self, x):
        self.x = x


class _Persistent(pickle.Pickler):
    def persistent_id(self, obj):
        return ("storage", "key0") if obj == "STORED" else None


def _pickles(tmp_path):
    plain = pickle.dumps({"a": [1, 2.5, "text", None], "p": _Point(3), "t": (True, b"x")},
                         protocol=2)
    buffer = io.BytesIO()
    _Persistent(buffer, protocol=2).dump({"w": "STORED", "n": 4})
    torch.save({"weight": torch.ones(2, 3), "step": 7}, tmp_path / "ckpt.pt")
    return plain, buffer.getvalue()


def _dump(module, data):
    out = io.StringIO()
    module.DumpUnpickler.dump(io.BytesIO(data), out)
    return out.getvalue()


def test_show_pickle_prints_as_torch(tmp_path):
    plain, persistent = _pickles(tmp_path)
    for data in (plain, persistent):
        assert _dump(show_pickle, data) == _dump(torch.utils.show_pickle, data)
    outputs = []
    for module in (show_pickle, torch.utils.show_pickle):
        for target in (f"{tmp_path}/ckpt.pt@*/data.pkl", f"{tmp_path}/ckpt.pt@ckpt/data.pkl"):
            stream = io.StringIO()
            assert module.main(["show_pickle", target], output_stream=stream) is None
            outputs.append(stream.getvalue())
    assert outputs[:2] == outputs[2:]
    assert "pers.obj(('storage'," in outputs[0] and "torch._utils._rebuild_tensor_v2" in outputs[0]
    (tmp_path / "plain.pkl").write_bytes(plain)
    stream = io.StringIO()
    show_pickle.main(["show_pickle", str(tmp_path / "plain.pkl")], output_stream=stream)
    assert stream.getvalue() == _dump(torch.utils.show_pickle, plain)


def test_show_pickle_errors_and_invalid_utf8(tmp_path, capsys):
    assert show_pickle.main(["show_pickle"]) == 2
    assert capsys.readouterr().err.startswith("usage: show_pickle PICKLE_FILE")
    with pytest.raises(Exception, match="Pass argv of length 2."):
        show_pickle.main(["show_pickle"], output_stream=io.StringIO())
    _pickles(tmp_path)
    with pytest.raises(Exception, match="Could not find member matching"):
        show_pickle.main(["p", f"{tmp_path}/ckpt.pt@*/nothing"], output_stream=io.StringIO())
    bad = b"\x80\x02X\x02\x00\x00\x00\xff\xfeq\x00."  # BINUNICODE with invalid UTF-8
    with pytest.raises(UnicodeDecodeError):
        show_pickle.DumpUnpickler(io.BytesIO(bad)).load()
    values = [module.DumpUnpickler(io.BytesIO(bad), catch_invalid_utf8=True).load()
              for module in (show_pickle, torch.utils.show_pickle)]
    assert repr(values[0]) == repr(values[1])
    assert repr(values[0]).startswith("builtin.UnicodeDecodeError(")


# ---- module_tracker ----------------------------------------------------------------------------

def _tracked_run(lib):
    """Record the tracker's view from inside forward and backward of nested modules."""
    tracker_module = importlib.import_module(f"{lib.__name__}.utils.module_tracker")
    nn, log = lib.nn, []
    state = {}

    class Probe(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            log.append(("fw", sorted(state["t"].parents), state["t"].is_bw))
            return x.clone()

        @staticmethod
        def backward(ctx, grad):
            log.append(("bw", sorted(state["t"].parents), state["t"].is_bw))
            return grad

    class Inner(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, x):
            return Probe.apply(self.lin(x)).relu()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = Inner()
            self.b = nn.Sequential(nn.Linear(3, 2), nn.Tanh())

        def forward(self, x):
            return Probe.apply(self.b(Probe.apply(self.a(x))))

    with tracker_module.ModuleTracker() as tracker:
        state["t"] = tracker
        net = Net()
        net(lib.ones(2, 3, requires_grad=True)).sum().backward()
        log.append(("after", sorted(tracker.parents), tracker.is_bw))
    return log


def test_module_tracker_matches_torch():
    assert _tracked_run(ember) == _tracked_run(torch)


def test_module_tracker_removes_its_hooks():
    with ModuleTracker() as tracker:
        ember.nn.Linear(2, 2)(ember.ones(1, 2))
        assert tracker.parents == {"Global"}
    calls = []
    tracker._fw_pre_hook = lambda *a: calls.append(a)
    ember.nn.Linear(2, 2)(ember.ones(1, 2))
    assert calls == []


# ---- deterministic -----------------------------------------------------------------------------

@pytest.fixture
def deterministic_both():
    """Deterministic algorithms on in both libraries; every switch restored afterwards."""
    import ember.utils.deterministic
    import torch.utils.deterministic

    saved = [(lib, lib.are_deterministic_algorithms_enabled(),
              lib.is_deterministic_algorithms_warn_only_enabled(),
              module.fill_uninitialized_memory)
             for lib, module in ((torch, torch.utils.deterministic),
                                 (ember, ember.utils.deterministic))]
    for lib, *_ in saved:
        lib.use_deterministic_algorithms(True)
    yield {torch: torch.utils.deterministic, ember: ember.utils.deterministic}
    for (lib, enabled, warn_only, fill), module in zip(
            saved, (torch.utils.deterministic, ember.utils.deterministic)):
        lib.use_deterministic_algorithms(enabled, warn_only=warn_only)
        module.fill_uninitialized_memory = fill


def _uninitialized(lib):
    grown = lib.ones(2)
    grown.resize_(4)
    return [lib.empty(2), lib.empty(2, dtype=lib.int32), lib.empty(3, dtype=lib.uint8),
            lib.empty(2, dtype=lib.bool), lib.empty(2, dtype=lib.complex64),
            lib.empty(2, dtype=lib.bfloat16).float(), lib.empty_like(lib.ones(2, 3).t()),
            lib.ones(2, dtype=lib.int64).new_empty(3), lib.empty_strided((2, 2), (1, 2)),
            grown]


def test_fill_uninitialized_memory_matches_torch(deterministic_both):
    for fill in (True, False):
        for module in deterministic_both.values():
            module.fill_uninitialized_memory = fill
            assert module.fill_uninitialized_memory is fill
        for mine, theirs in zip(_uninitialized(ember), _uninitialized(torch)):
            if fill:
                torch.testing.assert_close(torch.from_numpy(mine.numpy()), theirs,
                                           equal_nan=True)
            else:  # torch leaves garbage; ember's memory is zeros (or the kept values)
                assert not mine.isnan().any().item()
    for module in deterministic_both.values():
        with pytest.raises(RuntimeError, match="expected a bool, but got int"):
            module.fill_uninitialized_memory = 3


def test_no_fill_without_deterministic_algorithms():
    assert not ember.are_deterministic_algorithms_enabled()
    assert ember.empty(3).eq(0).all().item()


def test_submodules_are_attributes_of_utils_as_in_torch():
    for name in ("weak", "collect_env", "deterministic", "throughput_benchmark"):
        assert hasattr(torch.utils, name)
        assert getattr(ember.utils, name) is importlib.import_module(f"ember.utils.{name}")
    assert ember.utils.ThroughputBenchmark is throughput_benchmark.ThroughputBenchmark
    with pytest.raises(AttributeError):
        ember.utils.no_such_module


def test_top_level_modules_are_attributes_as_in_torch():
    for name in ("monitor", "storage", "types"):
        assert hasattr(torch, name)
        assert getattr(ember, name) is importlib.import_module(f"ember.{name}")
