"""autocast op lists and GradScaler against PyTorch on the cpu."""

import numpy as np
import pytest
import torch

import ember
from oracle import randn


def _dtypes(lib, a, b):
    with lib.autocast("cpu"):
        mm = a @ b
        lsm = mm.log_softmax(dim=1)
        plain = mm + 1
    return mm.dtype, lsm.dtype, plain.dtype


def test_autocast_cpu_casts_like_torch():
    a, b = randn(4, 3), randn(3, 5)
    e = _dtypes(ember, ember.tensor(a), ember.tensor(b))
    t = _dtypes(torch, torch.tensor(a), torch.tensor(b))
    assert [str(x) for x in e] == [str(x) for x in t]


def test_autocast_gradients_flow_back_in_float32():
    a = ember.tensor(randn(4, 3), requires_grad=True)
    b = ember.tensor(randn(3, 2), requires_grad=True)
    with ember.autocast("cpu", dtype=ember.bfloat16):
        loss = (a @ b).float().sum()
    loss.backward()
    assert a.grad.dtype == ember.float32 and b.grad.dtype == ember.float32


def test_autocast_nesting_disable_and_decorator():
    a = ember.randn(2, 2)
    with ember.autocast("cpu"):
        with ember.autocast("cpu", enabled=False):
            assert (a @ a).dtype == ember.float32
        assert (a @ a).dtype == ember.bfloat16
        assert ember.amp.is_autocast_enabled("cpu")
    assert not ember.amp.is_autocast_enabled("cpu")

    @ember.autocast("cpu")
    def f(x):
        return x @ x

    assert f(a).dtype == ember.bfloat16


def _top_level_state(lib):
    """torch.is_autocast_enabled / torch.get_autocast_dtype, as scripts call them."""
    outside = (lib.is_autocast_enabled(), lib.is_autocast_enabled("cpu"),
               lib.get_autocast_dtype("cpu"))
    with lib.autocast("cpu", dtype=lib.bfloat16):
        inside = (lib.is_autocast_enabled(), lib.is_autocast_enabled("cpu"),
                  lib.get_autocast_dtype("cpu"))
    return [str(v) for v in outside + inside]


def test_top_level_autocast_state_like_torch():
    assert _top_level_state(ember) == _top_level_state(torch)


def test_autocast_errors():
    with pytest.raises(RuntimeError):
        ember.autocast("cpu", dtype=ember.float64)
    with pytest.raises(RuntimeError):
        ember.autocast("tpu")


def _scaler_run(lib, grads, **kwargs):
    p = lib.nn.Parameter(lib.ones(3))
    opt = lib.optim.SGD([p], lr=0.1)
    scaler = lib.amp.GradScaler("cpu", init_scale=4.0, growth_interval=2, **kwargs)
    scales, params = [], []
    for g in grads:
        opt.zero_grad()
        loss = (p * lib.tensor(g)).sum()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
        params.append(p.detach().clone().tolist())
    return scales, params, scaler.state_dict()


def test_grad_scaler_matches_torch_including_overflow():
    grads = [[1.0, 2.0, 3.0], [1.0, float("inf"), 0.0], [0.5, 0.5, 0.5], [1.0, 1.0, 1.0],
             [float("nan"), 1.0, 1.0], [2.0, 2.0, 2.0]]
    e = _scaler_run(ember, grads)
    t = _scaler_run(torch, grads)
    assert e[0] == t[0]
    np.testing.assert_allclose(e[1], t[1], rtol=1e-6)
    assert e[2] == {k: (v.item() if hasattr(v, "item") else v) for k, v in t[2].items()}


def test_grad_scaler_disabled_and_errors():
    scaler = ember.amp.GradScaler("cpu", enabled=False)
    loss = ember.tensor(2.0)
    assert scaler.scale(loss) is loss and scaler.get_scale() == 1.0
    with pytest.raises(ValueError):
        ember.amp.GradScaler("cpu", growth_factor=0.5)
    p = ember.nn.Parameter(ember.ones(1))
    opt = ember.optim.SGD([p], lr=0.1)
    s = ember.amp.GradScaler("cpu")
    s.scale(p.sum()).backward()
    s.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        s.unscale_(opt)


def _module_dtypes(lib, x):
    """A small model under cpu autocast: Linear and Conv2d run in bfloat16, the loss in
    float32, and gradients reach the float32 parameters in float32."""
    lib.manual_seed(0)
    conv = lib.nn.Conv2d(1, 2, 3)
    lin = lib.nn.Linear(8, 3)
    with lib.autocast(device_type="cpu", dtype=lib.bfloat16):
        features = conv(x)
        logits = lin(features.flatten(1))
        no_bias = lib.nn.functional.linear(features.flatten(1), lin.weight)
        loss = lib.nn.functional.cross_entropy(logits, lib.tensor([0, 2]))
    loss.backward()
    return [str(t.dtype) for t in (features, logits, no_bias, loss, lin.weight.grad,
                                   conv.weight.grad)]


def test_autocast_cpu_modules_like_torch():
    x = randn(2, 1, 4, 4)
    assert _module_dtypes(ember, ember.tensor(x)) == _module_dtypes(torch, torch.tensor(x))


# One row per op whose autocast policy keys on ember's op class (_op_name): the
# underscored classes (_Bmm, _Addmm, ...) and the padding / grid-sample / CTC kernels;
# then float64 inputs and the composite ops that carry _ops/_autocast.py's wrapper.
_AUTOCAST_OPS = {
    "bmm": lambda lib, a, b: lib.bmm(a[None], b[None]),
    "baddbmm": lambda lib, a, b: lib.baddbmm(lib.zeros(1, 4, 3), a[None], b[None]),
    "addmm": lambda lib, a, b: lib.addmm(lib.zeros(4, 3), a, b),
    "addmv (not listed)": lambda lib, a, b: lib.addmv(lib.zeros(4), a, b[:, 0]),
    "prelu": lambda lib, a, b: lib.nn.functional.prelu(a, lib.tensor([0.25])),
    "conv_transpose2d": lambda lib, a, b: lib.nn.functional.conv_transpose2d(
        a.reshape(1, 2, 3, 4), b.reshape(2, 1, 3, 3), stride=2),
    "einsum": lambda lib, a, b: lib.einsum("ij,jk->ik", a, b),
    "reflection_pad": lambda lib, a, b: lib.nn.functional.pad(
        (a @ b)[None], (1, 1, 1, 1), mode="reflect"),
    "replication_pad": lambda lib, a, b: lib.nn.functional.pad(
        (a @ b)[None], (1, 1), mode="replicate"),
    "grid_sample": lambda lib, a, b: lib.nn.functional.grid_sample(
        (a @ b)[None, None], lib.zeros(1, 2, 2, 2), align_corners=False),
    "ctc_loss": lambda lib, a, b: lib.nn.functional.ctc_loss(
        (a @ b)[:, None].log_softmax(2), lib.tensor([[1]]), [4], [1]),
    # a bfloat16 activation into a float32 conv (weight and bias): cast before the checks
    "conv1d after bf16": lambda lib, a, b: lib.nn.functional.conv1d(
        (a @ b)[None], lib.ones(2, 4, 2), lib.zeros(2)),
    "conv_transpose1d after bf16": lambda lib, a, b: lib.nn.functional.conv_transpose1d(
        (a @ b)[None], lib.ones(4, 2, 2), lib.zeros(2), stride=2),
    # float64 is not eligible: it stays float64 under either policy
    "mm float64": lambda lib, a, b: a.double() @ b.double(),
    "mse_loss float64": lambda lib, a, b: lib.nn.functional.mse_loss(a.double(), a.double()),
    # composite losses on the float32 list: the whole composition runs in float32
    "l1_loss": lambda lib, a, b: lib.nn.functional.l1_loss(a @ b, (a @ b).flip(0)),
    "kl_div": lambda lib, a, b: lib.nn.functional.kl_div(
        (a @ b).log_softmax(1), (a @ b).softmax(0), reduction="batchmean"),
    "hinge_embedding_loss": lambda lib, a, b: lib.nn.functional.hinge_embedding_loss(
        a @ b, lib.ones(4, 3)),
    "cosine_embedding_loss": lambda lib, a, b: lib.nn.functional.cosine_embedding_loss(
        a @ b, (a @ b).flip(0), target=lib.ones(4)),
    "poisson_nll_loss": lambda lib, a, b: lib.nn.functional.poisson_nll_loss(a @ b, (a @ b).abs()),
    "triplet_margin_loss": lambda lib, a, b: lib.nn.functional.triplet_margin_loss(
        a @ b, (a @ b).flip(0), (a @ b).flip(1)),
    # pools, quantile and stft on the cpu float32 list (bfloat16 in, float32 out)
    "avg_pool3d": lambda lib, a, b: lib.nn.functional.avg_pool3d(_vol(a, b), 2),
    "max_pool3d": lambda lib, a, b: lib.nn.functional.max_pool3d(_vol(a, b), 2),
    "adaptive_avg_pool3d": lambda lib, a, b: lib.nn.functional.adaptive_avg_pool3d(_vol(a, b), 1),
    "adaptive_max_pool3d": lambda lib, a, b: lib.nn.functional.adaptive_max_pool3d(_vol(a, b), 1),
    "fractional_max_pool2d": lambda lib, a, b: lib.nn.functional.fractional_max_pool2d(
        _vol(a, b)[0], 2, output_size=1),
    "max_unpool2d": lambda lib, a, b: lib.nn.functional.max_unpool2d(
        *lib.nn.functional.max_pool2d(_vol(a, b)[0], 2, return_indices=True), 2),
    "quantile": lambda lib, a, b: lib.quantile(a @ b, 0.3),
    "stft": lambda lib, a, b: lib.stft((a @ b).flatten(), 4, window=lib.ones(4),
                                       return_complex=True).real,
}


def _vol(a, b):
    """A bfloat16 (1, 1, 2, 2, 3) volume from an autocast matmul."""
    return (a @ b).reshape(1, 1, 2, 2, 3)


@pytest.mark.parametrize("name", list(_AUTOCAST_OPS))
def test_autocast_cpu_op_policies_like_torch(name):
    a, b = randn(4, 6), randn(6, 3)
    dtypes = []
    for lib in (ember, torch):
        with lib.autocast("cpu", dtype=lib.bfloat16):
            dtypes.append(str(_AUTOCAST_OPS[name](lib, lib.tensor(a), lib.tensor(b)).dtype))
    assert dtypes[0] == dtypes[1], dtypes
