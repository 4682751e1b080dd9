"""The float8 dtypes against PyTorch: casts bit for bit, creation, views, finfo, printing,
promotion errors, and which ops PyTorch's CPU build runs or refuses on them."""

import numpy as np
import pytest
import torch

import ember

NAMES = ["float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu"]


def _pair(name):
    return getattr(ember, name), getattr(torch, name)


def _bits(tensor):
    """The raw bytes of a float8 tensor (either library) as a NumPy uint8 array."""
    if isinstance(tensor, torch.Tensor):
        return tensor.view(torch.uint8).numpy()
    return tensor.view(ember.uint8).numpy()


def _values():
    """Random magnitudes over float8's ranges and beyond, plus the special values."""
    rng = np.random.default_rng(0)
    random = rng.standard_normal(400) * np.exp(rng.uniform(-25, 25, 400))
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 448, 449, 464, 465, 500, 240, 241, 57344,
               57345, 61440, 1e9, -1e9, 1e-10, 2.0 ** -127, 2.0 ** 127, 0.5, 1.0, 1.5]
    return np.concatenate([random, special])


def _same(ember_value, torch_value):
    """Same dtype name, shape and values (NaN equal to NaN)."""
    expected = torch_value.numpy() if torch_value.dtype != torch.bfloat16 else (
        torch_value.float().numpy())
    got = ember_value.numpy() if ember_value.dtype != ember.bfloat16 else (
        ember_value.float().numpy())
    assert str(ember_value.dtype) == str(torch_value.dtype)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", NAMES)
def test_dtype_attributes(name):
    e, t = _pair(name)
    assert repr(e) == repr(t)
    assert e.itemsize == t.itemsize == 1
    assert e.is_floating_point == t.is_floating_point
    assert e.is_signed == t.is_signed
    assert e.is_complex is False
    x = ember.zeros(3, dtype=e)
    assert x.dtype is e and x.element_size() == 1 and x.nbytes == 3
    assert x.is_floating_point() and ember.is_floating_point(x)
    assert ember.empty(2, 3, dtype=e).shape == (2, 3)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("source", ["float32", "float64", "float16", "bfloat16", "int64"])
def test_cast_to_float8_bit_exact(name, source):
    """PyTorch's rounding, saturation (e4m3fn), NaN bits (e5m2) and e8m0's exponent rule."""
    e, t = _pair(name)
    values = _values()
    if source == "int64":
        values = np.nan_to_num(values, posinf=0, neginf=0).clip(-2 ** 62, 2 ** 62)
    if source == "bfloat16":
        # PyTorch's float64 -> bfloat16 cast sets NaN's sign bit (ember's keeps it clear), and
        # e4m3fn/e5m2 keep a NaN's sign: NaN is checked from the other sources
        values = values[~np.isnan(values)]
    source_t = torch.tensor(values, dtype=torch.float64).to(getattr(torch, source))
    source_e = ember.tensor(values, dtype=ember.float64).to(getattr(ember, source))
    np.testing.assert_array_equal(_bits(source_e.to(e)), _bits(source_t.to(t)))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("target", ["float32", "float64", "float16", "bfloat16", "int64",
                                    "int32", "int8", "uint8", "bool"])
def test_cast_from_float8_every_pattern(name, target):
    e, t = _pair(name)
    patterns = np.arange(256, dtype=np.uint8)
    got = ember.tensor(patterns).view(e).to(getattr(ember, target))
    expected = torch.from_numpy(patterns).view(t).to(getattr(torch, target))
    _same(got, expected)


@pytest.mark.parametrize("name", NAMES)
def test_cast_methods(name):
    e, t = _pair(name)
    patterns = np.arange(256, dtype=np.uint8)
    x, y = ember.tensor(patterns).view(e), torch.from_numpy(patterns).view(t)
    for method in ("float", "double", "half", "long", "int", "bool"):
        _same(getattr(x, method)(), getattr(y, method)())


@pytest.mark.parametrize("name", NAMES)
def test_creation(name):
    e, t = _pair(name)
    data = [1.5, -3.25, 300.0, 1e-3, 0.0]
    np.testing.assert_array_equal(_bits(ember.tensor(data, dtype=e)),
                                  _bits(torch.tensor(data, dtype=t)))
    for factory in ("zeros", "ones"):
        np.testing.assert_array_equal(_bits(getattr(ember, factory)(2, 3, dtype=e)),
                                      _bits(getattr(torch, factory)(2, 3, dtype=t)))
    np.testing.assert_array_equal(_bits(ember.full((4,), 2.5, dtype=e)),
                                  _bits(torch.full((4,), 2.5, dtype=t)))
    np.testing.assert_array_equal(_bits(ember.zeros_like(ember.ones(2, dtype=e))),
                                  _bits(torch.zeros_like(torch.ones(2, dtype=t))))
    np.testing.assert_array_equal(_bits(ember.eye(2, dtype=e)), _bits(torch.eye(2, dtype=t)))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("value", [1e4, 500.0, float("inf"), -1.0, 0.0, float("nan"), 3.0])
@pytest.mark.parametrize("numel", [1, 3])
def test_full_and_fill_overflow(name, value, numel):
    """PyTorch checks a fill value against the type's range only on its vectorised path
    (more than one element); one element is converted as a cast converts."""
    e, t = _pair(name)
    try:
        expected = _bits(torch.full((numel,), value, dtype=t))
    except RuntimeError as exc:
        with pytest.raises(RuntimeError, match=str(exc).replace("::", "::")):
            ember.full((numel,), value, dtype=e)
        with pytest.raises(RuntimeError, match=str(exc)):
            ember.zeros(numel, dtype=e).fill_(value)
        return
    np.testing.assert_array_equal(_bits(ember.full((numel,), value, dtype=e)), expected)
    np.testing.assert_array_equal(_bits(ember.zeros(numel, dtype=e).fill_(value)),
                                  _bits(torch.zeros(numel, dtype=t).fill_(value)))


@pytest.mark.parametrize("name", NAMES)
def test_copy_into_float8(name):
    e, t = _pair(name)
    source = [1e5, -3.0, float("nan"), 0.3]
    np.testing.assert_array_equal(
        _bits(ember.zeros(4, dtype=e).copy_(ember.tensor(source))),
        _bits(torch.zeros(4, dtype=t).copy_(torch.tensor(source))))


@pytest.mark.parametrize("name", NAMES)
def test_views_between_float8_and_bytes(name):
    e, t = _pair(name)
    raw = np.arange(0, 256, 7, dtype=np.uint8)
    x, y = ember.tensor(raw).view(e), torch.from_numpy(raw).view(t)
    assert x.dtype is e
    np.testing.assert_array_equal(_bits(x), _bits(y))
    np.testing.assert_array_equal(x.view(ember.int8).numpy(), y.view(torch.int8).numpy())
    np.testing.assert_array_equal(_bits(x.view(ember.float8_e5m2)),
                                  _bits(y.view(torch.float8_e5m2)))
    x.view(ember.uint8)[0] = 56  # a view: the write shows through
    assert x.view(ember.uint8)[0].item() == 56


@pytest.mark.parametrize("name", NAMES)
def test_finfo(name):
    e, t = _pair(name)
    assert repr(ember.finfo(e)) == repr(torch.finfo(t))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(ember.finfo(e), field) == getattr(torch.finfo(t), field), field


@pytest.mark.parametrize("name", NAMES)
def test_repr_and_python_values(name):
    e, t = _pair(name)
    data = [1.5, -2.25, 288.0, 0.001953125, 0.0]
    x, y = ember.tensor(data).to(e), torch.tensor(data).to(t)
    assert repr(x) == repr(y)
    assert repr(x.reshape(5, 1)) == repr(y.reshape(5, 1))
    assert str(x.to(ember.float32)) == str(y.to(torch.float32))
    np.testing.assert_equal(x.tolist(), y.tolist())
    assert x[0].item() == y[0].item() and float(x[0]) == float(y[0])


@pytest.mark.parametrize("name", NAMES)
def test_promotion_is_refused(name):
    e, t = _pair(name)
    others = ["float32", "bfloat16", "float16", "int64", "uint8", "bool", "complex64",
              "float8_e5m2", "float8_e4m3fn"]
    for other in others:
        try:
            expected = torch.promote_types(t, getattr(torch, other))
        except RuntimeError as exc:
            with pytest.raises(RuntimeError, match=str(exc)):
                ember.promote_types(e, getattr(ember, other))
            with pytest.raises(RuntimeError, match=str(exc)):
                ember.ones(2, dtype=e) + ember.ones(2, dtype=getattr(ember, other))
        else:
            assert repr(ember.promote_types(e, getattr(ember, other))) == repr(expected)


def _run(fn, library, x, y):
    try:
        return fn(library, x, y), None
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return None, exc


_MATRIX = [[1.5, -2.0], [0.25, 3.0]]
# op name -> fn(lib, x, y) on 1-D float8 operands x, y of 4 elements; the table covers
# what PyTorch computes (compared bit for bit) and what it refuses (same error)
OPS = {
    "add": lambda lib, x, y: x + y,
    "sub": lambda lib, x, y: x - y,
    "add_scalar": lambda lib, x, y: x + 1,
    "mul": lambda lib, x, y: x * y,
    "mul_scalar": lambda lib, x, y: x * 2,
    "div": lambda lib, x, y: x / y,
    "neg": lambda lib, x, y: -x,
    "abs": lambda lib, x, y: x.abs(),
    "sum": lambda lib, x, y: x.sum(),
    "sum_dtype": lambda lib, x, y: x.sum(dtype=lib.float32),
    "mean": lambda lib, x, y: x.mean(),
    "prod": lambda lib, x, y: x.prod(),
    "max": lambda lib, x, y: x.max(),
    "min_dim": lambda lib, x, y: x.min(0),
    "amax": lambda lib, x, y: x.amax(),
    "argmax": lambda lib, x, y: x.argmax(),
    "maximum": lambda lib, x, y: lib.maximum(x, y),
    "lt": lambda lib, x, y: x < y,
    "ge_scalar": lambda lib, x, y: x >= 1.0,
    "eq": lambda lib, x, y: x == y,
    "ne_scalar": lambda lib, x, y: x != 1.5,
    "exp": lambda lib, x, y: x.exp(),
    "sqrt": lambda lib, x, y: x.sqrt(),
    "sigmoid": lambda lib, x, y: x.sigmoid(),
    "floor": lambda lib, x, y: x.floor(),
    "relu": lambda lib, x, y: lib.relu(x),
    "clamp": lambda lib, x, y: x.clamp(0, 1),
    "sort": lambda lib, x, y: x.sort().values,
    "cumsum": lambda lib, x, y: x.cumsum(0),
    "flip": lambda lib, x, y: x.flip(0),
    "nonzero": lambda lib, x, y: x.nonzero(),
    "masked_fill": lambda lib, x, y: x.masked_fill(lib.tensor([True, False, True, False]), 0.),
    "pow": lambda lib, x, y: x ** 2,
    "softmax": lambda lib, x, y: x.softmax(0),
    "isnan": lambda lib, x, y: x.isnan(),
    "isinf": lambda lib, x, y: x.isinf(),
    "isfinite": lambda lib, x, y: x.isfinite(),
    "cat": lambda lib, x, y: lib.cat([x, y]),
    "stack": lambda lib, x, y: lib.stack([x, y]),
    "clone": lambda lib, x, y: x.clone(),
    "copy_": lambda lib, x, y: x.clone().copy_(y),
    "fill_": lambda lib, x, y: x.clone().fill_(2.5),
    "zero_": lambda lib, x, y: x.clone().zero_(),
    "index": lambda lib, x, y: x[1:3],
    "index_select": lambda lib, x, y: x.index_select(0, lib.tensor([3, 0])),
    "advanced_index": lambda lib, x, y: x[lib.tensor([2, 2, 0])],
    "masked_select": lambda lib, x, y: x.masked_select(lib.tensor([True, False, True, True])),
    "where": lambda lib, x, y: lib.where(lib.tensor([True, False, True, False]), x, y),
    "setitem": lambda lib, x, y: _setitem(x, y),
    "transpose": lambda lib, x, y: x.reshape(2, 2).t().contiguous(),
    "roll": lambda lib, x, y: x.roll(1),
    "repeat": lambda lib, x, y: x.repeat(2),
    "all": lambda lib, x, y: x.all(),
    "any": lambda lib, x, y: x.any(),
    "equal": lambda lib, x, y: lib.equal(x, y),
    "isclose": lambda lib, x, y: lib.isclose(x, y),
    "allclose": lambda lib, x, y: lib.allclose(x, y),
    "mm": lambda lib, x, y: x.reshape(2, 2) @ y.reshape(2, 2),
    "matmul_batched_fold": lambda lib, x, y: x.reshape(1, 2, 2) @ y.reshape(2, 2),
    "bmm": lambda lib, x, y: x.reshape(1, 2, 2).bmm(y.reshape(1, 2, 2)),
    "dot": lambda lib, x, y: x.dot(y),
    "mv": lambda lib, x, y: x.reshape(2, 2).mv(y[:2]),
    "matmul_mixed": lambda lib, x, y: x.reshape(2, 2) @ lib.ones(2, 2),
    "gather": lambda lib, x, y: x.gather(0, lib.tensor([2, 0])),
    "scatter": lambda lib, x, y: x.scatter(0, lib.tensor([0]), y),
    "index_add": lambda lib, x, y: x.index_add(0, lib.tensor([0]), y[:1]),
    "triu": lambda lib, x, y: x.reshape(2, 2).triu(),
    "view_half_odd": lambda lib, x, y: x[:3].view(lib.float16),
    "view_half": lambda lib, x, y: x.view(lib.float16),
    "type": lambda lib, x, y: x.type(),
    "normal_": lambda lib, x, y: x.clone().normal_(),
    "uniform_": lambda lib, x, y: x.clone().uniform_(),
}


def _setitem(x, y):
    out = x.clone()
    out[1] = y[0]
    out[2:] = y[:2]
    return out


def _compare_results(got, expected):
    if isinstance(expected, torch.Tensor):
        assert str(got.dtype) == str(expected.dtype)
        assert tuple(got.shape) == tuple(expected.shape)
        if expected.dtype.itemsize == 1 and expected.dtype.is_floating_point:
            np.testing.assert_array_equal(_bits(got), _bits(expected))
        else:
            np.testing.assert_array_equal(got.numpy(), expected.numpy())
    else:
        assert got == expected


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("op", sorted(OPS))
def test_ops_match_pytorch(name, op):
    """Where PyTorch computes, the bits match; where it raises, the same error type and
    message."""
    e, t = _pair(name)
    x_values, y_values = [1.5, 300.0, 2.0, 0.01], [2.0, 2.0, 0.5, 4.0]
    expected, error = _run(OPS[op], torch, torch.tensor(x_values).to(t),
                           torch.tensor(y_values).to(t))
    x, y = ember.tensor(x_values).to(e), ember.tensor(y_values).to(e)
    if error is not None:
        with pytest.raises(type(error)) as info:
            OPS[op](ember, x, y)
        assert str(info.value) == str(error)
        return
    _compare_results(OPS[op](ember, x, y), expected)


def test_matmul_saturates_as_a_cast():
    """The float32 product rounds (and, e4m3fn, saturates) as a cast does."""
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((5, 7)) * 30, rng.standard_normal((7, 3)) * 30
    for name in ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz"):
        e, t = _pair(name)
        got = ember.tensor(a).to(e) @ ember.tensor(b).to(e)
        expected = torch.tensor(a).to(t) @ torch.tensor(b).to(t)
        np.testing.assert_array_equal(_bits(got), _bits(expected))


@pytest.mark.parametrize("name", NAMES)
def test_checkpoints_both_ways(name, tmp_path):
    """torch writes float8 tensors as UntypedStorage bytes + _rebuild_tensor_v3; ember reads
    them, and writes files torch reads back (weights_only too), views included."""
    e, t = _pair(name)
    values = torch.tensor([[1.5, -2.0, 3.0], [0.25, 4.0, 448.0]])
    original = values.to(t)
    torch.save({"w": original, "column": original[:, 1], "scale": torch.ones(2)},
               tmp_path / "torch.pt")
    loaded = ember.load(tmp_path / "torch.pt")
    assert loaded["w"].dtype is e and loaded["column"].dtype is e
    np.testing.assert_array_equal(_bits(loaded["w"]), _bits(original))
    np.testing.assert_array_equal(_bits(loaded["column"]),
                                  _bits(original[:, 1].contiguous()))
    ember.save({"w": loaded["w"], "column": loaded["column"]}, tmp_path / "ember.pt")
    for weights_only in (True, False):
        back = torch.load(tmp_path / "ember.pt", weights_only=weights_only)
        assert back["w"].dtype == t
        np.testing.assert_array_equal(_bits(back["w"]), _bits(original))
        np.testing.assert_array_equal(_bits(back["column"]),
                                      _bits(original[:, 1].contiguous()))


@pytest.mark.parametrize("name", NAMES)
def test_safetensors_both_ways(name):
    """safetensors' F8_* codes; the installed safetensors.torch can write F8_E8M0 but not
    read it back, so that one file goes torch -> ember -> ember."""
    import safetensors.torch as st

    from ember.utils import safetensors as es

    e, t = _pair(name)
    original = torch.tensor([1.5, -2.0, 448.0, 0.01]).to(t)
    loaded = es.load(st.save({"x": original}))["x"]
    assert loaded.dtype is e
    np.testing.assert_array_equal(_bits(loaded), _bits(original))
    written = es.save({"x": loaded})
    back = es.load(written)["x"] if name == "float8_e8m0fnu" else st.load(written)["x"]
    np.testing.assert_array_equal(_bits(back), _bits(original))
