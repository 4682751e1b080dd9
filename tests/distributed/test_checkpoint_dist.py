"""Multi-rank distributed checkpoints against real PyTorch: checkpoint_script.py runs on 2
processes under PyTorch's gloo and under ember (TCP transport), started together; every
rank's results must match, and each library's 2-rank checkpoint directory must load in
the other library (in this process, without a process group)."""

import warnings

import pytest
import torch
import torch.distributed.checkpoint as tdcp

import ember
import ember.distributed.checkpoint as dcp

from .conftest import run_both_by_rank

pytestmark = pytest.mark.xdist_group("distributed")
WORLD = 2


@pytest.fixture(scope="module")
def checkpoint_runs(tmp_path_factory):
    """(folder, {library: [rank results]}) of the two 2-process runs."""
    folder = tmp_path_factory.mktemp("checkpoint")
    return folder, run_both_by_rank("checkpoint_script.py", WORLD, folder, out_folder=True)


def _same(mine, expected):
    """Tensor records compared with assert_close's float32 defaults (the two libraries'
    linspace and SGD round differently in the last bit), the rest exactly."""
    if isinstance(expected, dict) and "values" in expected:
        assert mine["dtype"] == expected["dtype"]
        _same(mine["values"], expected["values"])
    elif isinstance(expected, list) and expected and isinstance(expected[0], (list, float)):
        assert isinstance(mine, list) and len(mine) == len(expected)
        for a, b in zip(mine, expected):
            _same(a, b)
    elif isinstance(expected, float):
        torch.testing.assert_close(mine, expected)
    else:
        assert mine == expected


def test_every_rank_matches_torch(checkpoint_runs):
    _, results = checkpoint_runs
    for rank in range(WORLD):
        mine, expected = results["ember"][rank], results["torch"][rank]
        assert mine.keys() == expected.keys()
        for name, value in expected.items():
            assert "error" not in value if isinstance(value, dict) else True, name
            _same(mine[name], value)


def test_values_are_the_expected_ones(checkpoint_runs):
    """Independent of the oracle: each rank wrote its own file, resharding by columns and
    to a replicated tensor gives the saved rows back, DDP's prefix is gone."""
    _, results = checkpoint_runs
    full = [[6.0 * r + c for c in range(6)] for r in range(5)]
    for rank, result in enumerate(results["ember"]):
        assert result["files"] == [".metadata", "__0_0.distcp", "__1_0.distcp"]
        assert result["load_by_columns_local"]["values"] == [row[3 * rank:3 * rank + 3]
                                                             for row in full]
        assert result["load_by_columns_full"]["values"] == full
        assert result["load_replicated"]["values"] == full
        assert result["load_values"] == [[0, 3, 6, 9], 7, ["a", "b"], 2.5]
        assert result["ddp_model_keys"] == ["0.bias", "0.weight", "2.bias", "2.weight"]
        assert result["ddp_restored_momentum"] == result["ddp_momentum"]
        # the row-sharded (colwise) save loaded into a column-sharded (rowwise) model
        assert result["tp_set_resharded"] == result["tp_loaded_pieces"][1:2] + \
            result["tp_loaded_pieces"][0:1] + result["tp_loaded_pieces"][3:4] + \
            result["tp_loaded_pieces"][2:3]
        weight = torch.tensor(result["tp_full"][1])
        assert torch.tensor(result["tp_set_resharded"][0]).equal(
            weight[:, 2 * rank:2 * rank + 2] if rank == 0 else weight[:, 2:])
        assert result["fsdp_restored"] == result["fsdp_original"]
    assert results["ember"][0]["full_cpu_offload_keys"] == ["0.bias", "0.weight", "2.bias",
                                                           "2.weight"]
    assert results["ember"][1]["full_cpu_offload_keys"] == []


def _fresh(lib):
    return {"rows": lib.zeros(5, 6), "replicated": lib.zeros(4, dtype=lib.int64),
            "nested": {"step": 0, "names": [], "scale": lib.tensor(0.0)}}


@pytest.mark.parametrize("writer, reader", [("torch", ember), ("ember", torch)])
def test_a_two_rank_checkpoint_loads_in_the_other_library(checkpoint_runs, writer, reader):
    """Both ranks' pieces of the row-sharded DTensor assemble into one plain tensor."""
    folder, _ = checkpoint_runs
    state = _fresh(reader)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (dcp if reader is ember else tdcp).load(state, checkpoint_id=folder / f"{writer}_ckpt")
    assert state["rows"].tolist() == torch.arange(30.0).reshape(5, 6).tolist()
    assert state["replicated"].tolist() == [0, 3, 6, 9]
    assert state["nested"]["step"] == 7 and state["nested"]["names"] == ["a", "b"]
    assert state["nested"]["scale"].item() == 2.5


def test_ddp_checkpoint_of_torch_loads_into_an_ember_model(checkpoint_runs):
    folder, results = checkpoint_runs
    net = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.ReLU(), ember.nn.Linear(4, 2))
    optim = ember.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    from ember.distributed.checkpoint import state_dict as dsd

    model_sd, optim_sd = dsd.get_state_dict(net, optim)
    state = {"model": model_sd, "optim": optim_sd}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dcp.load(state, checkpoint_id=folder / "torch_ckpt_ddp")
    dsd.set_state_dict(net, optim, model_state_dict=state["model"],
                       optim_state_dict=state["optim"])
    expected = results["torch"][0]
    torch.testing.assert_close(torch.tensor(net[0].weight.tolist()),
                               torch.tensor(expected["ddp_restored_weight"]["values"]))
    torch.testing.assert_close(torch.tensor(optim.state[net[0].weight]["momentum_buffer"].tolist()),
                               torch.tensor(expected["ddp_momentum"]["values"]))


def test_fsdp_sharded_state_dicts_are_saved_piecewise_as_torch_saves_them(checkpoint_runs):
    """FSDP's SHARDED_STATE_DICT (ShardedTensor values): each rank writes its rows, the
    chunks recorded as PyTorch records them, and the directory loads whole in torch."""
    folder, results = checkpoint_runs

    def layout(directory):
        metadata = tdcp.FileSystemReader(directory).read_metadata()
        return {key: [(list(c.offsets), list(c.sizes)) for c in md.chunks]
                if hasattr(md, "chunks") else "bytes"
                for key, md in metadata.state_dict_metadata.items()}

    expected = layout(folder / "torch_ckpt_fsdp")
    assert layout(folder / "ember_ckpt_fsdp") == expected
    assert expected["model.0.weight"] == [([0, 0], [2, 3]), ([2, 0], [2, 3])]
    state = {"model": {"0.weight": torch.zeros(4, 3)}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tdcp.load(state, checkpoint_id=folder / "ember_ckpt_fsdp",
                  planner=tdcp.DefaultLoadPlanner(allow_partial_load=True))
    trained = results["ember"][0]["fsdp_original"][0]  # the weight after one SGD step
    torch.testing.assert_close(state["model"]["0.weight"], torch.tensor(trained))
