"""utils.checkpoint against PyTorch 2.13: real recomputation (how often the function and
its ops run), gradients, RNG replay, early stop, determinism errors, the reentrant
CheckpointFunction, the helper API, and selective activation checkpointing (which ops a
policy keeps, counted through a custom operator with a call counter)."""

from __future__ import annotations

import contextlib
import functools
import warnings

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as tc

import ember
import ember.utils.checkpoint as ec

LIBS = [(torch, tc), (ember, ec)]
X = np.arange(12.0).reshape(3, 4) / 7
W = np.linspace(-1, 1, 16).reshape(4, 4)


def _inputs(lib):
    return (lib.tensor(X, requires_grad=True), lib.tensor(W, requires_grad=True))


def _close(e, t):
    torch.testing.assert_close(torch.from_numpy(np.asarray(e.detach().numpy()).copy()),
                               t.detach())


def _grads_and_calls(lib, ck, fn_body, **kwargs):
    x, w = _inputs(lib)
    calls = [0]

    def fn(x, w):
        calls[0] += 1
        return fn_body(lib, x, w)

    out = ck.checkpoint(fn, x, w, **kwargs)
    after_forward = calls[0]
    out.sum().backward()
    return out, x.grad, w.grad, (after_forward, calls[0])


def _body(lib, x, w):
    h = (x @ w).sin()
    return (h * h.cos()).tanh()


@pytest.mark.parametrize("kwargs", [{"use_reentrant": False}, {"use_reentrant": True},
                                    {"use_reentrant": False, "determinism_check": "none"},
                                    {"use_reentrant": False, "early_stop": False}])
def test_recomputes_and_gradients_match_torch(kwargs):
    e = _grads_and_calls(ember, ec, _body, **kwargs)
    t = _grads_and_calls(torch, tc, _body, **kwargs)
    for a, b in zip(e[:3], t[:3]):
        _close(a, b)
    assert e[3] == t[3] == (1, 2)  # the function ran again in backward


def test_dropout_replays_the_forward_rng():
    def body(lib, x, w):
        return lib.nn.functional.dropout(x @ w, p=0.5, training=True) * x.sum()

    for kwargs in ({"use_reentrant": False}, {"use_reentrant": True}):
        results = []
        for lib, ck in LIBS:
            lib.manual_seed(3)
            out, gx, gw, _ = _grads_and_calls(lib, ck, body, **kwargs)
            plain_x, plain_w = _inputs(lib)
            lib.manual_seed(3)
            body(lib, plain_x, plain_w).sum().backward()
            results.append((out, gx, plain_x.grad, gw, plain_w.grad))
        # per library: checkpointed gradients equal the plain ones (same dropout mask)
        for lib_results in results:
            assert np.allclose(lib_results[1].numpy(), lib_results[2].numpy())
            assert np.allclose(lib_results[3].numpy(), lib_results[4].numpy())


def test_early_stop_skips_the_tail_of_the_recomputation():
    for early_stop in (True, False):
        counts = []
        for lib, ck in LIBS:
            tail = [0]

            def fn(x, w):
                h = (x @ w).sin()
                tail[0] += 1
                return h * 2 + 1  # saves nothing after sin's input

            x, w = _inputs(lib)
            with ck.set_checkpoint_early_stop(early_stop):
                out = ck.checkpoint(fn, x, w, use_reentrant=False)
            out.sum().backward()
            counts.append(tail[0])
        assert counts[0] == counts[1]


def test_nondeterministic_recompute_raises_checkpoint_error():
    for lib, ck in LIBS:
        state = {"n": 0}

        def fn(x):
            state["n"] += 1
            return (x[: 4 - state["n"]].sin() * 2).sum()  # a smaller slice the second time

        x = lib.ones(4, requires_grad=True)
        out = ck.checkpoint(fn, x, use_reentrant=False)
        with pytest.raises(ck.CheckpointError, match="different metadata"):
            out.backward()
        assert issubclass(ck.CheckpointError, RuntimeError)


def test_reentrant_refuses_autograd_grad_and_no_grad_inputs_warn():
    for lib, ck in LIBS:
        x, w = _inputs(lib)
        out = ck.checkpoint(lambda a, b: (a @ b).sin(), x, w, use_reentrant=True)
        with pytest.raises(RuntimeError, match="incompatible with .grad()"):
            lib.autograd.grad(out.sum(), [x])
        with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
            ck.checkpoint(lambda a: a * 2, lib.ones(2), use_reentrant=True)
        fn_cls = ck.CheckpointFunction
        y = fn_cls.apply(lambda a: a.exp(), True, x)
        y.sum().backward()
        assert np.allclose(x.grad.numpy(), np.exp(X))


def test_argument_errors_match_torch():
    for lib, ck in LIBS:
        x = lib.ones(2, requires_grad=True)
        with pytest.raises(ValueError, match="Unexpected keyword arguments: foo"):
            ck.checkpoint(lambda a, foo=1: a, x, use_reentrant=True, foo=2)
        with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
            ck.checkpoint(lambda a: a, x, use_reentrant=True, debug=True)
        with pytest.raises(ValueError, match=r"determinism_check should be one of \['default', "
                           r"'none'\], but got bad"):
            ck.checkpoint(lambda a: a * 2, x, use_reentrant=False, determinism_check="bad")
        with pytest.raises(ValueError, match="debug=True is incompatible with non-default"):
            ck.checkpoint(lambda a: a * 2, x, use_reentrant=False, debug=True,
                          context_fn=functools.partial(ck.create_selective_checkpoint_contexts,
                                                       []))
        with pytest.warns(UserWarning, match="use_reentrant parameter should be passed"):
            ck.checkpoint(lambda a: a * 2, x)


def test_helpers_match_torch():
    for lib, ck in LIBS:
        a = lib.ones(2, requires_grad=True)
        detached = ck.detach_variable((a, 3))
        assert detached[1] == 3 and detached[0].requires_grad and detached[0] is not a
        assert detached[0].grad_fn is None
        with pytest.raises(RuntimeError, match="Only tuple of tensors is supported. Got "
                           "Unsupported input type: list"):
            ck.detach_variable([a])
        assert ck.get_device_states(a, lib.zeros(1)) == ([], [])
        assert ck.DefaultDeviceType.get_device_type() == "cpu"
        ck.DefaultDeviceType.set_device_type("cpu")
        ck.set_device_states([], [])
        forward, recompute = ck.noop_context_fn()
        with forward, recompute:
            pass
        with ck.set_checkpoint_debug_enabled(True):
            assert ck._checkpoint_debug_enabled is True
        assert ck._checkpoint_debug_enabled is None
        assert [p.name for p in ck.CheckpointPolicy] == [
            "MUST_SAVE", "PREFER_SAVE", "MUST_RECOMPUTE", "PREFER_RECOMPUTE", "MUST_CPU_OFFLOAD",
            "PREFER_CPU_OFFLOAD"]
        ctx = ck.SelectiveCheckpointContext(is_recompute=False, op_output=1)
        assert ctx.op_output == 1 and not ctx.is_recompute
        assert lib.ops.aten.detach.default in ck.SAC_IGNORED_OPS


def test_checkpoint_sequential_matches_torch():
    torch.manual_seed(0)
    t_seq = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3),
                                torch.nn.ReLU(), torch.nn.Linear(3, 2))
    e_seq = ember.nn.Sequential(ember.nn.Linear(4, 5), ember.nn.Tanh(), ember.nn.Linear(5, 3),
                                ember.nn.ReLU(), ember.nn.Linear(3, 2))
    e_seq.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_seq.state_dict().items()})
    t_x = torch.tensor(X, dtype=torch.float32, requires_grad=True)
    e_x = ember.tensor(X.astype(np.float32), requires_grad=True)
    for lib, seq, x in ((torch, t_seq, t_x), (ember, e_seq, e_x)):
        ck = tc if lib is torch else ec
        ck.checkpoint_sequential(seq, 2, x, use_reentrant=False).sum().backward()
    _close(e_x.grad, t_x.grad)
    _close(e_seq[0].weight.grad, t_seq[0].weight.grad)


# -- selective activation checkpointing --------------------------------------------------

_OPS = {}


def _counted_mm(lib):
    """``sactest::cmm``: a matmul custom op whose kernel counts its runs (the recompute
    count is what SAC changes)."""
    if lib in _OPS:
        return _OPS[lib]
    counter = [0]

    def cmm(a, b):
        counter[0] += 1
        return a @ b

    # real annotations (this module's are strings, which the schema inference cannot resolve)
    cmm.__annotations__ = {"a": lib.Tensor, "b": lib.Tensor, "return": lib.Tensor}
    cmm = lib.library.custom_op("sactest::cmm", mutates_args=())(cmm)

    def setup(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad @ b.t(), a.t() @ grad

    cmm.register_autograd(backward, setup_context=setup)
    _OPS[lib] = (lib.ops.sactest.cmm.default, counter)
    return _OPS[lib]


def _sac_run(lib, ck, chooser, early_stop=True):
    op, counter = _counted_mm(lib)
    counter[0] = 0
    seen = []

    def policy(ctx, func, *args, **kwargs):
        seen.append(str(func))
        return chooser(ck, func, op)

    def fn(x, w):
        h = op(x, w).sin()
        return op(h, w).cos() * x.sum()

    x, w = _inputs(lib)
    context_fn = functools.partial(ck.create_selective_checkpoint_contexts, policy)
    with ck.set_checkpoint_early_stop(early_stop):
        out = ck.checkpoint(fn, x, w, use_reentrant=False, context_fn=context_fn)
    forward_runs = counter[0]
    out.sum().backward()
    return out, x.grad, w.grad, (forward_runs, counter[0]), seen


CHOOSERS = {
    "save_cmm": lambda ck, func, op: (ck.CheckpointPolicy.MUST_SAVE if func == op
                                      else ck.CheckpointPolicy.PREFER_RECOMPUTE),
    "recompute_all": lambda ck, func, op: ck.CheckpointPolicy.PREFER_RECOMPUTE,
    "save_all": lambda ck, func, op: ck.CheckpointPolicy.PREFER_SAVE,
    "bool_policy": lambda ck, func, op: func == op,
}


@pytest.mark.parametrize("early_stop", [True, False])
@pytest.mark.parametrize("name", list(CHOOSERS))
def test_sac_recomputes_only_what_the_policy_says(name, early_stop):
    e = _sac_run(ember, ec, CHOOSERS[name], early_stop)
    t = _sac_run(torch, tc, CHOOSERS[name], early_stop)
    for a, b in zip(e[:3], t[:3]):
        _close(a, b)
    assert e[3] == t[3]  # kernel runs after forward and after backward
    assert e[4] == t[4]  # the ops the policy saw, by ATen name


def test_sac_op_list_and_aten_names():
    for lib, ck in LIBS:
        x, w = _inputs(lib)
        context_fn = functools.partial(ck.create_selective_checkpoint_contexts,
                                       [lib.ops.aten.mm.default])
        out = ck.checkpoint(lambda a, b: (a @ b).sigmoid() @ b, x, w, use_reentrant=False,
                            context_fn=context_fn)
        out.sum().backward()
        if lib is ember:
            e_grads = (x.grad, w.grad)
        else:
            t_grads = (x.grad, w.grad)
    for a, b in zip(e_grads, t_grads):
        _close(a, b)
    for lib, ck in LIBS:
        with pytest.raises(ValueError, match="Please update the OpOverloadPacket"):
            ck.create_selective_checkpoint_contexts([lib.ops.aten.mm])
        with pytest.raises(TypeError, match="must be either a function or a list of ops"):
            ck.create_selective_checkpoint_contexts(3)


def test_sac_second_backward_and_mutated_cache_raise():
    for lib, ck in LIBS:
        op, _ = _counted_mm(lib)
        x, w = _inputs(lib)
        context_fn = functools.partial(ck.create_selective_checkpoint_contexts, [op])
        out = ck.checkpoint(lambda a, b: op(a, b).sin(), x, w, use_reentrant=False,
                            context_fn=context_fn)
        out.sum().backward(retain_graph=True)
        with pytest.raises(RuntimeError, match="Trying to backward an extra time"):
            out.sum().backward()

        def mutating(a, b):
            y = op(a, b)
            z = y.sin()
            y.mul_(2)
            return z

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = ck.checkpoint(mutating, x, w, use_reentrant=False, context_fn=context_fn)
        with pytest.raises(RuntimeError, match="cached during selective activation checkpoint "
                           "has been mutated"):
            out.sum().backward()


def test_debug_mode_lists_the_ops_of_both_runs():
    for lib, ck in LIBS:
        state = {"n": 0}

        def fn(x):
            state["n"] += 1
            return (x[: 4 - state["n"]].sin() * 2).sum()

        out = ck.checkpoint(fn, lib.ones(4, requires_grad=True), use_reentrant=False, debug=True)
        with pytest.raises(ck.CheckpointError) as info:
            out.backward()
        text = str(info.value)
        assert "Operations executed during the original forward" in text
        assert "Operations executed during recomputation" in text
        assert "aten.sin.default" in text and "aten.mul.Tensor" in text


def test_policy_sees_the_aten_overloads_torch_dispatches():
    def body(L, x):
        y = x[1:3].t().softmax(0) * 2 + 1
        return (1 - y.pow(2)).sum(0).mean().relu()

    seen = {}
    for lib, ck in LIBS:
        names = []

        def policy(ctx, op, *args, **kwargs):
            names.append(str(op))
            return ck.CheckpointPolicy.PREFER_RECOMPUTE

        x = lib.ones(4, 3, requires_grad=True)
        ck.checkpoint(lambda a: body(lib, a), x, use_reentrant=False,
                      context_fn=functools.partial(ck.create_selective_checkpoint_contexts,
                                                   policy)).backward()
        seen[lib] = names
    assert seen[ember] == [n for n in seen[torch] if n != "aten.detach.default"]


def test_policy_sees_the_product_inside_linear_and_matmul():
    """ember's Linear and Matmul are one op each; a policy keyed on mm/addmm/bmm (PyTorch's
    products between the views) must still see them."""
    def body(lib, x):
        F = lib.nn.functional
        w, b = lib.ones(5, 4) * 0.1, lib.ones(5)
        y = F.linear(x, w) + F.linear(x, w, b) + F.linear(x[0], w)  # mm, addmm, mm
        z = y @ lib.ones(5, 2)  # folded into one mm
        q = z.reshape(2, 1, 3, 2)
        return (q @ q.transpose(-1, -2)).sum() + F.linear(x[0], w, b).sum()  # bmm, addmm

    products = {"aten.mm.default", "aten.addmm.default", "aten.bmm.default"}
    seen = {}
    for lib, ck in LIBS:
        names = []

        def policy(ctx, op, *args, **kwargs):
            if str(op) in products:
                names.append(str(op))
                return ck.CheckpointPolicy.MUST_SAVE
            return ck.CheckpointPolicy.PREFER_RECOMPUTE

        x = lib.ones(2, 3, 4, requires_grad=True)
        ck.checkpoint(lambda a: body(lib, a), x, use_reentrant=False,
                      context_fn=functools.partial(ck.create_selective_checkpoint_contexts,
                                                   policy)).backward()
        seen[lib] = (names, x.grad.numpy().copy())
    assert seen[ember][0] == seen[torch][0]
    np.testing.assert_allclose(seen[ember][1], seen[torch][1], rtol=1e-5)


def test_activations_are_freed_after_forward():
    """The point of checkpointing: an intermediate of the function is not kept by the graph
    (its array dies after forward), while a plain call keeps it for backward."""
    import gc
    import weakref

    arrays = []

    def fn(x):
        h = x.sin()
        arrays.append(weakref.ref(h._data))
        return h.cos().sum()

    x = ember.randn(100, requires_grad=True)
    kept = fn(x)
    checkpointed = ec.checkpoint(fn, x, use_reentrant=False)
    gc.collect()
    assert arrays[0]() is not None and arrays[1]() is None
    checkpointed.backward()
    grad = x.grad.clone()
    x.grad = None
    kept.backward()
    assert ember.allclose(grad, x.grad)


def test_graph_exec_group_recomputes_once_for_several_backwards():
    counts = {}
    for lib, ck in LIBS:
        for grouped in (False, True):
            calls = [0]

            def fn(x):
                calls[0] += 1
                return x.sin() * 2, x.cos() * 3

            x = lib.ones(3, requires_grad=True)
            a, b = ck.checkpoint(fn, x, use_reentrant=False)
            with ck.GraphExecGroup() if grouped else contextlib.nullcontext():
                a.sum().backward()
                b.sum().backward()
            counts[(lib, grouped)] = (calls[0], x.grad.tolist())
        with ck.GraphExecGroup():
            with pytest.raises(RuntimeError, match="GraphExecGroup contexts cannot be nested"):
                with ck.GraphExecGroup():
                    pass
    assert counts[(ember, False)][0] == counts[(torch, False)][0] == 3
    assert counts[(ember, True)][0] == counts[(torch, True)][0] == 2
    np.testing.assert_allclose(counts[(ember, True)][1], counts[(torch, True)][1], rtol=1.3e-6)
