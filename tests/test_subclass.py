"""Tensor subclasses against PyTorch: results of ops on a subclass instance are of the
subclass (operators, indexing, torch.* functions, methods, nn.functional, modules),
Parameter's results stay plain, as_subclass / _make_subclass, autograd through them.

The classes are built per library inside a fixture (a class statement is what turns the
protocol on), and the fixture turns it off again so the rest of the suite runs as before.
"""

import copy
import pickle
import types

import numpy as np
import pytest
import torch

import ember
from ember import overrides


def _classes(lib):
    class Sub(lib.Tensor):
        pass

    class Slotted(lib.Tensor):
        __slots__ = ("tag",)

    class Plain(lib.Tensor):
        __torch_function__ = lib._C._disabled_torch_function_impl

    return types.SimpleNamespace(Sub=Sub, Slotted=Slotted, Plain=Plain)


@pytest.fixture(scope="module")
def libs():
    made = {ember: _classes(ember), torch: _classes(torch)}
    yield made
    overrides._uninstall()


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal((2, 3)).astype(
        np.float32)


def _describe(out):
    """What must match: class name, values, grad_fn name, leaf-ness; recursively."""
    if isinstance(out, (tuple, list)):
        return [type(out).__name__] + [_describe(part) for part in out]
    if not isinstance(out, (ember.Tensor, torch.Tensor)):
        return out
    name = type(out).__name__
    fn = None if out.grad_fn is None else out.grad_fn.name()
    base = ember.Tensor if isinstance(out, ember.Tensor) else torch.Tensor
    values = np.asarray(out.detach().as_subclass(base).tolist(), dtype=np.float64)
    return (name, fn, out.requires_grad, out.is_leaf, values.round(5).tolist())


PROPAGATION = {
    "add operator": lambda lib, s, t: s + 1,
    "radd operator": lambda lib, s, t: 2.0 + s,
    "matmul operator": lambda lib, s, t: s @ t.T,
    "neg": lambda lib, s, t: -s,
    "compare": lambda lib, s, t: s > 0,
    "index": lambda lib, s, t: s[0],
    "slice": lambda lib, s, t: s[:, 1:],
    "torch.add": lambda lib, s, t: lib.add(t, s),
    "torch.cat": lambda lib, s, t: lib.cat([t, s]),
    "torch.max dim": lambda lib, s, t: tuple(lib.max(s, 1)),
    "torch.where": lambda lib, s, t: lib.where(s > 0, s, t),
    "F.relu": lambda lib, s, t: lib.nn.functional.relu(s),
    "F.softmax": lambda lib, s, t: lib.nn.functional.softmax(s, dim=1),
    "sum": lambda lib, s, t: s.sum(),
    "sum dim": lambda lib, s, t: s.sum(dim=1, keepdim=True),
    "view": lambda lib, s, t: s.view(-1),
    "unbind": lambda lib, s, t: s.unbind(0),
    "T": lambda lib, s, t: s.T,
    "data": lambda lib, s, t: s.data,
    "detach": lambda lib, s, t: s.detach(),
    "exp method": lambda lib, s, t: s.exp(),
    "size": lambda lib, s, t: s.size(),
    "tolist": lambda lib, s, t: s.tolist(),
    "iter": lambda lib, s, t: list(s),
}


@pytest.mark.parametrize("case", PROPAGATION)
@pytest.mark.parametrize("requires_grad", [False, True])
def test_results_keep_the_subclass(libs, case, requires_grad):
    a, b = _data()
    described = {}
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=requires_grad)
        s = x.as_subclass(libs[lib].Sub)
        described[lib] = _describe(PROPAGATION[case](lib, s, lib.tensor(b)))
    assert described[ember] == described[torch]


@pytest.mark.parametrize("case", ["add operator", "index", "sum", "F.relu", "torch.add"])
def test_parameter_and_disabled_subclass_results_are_plain(libs, case):
    a, b = _data()
    for lib in (ember, torch):
        p = lib.nn.Parameter(lib.tensor(a))
        assert type(PROPAGATION[case](lib, p, lib.tensor(b))) is lib.Tensor
        plain = lib.tensor(a).as_subclass(libs[lib].Plain)
        assert type(PROPAGATION[case](lib, plain, lib.tensor(b))) is lib.Tensor


def test_modules_keep_the_subclass_and_match_gradients(libs):
    a, _ = _data()
    out = {}
    for lib in (ember, torch):
        lib.manual_seed(0)
        linear = lib.nn.Linear(3, 4)
        with lib.no_grad():
            linear.weight.copy_(lib.tensor(np.arange(12, dtype=np.float32).reshape(4, 3) / 10))
            linear.bias.fill_(0.5)
        s = lib.tensor(a, requires_grad=True).as_subclass(libs[lib].Sub)
        y = lib.nn.ReLU()(linear(s))
        y.sum().backward()
        out[lib] = (type(y).__name__, y.detach().tolist(), type(linear.weight.grad).__name__,
                    linear.weight.grad.tolist())
    assert out[ember][0] == out[torch][0] == "Sub"
    assert out[ember][2] == out[torch][2] == "Tensor"
    np.testing.assert_allclose(out[ember][1], out[torch][1], rtol=1e-5)
    np.testing.assert_allclose(out[ember][3], out[torch][3], rtol=1e-5)


def test_as_subclass_aliases_memory_and_history(libs):
    a, _ = _data()
    seen = {}
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        s = x.as_subclass(libs[lib].Sub)
        plain = lib.tensor(a)
        alias = plain.as_subclass(libs[lib].Sub)
        alias.add_(1)
        seen[lib] = (s.grad_fn.name(), s._base is x, s.is_leaf, plain._version,
                     plain.tolist() == alias.tolist(), repr(lib.ones(2).as_subclass(libs[lib].Sub)),
                     type(alias.as_subclass(lib.Tensor)).__name__)
    assert seen[ember] == seen[torch]


def test_slotted_subclass_and_constructor(libs):
    a, _ = _data()
    for lib in (ember, torch):
        s = lib.tensor(a).as_subclass(libs[lib].Slotted)
        s.tag = "kept"
        out = s * 2
        assert type(out).__name__ == "Slotted" and s.tag == "kept"
        np.testing.assert_allclose(out.tolist(), a * 2)
        made = libs[lib].Sub([1.0, 2.0])
        assert type(made).__name__ == "Sub" and made.tolist() == [1.0, 2.0]


def test_make_subclass(libs):
    seen = {}
    for lib in (ember, torch):
        data = lib.ones(2)
        m = lib.Tensor._make_subclass(libs[lib].Sub, data, True)
        (m * 3).sum().backward()
        data.add_(1)
        seen[lib] = (type(m).__name__, m.requires_grad, m.is_leaf, m.grad_fn, m.tolist(),
                     type(m.grad).__name__, m.grad.tolist())
    assert seen[ember] == seen[torch]


@pytest.mark.parametrize("call", [
    lambda lib: lib.ones(2).as_subclass(int),
    lambda lib: lib.Tensor._make_subclass(int, lib.ones(2)),
    lambda lib: lib.Tensor._make_subclass(lib.nn.Parameter, [1.0]),
])
def test_subclass_errors(libs, call):
    errors = {}
    for lib in (ember, torch):
        with pytest.raises(Exception) as info:
            call(lib)
        errors[lib] = (type(info.value), str(info.value))
    assert errors[ember] == errors[torch]


def test_backward_through_subclass_gives_plain_grads(libs):
    a, _ = _data()
    seen = {}
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        s = x.as_subclass(libs[lib].Sub)
        loss = (s * s).exp().mean()
        loss.backward()
        seen[lib] = (type(loss).__name__, type(x.grad).__name__)
        np.testing.assert_allclose(x.grad.tolist(), (2 * a * np.exp(a * a) / a.size),
                                   rtol=1e-5)
    assert seen[ember] == seen[torch] == ("Sub", "Tensor")


def test_gradcheck_through_subclass(libs):
    rng = np.random.default_rng(1)
    x = ember.tensor(rng.standard_normal((3, 2)), requires_grad=True)

    def fn(t):
        s = t.as_subclass(libs[ember].Sub)
        return (s.sin() * s[0]).sum(dim=0)

    assert ember.autograd.gradcheck(fn, (x,))


def test_disable_torch_function_subclass(libs):
    for lib in (ember, torch):
        s = lib.ones(2).as_subclass(libs[lib].Sub)
        with lib._C.DisableTorchFunctionSubclass():
            assert type(s + 1) is lib.Tensor
            assert lib._C._is_torch_function_enabled() is False
        assert type(s + 1) is libs[lib].Sub
        with lib._C.DisableTorchFunction():
            assert type(lib.add(s, 1)) is lib.Tensor


def test_pickle_and_copy_keep_class_and_attributes(libs):
    seen = {}
    for lib in (ember, torch):
        cls = libs[lib].Sub  # pickle finds a class by module and qualified name
        cls.__qualname__ = f"_Sub_{lib.__name__}"
        globals()[cls.__qualname__] = cls
        s = lib.ones(2, requires_grad=True).as_subclass(cls).detach().requires_grad_()
        s.tag = "kept"
        rebuilt = (pickle.loads(pickle.dumps(s)), copy.copy(s))
        seen[lib] = [(type(t).__name__, t.tag, t.is_leaf, t.requires_grad, t.tolist())
                     for t in rebuilt]
    assert seen[ember] == seen[torch]


def _tagged(lib):
    class Tagged(lib.Tensor):
        """The common pattern: __new__ through _make_subclass, metadata copied to results."""

        @staticmethod
        def __new__(cls, data, tag):
            t = lib.Tensor._make_subclass(cls, data, data.requires_grad)
            t.tag = tag
            return t

        def __init__(self, data, tag):
            pass

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            out = super().__torch_function__(func, types, args, kwargs or {})
            tags = [a.tag for a in args if isinstance(a, Tagged) and hasattr(a, "tag")]
            if isinstance(out, Tagged) and tags:
                out.tag = tags[0]
            return out

    t = Tagged(lib.ones(2, requires_grad=True), "a")
    u = (t * 2 + 1).relu()
    u.sum().backward()
    return (type(u).__name__, u.tag, u.grad_fn.name(), t.is_leaf, t.grad.tolist(),
            type(t.grad).__name__)


def test_metadata_carrying_subclass(libs):
    assert _tagged(ember) == _tagged(torch)
