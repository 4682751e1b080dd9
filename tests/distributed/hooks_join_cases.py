"""DDP communication hooks, futures and the Join context manager, written against
PyTorch's API: collectives_script.py runs these cases under real PyTorch (gloo) and under
ember, so every record here is compared with PyTorch's.

Models use dyadic weights and inputs in float64 so every product and sum is exact: the
trained parameters must be equal, not only close, whatever order the BLAS adds in."""


import copy


def run(case, torch, dist, rank, world):
    from torch.distributed.algorithms.ddp_comm_hooks import debugging_hooks, default_hooks
    from torch.distributed.algorithms.join import Join, Joinable, JoinHook
    from torch.futures import Future, collect_all, wait_all
    from torch.nn.parallel import DistributedDataParallel as DDP

    # -- futures -------------------------------------------------------------------------
    def futures_basic():
        first = Future()
        done_before = first.done()
        first.set_result(5)
        chained = first.then(lambda fut: fut.value() + 1).then(lambda fut: fut.value() * 10)
        calls = []
        first.add_done_callback(lambda fut: calls.append(fut.value()))
        later = Future()
        later.add_done_callback(lambda fut: calls.append(fut.value() * 2))
        later.set_result(4)
        return [done_before, first.done(), first.wait(), first.value(), chained.wait(), calls]

    def futures_errors():
        record = []
        done = Future()
        done.set_result(1)
        try:
            done.set_result(2)
        except RuntimeError as error:
            record.append(str(error))
        failing = done.then(lambda fut: 1 // 0)
        try:
            failing.wait()
        except RuntimeError as error:
            record.append(str(error).split("\n")[0])
        broken = Future()
        broken.set_exception(ValueError("bad input"))
        try:
            broken.wait()
        except ValueError as error:
            record += [broken.done(), type(error).__name__, str(error)]
        return record

    def futures_collect():
        a, b = Future(), Future()
        both = collect_all([a, b])
        states = [both.done()]
        a.set_result(1)
        states.append(both.done())
        b.set_result(torch.ones(2))
        states.append(both.done())
        values = [fut.value() for fut in both.wait()]
        failed = Future()
        failed.set_exception(ValueError("lost"))
        try:
            wait_all([a, failed])
        except ValueError as error:
            states.append(str(error))
        return [states, values, wait_all([a, b])]

    def futures_from_work():
        tensor = torch.arange(3.0) * (rank + 1)
        fut = dist.all_reduce(tensor, async_op=True).get_future()
        doubled = fut.then(lambda f: f.value()[0] * 2)
        value = fut.wait()
        return [len(value), value[0] is tensor, value[0], doubled.wait()]

    case("futures_basic", futures_basic)
    case("futures_errors", futures_errors)
    case("futures_collect", futures_collect)
    case("futures_from_work", futures_from_work)

    # -- DDP with communication hooks ----------------------------------------------------
    def make_model():
        model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2)).double()
        with torch.no_grad():
            model[0].weight.copy_(torch.arange(12.0).view(3, 4) / 8 - 0.75)
            model[0].bias.copy_(torch.tensor([0.5, -0.25, 0.125]))
            model[1].weight.copy_(torch.arange(6.0).view(2, 3) / 4 - 0.5)
            model[1].bias.copy_(torch.tensor([0.25, -0.5]))
        return model

    def batch(step, for_rank=None):
        owner = rank if for_rank is None else for_rank
        x = (torch.arange(8.0).view(2, 4) + 3 * owner - step) / 4
        return x.double()

    def coefficients():
        return torch.tensor([[1.0, -0.5], [0.25, 2.0]], dtype=torch.float64)

    def train(ddp, steps, batches=None):
        optimizer = torch.optim.SGD(ddp.parameters(), lr=0.25)
        for step in range(steps if batches is None else batches):
            optimizer.zero_grad()
            (ddp(batch(step)) * coefficients()).sum().backward()
            optimizer.step()
        return [p.detach().clone() for p in ddp.module.parameters()]

    def hooked(hook, state=None, steps=2):
        def body():
            ddp = DDP(make_model())
            if hook is not None:
                ddp.register_comm_hook(state, hook)
            return train(ddp, steps)
        return body

    case("ddp_hook_none", hooked(None))
    case("ddp_hook_allreduce", hooked(default_hooks.allreduce_hook))
    case("ddp_hook_fp16", hooked(default_hooks.fp16_compress_hook))
    case("ddp_hook_fp16_wrapper",
         hooked(default_hooks.fp16_compress_wrapper(default_hooks.allreduce_hook)))
    case("ddp_hook_noop", hooked(debugging_hooks.noop_hook))
    from torch.distributed.algorithms.ddp_comm_hooks import powerSGD_hook as powerSGD

    def power_sgd(rank_of_factors, steps=4, **kwargs):
        def body():
            state = powerSGD.PowerSGDState(None, matrix_approximation_rank=rank_of_factors,
                                           start_powerSGD_iter=2, **kwargs)
            params = hooked(powerSGD.powerSGD_hook, state, steps)()
            return [params, state.iter, sorted(state.error_dict), state.compression_stats()]
        return body

    # factors of full rank reproduce the average (PowerSGD's random Qs cannot matter)
    case("ddp_hook_powersgd_full", power_sgd(3, min_compression_rate=0))
    case("ddp_hook_powersgd_full_no_feedback",
         power_sgd(3, min_compression_rate=0, use_error_feedback=False, warm_start=False))
    case("ddp_hook_powersgd_plain", power_sgd(1))  # nothing 2x smaller: all plain
    case("ddp_hook_powersgd_error", lambda: powerSGD.PowerSGDState(None, start_powerSGD_iter=1))
    if torch.__name__ == "ember":  # PyTorch allows the bfloat16 hooks with NCCL only
        case("extra_ddp_hook_bf16", hooked(default_hooks.bf16_compress_hook))
        case("extra_ddp_hook_bf16_wrapper",
             hooked(default_hooks.bf16_compress_wrapper(default_hooks.allreduce_hook)))
        # rank-1 factors: a real approximation, from ember's own random Qs
        case("extra_powersgd_rank1", power_sgd(1, min_compression_rate=1))

    def hook_by_name():
        from torch.distributed.algorithms.ddp_comm_hooks import (
            DDPCommHookType,
            register_ddp_comm_hook,
        )

        ddp = DDP(make_model())
        register_ddp_comm_hook(DDPCommHookType.FP16_COMPRESS, ddp)
        return [DDPCommHookType.FP16_COMPRESS.name, train(ddp, 2)]

    case("ddp_hook_by_name", hook_by_name)

    def inspect_buckets():
        seen = []

        def spy(state, bucket):
            state["calls"] += 1
            seen.append([bucket.index(), bucket.is_last(), str(bucket.buffer().dtype).split(".")[-1],
                         list(bucket.buffer().shape),
                         [list(g.shape) for g in bucket.gradients()],
                         [list(p.shape) for p in bucket.parameters()],
                         bucket.buffer().clone()])
            summed = dist.all_reduce(bucket.buffer(), async_op=True).get_future()
            # a hook may return any future of the bucket's flat tensor: here sum * 0.5
            return summed.then(lambda fut: fut.value()[0] * 0.5)

        state = {"calls": 0}
        ddp = DDP(make_model())
        ddp.register_comm_hook(state, spy)
        params = train(ddp, 2)
        return [state["calls"], seen, params]

    case("ddp_hook_bucket", inspect_buckets)

    def set_buffer_hook():
        def halve_then_sum(state, bucket):
            bucket.set_buffer(bucket.buffer() / world)
            fut = dist.all_reduce(bucket.buffer(), async_op=True).get_future()
            return fut.then(lambda f: f.value()[0])

        return hooked(halve_then_sum)()

    case("ddp_hook_set_buffer", set_buffer_hook)

    def hook_errors():
        ddp = DDP(make_model())
        record = []
        for bad in (None, 5):
            try:
                ddp.register_comm_hook(None, bad)
            except TypeError as error:
                record.append(str(error))

        def annotated(state, bucket: int):
            return None

        def returns_int(state, bucket: dist.GradBucket) -> int:
            return 0

        def well_annotated(state, bucket: dist.GradBucket) -> torch.futures.Future[torch.Tensor]:
            return default_hooks.allreduce_hook(state, bucket)

        for hook in (annotated, returns_int):
            try:
                ddp.register_comm_hook(None, hook)
            except ValueError as error:
                record.append(str(error))
        DDP(make_model()).register_comm_hook(None, well_annotated)
        ddp.register_comm_hook(None, default_hooks.allreduce_hook)
        try:
            ddp.register_comm_hook(None, default_hooks.allreduce_hook)
        except RuntimeError as error:
            record.append(str(error))
        return record

    case("ddp_hook_errors", hook_errors)

    # -- Join: uneven inputs -------------------------------------------------------------
    class CounterJoinHook(JoinHook):
        def __init__(self, counter, sync_max_count):
            self.counter = counter
            self.sync_max_count = sync_max_count

        def main_hook(self):
            shadow = torch.zeros(1)
            dist.all_reduce(shadow)

        def post_hook(self, is_last_joiner):
            self.counter.last_joiner = is_last_joiner
            if not self.sync_max_count:
                return
            candidate = torch.tensor([rank if is_last_joiner else -1])
            dist.all_reduce(candidate, op=dist.ReduceOp.MAX)
            if rank == candidate.item():
                self.counter.max_count = self.counter.count.detach().clone()
            dist.broadcast(self.counter.max_count, src=int(candidate.item()))

    class Counter(Joinable):
        def __init__(self):
            super().__init__()
            self.count = torch.zeros(1)
            self.max_count = torch.zeros(1)
            self.last_joiner = None

        def __call__(self):
            Join.notify_join_context(self)
            ones = torch.ones(1)
            dist.all_reduce(ones)
            self.count += ones

        def join_hook(self, **kwargs):
            return CounterJoinHook(self, kwargs.get("sync_max_count", False))

        @property
        def join_device(self):
            return torch.device("cpu")

        @property
        def join_process_group(self):
            return dist.group.WORLD

    def counter():
        counters = [Counter(), Counter()]
        with Join(counters, sync_max_count=True):
            for _ in range(3 + 2 * rank):
                for item in counters:
                    item()
        return [[c.count, c.max_count, c.last_joiner] for c in counters]

    case("join_counter", counter)

    def join_errors():
        record = []
        try:
            Join([])
        except ValueError as error:
            record.append(str(error))
        try:
            Joinable()
        except TypeError as error:
            record.append(type(error).__name__)
        return record

    case("join_errors", join_errors)

    def uneven(divide=True, hook=None, throw=False, batches_by_rank=(2, 4)):
        def body():
            ddp = DDP(make_model())
            if hook is not None:
                ddp.register_comm_hook(None, hook)
            optimizer = torch.optim.SGD(ddp.parameters(), lr=0.25)
            grads = []
            with ddp.join(divide_by_initial_world_size=divide, throw_on_early_termination=throw):
                for step in range(batches_by_rank[rank]):
                    optimizer.zero_grad()
                    (ddp(batch(step)) * coefficients()).sum().backward()
                    grads.append(ddp.module[0].weight.grad.clone())
                    optimizer.step()
            return [grads, [p.detach().clone() for p in ddp.module.parameters()]]
        return body

    case("join_ddp", uneven())
    case("join_ddp_divide_by_current", uneven(divide=False))
    case("join_ddp_hook", uneven(hook=default_hooks.allreduce_hook))
    case("join_ddp_rank0_longer", uneven(batches_by_rank=(3, 1)))
    case("join_ddp_even", uneven(batches_by_rank=(2, 2)))
    case("join_ddp_throw", uneven(throw=True))

    def join_buffers_unused():
        """Buffers come from the highest rank still training; a branch only rank 1 uses
        needs find_unused_parameters, and the joined rank 0 shadows its used-map too."""
        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.body = make_model()
                self.norm = torch.nn.BatchNorm1d(2).double()
                self.extra = torch.nn.Linear(2, 2).double()

            def forward(self, x, branch):
                out = self.norm(self.body(x))
                return self.extra(out) if branch else out

        torch.manual_seed(0)
        net = Net()
        with torch.no_grad():
            net.extra.weight.copy_(torch.tensor([[0.5, -0.25], [1.0, 0.75]]))
            net.extra.bias.zero_()
        ddp = DDP(net, find_unused_parameters=True)
        optimizer = torch.optim.SGD(ddp.parameters(), lr=0.125)
        with ddp.join():
            for step in range((2, 3)[rank]):
                optimizer.zero_grad()
                (ddp(batch(step), step == 2) * coefficients()).sum().backward()
                optimizer.step()
        return [[p.detach().clone() for p in net.parameters()],
                [b.clone() for b in net.buffers()]]

    case("join_ddp_buffers_unused", join_buffers_unused)

    # -- ZeroRedundancyOptimizer ---------------------------------------------------------
    from torch.distributed.optim import ZeroRedundancyOptimizer

    def zero(optimizer_class, groups=False, batches_by_rank=(3, 3), reload=False, **kwargs):
        def body():
            ddp = DDP(make_model())
            params = ddp.parameters()
            if groups:
                params = [{"params": list(ddp.module[0].parameters())},
                          {"params": list(ddp.module[1].parameters()), "lr": 0.125}]
            optimizer = ZeroRedundancyOptimizer(params, optimizer_class=optimizer_class,
                                                **kwargs)
            shard = [[list(p.shape) for p in g["params"]] for g in optimizer.optim.param_groups]
            with Join([ddp, optimizer]):
                for step in range(batches_by_rank[rank]):
                    optimizer.zero_grad()
                    (ddp(batch(step)) * coefficients()).sum().backward()
                    optimizer.step()
            optimizer.consolidate_state_dict(to=0)
            try:
                saved = optimizer.state_dict()
                record = copy.deepcopy([saved["state"],
                                        [g["params"] for g in saved["param_groups"]],
                                        [g["lr"] for g in saved["param_groups"]]])
            except RuntimeError as error:
                saved, record = None, str(error)
            trained = [p.detach().clone() for p in ddp.module.parameters()]
            if reload:  # a fresh optimizer on every rank resumes from rank 0's checkpoint
                shared = [saved]
                dist.broadcast_object_list(shared, src=0)
                fresh = DDP(make_model())
                resumed = ZeroRedundancyOptimizer(fresh.parameters(),
                                                  optimizer_class=optimizer_class, **kwargs)
                resumed.load_state_dict(shared[0])
                (fresh(batch(0)) * coefficients()).sum().backward()
                resumed.step()
                trained.append([p.detach().clone() for p in fresh.module.parameters()])
                trained.append(sorted(k for k, v in shared[0]["state"].items() if v is None))
            return [shard, record, trained]
        return body

    case("zero_sgd", zero(torch.optim.SGD, lr=0.25, momentum=0.5, reload=True))
    case("zero_adam_groups", zero(torch.optim.Adam, groups=True, lr=0.0625))
    case("zero_join", zero(torch.optim.SGD, batches_by_rank=(2, 4), lr=0.25, momentum=0.5))
    dist.barrier()
