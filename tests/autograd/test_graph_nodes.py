"""ember.autograd.graph against torch.autograd.graph, continued: multi-grad hooks, Node and
GradientEdge, increment_version, allow_mutation_on_saved_tensors, and saved tensors on a
device (scenarios run with lib=torch and lib=ember as in test_graph.py)."""

from __future__ import annotations

import contextlib
import weakref

import numpy as np
import pytest
import torch
from autograd.test_graph import A, B, hooks, leaf, run_both

import ember
from tests.oracle import as_numpy

# -- multi-grad hooks --------------------------------------------------------------------


def test_multi_grad_hook_all():
    def scenario(lib, log):
        a, b = leaf(lib, A), leaf(lib, B)
        c = a * b
        d = a * b
        handle = lib.autograd.graph.register_multi_grad_hook(
            (a, b, c, d), lambda grads: log.append(tuple(grads)))
        c.sum().backward(retain_graph=True)
        c.sum().backward(inputs=(a,), retain_graph=True)
        lib.autograd.grad((c + d).sum(), (c,), retain_graph=True)
        log.append(isinstance(handle, lib.utils.hooks.RemovableHandle))
        handle.remove()
        c.sum().backward(retain_graph=True)
        log.append(len(log))
        lib.autograd.graph.register_multi_grad_hook((a, c), log.append)
        lib.autograd.grad(c.sum(), a)  # a leaf's node during autograd.grad: unsupported

    run_both(scenario)


def test_multi_grad_hook_any():
    def scenario(lib, log):
        a, b = leaf(lib, A), leaf(lib, B)
        c = a.exp() * b
        handle = lib.autograd.graph.register_multi_grad_hook(
            (a, b, c), lambda grad: log.append(grad), mode="any")
        c.sum().backward(retain_graph=True)
        c.sum().backward(inputs=(b,), retain_graph=True)
        handle.remove()
        c.sum().backward()
        log.append(len(log))

    run_both(scenario)


def test_multi_grad_hook_bad_mode():
    def scenario(lib, log):
        lib.autograd.graph.register_multi_grad_hook((leaf(lib, A),), print, mode="some")

    run_both(scenario)


# -- Node, GradientEdge, increment_version --------------------------------------------------


def test_node_isinstance():
    def scenario(lib, log):
        Node = lib.autograd.graph.Node

        class Twice(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        x = leaf(lib, A)
        y = x.exp()
        z = Twice.apply(y)
        acc = y.grad_fn.next_functions[0][0]
        log.extend([isinstance(y.grad_fn, Node), isinstance(z.grad_fn, Node),
                    isinstance(acc, Node), acc.name().rsplit("::", 1)[-1],
                    isinstance(x, Node), isinstance(None, Node), issubclass(int, Node)])

    run_both(scenario)


def test_gradient_edge():
    def scenario(lib, log):
        graph = lib.autograd.graph
        x = leaf(lib, A)
        y = x.sin()
        z = (y * y).sum()
        edge_x, edge_y = graph.get_gradient_edge(x), graph.get_gradient_edge(y)
        log.extend([type(edge_y).__name__, edge_y.node is y.grad_fn, edge_y.output_nr,
                    edge_x.node.name().rsplit("::", 1)[-1], edge_x.ownership_token is None,
                    isinstance(edge_y, tuple)])
        log.append(lib.autograd.grad(z, (edge_y, edge_x), retain_graph=True))
        log.append(lib.autograd.grad(z, edge_x, retain_graph=True))
        z.backward(inputs=[edge_x], retain_graph=True)
        z.backward(inputs=edge_y)  # a non-leaf edge: nothing to accumulate
        log.append(x.grad)
        graph.get_gradient_edge(x.detach())

    run_both(scenario)


def test_increment_version():
    def scenario(lib, log):
        x = leaf(lib, A)
        h = x * 1.0
        y = (h * h).sum()
        lib.autograd.graph.increment_version(h)
        lib.autograd.graph.increment_version([h, x.detach()])
        log.extend([h._version, x._version])
        y.backward()

    log = run_both(scenario)
    assert log[-1][0] == "raised" and "modified by an inplace operation" in log[-1][2]


# -- allow_mutation_on_saved_tensors ------------------------------------------------------


def test_allow_mutation_on_saved_tensors():
    def scenario(lib, log):
        graph = lib.autograd.graph
        with graph.allow_mutation_on_saved_tensors() as state:
            a = leaf(lib, A)
            b = a.clone()
            out = (b ** 2).sum() + (b * a).sum()
            b.sin_()
            log.append(b)
            out.backward()
            log.append(a.grad)
            log.append(type(state).__name__)
        try:
            with graph.allow_mutation_on_saved_tensors(), \
                    graph.allow_mutation_on_saved_tensors():
                pass
        except RuntimeError as exc:
            log.append(str(exc))
        with graph.allow_mutation_on_saved_tensors():
            c = leaf(lib, B).clone()
            out = (c ** 2).sum()
        try:
            out.backward()
        except AssertionError as exc:
            log.append(str(exc))

    run_both(scenario)


def test_allow_mutation_copies_die_with_the_graph():
    with ember.autograd.graph.allow_mutation_on_saved_tensors() as state:
        x = leaf(ember, A)
        y = x.exp()
        assert len(state.original) == 1
        ref = weakref.ref(y.grad_fn)
        del y
        assert ref() is None and len(state.original) == 0


@pytest.fixture
def fake_cuda():
    """A "cuda" device backed by tests/cuda_sim's NumPy CuPy double, for this test only."""
    import importlib
    import importlib.util
    import os
    import sys

    backend_device = importlib.import_module("ember._backend.device")
    fake_cupy = sys.modules.get("fake_cupy")  # the module tests/cuda_sim imports
    if fake_cupy is None:
        path = os.path.join(os.path.dirname(__file__), "..", "cuda_sim", "fake_cupy.py")
        spec = importlib.util.spec_from_file_location("fake_cupy", path)
        fake_cupy = importlib.util.module_from_spec(spec)
        sys.modules["fake_cupy"] = fake_cupy
        spec.loader.exec_module(fake_cupy)
    fake_cupy.reset()
    fake_modules = fake_cupy.modules()
    saved = {name: sys.modules.get(name) for name in fake_modules}
    saved_backend = backend_device._cupy, backend_device._cupy_checked
    sys.modules.update(fake_modules)
    backend_device._cupy, backend_device._cupy_checked = None, False
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        backend_device._cupy, backend_device._cupy_checked = saved_backend
        fake_cupy.reset()


def test_save_on_cpu_moves_saved_tensors_off_the_device(fake_cuda):
    """What save_on_cpu is for: saved tensors wait on the host, backward gets them back on
    the device; gradients as torch's on the CPU."""
    x = ember.tensor(A, dtype=ember.float32, device="cuda", requires_grad=True)
    w = ember.tensor(B, dtype=ember.float32, device="cuda", requires_grad=True)
    for pin_memory in (False, True):
        x.grad = w.grad = None
        with ember.autograd.graph.save_on_cpu(pin_memory=pin_memory):
            out = (x * w).exp().sum()
        exp_node = out.grad_fn.next_functions[0][0]
        packed_device, packed = exp_node._saved[0].packed
        assert str(packed_device) == "cuda:0" and packed.device.type == "cpu"
        assert exp_node._saved_result.device.type == "cuda"
        out.backward()
        tx, tw = leaf(torch, A), leaf(torch, B)
        (tx * tw).exp().sum().backward()
        for e_grad, t_grad in ((x.grad, tx.grad), (w.grad, tw.grad)):
            assert e_grad.device.type == "cuda"
            np.testing.assert_allclose(as_numpy(e_grad), t_grad.numpy(), rtol=1e-5)


def test_packed_graph_does_not_keep_saved_tensors_alive():
    """The point of offloading: once packed, the graph holds the packed object, not the
    tensor (without hooks it holds the tensor)."""
    x = leaf(ember, A)
    for hooked in (False, True):
        to_host = hooks(ember)(lambda t: as_numpy(t).copy(), ember.tensor)
        with to_host if hooked else contextlib.nullcontext():
            h = x.exp()
            y = h.sin().sum()
        ref = weakref.ref(h)
        del h
        assert (ref() is None) == hooked
        y.backward()
    tx = leaf(torch, A)
    (2 * tx.exp().sin().sum()).backward()
    np.testing.assert_allclose(as_numpy(x.grad), tx.grad.numpy(), rtol=1e-5)
