"""Module-level oracle: build the same module in ember and torch, copy torch's parameters
and buffers into ember, and compare outputs, input gradients and parameter gradients."""

from __future__ import annotations

import numpy as np
import oracle
import torch
from oracle import RNG, as_numpy, assert_same, to_ember, to_torch

import ember


def copy_state(torch_module, ember_module):
    """load_state_dict from NumPy copies of torch's tensors; returns the result tuple."""
    state = {k: ember.tensor(v.detach().cpu().numpy().copy()) for k, v in
             torch_module.state_dict().items()}
    return ember_module.load_state_dict(state)


def check_module(make, *inputs, train=True, rtol=None, atol=None, grad_rtol=None,
                 grad_atol=None):
    """``make(lib)`` builds the module; inputs are NumPy arrays (float ones need grad)."""
    t_mod, e_mod = make(torch), make(ember)
    copy_state(t_mod, e_mod)
    t_mod.to(oracle.TORCH_DEVICE)
    e_mod.to(oracle.DEVICE)
    t_mod.train(train)
    e_mod.train(train)
    t_in = [to_torch(x, True) for x in inputs]
    e_in = [to_ember(x, True) for x in inputs]
    t_out, e_out = t_mod(*t_in), e_mod(*e_in)
    assert_same(e_out, t_out, rtol, atol)
    t_outs = t_out if isinstance(t_out, tuple) else (t_out,)
    e_outs = e_out if isinstance(e_out, tuple) else (e_out,)
    upstream = [RNG.standard_normal(tuple(o.shape)).astype(as_numpy(o).dtype) for o in t_outs]
    torch.autograd.backward(t_outs, [torch.from_numpy(u).to(o.device)
                                     for u, o in zip(upstream, t_outs)])
    ember.autograd.backward(e_outs, [to_ember(u, device=str(o.device))
                                     for u, o in zip(upstream, e_outs)])
    grad_rtol = rtol if grad_rtol is None else grad_rtol
    grad_atol = atol if grad_atol is None else grad_atol
    for i, (ti, ei) in enumerate(zip(t_in, e_in)):
        if isinstance(ti, torch.Tensor) and ti.requires_grad:
            assert_same(ei.grad, ti.grad, grad_rtol, grad_atol, f"input grad {i}")
    e_params = dict(e_mod.named_parameters())
    for name, tp in t_mod.named_parameters():
        ep = e_params[name]
        if tp.grad is None:
            assert ep.grad is None or np.all(as_numpy(ep.grad) == 0), name
        else:
            assert_same(ep.grad, tp.grad, grad_rtol, grad_atol, f"grad of {name}")
    return e_mod, t_mod, e_out, t_out
