"""One rank of the DeviceMesh / subgroup / coalesced-collective checks (test_device_mesh.py
starts 4): ``python mesh_script.py torch|ember RANK WORLD_SIZE STORE_PORT OUT``. The
processes meet through a TCPStore that rank 0 serves (``init_process_group(store=...)``),
then once more through a file (``init_method="file://..."``), and write their results
as JSON to OUT."""

import json
import os
import sys
import warnings
from datetime import timedelta

library, rank, world_size, port, out = sys.argv[1], *map(int, sys.argv[2:5]), sys.argv[5]
if library == "torch":
    import torch
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
else:
    import ember as torch
    import ember.distributed as dist
    from ember.distributed.device_mesh import init_device_mesh

results = {}


def record(name, call):
    try:
        value = call()
    except Exception as error:  # noqa: BLE001 - the outcome is what is compared
        value = {"error": type(error).__name__}
    if isinstance(value, torch.Tensor):
        value = {"dtype": str(value.dtype).split(".")[-1], "values": value.tolist()}
    results[name] = value


store = dist.TCPStore("127.0.0.1", port, world_size, rank == 0, timedelta(seconds=30))
dist.init_process_group("gloo", store=store, rank=rank, world_size=world_size)
record("store_count", lambda: store.add("arrived", 1) > 0)
record("pg_count_world", dist.get_pg_count)

mesh = init_device_mesh("cpu", (2, 2), mesh_dim_names=("dp", "tp"))
record("mesh", lambda: mesh.mesh)
record("repr", lambda: [repr(mesh), repr(mesh["tp"]), repr(mesh["dp"])])
record("shape", lambda: [list(mesh.shape), mesh.ndim, mesh.size(), mesh.size(1)])
record("coordinate", lambda: list(mesh.get_coordinate()))
record("local_ranks", lambda: [mesh.get_local_rank("dp"), mesh.get_local_rank(1)])
record("group_ranks", lambda: [dist.get_process_group_ranks(mesh.get_group("tp")),
                               dist.get_process_group_ranks(mesh.get_group(0))])
record("all_groups", lambda: [dist.get_process_group_ranks(g) for g in mesh.get_all_groups()])
record("get_group_no_dim", lambda: mesh.get_group())
record("slice_tp", lambda: mesh["tp"].mesh)
record("slice_dp", lambda: [mesh["dp"].mesh.tolist(), mesh["dp"].mesh_dim_names])
record("slice_both", lambda: mesh[("tp", "dp")].mesh)
record("slice_bad", lambda: mesh["zz"])
record("slice_group", lambda: dist.get_process_group_ranks(mesh["tp"].get_group()))
record("slice_local_rank", lambda: mesh["dp"].get_local_rank())
record("pg_count_mesh", dist.get_pg_count)
value = torch.tensor([float(rank + 1)])
dist.all_reduce(value, group=mesh.get_group("tp"))
record("all_reduce_tp", lambda: value)
value = torch.tensor([float(rank + 1)])
dist.all_reduce(value, group=mesh["dp"].get_group())
record("all_reduce_dp", lambda: value)
record("too_big", lambda: init_device_mesh("cpu", (3, 2)))

current, subgroups = dist.new_subgroups(2)
record("subgroups", lambda: [dist.get_process_group_ranks(current), len(subgroups)])
value = torch.tensor([rank * 10])
dist.all_reduce(value, group=current)
record("subgroup_all_reduce", lambda: value)
record("subgroups_bad", lambda: dist.new_subgroups(3))
current, subgroups = dist.new_subgroups_by_enumeration([[0, 2], [3]])
record("enumeration", lambda: [None if current is None else
                               dist.get_process_group_ranks(current), len(subgroups)])

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    first = torch.arange(3.0) + rank
    second = torch.ones(2, 2) * (rank + 1)
    dist.all_reduce_coalesced([first, second], op=dist.ReduceOp.MAX)
    record("all_reduce_coalesced", lambda: [first.tolist(), second.tolist()])
    future = dist.all_reduce_coalesced([first], async_op=True)
    record("all_reduce_coalesced_async", lambda: [t.tolist() for t in future.wait()])
    outputs = [[torch.zeros(2), torch.zeros(1, dtype=torch.float32)] for _ in range(world_size)]
    dist.all_gather_coalesced(outputs, [torch.tensor([rank, -rank]).float(),
                                        torch.tensor([rank * 0.5])])
    record("all_gather_coalesced", lambda: [[t.tolist() for t in row] for row in outputs])
    record("warnings", lambda: sorted({(w.category.__name__, str(w.message)[:60])
                                       for w in caught}))
gathered = torch.zeros(world_size * 2, dtype=torch.int64)
dist.all_gather_single(gathered, torch.tensor([rank, rank * rank]))
record("all_gather_single", lambda: gathered)
scattered = torch.zeros(2)
dist.reduce_scatter_single(scattered, torch.arange(2.0 * world_size) * (rank + 1))
record("reduce_scatter_single", lambda: scattered)
record("pg_count_end", dist.get_pg_count)
dist.barrier()
dist.destroy_process_group()
record("pg_count_destroyed", dist.get_pg_count)
# again, meeting through a file this time (init_method="file://", the FileStore handler)
dist.init_process_group("gloo", init_method=f"file://{os.path.dirname(out)}/{library}.rdzv",
                        rank=rank,
                        world_size=world_size)
value = torch.tensor([2.0 ** rank])
dist.all_reduce(value)
record("file_init_all_reduce", lambda: value)
dist.destroy_process_group()
with open(out, "w") as handle:
    json.dump(results, handle)
