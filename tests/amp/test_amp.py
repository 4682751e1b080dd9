"""autocast op lists and GradScaler against PyTorch on the cpu."""

import pickle

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
    assert scaler.state_dict() == {} and scaler.load_state_dict({}) is None
    p = ember.nn.Parameter(ember.ones(1))
    opt = ember.optim.SGD([p], lr=0.1)
    s = ember.amp.GradScaler("cpu")
    s.scale(p.sum()).backward()
    s.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        s.unscale_(opt)


def _plain(value):
    """A value both libraries produce, as comparable Python data (tensors as lists)."""
    if hasattr(value, "tolist") and hasattr(value, "dtype"):
        return ("tensor", str(value.dtype), value.tolist())
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _unscale_trajectory(lib):
    """Two optimizers (float32 and float64 parameters), explicit unscale_ before one
    step, inf and nan steps, growth and backoff: the unscaled gradients, parameters,
    scale and tracker after every step. init_scale 3 makes the reciprocal inexact; the
    loss is linear, so the gradients do not inherit the optimizers' rounding."""
    a = lib.nn.Parameter(lib.tensor([1.0, -2.0, 0.5]))
    b = lib.nn.Parameter(lib.tensor([[0.25, 4.0], [1.5, -1.0]], dtype=lib.float64))
    c = lib.nn.Parameter(lib.tensor([3.0, 1e-3]))
    opt1, opt2 = lib.optim.SGD([a, b], lr=0.1), lib.optim.Adam([c], lr=0.01)
    scaler = lib.amp.GradScaler("cpu", init_scale=3.0, growth_factor=3.0,
                                backoff_factor=0.25, growth_interval=2)
    records = []
    poison = [None, None, "inf", None, None, "nan", None, None]
    for step, bad in enumerate(poison):
        opt1.zero_grad()
        opt2.zero_grad()
        loss = ((a * lib.tensor([1.7, -2.3, 0.1])).sum() + (c * 1e-3).sum()
                + (b * lib.tensor([[0.1, 4.0], [1.3, -1.0]], dtype=lib.float64)).sum().float())
        scaler.scale(loss).backward()
        if bad:
            b.grad[0, 1] = float(bad)
        if step % 2:
            scaler.unscale_(opt1)
            records.append(("unscaled", _plain([a.grad, b.grad])))
        for opt in (opt1, opt2):
            scaler.step(opt)
        found = [_plain(f) for f in scaler._found_inf_per_device(opt1).values()]
        scaler.update()
        records.append((step, found, _plain([a.grad, b.grad, c.grad]), scaler.get_scale(),
                        scaler._get_growth_tracker(), scaler.state_dict()))
    return records, [p.detach().clone() for p in (a, b, c)]


def test_grad_scaler_trajectory_matches_torch():
    (mine, params), (theirs, expected) = _unscale_trajectory(ember), _unscale_trajectory(torch)
    # the unscaled gradients too: torch's arithmetic, equal values (repr: nan == nan)
    assert repr(mine) == repr(theirs)
    for p, t in zip(params, expected):  # the optimizers' own rounding: close
        torch.testing.assert_close(torch.from_numpy(p.numpy()), t)


def _growth_to_inf(lib):
    """A scale whose growth overflows float32 is kept; the tracker restarts."""
    p = lib.nn.Parameter(lib.ones(2))
    opt = lib.optim.SGD([p], lr=0.1)
    scaler = lib.amp.GradScaler("cpu", init_scale=2.0 ** 126, growth_factor=4.0,
                                growth_interval=1)
    scales = []
    for _ in range(3):
        opt.zero_grad()
        scaler.scale(p.sum() * 1e-30).backward()
        scaler.step(opt)
        scaler.update()
        scales.append((scaler.get_scale(), scaler._get_growth_tracker()))
    return scales


def test_grad_scaler_growth_never_overflows_like_torch():
    assert _growth_to_inf(ember) == _growth_to_inf(torch)


def _reduced_and_sparse(lib):
    """bfloat16 and sparse float16 gradients: unscale_ (bf16 allowed, fp16 refused) and
    the fp16-allowing inf check, which coalesces the sparse gradient first."""
    scaler = lib.amp.GradScaler("cpu", init_scale=3.0)
    scaler.scale(lib.tensor(1.0))
    values = lib.tensor([[1.0, 2.0], [3.0, float("inf")], [5.0, 6.0]])
    sparse = lib.nn.Parameter(lib.ones(4, 2))
    sparse.grad = lib.sparse_coo_tensor(lib.tensor([[0, 2, 0]]), values, (4, 2))
    half = lib.nn.Parameter(lib.ones(4, 2, dtype=lib.float16))
    half.grad = lib.sparse_coo_tensor(lib.tensor([[0, 2, 0]]), values.half(), (4, 2))
    brain = lib.nn.Parameter(lib.ones(3, dtype=lib.bfloat16))
    brain.grad = lib.tensor([1.0, 3.0, 1e30], dtype=lib.bfloat16)
    opt = lib.optim.SGD([sparse, brain], lr=0.1)
    scaler.unscale_(opt)
    out = [sparse.grad._values(), brain.grad, scaler._found_inf_per_device(opt)]
    fp16_opt = lib.optim.SGD([half], lr=0.1)
    out.append(scaler._check_inf_per_device(fp16_opt))
    out += [half.grad.is_coalesced(), half.grad._values()]
    with pytest.raises(ValueError) as info:
        scaler.unscale_(fp16_opt)
    return _plain(out) + [str(info.value)]


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")  # torch's, about its checks
def test_grad_scaler_reduced_and_sparse_gradients_like_torch():
    assert _reduced_and_sparse(ember) == _reduced_and_sparse(torch)


def _outputs(lib):
    """scale() of a 0-d float16 loss (float32 out: two 0-d tensors), a float16 vector
    (stays float16), nested lists/tuples, a generator (a lazy map) and a non-tensor."""
    scaler = lib.amp.GradScaler("cpu", init_scale=8.0)
    before = scaler.get_scale()
    half = lib.tensor(1.5, dtype=lib.float16)
    vector = lib.ones(2, dtype=lib.float16)
    nested = scaler.scale([half, (vector, [half])])
    lazy = scaler.scale(x for x in [half, vector])
    shapes = [type(nested).__name__, type(nested[1]).__name__, type(nested[1][1]).__name__,
              type(lazy).__name__, _plain(list(lazy))]
    with pytest.raises(ValueError) as info:
        scaler.scale(2.0)
    return [before, _plain(scaler.scale(half)), _plain(scaler.scale(vector)),
            _plain(nested)] + shapes + [str(info.value)]


def test_grad_scaler_scale_outputs_like_torch():
    assert _outputs(ember) == _outputs(torch)


def _scaler_and_optimizer(lib, scale=True):
    scaler = lib.amp.GradScaler("cpu", init_scale=4.0)
    p = lib.nn.Parameter(lib.ones(2))
    opt = lib.optim.SGD([p], lr=0.1)
    if scale:
        scaler.scale(p.sum()).backward()
    return scaler, opt


def _stepped(lib):
    scaler, opt = _scaler_and_optimizer(lib)
    scaler.step(opt)
    return scaler, opt


SCALER_ERRORS = {
    "unscale_ before scale": lambda lib: _scaler_and_optimizer(lib, False)[0].unscale_(None),
    "step before scale": lambda lib: _scaler_and_optimizer(lib, False)[0].step(None),
    "update before scale": lambda lib: _scaler_and_optimizer(lib, False)[0].update(),
    "update without step": lambda lib: _scaler_and_optimizer(lib)[0].update(),
    "closure": lambda lib: _scaler_and_optimizer(lib)[0].step(None, closure=lambda: 0),
    "step twice": lambda lib: (lambda s, o: s.step(o))(*_stepped(lib)),
    "unscale_ after step": lambda lib: (lambda s, o: (s.step(o), s.unscale_(o)))(
        *_scaler_and_optimizer(lib)),
    "new_scale of two elements": lambda lib: _scaler_and_optimizer(lib)[0].update(
        lib.tensor([1.0, 2.0])),
    "new_scale of shape (1,)": lambda lib: _scaler_and_optimizer(lib)[0].update(
        lib.tensor([1.0])),  # copy_ into the 0-d scale refuses it
    "new_scale requiring grad": lambda lib: _scaler_and_optimizer(lib)[0].update(
        lib.tensor(2.0, requires_grad=True)),
    "new_scale an int": lambda lib: _scaler_and_optimizer(lib)[0].update(3),
    "empty state dict": lambda lib: _scaler_and_optimizer(lib)[0].load_state_dict({}),
    "growth factor": lambda lib: lib.amp.GradScaler("cpu", growth_factor=1.0),
    "backoff factor": lambda lib: lib.amp.GradScaler("cpu", backoff_factor=1.0),
    "pickled mid-iteration": lambda lib: pickle.dumps(_stepped(lib)[0]),
    "a parameter that is not a tensor": lambda lib: (lambda s, o: (
        o.param_groups[0]["params"].append(1.0), s.unscale_(o)))(*_scaler_and_optimizer(lib)),
}


@pytest.mark.parametrize("case", list(SCALER_ERRORS))
def test_grad_scaler_errors_like_torch(case):
    raised = []
    for lib in (ember, torch):
        with pytest.raises(Exception) as info:
            SCALER_ERRORS[case](lib)
        raised.append((type(info.value), str(info.value)))
    assert raised[0] == raised[1]


def _new_scales_and_state(lib):
    scaler, opt = _scaler_and_optimizer(lib)
    scaler.step(opt)
    scaler.update(5.0)
    seen = [scaler.get_scale()]
    scaler.update(lib.tensor(0.75, dtype=lib.float64))  # copied, cast to float32
    seen.append(scaler.get_scale())
    other = lib.amp.GradScaler("cpu", init_scale=2.0)
    other.load_state_dict({**scaler.state_dict(), "_growth_tracker": 7})
    seen += [other.get_scale(), other._get_growth_tracker(), other._scale]
    other.scale(lib.tensor(1.0))  # the tensors made from the loaded numbers
    other.load_state_dict({**scaler.state_dict(), "scale": 9.0})  # and filled after
    seen += [other.get_scale(), other._get_growth_tracker()]
    copy = pickle.loads(pickle.dumps(other))
    seen += [copy._scale, copy.get_scale(), copy._get_growth_tracker(), copy.state_dict()]
    return seen


def test_grad_scaler_new_scale_state_dict_and_pickle_like_torch():
    assert _new_scales_and_state(ember) == _new_scales_and_state(torch)


def test_grad_scaler_cuda_without_cuda_disables_like_torch(monkeypatch):
    from ember.amp import grad_scaler

    # Both sides must see "no CUDA": ember's probe (--device cuda too) and the one torch's
    # GradScaler consults (amp_definitely_not_available -> torch.cuda.is_available), which
    # is True on a GPU machine whose torch is a CUDA build.
    monkeypatch.setattr(grad_scaler, "_cuda_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    seen = []
    for lib in (ember, torch):
        with pytest.warns(UserWarning) as caught:
            scaler = lib.amp.GradScaler(init_scale=4.0)
        seen.append(([str(w.message) for w in caught], caught[0].filename,
                     scaler.is_enabled(), scaler.get_scale(), scaler.state_dict()))
    assert seen[0] == seen[1] and seen[0][1] == __file__


class _SelfScaling:
    """An optimizer that unscales in its own step (``_step_supports_amp_scaling``)."""

    _step_supports_amp_scaling = True

    def __init__(self, lib, params):
        self.inner = lib.optim.SGD(params, lr=0.5)
        self.param_groups = self.inner.param_groups
        self.seen = []

    def step(self):
        self.seen.append((_plain(self.grad_scale), _plain(self.found_inf)))
        if not self.found_inf.item():
            for p in self.param_groups[0]["params"]:
                p.grad.div_(self.grad_scale)
            self.inner.step()
        return "stepped"


def _self_scaling(lib):
    p = lib.nn.Parameter(lib.tensor([1.0, 2.0]))
    opt = _SelfScaling(lib, [p])
    scaler = lib.amp.GradScaler("cpu", init_scale=4.0)
    out = []
    for poison in (None, float("inf")):
        opt.inner.zero_grad()
        scaler.scale((p * p).sum()).backward()
        if poison:
            p.grad[0] = poison
        out += [scaler.step(opt), hasattr(opt, "grad_scale")]
        scaler.update()
    return out + opt.seen + [_plain(p), scaler.get_scale()]


def test_grad_scaler_optimizer_that_unscales_itself_like_torch():
    assert _self_scaling(ember) == _self_scaling(torch)


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
