"""src/ember/_backend/cupy_gaps.py on CuPy (the double in CI, real CuPy under
scripts/gpu_check.sh) against NumPy's own ufunc methods."""

import numpy as np
import pytest

from ember._backend.cupy_gaps import check_index_bounds, running_extreme, ufunc_at

RNG = np.random.default_rng(7)


def _host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("dtype", ["float32", "int64", "uint8"])
def test_running_extreme_is_numpys_accumulate(cupy_backend, largest, axis, dtype):
    x = RNG.integers(0, 5, (5, 9, 4)).astype(dtype)  # many ties
    if dtype == "float32":
        x[1, 3, 2] = x[4, 0, 1] = np.nan  # NaN propagates from where it appears
    op = np.maximum if largest else np.minimum
    got = _host(running_extreme(cupy_backend, cupy_backend.asarray(x), axis, largest))
    np.testing.assert_array_equal(got, op.accumulate(x, axis=axis))


def test_running_extreme_of_one_and_zero_length(cupy_backend):
    for shape in [(1, 3), (0, 3)]:
        x = RNG.standard_normal(shape).astype(np.float32)
        got = _host(running_extreme(cupy_backend, cupy_backend.asarray(x), 0, True))
        np.testing.assert_array_equal(got, np.maximum.accumulate(x, axis=0))


@pytest.mark.parametrize("dtype", ["int64", "float64", "bool"])
def test_multiply_at_repeated_targets(cupy_backend, dtype):
    out = (RNG.integers(1, 4, (4, 3)) if dtype != "bool" else RNG.random((4, 3)) > 0.2)
    out = out.astype(dtype)
    rows = RNG.integers(0, 4, (6, 3))
    cols = np.broadcast_to(np.arange(3), (6, 3))
    values = RNG.integers(-3, 4, (6, 3)).astype(dtype)
    if dtype == "int64":
        values[:2] = 2**40  # products past 2**63 wrap, the same in any order
        rows[:3] = 1
    expected = out.copy()
    np.multiply.at(expected, (rows, cols), values)
    device_out = cupy_backend.asarray(out)
    ufunc_at(cupy_backend, "multiply", device_out,
             (cupy_backend.asarray(rows), cupy_backend.asarray(np.ascontiguousarray(cols))),
             cupy_backend.asarray(values))
    np.testing.assert_allclose(_host(device_out), expected, rtol=1e-12)


def test_check_index_bounds_names_the_first_bad_index(cupy_backend):
    x = cupy_backend.asarray(np.zeros((3, 4)))
    check_index_bounds(x, (cupy_backend.asarray(np.array([0, -3, 2])), slice(None)))
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        check_index_bounds(x, (cupy_backend.asarray(np.array([0, 3, 5])),))
    with pytest.raises(IndexError, match="index -5 is out of bounds for dimension 1 with size 4"):
        check_index_bounds(x, (Ellipsis, cupy_backend.asarray(np.array([1, -5]))))
    check_index_bounds(np.zeros(2), (np.array([7]),))  # NumPy raises by itself


def _extreme_case(dtype):
    """A float ``out`` (3, 4), repeated (row, column) targets, and values with NaN, both
    infinities, both zeros, a subnormal, and (float64) magnitudes past float32's range."""
    out = RNG.standard_normal((3, 4)).astype(dtype)
    out[2, 3] = np.nan  # never a target: stays NaN
    rows = RNG.integers(0, 2, 40)
    cols = RNG.integers(0, 4, 40)
    values = RNG.standard_normal(40).astype(dtype)
    values[:6] = [np.nan, np.inf, -np.inf, -0.0, 0.0, np.finfo(dtype).smallest_subnormal]
    if dtype == "float64":
        values[6:9] = [1e300, -1e300, 3.0000000000000004]
    rows[0] = 1
    return out, rows, cols, values


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_float_extreme_at_is_numpys_exactly(cupy_backend, name, dtype):
    """ufunc_at's maximum/minimum of floats on CuPy: NumPy's result bit for bit (NaN
    propagates, float64 keeps every bit), with a (rows, cols) index and with rows alone
    (each value a whole row, as sparse softmax's per-group maximum)."""
    out, rows, cols, values = _extreme_case(dtype)
    xp = cupy_backend
    expected = out.copy()
    getattr(np, name).at(expected, (rows, cols), values)
    got = xp.asarray(out)
    ufunc_at(xp, name, got, (xp.asarray(rows), xp.asarray(cols)), xp.asarray(values))
    np.testing.assert_array_equal(_host(got), expected)
    row_values = values[:12].reshape(3, 4)
    expected = out.copy()
    getattr(np, name).at(expected, rows[:3], row_values)
    got = xp.asarray(out)
    ufunc_at(xp, name, got, xp.asarray(rows[:3]), xp.asarray(row_values))
    np.testing.assert_array_equal(_host(got), expected)


def test_cupy_maximum_at_compares_in_float32(cupy_backend):
    """What ufunc_at works around (and the double reproduces): CuPy's own maximum.at on
    float64 keeps a float32-rounded value at every target it touches (its double
    atomicMax calls fmaxf) and ignores NaN; untouched entries keep their bits. float16
    has no atomicMax at all."""
    xp = cupy_backend
    out = np.array([0.1, -np.inf, 0.3, 2.0])
    values = np.array([0.2, 1e300, np.nan, 0.7])
    got = xp.asarray(out)
    xp.maximum.at(got, xp.asarray(np.array([0, 1, 1, 2])), xp.asarray(values))
    with np.errstate(over="ignore"):
        single = np.float32([0.2, 1e300, 0.7]).astype(np.float64)
    np.testing.assert_array_equal(_host(got), [single[0], single[1], single[2], 2.0])
    assert _host(got)[0] != 0.2 and _host(got)[2] != 0.7
    with pytest.raises(TypeError, match=r"cupy\.maximum\.at only supports int32, int64, float32, float64"):
        xp.maximum.at(xp.asarray(out.astype(np.float16)), xp.asarray(np.array([0])),
                      xp.asarray(np.float16([1.0])))
