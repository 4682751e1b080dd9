"""``__torch_function__`` leftovers against PyTorch: which function object a handler gets
for a method call, an alias or an operator (``torch.Tensor.sum`` for ``x.sum()``), what
``resolve_name`` says, ``get_testing_overrides``, ``nn.Parameter`` of a subclass and
deep copies of subclasses.

Classes are built per library inside a test (a class statement turns the protocol on);
the module fixture turns it off again afterwards.
"""

import copy
import inspect

import pytest
import torch

import ember
from ember import overrides

LIBS = (ember, torch)


@pytest.fixture(autouse=True, scope="module")
def _protocol_off_afterwards():
    yield
    overrides._uninstall()


def _outcome(call):
    try:
        value = call()
    except Exception as exc:  # noqa: BLE001 - the type and text are compared
        return type(exc).__name__, str(exc)
    if isinstance(value, (ember.Tensor, torch.Tensor)):
        return type(value).__name__, value.tolist()
    return value


def _logging_subclass(lib, log):
    class Logged(lib.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            log.append((func.__name__, lib.overrides.resolve_name(func),
                        func is lib.Tensor.sum, func is lib.sum))
            return super().__torch_function__(func, types, args, kwargs or {})

    return Logged


_CALLS = [
    ("method", lambda lib, s: s.sum()),
    ("function", lambda lib, s: lib.sum(s)),
    ("alias function", lambda lib, s: lib.absolute(s)),
    ("alias method", lambda lib, s: s.absolute()),
    ("abs()", lambda lib, s: abs(s)),
    ("neg", lambda lib, s: -s),
    ("greater method", lambda lib, s: s.greater(s)),
    ("greater function", lambda lib, s: lib.greater(s, s)),
    ("clip", lambda lib, s: s.clip(0, 1)),
    ("torch.functional.norm", lambda lib, s: lib.norm(s)),
    ("Tensor.norm", lambda lib, s: s.norm()),
    ("add operator", lambda lib, s: s + 1),
    ("subtract", lambda lib, s: lib.subtract(s, 1)),
]


@pytest.mark.parametrize("label,call", _CALLS, ids=[c[0] for c in _CALLS])
def test_handlers_see_the_object_that_was_called(label, call):
    seen = {}
    for lib in LIBS:
        log = []
        s = lib.ones(2).as_subclass(_logging_subclass(lib, log))
        call(lib, s)
        seen[lib] = log
    assert seen[ember] == seen[torch]


def _names(lib):
    functional = [lib.norm, lib.split, lib.einsum, lib.meshgrid, lib.tensordot, lib.cdist,
                  lib.atleast_2d, lib.block_diag]
    aliases = [lib.absolute, lib.abs, lib.clip, lib.clamp, lib.concat, lib.concatenate,
               lib.negative, lib.arccos, lib.multiply, lib.divide, lib.swapdims, lib.fix]
    tensor = [lib.Tensor.sum, lib.Tensor.absolute, lib.Tensor.greater, lib.Tensor.__abs__,
              lib.Tensor.__neg__, lib.Tensor.__add__, lib.Tensor.__mul__, lib.Tensor.__lt__,
              lib.Tensor.add]
    return [lib.overrides.resolve_name(f) for f in functional + aliases + tensor]


def test_resolve_name_of_functional_names_aliases_and_slots():
    assert _names(ember) == _names(torch)


def test_tensor_methods_are_their_own_objects():
    def facts(lib):
        return (lib.Tensor.sum is lib.sum, lib.absolute is lib.abs, lib.Tensor.sum.__name__,
                lib.Tensor.greater.__name__, lib.absolute.__name__, lib.clip.__name__)

    assert facts(ember) == facts(torch)
    # the copies pickle by reference and run the same code
    import pickle

    assert pickle.loads(pickle.dumps(ember.Tensor.sum)) is ember.Tensor.sum
    assert pickle.loads(pickle.dumps(ember.absolute)) is ember.absolute
    overrides._uninstall()  # plain functions: the method is a copy running the same code
    assert ember.Tensor.sum is not ember.sum
    assert ember.Tensor.sum.__code__ is ember.sum.__code__
    assert ember.absolute(ember.tensor([-1.5])).tolist() == [1.5]


def test_get_testing_overrides_keys_and_signatures():
    mine, theirs = ember.overrides.get_testing_overrides(), torch.overrides.get_testing_overrides()
    mine_names = {ember.overrides.resolve_name(f) for f in mine}
    their_names = {torch.overrides.resolve_name(f) for f in theirs}
    assert mine_names <= their_names  # no key PyTorch's dict lacks
    assert len(mine_names) > 1000
    for name in ("add", "sum", "where", "cat", "nn.functional.linear", "Tensor.add",
                 "Tensor.__add__", "Tensor.shape.__get__", "Tensor.view", "functional.norm"):
        assert "torch." + name in mine_names, name
    assert mine[ember.add](1, 2) == theirs[torch.add](1, 2) == -1
    assert mine[ember.Tensor.shape.__get__](ember.ones(1)) == -1
    # the dummies take the real function's parameters
    assert inspect.signature(mine[ember.add]) == inspect.signature(ember.add)
    assert inspect.signature(mine[ember.Tensor.view]) == inspect.signature(ember.Tensor.view)
    assert (list(inspect.signature(mine[ember.nn.functional.linear]).parameters)
            == list(inspect.signature(theirs[torch.nn.functional.linear]).parameters))


# -- nn.Parameter of a subclass, deep copies ---------------------------------------------------

def _subclasses(lib):
    class Dispatching(lib.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return super().__torch_function__(func, types, args, kwargs or {})

    class Plain(lib.Tensor):
        pass

    class KeepsType(lib.Tensor):
        def new_empty(self, *args, **kwargs):
            return lib.Tensor.new_empty(self, *args, **kwargs).as_subclass(KeepsType)

    return Dispatching, Plain, KeepsType


def _parameters_and_copies(lib):
    out = []
    for cls in _subclasses(lib):
        p = lib.nn.Parameter(lib.ones(2).as_subclass(cls))
        out.append((type(p).__name__, isinstance(p, lib.nn.Parameter), isinstance(p, cls),
                    repr(p), str(p), p.requires_grad, p.is_leaf))
        x = lib.ones(2).as_subclass(cls)
        x.tag = [1]
        out.append(_outcome(lambda x=x: copy.deepcopy(x)))
        out.append(_outcome(lambda p=p: copy.deepcopy(p)))
        module = lib.nn.Linear(2, 2)
        module.extra = lib.nn.Parameter(lib.ones(2).as_subclass(cls))
        out.append([name for name, _ in module.named_parameters()])
    keeps = lib.ones(2).as_subclass(_subclasses(lib)[2]).requires_grad_()
    keeps.tag = [1]
    copied = copy.deepcopy(keeps)
    out.append((type(copied).__name__, copied.tag, copied.tag is keeps.tag,
                copied.requires_grad, copied.is_leaf, copied.tolist()))
    plain = lib.nn.Parameter(lib.ones(2))
    out.append((type(plain).__name__, isinstance(lib.ones(2), lib.nn.Parameter), repr(plain)))
    plain_cls = _subclasses(lib)[1]
    out.append(_outcome(lambda: lib.nn.Parameter(
        lib.ones(2, dtype=lib.int64).as_subclass(plain_cls))))
    return out


def test_parameter_of_a_subclass_and_deepcopy():
    assert _parameters_and_copies(ember) == _parameters_and_copies(torch)


def test_deepcopy_goes_through_torch_function():
    seen = {}
    for lib in LIBS:
        log = []
        s = lib.ones(2).as_subclass(_logging_subclass(lib, log))
        seen[lib] = (_outcome(lambda s=s: copy.deepcopy(s))[0], [entry[0] for entry in log])
    assert seen[ember] == seen[torch]
