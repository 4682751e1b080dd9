"""The oracle: run the same call on ember and on PyTorch and compare everything.

``check(fn, *inputs)`` calls ``fn(lib, *tensors)`` with ``lib`` = ember and then torch,
compares outputs (values, dtype, shape), then back-propagates the same random upstream
gradient through both and compares every input's gradient. Inputs are NumPy arrays
(become tensors; float ones require grad when ``grad=True``) or anything else (passed
as is). Tolerances default to PyTorch's ``assert_close`` defaults for the dtype.

Devices: ``DEVICE`` (``pytest --device cuda`` or ``EMBER_TEST_DEVICE=cuda``; default cpu)
is where ember's inputs are built. torch's go to ``TORCH_DEVICE``: the same device when
torch can use it, else cpu (torch on cpu stays the oracle). Results are compared on the
host, and every ember output and gradient must be on the device its inputs were on.
``check_raises`` always runs torch on cpu (a bad index on torch-cuda is a device-side
assert that poisons the CUDA context for every later test).
"""

from __future__ import annotations

import os

import numpy as np
import torch

import ember

RNG = np.random.default_rng(1234)

DEVICE = "cpu"
TORCH_DEVICE = "cpu"


def set_device(name, torch_device=None):
    """Build ember's inputs on ``name`` ('cpu' or 'cuda'); torch's on ``torch_device``
    ($EMBER_TEST_TORCH_DEVICE; default: the same device when torch has it, else cpu).
    Called once by tests/conftest.py from ``--device``."""
    global DEVICE, TORCH_DEVICE
    DEVICE = str(ember.device(name).type)
    torch_device = torch_device or os.environ.get("EMBER_TEST_TORCH_DEVICE")
    if torch_device:
        TORCH_DEVICE = str(torch.device(torch_device).type)
    else:
        TORCH_DEVICE = DEVICE if DEVICE == "cpu" or _torch_has(DEVICE) else "cpu"
    if TORCH_DEVICE == "cuda":
        # cuDNN convolutions default to TF32 (10-bit mantissa); CuPy's do not.
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False


def _torch_has(device_type):
    return device_type == "cuda" and torch.cuda.is_available()


set_device(os.environ.get("EMBER_TEST_DEVICE", "cpu"))


class _Nowhere:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def on_device(lib):
    """The library's default-device context for the oracle's device (a no-op on cpu), so
    tensors a test builds inside ``fn`` (``lib.tensor([0, 2])``, ``lib.zeros(3)``) land
    where the inputs are, as they would in a test written for one device."""
    device = DEVICE if lib is ember else TORCH_DEVICE
    return _Nowhere() if device == "cpu" else lib.device(device)


def l1_loss(lib, *args, **kwargs):
    """``lib.nn.functional.l1_loss``; torch's with torch-function modes off: torch hands
    l1_loss on to a mode without its ``weight`` (torch 2.11 and 2.13), and ``on_device``
    runs torch under one (``with torch.device("cuda")``), where torch-cuda then gave the
    unweighted loss. Its inputs are on its device already."""
    if lib is not torch:
        return lib.nn.functional.l1_loss(*args, **kwargs)
    with torch._C.DisableTorchFunction():
        return torch.nn.functional.l1_loss(*args, **kwargs)


def to_torch(x, requires_grad=False, device=None):
    if isinstance(x, np.ndarray):
        t = torch.from_numpy(x.copy())
        device = TORCH_DEVICE if device is None else device
        if device != "cpu":
            t = t.to(device)
        if requires_grad and t.is_floating_point():
            t.requires_grad_(True)
        return t
    return x


def to_ember(x, requires_grad=False, device=None):
    if isinstance(x, np.ndarray):
        device = DEVICE if device is None else device
        t = ember.tensor(x.copy()) if device == "cpu" else ember.tensor(x, device=device)
        if requires_grad and t.is_floating_point():
            t.requires_grad_(True)
        return t
    return x


def as_numpy(x):
    if isinstance(x, torch.Tensor):
        x = x.detach()
        if x.dtype == torch.bfloat16:
            x = x.float()
        return x.cpu().numpy()
    if isinstance(x, ember.Tensor):
        x = x.detach()
        if x.device.type != "cpu":
            x = x.cpu()
        a = np.asarray(x.__array__())
        if a.dtype.kind == "V":
            a = a.astype(np.float32)
        return a
    return np.asarray(x)


def dtype_name(x):
    return str(x.dtype).replace("torch.", "")


def assert_same(e, t, rtol=None, atol=None, what="output", check_dtype=True):
    """Compare an ember result with a torch result (tensors, tuples, scalars)."""
    if isinstance(t, (tuple, list)):
        assert isinstance(e, (tuple, list)), f"{what}: expected a sequence, got {type(e)}"
        assert len(e) == len(t), f"{what}: length {len(e)} != {len(t)}"
        for i, (ei, ti) in enumerate(zip(e, t)):
            assert_same(ei, ti, rtol, atol, f"{what}[{i}]", check_dtype)
        return
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"{what}: expected Tensor, got {type(e).__name__}"
        assert tuple(e.shape) == tuple(t.shape), f"{what}: shape {tuple(e.shape)} != {tuple(t.shape)}"
        if check_dtype:
            assert dtype_name(e) == dtype_name(t), f"{what}: dtype {e.dtype} != {t.dtype}"
        ea, ta = as_numpy(e), as_numpy(t)
        if ta.dtype.kind in "fc":
            r, a = _tol(ta.dtype, rtol, atol)
            np.testing.assert_allclose(ea, ta, rtol=r, atol=a, equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(ea, ta, err_msg=what)
        return
    if isinstance(t, float):
        assert abs(float(e) - t) <= 1e-6 + 1e-5 * abs(t) or (np.isnan(t) and np.isnan(e)), f"{what}: {e} != {t}"
        return
    if isinstance(t, torch.Size):
        assert tuple(e) == tuple(t), f"{what}: {e} != {t}"
        return
    assert e == t, f"{what}: {e!r} != {t!r}"


def _tol(np_dtype, rtol, atol):
    defaults = {
        np.dtype(np.float16): (1e-3, 1e-5),
        np.dtype(np.float32): (1.3e-6, 1e-5),
        np.dtype(np.float64): (1e-7, 1e-7),
        np.dtype(np.complex64): (1.3e-6, 1e-5),
        np.dtype(np.complex128): (1e-7, 1e-7),
    }
    r, a = defaults.get(np_dtype, (1.6e-2, 1e-5))
    if DEVICE != "cpu" and np_dtype in (np.float32, np.complex64) and _real_accelerator():
        r = max(r, 1e-5)  # a GPU sums in another order than the host (float32: ~1e-6)
    return (r if rtol is None else rtol), (a if atol is None else atol)


def _real_accelerator():
    from ember._backend.device import cupy_module

    cp = cupy_module()
    return cp is not None and not getattr(cp, "__version__", "").endswith("-fake")


def _flat_tensors(out):
    if isinstance(out, (tuple, list)):
        result = []
        for o in out:
            result.extend(_flat_tensors(o))
        return result
    return [out]


def _check_devices(e_out, t_out, e_inputs, host_outputs=()):
    """Every ember output is on the device of ember's inputs, except those PyTorch keeps on
    the host (``host_outputs``: indices into the flattened outputs; when torch runs on the
    device too, its own placement decides): no result silently lands on the host."""
    if DEVICE == "cpu":
        return
    if not any(isinstance(x, ember.Tensor) and x.device.type == DEVICE for x in e_inputs):
        return
    for i, (e, t) in enumerate(zip(_flat_tensors(e_out), _flat_tensors(t_out))):
        if not isinstance(e, ember.Tensor) or not isinstance(t, torch.Tensor):
            continue
        if TORCH_DEVICE == "cpu":
            expected = "cpu" if i in host_outputs else DEVICE
        else:
            expected = t.device.type
        assert e.device.type == expected, f"output[{i}]: on {e.device}, expected {expected}"


def check(fn, *inputs, grad=True, rtol=None, atol=None, grad_rtol=None, grad_atol=None,
          check_dtype=True, host_outputs=()):
    """Compare ``fn(ember, *inputs)`` with ``fn(torch, *inputs)``: outputs and gradients.
    ``host_outputs``: indices of (flattened) outputs PyTorch returns on cpu whatever the
    inputs' device (PackedSequence.batch_sizes, lengths)."""
    t_inputs = [to_torch(x, grad) for x in inputs]
    e_inputs = [to_ember(x, grad) for x in inputs]
    with on_device(torch):
        t_out = fn(torch, *t_inputs)
    with on_device(ember):
        e_out = fn(ember, *e_inputs)
    assert_same(e_out, t_out, rtol, atol, check_dtype=check_dtype)
    _check_devices(e_out, t_out, e_inputs, host_outputs)
    if not grad:
        return e_out, t_out
    t_flat = [o for o in _flat_tensors(t_out) if isinstance(o, torch.Tensor) and o.requires_grad]
    e_flat = [o for o in _flat_tensors(e_out) if isinstance(o, ember.Tensor) and o.requires_grad]
    assert len(t_flat) == len(e_flat), "different outputs require grad"
    if not t_flat:
        return e_out, t_out
    upstream = [RNG.standard_normal(o.shape).astype(as_numpy(o).dtype) for o in t_flat]
    t_leaves = [x for x in t_inputs if isinstance(x, torch.Tensor) and x.requires_grad]
    e_leaves = [x for x in e_inputs if isinstance(x, ember.Tensor) and x.requires_grad]
    t_grads = torch.autograd.grad(
        t_flat, t_leaves, [torch.from_numpy(u).to(o.device) for u, o in zip(upstream, t_flat)],
        allow_unused=True)
    e_grads = ember.autograd.grad(
        e_flat, e_leaves, [to_ember(u, device=str(o.device)) for u, o in zip(upstream, e_flat)],
        allow_unused=True)
    for i, (eg, tg) in enumerate(zip(e_grads, t_grads)):
        if tg is None:
            assert eg is None or np.all(as_numpy(eg) == 0), f"grad[{i}]: expected None"
            continue
        assert eg is not None, f"grad[{i}]: ember gave None"
        assert_same(eg, tg, grad_rtol if grad_rtol is not None else rtol,
                    grad_atol if grad_atol is not None else atol, f"grad[{i}]")
        assert eg.device == e_leaves[i].device, \
            f"grad[{i}]: on {eg.device}, its input on {e_leaves[i].device}"
    return e_out, t_out


def check_raises(fn, *inputs, match=None):
    """Both libraries raise the same exception type (and ember's message matches)."""
    import pytest

    t_inputs = [to_torch(x, device="cpu") for x in inputs]
    e_inputs = [to_ember(x) for x in inputs]
    with pytest.raises(Exception) as t_info:
        fn(torch, *t_inputs)  # on cpu: see the module's docstring
    expected = type(t_info.value)
    # torch raises subclasses of builtin types for some errors; compare on the builtin base
    for base in (IndexError, ValueError, TypeError, RuntimeError, NotImplementedError):
        if issubclass(expected, base):
            expected = base
            break
    with pytest.raises(expected, match=match) as e_info, on_device(ember):
        fn(ember, *e_inputs)
    return e_info.value, t_info.value


def host_errors_alike(fn):
    """``fn(lib)`` raises the same error type and text in both libraries, both on the host
    whatever the oracle's device: for host-only ops (the quantized kernels, as PyTorch's
    QuantizedCPU ones), which refuse any other device before their own checks."""
    import pytest

    with pytest.raises(Exception) as torch_info:
        fn(torch)
    with pytest.raises(type(torch_info.value)) as ember_info:
        fn(ember)
    assert str(ember_info.value) == str(torch_info.value)


def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def rand(*shape, dtype=np.float32, low=0.0, high=1.0):
    return RNG.uniform(low, high, shape).astype(dtype)


def raises_on_cuda(fn, inputs, error, message):
    """On cuda, where PyTorch's CUDA kernels refuse what its CPU ones compute: ember's
    error, and torch's when torch is on cuda too, are ``error`` with ``message``."""
    import pytest

    libs = [(ember, to_ember)] + ([(torch, to_torch)] if TORCH_DEVICE == "cuda" else [])
    for lib, convert in libs:
        with pytest.raises(error) as info:
            fn(lib, *[convert(x) for x in inputs])
        assert str(info.value) == message, lib.__name__
