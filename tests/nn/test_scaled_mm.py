"""torch._scaled_mm and F.scaled_mm on float8 operands against PyTorch's CPU build:
tensor-wise and row-wise scales, output dtypes, bias, and the errors."""

import numpy as np
import pytest
import torch

import ember

FLOAT8 = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz"]
OUTPUTS = [None, "float32", "bfloat16", "float16", "float8_e4m3fn", "float8_e5m2"]

# torch 2.11 (a lent GPU machine's own build) lacks what these oracles are: row-wise scales
# on the CPU, F.scaled_mm's CPU kernel (_scaled_mm_v2), and 2.13's checks and texts.
ROWWISE_2_13 = pytest.mark.oracle_torch("2.13", "torch 2.11's CPU _scaled_mm takes per-tensor "
                                        "scales only (an internal assert for row-wise ones)")
V2_2_13 = pytest.mark.oracle_torch("2.13", "torch 2.11 has no CPU _scaled_mm_v2 (F.scaled_mm)")
CHECKS_2_13 = pytest.mark.oracle_torch("2.13", "torch 2.11's tensor-wise-only CPU _scaled_mm "
                                       "checks in another order, with other texts, and takes "
                                       "half/double scales")


@pytest.fixture(autouse=True)
def _emulated_cpu_kernel():
    """torch's oracle is its CPU build's emulated kernel, oneDNN off: on a host with AMX
    (cpuinfo_has_x86_amx_int8: the lent H200's Xeon) torch hands same-dtype operands to
    oneDNN instead, which refuses the fnuz dtypes ("itensor_view_from_dense expects ...")
    and scales after the sum, rounding ~1 float8 output in 256 one step the other way.
    ember follows the emulated kernel, which every other host runs."""
    with torch.backends.mkldnn.flags(enabled=False):
        yield


_RNG = np.random.default_rng(0)
_A = _RNG.standard_normal((16, 32)) * 3
_B = _RNG.standard_normal((16, 32)) * 3
_SCALE_ROWS = _RNG.uniform(0.5, 2, (16, 1))
_SCALE_COLS = _RNG.uniform(0.5, 2, (1, 16))
_BIAS = _RNG.standard_normal(16)


def _operands(lib, dtype, scaling):
    a = lib.tensor(_A, dtype=lib.float32).to(getattr(lib, dtype))
    b = lib.tensor(_B, dtype=lib.float32).to(getattr(lib, dtype)).t()  # column-major
    if scaling == "tensorwise":
        return a, b, lib.tensor(1.5), lib.tensor(0.75)
    return (a, b, lib.tensor(_SCALE_ROWS, dtype=lib.float32),
            lib.tensor(_SCALE_COLS, dtype=lib.float32))


def _check(got, expected):
    assert str(got.dtype) == str(expected.dtype)
    assert tuple(got.shape) == tuple(expected.shape)
    if expected.dtype == torch.float32:
        # the float32 GEMM sums in another order than PyTorch's BLAS: with random row-wise
        # scales the last bits of a K=32 sum differ (up to ~6e-6 relative, 2e-5 absolute
        # on values of ~10), just past assert_close's float32 defaults
        torch.testing.assert_close(torch.from_numpy(got.numpy()), expected, rtol=1e-5,
                                   atol=1e-4)
    else:  # a low-precision result rounds both to the same bits
        np.testing.assert_array_equal(got.view(ember.uint8 if got.element_size() == 1
                                               else ember.int16).numpy(),
                                      expected.view(torch.uint8 if expected.element_size() == 1
                                                    else torch.int16).numpy())


@pytest.mark.parametrize("dtype", FLOAT8)
@pytest.mark.parametrize("out_dtype", OUTPUTS)
@pytest.mark.parametrize("scaling", ["tensorwise", pytest.param("rowwise", marks=ROWWISE_2_13)])
def test_scaled_mm_values(dtype, out_dtype, scaling):
    results = []
    for lib in (torch, ember):
        a, b, scale_a, scale_b = _operands(lib, dtype, scaling)
        kwargs = {} if out_dtype is None else {"out_dtype": getattr(lib, out_dtype)}
        results.append(lib._scaled_mm(a, b, scale_a, scale_b, **kwargs))
    _check(results[1], results[0])


@ROWWISE_2_13
@pytest.mark.parametrize("out_dtype", ["float32", "bfloat16", "float8_e4m3fn"])
def test_scaled_mm_bias_and_ignored_flags(out_dtype):
    """bias adds to the float32 product; use_fast_accum and scale_result change nothing
    on CPU."""
    results = []
    for lib in (torch, ember):
        a, b, scale_a, scale_b = _operands(lib, "float8_e4m3fn", "rowwise")
        bias_dtype = lib.float32 if out_dtype.startswith("float8") else getattr(lib, out_dtype)
        bias = lib.tensor(_BIAS, dtype=lib.float32).to(bias_dtype)
        results.append(lib._scaled_mm(a, b, scale_a, scale_b, bias=bias,
                                      out_dtype=getattr(lib, out_dtype), use_fast_accum=True,
                                      scale_result=lib.tensor(4.0)))
    _check(results[1], results[0])


def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the error is what is compared
        return type(exc), str(exc)
    return None


BAD_CALLS = {
    "float32_operands": lambda L, a, b, s: L._scaled_mm(a.float(), b.float(), s, s),
    "half_scale": lambda L, a, b, s: L._scaled_mm(a, b, s.half(), s),
    "double_scale": lambda L, a, b, s: L._scaled_mm(a, b, s.double(), s),
    "scale_shape": lambda L, a, b, s: L._scaled_mm(a, b, L.ones(2), s),
    "rowwise_one_side": lambda L, a, b, s: L._scaled_mm(a, b, L.ones(16, 1), s),
    "rowwise_strided": lambda L, a, b, s: L._scaled_mm(a, b, L.ones(1, 16).t(), L.ones(1, 16)),
    "three_dims": lambda L, a, b, s: L._scaled_mm(a.reshape(1, 16, 32), b, s, s),
    "mat2_three_dims": lambda L, a, b, s: L._scaled_mm(a, b.reshape(1, 32, 16), s, s),
    "shapes": lambda L, a, b, s: L._scaled_mm(a, b[:8], s, s),
    "bias_size": lambda L, a, b, s: L._scaled_mm(a, b, s, s, bias=L.ones(3),
                                                 out_dtype=L.float32),
    "v2_not_matrix": lambda L, a, b, s: L.nn.functional.scaled_mm(
        a.reshape(1, 16, 32), b, s, L.nn.functional.ScalingType.TensorWise, s,
        L.nn.functional.ScalingType.TensorWise),
    "v2_rowwise_scalar": lambda L, a, b, s: L.nn.functional.scaled_mm(
        a, b, s, L.nn.functional.ScalingType.RowWise, s, L.nn.functional.ScalingType.RowWise),
    "v2_blockwise": lambda L, a, b, s: L.nn.functional.scaled_mm(
        a, b, s, L.nn.functional.ScalingType.BlockWise1x32, s,
        L.nn.functional.ScalingType.BlockWise1x32),
    "v2_shapes": lambda L, a, b, s: L.nn.functional.scaled_mm(
        a, b[:8], s, L.nn.functional.ScalingType.TensorWise, s,
        L.nn.functional.ScalingType.TensorWise),
}


_SAME_UNDER_2_11 = {"three_dims", "bias_size"}


@pytest.mark.parametrize("case", [
    pytest.param(case, marks=() if case in _SAME_UNDER_2_11 else
                 V2_2_13 if case.startswith("v2_") else CHECKS_2_13)
    for case in sorted(BAD_CALLS)])
def test_scaled_mm_errors(case):
    outcomes = []
    for lib in (torch, ember):
        a, b, scale, _ = _operands(lib, "float8_e4m3fn", "tensorwise")
        outcomes.append(_error(lambda: BAD_CALLS[case](lib, a, b, scale)))
    assert outcomes[0] is not None
    assert outcomes[1] == outcomes[0]


@V2_2_13
@pytest.mark.parametrize("scaling", ["tensorwise", "rowwise"])
@pytest.mark.parametrize("output_dtype", [None, "float32", "float8_e4m3fn"])
def test_functional_scaled_mm(scaling, output_dtype):
    """F.scaled_mm (bfloat16 by default); recipes and scales may come as one-element lists;
    swizzles, contraction_dim and use_fast_accum change nothing on CPU."""
    results = []
    for lib in (torch, ember):
        F = lib.nn.functional
        a, b, scale_a, scale_b = _operands(lib, "float8_e4m3fn", scaling)
        recipe = F.ScalingType.TensorWise if scaling == "tensorwise" else F.ScalingType.RowWise
        kwargs = {} if output_dtype is None else {"output_dtype": getattr(lib, output_dtype)}
        results.append(F.scaled_mm(a, b, [scale_a], [recipe], scale_b, recipe,
                                   swizzle_a=F.SwizzleType.NO_SWIZZLE, use_fast_accum=True,
                                   bias=lib.tensor(_BIAS, dtype=lib.float32).to(
                                       lib.bfloat16 if output_dtype is None else lib.float32),
                                   **kwargs))
    _check(results[1], results[0])
