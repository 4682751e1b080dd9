"""ember.jit.export_opnames against torch.jit.export_opnames: traced and scripted modules
(module trees, functionals with an inplace branch, Scalar overloads of arithmetic, the
inputs the names are learned from) and the errors."""

from __future__ import annotations

import warnings

import pytest
import torch

import ember


@pytest.fixture(autouse=True)
def _quiet_deprecations():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _arith(lib):
    class Arith(lib.nn.Module):
        def forward(self, x):
            return (lib.relu(x) - 1) / 2 + x.sum(0) * x + lib.tanh(x)

    return Arith()


# (name, builder of the module for torch or ember, input shape)
CASES = [
    ("linear", lambda lib: lib.nn.Linear(3, 4), (2, 3)),
    ("conv2d", lambda lib: lib.nn.Conv2d(1, 2, 3), (1, 1, 5, 5)),
    ("mlp", lambda lib: lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(),
                                          lib.nn.Linear(4, 2), lib.nn.Softmax(-1)), (2, 3)),
    ("activations", lambda lib: lib.nn.Sequential(lib.nn.ELU(), lib.nn.SiLU(),
                                                  lib.nn.LeakyReLU(), lib.nn.Sigmoid()), (4,)),
    ("norms", lambda lib: lib.nn.Sequential(lib.nn.LayerNorm(3), lib.nn.Flatten()), (2, 2, 3)),
    ("arith", _arith, (2, 2)),
    ("pools", lambda lib: lib.nn.Sequential(lib.nn.ConvTranspose2d(1, 1, 3), lib.nn.MaxPool2d(2),
                                            lib.nn.AdaptiveAvgPool2d(1)), (1, 1, 4, 4)),
    ("batchnorm", lambda lib: lib.nn.BatchNorm2d(1), (2, 1, 2, 2)),
]


@pytest.mark.parametrize("name,build,shape", CASES, ids=[c[0] for c in CASES])
def test_traced_module_ops_match_torch(name, build, shape):
    expected = torch.jit.export_opnames(torch.jit.trace(build(torch), torch.randn(shape)))
    traced = ember.jit.trace(build(ember), ember.randn(shape))
    assert ember.jit.export_opnames(traced) == expected


# TorchScript also lists the integer/list ops it compiles from the Python argument checks
# of pooling and batch norm (aten::size, aten::eq.int, ...), which ember runs as Python
SCRIPTED = [c for c in CASES if c[0] not in ("pools", "batchnorm")] + [
    ("relu", lambda lib: lib.nn.ReLU(), (3,)),
    ("elu", lambda lib: lib.nn.ELU(), (3,)),
]


@pytest.mark.parametrize("name,build,shape", SCRIPTED, ids=[c[0] for c in SCRIPTED])
def test_scripted_module_ops_match_torch(name, build, shape):
    """TorchScript lists the inplace branch of a scripted nn.ReLU's own forward (not of
    inlined children) and names x - 1 sub.Scalar; ember's scripted module learns its ops
    from its first call or from script's example_inputs."""
    expected = torch.jit.export_opnames(torch.jit.script(build(torch)))
    scripted = ember.jit.script(build(ember))
    scripted(ember.randn(shape))
    assert ember.jit.export_opnames(scripted) == expected
    by_example = ember.jit.script(build(ember), example_inputs=[(ember.randn(shape),)])
    assert ember.jit.export_opnames(by_example) == expected


def test_trace_module_and_kwarg_inputs():
    model = ember.nn.Linear(3, 2)
    traced = ember.jit.trace_module(model, {"forward": ember.randn(1, 3)})
    assert ember.jit.export_opnames(traced) == ["aten::linear"]
    traced = ember.jit.trace(model, example_kwarg_inputs={"input": ember.randn(1, 3)})
    assert ember.jit.export_opnames(traced) == ["aten::linear"]


def test_naming_leaves_the_module_state_alone():
    """The naming run is a copy's: BatchNorm's running statistics do not move."""
    model = ember.nn.BatchNorm1d(3)
    traced = ember.jit.trace(model, ember.randn(4, 3))
    before = model.running_mean.clone(), model.num_batches_tracked.clone()
    assert "aten::batch_norm" in ember.jit.export_opnames(traced)
    assert ember.equal(model.running_mean, before[0])
    assert ember.equal(model.num_batches_tracked, before[1])


def test_errors():
    with pytest.raises(AttributeError, match="has no attribute '_c'") as theirs:
        torch.jit.export_opnames(torch.nn.Linear(1, 2))
    with pytest.raises(AttributeError) as ours:
        ember.jit.export_opnames(ember.nn.Linear(1, 2))
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match="has not run yet"):
        ember.jit.export_opnames(ember.jit.script(ember.nn.Linear(1, 2)))


def test_a_scripted_module_keeps_no_input_alive():
    """Only the first call's shapes and dtypes are kept (for every scripted child too);
    the names come from a run on zeros of those."""
    import gc
    import weakref

    scripted = ember.jit.script(ember.nn.Sequential(ember.nn.Embedding(5, 2),
                                                    ember.nn.Flatten()))
    indices = ember.tensor([[4, 1]])
    scripted(indices)
    alive = weakref.ref(indices)
    del indices
    gc.collect()
    assert alive() is None
    assert ember.jit.export_opnames(scripted) == ["aten::embedding", "aten::flatten.using_ints"]
