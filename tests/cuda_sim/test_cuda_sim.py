"""ember's CUDA paths, through the real backend layer, on a "GPU".

In CI the GPU is tests/cuda_sim/fake_cupy.py (NumPy underneath); on a machine with a GPU
(scripts/gpu_check.sh) the same tests run on real CuPy. Results on cuda are compared
with the same computation on cpu (and with PyTorch's rules where they are fixed), so the
tolerances allow for a real GPU's different summation order.
"""

import gc
import io
import os
import re
import tempfile

import numpy as np
import pytest

import ember
from ember._backend.device import check_same_device

RTOL, ATOL = 1e-4, 1e-5


def _close(cuda_tensor, cpu_tensor, rtol=RTOL, atol=ATOL):
    assert cuda_tensor.device.type == "cuda", cuda_tensor.device
    assert cpu_tensor.device.type == "cpu", cpu_tensor.device
    assert cuda_tensor.dtype == cpu_tensor.dtype
    assert cuda_tensor.shape == cpu_tensor.shape
    np.testing.assert_allclose(cuda_tensor.detach().cpu().numpy(), cpu_tensor.detach().numpy(),
                               rtol=rtol, atol=atol)


# -- ember.cuda: device queries, memory, streams, events ------------------------------------


def test_device_queries(cupy_backend):
    assert ember.cuda.is_available()
    assert ember.cuda.is_initialized()
    count = ember.cuda.device_count()
    assert count == cupy_backend.cuda.runtime.getDeviceCount() >= 1
    assert ember.cuda.current_device() == 0
    name = ember.cuda.get_device_name(0)
    assert isinstance(name, str) and name
    props = ember.cuda.get_device_properties(0)
    assert props.name == name and props.total_memory > 0
    assert props.multi_processor_count > 0
    assert ember.cuda.get_device_capability() == (props.major, props.minor)
    assert repr(props).startswith("_CudaDeviceProperties(name=")
    with pytest.raises(AssertionError, match="Invalid device id"):
        ember.cuda.get_device_properties(count)
    assert ember.accelerator.is_available()
    assert ember.accelerator.current_accelerator() == ember.device("cuda")


def test_set_device_and_device_context(cupy_backend):
    last = ember.cuda.device_count() - 1
    with ember.cuda.device(last):
        assert ember.cuda.current_device() == last
    assert ember.cuda.current_device() == 0
    ember.cuda.set_device(last)
    try:
        assert ember.cuda.current_device() == last
    finally:
        ember.cuda.set_device(0)
    with ember.cuda.device(ember.device(f"cuda:{last}")):
        assert ember.cuda.current_device() == last
    assert ember.cuda.current_device() == 0


def test_synchronize_and_seeding():
    ember.cuda.synchronize()
    ember.cuda.synchronize(0)
    ember.cuda.synchronize("cuda:0")
    ember.cuda.manual_seed(3)
    ember.cuda.manual_seed_all(3)
    assert ember.cuda.initial_seed() == 3


def test_memory_statistics():
    gc.collect()
    ember.cuda.empty_cache()
    ember.cuda.reset_peak_memory_stats()
    before = ember.cuda.memory_allocated()
    assert isinstance(before, int) and before >= 0
    assert ember.cuda.max_memory_allocated() == before
    block = ember.empty(1 << 18, device="cuda")  # 1 MiB of float32
    held = ember.cuda.memory_allocated()
    assert held - before >= block.nbytes == 1 << 20
    assert ember.cuda.memory_reserved() >= held
    del block
    gc.collect()
    assert ember.cuda.memory_allocated() <= held - (1 << 20)
    assert ember.cuda.max_memory_allocated() >= held
    assert ember.cuda.max_memory_reserved() >= held
    ember.cuda.empty_cache()
    assert ember.cuda.memory_reserved() < held
    ember.cuda.reset_peak_memory_stats()
    assert ember.cuda.max_memory_allocated() == ember.cuda.memory_allocated()
    assert ember.cuda.memory_allocated(0) == ember.cuda.memory_allocated("cuda:0")


def test_stream_and_event_timing():
    stream = ember.cuda.Stream()
    assert stream.device == ember.device("cuda:0")
    start = ember.cuda.Event(enable_timing=True)
    end = ember.cuda.Event(enable_timing=True)
    with ember.cuda.stream(stream):
        start.record(stream)
        x = ember.ones(64, 64, device="cuda")
        y = (x @ x).sum()
        end.record(stream)
    end.synchronize()
    stream.synchronize()
    assert end.query() and stream.query()
    elapsed = start.elapsed_time(end)
    assert isinstance(elapsed, float) and elapsed >= 0.0
    assert y.item() == 64.0 ** 3
    other = ember.cuda.Stream()
    other.wait_stream(stream)
    event = stream.record_event()
    event.wait(other)
    assert ember.cuda.current_stream().device == ember.device("cuda:0")
    last = ember.cuda.device_count() - 1
    assert ember.cuda.Stream(device=f"cuda:{last}").device == ember.device("cuda", last)


# -- devices and moves ----------------------------------------------------------------------


@pytest.mark.parametrize("move", [
    lambda t: t.cuda(),
    lambda t: t.cuda(0),
    lambda t: t.to("cuda"),
    lambda t: t.to("cuda:0"),
    lambda t: t.to(ember.device("cuda", 0)),
    lambda t: t.to(device="cuda", dtype=ember.float64).float(),
    lambda t: t.to(ember.empty(1, device="cuda")).float(),
    lambda t: ember.tensor(t.numpy(), device="cuda"),
    lambda t: ember.as_tensor(t, device="cuda"),
], ids=["cuda()", "cuda(0)", "to-str", "to-str-index", "to-device", "to-device-dtype",
        "to-other", "tensor", "as_tensor"])
def test_moves_to_cuda_and_back(move):
    cpu = ember.randn(3, 4)
    gpu = move(cpu)
    assert gpu.is_cuda and not gpu.is_cpu
    assert gpu.device == ember.device("cuda:0") and str(gpu.device) == "cuda:0"
    assert gpu.get_device() == 0
    back = gpu.cpu()
    assert back.device == ember.device("cpu") and not back.is_cuda
    np.testing.assert_array_equal(back.numpy(), cpu.numpy())


def test_to_same_device_returns_self_and_cpu_copies():
    gpu = ember.randn(2, device="cuda")
    assert gpu.to("cuda:0") is gpu and gpu.cuda() is gpu
    assert gpu.to("cuda", copy=True) is not gpu
    assert gpu.type() == "torch.cuda.FloatTensor"
    assert ember.ones(2).type("torch.cuda.LongTensor").device.type == "cuda"


@pytest.mark.parametrize("factory", [
    lambda d: ember.zeros(2, 3, device=d),
    lambda d: ember.ones(2, 3, device=d, dtype=ember.float64),
    lambda d: ember.full((2, 3), 7, device=d),
    lambda d: ember.arange(6, device=d),
    lambda d: ember.linspace(0, 1, 5, device=d),
    lambda d: ember.eye(3, device=d),
    lambda d: ember.empty(4, device=d).zero_(),
    lambda d: ember.tensor([[1.5, 2.0]], device=d),
    lambda d: ember.zeros_like(ember.ones(2, device=d)),
    lambda d: ember.ones(2, device=d).new_full((3,), 2.0),
    lambda d: ember.ones(2, device=d).new_tensor([1, 2]),
], ids=["zeros", "ones", "full", "arange", "linspace", "eye", "empty", "tensor",
        "zeros_like", "new_full", "new_tensor"])
def test_factories_on_cuda(factory):
    gpu, cpu = factory("cuda"), factory("cpu")
    _close(gpu, cpu, rtol=0, atol=0)


@pytest.mark.parametrize("factory", [
    lambda d: ember.zeros(2, device=d), lambda d: ember.full((2,), 3.0, device=d),
    lambda d: ember.arange(3, device=d), lambda d: ember.eye(2, device=d),
    lambda d: ember.zeros_like(ember.ones(2), device=d), lambda d: ember.randn(2, device=d),
    lambda d: ember.tensor([1.0], device=d), lambda d: ember.ones(2).to(d),
], ids=["zeros", "full", "arange", "eye", "zeros_like", "randn", "tensor", "to"])
def test_factories_allocate_on_the_indexed_device(factory):
    last = f"cuda:{ember.cuda.device_count() - 1}"
    assert factory(last).device == ember.device(last)
    assert ember.cuda.current_device() == 0
    with ember.device(last):
        assert ember.zeros(1).device == ember.device(last)


def test_plain_cuda_means_the_current_device():
    last = ember.cuda.device_count() - 1
    with ember.cuda.device(last):
        expected = ember.device("cuda", last)
        assert ember.ones(2).to("cuda").device == expected
        assert ember.ones(2).cuda().device == expected
        assert ember.zeros(2, device="cuda").device == expected
        assert ember.tensor([1.0], device="cuda").device == expected


def test_tensors_from_cupy_arrays(cupy_backend):
    device_array = cupy_backend.arange(6, dtype="float32").reshape(2, 3)
    shared = ember.as_tensor(device_array)
    assert shared.is_cuda and shared.dtype == ember.float32
    device_array[0, 0] = 7.0
    assert shared[0, 0].item() == 7.0  # as_tensor shares the CuPy memory
    copied = ember.tensor(device_array, dtype=ember.float64)
    device_array[0, 0] = 0.0
    assert copied.is_cuda and copied.dtype == ember.float64 and copied[0, 0].item() == 7.0
    on_cpu = ember.as_tensor(device_array, device="cpu")
    assert on_cpu.device.type == "cpu" and on_cpu.numpy().tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(TypeError, match="expected np.ndarray"):
        ember.from_numpy(device_array)


def test_default_device_context():
    with ember.device("cuda"):
        made = ember.zeros(3)
    assert made.is_cuda
    assert not ember.zeros(3).is_cuda


def test_cuda_tensor_to_numpy_raises_like_torch():
    gpu = ember.ones(2, device="cuda")
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy. "
                                        "Use Tensor.cpu\\(\\) to copy the tensor to host "
                                        "memory first."):
        gpu.numpy()
    assert gpu.tolist() == [1.0, 1.0] and gpu.sum().item() == 2.0
    assert "device='cuda:0'" in repr(gpu)


def test_mixed_devices_error_names_both_devices():
    """The check Function.apply runs when an op's forward fails on mixed arrays."""
    gpu, cpu = ember.ones(2, 3, device="cuda")._data, ember.ones(2, 3)._data
    message = ("Expected all tensors to be on the same device, but found at least two "
               "devices, {} and {}!")
    with pytest.raises(RuntimeError, match=re.escape(message.format("cuda:0", "cpu"))):
        check_same_device([gpu, 2.0, None, cpu])
    # TensorIterator's common device is the first non-CPU one, whatever the order
    with pytest.raises(RuntimeError, match=re.escape(message.format("cuda:0", "cpu"))):
        check_same_device([cpu, gpu])
    check_same_device([gpu, ember.tensor(1.5)._data, 3, gpu])  # 0-d cpu tensors are scalars
    check_same_device([cpu, cpu[0]])
    last = ember.cuda.device_count() - 1
    if last > 0:
        other = ember.ones(2, device=f"cuda:{last}")._data
        with pytest.raises(RuntimeError, match=re.escape(message.format("cuda:0", f"cuda:{last}"))):
            check_same_device([gpu, other])


# -- ops and autograd on cuda match cpu -----------------------------------------------------

F = ember.nn.functional

OPS = {
    "add-broadcast": lambda a, b: a + b[0],
    "mul-scalar": lambda a, b: a * 3 - b / 2,
    "matmul": lambda a, b: a @ b.t(),
    "exp-log": lambda a, b: (a.exp() + 1).log() * b.tanh(),
    "sum-mean": lambda a, b: a.sum(0) + b.mean(0) + a.sum(),
    "max-argmax": lambda a, b: a.max(1).values + b.argmax(1),
    "softmax": lambda a, b: F.softmax(a, dim=1) * b,
    "log_softmax": lambda a, b: F.log_softmax(a * b, dim=0),
    "cat-stack": lambda a, b: ember.cat([a, b]).sum(0) + ember.stack([a, b]).mean(0)[0],
    "index": lambda a, b: a[1:, ::2] * b[ember.tensor([0, 2], device="cuda")
                                            if a.is_cuda else ember.tensor([0, 2])][:, ::2],
    "where": lambda a, b: ember.where(a > 0, a, b),
    "relu-gelu": lambda a, b: F.relu(a) + F.gelu(b),
    "transpose-reshape": lambda a, b: a.transpose(0, 1).reshape(-1) * b.flatten(),
    "var-norm": lambda a, b: a.var(1) + b.norm(dim=1),
    "clamp-abs": lambda a, b: a.clamp(-0.5, 0.5) + b.abs(),
    "cumsum-sort": lambda a, b: a.cumsum(1) + b.sort(1).values,
}


@pytest.mark.parametrize("name", list(OPS))
def test_op_values_and_gradients_match_cpu(name):
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((3, 4)).astype(np.float32)
    b_np = rng.standard_normal((3, 4)).astype(np.float32)
    cpu = [ember.tensor(a_np, requires_grad=True), ember.tensor(b_np, requires_grad=True)]
    gpu = [ember.tensor(a_np, device="cuda", requires_grad=True),
           ember.tensor(b_np, device="cuda", requires_grad=True)]
    out_cpu, out_gpu = OPS[name](*cpu), OPS[name](*gpu)
    _close(out_gpu, out_cpu)
    if out_cpu.requires_grad:
        upstream = rng.standard_normal(out_cpu.shape).astype(np.float32)
        out_cpu.backward(ember.tensor(upstream))
        out_gpu.backward(ember.tensor(upstream, device="cuda"))
        for leaf_gpu, leaf_cpu in zip(gpu, cpu):
            if leaf_cpu.grad is None:
                assert leaf_gpu.grad is None
            else:
                _close(leaf_gpu.grad, leaf_cpu.grad)


def test_autograd_double_backward_on_cuda():
    x = ember.tensor([0.5, -1.0, 2.0], device="cuda", requires_grad=True)
    (grad,) = ember.autograd.grad((x ** 3).sum(), x, create_graph=True)
    (second,) = ember.autograd.grad(grad.sum(), x)
    assert grad.is_cuda and second.is_cuda
    np.testing.assert_allclose(second.cpu().numpy(), 6 * np.array([0.5, -1.0, 2.0]), rtol=1e-6)


@pytest.mark.parametrize("fn", [
    lambda x: (x * x.sin()).sum(1),
    lambda x: F.softmax(x @ x.t(), dim=1),
    lambda x: F.conv1d(x.unsqueeze(0), x[:, :2].unsqueeze(0)),
], ids=["mul-sin-sum", "matmul-softmax", "conv1d"])
def test_gradcheck_on_cuda(fn):
    x = ember.randn(3, 4, dtype=ember.float64, device="cuda", requires_grad=True)
    assert ember.autograd.gradcheck(fn, (x,))


@pytest.mark.parametrize("source, target", [("cpu", "cuda"), ("cuda", "cpu"), ("cuda", "cuda")])
def test_copy_and_fill_across_devices(source, target):
    """copy_ moves data across devices (as PyTorch's does); fill_ takes a 0-d tensor."""
    values = ember.arange(6.0, device=source).view(2, 3)
    out = ember.zeros(2, 3, device=target).copy_(values)
    assert out.device.type == target
    np.testing.assert_array_equal(out.cpu().numpy(), np.arange(6.0).reshape(2, 3))
    out.fill_(ember.tensor(2.5, device=source))
    assert out.device.type == target and out.cpu().numpy().tolist() == [[2.5] * 3] * 2
    leaf = ember.ones(2, 3, device=source, requires_grad=True)
    copied = ember.zeros(2, 3, device=target).copy_(leaf)
    copied.sum().backward()
    assert leaf.grad.device.type == source


def test_gradient_through_device_move():
    x = ember.randn(3, requires_grad=True)
    (x.cuda() * 2).sum().backward()
    assert x.grad.device.type == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 2.0, np.float32))


# -- modules and optimizers: training on cuda gives cpu's numbers ---------------------------


def _mlp():
    return ember.nn.Sequential(ember.nn.Linear(6, 8), ember.nn.ReLU(), ember.nn.Linear(8, 3))


class _ConvNet(ember.nn.Module):
    def __init__(self):
        super().__init__()
        # no conv bias: BatchNorm subtracts it again, so its gradient is rounding noise
        # (1e-8) that Adam scales up to full lr-sized steps of device-dependent sign
        self.conv = ember.nn.Conv2d(2, 4, 3, padding=1, bias=False)
        self.bn = ember.nn.BatchNorm2d(4)
        self.head = ember.nn.Linear(4 * 5 * 5, 3)

    def forward(self, x):
        return self.head(ember.relu(self.bn(self.conv(x))).flatten(1))


class _Recurrent(ember.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = ember.nn.LSTM(6, 5, batch_first=True)
        self.head = ember.nn.Linear(5, 3)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


MODELS = {
    "mlp-sgd": (_mlp, (4, 6), lambda p: ember.optim.SGD(p, lr=0.1, momentum=0.9)),
    "conv-bn-adam": (_ConvNet, (4, 2, 5, 5), lambda p: ember.optim.Adam(p, lr=0.01)),
    "lstm-adamw": (_Recurrent, (4, 7, 6), lambda p: ember.optim.AdamW(p, lr=0.01)),
}


def _train(model, make_optimizer, x, y, steps=3):
    optimizer = make_optimizer(model.parameters())
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss)
    return losses


@pytest.mark.parametrize("name", list(MODELS))
def test_training_on_cuda_matches_cpu(name):
    make_model, x_shape, make_optimizer = MODELS[name]
    ember.manual_seed(0)
    cpu_model = make_model()
    gpu_model = make_model()
    gpu_model.load_state_dict(cpu_model.state_dict())
    assert gpu_model.to("cuda") is gpu_model
    assert all(p.is_cuda for p in gpu_model.parameters())
    assert all(b.is_cuda for b in gpu_model.buffers())
    x = ember.randn(*x_shape)
    y = ember.randint(0, 3, (x_shape[0],))
    cpu_losses = _train(cpu_model, make_optimizer, x, y)
    gpu_losses = _train(gpu_model, make_optimizer, x.cuda(), y.to("cuda"))
    for gpu_loss, cpu_loss in zip(gpu_losses, cpu_losses):
        _close(gpu_loss, cpu_loss)
    for (key, gpu_value), cpu_value in zip(gpu_model.state_dict().items(),
                                           cpu_model.state_dict().values()):
        _close(gpu_value, cpu_value)
        assert gpu_value.is_cuda, key
    assert gpu_model.cpu() is gpu_model and not next(gpu_model.parameters()).is_cuda


# SparseAdam takes sparse gradients only: tests/sparse/test_coo_embedding.py covers it.
OPTIMIZERS = sorted(name for name in dir(ember.optim)
                    if name[0].isupper() and name not in ("Optimizer", "SparseAdam")
                    and isinstance(getattr(ember.optim, name), type))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_steps_on_cuda_like_cpu(name):
    """Each optimizer's state (momentum, moments, step counts) lives with its parameters."""
    optimizer_class = getattr(ember.optim, name)
    results = {}
    for device in ("cpu", "cuda"):
        ember.manual_seed(0)
        shape = (3, 4) if name == "Muon" else (4,)  # Muon orthogonalises matrices only
        param = ember.nn.Parameter(ember.randn(*shape, device=device))
        optimizer = optimizer_class([param], **({} if name == "LBFGS" else {"lr": 0.1}))

        def closure():
            optimizer.zero_grad()
            loss = (param * param).sum()
            loss.backward()
            return loss

        for _ in range(3):
            if name == "LBFGS":
                optimizer.step(closure)
            else:
                closure()
                optimizer.step()
        results[device] = param
    _close(results["cuda"], results["cpu"])


def test_module_cuda_method_and_parameter_grads():
    model = _mlp().cuda()
    model(ember.randn(2, 6, device="cuda")).sum().backward()
    assert all(p.grad.is_cuda for p in model.parameters())


# -- checkpoints ----------------------------------------------------------------------------


def test_save_on_cuda_load_on_cpu_and_reverse():
    model = _mlp().to("cuda")
    buffer = io.BytesIO()
    ember.save(model.state_dict(), buffer)
    buffer.seek(0)
    loaded = ember.load(buffer, map_location="cpu")
    for key, value in model.state_dict().items():
        assert loaded[key].device.type == "cpu"
        np.testing.assert_array_equal(loaded[key].numpy(), value.cpu().numpy())

    cpu_state = {"w": ember.randn(3, 2), "step": 4}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "ckpt.pt")
        ember.save(cpu_state, path)
        for location in ("cuda", "cuda:0", ember.device("cuda"), {"cpu": "cuda:0"}):
            on_gpu = ember.load(path, map_location=location)
            assert on_gpu["w"].device == ember.device("cuda:0") and on_gpu["step"] == 4
            _close(on_gpu["w"], cpu_state["w"], rtol=0, atol=0)


def test_whole_module_checkpoint_follows_map_location():
    """ember.save(model) pickles the module itself: its parameters and buffers are written
    as storages (as torch writes them), so map_location moves them too."""
    model = ember.nn.Sequential(_mlp(), ember.nn.BatchNorm1d(4)).cuda()
    buffer = io.BytesIO()
    ember.save(model, buffer)
    for location, expected in (("cpu", "cpu"), (None, "cuda")):
        buffer.seek(0)
        loaded = ember.load(buffer, map_location=location, weights_only=False)
        tensors = list(loaded.parameters()) + list(loaded.buffers())
        assert tensors and all(t.device.type == expected for t in tensors)
        assert all(type(p).__name__ == "Parameter" for p in loaded.parameters())
        for mine, original in zip(loaded.state_dict().values(), model.state_dict().values()):
            np.testing.assert_array_equal(mine.cpu().numpy(), original.cpu().numpy())


def test_load_state_dict_from_cpu_into_cuda_module():
    source = _mlp()
    target = _mlp().cuda()
    target.load_state_dict(source.state_dict())
    for (key, value), expected in zip(target.state_dict().items(), source.state_dict().values()):
        assert value.is_cuda, key
        _close(value, expected, rtol=0, atol=0)


# -- pinned memory and the DataLoader -------------------------------------------------------


@pytest.mark.parametrize("factory", [
    lambda: ember.zeros(2, 3, pin_memory=True), lambda: ember.ones(4, pin_memory=True),
    lambda: ember.empty(2, pin_memory=True), lambda: ember.full((2,), 7.0, pin_memory=True),
    lambda: ember.tensor([1.0, 2.0], pin_memory=True), lambda: ember.rand(3, pin_memory=True),
    lambda: ember.randn(3, pin_memory=True), lambda: ember.randint(5, (3,), pin_memory=True),
    lambda: ember.randperm(4, pin_memory=True),
])
def test_factories_with_pin_memory_give_pinned_host_tensors(factory):
    made = factory()
    assert made.is_pinned() and made.device.type == "cpu" and made.is_leaf


def test_pin_memory_and_dataloader():
    host = ember.arange(6.0)
    pinned = host.pin_memory()
    np.testing.assert_array_equal(pinned.numpy(), host.numpy())
    data = ember.utils.data.TensorDataset(ember.arange(10.0).view(5, 2), ember.arange(5))
    loader = ember.utils.data.DataLoader(data, batch_size=2, pin_memory=True)
    batches = list(loader)
    assert len(batches) == 3
    features, labels = batches[0]
    assert features.device.type == "cpu" and labels.dtype == ember.int64
    moved = features.to("cuda", non_blocking=True)
    _close(moved, features, rtol=0, atol=0)


# -- mixed precision ------------------------------------------------------------------------


def test_autocast_cuda_casts_per_cuda_lists():
    a = ember.randn(4, 3, device="cuda")
    b = ember.randn(3, 5, device="cuda")
    cpu_a = ember.randn(4, 3)
    with ember.autocast("cuda"):
        product = a @ b
        linear = F.linear(a, b.t())
        probabilities = F.softmax(product, dim=1)
        plain = product + 1
        untouched = cpu_a @ cpu_a.t()
        assert ember.amp.is_autocast_enabled("cuda")
    assert product.dtype == ember.float16 and product.is_cuda
    assert linear.dtype == ember.float16
    assert probabilities.dtype == ember.float32  # softmax is on cuda's float32 list
    assert plain.dtype == ember.float16
    assert untouched.dtype == ember.float32  # cuda autocast leaves cpu ops alone
    with ember.autocast("cuda", dtype=ember.bfloat16):
        assert (a @ b).dtype == ember.bfloat16
    _close(product.float(), (a @ b).cpu(), rtol=1e-2, atol=1e-2)


def test_grad_scaler_cuda_training_step():
    ember.manual_seed(0)
    model = _mlp().cuda()
    optimizer = ember.optim.SGD(model.parameters(), lr=0.1)
    scaler = ember.amp.GradScaler("cuda", init_scale=2.0 ** 8)
    x = ember.randn(4, 6, device="cuda")
    y = ember.randint(0, 3, (4,), device="cuda")
    before = [p.detach().clone() for p in model.parameters()]
    with ember.autocast("cuda"):
        loss = F.cross_entropy(model(x), y)
    assert loss.dtype == ember.float32
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    assert scaler.get_scale() == 2.0 ** 8
    assert all(p.is_cuda for p in model.parameters())
    assert any(not ember.equal(p.detach(), b) for p, b in zip(model.parameters(), before))

    for p in model.parameters():
        p.grad = ember.full_like(p, float("inf"))
    kept = [p.detach().clone() for p in model.parameters()]
    scaler.step(optimizer)
    scaler.update()
    assert scaler.get_scale() == 2.0 ** 7
    assert all(ember.equal(p.detach(), k) for p, k in zip(model.parameters(), kept))


def test_deprecated_cuda_amp_spellings_warn_and_work():
    a = ember.randn(2, 3, device="cuda")
    with pytest.warns(FutureWarning, match=re.escape(
            "`torch.cuda.amp.autocast(args...)` is deprecated. Please use "
            "`torch.amp.autocast('cuda', args...)` instead.")):
        context = ember.cuda.amp.autocast()
    with context:
        assert (a @ a.t()).dtype == ember.float16
    with pytest.warns(FutureWarning, match=re.escape(
            "`torch.cuda.amp.GradScaler(args...)` is deprecated. Please use "
            "`torch.amp.GradScaler('cuda', args...)` instead.")):
        scaler = ember.cuda.amp.GradScaler(init_scale=4.0)
    assert scaler.get_scale() == 4.0 and isinstance(scaler, ember.amp.GradScaler)


# -- the CuPy behaviour ember relies on (checks the fake against real CuPy on a GPU) --------


def test_cupy_contract(cupy_backend):
    cp = cupy_backend
    host = np.arange(6.0).reshape(2, 3)
    device_array = cp.asarray(host)
    assert isinstance(device_array, cp.ndarray) and device_array.device.id == 0
    assert type(device_array.get()) is np.ndarray and type(cp.asnumpy(device_array)) is np.ndarray
    np.testing.assert_array_equal(device_array.get(), host)
    total = (device_array * 2).sum()
    assert isinstance(total, cp.ndarray) and total.ndim == 0 and float(total) == 30.0
    assert isinstance(device_array[1, 2], cp.ndarray) and device_array[1, 2].item() == 5.0
    assert isinstance(cp.zeros(3), cp.ndarray) and isinstance(cp.exp(device_array), cp.ndarray)
    with pytest.raises(TypeError):
        device_array + host  # no implicit host-to-device copies
    last = cp.cuda.runtime.getDeviceCount() - 1
    with cp.cuda.Device(last):
        assert cp.zeros(2).device.id == last and cp.cuda.runtime.getDevice() == last
    assert cp.cuda.runtime.getDevice() == 0
    assert cp.get_default_memory_pool().used_bytes() >= device_array.nbytes


@pytest.mark.parametrize("op", [
    lambda a, b: a + b,
    lambda a, b: b * a,
    lambda a, b: a.unsqueeze(0) @ b.unsqueeze(1),
    lambda a, b: ember.cat([a, b]),
    lambda a, b: ember.nn.functional.linear(a.unsqueeze(0), b.expand(3, 3)),
])
def test_mixing_devices_in_one_op_is_torchs_error(op):
    on_cuda = ember.ones(3, device="cuda", requires_grad=True)
    on_cpu = ember.ones(3)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        op(on_cuda, on_cpu)
    assert (on_cuda + ember.tensor(2.0)).device.type == "cuda"  # 0-d cpu tensors mix
