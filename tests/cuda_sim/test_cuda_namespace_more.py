"""The rest of torch.cuda's namespace on a GPU: legacy typed tensors and storages, stream
contexts and external streams, CUDA graphs (capture, replay, pools, make_graphed_callables),
device and allocator queries, and ember.accelerator forwarding to cuda. Run on the CuPy
double in CI and on real CuPy by scripts/gpu_check.sh; values are checked against torch on
the CPU doing the same work."""

import re
import sys
import types
import warnings

import numpy as np
import pytest
import torch

import ember


def _host(t):
    return torch.from_numpy(np.array(t.cpu().numpy()))


# -- legacy typed tensors and storages -------------------------------------------------------


TYPED = [("FloatTensor", torch.float32), ("DoubleTensor", torch.float64),
         ("HalfTensor", torch.float16), ("LongTensor", torch.int64), ("IntTensor", torch.int32),
         ("ShortTensor", torch.int16), ("CharTensor", torch.int8), ("ByteTensor", torch.uint8),
         ("BoolTensor", torch.bool)]


@pytest.mark.parametrize("name, dtype", TYPED)
def test_typed_tensors_build_cuda_tensors_of_their_dtype(name, dtype):
    cls = getattr(ember.cuda, name)
    data = [[1, 0, 3], [0, 5, 1]]
    made = cls(data)
    assert made.device == ember.device("cuda", ember.cuda.current_device())
    torch.testing.assert_close(_host(made), getattr(torch, name)(data))
    sized = cls(2, 3)
    assert sized.shape == (2, 3) and sized.is_cuda and str(sized.dtype) == str(dtype)
    assert cls().shape == (0,) and cls(ember.Size([4])).shape == (4,)
    assert isinstance(made, cls) and not isinstance(made.cpu(), cls)
    assert isinstance(made.cpu(), getattr(ember, name)) and not isinstance(made,
                                                                          getattr(ember, name))
    assert cls(made) is made
    assert made.type() == f"torch.cuda.{name}"
    assert cls.is_cuda and str(cls.dtype) == str(dtype)
    assert repr(cls) == repr(getattr(torch.cuda, name))


def test_typed_tensor_devices_and_errors():
    last = ember.cuda.device_count() - 1
    assert ember.cuda.FloatTensor(2, device=f"cuda:{last}").device == ember.device("cuda", last)
    with ember.cuda.device(last):
        assert ember.cuda.LongTensor([1]).device == ember.device("cuda", last)
    with pytest.raises(RuntimeError, match="legacy constructor expects device type: cuda but "
                                           "device type: cpu was passed"):
        ember.cuda.FloatTensor(2, device="cpu")
    with pytest.raises(TypeError, match="expected torch.float32 cuda tensor"):
        ember.cuda.FloatTensor(ember.zeros(2, dtype=ember.float64, device="cuda"))
    with pytest.raises(TypeError, match="unexpected keyword argument 'dtype'"):
        ember.cuda.FloatTensor(2, dtype=ember.float64)


def test_typed_storages_live_on_the_gpu():
    zeros, values = ember.cuda.FloatStorage(3), ember.cuda.LongStorage([4, 5])
    assert zeros.is_cuda and zeros.tolist() == [0.0, 0.0, 0.0] and zeros.dtype == ember.float32
    assert values.tolist() == [4, 5] and values.type() == "torch.cuda.LongStorage"
    assert ember.cuda.FloatStorage.dtype == ember.float32 == zeros.dtype
    tensor = ember.ones(3, device="cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # TypedStorage's deprecation, once
        storage, host_storage = tensor.storage(), ember.ones(3).storage()
    assert isinstance(storage, ember.cuda.FloatStorage)
    assert not isinstance(storage, ember.cuda.DoubleStorage)
    assert not isinstance(host_storage, ember.cuda.FloatStorage)
    assert isinstance(zeros, ember.TypedStorage)
    with pytest.raises(RuntimeError, match="Not available for 'cpu' storage"):
        ember.cuda.FloatStorage(2, device="cpu")


# -- stream contexts and external streams ----------------------------------------------------


def test_stream_context_switches_stream_and_device_and_restores_both():
    last = ember.cuda.device_count() - 1
    default = ember.cuda.current_stream()
    side = ember.cuda.Stream()
    with ember.cuda.StreamContext(side):
        assert ember.cuda.current_stream() == side
        with ember.cuda.stream(None):  # None: no-op, as torch
            assert ember.cuda.current_stream() == side
    assert ember.cuda.current_stream() == default
    other = ember.cuda.Stream(device=last)
    with ember.cuda.stream(other):
        assert ember.cuda.current_device() == last
        assert ember.cuda.current_stream() == other
    assert ember.cuda.current_device() == 0 and ember.cuda.current_stream() == default
    assert isinstance(ember.cuda.stream(side), ember.cuda.StreamContext)


def test_external_streams_wrap_a_raw_handle(cupy_backend):
    raw = cupy_backend.cuda.Stream(non_blocking=True)
    external = ember.cuda.ExternalStream(raw.ptr)
    assert isinstance(external, ember.cuda.ExternalStream)
    assert isinstance(external, ember.cuda.Stream)
    assert external.cuda_stream == raw.ptr and external.device == ember.device("cuda", 0)
    same = ember.cuda.get_stream_from_external(raw.ptr, device=0)
    assert same == external
    with ember.cuda.stream(external):
        assert ember.cuda.current_stream().cuda_stream == raw.ptr
        y = ember.arange(4.0, device="cuda") * 2
    external.synchronize()
    assert y.tolist() == [0.0, 2.0, 4.0, 6.0]


# -- CUDA graphs -----------------------------------------------------------------------------


def test_graph_replays_captured_work_on_new_inputs():
    static_x = ember.zeros(2, 3, device="cuda")
    weight = ember.tensor([[1.0, -2.0], [0.5, 3.0], [2.0, 1.0]], device="cuda")
    g = ember.cuda.CUDAGraph()
    with ember.cuda.graph(g):
        assert ember.cuda.is_current_stream_capturing()
        static_y = (static_x @ weight).relu() + static_x.sum()
    assert not ember.cuda.is_current_stream_capturing()
    for seed in range(2):
        host = torch.randn(2, 3, generator=torch.Generator().manual_seed(seed))
        static_x.copy_(ember.tensor(host.numpy(), device="cuda"))
        g.replay()
        expected = (host @ torch.tensor(weight.cpu().numpy())).relu() + host.sum()
        torch.testing.assert_close(_host(static_y), expected)


def test_captured_in_place_work_runs_at_replay_only():
    counter = ember.zeros(3, device="cuda")
    g = ember.cuda.CUDAGraph()
    with ember.cuda.graph(g):
        counter.add_(1)
        counter[0] = counter[0] * 10
    assert counter.tolist() == [0.0, 0.0, 0.0]  # capture records, it does not run
    g.replay()
    g.replay()
    assert counter.tolist() == [110.0, 2.0, 2.0]


def test_graph_api_errors_and_pools(tmp_path):
    g = ember.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="without a preceding successful capture"):
        g.replay()
    with pytest.raises(RuntimeError, match="without a preceding successful capture"):
        g.pool()
    with pytest.raises(RuntimeError, match="must be captured on a non-default stream"):
        g.capture_begin()  # the current stream is the default one
    with pytest.raises(RuntimeError, match="Unknown capture error mode"):
        ember.cuda.graph(g, capture_error_mode="loose").__enter__()
    x = ember.ones(4, device="cuda")
    g.enable_debug_mode()
    with ember.cuda.graph(g, capture_error_mode="thread_local"):
        y = x * 3
    with pytest.raises(RuntimeError, match="already owns a captured graph"):
        g.capture_begin()
    shared = ember.cuda.CUDAGraph()
    with ember.cuda.graph(shared, pool=g.pool()):
        z = y + 1
    assert shared.pool() is g.pool()
    handle = ember.cuda.graph_pool_handle()
    third = ember.cuda.CUDAGraph()
    with ember.cuda.graph(third, pool=handle):
        w = z * 2
    assert third.pool() is handle
    g.replay()
    shared.replay()
    third.replay()
    assert w.tolist() == [8.0] * 4
    g.debug_dump(str(tmp_path / "graph.dot"))
    assert (tmp_path / "graph.dot").read_text().startswith("digraph")
    g.reset()
    with pytest.raises(RuntimeError, match="without a preceding successful capture"):
        g.replay()


def test_host_synchronisation_during_capture_fails_the_capture():
    x = ember.ones(3, device="cuda")
    g = ember.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="capturing"):
        with ember.cuda.graph(g):
            (x * 2).sum().item()
    assert not ember.cuda.is_current_stream_capturing()
    assert ember.cuda.current_stream() == ember.cuda.default_stream()
    assert (x * 2).sum().item() == 6.0  # the stream works normally afterwards


def _copy_into(torch_module, ember_module):
    for (_, tp), (_, ep) in zip(torch_module.named_parameters(), ember_module.named_parameters()):
        with ember.no_grad():
            ep.copy_(ember.tensor(tp.detach().numpy(), device="cuda"))


def test_make_graphed_callables_module_forward_and_backward_match_torch():
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(),
                                    torch.nn.Linear(5, 2))
    model = ember.nn.Sequential(ember.nn.Linear(4, 5), ember.nn.Tanh(),
                                ember.nn.Linear(5, 2)).to("cuda")
    _copy_into(reference, model)
    sample = ember.zeros(3, 4, device="cuda")
    graphed = ember.cuda.make_graphed_callables(model, (sample,), num_warmup_iters=1)
    assert graphed is model
    for seed in range(2):
        host = torch.randn(3, 4, generator=torch.Generator().manual_seed(seed))
        upstream = torch.randn(3, 2, generator=torch.Generator().manual_seed(seed + 5))
        model.zero_grad()
        reference.zero_grad()
        out = model(ember.tensor(host.numpy(), device="cuda"))
        out.backward(ember.tensor(upstream.numpy(), device="cuda"))
        expected = reference(host)
        expected.backward(upstream)
        torch.testing.assert_close(_host(out.detach()), expected.detach())
        for (_, tp), (_, ep) in zip(reference.named_parameters(), model.named_parameters()):
            torch.testing.assert_close(_host(ep.grad), tp.grad)
    model.eval()  # the other mode runs the original forward
    out = model(ember.ones(1, 4, device="cuda"))
    torch.testing.assert_close(_host(out.detach()), reference(torch.ones(1, 4)).detach())


def test_make_graphed_callables_functions_with_input_grads():
    def f(a, b):
        return (a * b).sin(), a.exp().sum()

    sample = (ember.zeros(3, device="cuda", requires_grad=True),
              ember.zeros(3, device="cuda", requires_grad=True))
    graphed = ember.cuda.make_graphed_callables(f, sample, num_warmup_iters=1)
    ha, hb = torch.tensor([0.1, -0.4, 0.7]), torch.tensor([1.5, 0.2, -0.3])
    a = ember.tensor(ha.numpy(), device="cuda", requires_grad=True)
    b = ember.tensor(hb.numpy(), device="cuda", requires_grad=True)
    first, second = graphed(a, b)
    (first.sum() + second).backward()
    ta, tb = ha.clone().requires_grad_(), hb.clone().requires_grad_()
    t_first, t_second = f(ta, tb)
    (t_first.sum() + t_second).backward()
    torch.testing.assert_close(_host(first.detach()), t_first.detach())
    torch.testing.assert_close(_host(a.grad), ta.grad)
    torch.testing.assert_close(_host(b.grad), tb.grad)


def test_make_graphed_callables_rejects_what_torch_rejects():
    model = ember.nn.Linear(2, 2).to("cuda")
    model.register_forward_hook(lambda *args: None)
    with pytest.raises(AssertionError, match="Modules must not have hooks registered"):
        ember.cuda.make_graphed_callables(model, (ember.zeros(1, 2, device="cuda"),))
    with pytest.raises(TypeError, match="sample_args for each callable must contain only "
                                        "Tensors"):
        ember.cuda.make_graphed_callables(lambda x, n: x * n,
                                          (ember.zeros(1, device="cuda"), 3))


# -- device and allocator queries ------------------------------------------------------------


def test_architectures_and_device_queries():
    archs = ember.cuda.get_arch_list()
    assert archs and all(re.fullmatch(r"sm_\d+", a) for a in archs)
    flags = ember.cuda.get_gencode_flags().split(" -gencode ")
    assert len(flags) == len(archs)
    assert ember.cuda.get_gencode_flags().startswith(
        f"-gencode compute=compute_{archs[0][3:]},code=sm_{archs[0][3:]}")
    last = ember.cuda.device_count() - 1
    assert isinstance(ember.cuda.can_device_access_peer(0, last), bool)
    with pytest.raises(AssertionError, match="Invalid peer device id"):
        ember.cuda.can_device_access_peer(0, last + 1)
    with pytest.raises(AssertionError, match="Invalid device id"):
        ember.cuda.can_device_access_peer(last + 1, 0)
    major = ember.cuda.get_device_capability()[0]
    assert ember.cuda.is_tf32_supported() == (major >= 8)
    assert isinstance(ember.cuda.current_blas_handle(), int)
    assert isinstance(ember.cuda.current_solver_handle(), int)
    assert ember.cuda.has_half and not ember.cuda.has_magma
    assert len(ember.cuda.default_generators) == ember.cuda.device_count()
    ember.cuda.ipc_collect()


def test_cuda_errors():
    runtime = ember.cuda.cudart()
    assert runtime.cudaProfilerStart() == 0 and runtime.cudaProfilerStop() == 0
    assert runtime.cudaGetErrorString(2) == "out of memory"
    assert ember.cuda.check_error(0) is None
    with pytest.raises(ember.cuda.CudaError, match=re.escape("out of memory (2)")):
        ember.cuda.check_error(2)
    assert issubclass(ember.cuda.CudaError, RuntimeError)
    assert ember.cuda.OutOfMemoryError is ember.OutOfMemoryError


def test_memory_fraction_raw_allocations_and_stats():
    assert ember.cuda.get_per_process_memory_fraction() == 1.0
    ember.cuda.set_per_process_memory_fraction(0.5)
    try:
        assert ember.cuda.get_per_process_memory_fraction() == 0.5
    finally:
        ember.cuda.set_per_process_memory_fraction(1.0)
    with pytest.raises(TypeError, match="Invalid type for fraction argument, must be `float`"):
        ember.cuda.set_per_process_memory_fraction(1)
    with pytest.raises(ValueError, match="Invalid fraction value: 1.5. Allowed range: 0~1"):
        ember.cuda.set_per_process_memory_fraction(1.5)
    free, total = ember.cuda.mem_get_info()
    assert 0 <= ember.cuda.device_memory_used() <= total
    before = ember.cuda.memory_allocated()
    pointer = ember.cuda.caching_allocator_alloc(1 << 20)
    assert isinstance(pointer, int) and ember.cuda.memory_allocated() >= before + (1 << 20)
    ember.cuda.caching_allocator_delete(pointer)
    assert ember.cuda.memory_allocated() == before
    with pytest.raises(RuntimeError, match="invalid device pointer"):
        ember.cuda.caching_allocator_delete(pointer)
    assert ember.cuda.get_allocator_backend() in ("native", "cudaMallocAsync")
    held = ember.zeros(256, device="cuda")
    nested = ember.cuda.memory_stats_as_nested_dict()
    assert nested["allocated_bytes"]["all"]["current"] == ember.cuda.memory_allocated() > 0
    assert isinstance(ember.cuda.host_memory_stats(), dict)
    assert isinstance(ember.cuda.host_memory_stats_as_nested_dict(), dict)
    del held


# -- ember.accelerator on a GPU --------------------------------------------------------------


def test_accelerator_forwards_to_cuda():
    acc = ember.accelerator
    last = ember.cuda.device_count() - 1
    assert acc.current_device_index() == 0
    with acc.device_index(last):
        assert acc.current_device_index() == last == ember.cuda.current_device()
    assert acc.current_device_index() == 0
    with pytest.warns(FutureWarning, match="Use `current_device_index` instead."):
        assert acc.current_device_idx() == 0
    with pytest.warns(FutureWarning, match="Use `set_device_index` instead."):
        acc.set_device_idx(0)
    side = ember.cuda.Stream()
    default = acc.current_stream()
    acc.set_stream(side)
    try:
        assert acc.current_stream() == side
    finally:
        acc.set_stream(default)
    assert ember.float32 in acc.get_device_capability()["supported_dtypes"]
    held = ember.zeros(1024, device="cuda")
    assert acc.memory_allocated() == ember.cuda.memory_allocated() > 0
    assert acc.memory_stats() == ember.cuda.memory_stats()
    assert acc.max_memory_allocated() >= acc.memory_allocated()
    assert acc.memory_reserved() >= acc.memory_allocated()
    assert acc.max_memory_reserved() >= acc.memory_reserved()
    free, total = acc.get_memory_info()  # free memory moves with other processes' use
    assert total == ember.cuda.mem_get_info()[1] and 0 <= free <= total
    acc.reset_peak_memory_stats()
    acc.reset_accumulated_memory_stats()
    acc.empty_cache()
    acc.empty_host_cache()
    acc.synchronize()
    with pytest.raises(ValueError, match="cpu doesn't match the current accelerator cuda"):
        acc.memory_allocated("cpu")
    with pytest.raises(RuntimeError, match="Accelerator expected"):
        acc.set_stream(None)
    del held


# -- NVTX ranges and the older memory names --------------------------------------------------


def test_nvtx_ranges_and_markers(cupy_backend):
    nvtx = ember.cuda.nvtx
    assert nvtx.range_push("outer") == 0
    assert nvtx.range_push("inner") == 1
    nvtx.mark("here")
    assert nvtx.range_pop() == 1
    assert nvtx.range_pop() == 0
    assert nvtx.range_pop() == -1  # nothing open: NVTX's negative answer

    @nvtx.range("step {}", 3)
    def step():
        return ember.ones(2, device="cuda").sum()

    assert step().item() == 2.0
    range_id = nvtx.range_start("async")
    nvtx.range_end(range_id)
    events = getattr(cupy_backend.cuda.nvtx, "events", None)  # the CuPy double records them
    if events is not None:
        assert events == [("push", "outer"), ("push", "inner"), ("mark", "here"), ("pop",),
                          ("pop",), ("push", "step 3"), ("pop",), ("start", "async"),
                          ("end", range_id)]


def test_older_memory_names_warn_and_forward():
    held = ember.zeros(512, device="cuda")
    with pytest.warns(FutureWarning, match="`torch.cuda.memory_cached` has been renamed to "
                                           "`torch.cuda.memory_reserved`"):
        assert ember.cuda.memory_cached() == ember.cuda.memory_reserved()
    with pytest.warns(FutureWarning, match="renamed to `torch.cuda.max_memory_reserved`"):
        assert ember.cuda.max_memory_cached() == ember.cuda.max_memory_reserved()
    del held
    for name in ("reset_max_memory_allocated", "reset_max_memory_cached"):
        with pytest.warns(FutureWarning, match=f"torch.cuda.{name} now calls "
                                               "torch.cuda.reset_peak_memory_stats"):
            getattr(ember.cuda, name)()
        assert ember.cuda.max_memory_allocated() == ember.cuda.memory_allocated()
    ember.cuda.reset_accumulated_memory_stats()


def test_sync_debug_mode_reports_host_reads_of_device_values():
    x = ember.arange(3.0, device="cuda")
    assert ember.cuda.get_sync_debug_mode() == 0
    try:
        ember.cuda.set_sync_debug_mode("warn")
        assert ember.cuda.get_sync_debug_mode() == 1
        for read in (lambda: x.sum().item(), lambda: x.tolist(), lambda: x.cpu(),
                     lambda: x.numpy(force=True), lambda: bool(x[1])):
            with pytest.warns(UserWarning, match="called a synchronizing CUDA operation"):
                read()
        ember.cuda.set_sync_debug_mode(2)
        with pytest.raises(RuntimeError, match="called a synchronizing CUDA operation"):
            x.sum().item()
        assert ember.ones(2).sum().item() == 2.0  # cpu tensors never wait for the GPU
        assert (x * 2).shape == (3,)  # device work alone is fine
        with pytest.raises(RuntimeError, match="invalid value of debug_mode"):
            ember.cuda.set_sync_debug_mode("loud")
    finally:
        ember.cuda.set_sync_debug_mode("default")
    assert ember.cuda.get_sync_debug_mode() == 0
    assert x.tolist() == [0.0, 1.0, 2.0]


def test_mem_pool_takes_the_allocations_inside_use_mem_pool(cupy_backend):
    pool = ember.cuda.MemPool()
    first, second = pool.id
    assert isinstance(first, int) and isinstance(second, int) and pool.id != \
        ember.cuda.MemPool().id
    default = cupy_backend.get_default_memory_pool()
    default_before, total_before = default.used_bytes(), ember.cuda.memory_allocated()
    assert pool.use_count() == 1
    with ember.cuda.use_mem_pool(pool):
        assert pool.use_count() == 2
        x = ember.zeros(1 << 16, device="cuda")
    assert pool.use_count() == 1
    assert default.used_bytes() == default_before  # the tensor's memory is the pool's
    assert ember.cuda.memory_allocated() >= total_before + x.nbytes  # and still counted
    y = ember.zeros(1 << 16, device="cuda")  # outside the block: the default pool again
    assert default.used_bytes() >= default_before + y.nbytes
    del x
    assert ember.cuda.memory_allocated() == total_before + y.nbytes
    with pytest.raises(ValueError, match="custom allocator is not supported"):
        ember.cuda.MemPool(allocator=object())


def test_whole_training_step_captured_with_sgd_matches_torch():
    """PyTorch's whole-network capture recipe: warm up on a side stream, capture forward,
    backward and SGD's step, then feed new batches through the static tensors."""
    torch.manual_seed(1)
    reference = torch.nn.Linear(3, 2)
    model = ember.nn.Linear(3, 2).to("cuda")
    _copy_into(reference, model)
    optimizer = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    torch_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    generator = torch.Generator().manual_seed(2)
    batches = [(torch.randn(4, 3, generator=generator), torch.randn(4, 2, generator=generator))
               for _ in range(5)]
    static_x, static_y = ember.zeros(4, 3, device="cuda"), ember.zeros(4, 2, device="cuda")

    def load(i):
        static_x.copy_(ember.tensor(batches[i][0].numpy(), device="cuda"))
        static_y.copy_(ember.tensor(batches[i][1].numpy(), device="cuda"))

    def torch_step(i):
        torch_optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(reference(batches[i][0]), batches[i][1])
        loss.backward()
        torch_optimizer.step()
        return loss.detach()

    with ember.cuda.stream(ember.cuda.Stream()):
        for i in range(2):
            load(i)
            optimizer.zero_grad(set_to_none=True)
            ember.nn.functional.mse_loss(model(static_x), static_y).backward()
            optimizer.step()
            torch_step(i)
    g = ember.cuda.CUDAGraph()
    optimizer.zero_grad(set_to_none=True)
    with ember.cuda.graph(g):
        static_loss = ember.nn.functional.mse_loss(model(static_x), static_y)
        static_loss.backward()
        optimizer.step()
    for i in range(2, 5):
        load(i)
        g.replay()
        torch.testing.assert_close(_host(static_loss.detach()), torch_step(i))
    torch.testing.assert_close(_host(model.weight.detach()), reference.weight.detach())
    torch.testing.assert_close(_host(model.bias.detach()), reference.bias.detach())


@pytest.mark.parametrize("capturable", [False, True])
def test_optimizers_with_host_step_counts_refuse_capture(capturable):
    weight = ember.nn.Parameter(ember.ones(2, device="cuda"))
    optimizer = ember.optim.Adam([weight], capturable=capturable)
    (weight * 2).sum().backward()
    g = ember.cuda.CUDAGraph()
    message = ("Attempting CUDA graph capture of step() for an instance of Adam but "
               "param_groups' capturable is False." if not capturable else
               "ember keeps its step count on the host")
    with pytest.raises(RuntimeError, match=re.escape(message)):
        with ember.cuda.graph(g):
            optimizer.step()
    optimizer.step()  # outside a capture it steps as usual
    assert weight.tolist() != [1.0, 1.0]


def test_memory_summary_prints_current_and_peak_bytes():
    held = ember.zeros(1 << 18, device="cuda")  # 1 MiB
    summary = ember.cuda.memory_summary()
    lines = summary.splitlines()
    assert "memory summary, device ID 0" in lines[1]
    assert len({len(line) for line in lines}) == 1  # a rectangular table
    allocated = next(line for line in lines if line.startswith("| Allocated memory"))
    assert "MiB" in allocated
    assert "GPU reserved memory" in summary
    del held


def test_make_graphed_callables_unused_inputs_and_no_warmup():
    sample = (ember.zeros(2, device="cuda", requires_grad=True),
              ember.zeros(2, device="cuda", requires_grad=True))
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        ember.cuda.make_graphed_callables(lambda a, b: a * 2, sample, num_warmup_iters=0)
    graphed = ember.cuda.make_graphed_callables(lambda a, b: a * 2, sample, num_warmup_iters=0,
                                                allow_unused_input=True)
    a = ember.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    b = ember.tensor([3.0, 4.0], device="cuda", requires_grad=True)
    out = graphed(a, b)
    out.backward(ember.tensor([1.0, -1.0], device="cuda"))
    assert out.tolist() == [2.0, 4.0] and a.grad.tolist() == [2.0, -2.0] and b.grad is None


# -- jiterator -------------------------------------------------------------------------------

JIT_CODE = ("template <typename T> T twice(T x) { return x + x; }\n"
            "template <typename T> T my_kernel(T x, T y, T alpha) "
            "{ return -x + alpha * twice(y); }")


def test_jiterator_kernel_from_a_cpp_string(cupy_backend):
    fn = ember.cuda.jiterator._create_jit_fn(JIT_CODE, alpha=1.0)
    assert fn.kernel_name == "my_kernel"
    a = ember.tensor([[1.0, 2.0], [3.0, 4.0]], device="cuda")
    b = ember.tensor([0.5, -1.0], device="cuda", dtype=ember.float64)
    with pytest.raises(KeyError, match="beta is not declared in function definition"):
        fn(a, b, beta=2.0)
    with pytest.raises(AssertionError, match="jiterator only supports up to 8 tensor inputs"):
        fn(*[a] * 9)
    with pytest.raises(RuntimeError, match="every input must be a cuda tensor"):
        fn(a, b.cpu())
    out = fn(a, b, alpha=3.0)  # the double compiles the string with g++
    ta, tb = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([0.5, -1.0], dtype=torch.float64)
    torch.testing.assert_close(_host(out), -ta + 3.0 * (tb + tb))


def test_nvml_readings_and_process_list(monkeypatch):
    """NVML's Python binding (nvidia-ml-py) answers these; a stand-in module with NVML's
    call names and return shapes checks how ember asks and formats."""
    process = types.SimpleNamespace(pid=4242, usedGpuMemory=3 * 1024 * 1024 + 512 * 1024)
    calls = []
    nvml = types.SimpleNamespace(
        nvmlInit=lambda: calls.append("init"),
        nvmlDeviceGetHandleByIndex=lambda index: ("handle", index),
        nvmlDeviceGetComputeRunningProcesses=lambda handle: [process] if handle[1] == 0 else [],
        nvmlDeviceGetUtilizationRates=lambda handle: types.SimpleNamespace(gpu=37, memory=12),
        nvmlDeviceGetTemperature=lambda handle, sensor: 55 + sensor,
        nvmlDeviceGetPowerUsage=lambda handle: 71000,
        nvmlDeviceGetClockInfo=lambda handle, kind: 1410 if kind == 1 else 0,
    )
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    assert ember.cuda.list_gpu_processes(0) == \
        "GPU:0\nprocess       4242 uses        3.500 MB GPU memory"
    last = ember.cuda.device_count() - 1
    if last:
        assert ember.cuda.list_gpu_processes(last) == f"GPU:{last}\nno processes are running"
    assert ember.cuda.utilization() == 37 and ember.cuda.memory_usage() == 12
    assert ember.cuda.temperature() == 55 and ember.cuda.power_draw() == 71000
    assert ember.cuda.clock_rate() == 1410 and "init" in calls


def test_cupy_stream_capture_semantics_the_double_imitates(cupy_backend):
    """CuPy's own capture API, run the same on real CuPy and on the double (so a GPU run
    checks the double): captured work does not run until launch, and every launch reads
    the inputs' current values and writes the same outputs."""
    cp = cupy_backend
    a = cp.arange(4, dtype=cp.float32)
    stream = cp.cuda.Stream(non_blocking=True)
    with stream:
        stream.begin_capture()
        assert stream.is_capturing()
        b = a * 3
        a += 1
        captured = stream.end_capture()
    assert not stream.is_capturing()
    assert cp.asnumpy(a).tolist() == [0.0, 1.0, 2.0, 3.0]  # nothing ran during capture
    captured.launch(stream)
    stream.synchronize()
    assert cp.asnumpy(b).tolist() == [0.0, 3.0, 6.0, 9.0]
    assert cp.asnumpy(a).tolist() == [1.0, 2.0, 3.0, 4.0]
    a.fill(10)
    cp.cuda.Device().synchronize()
    captured.launch(stream)
    stream.synchronize()
    assert cp.asnumpy(b).tolist() == [30.0] * 4 and cp.asnumpy(a).tolist() == [11.0] * 4
    with pytest.raises(RuntimeError, match="cannot capture on the default"):
        cp.cuda.Stream.null.begin_capture()
