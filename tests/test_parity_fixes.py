"""Small PyTorch-parity points checked against torch itself: LinAlgError's printed name,
assigning a NumPy array into a tensor slice, ``output_nr``, a grad_fn name, and the
non-leaf ``.grad`` warning."""

from __future__ import annotations

import decimal
import fractions
import pickle
import traceback

import numpy as np
import pytest
import torch

import ember


def _exception_of(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001 - we compare whatever each library raises
        return error
    raise AssertionError("no exception")


def test_linalg_error_prints_its_private_name_as_torch():
    t_err = _exception_of(lambda: torch.linalg.inv(torch.zeros(2, 2)))
    e_err = _exception_of(lambda: ember.linalg.inv(ember.zeros(2, 2)))
    assert type(e_err) is ember.linalg.LinAlgError and isinstance(e_err, RuntimeError)
    assert repr(e_err) == repr(t_err)
    assert type(e_err).__name__ == type(t_err).__name__ == "_LinAlgError"
    assert type(e_err).__qualname__ == type(t_err).__qualname__
    t_last = traceback.format_exception_only(type(t_err), t_err)[-1]
    e_last = traceback.format_exception_only(type(e_err), e_err)[-1]
    assert t_last.startswith("torch._C._LinAlgError: linalg.inv: ")
    assert e_last.startswith("ember.linalg._LinAlgError: linalg.inv: ")
    assert e_last.split(": ", 1)[1] == t_last.split(": ", 1)[1]
    again = pickle.loads(pickle.dumps(e_err))
    assert type(again) is ember.linalg.LinAlgError and str(again) == str(e_err)


class _MyFloat(float):
    pass


_SETITEM_VALUES = {  # value kinds torch's __setitem__ accepts or refuses with a TypeError
    "ndarray": lambda: np.ones(1, np.float32),
    "ndarray 0-d": lambda: np.array(1.0),
    "np.float32": lambda: np.float32(1.0),
    "np.float16": lambda: np.float16(1.0),
    "np.bool_": lambda: np.bool_(True),
    "np.float64": lambda: np.float64(2.0),
    "np.int32": lambda: np.int32(3),
    "np.uint8": lambda: np.uint8(3),
    "list": lambda: [1.0],
    "tuple": lambda: (1.0,),
    "None": lambda: None,
    "str": lambda: "a",
    "Decimal": lambda: decimal.Decimal(1),
    "Fraction": lambda: fractions.Fraction(1, 2),
    "float subclass": lambda: _MyFloat(2.5),
    "bool": lambda: True,
}


@pytest.mark.parametrize("name", list(_SETITEM_VALUES))
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool", "float64"])
@pytest.mark.parametrize("index", ["int", "slice", "mask", "ellipsis"])
def test_setitem_value_types_as_torch(name, dtype, index):
    results = []
    for lib in (torch, ember):
        target = lib.zeros(3, dtype=getattr(lib, dtype))
        key = {"int": 0, "slice": slice(0, 2), "ellipsis": Ellipsis,
               "mask": lib.tensor([True, False, True])}[index]
        try:
            target[key] = _SETITEM_VALUES[name]()
        except Exception as error:  # noqa: BLE001 - compared between the libraries
            results.append((type(error).__name__, str(error)))
        else:
            results.append(target.tolist())
    assert results[1] == results[0]


def test_setitem_type_error_comes_before_the_index_check():
    for lib in (torch, ember):
        with pytest.raises(TypeError, match=r"^can't assign a numpy.ndarray to a torch\."
                                            r"DoubleTensor$"):
            lib.zeros(3, dtype=lib.float64)[10] = np.ones(1)


def _output_nrs(lib):
    x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    u = lib.arange(12.0).reshape(3, 4).requires_grad_() * 2
    values, indices = u.sort(0)
    s, v, d = lib.linalg.svd(lib.eye(3, requires_grad=True) * 2)

    class Two(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, ga, gb):
            return ga + gb

    return ([x.output_nr, lib.ones(2).output_nr, u.output_nr]
            + [t.output_nr for t in x.split(2)] + [t.output_nr for t in u.unbind(0)]
            + [t.output_nr for t in u.chunk(2, 1)] + [values.output_nr, indices.output_nr]
            + [s.output_nr, v.output_nr, d.output_nr] + [t.output_nr for t in Two.apply(x)])


def test_output_nr_as_torch():
    assert _output_nrs(ember) == _output_nrs(torch)
    for lib in (torch, ember):
        with pytest.raises(AttributeError):
            lib.ones(1).output_nr = 1


def test_log1p_node_name_and_node_subclass_checks_as_torch():
    class Double(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    rows = []
    for lib, fn in ((torch, None), (ember, Double)):
        if fn is None:
            class fn(torch.autograd.Function):  # torch's twin of Double
                forward, backward = Double.forward, Double.backward
        x = lib.ones(2, requires_grad=True)
        y, z = x.log1p(), fn.apply(x)
        node = lib.autograd.graph.Node
        rows.append([y.grad_fn.name(), type(y.grad_fn).__name__, issubclass(fn, node),
                     issubclass(lib.autograd.Function, node), isinstance(z.grad_fn, node),
                     isinstance(y.grad_fn, node), issubclass(type(y.grad_fn), node),
                     isinstance(y.grad_fn.next_functions[0][0], node), isinstance(x, node)])
    assert rows[1] == rows[0]
    assert rows[0][:2] == ["Log1PBackward0", "Log1PBackward0"]
