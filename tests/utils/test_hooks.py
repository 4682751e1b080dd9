"""ember.utils.hooks against torch.utils.hooks: the one RemovableHandle behind module,
optimizer, tensor and node hooks, unserializable_hook, warn_if_has_hooks, BackwardHook.

Scenarios run once per library and log what a user observes; the logs must agree.
"""

from __future__ import annotations

import gc
import importlib
import pickle
import re
import warnings
from collections import OrderedDict

import numpy as np
import torch

import ember
from tests.oracle import as_numpy

X = np.arange(6, dtype=np.float32).reshape(2, 3) / 4 + 0.5
W = np.array([[0.5, -1.0, 0.25], [1.5, 0.75, -0.5]], dtype=np.float32)
BIAS = np.array([0.1, -0.2], dtype=np.float32)


def normalize(value):
    if isinstance(value, (torch.Tensor, ember.Tensor)):
        return as_numpy(value.detach())
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    return value


def assert_same(t_item, e_item):
    if isinstance(t_item, np.ndarray):
        np.testing.assert_allclose(e_item, t_item, rtol=1e-5, atol=1e-6)
    elif isinstance(t_item, list):
        assert isinstance(e_item, list) and len(e_item) == len(t_item), (t_item, e_item)
        for t_sub, e_sub in zip(t_item, e_item):
            assert_same(t_sub, e_sub)
    else:
        assert t_item == e_item, (t_item, e_item)


def run_both(scenario):
    logs = []
    for lib in (torch, ember):
        log = []
        scenario(lib, log)
        logs.append(normalize(log))
    assert_same(*logs)
    return logs[1]


def linear(lib):
    """A Linear layer with the same parameters in both libraries."""
    module = lib.nn.Linear(3, 2)
    with lib.no_grad():
        module.weight.copy_(lib.tensor(W))
        module.bias.copy_(lib.tensor(BIAS))
    return module


def test_removable_handle_dicts_and_ids():
    def scenario(lib, log):
        Handle = lib.utils.hooks.RemovableHandle
        hooks, extra, extra2 = OrderedDict(), OrderedDict(), OrderedDict()
        h1 = Handle(hooks)
        hooks[h1.id] = "a"
        h2 = Handle(hooks, extra_dict=extra)
        hooks[h2.id] = "b"
        extra[h2.id] = True
        h3 = Handle(hooks, extra_dict=[extra, extra2])
        hooks[h3.id] = "c"
        extra[h3.id] = extra2[h3.id] = True
        log.append([h2.id - h1.id, h3.id - h2.id, Handle.next_id - h3.id])
        h2.remove()
        h2.remove()  # removing twice is harmless
        log.append([list(hooks.values()), len(extra), len(extra2)])
        with h3 as same:
            log.append(same is h3)
        log.append([list(hooks.values()), len(extra), len(extra2)])
        log.append([hasattr(h1, name) for name in ("hooks_dict_ref", "extra_dict_ref", "id")])

    run_both(scenario)


def test_removable_handle_holds_weak_references():
    def scenario(lib, log):
        hooks = OrderedDict()
        extra = OrderedDict()
        handle = lib.utils.hooks.RemovableHandle(hooks, extra_dict=extra)
        del hooks, extra
        log.append(handle.hooks_dict_ref() is None)
        handle.remove()  # the dict is gone: nothing to do, no error
        log.append(handle.extra_dict_ref[0]() is None)

    run_both(scenario)


def test_removable_handle_pickles():
    def scenario(lib, log):
        Handle = lib.utils.hooks.RemovableHandle
        hooks, extra = OrderedDict(), OrderedDict()
        handle = Handle(hooks, extra_dict=extra)
        hooks[handle.id] = "hook"
        extra[handle.id] = 1
        copy = pickle.loads(pickle.dumps(handle))
        # the unpickled dicts are fresh copies nothing else holds: the weak refs are dead
        log.append([copy.id == handle.id, copy.hooks_dict_ref() is None,
                    len(copy.extra_dict_ref), Handle.next_id > handle.id])
        both = pickle.loads(pickle.dumps((handle, hooks)))
        log.append(both[0].hooks_dict_ref() is both[1])
        # a dead reference pickles as None and comes back dead
        orphan = Handle(OrderedDict())
        revived = pickle.loads(pickle.dumps(orphan))
        log.append(revived.hooks_dict_ref() is None)
        revived.remove()

    run_both(scenario)


def test_module_handles():
    def scenario(lib, log):
        module = linear(lib)
        calls = []
        plain = module.register_forward_hook(lambda m, i, o: calls.append("fwd"))
        with_kwargs = module.register_forward_hook(
            lambda m, a, k, o: calls.append("kw"), with_kwargs=True)
        pre = module.register_forward_pre_hook(lambda m, i: calls.append("pre"))
        log.append([isinstance(h, lib.utils.hooks.RemovableHandle)
                    for h in (plain, with_kwargs, pre)])
        module(lib.ones(1, 3))
        with_kwargs.remove()
        log.append([len(module._forward_hooks), len(module._forward_hooks_with_kwargs)])
        with plain, pre:
            module(lib.ones(1, 3))
        module(lib.ones(1, 3))
        log.append(calls)

    run_both(scenario)


def test_optimizer_handles():
    def scenario(lib, log):
        param = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([param], lr=0.5)
        calls = []
        pre = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
        post = opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
        optimizer_module = importlib.import_module(lib.__name__ + ".optim.optimizer")
        glob = optimizer_module.register_optimizer_step_pre_hook(
            lambda o, a, k: calls.append("global"))
        log.append([isinstance(h, lib.utils.hooks.RemovableHandle) for h in (pre, post, glob)])
        param.grad = lib.ones(2)
        opt.step()
        pre.remove()
        glob.remove()
        opt.step()
        log.append(calls)
        log.append(param)
        del opt
        gc.collect()
        log.append(post.hooks_dict_ref() is None)  # the handle does not keep it alive
        post.remove()

    run_both(scenario)


def test_tensor_and_node_handles():
    def scenario(lib, log):
        x = lib.tensor(X, requires_grad=True)

        def double(grad):
            return grad * 2

        first = x.register_hook(double)
        second = x.register_hook(double)
        y = x.exp()
        node_calls = []
        node_hook = y.grad_fn.register_hook(lambda gi, go: node_calls.append("post"))
        node_pre = y.grad_fn.register_prehook(lambda go: node_calls.append("pre"))
        non_leaf = y.register_hook(lambda g: g + 1)
        log.append([isinstance(h, lib.utils.hooks.RemovableHandle)
                    for h in (first, second, node_hook, node_pre, non_leaf)])
        second.remove()
        node_pre.remove()
        y.sum().backward(retain_graph=True)
        log.append(x.grad)
        x.grad = None
        with first, node_hook, non_leaf:
            pass
        y.sum().backward()
        log.extend([x.grad, node_calls])
        accumulated = []
        post_acc = x.register_post_accumulate_grad_hook(lambda t: accumulated.append(1))
        x.exp().sum().backward()
        post_acc.remove()
        x.exp().sum().backward()
        log.append(len(accumulated))

    run_both(scenario)


def test_unserializable_hook_and_warn_if_has_hooks():
    def scenario(lib, log):
        hooks = lib.utils.hooks

        @hooks.unserializable_hook
        def quiet(grad):
            return grad

        def loud(grad):
            return grad

        log.append(quiet.__torch_unserializable__)
        x = lib.tensor(X, requires_grad=True)
        y = x * 2
        for tensor, hook in ((x, quiet), (x, loud), (y, loud)):
            tensor.register_hook(hook)
        for tensor in (x, y, lib.ones(2)):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                hooks.warn_if_has_hooks(tensor)
            log.append([re.sub(r" at 0x[0-9a-f]+", "", str(w.message)) for w in caught])

    run_both(scenario)


def test_backward_hook_drives_full_backward_hooks():
    def scenario(lib, log):
        module = linear(lib)
        seen = []

        def hook(mod, grad_input, grad_output):
            seen.append([grad_input, grad_output])

        def pre_hook(mod, grad_output):
            return (grad_output[0] * 3,)

        helper = lib.utils.hooks.BackwardHook(module, [hook], [pre_hook])
        x = lib.tensor(X, requires_grad=True)
        (x_hooked,) = helper.setup_input_hook((x,))
        out = helper.setup_output_hook(module(x_hooked))
        out.sum().backward()
        log.extend([seen, x.grad])

    run_both(scenario)


def test_removable_handle_old_pickle_layouts():
    """Handles pickled by older PyTorch carry (hooks, id) or (hooks, id, None)."""
    def scenario(lib, log):
        Handle = lib.utils.hooks.RemovableHandle
        table = OrderedDict({1: "hook"})
        for state in ((table, 7), (table, 8, None), (None, 9, ())):
            handle = Handle.__new__(Handle)
            handle.__setstate__(state)
            log.append([handle.id, handle.extra_dict_ref, handle.hooks_dict_ref() is None,
                        Handle.next_id > handle.id])
            handle.remove()
        hooks, extra = OrderedDict(), OrderedDict()
        handle = Handle(hooks, extra_dict=extra)
        hooks[handle.id] = "only in hooks"  # no extra flag: removal still succeeds
        handle.remove()
        log.append([len(hooks), len(extra), Handle(hooks, extra_dict="neither").extra_dict_ref])

    run_both(scenario)
