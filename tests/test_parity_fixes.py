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
    for error in (t_err, e_err):  # no chained NumPy LinAlgError in the traceback
        assert "During handling" not in "".join(traceback.format_exception(error))
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


def _grad_warnings(lib):
    """For each way of reading ``.grad``: (is None, count of non-leaf warnings)."""
    import warnings

    def reads():
        x = lib.ones(2, requires_grad=True)
        y = x * 2
        yield "leaf before backward", x
        yield "non-leaf", y
        z = x * 3
        z.retain_grad()
        yield "retained", z
        (y * z).sum().backward(retain_graph=True)
        yield "leaf after backward", x
        yield "non-leaf after backward", y
        yield "retained after backward", z
        w = x * 4
        w.sum().backward(inputs=[w])
        yield "non-leaf named in inputs", w
        v = x * 5
        v.grad = lib.zeros(2)
        yield "non-leaf with a set grad", v
        del v.grad
        yield "non-leaf after del", v
        yield "no-grad result", x.detach() * 2

    rows = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name, tensor in reads():
            before = len(caught)
            value = tensor.grad
            new = caught[before:]
            rows.append((name, value is None, len(new),
                         [(w.category, w.filename) for w in new]))
            texts = [str(w.message) for w in new]
            assert all(t.startswith("The .grad attribute of a Tensor that is not a leaf Tensor "
                                    "is being accessed.") for t in texts)
            assert all("github.com/pytorch/pytorch/pull/30531 for more information." in t
                       for t in texts)
        assert len(caught) == sum(row[2] for row in rows)  # nothing warned outside reads
    return rows


def test_non_leaf_grad_warning_as_torch():
    t_rows, e_rows = _grad_warnings(torch), _grad_warnings(ember)
    assert [r[:3] for r in e_rows] == [r[:3] for r in t_rows]
    for row in e_rows:  # attributed to the reading line, as torch's
        assert all(cat is UserWarning and name == __file__ for cat, name in row[3])
    assert sum(r[2] for r in e_rows) == 3


_SCALAR_DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int8", "uint8",
                  "bool", "complex64", "complex128"]
_SCALARS = [complex(1, 0), complex(1, 2), complex(float("nan"), 0), complex(0, float("nan")),
            1e300, float("inf"), float("nan"), -1e20, 2**70, -2**63, 2**63, 65519.0, 70000, -1,
            -255, -256, 256, 127.9, 128.0, -129, -0.5, 3.5e38, 2147483648.0, np.int64(300),
            np.uint64(2**64 - 1)]


@pytest.mark.parametrize("dtype", _SCALAR_DTYPES)
def test_setitem_scalar_range_checks_as_torch(dtype):
    """Python scalars into each dtype: PyTorch's overflow errors, wraps and roundings."""
    results = []
    for lib in (torch, ember):
        rows = []
        for value in _SCALARS:
            for key in (0, lib.tensor([True, False])):
                target = lib.zeros(2, dtype=getattr(lib, dtype))
                try:
                    target[key] = value
                except Exception as error:  # noqa: BLE001 - compared between the libraries
                    rows.append((type(error).__name__, str(error)))
                else:
                    rows.append(repr(target.tolist()))
        results.append(rows)
    assert results[1] == results[0]
