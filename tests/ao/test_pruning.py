"""ember.ao.pruning against torch.ao.pruning: same masks, state_dict keys, schedules."""

import copy
import warnings

import numpy as np
import pytest
import torch
import torch.ao.pruning as tp

import ember
import ember.ao.pruning as ep


def _models(seed=0, shapes=((6, 10), (5, 6))):
    """A torch Sequential of Linears and the same model in ember (weights copied)."""
    gen = np.random.default_rng(seed)
    t_layers, e_layers = [], []
    for out_f, in_f in shapes:
        w = gen.standard_normal((in_f, out_f)).T.astype(np.float32)
        b = gen.standard_normal(out_f).astype(np.float32)
        tl, el = torch.nn.Linear(in_f, out_f), ember.nn.Linear(in_f, out_f)
        with torch.no_grad():
            tl.weight.copy_(torch.from_numpy(w.copy()))
            tl.bias.copy_(torch.from_numpy(b.copy()))
        el.weight.data = ember.tensor(w.copy())
        el.bias.data = ember.tensor(b.copy())
        t_layers.append(tl)
        e_layers.append(el)
    return torch.nn.Sequential(*t_layers), ember.nn.Sequential(*e_layers)


def _np(t):
    return np.asarray(t.detach().numpy()) if hasattr(t, "detach") else np.asarray(t)


def _assert_masks_equal(t_sp, e_sp):
    t_state, e_state = t_sp.state_dict()["state"], e_sp.state_dict()["state"]
    assert list(t_state) == list(e_state)
    for fqn in t_state:
        tm, em = t_state[fqn]["mask"], e_state[fqn]["mask"]
        assert str(tm.dtype).split(".")[-1] == str(em.dtype).split(".")[-1]
        np.testing.assert_array_equal(_np(em), _np(tm))


WNS_CASES = [
    dict(sparsity_level=0.5, sparse_block_shape=(1, 4)),
    dict(sparsity_level=0.3, sparse_block_shape=(2, 2)),
    dict(sparsity_level=0.7, sparse_block_shape=(1, 1), norm=1),
    dict(sparsity_level=0.99, sparse_block_shape=(3, 2)),
    dict(sparsity_level=1.0, sparse_block_shape=(1, 4)),
    dict(sparsity_level=0.0, sparse_block_shape=(1, 4)),
    # partial patterns only on block-aligned shapes: PyTorch fails on the others
    dict(sparsity_level=0.5, sparse_block_shape=(1, 2), zeros_per_block=1),
    dict(sparsity_level=0.4, sparse_block_shape=(1, 2), zeros_per_block=0),
]


@pytest.mark.parametrize("kwargs", WNS_CASES)
def test_weight_norm_sparsifier_masks_match(kwargs):
    t_model, e_model = _models()
    t_sp, e_sp = tp.WeightNormSparsifier(**kwargs), ep.WeightNormSparsifier(**kwargs)
    config = [{"tensor_fqn": "0.weight"}, {"tensor_fqn": "1.weight"}]
    t_sp.prepare(t_model, copy.deepcopy(config))
    e_sp.prepare(e_model, copy.deepcopy(config))
    _assert_masks_equal(t_sp, e_sp)  # all ones before the first step
    for _ in range(2):  # the second step sees already-masked weights
        t_sp.step()
        e_sp.step()
        _assert_masks_equal(t_sp, e_sp)
    x = np.random.default_rng(1).standard_normal((3, 10)).astype(np.float32)
    torch.testing.assert_close(
        torch.from_numpy(_np(e_model(ember.tensor(x)))), t_model(torch.from_numpy(x)).detach()
    )


def test_partial_block_pattern_on_unaligned_shape_is_cropped():
    """Where PyTorch's broadcast fails, ember crops the padded block mask: half of the six
    blocks (the edge blocks hold 2 values) get 2 zeros, and the mask is bool as PyTorch's."""
    _, e_model = _models(shapes=((3, 7),))
    e_sp = ep.WeightNormSparsifier(0.5, sparse_block_shape=(1, 5), zeros_per_block=2)
    e_sp.prepare(e_model, None)
    e_sp.step()
    mask = _np(e_sp.state_dict()["state"]["0.weight"]["mask"])
    assert mask.dtype == np.bool_ and mask.shape == (3, 7)
    zeros = np.stack([(~mask[:, :5]).sum(axis=1), (~mask[:, 5:]).sum(axis=1)])
    assert set(zeros.ravel().tolist()) == {0, 2} and (zeros == 2).sum() == 3


def test_prepare_none_config_state_dict_keys_and_squash():
    t_model, e_model = _models(seed=3)
    t_sp, e_sp = tp.WeightNormSparsifier(0.5), ep.WeightNormSparsifier(0.5)
    t_sp.prepare(t_model, None)
    e_sp.prepare(e_model, None)
    assert sorted(e_model.state_dict()) == sorted(t_model.state_dict())
    assert "0.parametrizations.weight.original" in e_model.state_dict()
    t_groups, e_groups = t_sp.state_dict()["groups"], e_sp.state_dict()["groups"]
    assert sorted(g["tensor_fqn"] for g in e_groups) == sorted(g["tensor_fqn"] for g in t_groups)
    assert set(e_groups[0]) == set(t_groups[0])
    assert isinstance(e_model[0].parametrizations.weight[0], ep.FakeSparsity)
    t_sp.step()
    e_sp.step()
    t_sp.squash_mask(params_to_keep=("sparsity_level",),
                     params_to_keep_per_layer={"1": ("sparse_block_shape",)})
    e_sp.squash_mask(params_to_keep=("sparsity_level",),
                     params_to_keep_per_layer={"1": ("sparse_block_shape",)})
    assert sorted(e_model.state_dict()) == sorted(t_model.state_dict())
    for key, value in t_model.state_dict().items():
        np.testing.assert_array_equal(_np(e_model.state_dict()[key]), _np(value))
    assert e_model[0].sparse_params == t_model[0].sparse_params
    assert e_model[1].sparse_params == t_model[1].sparse_params


def test_load_state_dict_restores_masks_onto_fresh_model():
    _, e_model = _models(seed=4)
    e_sp = ep.WeightNormSparsifier(0.5)
    e_sp.prepare(e_model, [{"tensor_fqn": "0.weight"}])
    e_sp.step()
    saved = copy.deepcopy(e_sp.state_dict())
    expected = _np(saved["state"]["0.weight"]["mask"]).copy()
    _, e_fresh = _models(seed=4)
    loader = ep.WeightNormSparsifier(0.5)
    loader.model = e_fresh
    loader.load_state_dict(saved)
    mask = e_fresh[0].parametrizations.weight[0].mask
    np.testing.assert_array_equal(_np(mask), expected)
    assert expected.min() == 0  # the step really masked something
    assert loader.groups[0]["module"] is e_fresh[0]
    assert loader.groups[0]["tensor_name"] == "weight"


@pytest.mark.parametrize("nearliness", [0, 1, 3, 5])
def test_nearly_diagonal_masks_match(nearliness):
    t_model, e_model = _models(shapes=((6, 6), (4, 7)))
    t_sp, e_sp = tp.NearlyDiagonalSparsifier(nearliness), ep.NearlyDiagonalSparsifier(nearliness)
    t_sp.prepare(t_model, None)
    e_sp.prepare(e_model, None)
    t_sp.step()
    e_sp.step()
    _assert_masks_equal(t_sp, e_sp)


@pytest.mark.parametrize("nearliness, shapes", [(2, ((6, 6),)), (9, ((4, 4),))])
def test_nearly_diagonal_errors(nearliness, shapes):
    t_model, e_model = _models(shapes=shapes)
    t_sp, e_sp = tp.NearlyDiagonalSparsifier(nearliness), ep.NearlyDiagonalSparsifier(nearliness)
    t_sp.prepare(t_model, None)
    e_sp.prepare(e_model, None)
    with pytest.raises(ValueError) as t_err:
        t_sp.step()
    with pytest.raises(ValueError, match=str(t_err.value)):
        e_sp.step()


def test_config_errors_match():
    t_model, e_model = _models()
    for bad in ([e_model[0]], [{"sparsity_level": 0.1}]):
        with pytest.raises(AssertionError):
            tp.WeightNormSparsifier().prepare(t_model, [t_model[0]] if bad[0] is e_model[0]
                                              else bad)
        with pytest.raises(AssertionError):
            ep.WeightNormSparsifier().prepare(e_model, bad)
    with pytest.raises(NotImplementedError, match="L-3 is not yet implemented"):
        ep.WeightNormSparsifier(norm=3)
    e_sp = ep.WeightNormSparsifier(zeros_per_block=5)
    e_sp.prepare(e_model, None)
    with pytest.raises(ValueError, match="cannot be more than"):
        e_sp.step()


def _scheduled_levels(make_sched, steps=6):
    t_model, e_model = _models()
    levels = []
    for lib, model in ((tp, t_model), (ep, e_model)):
        sparsifier = lib.WeightNormSparsifier(sparsity_level=0.8)
        sparsifier.prepare(model, [{"tensor_fqn": "0.weight"},
                                   {"tensor_fqn": "1.weight", "sparsity_level": 0.4}])
        scheduler = make_sched(lib, sparsifier)
        seen = [scheduler.get_last_sl()]
        for _ in range(steps):
            sparsifier.step()
            scheduler.step()
            seen.append(scheduler.get_last_sl())
        levels.append((seen, sparsifier))
    return levels


@pytest.mark.parametrize("make_sched", [
    lambda lib, sp: lib.LambdaSL(sp, lambda epoch: min(1.0, epoch / 4)),
    lambda lib, sp: lib.LambdaSL(sp, [lambda e: 0.5 ** e, lambda e: e / 10]),
    lambda lib, sp: lib.CubicSL(sp, init_sl=0.1, init_t=1, delta_t=2, total_t=3),
    lambda lib, sp: lib.CubicSL(sp, init_t=2, delta_t=1, total_t=2, initially_zero=True),
])
def test_schedulers_match(make_sched):
    (t_levels, t_sp), (e_levels, e_sp) = _scheduled_levels(make_sched)
    assert e_levels == t_levels  # same arithmetic in the same order: exact
    _assert_masks_equal(t_sp, e_sp)


def test_scheduler_warnings_and_errors():
    _, e_model = _models()
    sparsifier = ep.WeightNormSparsifier()
    sparsifier.prepare(e_model, None)
    scheduler = ep.LambdaSL(sparsifier, lambda epoch: 1.0)
    with pytest.warns(UserWarning, match="before `sparsifier.step\\(\\)`"):
        scheduler.step()
    with pytest.warns(UserWarning, match="get_last_sl"):
        scheduler.get_sl()
    assert "sparsifier" not in scheduler.state_dict()
    with pytest.raises(TypeError, match="is not an instance of torch.ao.pruning.BaseSparsifier"):
        ep.BaseScheduler(object())
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        ep.LambdaSL(sparsifier, [lambda e: 1.0])
    with pytest.raises(ValueError, match="Expected variable of length 2, but got 3"):
        ep.CubicSL(sparsifier, init_sl=[0.0, 0.1, 0.2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sparsifier.step()


def test_convert_swaps_sparsified_modules():
    class DenseToIdentity(ember.nn.Module):
        @classmethod
        def from_dense(cls, mod):
            new = cls()
            new.weight = mod.weight.detach()
            return new

        def forward(self, x):
            return x

    _, e_model = _models()
    e_sp = ep.WeightNormSparsifier()
    e_sp.prepare(e_model, [{"tensor_fqn": "0.weight"}])
    converted = e_sp.convert(e_model, mapping={ember.nn.Linear: DenseToIdentity})
    assert isinstance(converted[0], DenseToIdentity)
    assert isinstance(converted[1], ember.nn.Linear)
    assert isinstance(e_model[0], ember.nn.Linear)  # not in place
    with pytest.raises(NotImplementedError):
        e_sp.convert(e_model)


def test_fqn_helpers():
    _, e_model = _models()
    assert ep.module_to_fqn(e_model, e_model[1]) == "1"
    assert ep.fqn_to_module(e_model, "1") is e_model[1]
    assert ep.fqn_to_module(e_model, "7") is None
    info = ep.get_arg_info_from_tensor_fqn(e_model, "1.weight")
    assert info["module_fqn"] == "1" and info["tensor_name"] == "weight"


def _nested(lib):
    """Linears at two depths, a submodule listed before a direct Linear: the config order
    of prepare(model, None) depends on the walk."""
    nn = lib.nn
    lib.manual_seed(0)
    return nn.Sequential(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 3)),
                         nn.Linear(3, 3), nn.Sequential(nn.Sequential(nn.Linear(3, 2))))


def test_repr_config_order_and_pickled_state_match_torch():
    t_sp, e_sp = tp.WeightNormSparsifier(0.5), ep.WeightNormSparsifier(0.5)
    assert repr(e_sp) == repr(t_sp)  # no groups
    t_sp.prepare(_nested(torch), None)
    e_sp.prepare(_nested(ember), None)
    assert [g["tensor_fqn"] for g in e_sp.groups] == [g["tensor_fqn"] for g in t_sp.groups]
    assert e_sp.config == t_sp.config
    assert repr(e_sp) == repr(t_sp)  # groups separated by a blank line
    assert list(e_sp.__getstate__()) == list(t_sp.__getstate__())
    t_model, e_model = _models()
    config = [{"tensor_fqn": "1.weight"}, {"tensor_fqn": "0.weight", "sparsity_level": 0.3}]
    t_sp, e_sp = tp.WeightNormSparsifier(0.5), ep.WeightNormSparsifier(0.5)
    t_sp.prepare(t_model, config)
    e_sp.prepare(e_model, config)
    assert repr(e_sp) == repr(t_sp)


def test_disabled_mask_update_and_config_agreement_match_torch():
    t_model, e_model = _models(seed=5)
    t_sp, e_sp = tp.WeightNormSparsifier(0.5), ep.WeightNormSparsifier(0.5)
    t_sp.prepare(t_model, None)
    e_sp.prepare(e_model, None)
    t_sp.enable_mask_update = e_sp.enable_mask_update = False
    t_sp.step()
    e_sp.step()
    _assert_masks_equal(t_sp, e_sp)
    assert _np(e_sp.state["0.weight"]["mask"]).all()  # the step did nothing
    # explicit keys that agree with tensor_fqn are accepted
    agreeing = [{"tensor_fqn": "1.weight", "module_fqn": "1", "tensor_name": "weight"}]
    for model, sp_mod in zip(_models(), (tp, ep)):
        sp = sp_mod.WeightNormSparsifier()
        sp.prepare(model, copy.deepcopy(agreeing))
        assert sp.groups[0]["tensor_fqn"] == "1.weight"
        assert sp.groups[0]["module"] is model[1]
    for bad in ({"tensor_fqn": "1.weight", "tensor_name": "bias"},
                {"tensor_fqn": "1.weight", "module_fqn": "0"}):
        key = next(k for k in bad if k != "tensor_fqn")
        t_model, e_model = _models()
        with pytest.raises(AssertionError) as t_err:
            tp.WeightNormSparsifier().prepare(t_model, [bad])
        with pytest.raises(AssertionError) as e_err:
            ep.WeightNormSparsifier().prepare(e_model, [bad])
        assert str(e_err.value) == str(t_err.value)
        assert f"`{key}`" in str(e_err.value)
