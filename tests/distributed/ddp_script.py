"""Run by collectives_script.py under ``ember run --nproc-per-node 2`` (ember only, after the
collectives): DistributedDataParallel training over a DistributedSampler split against
single-process training on the full batches, plus no_sync, find_unused_parameters,
buffers, state_dict keys and the unfinished-reduction error. Rank 0 prints one
``DDP_RESULT`` JSON line that tests/distributed/test_ddp.py checks."""

import copy
import json
import os

import ember
import ember.distributed as dist
from ember import nn
from ember.nn.parallel import DistributedDataParallel as DDP
from ember.utils.data import DataLoader, DistributedSampler, TensorDataset

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
report = {"env": {name: os.environ.get(name) for name in (
    "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")}}


def make_model():
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 8), nn.Tanh(),
                         nn.Linear(8, 3)).double()


def gathered(tensor):
    everyone = [ember.zeros_like(tensor) for _ in range(world)]
    dist.all_gather(everyone, tensor.detach().contiguous())
    return everyone


# -- training: 2 ranks x 8 samples per step == 1 process x 16 samples per step -----------
ember.manual_seed(100 + rank)  # different initial weights on each rank: DDP takes rank 0's
model = make_model()
ember.manual_seed(7)  # the same data everywhere
inputs = ember.randn(48, 5, dtype=ember.float64)
targets = ember.randint(0, 3, (48,))
dataset = TensorDataset(inputs, targets)
ddp = DDP(model, bucket_cap_mb=0.0005)  # ~500 bytes: several buckets
first_buckets = len(ddp._buckets)
initial = copy.deepcopy(model.state_dict())
report["state_dict_keys"] = list(ddp.state_dict())[:2]
optimizer = ember.optim.SGD(ddp.parameters(), lr=0.2, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()
sampler = DistributedSampler(dataset, shuffle=True, seed=3)
loader = DataLoader(dataset, batch_size=8, sampler=sampler)
steps = []  # every rank's sample indices per step, to replay on one process
for epoch in range(3):
    sampler.set_epoch(epoch)
    order = list(sampler)
    for step, (batch_x, batch_y) in enumerate(loader):
        everyone = [None] * world
        dist.all_gather_object(everyone, order[step * 8:(step + 1) * 8])
        steps.append([index for part in everyone for index in part])
        optimizer.zero_grad()
        loss_fn(ddp(batch_x), batch_y).backward()
        optimizer.step()
grads_equal = all(bool((g == gathered(p.grad)[0]).all())
                  for p in model.parameters() for g in gathered(p.grad))
params_equal = all(bool((q == gathered(p)[0]).all())
                   for p in model.parameters() for q in gathered(p))
report["buckets"] = [first_buckets, len(ddp._buckets)]  # one, then rebuilt after a round
report["grads_equal_across_ranks"] = grads_equal
report["params_equal_across_ranks"] = params_equal

# -- gradient accumulation: no_sync for one micro-batch, sync on the next ------------------
accumulate_x = inputs[rank * 8:(rank + 1) * 8], inputs[16 + rank * 8:16 + (rank + 1) * 8]
accumulate_y = targets[rank * 8:(rank + 1) * 8], targets[16 + rank * 8:16 + (rank + 1) * 8]
optimizer.zero_grad()
with ddp.no_sync():  # as PyTorch, it is the forward that decides
    output = ddp(accumulate_x[0])
loss_fn(output, accumulate_y[0]).backward()
report["forward_in_no_sync_stays_local"] = not all(
    bool((p.grad == gathered(p.grad)[1 - rank]).all()) for p in model.parameters())
optimizer.zero_grad()
with ddp.no_sync():
    loss_fn(ddp(accumulate_x[0]), accumulate_y[0]).backward()
local_after_no_sync = [p.grad.clone() for p in model.parameters()]
report["no_sync_kept_local"] = not all(
    bool((g == gathered(g)[1 - rank]).all()) for g in local_after_no_sync)
loss_fn(ddp(accumulate_x[1]), accumulate_y[1]).backward()
optimizer.step()
final_ddp = {k: v.tolist() for k, v in model.state_dict().items()}

if rank == 0:  # the same training on one process, full batches, no DDP
    single = make_model()
    single.load_state_dict(initial)
    single_optimizer = ember.optim.SGD(single.parameters(), lr=0.2, momentum=0.9)
    for indices in steps:
        index = ember.tensor(indices)
        single_optimizer.zero_grad()
        # mean over 16 == the average of the two ranks' means over 8
        loss_fn(single(inputs[index]), targets[index]).backward()
        single_optimizer.step()
    single_optimizer.zero_grad()
    for micro in range(2):
        index = ember.cat([ember.arange(16 * micro, 16 * micro + 16)])
        loss = loss_fn(single(inputs[index[:8]]), targets[index[:8]]) / 2 + loss_fn(
            single(inputs[index[8:]]), targets[index[8:]]) / 2
        loss.backward()
    single_optimizer.step()
    report["single"] = {k: v.tolist() for k, v in single.state_dict().items()}
    report["ddp"] = final_ddp
    report["initial_rank0"] = {k: v.tolist() for k, v in initial.items()}

# -- find_unused_parameters: one rank skips a branch --------------------------------------


class Branches(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(4, 4)
        self.sometimes = nn.Linear(4, 2)
        self.never = nn.Linear(4, 2)
        self.head = nn.Linear(4, 2)

    def forward(self, x, use_branch):
        h = self.trunk(x)
        out = self.head(h)
        return out + self.sometimes(h) if use_branch else out


ember.manual_seed(11)
branches = Branches().double()
ddp_branches = DDP(branches, find_unused_parameters=True)
x = ember.randn(6, 4, dtype=ember.float64) + rank
ddp_branches(x, use_branch=rank == 0).pow(2).sum().backward()
report["never_grad_is_none"] = branches.never.weight.grad is None
sometimes = gathered(branches.sometimes.weight.grad)
report["sometimes_equal_across_ranks"] = bool((sometimes[0] == sometimes[1]).all())
reference = Branches().double()
reference.load_state_dict(branches.state_dict())
ember.manual_seed(11)
Branches()
x0 = ember.randn(6, 4, dtype=ember.float64)
reference(x0, use_branch=True).pow(2).sum().backward()
report["sometimes_is_half_of_rank0"] = bool(ember.allclose(
    branches.sometimes.weight.grad, reference.sometimes.weight.grad / 2))
# a second round works too
branches.zero_grad()
ddp_branches(x, use_branch=rank == 1).pow(2).sum().backward()
report["second_round_ok"] = branches.sometimes.weight.grad is not None

# -- unused parameter without find_unused_parameters: PyTorch's error at the next forward --
strict = DDP(Branches().double())
strict(x, use_branch=False).sum().backward()
try:
    strict(x, use_branch=False)
    report["unfinished_error"] = None
except RuntimeError as error:
    report["unfinished_error"] = str(error)

# -- buffers: rank 0's running statistics everywhere --------------------------------------
norm_model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
with ember.no_grad():
    norm_model[1].running_mean.fill_(float(rank + 1))
ddp_norm = DDP(norm_model)
report["buffer_after_init"] = gathered(norm_model[1].running_mean)[1].tolist()
ddp_norm(ember.randn(5, 3) * (rank + 1)).sum().backward()
means = gathered(norm_model[1].running_mean)  # each rank updated its own statistics
report["buffers_differ_after_forward"] = not bool((means[0] == means[1]).all())
rank0_mean = means[0].clone()
ddp_norm.eval()
with ember.no_grad():
    ddp_norm(ember.randn(5, 3))  # starts by taking rank 0's buffers
report["buffers_are_rank0s_at_next_forward"] = bool(
    (norm_model[1].running_mean == rank0_mean).all())

# -- the module must have parameters ---------------------------------------------------
try:
    DDP(nn.ReLU())
    report["no_params_error"] = None
except RuntimeError as error:
    report["no_params_error"] = str(error)

dist.destroy_process_group()

# -- explicit ranks: a permutation reorders the group, anything else is refused ----------
mpi_rank = rank
dist.init_process_group("gloo", rank=1 - mpi_rank, world_size=2)
token = ember.tensor([float(mpi_rank)])
dist.broadcast(token, src=0)  # group rank 0 is MPI rank 1 now
report["permuted"] = [dist.get_rank(), token.item()] if mpi_rank == 0 else None
dist.destroy_process_group()
try:
    dist.init_process_group("gloo", rank=0, world_size=2)
    report["duplicate_rank_error"] = None
except RuntimeError as error:
    report["duplicate_rank_error"] = str(error)
report["initialized_after_refusal"] = dist.is_initialized()
try:
    dist.init_process_group("gloo", world_size=3)
    report["world_size_error"] = None
except RuntimeError as error:
    report["world_size_error"] = str(error)
if rank == 0:
    print("DDP_RESULT " + json.dumps(report), flush=True)
