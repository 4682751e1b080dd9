"""autograd.set_multithreading_enabled and the autograd.graph stream/budget switches,
against PyTorch 2.13: call, context-manager and decorator forms, thread-locality,
argument errors; backward results do not depend on the switch."""

from __future__ import annotations

import threading

import pytest
import torch

import ember


@pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
def test_set_multithreading_enabled_forms(lib):
    ag = lib.autograd
    assert ag.is_multithreading_enabled()
    with ag.set_multithreading_enabled(False):
        assert not ag.is_multithreading_enabled()
        seen = []
        worker = threading.Thread(target=lambda: seen.append(ag.is_multithreading_enabled()))
        worker.start()
        worker.join()
        assert seen == [True]  # thread-local
    assert ag.is_multithreading_enabled()

    @ag.set_multithreading_enabled(False)
    def inside():
        return ag.is_multithreading_enabled()

    # as in PyTorch, building the decorator already switches (construction sets the mode)
    assert not ag.is_multithreading_enabled()
    ag.set_multithreading_enabled(True)
    assert inside() is False and ag.is_multithreading_enabled()
    ag.set_multithreading_enabled(False)  # a plain call switches at once
    try:
        assert not ag.is_multithreading_enabled()
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        (x * x).sum().backward()
        assert x.grad.tolist() == [2.0, 4.0]
    finally:
        ag.set_multithreading_enabled(True)
    assert ag.is_multithreading_enabled()


@pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
def test_graph_switches(lib):
    graph = lib.autograd.graph
    assert graph.set_warn_on_accumulate_grad_stream_mismatch(False) is None
    assert graph.set_warn_on_accumulate_grad_stream_mismatch(True) is None
    assert graph.set_override_stale_capture_stream(False) is None
    for budget, error, message in [(True, TypeError, "expects a float, got bool"),
                                   ("0.5", TypeError, "expects a float, got str"),
                                   (1.5, ValueError, r"must be in \[0, 1\], got 1.5"),
                                   (0.5, RuntimeError, "only be used inside a torch.compile")]:
        with pytest.raises(error, match=message):
            with graph.region_activation_memory_budget(budget):
                pass
