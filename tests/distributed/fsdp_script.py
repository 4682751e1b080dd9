"""Run with 2 processes by real PyTorch (gloo, under mpirun) or by ember (``python -m ember
run``): FullyShardedDataParallel training, wrapping, state dicts, optimizer state dicts,
summon_full_params, no_sync, clip_grad_norm_, mixed precision and error paths; one JSON
line per rank. Each training case also trains the unwrapped model in one process on the
whole batch ("reference").

tests/distributed/test_fsdp.py runs it both ways and compares the records. Imported
without running (``main`` is not called), it gives the test the models and batches."""

import functools
import os
import sys
import warnings

from script_common import env_from_mpi, report

env_from_mpi("29591")

import torch
import torch.distributed as dist

STEPS = 3


def encode(value):
    if type(value).__name__ == "ShardedTensor":
        return {"sharded": list(value.size()),
                "local": [[list(s.metadata.shard_offsets), list(s.metadata.shard_sizes),
                           encode(s.tensor)] for s in value.local_shards()]}
    if isinstance(value, torch.Tensor):
        return {"dtype": str(value.dtype).split(".")[-1], "shape": list(value.shape),
                "values": value.double().tolist()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in value.items()}
    if hasattr(value, "name") and hasattr(value, "value"):  # enums
        return value.name
    return value


class Block(torch.nn.Module):
    """A tiny pre-norm transformer MLP block (the unit an auto-wrap policy picks)."""

    def __init__(self, width):
        super().__init__()
        self.norm = torch.nn.LayerNorm(width)
        self.up = torch.nn.Linear(width, 2 * width)
        self.down = torch.nn.Linear(2 * width, width)

    def forward(self, x):
        return x + self.down(torch.relu(self.up(self.norm(x))))


class Tiny(torch.nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.embed = torch.nn.Linear(3, width)
        self.blocks = torch.nn.ModuleList([Block(width), Block(width)])
        self.head = torch.nn.Linear(width, 2)

    def forward(self, x):
        h = self.embed(x)
        for block in self.blocks:
            if getattr(self, "checkpointed", False):  # activation checkpointing
                from torch.utils.checkpoint import checkpoint
                h = checkpoint(block, h, use_reentrant=False)
            else:
                h = block(h)
        return self.head(h)


def fill(model):
    """Deterministic weights both libraries build the same way."""
    with torch.no_grad():
        for k, p in enumerate(model.parameters()):
            p.copy_(((torch.arange(p.numel()).view(p.shape) * 7 + 3 * k) % 11 - 5) / 16)
    return model


def mlp():
    return fill(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
                                    torch.nn.Linear(8, 3)))


def tiny():
    return fill(Tiny())


def batch(model_name, step):
    """The whole batch of one step: 4 rows, rank r trains on rows 2r, 2r+1."""
    width = 4 if model_name == "mlp" else 3
    x = ((torch.arange(4 * width).view(4, width) * 5 + step) % 9 - 4) / 4
    target = ((torch.arange(4 * (3 if model_name == "mlp" else 2)).view(4, -1) + step) % 5) / 4
    return x.float(), target.float()


def make_optimizer(params, kind):
    return (torch.optim.Adam(params, lr=0.05) if kind == "adam"
            else torch.optim.SGD(params, lr=0.1, momentum=0.9))


def reference(model_name, optimizer_kind, clip=None, steps=STEPS):
    """Single-process training on the whole batch: losses and final state dict."""
    model = mlp() if model_name == "mlp" else tiny()
    optimizer = make_optimizer(model.parameters(), optimizer_kind)
    losses = []
    for step in range(steps):
        x, target = batch(model_name, step)
        loss = torch.nn.functional.mse_loss(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        losses.append(loss.detach())
    return {"losses": losses, "state": dict(model.state_dict())}


# -- the distributed cases -------------------------------------------------------------------

def main():
    from torch.distributed.fsdp import (CPUOffload, FullOptimStateDictConfig,
                                        FullStateDictConfig, LocalStateDictConfig,
                                        MixedPrecision, ShardedStateDictConfig,
                                        ShardingStrategy, StateDictType)
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
    from torch.distributed.fsdp.wrap import (ModuleWrapPolicy, enable_wrap,
                                             size_based_auto_wrap_policy,
                                             transformer_auto_wrap_policy, wrap)

    warnings.simplefilter("ignore")
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    cpu = torch.device("cpu")
    results = {}

    def case(name, function):
        if os.environ.get("FSDP_ONLY") and name not in os.environ["FSDP_ONLY"].split(","):
            return
        if os.environ.get("FSDP_TRACE"):
            print(rank, name, file=sys.stderr, flush=True)
        try:
            value = function()
            results[name] = "built" if isinstance(value, torch.nn.Module) else encode(value)
        except Exception as error:  # noqa: BLE001 - the error paths are part of the record
            if os.environ.get("FSDP_TRACE"):
                import traceback
                traceback.print_exc()
            results[name] = {"error": type(error).__name__, "message": str(error)}

    def full_state(model):
        with FSDP.state_dict_type(model, StateDictType.FULL_STATE_DICT):
            return dict(model.state_dict())

    def train(model_name, optimizer_kind="sgd", clip=None, steps=STEPS, **fsdp_kwargs):
        model = FSDP(mlp() if model_name == "mlp" else tiny(), device_id=cpu, **fsdp_kwargs)
        optimizer = make_optimizer(model.parameters(), optimizer_kind)
        losses, norms = [], []
        for step in range(steps):
            x, target = batch(model_name, step)
            rows = slice(2 * rank, 2 * rank + 2)
            loss = torch.nn.functional.mse_loss(model(x[rows]), target[rows])
            optimizer.zero_grad()
            loss.backward()
            if clip is not None:
                norms.append(model.clip_grad_norm_(clip))
            optimizer.step()
            whole = loss.detach().clone()
            dist.all_reduce(whole)
            losses.append(whole / 2)
        return model, optimizer, {"losses": losses, "norms": norms, "state": full_state(model)}

    def layout(model):
        return {"modules": [name for name, _ in model.named_modules()],
                "params": [[name, list(p.shape)] for name, p in model.named_parameters()]}

    # training parity, every strategy; HYBRID_SHARD with the world as the "node" and one
    # group per rank across nodes
    singletons = [dist.new_group([r]) for r in range(dist.get_world_size())]
    for name, kwargs in [
        ("full_shard", {}),
        ("shard_grad_op", {"sharding_strategy": ShardingStrategy.SHARD_GRAD_OP}),
        ("no_shard", {"sharding_strategy": ShardingStrategy.NO_SHARD}),
        ("hybrid", {"sharding_strategy": ShardingStrategy.HYBRID_SHARD,
                    "process_group": (dist.group.WORLD, singletons[rank])}),
        ("orig_params", {"use_orig_params": True}),
    ]:
        case(name, lambda kwargs=kwargs: {**train("mlp", **kwargs)[2],
                                          "layout": layout(FSDP(mlp(), device_id=cpu, **kwargs))})
    case("reference_mlp_sgd", lambda: reference("mlp", "sgd"))

    policy = ModuleWrapPolicy({Block})
    case("tiny_module_policy",
         lambda: {**train("tiny", "adam", auto_wrap_policy=policy)[2],
                  "layout": layout(FSDP(tiny(), device_id=cpu, auto_wrap_policy=policy))})
    transformer = functools.partial(transformer_auto_wrap_policy, transformer_layer_cls={Block})
    case("tiny_transformer_policy_orig",
         lambda: {**train("tiny", "adam", auto_wrap_policy=transformer, use_orig_params=True)[2],
                  "layout": layout(FSDP(tiny(), device_id=cpu, auto_wrap_policy=transformer,
                                        use_orig_params=True))})
    case("reference_tiny_adam", lambda: reference("tiny", "adam"))
    size_policy = functools.partial(size_based_auto_wrap_policy, min_num_params=30)
    case("size_policy", lambda: layout(FSDP(tiny(), device_id=cpu,
                                            auto_wrap_policy=size_policy)))

    def manual():
        with enable_wrap(wrapper_cls=FSDP, device_id=cpu):
            model = tiny()
            model.blocks[0] = wrap(model.blocks[0])
            model = wrap(model)
        outside = wrap(torch.nn.Linear(2, 2))
        return {**layout(model), "outside": type(outside).__name__,
                "fsdp_modules": len(FSDP.fsdp_modules(model)),
                "roots": len(FSDP.fsdp_modules(model, root_only=True)),
                "module": type(model.module).__name__}
    case("enable_wrap", manual)

    # clip_grad_norm_ against the reference's clipping
    case("clip", lambda: train("mlp", clip=0.05)[2])
    case("reference_clip", lambda: reference("mlp", "sgd", clip=0.05))

    # no_sync: two half-steps, the first without communication, match one whole step
    def no_sync(**kwargs):
        model = FSDP(mlp(), device_id=cpu, **kwargs)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        x, target = batch("mlp", 0)
        mine = x[2 * rank:2 * rank + 2], target[2 * rank:2 * rank + 2]
        with model.no_sync():
            (torch.nn.functional.mse_loss(model(mine[0][:1]), mine[1][:1]) / 2).backward()
        (torch.nn.functional.mse_loss(model(mine[0][1:]), mine[1][1:]) / 2).backward()
        optimizer.step()
        return full_state(model)
    case("no_sync", no_sync)
    case("no_sync_orig", lambda: no_sync(use_orig_params=True))
    case("reference_one_step", lambda: reference("mlp", "sgd", steps=1)["state"])

    # mixed precision: half-precision compute, float32 reduction and parameters
    def mixed():
        model, _, record = train("mlp", mixed_precision=MixedPrecision(
            param_dtype=torch.float16, reduce_dtype=torch.float32))
        record["grad_dtype"] = str(model._fsdp_wrapped_module._flat_param.grad.dtype)
        record["param_dtype"] = str(model._fsdp_wrapped_module._flat_param.dtype)
        return record
    case("mixed_precision", mixed)

    def mixed_batchnorm():
        """BatchNorm is wrapped on its own in full precision; buffers in buffer_dtype."""
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8),
                                    torch.nn.ReLU(), torch.nn.Linear(8, 3))
        fill(model)
        model = FSDP(model, device_id=cpu, auto_wrap_policy=ModuleWrapPolicy({torch.nn.Linear}),
                     mixed_precision=MixedPrecision(param_dtype=torch.float16,
                                                    buffer_dtype=torch.float16))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        losses = []
        for step in range(2):
            x, target = batch("mlp", step)
            out = model(x[2 * rank:2 * rank + 2])
            loss = torch.nn.functional.mse_loss(out.float(), target[2 * rank:2 * rank + 2])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.detach().float())
        return {**layout(model), "losses": losses, "out_dtype": str(out.dtype),
                "buffer_dtype": str(model.module[1].module.running_mean.dtype),
                "state": full_state(model)}
    case("mixed_batchnorm", mixed_batchnorm)

    # FULL_SHARD gathers the inner units again in backward, SHARD_GRAD_OP does not
    def gathers(strategy):
        model = FSDP(tiny(), device_id=cpu, auto_wrap_policy=policy, sharding_strategy=strategy)
        model(batch("tiny", 0)[0]).sum().backward()  # the first iteration warms up
        names = [n for n in ("all_gather", "all_gather_into_tensor", "all_gather_single")
                 if hasattr(dist, n)]  # torch's FSDP gathers with whichever gloo has
        real = {name: getattr(dist, name) for name in names}
        count = []

        def counting(name):
            def call(*args, **kwargs):
                count.append(name)
                return real[name](*args, **kwargs)
            return call
        for name in names:
            setattr(dist, name, counting(name))
        try:
            out = model(batch("tiny", 1)[0]).sum()
            forward = len(count)
            out.backward()
        finally:
            for name in names:
                setattr(dist, name, real[name])
        return [forward, len(count)]
    case("gathers", lambda: {name: gathers(getattr(ShardingStrategy, name))
                             for name in ("FULL_SHARD", "SHARD_GRAD_OP")})

    # frozen parameters: allowed with use_orig_params (their .grad stays None)
    def frozen(use_orig_params):
        model = mlp()
        model[0].weight.requires_grad_(False)
        model = FSDP(model, device_id=cpu, use_orig_params=use_orig_params)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        x, target = batch("mlp", 0)
        torch.nn.functional.mse_loss(model(x[2 * rank:2 * rank + 2]),
                                     target[2 * rank:2 * rank + 2]).backward()
        optimizer.step()
        return {"grads": [[n, p.grad is None] for n, p in model.named_parameters()],
                "state": full_state(model)}
    case("frozen_orig", lambda: frozen(True))
    case("error_frozen", lambda: frozen(False))
    case("error_dtypes", lambda: FSDP(torch.nn.Sequential(torch.nn.Linear(2, 2),
                                                          torch.nn.Linear(2, 2).double()),
                                      device_id=cpu))

    # activation checkpointing around FULL_SHARD units: backward recomputes their forward
    def checkpointed():
        plain = tiny()
        plain.checkpointed = True
        model = FSDP(plain, device_id=cpu, auto_wrap_policy=policy)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        losses = []
        for step in range(2):
            x, target = batch("tiny", step)
            loss = torch.nn.functional.mse_loss(model(x[2 * rank:2 * rank + 2]),
                                                target[2 * rank:2 * rank + 2])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
        return {"losses": losses, "state": full_state(model)}
    case("checkpointed", checkpointed)

    # state-dict types
    def state_dicts(**kwargs):
        model = FSDP(tiny(), device_id=cpu, auto_wrap_policy=policy, **kwargs)
        found = {}
        for kind, config in [(StateDictType.SHARDED_STATE_DICT, ShardedStateDictConfig()),
                             (StateDictType.LOCAL_STATE_DICT, LocalStateDictConfig())]:
            with FSDP.state_dict_type(model, kind, config):
                found[kind.name] = encode(dict(model.state_dict()))  # before the loads
        found["settings"] = FSDP.get_state_dict_type(model).state_dict_type
        # round trips: a full state dict with new values, then a sharded and a local one
        with torch.no_grad():
            new = {k: v + 1 for k, v in full_state(model).items()}
        with FSDP.state_dict_type(model, StateDictType.FULL_STATE_DICT):
            model.load_state_dict(new)
        found["after_full_load"] = full_state(model)
        with FSDP.state_dict_type(model, StateDictType.SHARDED_STATE_DICT):
            sharded = model.state_dict()
        other = FSDP(tiny(), device_id=cpu, auto_wrap_policy=policy, **kwargs)
        with FSDP.state_dict_type(other, StateDictType.SHARDED_STATE_DICT):
            other.load_state_dict(sharded)
        found["after_sharded_load"] = full_state(other)
        with FSDP.state_dict_type(model, StateDictType.LOCAL_STATE_DICT):
            local = model.state_dict()
        third = FSDP(tiny(), device_id=cpu, auto_wrap_policy=policy, **kwargs)
        with FSDP.state_dict_type(third, StateDictType.LOCAL_STATE_DICT):
            third.load_state_dict(local)
        found["after_local_load"] = full_state(third)
        return found
    case("state_dicts", state_dicts)

    def rank0_only():
        model = FSDP(tiny(), device_id=cpu, auto_wrap_policy=policy)
        with FSDP.state_dict_type(model, StateDictType.FULL_STATE_DICT,
                                  FullStateDictConfig(offload_to_cpu=True, rank0_only=True)):
            return list(model.state_dict())
    if torch.__name__ != "torch":  # torch 2.13's rank0_only crashes rank 0 on CPU tensors
        case("rank0_only", rank0_only)

    def missing_key():
        model = FSDP(mlp(), device_id=cpu)
        state = full_state(model)
        del state["2.bias"]
        with FSDP.state_dict_type(model, StateDictType.FULL_STATE_DICT):
            model.load_state_dict(state)
    case("missing_key", missing_key)

    # summon_full_params: whole parameters inside, writes kept on exit
    def summon(**kwargs):
        model = FSDP(tiny(), device_id=cpu, auto_wrap_policy=policy, **kwargs)
        with FSDP.summon_full_params(model):
            inside = [[name, list(p.shape)] for name, p in model.named_parameters()]
            with torch.no_grad():
                model.head.weight.mul_(2)
                model.blocks[1].up.bias.fill_(0.5)
        with FSDP.summon_full_params(model, writeback=False):
            with torch.no_grad():
                model.head.bias.fill_(9.0)
        with FSDP.summon_full_params(model, recurse=False):
            top = [[name, list(p.shape)] for name, p in model.named_parameters()]
        return {"inside": inside, "top": top, "state": full_state(model)}
    case("summon", summon)
    case("summon_orig", lambda: summon(use_orig_params=True))

    # optimizer state dicts: saved with whole tensors, loaded into a fresh model
    def optim_state(**kwargs):
        model, optimizer, _ = train("tiny", "adam", auto_wrap_policy=policy, **kwargs)
        saved = FSDP.optim_state_dict(model, optimizer)
        record = encode(saved)  # now: torch's values may alias the optimizer's state
        fresh = FSDP(tiny(), device_id=cpu, auto_wrap_policy=policy, **kwargs)
        with FSDP.state_dict_type(fresh, StateDictType.FULL_STATE_DICT):
            fresh.load_state_dict(full_state(model))
        fresh_optimizer = torch.optim.Adam(fresh.parameters(), lr=0.05)
        fresh_optimizer.load_state_dict(
            FSDP.optim_state_dict_to_load(fresh, fresh_optimizer, saved))
        for trained, opt in ((model, optimizer), (fresh, fresh_optimizer)):
            x, target = batch("tiny", 7)
            loss = torch.nn.functional.mse_loss(trained(x[2 * rank:2 * rank + 2]),
                                                target[2 * rank:2 * rank + 2])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with FSDP.state_dict_type(model, StateDictType.FULL_STATE_DICT, None,
                                  FullOptimStateDictConfig(rank0_only=True)):
            rank0 = FSDP.optim_state_dict(model, optimizer)
        return {"saved": record, "continued": full_state(model), "resumed": full_state(fresh),
                "rank0_only_keys": sorted(rank0.get("state", {}))}
    case("optim_state", optim_state)
    case("optim_state_orig", lambda: optim_state(use_orig_params=True))

    def ignored():
        model = tiny()
        wrapped = FSDP(model, device_id=cpu, auto_wrap_policy=policy, ignored_modules=[model.head])
        optimizer = torch.optim.SGD(wrapped.parameters(), lr=0.1)
        x, target = batch("tiny", 0)
        rows = slice(2 * rank, 2 * rank + 2)
        torch.nn.functional.mse_loss(wrapped(x[rows]), target[rows]).backward()
        optimizer.step()
        return {**layout(wrapped), "state": full_state(wrapped)}
    case("ignored_modules", ignored)

    def sync_states():
        model = mlp()
        if rank == 1:
            with torch.no_grad():
                for p in model.parameters():
                    p.mul_(3)
        return full_state(FSDP(model, device_id=cpu, sync_module_states=True))
    case("sync_module_states", sync_states)

    def sharded_optim():
        model, optimizer, _ = train("mlp", "adam", steps=1)
        with FSDP.state_dict_type(model, StateDictType.SHARDED_STATE_DICT):
            return FSDP.optim_state_dict(model, optimizer)
    case("optim_sharded", sharded_optim)

    def summon_grads():
        model = FSDP(tiny(), device_id=cpu, auto_wrap_policy=policy, use_orig_params=True)
        model(batch("tiny", 0)[0][2 * rank:2 * rank + 2]).sum().backward()
        with FSDP.summon_full_params(model, with_grads=True):
            return [[name, p.grad] for name, p in model.named_parameters()]
    case("summon_with_grads", summon_grads)

    # error paths
    def config_mismatch():
        with FSDP.state_dict_type(FSDP(mlp(), device_id=cpu), StateDictType.FULL_STATE_DICT,
                                  ShardedStateDictConfig()):
            pass
    case("error_config", config_mismatch)

    def local_no_shard():
        model = FSDP(mlp(), device_id=cpu, sharding_strategy=ShardingStrategy.NO_SHARD)
        with FSDP.state_dict_type(model, StateDictType.LOCAL_STATE_DICT):
            return list(model.state_dict())
    case("local_no_shard", local_no_shard)

    def inner_calls():
        model = FSDP(tiny(), device_id=cpu, auto_wrap_policy=policy)
        model(batch("tiny", 0)[0]).sum().backward()
        found = {}
        for name, call in [("clip", lambda: model.blocks[0].clip_grad_norm_(1.0)),
                           ("no_sync", lambda: model.blocks[0].no_sync().__enter__())]:
            try:
                call()
                found[name] = None
            except Exception as error:  # noqa: BLE001
                found[name] = [type(error).__name__, str(error)]
        return found
    case("error_inner", inner_calls)

    def summon_rank0_writeback():
        model = FSDP(mlp(), device_id=cpu)
        with FSDP.summon_full_params(model, rank0_only=True, writeback=True):
            pass
    case("error_summon", summon_rank0_writeback)
    # torch's FSDP1 on a CPU-only machine wants device_id=cpu, and cannot offload
    case("error_no_device", lambda: FSDP(mlp()))
    case("error_cpu_offload", lambda: FSDP(mlp(), device_id=cpu,
                                           cpu_offload=CPUOffload(offload_params=True)))
    case("error_hybrid_manual", lambda: FSDP(mlp(), device_id=cpu,
                                             sharding_strategy=ShardingStrategy.HYBRID_SHARD))

    report("FSDP", rank, results)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
