"""The ``__torch_function__`` protocol and ``torch.overrides`` against PyTorch: the
"Extending PyTorch" docs' ScalarTensor, LoggingTensor and MetadataTensor, override
priority and NotImplemented errors, TorchFunctionMode, the helper functions.

Every class is built per library inside a test (a class statement is what turns the
protocol on); the module fixture turns it off again afterwards.
"""

import functools
import inspect
import pickle
import warnings

import pytest
import torch

import ember
from ember import overrides

LIBS = (ember, torch)

@pytest.fixture(autouse=True, scope="module")
def _protocol_off_afterwards():
    yield
    overrides._uninstall()


def _name(func):
    return getattr(func, "__name__", repr(func))


def _error(call, *args):
    try:
        call(*args)
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return type(exc), str(exc)
    return None


# -- the docs' examples ----------------------------------------------------------------------

def _scalar_tensor(lib):
    handled = {}

    class ScalarTensor:
        def __init__(self, N, value):
            self._N = N
            self._value = value

        def tensor(self):
            return self._value * lib.eye(self._N)

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if kwargs is None:
                kwargs = {}
            if func not in handled or not all(
                    issubclass(t, (lib.Tensor, ScalarTensor)) for t in types):
                return NotImplemented
            return handled[func](*args, **kwargs)

    def implements(torch_function):
        def decorator(func):
            functools.update_wrapper(func, torch_function)
            handled[torch_function] = func
            return func
        return decorator

    @implements(lib.mean)
    def mean(input):
        return float(input._value) / input._N

    return ScalarTensor


def test_scalar_tensor_docs_example():
    seen = {}
    for lib in LIBS:
        ScalarTensor = _scalar_tensor(lib)
        d = ScalarTensor(5, 2)
        seen[lib] = (lib.mean(d), d.tensor().tolist(), _error(lib.add, d, 1),
                     _error(lib.Tensor.__add__, lib.ones(2), d))
    assert seen[ember] == seen[torch]
    assert seen[ember][0] == 0.4


def _logging_tensor(lib, log):
    class LoggingTensor(lib.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            log.append(_name(func))
            return super().__torch_function__(func, types, args, kwargs or {})

    return LoggingTensor


def test_logging_tensor_docs_example():
    seen = {}
    for lib in LIBS:
        log = []
        t = lib.arange(6.0).reshape(2, 3).as_subclass(_logging_tensor(lib, log))
        out = lib.nn.functional.relu(t + 1)[0].sum() * 2
        lib.mean(t, dim=0)
        t.exp_()
        seen[lib] = (log, type(out).__name__, out.item())
    assert seen[ember] == seen[torch]


def _metadata_tensor(lib):
    class MetadataTensor:
        def __init__(self, data, metadata=None, **kwargs):
            self._t = lib.as_tensor(data, **kwargs)
            self._metadata = metadata

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if kwargs is None:
                kwargs = {}
            metadatas = tuple(a._metadata for a in args if hasattr(a, "_metadata"))
            args = [getattr(a, "_t", a) for a in args]
            ret = func(*args, **kwargs)
            return MetadataTensor(ret, metadata=metadatas[0])

    return MetadataTensor


def test_metadata_tensor_docs_example():
    seen = {}
    for lib in LIBS:
        MetadataTensor = _metadata_tensor(lib)
        metadata = {"owner": "Ministry of Silly Walks"}
        m = MetadataTensor([[1.0, 2.0], [3.0, 4.0]], metadata=metadata)
        t = lib.tensor([[1.0, 2.0], [1.0, 2.0]])
        out = lib.add(t, m)
        product = lib.matmul(m, t)
        seen[lib] = (out._metadata, out._t.tolist(), product._t.tolist())
    assert seen[ember] == seen[torch]


# -- priority and errors --------------------------------------------------------------------

def _declining(lib, calls):
    class A(lib.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            calls.append(("A", [t.__name__ for t in types]))
            return NotImplemented

    class B(A):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            calls.append(("B", [t.__name__ for t in types]))
            return NotImplemented

    class Duck:
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            calls.append(("Duck", [t.__name__ for t in types]))
            return NotImplemented

    return A, B, Duck


CALLS = {
    "torch.add subclass first": lambda lib, a, b, d: lib.add(a, b),
    "duck then subclass": lambda lib, a, b, d: lib.add(d, a),
    "torch.mean": lambda lib, a, b, d: lib.mean(a),
    "torch.cat list": lambda lib, a, b, d: lib.cat([a, d, b]),
    "F.relu": lambda lib, a, b, d: lib.nn.functional.relu(b),
    "F.linear": lambda lib, a, b, d: lib.nn.functional.linear(a, b),
    "F.mse_loss": lambda lib, a, b, d: lib.nn.functional.mse_loss(a, b),
    "getitem": lambda lib, a, b, d: a[0],
    "operator": lambda lib, a, b, d: a + d,
    "keyword argument": lambda lib, a, b, d: lib.add(lib.ones(2), other=b),
}


@pytest.mark.parametrize("case", CALLS)
def test_priority_and_not_implemented_errors(case):
    seen = {}
    for lib in LIBS:
        calls = []
        A, B, Duck = _declining(lib, calls)
        a = lib.ones(2).as_subclass(A)
        b = lib.ones(2).as_subclass(B)
        seen[lib] = (_error(CALLS[case], lib, a, b, Duck()), calls)
    assert seen[ember] == seen[torch]


def test_plain_method_torch_function_warns():
    seen = {}
    for lib in LIBS:
        class Old:
            def __torch_function__(self, func, types, args=(), kwargs=None):
                return "handled"

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = lib.add(Old(), 1)
        # torch's builtins add where in its C++ sources the warning came from
        seen[lib] = (result, [(w.category, str(w.message).split(" (Triggered")[0])
                              for w in caught])
    assert seen[ember] == seen[torch]


# -- modes ----------------------------------------------------------------------------------

def _counting_mode(lib, log, tag):
    class Counting(lib.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            log.append((tag, _name(func), [t.__name__ for t in types]))
            return func(*args, **(kwargs or {}))

    return Counting


def test_torch_function_mode_sees_every_call():
    seen = {}
    for lib in LIBS:
        log = []
        Sub = type("Sub", (lib.Tensor,), {})
        s = lib.ones(2).as_subclass(Sub)
        with _counting_mode(lib, log, "m")():
            y = lib.ones(2)
            z = y * 2 + s
            z.sum()
            lib.nn.functional.relu(z)
            lib.nn.functional.softmax(z, dim=0)
            z[0]
            z.add_(1)
            lib.where(z > 0, z, y)
            shape = (1 / z).shape
        seen[lib] = (log, type(z).__name__, z.tolist(), shape)
    assert seen[ember] == seen[torch]


def _nested_modes(lib):
    log = []
    outer = _counting_mode(lib, log, "outer")

    class Constant(lib.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            log.append(("constant", _name(func)))
            if _name(func) == "mul":
                return "replaced"
            return func(*args, **(kwargs or {}))

    x = lib.ones(2)
    with outer(), Constant():
        product = x * 3
        total = lib.add(x, 1).sum()
    with Constant() as mode:
        current = lib.overrides._get_current_function_mode() is mode
    return (log, product, total.item(), current, lib.add(x, 1).tolist())


def test_nested_modes_and_mode_results():
    assert _nested_modes(ember) == _nested_modes(torch)


def test_mode_declining_reaches_subclass_and_errors():
    seen = {}
    for lib in LIBS:
        class Declining(lib.overrides.TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                return NotImplemented

        calls = []
        _, B, _ = _declining(lib, calls)
        b = lib.ones(2).as_subclass(B)
        with Declining():
            error = _error(lib.add, b, 1)
        seen[lib] = (error is not None and error[0], calls)
    assert seen[ember] == seen[torch]


# -- helpers of torch.overrides ---------------------------------------------------------------

def _helpers(lib):
    Sub = type("Sub", (lib.Tensor,), {})
    Duck = type("Duck", (), {"__torch_function__": classmethod(
        lambda cls, func, types, args=(), kwargs=None: ("duck", _name(func), args))})
    s = lib.ones(2).as_subclass(Sub)
    o = lib.overrides

    def my_op(x, y):
        if o.has_torch_function((x, y)):
            return o.handle_torch_function(my_op, (x, y), x, y)
        return x + y

    @o.wrap_torch_function(lambda x: (x,))
    def double(x):
        return x * 2

    ignored = o.get_ignored_functions()
    overridable = o.get_overridable_functions()
    result = (
        o.has_torch_function((lib.ones(1),)), o.has_torch_function((s, 1)),
        o.has_torch_function_unary(Duck()), o.has_torch_function_variadic(1, s),
        o.is_tensor_like(lib.ones(1)), o.is_tensor_like(Duck()), o.is_tensor_like([1]),
        my_op(lib.ones(1), 2).tolist(), my_op(Duck(), 1)[1], double(Duck())[1],
        double(lib.ones(1)).tolist(),
        lib.is_tensor in ignored, lib.Tensor.as_subclass in ignored,
        lib.add in overridable[lib], lib.Tensor.add in overridable[lib.Tensor],
        lib.nn.functional.relu in overridable[lib.nn.functional],
        o.is_tensor_method_or_property(lib.Tensor.add),
        o.is_tensor_method_or_property(lib.Tensor.sum),
        [o.resolve_name(f) for f in (lib.add, lib.Tensor.view, lib.Tensor.__getitem__,
                                     lib.Tensor.shape.__get__, len)],
        lib.nn.Parameter.__torch_function__ is lib._C._disabled_torch_function_impl,
    )
    with lib._C.DisableTorchFunctionSubclass():
        result += (o.has_torch_function((s,)),)
    return result


def test_helper_functions():
    assert _helpers(ember) == _helpers(torch)


def test_names_bound_before_the_protocol_was_on_dispatch():
    overrides._uninstall()
    from ember import relu  # bound while the functions are plain

    assert not overrides._INSTALLED[0]
    signature = str(inspect.signature(ember.add))
    calls = []
    A, _, _ = _declining(ember, calls)
    assert overrides._INSTALLED[0]
    with pytest.raises(TypeError, match="torch.nn.functional.relu"):
        relu(ember.ones(2).as_subclass(A))
    # the function objects stay themselves: signature, pickling, identity
    assert str(inspect.signature(ember.add)) == signature
    assert pickle.loads(pickle.dumps(ember.add)) is ember.add
    assert ember.Tensor.__dict__["sum"] is not ember.sum  # torch.Tensor.sum is not torch.sum


def test_protocol_turns_on_for_user_classes_only():
    overrides._uninstall()

    class FromTorch:  # PyTorch's own classes (torch imported after ember) leave it off
        __module__ = "torch.fake"

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return NotImplemented

    class Unrelated(ember.Tensor):  # no __torch_function__ of its own, but it dispatches
        __torch_function__ = ember._C._disabled_torch_function_impl

    assert not overrides._INSTALLED[0]
    assert ember.add.__code__.co_filename != "<ember.overrides trampoline>"

    class Duck:
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return "duck"

    assert overrides._INSTALLED[0]
    assert ember.add(Duck(), 1) == "duck"
    assert type(ember.add(ember.ones(1).as_subclass(Unrelated), 1)) is ember.Tensor


def _modes_per_thread(lib):
    import threading

    log = []
    other = {}
    Sub = type("Sub", (lib.Tensor,), {})
    s = lib.ones(2).as_subclass(Sub)

    def elsewhere():
        other["add"] = type(lib.add(s, 1)).__name__
        other["mode"] = lib._C._is_torch_function_mode_enabled()

    with _counting_mode(lib, log, "m")(), lib._C.DisableTorchFunctionSubclass():
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        here = type(lib.add(s, 1)).__name__
    return log, other, here


def test_modes_and_switches_are_per_thread():
    assert _modes_per_thread(ember) == _modes_per_thread(torch)


_FUNCTIONAL_NAMES = ("linear", "conv2d", "conv_transpose1d", "gelu", "softplus", "avg_pool2d",
                     "adaptive_avg_pool1d", "one_hot", "logsigmoid", "pixel_shuffle", "relu_",
                     "scaled_dot_product_attention", "hardshrink", "relu", "dropout",
                     "cross_entropy", "layer_norm")


def test_resolve_name_of_functional_builtins():
    def names(lib):
        return [lib.overrides.resolve_name(getattr(lib.nn.functional, name))
                for name in _FUNCTIONAL_NAMES]

    assert names(ember) == names(torch)
