"""DeviceMesh, new_subgroups, the coalesced and ``*_single`` collectives and
``init_process_group(store=TCPStore)`` against real PyTorch: mesh_script.py runs on 4
processes under PyTorch's gloo and under ember (TCP transport), started together, and
every rank's results must match. Single-process checks (argument errors, a world of one)
run in this process."""

import pytest
import torch.distributed as tdist

import ember
import ember.distributed as dist
from ember.distributed.device_mesh import DeviceMesh, init_device_mesh

from .conftest import run_both_by_rank

pytestmark = pytest.mark.xdist_group("distributed")
WORLD = 4


@pytest.fixture(scope="module")
def mesh_runs(tmp_path_factory):
    """{library: [rank results]} of the two 4-process runs (started together)."""
    return run_both_by_rank("mesh_script.py", WORLD, tmp_path_factory.mktemp("mesh"))


def test_every_rank_matches_torch(mesh_runs):
    for rank in range(WORLD):
        mine, expected = mesh_runs["ember"][rank], mesh_runs["torch"][rank]
        assert mine.keys() == expected.keys()
        mismatched = {name: (mine[name], value) for name, value in expected.items()
                      if mine[name] != value}
        assert not mismatched, f"rank {rank}: {mismatched}"


def test_values_are_the_expected_ones(mesh_runs):
    """Independent of the oracle: rank 2 of a (dp=2, tp=2) mesh over ranks [[0, 1], [2, 3]]."""
    results = mesh_runs["ember"][2]
    assert results["mesh"] == {"dtype": "int32", "values": [[0, 1], [2, 3]]}
    assert results["coordinate"] == [1, 0] and results["local_ranks"] == [1, 0]
    assert results["group_ranks"] == [[2, 3], [0, 2]]
    assert results["slice_tp"]["values"] == [2, 3] and results["slice_dp"] == [[0, 2], ["dp"]]
    assert results["all_reduce_tp"]["values"] == [3.0 + 4.0]
    assert results["all_reduce_dp"]["values"] == [1.0 + 3.0]
    assert results["subgroups"] == [[2, 3], 2] and results["subgroup_all_reduce"]["values"] == [50]
    assert results["enumeration"] == [[0, 2], 2]
    assert results["all_reduce_coalesced"] == [[3.0, 4.0, 5.0], [[4.0, 4.0], [4.0, 4.0]]]
    assert results["all_gather_single"]["values"] == [0, 0, 1, 1, 2, 4, 3, 9]
    assert results["reduce_scatter_single"]["values"] == [4 * 10.0, 5 * 10.0]
    assert results["pg_count_end"] == 9 and results["pg_count_destroyed"] == 0
    assert mesh_runs["ember"][1]["enumeration"] == [None, 2]
    assert results["file_init_all_reduce"]["values"] == [1.0 + 2.0 + 4.0 + 8.0]


def _outcome(call):
    try:
        value = call()
    except Exception as error:  # noqa: BLE001 - the outcome is what is compared
        return type(error).__name__
    return value


def test_a_world_of_one_matches_torch(world_of_one):
    from torch.distributed.device_mesh import init_device_mesh as torch_init_device_mesh
    outcomes = {}
    for lib, make in ((tdist, torch_init_device_mesh), (dist, init_device_mesh)):
        mesh = make("cpu", (1, 1), mesh_dim_names=("dp", "tp"))
        outcomes[lib] = [
            mesh.mesh.tolist(), mesh.shape, mesh.ndim, mesh.size(), mesh.get_coordinate(),
            repr(mesh), repr(mesh["tp"]), str(lib.device_mesh.DeviceMesh("cpu", [0])),
            _outcome(lambda: mesh.get_group()), _outcome(lambda: mesh.get_group("zz")),
            _outcome(lambda: mesh.get_group(5)), _outcome(lambda: mesh.get_local_rank()),
            mesh.get_local_rank("tp"), mesh["dp"].mesh.tolist(), mesh["dp"].mesh_dim_names,
            _outcome(lambda: mesh["zz"]), mesh.mesh_dim_names, mesh.device_type,
            mesh.get_group("dp") is mesh.get_group(1), len(mesh.get_all_groups()),
            _outcome(lambda: make("cpu", (2,))),
            _outcome(lambda: make("cpu", (1,), mesh_dim_names=("a", "b"))),
            _outcome(lambda: make("cpu", (1, 1), mesh_dim_names=("a", "a"))),
            _outcome(lambda: make("cpu", 1)), _outcome(lambda: make("cpu:0", (1,))),
            make("cpu", (1,), mesh_dim_names="a").mesh_dim_names,
            lib.get_pg_count(), lib.get_backend_config(), lib.get_world_size(),
            _outcome(lambda: lib.new_subgroups()) if lib is dist else "ValueError",
            _outcome(lambda: lib.new_subgroups(0)), _outcome(lambda: lib.new_subgroups(2)),
            _outcome(lambda: lib.new_subgroups_by_enumeration([])),
            _outcome(lambda: lib.new_subgroups_by_enumeration([[0], [0]])),
        ]
        if lib is tdist:
            outcomes[lib][0] = [[0]]  # torch's mesh tensor as a list, to compare
    assert outcomes[dist] == outcomes[tdist]
    torch_mesh = tdist.device_mesh.DeviceMesh("cpu", [0])
    assert (DeviceMesh("cpu", [0]) == DeviceMesh("cpu", [0])) == (torch_mesh == torch_mesh)
    assert DeviceMesh.from_group(dist.group.WORLD, "cpu").mesh.tolist() == [0]


def test_coalesced_collectives_warn_and_check_as_torch(world_of_one):
    outcomes = {}
    for lib, torch_like in ((tdist, __import__("torch")), (dist, ember)):
        x = torch_like.arange(3.0)
        with pytest.warns(FutureWarning, match="all_reduce_coalesced` will be deprecated"):
            outcomes[lib] = [
                _outcome(lambda: lib.all_reduce_coalesced([x, x.long()])),
                _outcome(lambda: lib.all_reduce_coalesced(
                    [torch_like.zeros(1, dtype=torch_like.complex64)], op=lib.ReduceOp.MAX)),
                _outcome(lambda: lib.all_reduce_coalesced(x)),
            ]
        with pytest.warns(FutureWarning, match="all_gather_coalesced` will be deprecated"):
            outcomes[lib].append(_outcome(lambda: lib.all_gather_coalesced(x, [x])))
    assert outcomes[dist] == outcomes[tdist] == ["ValueError", "ValueError", None, "TypeError"]


def test_debug_level_and_backend_queries_match_torch(monkeypatch):
    outcomes = {}
    for lib in (tdist, dist):
        found = []
        for value in ("detail", "bogus", None):
            if value is None:
                monkeypatch.delenv("TORCH_DISTRIBUTED_DEBUG", raising=False)
            else:
                monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", value)
            found += [_outcome(lib.set_debug_level_from_env), str(lib.get_debug_level())]
        lib.set_debug_level(lib.DebugLevel.INFO)
        found += [int(lib.get_debug_level()), _outcome(lambda: lib.set_debug_level(1))]
        lib.set_debug_level(lib.DebugLevel.OFF)
        found += [lib.is_backend_available(name) for name in ("gloo", "GLOO", "cpu:gloo",
                                                              "ucc", "foo")]
        found += [_outcome(lambda: lib.get_default_backend_for_device(name))
                  for name in ("cpu", "cuda", "cuda:1", "meta", "xpu", "bogus")]
        found += [lib.supports_complex(op) for op in (lib.ReduceOp.SUM, lib.ReduceOp.MAX,
                                                      lib.ReduceOp.AVG, lib.ReduceOp.BXOR)]
        found += [lib.get_pg_count(), _outcome(lib.get_backend_config), lib.default_pg_timeout,
                  list(lib.DebugLevel.__members__)]
        outcomes[lib] = found
    assert outcomes[dist] == outcomes[tdist]
    assert dist.is_backend_available("mpi") == dist.is_mpi_available()
