"""ember.ao.pruning._experimental.data_sparsifier against torch's."""

import copy

import numpy as np
import pytest
import torch
from torch.ao.pruning._experimental import data_sparsifier as tds

import ember
from ember.ao.pruning._experimental import data_sparsifier as eds

pytestmark = pytest.mark.filterwarnings("ignore:Replacing existing data")


def _data(seed, shape):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _np(t):
    return t.to_dense().numpy() if hasattr(t, "to_dense") else np.asarray(t)


CASES = [
    dict(sparsity_level=0.5, sparse_block_shape=(1, 4)),
    dict(sparsity_level=0.3, sparse_block_shape=(2, 2), norm="L2"),
    dict(sparsity_level=0.6, sparse_block_shape=(3, 2), zeros_per_block=2),
    dict(sparsity_level=1.0, sparse_block_shape=(1, 4)),
    dict(sparsity_level=0.0, sparse_block_shape=(1, 3), zeros_per_block=1),
    dict(sparsity_level=0.4, sparse_block_shape=(2, 3), zeros_per_block=0),
]


@pytest.mark.parametrize("kwargs", CASES)
def test_data_norm_masks_match_torch(kwargs):
    shapes = {"a": (6, 8), "b": (5, 7), "vec": (9,)}
    t_sp, e_sp = tds.DataNormSparsifier(**kwargs), eds.DataNormSparsifier(**kwargs)
    for i, (name, shape) in enumerate(shapes.items()):
        x = _data(i, shape)
        t_sp.add_data(name, torch.tensor(x))
        e_sp.add_data(name, ember.tensor(x))
    for _ in range(2):
        t_sp.step()
        e_sp.step()
        for name in ("a", "b"):
            t_mask, e_mask = t_sp.get_mask(name), e_sp.get_mask(name)
            assert e_mask.dtype == ember.int8 and t_mask.dtype == torch.int8
            np.testing.assert_array_equal(e_mask.numpy(), t_mask.numpy())
            np.testing.assert_array_equal(
                e_sp.get_data(name, return_original=False).detach().numpy(),
                t_sp.get_data(name, return_original=False).detach().numpy())
        # a vector becomes a one-row mask, as torch's
        np.testing.assert_array_equal(e_sp.get_mask("vec").numpy(),
                                      t_sp.get_mask("vec").numpy())


def test_embedding_state_dict_and_squash_match_torch():
    weights = _data(3, (10, 8))
    t_emb, e_emb = torch.nn.Embedding(10, 8), ember.nn.Embedding(10, 8)
    with torch.no_grad():
        t_emb.weight.copy_(torch.tensor(weights))
    e_emb.weight.data = ember.tensor(weights)
    t_sp = tds.DataNormSparsifier([("emb", t_emb)], sparsity_level=0.5)
    e_sp = eds.DataNormSparsifier([("emb", e_emb)], sparsity_level=0.5)
    t_sp.step()
    e_sp.step()
    t_state, e_state = t_sp.state_dict(), e_sp.state_dict()
    assert list(e_state) == list(t_state)
    assert list(e_state["_container"]) == list(t_state["_container"]) == \
        ["parametrizations.emb.original"]
    assert e_state["state"]["emb"]["mask"].layout == ember.sparse_coo
    np.testing.assert_array_equal(_np(e_state["state"]["emb"]["mask"]),
                                  _np(t_state["state"]["emb"]["mask"]))
    assert dict(e_state["data_groups"]) == dict(t_state["data_groups"])
    # a fresh sparsifier loads the saved state: masks, data and config come back
    loaded = eds.DataNormSparsifier()
    loaded.load_state_dict(copy.deepcopy(e_state))
    np.testing.assert_array_equal(loaded.get_mask("emb").numpy(), e_sp.get_mask("emb").numpy())
    np.testing.assert_array_equal(loaded.get_data("emb", return_original=False).detach().numpy(),
                                  e_sp.get_data("emb", return_original=False).detach().numpy())
    t_sp.squash_mask()
    e_sp.squash_mask()
    np.testing.assert_array_equal(e_sp.get_data("emb", return_original=False).detach().numpy(),
                                  t_sp.get_data("emb", return_original=False).detach().numpy())
    with pytest.raises(ValueError, match="mask squashed - original mask value does not exist"):
        e_sp.get_data("emb")


def test_replace_data_and_errors_match_torch():
    for lib, mod in ((torch, tds), (ember, eds)):
        sp = mod.DataNormSparsifier(sparsity_level=0.5)
        sp.add_data("a", lib.tensor(_data(0, (4, 4))))
        sp.step()
        old_mask = sp.get_mask("a")
        with pytest.warns(UserWarning, match="Replacing existing data of the same name"):
            sp.add_data("a", lib.tensor(_data(1, (4, 4))))
        assert sp.get_mask("a") is old_mask  # reuse_mask keeps the mask object
        with pytest.raises(AssertionError, match="the shape of the new data must be the same"):
            sp.add_data("a", lib.tensor(_data(1, (2, 4))))
        with pytest.raises(ValueError, match="data with specified name does not exist"):
            sp.get_mask("zzz")
        with pytest.raises(AssertionError, match="not supported at the moment"):
            sp.add_data("b", [1.0, 2.0])
        with pytest.raises(NotImplementedError, match="undefined for this class"):
            sp.prepare(None, None)
        with pytest.raises(AssertionError, match="only L1 and L2 norm"):
            mod.DataNormSparsifier(norm="L3")
        bad = mod.DataNormSparsifier(sparse_block_shape=(1, 2), zeros_per_block=3)
        bad.add_data("c", lib.tensor(_data(0, (2, 4))))
        with pytest.raises(ValueError, match="cannot be more than"):
            bad.step()
        cube = mod.DataNormSparsifier()
        cube.add_data("d", lib.tensor(_data(0, (2, 2, 4))))
        with pytest.raises(ValueError, match="only supports 2-D at the moment"):
            cube.step()


def _two_data(lib, mod, **defaults):
    sp = mod.DataNormSparsifier(**defaults)
    sp.add_data("a", lib.tensor(_data(0, (4, 4))), sparsity_level=0.25)
    sp.add_data("b", lib.tensor(_data(1, (2, 8))))
    sp.step()
    return sp


def test_repr_and_pickle_round_trip_match_torch():
    import pickle

    assert repr(eds.DataNormSparsifier()) == repr(tds.DataNormSparsifier())
    t_sp, e_sp = _two_data(torch, tds), _two_data(ember, eds)
    assert repr(e_sp) == repr(t_sp)  # blocks separated by a blank line, as torch's
    assert list(e_sp.__getstate__()) == list(t_sp.__getstate__())
    for sp in (t_sp, e_sp):
        sp.squash_mask(names=["b"])  # one tensor saved plain, one masked
    t_back, e_back = pickle.loads(pickle.dumps(t_sp)), pickle.loads(pickle.dumps(e_sp))
    assert repr(e_back) == repr(t_back)
    for name in ("a", "b"):
        np.testing.assert_array_equal(e_back.get_mask(name).numpy(), t_back.get_mask(name).numpy())
        np.testing.assert_array_equal(
            e_back.get_data(name, return_original=False).detach().numpy(),
            t_back.get_data(name, return_original=False).detach().numpy())
    assert e_back.get_mask("a").layout == ember.strided  # masks come back dense
    with pytest.raises(ValueError, match="mask squashed"):
        e_back.get_data("b")


def test_non_strict_load_replace_without_reuse_and_disabled_update_match_torch():
    results = []
    for lib, mod in ((torch, tds), (ember, eds)):
        saved = _two_data(lib, mod).state_dict()
        clash = mod.DataNormSparsifier()
        clash.add_data("a", lib.tensor(_data(5, (4, 4))))
        with pytest.raises(KeyError, match="attribute 'a' already exists"):
            clash.load_state_dict(saved, strict=False)
        sp = mod.DataNormSparsifier(sparsity_level=0.75)
        sp.add_data("c", lib.tensor(_data(6, (3, 4))))  # kept by a non-strict load
        sp.load_state_dict(saved, strict=False)
        configs = {k: dict(v) for k, v in sp.data_groups.items()}
        # replacing without reuse: a fresh all-ones mask, the old config as the base
        sp.add_data("c", lib.tensor(_data(7, (2, 4))), reuse_mask=False,
                    sparse_block_shape=(1, 2), zeros_per_block=1)
        fresh = sp.get_mask("c").numpy().copy()
        sp.enable_mask_update = False
        sp.step()
        still = sp.get_mask("c").numpy().copy()
        sp.enable_mask_update = True
        sp.step()
        results.append((sorted(configs), configs["c"], sorted(sp.data_groups["c"].items()),
                        fresh, still, sp.get_mask("c").numpy(), sp.get_mask("b").numpy()))
    t_res, e_res = results
    assert t_res[:3] == e_res[:3]
    for t_arr, e_arr in zip(t_res[3:], e_res[3:]):
        np.testing.assert_array_equal(e_arr, t_arr)
    assert e_res[3].all() and e_res[4].all() and not e_res[5].all()
