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
