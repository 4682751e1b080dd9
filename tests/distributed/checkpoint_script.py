"""One rank of the multi-process checkpoint checks (test_checkpoint_dist.py starts 2 per
library): ``python checkpoint_script.py torch|ember RANK WORLD_SIZE STORE_PORT FOLDER``.

The ranks save together (rank 0 coordinates; a DTensor sharded by rows is written as
each rank's piece, a replicated value once), then load the same directory into other
shardings (by columns, replicated), then the state dicts of a DDP model, a
tensor-parallel one and an FSDP one (and their optimizers) through
``get_state_dict``/``set_state_dict``. Results go to FOLDER/<library><rank>.json; the
checkpoints stay in FOLDER/<library>_ckpt* for the test to read with the other library."""

import json
import os
import sys
import warnings
from datetime import timedelta

library, rank, world_size, port, folder = sys.argv[1], *map(int, sys.argv[2:5]), sys.argv[5]
if library == "torch":
    import torch
    import torch.distributed as dist
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint import state_dict as dsd
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Replicate, Shard, distribute_tensor
    from torch.distributed.tensor.parallel import (
        ColwiseParallel,
        RowwiseParallel,
        parallelize_module,
    )
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
    from torch.nn.parallel import DistributedDataParallel as DDP
else:
    import ember as torch
    import ember.distributed as dist
    import ember.distributed.checkpoint as dcp
    from ember.distributed.checkpoint import state_dict as dsd
    from ember.distributed.device_mesh import init_device_mesh
    from ember.distributed.tensor import Replicate, Shard, distribute_tensor
    from ember.distributed.tensor.parallel import (
        ColwiseParallel,
        RowwiseParallel,
        parallelize_module,
    )
    from ember.distributed.fsdp import FullyShardedDataParallel as FSDP
    from ember.nn.parallel import DistributedDataParallel as DDP

warnings.simplefilter("ignore")
results = {}


def record(name, call):
    try:
        value = call()
    except BaseException as error:  # noqa: BLE001 - the outcome is what is compared
        value = {"error": type(error).__name__}
    if isinstance(value, torch.Tensor):
        value = {"dtype": str(value.dtype).split(".")[-1], "values": value.tolist()}
    results[name] = value


store = dist.TCPStore("127.0.0.1", port, world_size, rank == 0, timedelta(seconds=60))
dist.init_process_group("gloo", store=store, rank=rank, world_size=world_size)
mesh = init_device_mesh("cpu", (world_size,))
ckpt = os.path.join(folder, f"{library}_ckpt")

full = torch.arange(30.0).reshape(5, 6)
state = {
    "rows": distribute_tensor(full, mesh, [Shard(0)]),
    "replicated": torch.arange(4, dtype=torch.int64) * 3,
    "nested": {"step": 7, "names": ["a", "b"], "scale": torch.tensor(2.5)},
}
record("save", lambda: sorted(dcp.save(state, checkpoint_id=ckpt).state_dict_metadata))
record("files", lambda: sorted(os.listdir(ckpt)))

cols = {"rows": distribute_tensor(torch.zeros(5, 6), mesh, [Shard(1)]),
        "replicated": torch.zeros(4, dtype=torch.int64),
        "nested": {"step": 0, "names": [], "scale": torch.tensor(0.0)}}
dcp.load(cols, checkpoint_id=ckpt)
record("load_by_columns_local", lambda: cols["rows"].to_local())
record("load_by_columns_full", lambda: cols["rows"].full_tensor())
record("load_values", lambda: [cols["replicated"].tolist(), cols["nested"]["step"],
                               cols["nested"]["names"], cols["nested"]["scale"].item()])
whole = {"rows": distribute_tensor(torch.zeros(5, 6), mesh, [Replicate()])}
dcp.load(whole, checkpoint_id=ckpt, planner=dcp.DefaultLoadPlanner(allow_partial_load=True))
record("load_replicated", lambda: whole["rows"].to_local())



def make_plain(scale):
    """A small MLP with fixed weights (the two libraries' random streams differ)."""
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    with torch.no_grad():
        for param in net.parameters():
            param.copy_(torch.linspace(-scale, scale, param.numel()).reshape(param.shape))
    return net


def make_model(scale):
    return DDP(make_plain(scale))


# a DDP model: names without "module.", optimizer state keyed by them
model = make_model(1.0)
optim = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
model(torch.ones(2, 3) * (rank + 1)).sum().backward()
optim.step()
model_sd, optim_sd = dsd.get_state_dict(model, optim)
record("ddp_model_keys", lambda: sorted(model_sd))
record("ddp_optim_keys", lambda: [sorted(optim_sd["state"]), optim_sd["param_groups"][0]["params"]])
record("ddp_momentum", lambda: optim_sd["state"]["0.weight"]["momentum_buffer"])
dcp.save({"model": model_sd, "optim": optim_sd}, checkpoint_id=ckpt + "_ddp")

fresh = make_model(0.5)
fresh_optim = torch.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
fresh_model_sd, fresh_optim_sd = dsd.get_state_dict(fresh, fresh_optim)
loaded = {"model": fresh_model_sd, "optim": fresh_optim_sd}
dcp.load(loaded, checkpoint_id=ckpt + "_ddp")
dsd.set_state_dict(fresh, fresh_optim, model_state_dict=loaded["model"],
                   optim_state_dict=loaded["optim"])
record("ddp_restored_weight", lambda: fresh.module[0].weight)
record("ddp_restored_momentum",
       lambda: fresh_optim.state[fresh.module[0].weight]["momentum_buffer"])
full_sd = dsd.get_model_state_dict(fresh, options=dsd.StateDictOptions(full_state_dict=True,
                                                                        cpu_offload=True))
record("full_cpu_offload_keys", lambda: sorted(full_sd))


# tensor parallel: DTensor parameters saved piecewise, loaded into another sharding
def local_pieces(net):
    return [p.to_local().tolist() for p in net.parameters()]


colwise_first = {"0": ColwiseParallel(), "2": RowwiseParallel()}
rowwise_first = {"0": RowwiseParallel(), "2": ColwiseParallel()}
tp = parallelize_module(make_plain(1.0), mesh, colwise_first)
dcp.save(dsd.get_model_state_dict(tp), checkpoint_id=ckpt + "_tp")
full_tp = dsd.get_model_state_dict(tp, options=dsd.StateDictOptions(full_state_dict=True))
record("tp_full", lambda: [full_tp[k].tolist() for k in sorted(full_tp)])
resharded = parallelize_module(make_plain(0.5), mesh, rowwise_first)
tp_state = dsd.get_model_state_dict(resharded)
dcp.load(tp_state, checkpoint_id=ckpt + "_tp")
record("tp_loaded_pieces", lambda: [tp_state[k].to_local().tolist() for k in sorted(tp_state)])
record("tp_set_resharded", lambda: (dsd.set_model_state_dict(resharded, tp_state),
                                    local_pieces(resharded))[1])
from_full = parallelize_module(make_plain(0.2), mesh, colwise_first)
record("tp_set_from_full", lambda: (dsd.set_model_state_dict(
    from_full, full_tp, options=dsd.StateDictOptions(full_state_dict=True)),
    local_pieces(from_full))[1])

# FSDP: its sharded state dict (ShardedTensor values) saved piecewise and loaded back
cpu = torch.device("cpu")
sharded = FSDP(make_plain(1.0), device_id=cpu)
sharded_optim = torch.optim.SGD(sharded.parameters(), lr=0.1, momentum=0.9)
sharded(torch.ones(2, 3) * (rank + 1)).sum().backward()
sharded_optim.step()
fsdp_model_sd, fsdp_optim_sd = dsd.get_state_dict(sharded, sharded_optim)
record("fsdp_keys", lambda: [sorted(fsdp_model_sd), sorted(fsdp_optim_sd["state"])])
dcp.save({"model": fsdp_model_sd, "optim": fsdp_optim_sd}, checkpoint_id=ckpt + "_fsdp")
restored = FSDP(make_plain(0.5), device_id=cpu)
restored_optim = torch.optim.SGD(restored.parameters(), lr=0.1, momentum=0.9)
fsdp_state = dict(zip(("model", "optim"), dsd.get_state_dict(restored, restored_optim)))
dcp.load(fsdp_state, checkpoint_id=ckpt + "_fsdp")
dsd.set_state_dict(restored, restored_optim, model_state_dict=fsdp_state["model"],
                   optim_state_dict=fsdp_state["optim"])
full_options = dsd.StateDictOptions(full_state_dict=True)
restored_sd = dsd.get_state_dict(restored, restored_optim, options=full_options)
record("fsdp_restored", lambda: [restored_sd[0]["0.weight"].tolist(),
                                 restored_sd[1]["state"]["0.weight"]["momentum_buffer"].tolist()])
original_sd = dsd.get_state_dict(sharded, sharded_optim, options=full_options)
record("fsdp_original", lambda: [original_sd[0]["0.weight"].tolist(),
                                 original_sd[1]["state"]["0.weight"]["momentum_buffer"].tolist()])

dist.barrier()
dist.destroy_process_group()
with open(os.path.join(folder, f"{library}{rank}.json"), "w") as handle:
    json.dump(results, handle)
