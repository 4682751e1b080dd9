"""Compare an ember spectral call with torch's on the same real or complex inputs.

tests/oracle.py's ``check`` only makes float inputs require grad and draws real upstream
gradients; transforms need complex inputs and complex upstream gradients (both the real
and imaginary parts of a gradient matter), and torch returns some results with its lazy
conjugate bit set. ``compare`` handles those, and ``compare_double`` checks the second
derivative (the gradient's own gradient, with respect to input and upstream) too.

Devices as tests/oracle.py: ember's inputs (and upstream gradients) are built on
``oracle.DEVICE`` (``pytest --device cuda``), ``fn`` runs under that default device, and
every ember result must stay there; torch stays on cpu.
"""

from __future__ import annotations

import numpy as np
import oracle
import torch

import ember

RNG = np.random.default_rng(2024)

TOL = {
    np.dtype(np.float32): (1.3e-6, 1e-5), np.dtype(np.complex64): (1.3e-6, 1e-5),
    np.dtype(np.float64): (1e-7, 1e-7), np.dtype(np.complex128): (1e-7, 1e-7),
}


def sample(shape, dtype=np.float64):
    """Random values of a NumPy dtype: complex ones get a random imaginary part."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        return np.asarray(RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape),
                          dtype)
    if dtype.kind in "iub":
        return np.asarray(RNG.integers(-5, 5, shape), dtype)
    return np.asarray(RNG.standard_normal(shape), dtype)


def to_numpy(t):
    if isinstance(t, torch.Tensor):
        return t.detach().resolve_conj().numpy()
    return np.asarray(t.detach().cpu().__array__())


def on_device(array):
    """An ember tensor of ``array`` on the oracle's device."""
    return ember.tensor(array.copy(), device=oracle.DEVICE)


def assert_same(e, t, rtol=None, atol=None, what="output"):
    if isinstance(t, (tuple, list)):
        for i, (ei, ti) in enumerate(zip(e, t)):
            assert_same(ei, ti, rtol, atol, f"{what}[{i}]")
        return
    assert isinstance(e, ember.Tensor), f"{what}: {type(e).__name__}"
    assert tuple(e.shape) == tuple(t.shape), f"{what}: shape {tuple(e.shape)} != {tuple(t.shape)}"
    assert str(e.dtype) == str(t.dtype), f"{what}: dtype {e.dtype} != {t.dtype}"
    assert e.device.type == oracle.DEVICE, f"{what}: on {e.device}, expected {oracle.DEVICE}"
    ea, ta = to_numpy(e), to_numpy(t)
    r, a = TOL.get(ta.dtype, (1e-7, 1e-7))
    np.testing.assert_allclose(ea, ta, rtol=r if rtol is None else rtol,
                               atol=a if atol is None else atol, err_msg=what)


def _inputs(arrays, grad):
    t_in = [torch.from_numpy(a.copy()) if isinstance(a, np.ndarray) else a for a in arrays]
    e_in = [on_device(a) if isinstance(a, np.ndarray) else a for a in arrays]
    for t, e in zip(t_in, e_in):
        if grad and isinstance(t, torch.Tensor) and (t.is_floating_point() or t.is_complex()):
            t.requires_grad_(True)
            e.requires_grad_(True)
    return t_in, e_in


def _leaves(inputs, lib):
    return [x for x in inputs if isinstance(x, lib.Tensor) and x.requires_grad]


def compare(fn, *arrays, grad=True, rtol=None, atol=None):
    """``fn(lib, *tensors)`` on both libraries: value, dtype, shape, and every input's
    gradient under the same random (complex, for complex outputs) upstream gradient."""
    t_in, e_in = _inputs(arrays, grad)
    t_out = fn(torch, *t_in)
    with oracle.on_device(ember):
        e_out = fn(ember, *e_in)
    assert_same(e_out, t_out, rtol, atol)
    if not grad:
        return e_out, t_out
    upstream = sample(tuple(t_out.shape), to_numpy(t_out).dtype)
    t_grads = torch.autograd.grad(t_out, _leaves(t_in, torch), torch.from_numpy(upstream))
    e_grads = ember.autograd.grad(e_out, _leaves(e_in, ember), on_device(upstream))
    assert_same(e_grads, t_grads, rtol, atol, "grad")
    return e_out, t_out


def compare_double(fn, *arrays, rtol=None, atol=None):
    """Second order: the vector-Jacobian product built with create_graph, then the gradient
    of its inner product with a random vector with respect to the upstream gradient (the
    transforms are linear, so that is the whole second-order story), compared with
    torch's."""
    t_in, e_in = _inputs(arrays, True)
    t_out = fn(torch, *t_in)
    with oracle.on_device(ember):
        e_out = fn(ember, *e_in)
    out_dtype = to_numpy(t_out).dtype
    upstream = sample(tuple(t_out.shape), out_dtype)
    t_up = torch.from_numpy(upstream).requires_grad_(True)
    e_up = on_device(upstream).requires_grad_(True)
    t_g = torch.autograd.grad(t_out, t_in[0], t_up, create_graph=True)[0]
    e_g = ember.autograd.grad(e_out, e_in[0], e_up, create_graph=True)[0]
    assert_same(e_g, t_g, rtol, atol, "grad")
    probe = sample(tuple(t_g.shape), to_numpy(t_g).dtype)
    t_gg = torch.autograd.grad(t_g, t_up, torch.from_numpy(probe))
    e_gg = ember.autograd.grad(e_g, e_up, on_device(probe))
    assert_same(e_gg, t_gg, rtol, atol, "grad of grad")
