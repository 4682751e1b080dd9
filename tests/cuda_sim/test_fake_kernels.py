"""The double's ``ElementwiseKernel`` (fake_cupy_kernels.py): CuPy's calling contract, with
the CUDA C++ body compiled by g++, so CI runs ember's compiled kernels for real.

On a GPU machine the same tests run against real CuPy (NVRTC), which checks that the
double's contract is CuPy's; the out-of-bounds check exists only in the double.
"""

import numpy as np
import pytest

from conftest import REAL_GPU


def test_kernel_broadcasts_binds_placeholders_and_allocates_its_output(cupy_backend):
    cp = cupy_backend
    axpy = cp.ElementwiseKernel("T x, T y, float64 a", "T z", "z = x * a + y", "ember_test_axpy")
    x = cp.asarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    y = cp.asarray(np.array([1.0, -1.0, 0.5], dtype=np.float32))
    z = axpy(x, y, 2.0)
    assert isinstance(z, cp.ndarray) and z.dtype == np.float32 and z.shape == (2, 3)
    np.testing.assert_array_equal(cp.asnumpy(z), np.arange(6).reshape(2, 3) * 2.0 + [1, -1, .5])
    out = cp.zeros((2, 3), dtype=np.float32)
    assert axpy(x, y, 3.0, out) is out
    np.testing.assert_array_equal(cp.asnumpy(out), np.arange(6).reshape(2, 3) * 3.0 + [1, -1, .5])
    with pytest.raises(TypeError):  # T bound to float32 by x, then float64 by y
        axpy(x, cp.asarray(np.ones(3)), 1.0)


def test_raw_arrays_are_flat_indexed_and_need_a_size(cupy_backend):
    cp = cupy_backend
    reverse = cp.ElementwiseKernel("raw T x", "raw T y",
                                   "y[i] = x[_ind.size() - 1 - i]", "ember_test_reverse")
    x = cp.asarray(np.arange(6, dtype=np.int64).reshape(3, 2))
    y = cp.empty((3, 2), dtype=np.int64)
    reverse(x, y, size=6)
    np.testing.assert_array_equal(cp.asnumpy(y), np.arange(6)[::-1].reshape(3, 2))
    with pytest.raises(ValueError, match="Loop size is undecided"):
        reverse(x, y)
    transposed = x.T  # not contiguous: raw indexing still follows C order of its shape
    reverse(transposed, y.reshape(2, 3), size=6)
    np.testing.assert_array_equal(cp.asnumpy(y).ravel(), np.arange(6).reshape(3, 2).T.ravel()[::-1])


def test_non_raw_output_written_through_a_strided_view(cupy_backend):
    cp = cupy_backend
    square = cp.ElementwiseKernel("T x", "T y", "y = x * x", "ember_test_square")
    base = cp.zeros((4, 4), dtype=np.float64)
    square(cp.asarray(np.arange(4.0)), base[:, 1])
    expected = np.zeros((4, 4))
    expected[:, 1] = np.arange(4.0) ** 2
    np.testing.assert_array_equal(cp.asnumpy(base), expected)


def test_preamble_functions_and_half_precision(cupy_backend):
    cp = cupy_backend
    code = "template <typename T> __device__ T twice(T v) { return v + v; }"
    kernel = cp.ElementwiseKernel("T x", "T y", "y = twice(x)", "ember_test_twice",
                                  preamble=code)
    x = cp.asarray(np.array([0.5, 1.5, -2.0], dtype=np.float16))
    y = kernel(x)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(cp.asnumpy(y), [1.0, 3.0, -4.0])


def test_host_arrays_are_refused(cupy_backend):
    cp = cupy_backend
    kernel = cp.ElementwiseKernel("T x", "T y", "y = x", "ember_test_copy")
    with pytest.raises(TypeError):
        kernel(np.ones(3))


def test_the_double_compiles_and_checks_what_a_gpu_would_not(cupy_backend):
    if REAL_GPU:
        return  # NVRTC on a GPU: no g++ log, no bounds check
    import fake_cupy_kernels

    cp = cupy_backend
    broken = cp.ElementwiseKernel("T x", "T y", "y = undefined_function(x)", "ember_test_bad")
    with pytest.raises(fake_cupy_kernels.CompileException, match="undefined_function"):
        broken(cp.ones(3))
    stray = cp.ElementwiseKernel("raw T x", "T y", "y = x[i + 1]", "ember_test_stray")
    with pytest.raises(IndexError, match="ember_test_stray.*out of its bounds"):
        stray(cp.ones(3), cp.empty(3))


def test_a_kernel_under_stream_capture_replays_with_the_graph(cupy_backend):
    cp = cupy_backend
    add_one = cp.ElementwiseKernel("T x", "T y", "y = x + (T)1", "ember_test_add_one")
    x = cp.zeros(4, dtype=np.float32)
    y = cp.zeros(4, dtype=np.float32)
    stream = cp.cuda.Stream(non_blocking=True)
    with stream:
        stream.begin_capture()
        add_one(x, y)
        graph = stream.end_capture()
    x[...] = 5
    graph.launch(stream)
    stream.synchronize()
    np.testing.assert_array_equal(cp.asnumpy(y), [6.0] * 4)


def test_a_kernel_the_compiler_refuses_falls_back_with_a_warning(cupy_backend):
    """ember._backend.kernels: a CompileException (CuPy's NVRTC, or g++ on the double)
    is a warning naming the kernel and a False launch; the name is not tried again."""
    from ember._backend import kernels

    cp = cupy_backend
    kernel = kernels.elementwise(cp, "ember_test_refused", "T x", "T y",
                                 "y = no_such_function(x)")
    assert kernel is not None
    with pytest.warns(RuntimeWarning, match="refused the CUDA kernel 'ember_test_refused'"):
        assert kernels.launch(cp, kernel, cp.ones(3), cp.empty(3)) is False
    assert kernels.elementwise(cp, "ember_test_refused", "T x", "T y", "y = x") is None
    other = kernels.elementwise(cp, "ember_test_accepted", "T x", "T y", "y = x + x")
    out = cp.empty(3)
    assert kernels.launch(cp, other, cp.ones(3), out)
    np.testing.assert_array_equal(cp.asnumpy(out), [2.0, 2.0, 2.0])
