"""Run under mpirun with 2 processes, by real PyTorch or by ember (``python -m ember run``):
every collective of torch.distributed on a few inputs, one JSON line per rank.

tests/distributed/test_collectives.py runs it both ways and compares the lines."""

import os
import sys
import time

from script_common import env_from_mpi, report

env_from_mpi("29561")

import torch
import torch.distributed as dist

results = {}


def encode(value):
    if isinstance(value, torch.Tensor):
        return {"dtype": str(value.dtype).split(".")[-1], "shape": list(value.shape),
                "values": value.float().tolist() if value.dtype == torch.bfloat16
                else value.tolist()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    return value


def case(name, function):
    """Record what ``function`` returns, or its exception's type and message."""
    started = time.perf_counter()
    try:
        results[name] = encode(function())
    except Exception as error:  # noqa: BLE001 - the error paths are part of the record
        results[name] = {"error": type(error).__name__, "message": str(error)}
    if os.environ.get("DEBUG_CASES"):  # which cases cost what
        print(f"case {name} {time.perf_counter() - started:.3f}s", flush=True)


def all_reduce(tensor, **kwargs):
    dist.all_reduce(tensor, **kwargs)
    return tensor


dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
R = dist.ReduceOp
base = torch.arange(6, dtype=torch.float32).view(2, 3) + 1

case("info", lambda: [world, dist.get_backend(), dist.is_initialized(),
                      dist.group.WORLD is dist.GroupMember.WORLD])
for op in ("SUM", "PRODUCT", "MIN", "MAX", "AVG"):
    case(f"all_reduce_{op}", lambda op=op: all_reduce(base * (rank + 1) - 2 * rank,
                                                      op=getattr(R, op)))
for op in ("BAND", "BOR", "BXOR", "MAX", "SUM"):
    case(f"all_reduce_int_{op}", lambda op=op: all_reduce(
        torch.tensor([rank + 1, 3, 6 * rank, -5 + rank]), op=getattr(R, op)))
case("all_reduce_bool", lambda: all_reduce(torch.tensor([True, False, rank == 1, False])))
case("all_reduce_bool_min", lambda: all_reduce(torch.tensor([True, rank == 0]), op=R.MIN))
case("all_reduce_half", lambda: all_reduce(torch.tensor([1.5, 2.25, 1e-3], dtype=torch.float16)
                                           * (rank + 1)))
case("all_reduce_bfloat16", lambda: all_reduce(torch.tensor([1.5, 2.25, 3.0],
                                                            dtype=torch.bfloat16) * (rank + 1)))
case("all_reduce_int32", lambda: all_reduce(torch.arange(4, dtype=torch.int32) * (rank + 3)))
case("all_reduce_float64_0d", lambda: all_reduce(torch.tensor(1.25, dtype=torch.float64)
                                                 + rank))
case("all_reduce_complex", lambda: all_reduce(torch.tensor([1 + 2j, rank * 1j])))
case("all_reduce_reduceop_object", lambda: all_reduce(base + rank, op=R(R.MAX)))


def strided():
    holder = torch.ones(3, 2) * (rank + 1)
    view = holder.t()
    dist.all_reduce(view)
    return [holder, view]


case("all_reduce_view", strided)


def async_all_reduce():
    tensor = base * (rank + 1)
    work = dist.all_reduce(tensor, async_op=True)
    done = work.wait()
    return [done, work.is_completed(), tensor]


case("all_reduce_async", async_all_reduce)


def broadcast():
    tensor = torch.arange(5, dtype=torch.float64) * (rank + 2)
    dist.broadcast(tensor, src=1)
    return tensor


case("broadcast", broadcast)


def reduce():
    tensor = base * (rank + 1)
    dist.reduce(tensor, dst=0)
    return tensor if rank == 0 else None  # other ranks' tensors are unspecified


case("reduce", reduce)


def all_gather():
    outputs = [torch.zeros(2, 2, dtype=torch.int64) for _ in range(world)]
    dist.all_gather(outputs, torch.arange(4).view(2, 2) + 10 * rank)
    return outputs


case("all_gather", all_gather)


def all_gather_into_tensor():
    output = torch.zeros(world * 3)
    dist.all_gather_into_tensor(output, torch.arange(3.0) + rank)
    return output


case("all_gather_into_tensor", all_gather_into_tensor)


def gather():
    outputs = [torch.zeros(3) for _ in range(world)] if rank == 1 else None
    dist.gather(torch.arange(3.0) * (rank + 1), outputs, dst=1)
    return outputs


case("gather", gather)


def scatter():
    output = torch.zeros(2, dtype=torch.int32)
    inputs = [torch.tensor([i, i * 10], dtype=torch.int32) for i in range(world)]
    dist.scatter(output, inputs if rank == 0 else None, src=0)
    return output


case("scatter", scatter)


def reduce_scatter():
    output = torch.zeros(3)
    dist.reduce_scatter(output, [torch.arange(3.0) + i + rank for i in range(world)])
    return output


case("reduce_scatter", reduce_scatter)


def reduce_scatter_tensor():
    output = torch.zeros(2)
    dist.reduce_scatter_tensor(output, torch.arange(2.0 * world) * (rank + 1), op=R.MAX)
    return output


case("reduce_scatter_tensor", reduce_scatter_tensor)


def all_to_all():
    outputs = [torch.zeros(2) for _ in range(world)]
    dist.all_to_all(outputs, [torch.tensor([rank, i]) * 1.0 for i in range(world)])
    return outputs


case("all_to_all", all_to_all)


def all_to_all_single():
    output = torch.zeros(4, 2)
    dist.all_to_all_single(output, torch.arange(8.0).view(4, 2) + 100 * rank)
    return output


case("all_to_all_single", all_to_all_single)


def all_to_all_single_splits():
    # rank 0 sends 1 row to itself and 2 to rank 1; rank 1 sends 3 rows to 0 and 1 to itself
    input_splits = [[1, 2], [3, 1]][rank]
    output_splits = [[1, 3], [2, 1]][rank]
    output = torch.zeros(sum(output_splits))
    dist.all_to_all_single(output, torch.arange(sum(input_splits)) + 10.0 * rank,
                           output_splits, input_splits)
    return output


case("all_to_all_single_splits", all_to_all_single_splits)


def send_recv():
    tensor = torch.zeros(3)
    if rank == 0:
        dist.send(torch.tensor([7.0, 8.0, 9.0]), dst=1)
        sender = dist.recv(tensor)  # from anyone
    else:
        sender = dist.recv(tensor, src=0)
        dist.send(tensor * 2, dst=0)
    return [sender, tensor]


case("send_recv", send_recv)


def isend_irecv():
    tensor = torch.zeros(2, dtype=torch.int64)
    peer = 1 - rank
    send_work = dist.isend(torch.tensor([rank, 5]), dst=peer)
    recv_work = dist.irecv(tensor, src=peer)
    return [send_work.wait(), recv_work.wait(), recv_work.is_completed(), tensor]


case("isend_irecv", isend_irecv)


def objects():
    gathered = [None] * world
    dist.all_gather_object(gathered, {"rank": rank, "name": f"r{rank}"})
    broadcast = [rank, "x", None] if rank == 1 else [None, None, None]
    dist.broadcast_object_list(broadcast, src=1)
    at_zero = [None] * world if rank == 0 else None
    dist.gather_object(("g", rank), at_zero, dst=0)
    scattered = [None]
    dist.scatter_object_list(scattered, [[i, "s"] for i in range(world)] if rank == 0 else None,
                             src=0)
    return [gathered, broadcast, at_zero, scattered]


case("objects", objects)


def groups():
    only_one = dist.new_group([1])
    everyone = dist.new_group([1, 0])
    tensor = torch.ones(2) * (rank + 1)
    dist.all_reduce(tensor, group=only_one)  # rank 0 is outside: nothing happens there
    total = torch.ones(2) * (rank + 1)
    dist.all_reduce(total, group=everyone)
    return [dist.get_rank(only_one), dist.get_world_size(everyone), tensor, total,
            dist.get_process_group_ranks(everyone)]


case("groups", groups)
case("barrier", lambda: dist.barrier())


def batch_isend_irecv():
    received = torch.zeros(2)
    works = dist.batch_isend_irecv([
        dist.P2POp(dist.isend, torch.tensor([float(rank), 1.0]), 1 - rank),
        dist.P2POp(dist.irecv, received, 1 - rank)])
    for work in works:
        work.wait()
    return received


case("batch_isend_irecv", batch_isend_irecv)


def object_send_recv():
    if rank == 0:
        dist.send_object_list(["hello", 3], dst=1)
        return None
    received = [None, None]
    sender = dist.recv_object_list(received, src=0)
    return [sender, received]


case("object_send_recv", object_send_recv)



def ddp_step():
    from torch.distributed.elastic.multiprocessing.errors import record

    return record(ddp_step_body)()


def ddp_step_body():
    from torch.nn.parallel import DistributedDataParallel

    torch.manual_seed(rank)
    model = DistributedDataParallel(torch.nn.Linear(3, 1))
    model(torch.ones(4, 3) * (rank + 1)).sum().backward()
    weights = [torch.zeros(1, 3) for _ in range(world)]
    dist.all_gather(weights, model.module.weight.detach())
    return [model.module.weight.grad, bool((weights[0] == weights[1]).all()),
            list(model.state_dict())]


case("ddp_step", ddp_step)

import hooks_join_cases

hooks_join_cases.run(case, torch, dist, rank, world)

if torch.__name__ == "ember":  # cases PyTorch's gloo rejects or leaves unspecified
    case("extra_module", lambda: torch.__name__)
    case("extra_transport", lambda: "mpi" if "mpi4py.MPI" in sys.modules else "tcp")
    case("extra_launcher_env", lambda: {name: os.environ.get(name) for name in (
        "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
        "TORCHELASTIC_RUN_ID")})
    def stacked():
        output = torch.zeros(world, 2)
        dist.all_gather_into_tensor(output, torch.arange(2.0) + rank)
        return output

    def reduce_elsewhere():
        tensor = torch.ones(2) * (rank + 1)
        dist.reduce(tensor, dst=0)
        return tensor

    def async_broadcast():
        tensor = torch.ones(2) * 5 if rank == 0 else torch.zeros(2)
        work = dist.broadcast(tensor, src=0, async_op=True)
        work.wait()
        return [work.is_completed(), tensor, work.result()[0] is tensor]

    case("extra_all_gather_into_tensor_stacked", stacked)
    case("extra_reduce_non_root_untouched", reduce_elsewhere)
    case("extra_avg_int", lambda: all_reduce(torch.tensor([1, 3, -1]) + rank, op=R.AVG))
    case("extra_async_broadcast", async_broadcast)

# error paths (every rank fails the same way before communicating)
ones = torch.ones(3)
case("error_not_tensor", lambda: dist.all_reduce([1, 2]))
case("error_no_src", lambda: dist.broadcast(ones))
case("error_bad_root", lambda: dist.reduce(ones, dst=5))
case("error_all_gather_length", lambda: dist.all_gather([torch.zeros(3)], ones))
case("error_all_gather_shape", lambda: dist.all_gather([torch.zeros(2)] * world, ones))
case("error_all_gather_dtype",
     lambda: dist.all_gather([torch.zeros(3, dtype=torch.float64)] * world, ones))
case("error_band_float", lambda: dist.all_reduce(torch.ones(2), op=R.BAND))
case("error_max_complex",
     lambda: dist.all_reduce(torch.ones(2, dtype=torch.complex64), op=R.MAX))
case("error_gather_list", lambda: dist.gather(ones, [ones, ones] if rank == 1 else None, dst=0))
case("error_object_list_short", lambda: dist.all_gather_object([None], 1))
case("error_new_group_rank", lambda: dist.new_group([0, 7]))
case("error_init_twice", lambda: dist.init_process_group("gloo"))
dist.barrier()
dist.destroy_process_group()
case("error_after_destroy", lambda: dist.get_rank())
case("is_initialized_after_destroy", lambda: dist.is_initialized())
report("RESULT", rank, results, default=lambda z: [z.real, z.imag])

if os.environ.get("EMBER_TEST_DDP"):  # ember's own DDP checks go on in the same processes
    import runpy

    runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ddp_script.py"),
                   run_name="__main__")
if os.environ.get("EMBER_TEST_FAIL"):
    # The launcher must end the job with the first failing rank's status (3) instead of
    # waiting out rank 0's minute.
    import time

    dist.init_process_group("gloo")
    dist.barrier()  # both ranks' results are written
    if rank == 1:
        sys.exit(3)
    time.sleep(60)
