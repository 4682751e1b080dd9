"""Ops handed tensors on two devices: the mistakes a script written for the CPU makes once
it picks cuda (a model moved, its input or a fixed tensor not). PyTorch refuses them
with texts users search for, and so must ember, on the CuPy double (CI) as on a GPU.

Where torch here has no cuda the expected texts are written out: the conv input/weight
and the ``equal`` texts are torch 2.11+cu130's on the lent H200 (yardstick dcgan.py,
transfer_learning.py, transformer_translation.py), the others follow from the same
checks (cuDNN's ``check_input_same_type_as_parameters`` names the weight, then the
bias; the CUDA wrapper of ``equal`` takes the first argument's device as the common
one). With a real GPU, torch's own texts are compared too."""

import numpy as np
import pytest
import torch

import ember

CPU_INPUT = ("Input type (torch.FloatTensor) and {what} type (torch.cuda.FloatTensor) should "
             "be the same or input should be a MKLDNN tensor and {what} is a dense tensor")
CUDA_INPUT = ("Input type (torch.cuda.FloatTensor) and {what} type (torch.FloatTensor) should "
              "be the same")
SAME_DEVICE = "Expected all tensors to be on the same device, but "


def _refusal(lib, call, devices):
    with pytest.raises(RuntimeError) as info:
        call(lib, *devices)
    return str(info.value)


def _check(call, devices, expected):
    """ember's text is ``expected``; torch's too where torch has cuda."""
    assert _refusal(ember, call, devices) == expected
    if torch.cuda.is_available():
        assert _refusal(torch, call, devices) == expected


def _conv(fn, nd, with_bias):
    x_shape = (2, 3) + (5,) * nd
    w_shape = ((3, 4) if fn.startswith("conv_transpose") else (4, 3)) + (3,) * nd

    def call(lib, x_device, w_device, b_device="cpu"):
        bias = lib.zeros(4, device=b_device) if with_bias else None
        x, w = lib.ones(x_shape, device=x_device), lib.ones(w_shape, device=w_device)
        return getattr(lib.nn.functional, fn)(x, w, bias)

    return call


CONVS = [("conv1d", 1), ("conv2d", 2), ("conv3d", 3), ("conv_transpose1d", 1),
         ("conv_transpose2d", 2), ("conv_transpose3d", 3)]


@pytest.mark.parametrize("fn, nd", CONVS)
def test_conv_weight_on_the_other_device(fn, nd):
    """The mistake of dcgan.py/transfer_learning.py: a cpu input into a model on cuda
    (oneDNN's text; the double ran the convolution on the CPU instead), and the reverse
    (cuDNN's)."""
    call = _conv(fn, nd, with_bias=False)
    _check(call, ("cpu", "cuda"), CPU_INPUT.format(what="weight"))
    _check(call, ("cuda", "cpu"), CUDA_INPUT.format(what="weight"))


@pytest.mark.parametrize("fn, nd", CONVS)
def test_conv_bias_on_the_other_device(fn, nd):
    call = _conv(fn, nd, with_bias=True)
    _check(call, ("cpu", "cpu", "cuda"), CPU_INPUT.format(what="bias"))
    _check(call, ("cuda", "cuda", "cpu"), CUDA_INPUT.format(what="bias"))


@pytest.mark.parametrize("fn", ["conv2d", "conv_transpose2d"])
def test_float64_conv_with_a_cuda_weight_is_refused(fn):
    """float64 goes through PyTorch's slow CPU kernels, not oneDNN: their dispatch, not
    the oneDNN check, refuses the cuda weight (text not pinned beyond its start)."""
    for lib in (ember, torch) if torch.cuda.is_available() else (ember,):
        x = lib.ones(1, 3, 5, 5, dtype=lib.float64)
        w = lib.ones(3, 3, 3, 3, dtype=lib.float64, device="cuda")
        with pytest.raises(RuntimeError, match=SAME_DEVICE):
            getattr(lib.nn.functional, fn)(x, w)


def test_conv_on_one_device_still_computes():
    x, w = np.arange(75.0).reshape(1, 3, 5, 5), np.ones((2, 3, 3, 3))  # float64
    got = ember.nn.functional.conv2d(ember.tensor(x, device="cuda"),
                                     ember.tensor(w, device="cuda"),
                                     ember.ones(2, dtype=ember.float64, device="cuda"))
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w),
                                             torch.ones(2, dtype=torch.float64))
    torch.testing.assert_close(torch.from_numpy(got.cpu().numpy()), expected)


def test_equal_names_the_argument_on_the_other_device():
    """transformer_translation.py compared its cuda mask with nn.Transformer's (built on
    the CPU): PyTorch's CUDA wrapper names the argument; the double raised CuPy's bare
    TypeError. Either order goes to the CUDA kernel; the first argument's device is the
    common one."""

    def call(lib, first, second):
        return lib.equal(lib.zeros(2, 2, device=first), lib.zeros(2, 2, device=second))

    _check(call, ("cuda", "cpu"), SAME_DEVICE + "got other is on cpu, different from other "
           "tensors on cuda:0 (when checking argument in method wrapper_CUDA__equal)")
    _check(call, ("cpu", "cuda"), SAME_DEVICE + "got other is on cuda:0, different from other "
           "tensors on cpu (when checking argument in method wrapper_CUDA__equal)")
    # the device is checked before the sizes: other sizes on two devices raise too
    with pytest.raises(RuntimeError, match=SAME_DEVICE):
        ember.equal(ember.zeros(2, device="cuda"), ember.zeros(3))
    assert ember.equal(ember.ones(2, device="cuda"), ember.ones(2, device="cuda"))
    assert not ember.equal(ember.ones(2, device="cuda"), ember.zeros(3, device="cuda"))


@pytest.mark.parametrize("source, other", [("cpu", "cuda"), ("cuda", "cpu")])
def test_type_as_takes_the_other_tensors_device(source, other):
    """``type_as`` is ``self.to(other.options())`` in PyTorch: dtype and device. The
    translation tutorial's greedy decoder builds each next token as
    ``torch.ones(1, 1).type_as(src.data)`` and cats it to cuda tokens."""
    values = [[1.5, 2.5]]
    got = ember.tensor(values, device=source).type_as(ember.zeros(1, dtype=ember.int64,
                                                                  device=other))
    expected = torch.tensor(values).type_as(torch.zeros(1, dtype=torch.int64))
    assert got.device.type == other and str(got.dtype) == str(expected.dtype)
    torch.testing.assert_close(torch.from_numpy(got.cpu().numpy()), expected)
    if torch.cuda.is_available():
        moved = torch.tensor(values, device=source).type_as(
            torch.zeros(1, dtype=torch.int64, device=other))
        assert moved.device.type == other


COMPARISONS = [lambda a, b: a == b, lambda a, b: a < b, lambda a, b: a.ge(b),
               lambda a, b: a & b, lambda a, b: a.logical_or(b), lambda a, b: a + b]


@pytest.mark.parametrize("op", COMPARISONS, ids=["eq", "lt", "ge", "and", "logical_or", "add"])
def test_elementwise_ops_across_devices(op):
    """mnist_example.py's last check compared cuda predictions with cpu labels: PyTorch's
    TensorIterator names the first non-CPU device first, in either order (the double gave
    CuPy's bare TypeError for comparisons, logical and bitwise ops). A 0-d cpu operand is
    a scalar and mixes in, the result on the GPU."""
    text = SAME_DEVICE + "found at least two devices, cuda:0 and cpu!"

    def call(lib, first, second):
        return op(lib.arange(3, device=first), lib.arange(3, device=second))

    _check(call, ("cuda", "cpu"), text)
    _check(call, ("cpu", "cuda"), text)
    for got, expected in ((op(ember.arange(3, device="cuda"), ember.tensor(1)),
                           op(torch.arange(3), torch.tensor(1))),
                          (op(ember.tensor(1), ember.arange(3, device="cuda")),
                           op(torch.tensor(1), torch.arange(3)))):
        assert got.device.type == "cuda"
        torch.testing.assert_close(torch.from_numpy(got.cpu().numpy()), expected)
