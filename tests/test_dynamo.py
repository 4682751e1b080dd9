"""ember._dynamo (torch._dynamo) and ember.compiler.config against PyTorch."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import pytest
import torch
import torch._dynamo

import ember
import ember._dynamo as edynamo
from ember import _config_module


def _torch_config_value(key):
    with warnings.catch_warnings():  # some keys are deprecated in PyTorch
        warnings.simplefilter("ignore")
        return getattr(torch._dynamo.config, key)


@pytest.mark.parametrize("key", sorted(set(edynamo.config._values) | set(edynamo.config._aliases)))
def test_dynamo_config_defaults_match_torch(key):
    assert getattr(edynamo.config, key) == _torch_config_value(key)


@pytest.mark.parametrize("key", sorted(ember.compiler.config._values))
def test_compiler_config_defaults_match_torch(key):
    assert getattr(ember.compiler.config, key) == getattr(torch.compiler.config, key)


def test_config_unknown_key_raises_like_torch():
    for config, name in ((edynamo.config, "ember._dynamo"),
                         (torch._dynamo.config, "torch._dynamo")):
        with pytest.raises(AttributeError, match=rf"{name}\.config\.no_such_key does not exist"):
            config.no_such_key = 1
        with pytest.raises(AttributeError, match="no_such_key does not exist"):
            config.no_such_key
        with pytest.raises(AttributeError, match="no_such_key does not exist"):
            with config.patch(no_such_key=1):
                pass


def test_config_aliases_share_one_value_like_torch():
    for dyn, comp in ((edynamo.config, ember.compiler.config),
                      (torch._dynamo.config, torch.compiler.config)):
        with dyn.patch(recompile_limit=3):
            assert comp.recompile_limit == 3
            assert dyn.cache_size_limit == 3
        with dyn.patch("cache_size_limit", 5):
            assert dyn.recompile_limit == 5 and comp.recompile_limit == 5
        assert comp.recompile_limit == 8


def test_config_patch_forms_and_restore():
    config = edynamo.config

    @config.patch({"suppress_errors": True})
    def read():
        return config.suppress_errors

    assert read() is True
    assert config.suppress_errors is False
    config.suppress_errors = True
    try:
        assert config.get_config_copy()["suppress_errors"] is True
    finally:
        config.suppress_errors = False
    with pytest.raises(AttributeError):  # a bad key restores the keys set before it
        with config.patch(verbose=True, nope=1):
            pass
    assert config.verbose is False


def test_import_paths():
    import ember._dynamo.config as config_module
    import ember.compiler.config as compiler_config

    assert isinstance(config_module, _config_module.ConfigModule)
    assert compiler_config is ember.compiler.config
    assert ember._dynamo is edynamo


def test_eager_decorators_and_optimize():
    def fn(x):
        return x.sin() * 2

    x = ember.linspace(-1, 1, 5)
    for wrapped in (edynamo.optimize("eager")(fn), edynamo.optimize(backend="inductor",
                                                                    nopython=True)(fn),
                    edynamo.disable(fn), edynamo.allow_in_graph(fn), edynamo.run(fn)):
        torch.testing.assert_close(torch.from_numpy(wrapped(x).numpy()),
                                   fn(torch.linspace(-1, 1, 5)))
    assert edynamo.is_compiling() is torch._dynamo.is_compiling() is False
    assert edynamo.reset() is None and torch._dynamo.reset() is None
    assert edynamo.list_backends() == torch._dynamo.list_backends()
    with edynamo.optimize("eager"):
        pass


@pytest.mark.parametrize("call", [
    lambda d, t: d.mark_dynamic(t, 0),
    lambda d, t: d.mark_dynamic(t, [0, 1]),
    lambda d, t: (d.mark_dynamic(t, 1), d.mark_static(t, 0)),
    lambda d, t: d.mark_static(t),
    lambda d, t: d.maybe_mark_dynamic(t, (1,)),
])
def test_mark_dims_match_torch(call):
    attributes = ("_dynamo_dynamic_indices", "_dynamo_static_indices",
                  "_dynamo_weak_dynamic_indices")
    t, e = torch.ones(2, 3), ember.ones(2, 3)
    call(torch._dynamo, t)
    call(edynamo, e)
    for name in attributes:
        assert getattr(e, name, None) == getattr(t, name, None), name


def test_mark_errors_match_torch():
    for dynamo, tensor in ((torch._dynamo, torch.ones(2)), (edynamo, ember.ones(2))):
        with pytest.raises(AssertionError, match="Expected index to be int, list, or tuple"):
            dynamo.mark_dynamic(tensor, "x")
        with pytest.raises(TypeError, match="issubclass"):
            dynamo.mark_static(3)
    edynamo.mark_static(ember.nn.Linear)
    try:
        assert ember.nn.Linear._dynamo_marked_static is True
    finally:
        del ember.nn.Linear._dynamo_marked_static


def test_explain_counts_like_torch():
    def fn(x):
        return (x.sin() + 1).relu() * 3

    ours = edynamo.explain(fn)(ember.ones(2))
    theirs = torch._dynamo.explain(fn)(torch.ones(2))
    assert ours.graph_count == theirs.graph_count == 1
    assert ours.graph_break_count == theirs.graph_break_count == 0
    assert ours.op_count == theirs.op_count
    assert ours.ops_per_graph == theirs.ops_per_graph
    assert str(ours).startswith("Graph Count: 1\nGraph Break Count: 0\n")


def test_explain_data_dependent_branch_is_a_break():
    calls = []

    def fn(x):
        calls.append(type(x))
        if x.sum() > 0:
            return x
        return -x

    out = edynamo.explain(fn, ember.ones(2))
    assert calls.count(ember.Tensor) == 1  # it ran on the real input, as under PyTorch
    assert out.graph_break_count == 1 and out.graph_count == 0
    assert "control flow" in out.break_reasons[0]


def test_ember_run_maps_torch_dynamo(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(textwrap.dedent("""
        import torch
        import torch._dynamo
        from torch._dynamo import config
        torch._dynamo.config.suppress_errors = True
        torch._dynamo.reset()
        print(torch._dynamo is torch.__dict__.get("_dynamo"), config.suppress_errors,
              torch._dynamo.config.cache_size_limit, torch.compiler.config.recompile_limit,
              torch._dynamo.is_compiling(), type(torch).__name__, torch.__name__)
    """))
    result = subprocess.run([sys.executable, "-m", "ember", "run", str(script)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "8", "8", "False", "module", "ember"]
