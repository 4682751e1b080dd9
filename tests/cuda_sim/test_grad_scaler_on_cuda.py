"""GradScaler on cuda (src/ember/amp/grad_scaler.py, _backend/multi_tensor.unscale_)
against torch on the cpu: the unscale and inf check of all gradients of a dtype is one
kernel, ``update()`` one more, and a whole ``scale / backward / step / update`` iteration
reads the device exactly once (the inf flag that decides whether to step). In CI the
kernels' CUDA C++ runs on the CPU through the CuPy double (g++), so their arithmetic is
what is checked here; the array path (no compiler) is checked against the same values."""

import math
import warnings

import numpy as np
import pytest
import torch

import ember
from ember._backend import multi_tensor
from ember.amp import grad_scaler

SHAPES = [(700,), (0,), (3, 5), (), (40, 30), (1,)]




class _Reads:
    """Counts the host's reads of device values: ember's sync debug mode (every
    backend: ``item``, ``tolist``, ``cpu()``), and on the CuPy double also every raw
    device-to-host copy and ``bool``/``float``/``int`` of a device array."""

    def __init__(self, monkeypatch, cupy_backend):
        self.debug, self.device, self._active = 0, 0, False
        self._fake = getattr(cupy_backend, "_graph", None)  # None: real CuPy
        if self._fake is not None:
            original = self._fake.forbid_sync

            def counted(stream=None):
                self.device += self._active
                return original(stream)

            monkeypatch.setattr(self._fake, "forbid_sync", counted)
            for name in ("__bool__", "__float__", "__int__"):
                monkeypatch.setattr(cupy_backend.ndarray, name, self._spy(name))

    def _spy(self, name):
        method = getattr(np.ndarray, name)

        def spy(array):
            self.device += self._active
            return method(array)

        return spy

    def run(self, fn):
        """``fn()``, its reads added to the counts; returns what ``fn`` returned."""
        ember.cuda.set_sync_debug_mode("warn")
        self._active = True
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = fn()
        finally:
            self._active = False
            ember.cuda.set_sync_debug_mode("default")
        self.debug += sum("synchronizing CUDA operation" in str(w.message) for w in caught)
        return result

    def assert_count(self, expected):
        assert self.debug == expected
        if self._fake is not None:
            assert self.device == expected


def _params(lib, device, dtypes, poison=None, shapes=SHAPES):
    """Parameters with gradients ``scale * g`` (the scaled gradients a backward gives)."""
    rng = np.random.default_rng(0)
    params = []
    for k, shape in enumerate(shapes):
        dtype = getattr(lib, dtypes[k % len(dtypes)])
        g = rng.standard_normal(shape) * 1000.0
        if poison is not None and k == 4:
            g[7, 3] = poison
        p = lib.zeros(shape, dtype=dtype, device=device, requires_grad=True)
        p.grad = lib.tensor(g, dtype=dtype, device=device)
        params.append(p)
    return params


def _scaler(lib, device, **kwargs):
    scaler = lib.amp.GradScaler(device, init_scale=3.0, **kwargs)  # 1/3 is inexact
    scaler.scale(lib.ones((), device=device))
    return scaler


def _compare(mine, theirs):
    for e, t in zip(mine, theirs):
        torch.testing.assert_close(torch.from_numpy(e.grad.cpu().numpy()), t.grad,
                                   rtol=0, atol=0, equal_nan=True)  # the same arithmetic


@pytest.mark.parametrize("dtypes", [["float32"], ["float64"], ["float32", "float64"]])
@pytest.mark.parametrize("poison", [None, math.inf, -math.inf, math.nan])
def test_unscale_is_one_kernel_per_dtype_and_matches_torch(launched_kernels, monkeypatch,
                                                           cupy_backend, dtypes, poison):
    theirs = _params(torch, "cpu", dtypes, poison)
    mine = _params(ember, "cuda", dtypes, poison)
    t_scaler, e_scaler = _scaler(torch, "cpu"), _scaler(ember, "cuda")
    t_opt, e_opt = torch.optim.SGD(theirs, lr=0.1), ember.optim.SGD(mine, lr=0.1)
    reads = _Reads(monkeypatch, cupy_backend)
    reads.run(lambda: e_scaler.unscale_(e_opt))
    reads.assert_count(0)  # as torch's: unscale_ never synchronises
    t_scaler.unscale_(t_opt)
    _compare(mine, theirs)
    assert sorted(launched_kernels) == sorted(f"ember_multi_tensor_unscale_{c}" for c in
                                      [{"float32": "float", "float64": "double"}[d]
                                       for d in dtypes])
    found = e_scaler._found_inf_per_device(e_opt)
    expected = t_scaler._found_inf_per_device(t_opt)
    assert [str(d) for d in found] == ["cuda:0"]
    assert [f.item() for f in found.values()] == [f.item() for f in expected.values()]
    assert [f.is_cuda for f in found.values()] == [True]


def _iterations(lib, device, poisons):
    """scale / backward / step / update over several iterations (growth and backoff):
    the scale and tracker after each, the parameters at the end."""
    w = lib.nn.Parameter(lib.tensor([[0.5, -1.0], [2.0, 0.25]], device=device))
    b = lib.nn.Parameter(lib.tensor([0.1, -0.3], dtype=lib.float64, device=device))
    opt = lib.optim.SGD([w, b], lr=0.01)
    scaler = lib.amp.GradScaler(device, init_scale=2.0 ** 10, growth_factor=3.0,
                                backoff_factor=0.25, growth_interval=2)
    x = lib.tensor([[1.0, 2.0], [3.0, -4.0]], device=device)

    def iteration(poison):
        opt.zero_grad()
        loss = ((x @ w).sum() * 1.3 + (b * lib.tensor([1.7, 0.2], dtype=lib.float64,
                                                        device=device)).sum().float())
        scaler.scale(loss).backward()
        if poison is not None:
            w.grad[1, 0] = poison
        scaler.step(opt)
        scaler.update()

    return scaler, iteration, [w, b]


@pytest.mark.parametrize("array_path", [False, True])
def test_iterations_read_the_device_once_and_match_torch(launched_kernels, monkeypatch,
                                                         cupy_backend, array_path):
    """array_path: the kernels refused (a CuPy that cannot compile): the same values,
    still one read per iteration."""
    if array_path:
        monkeypatch.setattr(multi_tensor, "launch", lambda *args, **kwargs: False)
        monkeypatch.setattr(grad_scaler, "launch", lambda *args, **kwargs: False)
    poisons = [None, None, None, math.inf, None, math.nan, None, None]
    t_scaler, t_iteration, t_params = _iterations(torch, "cpu", poisons)
    e_scaler, e_iteration, e_params = _iterations(ember, "cuda", poisons)
    reads = _Reads(monkeypatch, cupy_backend)
    for step, poison in enumerate(poisons):
        t_iteration(poison)
        before = len(launched_kernels)
        reads.run(lambda: e_iteration(poison))
        reads.assert_count(step + 1)  # one read per iteration: step()'s inf flag
        since = launched_kernels[before:]
        unscales = [n for n in since if n.startswith("ember_multi_tensor_unscale")]
        updates = [n for n in since if n == "ember_amp_update_scale"]
        assert (len(unscales), len(updates)) == ((0, 0) if array_path else (2, 1))
        assert e_scaler.get_scale() == t_scaler.get_scale()
        assert e_scaler._get_growth_tracker() == t_scaler._get_growth_tracker()
    assert e_scaler._scale.is_cuda and e_scaler._growth_tracker.is_cuda
    assert str(e_scaler._growth_tracker.dtype) == "torch.int32"
    for e, t in zip(e_params, t_params):
        torch.testing.assert_close(torch.from_numpy(e.detach().cpu().numpy()), t.detach())


def test_per_array_path_keeps_values_and_reads_nothing(launched_kernels, monkeypatch,
                                                       cupy_backend):
    """A non-contiguous gradient, and the float16 inf check (``_check_inf_per_device``):
    gradients the kernel does not take, unscaled by array ops without a read."""
    shapes = [(4, 6), (5,), (3, 2)]
    theirs = _params(torch, "cpu", ["float32"], shapes=shapes)
    mine = _params(ember, "cuda", ["float32"], shapes=shapes)
    for params, lib in ((theirs, torch), (mine, ember)):
        params[0].grad = params[0].grad.t().contiguous().t()  # column-major
        params[0].grad[2, 1] = math.inf
    half_t = _params(torch, "cpu", ["float16"], shapes=[(6,)])
    half_e = _params(ember, "cuda", ["float16"], shapes=[(6,)])
    t_scaler, e_scaler = _scaler(torch, "cpu"), _scaler(ember, "cuda")
    reads = _Reads(monkeypatch, cupy_backend)
    e_opt, e_half = ember.optim.SGD(mine, lr=0.1), ember.optim.SGD(half_e, lr=0.1)
    reads.run(lambda: (e_scaler.unscale_(e_opt), e_scaler._check_inf_per_device(e_half)))
    reads.assert_count(0)
    t_opt, t_half = torch.optim.SGD(theirs, lr=0.1), torch.optim.SGD(half_t, lr=0.1)
    t_scaler.unscale_(t_opt)
    t_scaler._check_inf_per_device(t_half)
    _compare(mine + half_e, theirs + half_t)
    assert not [n for n in launched_kernels if n.startswith("ember_multi_tensor_unscale")]
    for opt_e, opt_t in ((e_opt, t_opt), (e_half, t_half)):
        found_e = list(e_scaler._found_inf_per_device(opt_e).values())
        found_t = list(t_scaler._found_inf_per_device(opt_t).values())
        assert [f.item() for f in found_e] == [f.item() for f in found_t]
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients."):
        e_scaler.unscale_(e_half)


def test_scale_and_new_scale_on_cuda_like_torch(cupy_backend):
    """The scale lives on the loss's device; ``update(new_scale)`` takes a cuda tensor
    and refuses a cpu one on a cuda scaler (torch's text)."""
    scaler = ember.amp.GradScaler("cuda", init_scale=4.0)
    half = ember.tensor(1.5, dtype=ember.float16, device="cuda")
    scaled = scaler.scale([half, ember.ones(2, dtype=ember.float16, device="cuda")])
    assert [str(t.dtype) for t in scaled] == ["torch.float32", "torch.float16"]
    assert [t.tolist() for t in scaled] == [6.0, [4.0, 4.0]] and scaler._scale.is_cuda
    scaler.update(ember.tensor(0.5, device="cuda"))
    assert scaler.get_scale() == 0.5
    with pytest.raises(AssertionError, match="new_scale should be a float or a 1-element "
                       "torch.cuda.FloatTensor or torch.FloatTensor with requires_grad=False."):
        scaler.update(ember.tensor(2.0))


@pytest.mark.parametrize("array_path", [False, True])
def test_growth_past_float32_keeps_the_scale_like_torch(monkeypatch, cupy_backend, array_path):
    """update()'s kernel and its array path: a grown scale that is inf is not taken,
    the tracker restarts either way."""
    if array_path:
        monkeypatch.setattr(grad_scaler, "launch", lambda *args, **kwargs: False)
    seen = []
    for lib, device in ((torch, "cpu"), (ember, "cuda")):
        p = lib.nn.Parameter(lib.ones(2, device=device))
        opt = lib.optim.SGD([p], lr=0.1)
        scaler = lib.amp.GradScaler(device, init_scale=2.0 ** 125, growth_factor=4.0,
                                    growth_interval=1)
        scales = []
        for _ in range(3):
            opt.zero_grad()
            scaler.scale(p.sum() * 1e-30).backward()
            scaler.step(opt)
            scaler.update()
            scales.append((scaler.get_scale(), scaler._get_growth_tracker()))
        seen.append(scales)
    assert seen[0] == seen[1] and seen[0][-1] == (2.0 ** 127, 0)
