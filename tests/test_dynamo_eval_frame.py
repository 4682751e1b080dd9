"""ember._dynamo.eval_frame.OptimizedModule (what ``compile(module)`` returns) against
torch 2.13's. Building torch's wrapper imports torch._dynamo (a few seconds, once per
file) but compiles nothing; its forward would compile, so calls are checked on ember's
side against the wrapped module's own output."""

from __future__ import annotations

import copy
import io
import pickle
import warnings

import numpy as np
import pytest
import torch

import ember
from ember._dynamo.eval_frame import OptimizedModule


def _pair():
    """The same small model in both libraries (weights copied from ember's)."""
    mine = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.BatchNorm1d(4),
                               ember.nn.ReLU(), ember.nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4),
                                 torch.nn.ReLU(), torch.nn.Linear(4, 2))
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in mine.state_dict().items()})
    return mine, theirs


@pytest.fixture(scope="module")
def compiled():
    mine, theirs = _pair()
    return mine, ember.compile(mine), theirs, torch.compile(theirs)


def test_wrapper_type_repr_and_children(compiled):
    mine, ours, theirs, torchs = compiled
    assert type(ours).__name__ == type(torchs).__name__ == "OptimizedModule"
    assert isinstance(ours, ember.nn.Module) and isinstance(ours, OptimizedModule)
    assert ours._orig_mod is mine and torchs._orig_mod is theirs
    assert repr(ours) == repr(torchs)
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in torchs.named_modules()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in torchs.named_parameters()]
    assert len(ours) == len(torchs) == 4


def test_state_dict_keys_carry_the_orig_mod_prefix(compiled):
    mine, ours, theirs, torchs = compiled
    assert list(ours.state_dict()) == list(torchs.state_dict())
    assert list(ours.state_dict())[0] == "_orig_mod.0.weight"
    assert ours.state_dict()["_orig_mod.0.weight"] is not None
    # the shared parameters: the wrapper's are the module's
    assert ours.get_parameter("_orig_mod.0.weight") is mine[0].weight


def test_loading_a_compiled_checkpoint_into_the_plain_model_fails_as_in_torch(compiled):
    mine, ours, theirs, torchs = compiled
    with pytest.raises(RuntimeError) as expected:
        _pair()[1].load_state_dict(torchs.state_dict())
    with pytest.raises(RuntimeError) as got:
        _pair()[0].load_state_dict(ours.state_dict())
    assert str(got.value) == str(expected.value)
    # the usual fix (strip the prefix) loads in both
    fresh = _pair()[0]
    fresh.load_state_dict({k.removeprefix("_orig_mod."): v for k, v in ours.state_dict().items()})
    assert ember.equal(fresh[0].weight, mine[0].weight)


def test_attributes_and_training_go_to_the_wrapped_module(compiled):
    _, _, _, torchs = compiled
    for lib in (ember, torch):
        mine = lib.nn.Sequential(lib.nn.Linear(2, 2))
        wrapped = lib.compile(mine)
        wrapped.note = 3
        assert mine.note == 3 and "note" not in wrapped.__dict__
        del wrapped.note
        assert not hasattr(mine, "note")
        wrapped.eval()
        assert mine.training is False and wrapped.training is False
        wrapped.training = True
        assert mine.training is True
        mine.train(False)
        assert wrapped.training is False
        with pytest.raises(TypeError, match="not subscriptable"):
            wrapped[0]
        assert "_orig_mod" in dir(wrapped) and "append" in dir(wrapped)
    with pytest.raises(TypeError, match="Linear does not support len()"):
        len(ember.compile(ember.nn.Linear(1, 1)))
    with pytest.raises(TypeError, match="Linear does not support len()"):
        len(torch.compile(torch.nn.Linear(1, 1)))


def test_call_runs_the_module_with_its_hooks_and_gradients():
    mine, _ = _pair()
    wrapped = ember.compile(mine)
    seen = []
    mine.register_forward_hook(lambda m, args, out: seen.append(tuple(out.shape)))
    x = ember.tensor(np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3))
    out = wrapped(x)
    assert seen == [(5, 2)]
    mine.eval()
    assert ember.equal(wrapped(x), mine(x))
    out.sum().backward()
    assert mine[0].weight.grad is not None
    assert mine[1].num_batches_tracked.item() == 1


def test_pickle_and_deepcopy_rebuild_a_wrapper(compiled):
    mine, ours, theirs, torchs = compiled
    for wrapped, lib in ((ours, ember), (torchs, torch)):
        twin = copy.deepcopy(wrapped)
        assert type(twin).__name__ == "OptimizedModule"
        assert twin._orig_mod is not wrapped._orig_mod
        assert list(twin.state_dict()) == list(wrapped.state_dict())
    buffer = io.BytesIO()
    ember.save(ours, buffer)
    buffer.seek(0)
    loaded = ember.load(buffer, weights_only=False)
    assert type(loaded) is OptimizedModule and type(loaded._orig_mod).__name__ == "Sequential"
    x = ember.ones(2, 3)
    loaded.eval()
    mine.eval()
    assert ember.equal(loaded(x), mine(x))
    assert type(pickle.loads(pickle.dumps(ours))) is OptimizedModule


def test_compile_forms():
    def f(x):
        return x * 2

    model = ember.nn.Linear(2, 2)
    assert ember.compile(f) is f
    assert ember.compile(model, disable=True) is model
    assert type(torch.compile(torch.nn.Linear(2, 2), disable=True)).__name__ == "Linear"
    decorated = ember.compile(mode="max-autotune")(model)
    assert type(decorated) is OptimizedModule and decorated._orig_mod is model
    assert decorated.dynamo_ctx.mode == "max-autotune"
    assert ember.compile(model).dynamo_ctx.backend == "inductor"


def test_global_hooks_warn_as_in_torch():
    wrapped = ember.compile(ember.nn.Linear(2, 2))
    handle = ember.nn.modules.module.register_module_forward_hook(lambda m, a, o: None)
    try:
        with pytest.warns(UserWarning, match=r"Using `torch.compile\(module\)` when there are "
                                             "global hooks on modules"):
            wrapped(ember.ones(1, 2))
    finally:
        handle.remove()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wrapped(ember.ones(1, 2))
