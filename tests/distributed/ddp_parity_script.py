"""Run with 2 processes by real PyTorch (gloo, under mpirun) or by ember (``python -m ember
run``): DistributedDataParallel's buckets, gradient views, overlap, unused parameters,
static graphs, no_sync, buffers, hooks and join, one JSON line per rank.

tests/distributed/test_ddp_parity.py runs it both ways and compares the lines. Models are
float64 with dyadic weights and inputs so both libraries' sums are exact."""

import json

from script_common import env_from_mpi

env_from_mpi("29571")

import torch
import torch.distributed as dist
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
from torch.nn.parallel import DistributedDataParallel as DDP

results = {}


def encode(value):
    if isinstance(value, torch.Tensor):
        return {"dtype": str(value.dtype).split(".")[-1], "shape": list(value.shape),
                "values": value.double().tolist()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    return value


def case(name, function):
    try:
        results[name] = encode(function())
    except Exception as error:  # noqa: BLE001 - the error paths are part of the record
        results[name] = {"error": type(error).__name__, "message": str(error)}


dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
SMALL_CAP = 0.0002  # MiB: 209 bytes, so the rebuilt buckets hold one or two layers


class Net(torch.nn.Module):
    """Three layers; ``skip`` leaves the middle one unused."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(4, 6)
        self.b = torch.nn.Linear(6, 6)
        self.c = torch.nn.Linear(6, 2)
        with torch.no_grad():
            for k, p in enumerate(self.parameters()):
                p.copy_((torch.arange(p.numel()).view(p.shape) % 7 - 3 + k) / 8)
        self.double()

    def forward(self, x, skip=False):
        h = torch.relu(self.a(x))
        return self.c(h if skip else self.b(h))


def batch(step):
    return ((torch.arange(12.0).view(3, 4) % 5 + rank - step) / 4).double()


def spy(log, model):
    """An allreduce_hook that records what each bucket held."""
    def hook(state, bucket):
        buffer = bucket.buffer()
        grads = [p.grad for p in model.parameters()]
        log.append({"index": bucket.index(), "last": bucket.is_last(),
                    "numel": buffer.numel(), "shapes": [list(p.shape) for p in bucket.parameters()],
                    "grad_none": [g is None for g in grads],
                    # where each parameter's .grad sits in this buffer (None: elsewhere)
                    "offsets": [_offset(p.grad, buffer) for p in bucket.parameters()]})
        return default_hooks.allreduce_hook(state, bucket)
    return hook


def _offset(grad, buffer):
    if grad is None:
        return None
    delta = grad.data_ptr() - buffer.data_ptr()
    inside = 0 <= delta < buffer.numel() * buffer.element_size()
    shares = grad.untyped_storage().data_ptr() == buffer.untyped_storage().data_ptr()
    return [delta // buffer.element_size(), shares] if inside else None


LOG_KEYS = ("bucket_sizes", "rebuilt_bucket_sizes", "rebuilt_per_bucket_param_indices",
            "bucket_cap_bytes", "has_rebuilt_buckets", "find_unused_parameters",
            "gradient_as_bucket_view", "static_graph", "world_size", "rank", "module_name",
            "broadcast_buffers", "num_parameter_tensors", "total_parameter_size_bytes",
            "backend_name", "has_sync_bn", "output_device")


def buckets(steps=3, skip=False, set_to_none=True, **kwargs):
    def body():
        net = Net()
        ddp = DDP(net, **kwargs)
        log = []
        ddp.register_comm_hook(None, spy(log, net))
        optimizer = torch.optim.SGD(ddp.parameters(), lr=0.25)
        per_step = []
        for step in range(steps):
            optimizer.zero_grad(set_to_none=set_to_none)
            before = len(log)
            ddp(batch(step), skip).sum().backward()
            per_step.append(log[before:])
            per_step.append([None if p.grad is None else p.grad.clone() for p in net.parameters()])
            optimizer.step()
        logging = ddp._get_ddp_logging_data()
        return [per_step, [p.detach().clone() for p in net.parameters()],
                {key: logging.get(key) for key in LOG_KEYS}]
    return body


case("buckets_default", buckets())
case("buckets_small", buckets(bucket_cap_mb=SMALL_CAP))
case("buckets_unused_flag", buckets(find_unused_parameters=True, bucket_cap_mb=SMALL_CAP))
case("buckets_unused_flag_default_cap", buckets(find_unused_parameters=True))
case("buckets_static", buckets(steps=4, static_graph=True, bucket_cap_mb=SMALL_CAP))
case("static_unused_no_flag", buckets(skip=True, static_graph=True))
case("unused_flag_skip", buckets(skip=True, find_unused_parameters=True, bucket_cap_mb=SMALL_CAP))
case("views", buckets(gradient_as_bucket_view=True, set_to_none=False, bucket_cap_mb=SMALL_CAP))
case("views_set_to_none", buckets(gradient_as_bucket_view=True, bucket_cap_mb=SMALL_CAP))
case("views_unused", buckets(skip=True, gradient_as_bucket_view=True, set_to_none=False,
                             find_unused_parameters=True))


def views_without_hook():
    """No hook: after each step every .grad is a view of one flat buffer per bucket (found
    by their storages), zero_grad(set_to_none=False) keeps it."""
    net = Net()
    ddp = DDP(net, gradient_as_bucket_view=True, bucket_cap_mb=SMALL_CAP)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.25)
    record = []
    for step in range(3):
        optimizer.zero_grad(set_to_none=False)
        zeroed = [p.grad is None or bool((p.grad == 0).all()) for p in net.parameters()]
        ddp(batch(step)).sum().backward()
        storages = [p.grad.untyped_storage().data_ptr() for p in net.parameters()]
        groups = [storages.index(s) for s in storages]  # same storage: same first index
        record.append([zeroed, groups, [p.grad.clone() for p in net.parameters()]])
        optimizer.step()
    return record


case("views_no_hook", views_without_hook)


class Mixed(torch.nn.Module):
    """float32 and float64 parameters (one bucket per dtype) and a 0-d one."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(3, 4)
        self.s = torch.nn.Parameter(torch.tensor(0.5, dtype=torch.float64))
        self.b = torch.nn.Linear(4, 2).double()
        with torch.no_grad():
            for k, p in enumerate(self.parameters()):
                p.copy_((torch.arange(p.numel()).view(p.shape) % 5 - 2 + k) / 4)

    def forward(self, x):
        return self.b(self.a(x).double() * self.s)


def mixed_dtypes():
    net = Mixed()
    ddp = DDP(net, gradient_as_bucket_view=True, bucket_cap_mb=0.00001)
    log = []
    ddp.register_comm_hook(None, spy(log, net))
    record = []
    for step in range(3):
        ddp.zero_grad()
        ddp(torch.ones(2, 3) * (rank + 1)).sum().backward()
        record.append([p.grad.clone() for p in net.parameters()])
    logging = ddp._get_ddp_logging_data()
    return [log, record, {key: logging.get(key) for key in LOG_KEYS}]


case("mixed_dtypes", mixed_dtypes)


def unused_error():
    ddp = DDP(Net())
    ddp(batch(0), True).sum().backward()
    ddp(batch(1), True)


case("unused_error", unused_error)


def no_sync(as_view=False):
    def body():
        net = Net()
        ddp = DDP(net, gradient_as_bucket_view=as_view)
        with ddp.no_sync():
            for step in range(2):
                ddp(batch(step)).sum().backward()
        local = [p.grad.clone() for p in net.parameters()]
        ddp(batch(2)).sum().backward()
        return [local, [p.grad.clone() for p in net.parameters()]]
    return body


case("no_sync", no_sync())
case("no_sync_views", no_sync(True))


def buffers(broadcast):
    def body():
        net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3)).double()
        with torch.no_grad():
            net[0].weight.copy_(torch.arange(12.0).view(3, 4) / 8 - 0.5)
            net[0].bias.zero_()
        ddp = DDP(net, broadcast_buffers=broadcast)
        seen = []
        for step in range(3):
            ddp(batch(step)).sum().backward()
            seen.append([net[1].running_mean.clone(), net[1].running_var.clone()])
        return seen
    return body


case("broadcast_buffers", buffers(True))
case("no_broadcast_buffers", buffers(False))


def hooked(hook, as_view):
    def body():
        net = Net()
        ddp = DDP(net, gradient_as_bucket_view=as_view, bucket_cap_mb=SMALL_CAP)
        ddp.register_comm_hook(None, hook)
        optimizer = torch.optim.SGD(ddp.parameters(), lr=0.25)
        for step in range(3):
            optimizer.zero_grad()
            ddp(batch(step)).sum().backward()
            optimizer.step()
        return [p.detach().clone() for p in net.parameters()]
    return body


for as_view in (False, True):
    suffix = "_views" if as_view else ""
    case("hook_allreduce" + suffix, hooked(default_hooks.allreduce_hook, as_view))
    case("hook_fp16" + suffix, hooked(default_hooks.fp16_compress_hook, as_view))


def builtin(kind):
    def body():
        net = Net()
        ddp = DDP(net, bucket_cap_mb=SMALL_CAP)
        ddp._register_builtin_comm_hook(getattr(dist.BuiltinCommHookType, kind))
        optimizer = torch.optim.SGD(ddp.parameters(), lr=0.25)
        for step in range(3):
            optimizer.zero_grad()
            ddp(batch(step)).sum().backward()
            optimizer.step()
        try:
            ddp.register_comm_hook(None, default_hooks.allreduce_hook)
        except RuntimeError as error:
            return [[p.detach().clone() for p in net.parameters()], str(error)]
    return body


case("builtin_allreduce", builtin("ALLREDUCE"))
case("builtin_fp16", builtin("FP16_COMPRESS"))


def join(as_view, unused=False):
    def body():
        net = Net()
        ddp = DDP(net, gradient_as_bucket_view=as_view, bucket_cap_mb=SMALL_CAP,
                  find_unused_parameters=unused)
        optimizer = torch.optim.SGD(ddp.parameters(), lr=0.25)
        grads = []
        with ddp.join():
            for step in range((2, 4)[rank]):
                optimizer.zero_grad()
                ddp(batch(step), unused and step == 1).sum().backward()
                grads.append([None if p.grad is None else p.grad.clone()
                              for p in net.parameters()])
                optimizer.step()
        return [grads, [p.detach().clone() for p in net.parameters()]]
    return body


case("join", join(False))
case("join_views", join(True))
case("join_views_unused", join(True, unused=True))
dist.barrier()
print("PARITY " + json.dumps({"rank": rank, "results": results}), flush=True)
dist.destroy_process_group()
