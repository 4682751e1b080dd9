"""Variable._execution_engine.queue_callback: end-of-backward callbacks, against torch."""

import pytest
import torch

import ember


def _run(lib):
    order = []
    x = lib.ones(2, requires_grad=True)

    def hook(grad):
        order.append("hook")
        engine = lib.autograd.Variable._execution_engine
        engine.queue_callback(lambda: order.append("first"))
        # A callback may queue another; it still runs in this pass.
        engine.queue_callback(lambda: (order.append("second"),
                                       engine.queue_callback(lambda: order.append("third"))))
        return grad

    x.register_hook(hook)
    (x * 2).sum().backward()
    order.append("after backward")
    lib.autograd.grad((x * 3).sum(), x)  # the hook queues them again in this pass
    return order


def test_callbacks_run_once_at_the_end_of_the_pass():
    once = ["hook", "first", "second", "third"]
    assert _run(ember) == _run(torch) == once + ["after backward"] + once


def test_queue_callback_outside_backward_raises_like_torch():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError,
                           match="Final callbacks can only be installed during backward pass."):
            lib.autograd.Variable._execution_engine.queue_callback(lambda: None)
