"""functional_call and stack_module_state against torch.func, and the torch.func tutorial
patterns built on them: per-sample gradients and model ensembling."""

import copy

import numpy as np
import oracle
import pytest
import torch
from oracle import as_numpy, assert_same, randn

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


def make_mlp(lib, seed):
    """A small MLP with the same weights in both libraries (torch initialises, ember
    copies)."""
    torch.manual_seed(seed)
    t_model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    if lib is torch:
        return t_model
    e_model = ember.nn.Sequential(ember.nn.Linear(3, 5), ember.nn.Tanh(), ember.nn.Linear(5, 2))
    e_model.load_state_dict({k: ember.tensor(as_numpy(v)) for k, v in t_model.state_dict().items()})
    return e_model


class Tied:
    """Built per library: an embedding and a decoder sharing one weight."""

    @staticmethod
    def make(lib):
        class TiedModel(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.encoder = lib.nn.Linear(3, 3, bias=False)
                self.decoder = lib.nn.Linear(3, 3, bias=False)
                self.decoder.weight = self.encoder.weight

            def forward(self, x):
                return self.decoder(self.encoder(x))

        model = TiedModel()
        with lib.no_grad():
            model.encoder.weight.copy_(lib.tensor(W33))
        return model


X = randn(4, 3, dtype=np.float32)
TARGET = np.array([0, 1, 1, 0])
W33 = randn(3, 3, dtype=np.float32)
NEW_W = randn(2, 5, dtype=np.float32)


def both(fn):
    return fn(ember), fn(torch)


def test_functional_call_replaces_and_restores():
    def run(lib):
        model = make_mlp(lib, 0)
        before = model[2].weight.detach().clone()
        out = lib.func.functional_call(model, {"2.weight": lib.tensor(NEW_W)}, (lib.tensor(X),))
        assert bool((model[2].weight == before).all())
        assert isinstance(model[2].weight, lib.nn.Parameter)
        return out, model(lib.tensor(X))

    e, t = both(run)
    assert_same(e, t)


def test_functional_call_args_forms_and_kwargs():
    def run(lib):
        model = make_mlp(lib, 1)
        params = {k: v.detach() * 2 for k, v in model.named_parameters()}
        x = lib.tensor(X)
        single = lib.func.functional_call(model, params, x)  # a bare tensor is one argument
        as_list = lib.func.functional_call(model, [params, {}], (x,))
        as_kwargs = lib.func.functional_call(model, (params,), kwargs={"input": x})
        return single, as_list, as_kwargs

    e, t = both(run)
    assert_same(e, t)


def test_functional_call_gradients_reach_given_tensors():
    def run(lib):
        model = make_mlp(lib, 2)
        params = {k: v.detach().clone().requires_grad_() for k, v in model.named_parameters()}
        out = lib.func.functional_call(model, params, (lib.tensor(X),))
        (out ** 2).sum().backward()
        assert all(p.grad is None for p in model.parameters())
        return tuple(params[k].grad for k in params)

    e, t = both(run)
    assert_same(e, t)


def test_functional_call_buffers_updated_in_place():
    def run(lib):
        model = lib.nn.BatchNorm1d(3)
        mean = lib.zeros(3)
        lib.func.functional_call(model, {"running_mean": mean}, (lib.tensor(X),))
        return mean, model.running_mean

    e, t = both(run)
    assert_same(e, t)


def test_functional_call_tie_weights():
    def run(lib, tie):
        model = Tied.make(lib)
        new = lib.tensor(W33) * 3
        return lib.func.functional_call(model, {"encoder.weight": new}, (lib.tensor(X),),
                                        tie_weights=tie)

    assert_same(run(ember, True), run(torch, True))
    assert_same(run(ember, False), run(torch, False))


@pytest.mark.parametrize("case", ["multiple_tied", "repeated", "not_dict", "strict_missing",
                                  "strict_unexpected", "not_tensor"])
def test_functional_call_errors(case):
    def run(lib):
        x = lib.tensor(X)
        if case == "multiple_tied":
            model = Tied.make(lib)
            return lib.func.functional_call(
                model, {"encoder.weight": lib.ones(3, 3), "decoder.weight": lib.zeros(3, 3)}, x)
        model = make_mlp(lib, 0)
        params = dict(model.named_parameters())
        if case == "repeated":
            return lib.func.functional_call(model, ({"0.bias": lib.ones(5)},
                                                    {"0.bias": lib.ones(5)}), x)
        if case == "not_dict":
            return lib.func.functional_call(model, 3, x)
        if case == "strict_missing":
            del params["0.bias"]
            return lib.func.functional_call(model, params, x, strict=True)
        if case == "strict_unexpected":
            params["extra"] = lib.ones(1)
            return lib.func.functional_call(model, params, x, strict=True)
        return lib.func.functional_call(model, {"0.bias": 3.0}, x)

    with pytest.raises(Exception) as t_info:
        run(torch)
    expected = type(t_info.value)
    with pytest.raises(expected) as e_info:
        run(ember)
    e_message = str(e_info.value).replace("ember", "torch")
    assert e_message.split("(")[0] == str(t_info.value).split("(")[0] or case == "not_tensor"


def test_per_sample_gradients_tutorial():
    """torch.func's per-sample-gradients tutorial: vmap(grad(loss)) over functional_call."""
    def run(lib):
        model = make_mlp(lib, 3)
        params = {k: v.detach() for k, v in model.named_parameters()}
        buffers = {k: v.detach() for k, v in model.named_buffers()}

        def compute_loss(params, buffers, sample, target):
            predictions = lib.func.functional_call(model, (params, buffers),
                                                   (sample.unsqueeze(0),))
            return lib.nn.functional.cross_entropy(predictions, target.unsqueeze(0))

        per_sample = lib.func.vmap(lib.func.grad(compute_loss), in_dims=(None, None, 0, 0))
        grads = per_sample(params, buffers, lib.tensor(X), lib.tensor(TARGET))
        # the same numbers as one backward per sample
        for i in range(X.shape[0]):
            model.zero_grad()
            out = model(lib.tensor(X[i:i + 1]))
            lib.nn.functional.cross_entropy(out, lib.tensor(TARGET[i:i + 1])).backward()
            for name, p in model.named_parameters():
                np.testing.assert_allclose(as_numpy(grads[name][i]),
                                           as_numpy(p.grad), rtol=1e-5,
                                           atol=1e-6)
        return tuple(grads[k] for k in params)

    e, t = both(run)
    assert_same(e, t)
    assert tuple(e[0].shape) == (4, 5, 3)


def test_model_ensembling_tutorial():
    """torch.func's ensembling tutorial: stack_module_state + vmap over functional_call."""
    minibatches = randn(3, 4, 3, dtype=np.float32)

    def run(lib):
        models = [make_mlp(lib, seed) for seed in (10, 11, 12)]
        params, buffers = lib.func.stack_module_state(models)
        base = copy.deepcopy(models[0])

        def fmodel(params, buffers, x):
            return lib.func.functional_call(base, (params, buffers), (x,))

        same_batch = lib.func.vmap(fmodel, in_dims=(0, 0, None))(params, buffers,
                                                                 lib.tensor(X))
        own_batch = lib.func.vmap(fmodel)(params, buffers, lib.tensor(minibatches))
        for i, model in enumerate(models):
            np.testing.assert_allclose(as_numpy(own_batch[i].detach()),
                                       as_numpy(model(lib.tensor(minibatches[i]))),
                                       rtol=1e-5, atol=1e-6)
        (same_batch.sum() + (own_batch ** 2).sum()).backward()
        assert all(p.requires_grad and p.is_leaf for p in params.values())
        return same_batch, own_batch, tuple(p.grad for p in params.values())

    e, t = both(run)
    assert_same(e, t)


def test_stack_module_state_shapes_and_buffers():
    def run(lib):
        models = [lib.nn.BatchNorm1d(3) for _ in range(2)]
        params, buffers = lib.func.stack_module_state(models)
        return (tuple(params), tuple(buffers), tuple(v.shape for v in buffers.values()),
                tuple(v.requires_grad for v in buffers.values()))

    e, t = both(run)
    assert e[0] == t[0] and e[1] == t[1]
    assert [tuple(s) for s in e[2]] == [tuple(s) for s in t[2]]
    assert e[3] == t[3]


@pytest.mark.parametrize("case", ["empty", "mode", "class", "requires_grad"])
def test_stack_module_state_errors(case):
    def run(lib):
        if case == "empty":
            return lib.func.stack_module_state([])
        a, b = lib.nn.Linear(2, 2), lib.nn.Linear(2, 2)
        if case == "mode":
            b.eval()
        elif case == "class":
            b = lib.nn.Sequential(lib.nn.Linear(2, 2))
        else:
            b.bias.requires_grad_(False)
        return lib.func.stack_module_state([a, b])

    with pytest.raises(RuntimeError) as t_info:
        run(torch)
    with pytest.raises(RuntimeError) as e_info:
        run(ember)
    assert str(e_info.value) == str(t_info.value)


def test_replace_all_batch_norm_modules():
    def run(lib):
        model = lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.BatchNorm1d(3))
        assert lib.func.replace_all_batch_norm_modules_(model) is model
        bn = model[1]
        out = lib.func.vmap(model, in_dims=1)(lib.tensor(X).unsqueeze(1).expand(4, 2, 3))
        return (bn.running_mean, bn.running_var, bn.num_batches_tracked,
                bn.track_running_stats, tuple(dict(model.named_buffers())), out.shape)

    e, t = both(run)
    assert e[:5] == t[:5]
    assert tuple(e[5]) == tuple(t[5])


def test_debug_unwrap_is_identity():
    x = ember.ones(2)
    assert ember.func.debug_unwrap(x) is x


def test_jacobians_and_hessians_over_parameter_dicts():
    """vmap(jacrev) of a model over its parameter dict, and hessian with respect to the
    parameters (nested dicts of blocks) and to the input, through functional_call."""
    def run(lib):
        model = make_mlp(lib, 4)
        params = {k: v.detach() for k, v in model.named_parameters()}
        x = lib.tensor(X)

        def loss(p, sample):
            return lib.func.functional_call(model, p, (sample,)).square().sum()

        jac = lib.func.vmap(lib.func.jacrev(lambda p, s: lib.func.functional_call(model, p, (s,))),
                            in_dims=(None, 0))(params, x)
        hess = lib.func.hessian(loss)(params, x[0])
        hess_x = lib.func.vmap(lib.func.hessian(loss, argnums=1), in_dims=(None, 0))(params, x)
        names = list(params)
        return (tuple(jac[k] for k in names),
                tuple(hess[a][b] for a in names for b in names), hess_x)

    e, t = both(run)
    # float32 second derivatives summed in different orders: loosened atol
    assert_same(e, t, rtol=1e-4, atol=1e-5)
