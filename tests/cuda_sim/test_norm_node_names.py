"""Batch norm's node on cuda is named as PyTorch's (src/ember/_ops/norm.py
``_named_as_on_cuda``): cuDNN's ``CudnnBatchNormBackward0`` where PyTorch's CUDA batch norm
hands the case to cuDNN, ``NativeBatchNormBackward0`` elsewhere (the values are ember's
either way). On a GPU tests/autograd/test_grad_fn_names.py checks the names against torch
itself; here, against PyTorch's selection rule, through the CuPy double."""

import pytest

import ember
import ember.nn.functional as F

CUDNN, NATIVE = "CudnnBatchNormBackward0", "NativeBatchNormBackward0"


def _name(out):
    node = out.grad_fn
    while node.name().startswith("View"):  # instance norm views batch norm's result back
        node = node.next_functions[0][0]
    return node.name()


def _x(*shape, dtype=ember.float32):
    return ember.randn(*shape, device="cuda", dtype=dtype).requires_grad_()


def _affine(channels=3, dtype=ember.float32):
    return (ember.ones(channels, device="cuda", dtype=dtype, requires_grad=True),
            ember.zeros(channels, device="cuda", dtype=dtype, requires_grad=True))


def _stats(channels=3):
    return ember.zeros(channels, device="cuda"), ember.ones(channels, device="cuda")


@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (2, 3, 4, 4)])
def test_affine_batch_norm_is_cudnns_in_training_and_evaluation(shape):
    weight, bias = _affine()
    assert _name(F.batch_norm(_x(*shape), None, None, weight, bias, training=True)) == CUDNN
    assert _name(F.batch_norm(_x(*shape), *_stats(), weight, bias, training=True)) == CUDNN
    assert _name(F.batch_norm(_x(*shape), *_stats(), weight, bias)) == CUDNN


def test_cases_cudnn_does_not_take_are_native(monkeypatch):
    weight, bias = _affine()
    x = _x(4, 3, 5)
    assert _name(F.batch_norm(x, None, None, training=True)) == NATIVE  # no affine
    assert _name(F.batch_norm(x, None, None, weight, None, training=True)) == NATIVE
    assert _name(F.batch_norm(x, _stats()[0], None, weight, bias, training=True)) == NATIVE
    half = _x(4, 3, 5, dtype=ember.float16)
    assert _name(F.batch_norm(half, None, None, *_affine(dtype=ember.float16),
                              training=True)) == NATIVE  # half needs float32 parameters
    assert _name(F.batch_norm(half, None, None, weight, bias, training=True)) == CUDNN
    assert _name(F.batch_norm(_x(65536, 3, 1), *_stats(), weight, bias)) == NATIVE
    # PyTorch's rule refuses bfloat16 on either side, even with float32 parameters
    assert _name(F.batch_norm(_x(4, 3, 5, dtype=ember.bfloat16), None, None, weight, bias,
                              training=True)) == NATIVE
    assert _name(F.batch_norm(x, None, None, *_affine(dtype=ember.bfloat16),
                              training=True)) == NATIVE
    monkeypatch.setattr(ember.backends.cudnn, "enabled", False)
    assert _name(F.batch_norm(x, None, None, weight, bias, training=True)) == NATIVE


def test_instance_norm_is_cudnns_when_affine():
    weight, bias = _affine()
    x = _x(2, 3, 6)
    assert _name(F.instance_norm(x, weight=weight, bias=bias)) == CUDNN
    assert _name(F.instance_norm(x, *_stats(), weight, bias, use_input_stats=False)) == CUDNN
    assert _name(F.instance_norm(x)) == NATIVE


def test_the_cpu_keeps_the_native_node():
    weight, bias = (ember.ones(3, requires_grad=True), ember.zeros(3, requires_grad=True))
    out = F.batch_norm(ember.randn(4, 3, requires_grad=True), None, None, weight, bias,
                       training=True)
    assert out.grad_fn.name() == NATIVE
