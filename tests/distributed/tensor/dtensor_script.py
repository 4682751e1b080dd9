"""One rank of the DTensor / tensor-parallel checks (test_dtensor.py starts 2 per library):
``python dtensor_script.py torch|ember RANK WORLD_SIZE STORE_PORT OUT``. Every check
records placements, global shapes, local pieces and whole values (or the error's type),
and the results go to OUT as JSON, compared rank by rank with PyTorch's."""

import json
import sys
from datetime import timedelta

library, rank, world_size, port, out = sys.argv[1], *map(int, sys.argv[2:5]), sys.argv[5]
if library == "torch":
    import torch
    import torch.distributed as dist
    import torch.distributed.tensor as dt
    import torch.distributed.tensor.parallel as tp
    from torch.distributed.device_mesh import init_device_mesh
else:
    import ember as torch
    import ember.distributed as dist
    import ember.distributed.tensor as dt
    import ember.distributed.tensor.parallel as tp
    from ember.distributed.device_mesh import init_device_mesh

nn, F = torch.nn, torch.nn.functional
Shard, Replicate, Partial = dt.Shard, dt.Replicate, dt.Partial
results = {}


def describe(value):
    if isinstance(value, dt.DTensor):
        return {"placements": [repr(p) for p in value.placements],
                "shape": list(value.shape), "local": value.to_local().tolist(),
                "full": value.full_tensor().tolist(), "dtype": str(value.dtype)[6:],
                "requires_grad": value.requires_grad}
    if isinstance(value, torch.Tensor):
        return {"tensor": value.tolist(), "dtype": str(value.dtype)[6:]}
    if isinstance(value, (list, tuple)):
        return [describe(item) for item in value]
    return value


def record(name, call):
    try:
        value = describe(call())
    except Exception as error:  # noqa: BLE001 - the outcome is what is compared
        value = {"error": type(error).__name__}
    results[name] = value


store = dist.TCPStore("127.0.0.1", port, world_size, rank == 0, timedelta(seconds=30))
dist.init_process_group("gloo", store=store, rank=rank, world_size=world_size)
mesh = init_device_mesh("cpu", (world_size,))
torch.manual_seed(0)
base = torch.arange(30.0).reshape(5, 6) / 7
other = torch.linspace(-1, 1, 30).reshape(5, 6)
column = torch.linspace(0, 1, 6)
S0, S1, R, P = Shard(0), Shard(1), Replicate(), Partial()


def dist_(tensor, *placements):
    return dt.distribute_tensor(tensor, mesh, list(placements))


# -- layouts ---------------------------------------------------------------------------------
for name, placement in (("s0", S0), ("s1", S1), ("r", R), ("sneg", Shard(-1)), ("p", P)):
    record(f"distribute_{name}", lambda: dist_(base, placement))
record("distribute_one_row", lambda: dist_(base[:1], S0))
record("distribute_bad_len", lambda: dt.distribute_tensor(base, mesh, [S0, S1]))
record("distribute_bad_dim", lambda: dist_(base, Shard(3)))
for source in (S0, S1, R, P):
    for target in (S0, S1, R, P, Partial("max"), Partial("avg")):
        record(f"redistribute_{source}_{target}",
               lambda: dist_(base, source).redistribute(mesh, [target]))
record("from_local_s0", lambda: dt.DTensor.from_local(base + rank, mesh, [S0]))
record("from_local_shape", lambda: dt.DTensor.from_local(
    base[:3] if rank == 0 else base[3:], mesh, [S0], shape=(5, 6), stride=(6, 1)))
record("from_local_partial", lambda: dt.DTensor.from_local(base * (rank + 1), mesh, [P]))
record("from_local_neg", lambda: dt.DTensor.from_local(base, mesh, [Shard(-1)]))
record("from_local_check", lambda: dt.DTensor.from_local(base + rank, mesh, [R],
                                                         run_check=True))
record("partial_full", lambda: dt.DTensor.from_local(base * (rank + 1), mesh,
                                                     [P]).full_tensor())
record("size_queries", lambda: [list(dist_(base, S1).size()), dist_(base, S1).size(1),
                                dist_(base, S1).dim(), dist_(base, S1).numel(),
                                list(dist_(base, S1).stride()), len(dist_(base, S0))])
record("factories", lambda: [dt.zeros(5, 3, device_mesh=mesh, placements=[S0]),
                             dt.ones((4, 2), device_mesh=mesh, placements=[S1]),
                             dt.full((3, 3), 2.5, device_mesh=mesh, placements=[R]),
                             dt.empty(6, 2, device_mesh=mesh, placements=[S0]).shape])


def random_layout():
    drawn = [dt.randn(5, 3, device_mesh=mesh, placements=[S0]),
             dt.rand((4, 6), device_mesh=mesh, placements=[S1], dtype=torch.float64)]
    return [[list(x.shape), [repr(p) for p in x.placements], list(x.to_local().shape),
             str(x.dtype)] for x in drawn]


def random_values():
    """ember's sharded draws are the plain draw of the whole under the same seed."""
    torch.manual_seed(5)
    sharded = dt.randn(5, 3, device_mesh=mesh, placements=[S0]).full_tensor()
    torch.manual_seed(5)
    return bool(torch.equal(sharded, torch.randn(5, 3)))


if library == "ember":  # PyTorch's DTensor rand/randn need its RNG tracker: not on cpu
    record("random_layout", random_layout)
    record("random_values", random_values)

# -- ops ---------------------------------------------------------------------------------------
record("add_s0_s0", lambda: dist_(base, S0) + dist_(other, S0))
record("add_s0_r", lambda: dist_(base, S0) + dist_(other, R))
record("mul_bcast_s1", lambda: dist_(base, S1) * dist_(column, S0))
record("mul_bcast_s0", lambda: dist_(base, S0) * dist_(column, R))
record("relu_exp", lambda: torch.exp(torch.relu(dist_(other, S1))))
record("scalar_ops", lambda: (dist_(base, S0) * 2 - 1) / 3)
record("partial_add", lambda: dt.DTensor.from_local(base, mesh, [P])
       + dt.DTensor.from_local(other, mesh, [P]))
record("partial_scale", lambda: dt.DTensor.from_local(base, mesh, [P]) * 3)
record("partial_relu", lambda: torch.relu(dt.DTensor.from_local(other, mesh, [P])))
record("mixed_plain", lambda: dist_(base, S0) + other)
record("sum_all_s0", lambda: dist_(base, S0).sum())
record("sum_dim0_s0", lambda: dist_(base, S0).sum(0))
record("sum_dim1_s0", lambda: dist_(base, S0).sum(dim=1, keepdim=True))
record("mean_s1", lambda: dist_(base, S1).mean(1))
record("mean_s0_uneven", lambda: dist_(base, S0).mean(0))
record("amax_s0", lambda: dist_(other, S0).amax(0))
record("sum_partial", lambda: dt.DTensor.from_local(base, mesh, [P]).sum(1))
record("mm_s0_r", lambda: dist_(base, S0) @ dist_(other.t(), R))
record("mm_r_s1", lambda: torch.mm(dist_(base, R), dist_(other.t(), S1)))
record("mm_s1_s0", lambda: torch.matmul(dist_(base, S1), dist_(other.t(), S0)))
record("mm_s1_r", lambda: dist_(base, S1) @ dist_(other.t(), R))
weight, bias = torch.linspace(-2, 2, 24).reshape(4, 6), torch.linspace(0, 1, 4)
record("linear_colwise", lambda: F.linear(dist_(base, R), dist_(weight, S0), dist_(bias, S0)))
record("linear_rowwise", lambda: F.linear(dist_(base, S1), dist_(weight, S1), dist_(bias, R)))
record("addmm", lambda: torch.addmm(dist_(bias, R), dist_(base, S0), dist_(weight.t(), R)))
record("view_s0", lambda: dist_(base.reshape(6, 5), S0).view(3, 10))
record("reshape_s1", lambda: dist_(base, S1).reshape(5, 2, 3))
record("reshape_flat", lambda: dist_(base, S0).reshape(-1))
record("transpose_s0", lambda: dist_(base, S0).transpose(0, 1))
record("t_s1", lambda: dist_(base, S1).t())
record("permute", lambda: dist_(base.reshape(5, 2, 3), Shard(2)).permute(2, 0, 1))
record("unsqueeze", lambda: dist_(base, S1).unsqueeze(0))
record("softmax_s0", lambda: torch.softmax(dist_(other, S0), dim=1))
record("softmax_s1", lambda: F.softmax(dist_(other, S1), dim=1))
record("log_softmax_s0", lambda: F.log_softmax(dist_(other, S0), dim=-1))
table = torch.linspace(-1, 1, 24).reshape(6, 4)
ids = torch.tensor([[0, 5, 2], [3, 3, 1]])
record("embedding_colwise", lambda: F.embedding(dist_(ids, R), dist_(table, S1)))
record("embedding_rowwise", lambda: F.embedding(dist_(ids, R), dist_(table, S0)))
labels = torch.tensor([1, 0, 5, 2, 3])
record("cross_entropy_r", lambda: F.cross_entropy(dist_(other, R), dist_(labels, R)))
record("cross_entropy_s0", lambda: F.cross_entropy(dist_(other, S0), dist_(labels, S0)))
record("getitem", lambda: dist_(base, S0)[1:4, 2])
record("item", lambda: dist_(base, S1).sum().item())
record("layer_norm_s0", lambda: F.layer_norm(dist_(other, S0), (6,)))


# -- a 2-D mesh (dp=1, tp=2): one placement per mesh dimension ----------------------------
mesh2 = init_device_mesh("cpu", (1, world_size), mesh_dim_names=("dp", "tp"))


def dist2(tensor, *placements):
    return dt.distribute_tensor(tensor, mesh2, list(placements))


record("mesh2_s0_s1", lambda: dist2(base, S0, S1))
record("mesh2_r_s0", lambda: dist2(base, R, S0))
record("mesh2_redistribute", lambda: dist2(base, S0, S1).redistribute(mesh2, [S1, S0]))
record("mesh2_replicate", lambda: dist2(base, S1, S0).redistribute(mesh2, [R, R]))
record("mesh2_mm", lambda: dist2(base, R, S0) @ dist2(other.t(), R, R))
record("mesh2_rowwise", lambda: F.linear(dist2(base, R, S1), dist2(weight, R, S1),
                                         dist2(bias, R, R)))
record("mesh2_slice", lambda: dt.distribute_tensor(base, mesh2["tp"], [S1]))


def mesh2_grad():
    leaf = dist2(other.clone().requires_grad_(), R, S1)
    (leaf * dist2(base, S0, R)).sum().full_tensor().backward()
    return leaf.grad


record("mesh2_grad", mesh2_grad)


# -- autograd ----------------------------------------------------------------------------------
def grads_of(placements, make_loss):
    leaf = dt.distribute_tensor(other.clone().requires_grad_(), mesh, placements)
    loss = make_loss(leaf)
    loss.backward()
    return [leaf.grad, leaf.is_leaf]


record("grad_s0_mul", lambda: grads_of([S0], lambda x: (x * x).sum().full_tensor()))
record("grad_s1_linear", lambda: grads_of([S1], lambda x: F.linear(
    x, dist_(weight, S1), dist_(bias, R)).full_tensor().pow(2).sum()))
record("grad_r_colwise", lambda: grads_of([R], lambda x: F.linear(
    x, dist_(weight, S0), dist_(bias, S0)).full_tensor().pow(2).sum()))
record("grad_s0_softmax_view", lambda: grads_of([S0], lambda x: (F.log_softmax(
    x.view(5, 2, 3), dim=-1) * dist_(other.view(5, 2, 3), R)).sum().full_tensor()))
record("grad_redistribute", lambda: grads_of([S0], lambda x: (
    x.redistribute(mesh, [S1]) * dist_(base, S1)).sum().full_tensor()))
record("grad_to_local", lambda: grads_of([S1], lambda x: (x.to_local() ** 2).sum()))
record("grad_from_local", lambda: [(lambda local: (
    dt.DTensor.from_local(local, mesh, [S0]).sum().full_tensor().backward(),
    local.grad)[1])(other.clone().requires_grad_())])
record("grad_partial_out", lambda: grads_of([S1], lambda x: (
    x @ dist_(weight.t(), S0)).sum().full_tensor()))
record("grad_mean_s1", lambda: grads_of([S1], lambda x: x.mean().full_tensor()))


def gradcheck_case():
    """float64 gradcheck through redistribute (Replicate -> Shard(1)), a sharded matmul
    (Partial result), tanh (which needs it reduced) and full_tensor. The input is the
    replicated global value, the same on both ranks, so gradcheck's perturbations move
    it consistently; every evaluation runs the collectives on both ranks in step."""
    matrix = dist_(torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(4, 3), S0)

    def f(whole):
        x = dt.DTensor.from_local(whole, mesh, [R]).redistribute(mesh, [S1])
        return torch.tanh(x @ matrix).redistribute(mesh, [S0]).full_tensor()
    whole = torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(3, 4).requires_grad_()
    return torch.autograd.gradcheck(f, (whole,))


if library == "ember":  # PyTorch's gradcheck trips over its own DTensor backward
    record("gradcheck", gradcheck_case)


def in_place_grads(write):
    """In-place writes into a non-leaf DTensor rebase its history: gradients as PyTorch."""
    leaf = dt.distribute_tensor(other.clone().requires_grad_(), mesh, [S0])
    y = leaf * 1
    write(y)
    (y * y).sum().full_tensor().backward()
    return [y, leaf.grad]


record("in_place_relu", lambda: in_place_grads(lambda y: y.relu_()))
record("in_place_add", lambda: in_place_grads(lambda y: y.add_(dist_(base, S0), alpha=2)))
record("in_place_mul", lambda: in_place_grads(lambda y: y.mul_(3)))
record("in_place_leaf", lambda: dt.distribute_tensor(other.clone().requires_grad_(), mesh,
                                                     [S0]).add_(1))


# -- tensor parallel ---------------------------------------------------------------------------
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net1 = nn.Linear(6, 8)
        self.relu = nn.ReLU()
        self.net2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.net2(self.relu(self.net1(x)))


def train_tp(plan, steps=4, lr=0.1):
    torch.manual_seed(1)
    model = MLP()
    with torch.no_grad():  # the same start in both libraries
        for index, param in enumerate(model.parameters()):
            count = param.numel()
            param.copy_(torch.linspace(-0.5, 0.5 + index / 10, count).reshape(param.shape))
    tp.parallelize_module(model, mesh, plan)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for step in range(steps):
        x = torch.linspace(-1, 1, 30).reshape(5, 6) * (step + 1)
        target = torch.tensor([0, 2, 1, 1, 0])
        loss = F.cross_entropy(model(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return {"losses": losses,
            "params": {name: [repr(p) for p in param.placements] + [param.full_tensor().tolist()]
                       for name, param in model.named_parameters()},
            "is_param": [isinstance(p, nn.Parameter) for p in model.parameters()]}


record("tp_mlp", lambda: train_tp({"net1": tp.ColwiseParallel(),
                                   "net2": tp.RowwiseParallel()}))
record("tp_mlp_wildcard", lambda: train_tp({"net*": tp.ColwiseParallel(
    output_layouts=Replicate())}, steps=2))


def sequence_parallel():
    norm = nn.LayerNorm(6)
    tp.parallelize_module(norm, mesh, tp.SequenceParallel(sequence_dim=0))
    out = norm(base)
    out.sum().full_tensor().backward() if isinstance(out, dt.DTensor) else None
    return [out, norm.weight.grad]


record("sequence_parallel", sequence_parallel)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(6)
        self.up = nn.Linear(6, 8)
        self.down = nn.Linear(8, 6)

    def forward(self, x):
        return x + self.down(torch.relu(self.up(self.norm(x))))


def tp_block():
    """The sequence-parallel recipe: norm on sequence shards, the MLP's input gathered
    (Colwise with input_layouts=Shard(1)), its output reduce-scattered back to sequence
    shards (Rowwise with output_layouts=Shard(1)); one SGD step."""
    block = Block()
    with torch.no_grad():
        for index, param in enumerate(block.parameters()):
            param.copy_(torch.linspace(-0.7, 0.7 - index / 20, param.numel())
                        .reshape(param.shape))
    tp.parallelize_module(block, mesh, {
        "norm": tp.SequenceParallel(),
        "up": tp.ColwiseParallel(input_layouts=Shard(1)),
        "down": tp.RowwiseParallel(output_layouts=Shard(1), use_local_output=False)})
    x = torch.linspace(-2, 2, 48).reshape(2, 4, 6)
    sharded_x = dt.distribute_tensor(x, mesh, [Shard(1)])
    out = block(sharded_x)
    out.pow(2).mean().full_tensor().backward()
    torch.optim.SGD(block.parameters(), lr=0.1).step()
    return [out, {name: [repr(p.placements), p.full_tensor().tolist()]
                  for name, p in block.named_parameters()}]


record("tp_block", tp_block)


def prepare_io():
    """Identity modules whose inputs/outputs are re-laid out: rank r's piece of Shard(0)
    gathered to Replicate (kept a DTensor) and a plain output turned into a DTensor."""
    gather_in = nn.Identity()
    tp.parallelize_module(gather_in, mesh, tp.PrepareModuleInput(
        input_layouts=(Shard(0),), desired_input_layouts=(Replicate(),)))
    keep_out = nn.Identity()
    tp.parallelize_module(keep_out, mesh, tp.PrepareModuleOutput(
        output_layouts=Shard(0), desired_output_layouts=Replicate(), use_local_output=False))
    return [gather_in(base[:2] * (rank + 1)), keep_out(base[:2] - rank)]


record("prepare_io", prepare_io)


def distribute_module_case():
    """A partition_fn sharding only the weight (the bias is replicated by default), an
    input_fn making the input a replicated DTensor, an output_fn gathering the output."""
    layer = nn.Linear(6, 4)
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)

    def partition(name, module, device_mesh):
        if isinstance(module, nn.Linear):
            module.register_parameter("weight", nn.Parameter(
                dt.distribute_tensor(module.weight, device_mesh, [Shard(0)])))

    def to_dtensor(module, inputs, device_mesh):
        return (dt.DTensor.from_local(inputs[0], device_mesh, [Replicate()]),)

    def gather(module, outputs, device_mesh):
        return outputs.full_tensor()

    dt.distribute_module(layer, mesh, partition, to_dtensor, gather)
    out = layer(base)
    out.sum().backward()
    return [out, layer.weight.grad, layer.bias.grad,
            [repr(p.placements) for p in layer.parameters()]]


record("distribute_module", distribute_module_case)
record("distribute_module_default", lambda: [repr(p.placements) for p in dt.distribute_module(
    nn.Linear(2, 2), mesh).parameters()])


def loss_parallel_case(**options):
    logits = dt.distribute_tensor(other.clone().requires_grad_(), mesh, [Shard(1)])
    with tp.loss_parallel():
        loss = F.cross_entropy(logits, labels, **options)
        loss.sum().backward()
    return [loss.full_tensor() if isinstance(loss, dt.DTensor) else loss, logits.grad]


record("loss_parallel", loss_parallel_case)
record("loss_parallel_sum", lambda: loss_parallel_case(reduction="sum", ignore_index=5))
record("loss_parallel_none", lambda: loss_parallel_case(reduction="none"))
record("loss_parallel_smoothing", lambda: loss_parallel_case(label_smoothing=0.1))


# -- FSDP2 -------------------------------------------------------------------------------------
if library == "torch":
    from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard
else:
    from ember.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard


def train_fsdp(steps, **options):
    """fully_shard on the first Linear, then the root; each rank trains on its own data;
    gradients are averaged over the ranks."""
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
    with torch.no_grad():
        for index, param in enumerate(model.parameters()):
            param.copy_(torch.linspace(-0.6, 0.4 + index / 10, param.numel())
                        .reshape(param.shape))
    fully_shard(model[0], mesh=mesh, **options)
    fully_shard(model, mesh=mesh, **options)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    losses, seen = [], {}
    for step in range(steps):
        x = torch.linspace(-1, 1, 24).reshape(4, 6) * (step + 1) + rank
        out = model(x)
        seen["out_dtype"] = str(out.dtype)
        seen["during"] = type(model[2].weight).__name__
        loss = F.cross_entropy(out.float(), torch.tensor([0, 2, 1, rank]))
        opt.zero_grad()
        loss.backward()
        losses.append(loss.item())
        seen["grad"] = [model[0].bias.grad.to_local().tolist(),
                        [repr(p) for p in model[0].weight.grad.placements]]
        opt.step()
    model.unshard()
    seen["unsharded"] = [type(model[2].weight).__name__, list(model[2].weight.shape)]
    model.reshard()
    seen["resharded"] = [type(model[2].weight).__name__, list(model[2].weight.shape)]
    seen["state_dict"] = [[key, repr(value.placements), list(value.shape)]
                          for key, value in model.state_dict().items()]
    handle = model.unshard(async_op=True)
    handle.wait()
    seen["async_unshard"] = type(model[2].weight).__name__
    model.reshard()
    return {"losses": losses, "seen": seen,
            "classes": [type(model).__name__, isinstance(model, FSDPModule),
                        isinstance(model[0], FSDPModule), isinstance(model[2], FSDPModule)],
            "params": {name: [repr(p.placements), p.to_local().tolist(),
                              p.full_tensor().tolist()]
                       for name, param in model.named_parameters() for p in [param]}}


record("fsdp2", lambda: train_fsdp(3))


def fsdp_accumulate():
    """Two micro-batches, the first without gradient sync, then one step."""
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
    with torch.no_grad():
        for index, param in enumerate(model.parameters()):
            param.copy_(torch.linspace(-0.6, 0.4 + index / 10, param.numel())
                        .reshape(param.shape))
    fully_shard(model[0], mesh=mesh)
    fully_shard(model, mesh=mesh)
    for micro in range(2):
        model.set_requires_gradient_sync(micro == 1)
        x = torch.linspace(-1, 1, 24).reshape(4, 6) * (micro + 1) - rank
        F.cross_entropy(model(x), torch.tensor([1, 2, 0, rank])).backward()
    torch.optim.SGD(model.parameters(), lr=0.3).step()
    return {name: p.full_tensor().tolist() for name, p in model.named_parameters()}


record("fsdp2_accumulate", fsdp_accumulate)
record("fsdp2_keep", lambda: train_fsdp(2, reshard_after_forward=False))
record("fsdp2_mixed", lambda: train_fsdp(2, mp_policy=MixedPrecisionPolicy(
    param_dtype=torch.float64, output_dtype=torch.float32)))

with open(out, "w") as handle:
    json.dump(results, handle)
dist.destroy_process_group()
