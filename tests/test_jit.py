"""ember.jit against torch.jit's Python surface: script/trace types, reprs and shared
parameters, eager results, jit.save/load round trips with extra files, fork/wait, the
decorators, freeze/optimize_for_inference, and the errors (including a real TorchScript
archive, which ember cannot run)."""

from __future__ import annotations

import io

import numpy as np
import oracle
import pytest
import torch
from oracle import as_numpy

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


def _pair():
    torch.manual_seed(0)
    t_model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    e_model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.ReLU(), ember.nn.Linear(4, 2))
    e_model.load_state_dict({k: ember.tensor(as_numpy(v)) for k, v in t_model.state_dict().items()})
    return e_model, t_model


def test_script_module_types_repr_and_shared_parameters():
    e_model, t_model = _pair()
    e_script, t_script = ember.jit.script(e_model), torch.jit.script(t_model)
    assert type(e_script).__name__ == type(t_script).__name__ == "RecursiveScriptModule"
    assert isinstance(e_script, ember.jit.ScriptModule) and isinstance(e_script, ember.nn.Module)
    assert repr(e_script) == repr(t_script)
    assert repr(ember.jit.script(e_model[0])) == repr(torch.jit.script(t_model[0]))
    assert list(e_script.state_dict()) == list(t_script.state_dict())
    assert e_script[0].weight is e_model[0].weight and len(e_script) == 3
    assert e_script.original_name == t_script.original_name == "Sequential"
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(as_numpy(e_script(ember.tensor(x))),
                               t_script(torch.tensor(x)).detach().numpy(), rtol=1e-6)
    e_script.eval()
    assert not e_model.training and not e_model[0].training
    assert "def forward" in e_script.code


def test_trace_and_script_functions():
    def double(x):
        return x * 2

    for lib in (torch, ember):
        scripted, traced = lib.jit.script(double), lib.jit.trace(double, lib.ones(2))
        assert type(scripted).__name__ == type(traced).__name__ == "ScriptFunction"
        assert scripted.name == "double"
        assert lib.equal(scripted(lib.ones(2)), lib.full((2,), 2.0))
    e_model, t_model = _pair()
    e_traced = ember.jit.trace(e_model[0], ember.ones(1, 3))
    t_traced = torch.jit.trace(t_model[0], torch.ones(1, 3))
    assert type(e_traced).__name__ == type(t_traced).__name__ == "TopLevelTracedModule"
    assert repr(e_traced) == repr(t_traced) == "Linear(original_name=Linear)"
    for lib in (torch, ember):
        with pytest.raises(TypeError, match="'NoneType' object is not iterable"):
            lib.jit.trace(double)
        with pytest.raises(RuntimeError, match="example_kwarg_inputs should be a dict"):
            lib.jit.trace(lib.nn.Linear(2, 2))
        with pytest.warns(DeprecationWarning, match="`torch.jit.script` is deprecated"):
            lib.jit.script(double)


def test_is_tracing_is_true_only_while_tracing():
    seen = []

    def probe(x):
        seen.append(ember.jit.is_tracing())
        return x

    ember.jit.trace(probe, ember.ones(1))
    probe(ember.ones(1))
    assert seen == [True, False] and not ember.jit.is_scripting()


def test_save_load_round_trip_with_extra_files(tmp_path):
    e_model, _ = _pair()
    scripted = ember.jit.script(e_model)
    path = tmp_path / "model.pt"
    ember.jit.save(scripted, path, _extra_files={"config.txt": "lr=0.1"})
    extra = {"config.txt": "", "missing.txt": ""}
    loaded = ember.jit.load(str(path), _extra_files=extra)
    assert type(loaded).__name__ == "RecursiveScriptModule"
    assert extra == {"config.txt": b"lr=0.1", "missing.txt": b""}
    x = ember.randn(2, 3)
    assert ember.equal(loaded(x), scripted(x))
    buffer = io.BytesIO()
    scripted.save(buffer)
    buffer.seek(0)
    assert ember.equal(ember.jit.load(buffer)(x), scripted(x))


def test_save_and_load_errors_match_torch(tmp_path):
    e_model, t_model = _pair()
    for lib, model in ((torch, t_model), (ember, e_model)):
        with pytest.raises(AttributeError, match="object has no attribute 'save_to_buffer'"):
            lib.jit.save(model, io.BytesIO())
        with pytest.raises(ValueError, match="The provided filename .* does not exist"):
            lib.jit.load(str(tmp_path / "nothing.pt"))
    with pytest.raises(RuntimeError, match="failed reading zip archive"):
        ember.jit.load(io.BytesIO(b"not a zip"))
    real = tmp_path / "torchscript.pt"
    torch.jit.save(torch.jit.script(t_model), str(real))
    with pytest.raises(RuntimeError, match="TorchScript archive written by PyTorch"):
        ember.jit.load(str(real))


def test_fork_wait_and_decorators():
    for lib in (torch, ember):
        future = lib.jit.fork(lambda x, y: x + y, lib.ones(2), y=lib.ones(2))
        assert lib.equal(lib.jit.wait(future), lib.full((2,), 2.0))

    @ember.jit.ignore
    def a(x):
        return x

    @ember.jit.ignore(drop=True)
    def b(x):
        return x

    @ember.jit.unused
    def c(x):
        return x

    assert a(1) == b(1) == c(1) == 1 and ember.jit.export(a) is a
    assert ember.jit.annotate(list, [1]) == [1]
    failing = ember.jit.fork(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.wait()


def test_freeze_and_optimize_for_inference_match_torch():
    e_model, t_model = _pair()
    for lib, model in ((torch, t_model), (ember, e_model)):
        scripted = lib.jit.script(model)
        with pytest.raises(RuntimeError, match="only implemented for modules in eval mode"):
            lib.jit.freeze(scripted)
        frozen = lib.jit.freeze(scripted.eval())
        assert type(frozen).__name__ == "RecursiveScriptModule"
        with pytest.raises(RuntimeError, match="expects a ScriptModule as input"):
            lib.jit.freeze(model)
        assert type(lib.jit.optimize_for_inference(lib.jit.script(model))).__name__ == \
            "RecursiveScriptModule"


def test_deprecation_warnings_point_into_the_library_as_torchs_do():
    """torch warns at stack level 1, so the default filters (DeprecationWarning shown only
    when attributed to __main__) keep it quiet for users; ember must not point at them."""
    import warnings

    def double(x):
        return x * 2

    for lib in (torch, ember):
        for name, args in (("script", (double,)), ("trace", (double, lib.ones(2)))):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                getattr(lib.jit, name)(*args)
            mine = [w for w in caught if f"`torch.jit.{name}`" in str(w.message)]
            assert mine and all(w.category is DeprecationWarning for w in mine)
            assert all(w.filename != __file__ for w in mine)
            assert all(f"{lib.__name__}/jit" in w.filename.replace("\\", "/") for w in mine)


def _jit_warnings(lib, tmp_path):
    """Per jit entry point: its distinct DeprecationWarning texts, in order, and whether
    each was attributed inside the library (torch repeats some while checking a trace)."""
    import warnings

    def double(x):
        return x * 2

    model = lib.nn.Linear(2, 2).eval()
    path = str(tmp_path / f"{lib.__name__}.pt")
    calls = {
        "trace function": lambda: lib.jit.trace(double, lib.ones(2)),
        "trace module": lambda: lib.jit.trace(model, lib.ones(1, 2)),
        "trace_module": lambda: lib.jit.trace_module(model, {"forward": lib.ones(1, 2)}),
        "freeze": lambda: lib.jit.freeze(scripted),
        "optimize_for_inference": lambda: lib.jit.optimize_for_inference(scripted),
        "fork": lambda: lib.jit.fork(double, lib.ones(1)),
        "wait": lambda: lib.jit.wait(future),
        "save": lambda: lib.jit.save(scripted, path),
        "load": lambda: lib.jit.load(path),
        "ignore": lambda: lib.jit.ignore(double),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = lib.jit.script(model)
        future = lib.jit.fork(double, lib.ones(1))
    seen = {}
    for name, call in calls.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        texts = []
        for w in caught:
            assert w.category is DeprecationWarning
            assert f"{lib.__name__}/jit" in w.filename.replace("\\", "/")
            if str(w.message) not in texts:
                texts.append(str(w.message))
        seen[name] = texts
    return seen


def test_every_deprecation_warning_as_torchs(tmp_path):
    assert _jit_warnings(ember, tmp_path) == _jit_warnings(torch, tmp_path)
