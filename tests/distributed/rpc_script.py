"""The ember RPC checks on three workers (run by test_rpc.py as one launch):
``python rpc_script.py RANK RPC_PORT GROUP_PORT``; the ranks first run
ember.distributed.nn.functional's collectives. Rank 0 ("trainer") drives every case and prints one
``RESULT {json}`` line; "ps" holds the remote model, "aux" a parameter the ps calls in
turn (a nested call). Every wait has a timeout, so a failing worker never hangs."""

import faulthandler
import json
import sys
import threading
import time

import ember
import ember.distributed.autograd as dist_autograd
import ember.distributed.rpc as rpc
from ember import nn
from ember.distributed.nn import RemoteModule
from ember.distributed.optim import DistributedOptimizer

NAMES = ["trainer", "ps", "aux"]


def initial(shape, offset):
    count = 1
    for size in shape:
        count *= size
    return ((ember.arange(count, dtype=ember.float64) * 0.37 + offset) % 1.0 - 0.5) \
        .reshape(shape)


class Counter:
    def __init__(self, start):
        self.value = start

    def add(self, amount):
        self.value += amount
        return self.value


class ParameterServer:
    """The tutorial's shape: a model on the ps, whose output the aux worker scales."""

    def __init__(self, aux_rref):
        self.model = nn.Linear(5, 3).double()
        with ember.no_grad():
            self.model.weight.copy_(initial((3, 5), 0.2))
            self.model.bias.copy_(initial((3,), 0.6))
        self.aux_rref = aux_rref

    def forward(self, h):
        return rpc.rpc_sync("aux", scale, args=(self.aux_rref, self.model(h)))

    def param_rrefs(self):
        return [rpc.RRef(p) for p in self.model.parameters()]


def make_scale():
    return ember.nn.Parameter(initial((3,), 0.9))


def scale(scale_rref, out):
    return ember.tanh(out * scale_rref.local_value())


def ps_forward(ps_rref, h):
    return ps_rref.local_value().forward(h)


def param_rrefs(ps_rref):
    return ps_rref.local_value().param_rrefs()


def fetch(rref):
    return rref.to_here()


def slow():
    time.sleep(0.6)
    return 1


def boom():
    raise ValueError("bad value")


@rpc.functions.async_execution
def add_later(x):
    return rpc.rpc_async("aux", ember.add, args=(x, 1)).then(lambda fut: fut.wait() * 10)


def listed(t):
    return t.tolist()


def error_of(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001 - reported to the test
        return [type(error).__name__, str(error).splitlines()[0]]
    return None


def basics():
    out = {}
    out["sync_add"] = listed(rpc.rpc_sync("ps", ember.add, args=(ember.ones(2, 3), 2)))
    future = rpc.rpc_async(2, ember.mul, args=(ember.arange(4.0),), kwargs={"other": 3})
    out["async_mul"] = [type(future).__module__, listed(future.wait())]
    out["worker_info"] = [repr(rpc.get_worker_info("ps")), rpc.get_worker_info().name,
                          rpc.get_worker_info(2).name]
    rref = rpc.remote("ps", ember.ones, args=(2,))
    out["remote"] = [listed(rref.to_here()), rref.owner_name(), repr(rref.owner()),
                     rref.is_owner(), rref.confirmed_by_owner(),
                     error_of(rref.local_value)]
    mine = rpc.RRef(ember.tensor([1.0, 2.0]))
    out["local_rref"] = [mine.is_owner(), listed(mine.local_value()), listed(mine.to_here()),
                         listed(rpc.rpc_sync("ps", fetch, args=(mine,)))]
    counter = rpc.remote("ps", Counter, args=(5,))
    out["proxies"] = [counter.rpc_sync().add(3), counter.rpc_async().add(1).wait(),
                      counter.remote().add(1).to_here()]
    out["errors"] = {
        "unknown": error_of(lambda: rpc.rpc_sync("nobody", ember.add, args=(1, 2))),
        "unknown_info": error_of(lambda: rpc.get_worker_info("nobody")),
        "timeout": error_of(lambda: rpc.rpc_sync("ps", slow, timeout=0.2)),
        "timeout_async": error_of(lambda: rpc.rpc_async("aux", slow, timeout=0.1).wait()),
        "remote_raise": error_of(lambda: rpc.rpc_sync("ps", boom)),
        "no_context": error_of(lambda: dist_autograd.get_gradients(12345)),
    }
    out["async_execution"] = listed(rpc.rpc_sync("ps", add_later, args=(ember.ones(2),)))
    return out


def training():
    """Three SGD steps of the tutorial's loop: local layer, remote model, nested scale."""
    aux_rref = rpc.remote("aux", make_scale)
    ps_rref = rpc.remote("ps", ParameterServer, args=(aux_rref,))
    local = nn.Linear(4, 5).double()
    with ember.no_grad():
        local.weight.copy_(initial((5, 4), 0.1))
        local.bias.copy_(initial((5,), 0.3))
    params = [rpc.RRef(p) for p in local.parameters()]
    params += rpc.rpc_sync("ps", param_rrefs, args=(ps_rref,)) + [aux_rref]
    optimizer = DistributedOptimizer(ember.optim.SGD, params, lr=0.5, momentum=0.9)
    inputs, targets = initial((6, 4), 0.05), initial((6, 3), 0.7)
    losses, first_grads = [], None
    for _ in range(3):
        with dist_autograd.context() as context_id:
            hidden = ember.relu(local(inputs))
            out = rpc.rpc_sync("ps", ps_forward, args=(ps_rref, hidden))
            loss = ((out - targets) ** 2).mean()
            dist_autograd.backward(context_id, [loss])
            grads = dist_autograd.get_gradients(context_id)
            if first_grads is None:
                first_grads = [listed(grads[local.weight]), listed(grads[local.bias]),
                               local.weight.grad is None]
            optimizer.step(context_id)
            losses.append(loss.item())
    finals = [listed(p) for p in local.parameters()]
    finals += [listed(rpc.rpc_sync(r.owner(), fetch, args=(r,))) for r in params[2:]]
    return {"losses": losses, "first_grads": first_grads, "finals": finals,
            "released": len(dist_autograd._contexts)}


def remote_module():
    remote_linear = RemoteModule("aux/cpu", nn.Linear, args=(2, 2),
                                 kwargs={"dtype": ember.float64})
    param_refs = remote_linear.remote_parameters()
    weight, bias = (r.to_here() for r in param_refs)
    x = initial((3, 2), 0.4)
    optimizer = DistributedOptimizer(ember.optim.SGD, param_refs, lr=1.0)
    with dist_autograd.context() as context_id:
        out = remote_linear(x)
        dist_autograd.backward(context_id, [out.sum()])
        optimizer.step(context_id)
    stepped = [r.to_here() for r in param_refs]
    ones = ember.ones(2, 3, dtype=ember.float64)
    return {"forward": float((out.detach() - (x @ weight.T + bias)).abs().max()),
            "async": float((remote_linear.forward_async(x).wait()
                            - (x @ stepped[0].T + stepped[1])).abs().max()),
            "weight_step": float((stepped[0] - (weight - ones @ x)).abs().max()),
            "bias_step": float((stepped[1] - (bias - 3)).abs().max()),
            "out_requires_grad": out.requires_grad}


COLLECTIVES = {}
COLLECTIVES_DONE = threading.Event()  # rank 0 may ask before this rank's backward returns


def collectives(rank):
    """ember.distributed.nn.functional on the three ranks (gloo over TCP): every rank's
    loss differs, and each rank's gradients are those of the sum of all the losses."""
    import ember.distributed as dist
    import ember.distributed.nn.functional as dist_fn
    x = (initial((3,), 0.1 * rank) + rank).requires_grad_()
    reduced = dist_fn.all_reduce(x * x)
    gathered = dist_fn.all_gather(x * (rank + 1))
    sent = dist_fn.broadcast(x.exp(), src=1)
    pieces = [x * (slot + 1) for slot in range(3)]
    scattered = dist_fn.reduce_scatter(ember.empty(3, dtype=ember.float64), pieces)
    loss = (reduced * (rank + 1)).sum() + sum((g * (rank + s + 1)).sum()
                                             for s, g in enumerate(gathered))
    loss = loss + (sent * (rank + 2)).sum() + (scattered.sin() * (rank + 3)).sum()
    reduced_to_0 = dist_fn.reduce(x * 2, dst=0)
    loss = loss + (reduced_to_0 * (1.0 if rank == 0 else 0.0)).cos().sum()
    exchanged = dist_fn.all_to_all([ember.empty(3, dtype=ember.float64) for _ in range(3)],
                                   [x * (rank + 1 + j) for j in range(3)])
    loss = loss + sum((out * (rank + j + 1)).sum() for j, out in enumerate(exchanged))
    loss.backward()
    COLLECTIVES.update(loss=loss.item(), grad=listed(x.grad), reduced=listed(reduced),
                       scattered=listed(scattered))
    dist.destroy_process_group()


def collected():
    COLLECTIVES_DONE.wait(30)
    return COLLECTIVES


def main():
    faulthandler.dump_traceback_later(50, exit=True)
    rank, port = int(sys.argv[1]), int(sys.argv[2])
    options = rpc.TensorPipeRpcBackendOptions(init_method=f"tcp://127.0.0.1:{port}",
                                              num_worker_threads=8, rpc_timeout=20)
    rpc.init_rpc(NAMES[rank], rank=rank, world_size=3, rpc_backend_options=options)
    import ember.distributed as dist
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{sys.argv[3]}", rank=rank,
                            world_size=3)
    try:
        collectives(rank)
    except Exception as error:  # noqa: BLE001 - reported to the test
        import traceback
        traceback.print_exc()
        COLLECTIVES["failed"] = repr(error)
    COLLECTIVES_DONE.set()
    if rank == 0:
        results = {"collectives": [COLLECTIVES] + [rpc.rpc_sync(peer, collected)
                                                   for peer in (1, 2)]}
        for case in (basics, training, remote_module):
            try:
                results[case.__name__] = case()
            except Exception as error:  # noqa: BLE001 - reported, the others still run
                import traceback
                traceback.print_exc()
                results[case.__name__] = {"failed": repr(error)}
        print("RESULT " + json.dumps(results), flush=True)
    rpc.shutdown()


if __name__ == "__main__":
    main()
