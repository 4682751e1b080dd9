"""Small parity fixes against PyTorch: SAC's ATen names for ember's nodes, matmul of empty
batched operands with mixed dtypes, bad beta/alpha types of the add-products, and
``lerp_``'s cast check for a 0-d weight."""

from __future__ import annotations

import pytest
import torch

import ember
from tests.oracle import check_raises

# -- matmul: empty batched operands of different dtypes --------------------------------

# (shape of a (float32), shape of b (float64)): each reaches bmm, which returns before its
# kernel's dtype check, or is folded into mm / mv (whose check raises)
_EMPTY_MIXED = [
    ((0, 2, 3), (0, 3, 4)),  # empty batch
    ((2, 3, 0), (2, 0, 2)),  # empty contraction: zeros
    ((2, 0, 3), (2, 3, 2)),  # empty rows
    ((2, 1, 2, 0), (3, 0, 2)),  # broadcast batch
    ((3, 0), (2, 0, 2)),  # a matrix against a batch
    ((1, 3, 0), (1, 0, 2)),  # one batch each
    ((0, 2, 3), (1, 3, 4)),  # a batch of one is folded into mm: mm's error
    ((1, 3, 0), (2, 0, 2)),  # ... transposed
    ((0, 2, 3), (3, 2)),  # folded into mm
    ((3,), (0, 3, 2)),  # folded into mv
    ((0, 2, 3), (0, 4, 2)),  # sizes are still checked
    ((0, 2, 3), (2, 3, 2)),  # and batch broadcasting
]


@pytest.mark.parametrize("a_shape,b_shape", _EMPTY_MIXED)
def test_matmul_empty_mixed_dtypes(a_shape, b_shape):
    def run(lib):
        a = lib.zeros(a_shape, requires_grad=len(a_shape) > 2)
        b = lib.zeros(b_shape, dtype=lib.float64, requires_grad=True)
        out = lib.matmul(a, b)
        out.sum().backward()
        return out, a.grad, b.grad

    try:
        expected = run(torch)
    except RuntimeError as error:
        with pytest.raises(RuntimeError, match=f"^{_escaped(error)}$"):
            run(ember)
        return
    got = run(ember)
    assert got[0].grad_fn.name() == expected[0].grad_fn.name()
    for e, t in zip(got, expected):
        if t is None:
            assert e is None
            continue
        assert e.dtype == getattr(ember, str(t.dtype).split(".")[1])
        torch.testing.assert_close(torch.from_numpy(e.detach().numpy()), t)


def _escaped(error):
    import re

    return re.escape(str(error))


def test_matmul_empty_mixed_no_grad_matrix_operand():
    # a 2-D operand that does not require grad keeps the batched path
    out = ember.matmul(ember.zeros(3, 0), ember.zeros(2, 0, 2, dtype=ember.float64))
    expected = torch.matmul(torch.zeros(3, 0), torch.zeros(2, 0, 2, dtype=torch.float64))
    assert out.dtype == ember.float64 and tuple(out.shape) == tuple(expected.shape)


# -- beta / alpha that are not numbers -----------------------------------------------------

_PRODUCTS = {
    "addmm": lambda lib, s: (lib.zeros(2, 2), lib.zeros(2, 2), lib.zeros(2, 2)),
    "addmv": lambda lib, s: (lib.zeros(2), lib.zeros(2, 2), lib.zeros(2)),
    "baddbmm": lambda lib, s: (lib.zeros(1, 2, 2), lib.zeros(1, 2, 2), lib.zeros(1, 2, 2)),
    "addbmm": lambda lib, s: (lib.zeros(2, 2), lib.zeros(1, 2, 2), lib.zeros(1, 2, 2)),
    "addr": lambda lib, s: (lib.zeros(2, 2), lib.zeros(2), lib.zeros(2)),
}


@pytest.mark.parametrize("op", sorted(_PRODUCTS))
@pytest.mark.parametrize("name", ["beta", "alpha"])
@pytest.mark.parametrize("value", ["a", None, [1]])
def test_product_scalar_type_error(op, name, value):
    def run(lib):
        return getattr(lib, op)(*_PRODUCTS[op](lib, None), **{name: value})

    error, torch_error = check_raises(lambda lib: run(lib))
    assert str(error) == str(torch_error).splitlines()[0]


@pytest.mark.parametrize("op", sorted(_PRODUCTS))
@pytest.mark.parametrize("inplace", [False, True])
def test_product_method_scalar_type_error(op, inplace):
    """The methods have one signature each: the bad argument is named, for addmm too."""
    def run(lib):
        self, first, second = _PRODUCTS[op](lib, None)
        return getattr(self, op + "_" * inplace)(first, second, alpha=None)

    error, torch_error = check_raises(run)
    assert str(error) == str(torch_error).splitlines()[0]


def test_product_scalar_numbers_still_accepted():
    for value in (2, 0.5, True, ember.tensor(2.0)):
        out = ember.addmm(ember.ones(2, 2), ember.ones(2, 2), ember.ones(2, 2), beta=value)
        t_value = torch.tensor(2.0) if isinstance(value, ember.Tensor) else value
        expected = torch.addmm(torch.ones(2, 2), torch.ones(2, 2), torch.ones(2, 2),
                               beta=t_value)
        torch.testing.assert_close(torch.from_numpy(out.numpy()), expected)


# -- lerp_ with a 0-d weight ----------------------------------------------------------------

@pytest.mark.parametrize("weight", [1, 1.0, True, 0.5, [1, 0]], ids=str)
@pytest.mark.parametrize("end_dtype", ["bool", "int64"])
def test_lerp_inplace_bool_errors(weight, end_dtype):
    def run(lib):
        w = lib.tensor(weight) if not isinstance(weight, float) or weight == 1.0 else weight
        end = lib.tensor([True, False]).to(getattr(lib, end_dtype))
        return lib.tensor([True, False]).lerp_(end, w)

    error, torch_error = check_raises(run)
    assert str(error) == str(torch_error)


@pytest.mark.parametrize("weight_dtype", ["int64", "float64", "bool"])
def test_lerp_inplace_float_with_0d_weight(weight_dtype):
    def run(lib):
        x = lib.tensor([1.0, 2.0])
        return x.lerp_(lib.tensor([3.0, 5.0]), lib.tensor(1).to(getattr(lib, weight_dtype)))

    out, expected = run(ember), run(torch)
    assert out.dtype == ember.float32
    torch.testing.assert_close(torch.from_numpy(out.numpy()), expected)


# -- selective checkpointing: the ATen op a policy is handed -------------------------------

def _policy_ops(lib, body):
    """The ops (``str``) a selective-checkpoint policy sees for ``body`` on a 4x4 input."""
    import functools

    ck = __import__(f"{lib.__name__}.utils.checkpoint", fromlist=["checkpoint"])
    names = []

    def policy(ctx, op, *args, **kwargs):
        names.append(str(op) if str(op).startswith("aten.") else repr(op))
        return ck.CheckpointPolicy.PREFER_RECOMPUTE

    x = lib.arange(16, dtype=lib.float64).reshape(4, 4).div(10).requires_grad_()
    context = functools.partial(ck.create_selective_checkpoint_contexts, policy)
    ck.checkpoint(body(lib), x, use_reentrant=False, context_fn=context).abs().sum().backward()
    return [name for name in names if name != "aten.detach.default"]


def _image(x):
    return x.reshape(1, 1, 4, 4)


_SAC_BODIES = {
    "_unsafe_view": lambda L: lambda x: x.t().reshape(-1),
    "_adaptive_avg_pool2d": lambda L: lambda x: L.nn.functional.adaptive_avg_pool2d(
        _image(x), (2, 2)),
    "reflection_pad2d": lambda L: lambda x: L.nn.functional.pad(_image(x), (1, 1, 1, 1),
                                                                mode="reflect"),
    "replication_pad1d": lambda L: lambda x: L.nn.functional.pad(x[None], (1, 2),
                                                                 mode="replicate"),
    "log_sigmoid_forward": lambda L: lambda x: L.nn.functional.logsigmoid(x),
    "_to_copy": lambda L: lambda x: x.to(L.float32),
    "im2col": lambda L: lambda x: L.nn.functional.unfold(_image(x), 2),
    "col2im": lambda L: lambda x: L.nn.functional.fold(x.reshape(1, 4, 4), (3, 3), 2),
    "linalg_vector_norm": lambda L: lambda x: L.linalg.vector_norm(x),
    "special_i1": lambda L: lambda x: L.special.i1(x),
    "special_i0e": lambda L: lambda x: L.special.i0e(x),
    "log1p": lambda L: lambda x: L.log1p(x),
    "affine_grid_generator": lambda L: lambda x: L.nn.functional.affine_grid(
        x.reshape(-1)[:6].reshape(1, 2, 3), [1, 1, 2, 2], align_corners=False),
    "_fft_r2c": lambda L: lambda x: L.fft.rfft(x).abs(),
    "_fft_c2r": lambda L: lambda x: L.fft.irfft(x.to(L.complex128)),
    "upsample_nearest2d": lambda L: lambda x: L.nn.functional.interpolate(_image(x),
                                                                          scale_factor=2),
    "upsample_bilinear2d": lambda L: lambda x: L.nn.functional.interpolate(
        _image(x), size=(5, 7), mode="bilinear"),
    "_upsample_nearest_exact1d": lambda L: lambda x: L.nn.functional.interpolate(
        x[None], size=7, mode="nearest-exact"),
    "_upsample_bilinear2d_aa": lambda L: lambda x: L.nn.functional.interpolate(
        _image(x), size=(3, 2), mode="bilinear", antialias=True),
    # targets built outside the checkpoint (PyTorch's factories dispatch ops of their own)
    "nll_loss_forward": lambda L: (lambda target: lambda x: L.nn.functional.nll_loss(
        x.log_softmax(1), target, ignore_index=2))(L.arange(4)),
    "nll_loss2d_forward": lambda L: (lambda target: lambda x: L.nn.functional.cross_entropy(
        _image(x).expand(2, 3, 4, 4), target))(L.ones(2, 4, 4, dtype=L.int64)),
    "zero_": lambda L: lambda x: (x * 1).zero_(),
    "copy_": lambda L: lambda x: (x * 1).copy_(x.t()),
    "_linalg_svd": lambda L: lambda x: L.linalg.svd(x)[1],
    "linalg_qr": lambda L: lambda x: L.linalg.qr(x)[1],
    "xlogy": lambda L: lambda x: L.special.xlogy(x, x + 1),
}


@pytest.mark.parametrize("op", sorted(_SAC_BODIES))
def test_selective_checkpoint_policy_sees_torch_ops(op):
    seen = _policy_ops(ember, _SAC_BODIES[op])
    assert seen == _policy_ops(torch, _SAC_BODIES[op])
    assert any(name.startswith(f"aten.{op}.") for name in seen)


def test_unsafe_view_is_an_aten_op():
    from ember.utils import _checkpoint_sac as sac

    op = sac._aten_for("UnsafeViewBackward0")
    assert op is ember.ops.aten._unsafe_view.default
    assert str(op) == str(torch.ops.aten._unsafe_view.default)


def _node_classes():
    """Every autograd Function subclass ember defines, with its node name."""
    import importlib
    import pkgutil

    from ember.autograd import Function

    for module in pkgutil.walk_packages(ember.__path__, "ember."):
        try:
            importlib.import_module(module.name)
        except ImportError:  # optional dependencies (cupy, mpi4py, ...)
            continue
    pending, found = list(Function.__subclasses__()), {}
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if isinstance(getattr(cls, "_node_name", None), str):
            found[cls._node_name] = cls
    return found


def test_every_node_maps_to_an_op_torch_has():
    """A node with an ATen mapping names an op (and overload) that exists in PyTorch."""
    from ember.utils import _checkpoint_sac as sac

    nodes = _node_classes()
    for stem in ("UnsafeView", "ToCopy", "PreluKernel", "LogSigmoid", "GridSampler2D",
                 "FftR2C", "Im2Col", "Col2Im", "ReflectionPad2D", "UpsampleNearest2D",
                 "Log1P", "SpecialI0E", "LinalgVectorNorm", "SVD", "QR"):
        assert sac._aten_for(stem + "Backward0") is not None, stem
    wrong = []
    for name in sorted(nodes):
        op = sac._aten_for(name)
        if op is None:
            continue
        _, packet_name, overload = str(op).split(".")
        packet = getattr(torch.ops.aten, packet_name, None)
        if packet is None or overload not in packet.overloads():
            wrong.append((name, str(op)))
    assert wrong == []


_X = [[0.1, -0.4, 0.3, 0.8], [0.5, 0.2, -0.7, 0.6], [-0.2, 0.9, 0.4, -0.1],
      [0.3, -0.5, 0.2, 0.7]]

# the ATen ops the mapping above registers, called with ATen's argument lists
_ATEN_CALLS = {
    "_unsafe_view": lambda L, x: (x, [2, 8]),
    "_to_copy": lambda L, x: (x,),
    "_prelu_kernel": lambda L, x: (x.reshape(1, 4, 4), L.full((4,), 0.25, dtype=L.float64)),
    "_adaptive_avg_pool2d": lambda L, x: (x.reshape(1, 1, 4, 4), [2, 2]),
    "log_sigmoid_forward": lambda L, x: (x,),
    "grid_sampler_2d": lambda L, x: (x.reshape(1, 1, 4, 4), x[:2].reshape(1, 2, 2, 2), 0, 1,
                                     False),
    "_linalg_svd": lambda L, x: (x,),
    "_fft_r2c": lambda L, x: (x, [1], 1, True),
    "_fft_c2c": lambda L, x: (x.to(L.complex128), [0, 1], 2, False),
    "_fft_c2r": lambda L, x: (x.to(L.complex128), [0, 1], 0, 6),
    "im2col": lambda L, x: (x.reshape(1, 1, 4, 4), [2, 2], [1, 1], [0, 0], [1, 1]),
    "col2im": lambda L, x: (x.reshape(1, 4, 4), [3, 3], [2, 2], [1, 1], [0, 0], [1, 1]),
    "affine_grid_generator": lambda L, x: (x.reshape(-1)[:6].reshape(1, 2, 3), [1, 1, 2, 2],
                                           False),
    "reflection_pad2d": lambda L, x: (x.reshape(1, 4, 4), [1, 2, 0, 1]),
    "replication_pad1d": lambda L, x: (x, [2, 1]),
    "linalg_vector_norm": lambda L, x: (x, 3),
    "special_i1": lambda L, x: (x,),
    "nll_loss_forward": lambda L, x: (x, L.tensor([0, 3, 1, 2]), None, 1, 1),
    "nll_loss2d_forward": lambda L, x: (x.reshape(1, 4, 2, 2), L.tensor([[[0, 3], [1, 3]]]),
                                        L.tensor([1.0, 2.0, 3.0, 4.0], dtype=L.float64), 2,
                                        -100),
    "upsample_nearest2d": lambda L, x: (x.reshape(1, 1, 4, 4), [6, 9]),
    "upsample_bilinear2d": lambda L, x: (x.reshape(1, 1, 4, 4), [8, 6], True),
    "upsample_linear1d": lambda L, x: (x[None], [8], False, 2.0),
    "_upsample_nearest_exact2d": lambda L, x: (x.reshape(1, 1, 4, 4), [7, 3]),
    "_upsample_bicubic2d_aa": lambda L, x: (x.reshape(1, 1, 4, 4), [3, 2], False),
}


@pytest.mark.parametrize("name", sorted(_ATEN_CALLS))
def test_registered_aten_ops_compute_like_torch(name):
    def run(lib):
        x = lib.tensor(_X, dtype=lib.float64)
        out = getattr(lib.ops.aten, name).default(*_ATEN_CALLS[name](lib, x))
        return out if isinstance(out, (tuple, list)) else (out,)

    for got, expected in zip(run(ember), run(torch)):
        torch.testing.assert_close(torch.from_numpy(got.detach().numpy()), expected)
