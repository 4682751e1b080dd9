"""The "Automatic mixed precision" recipe as CPU users write it: torch.autocast('cpu',
dtype=torch.bfloat16) around the forward pass (linear layers and matmuls run in
bfloat16, the loss and softmax stay float32, outputs are cast back for the loss), the
GradScaler loop written for both devices with enabled=False on CPU, autocast as a
decorator and nested with enabled=False; plus torch.compile guarded by hasattr, as
scripts that must also run on older PyTorch write it, and torch.backends/set_num_threads
checks scripts print at start-up. Weights and data come from fixed NumPy values."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
print("threads:", torch.get_num_threads(), "mkldnn flag is bool:", isinstance(torch.backends.mkldnn.is_available(), bool))
device = "cuda" if torch.cuda.is_available() else "cpu"
print("device:", device)


def fixed_(module, scale=0.3):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.71 + i).reshape(tuple(p.shape)) * scale))
    return module


def make_model(in_size, out_size, num_layers):
    layers = []
    for _ in range(num_layers - 1):
        layers.append(nn.Linear(in_size, in_size))
        layers.append(nn.ReLU())
    layers.append(nn.Linear(in_size, out_size))
    return nn.Sequential(*tuple(layers))


batch_size, in_size, out_size, num_layers = 32, 16, 4, 3
data = torch.from_numpy(np.cos(np.arange(batch_size * in_size) * 0.13).reshape(batch_size, in_size).astype(np.float32)).to(device)
targets = torch.from_numpy(np.sin(np.arange(batch_size * out_size) * 0.29).reshape(batch_size, out_size).astype(np.float32)).to(device)
loss_fn = torch.nn.MSELoss()

net = fixed_(make_model(in_size, out_size, num_layers)).to(device)
with torch.autocast(device_type=device, dtype=torch.bfloat16):
    output = net(data)
    print("autocast enabled:", torch.is_autocast_enabled(device), "dtype:", torch.get_autocast_dtype(device))
    print("output:", output.dtype, "input:", data.dtype, "weight:", net[0].weight.dtype)
    loss = loss_fn(output, targets)
    print("loss:", loss.dtype)
    product = data @ data.T
    softmaxed = torch.softmax(product, dim=1)
    print("matmul:", product.dtype, "softmax:", softmaxed.dtype, "add:", (data + 1).dtype)
    with torch.autocast(device_type=device, enabled=False):
        print("nested disabled:", (data @ data.T).dtype, torch.is_autocast_enabled(device))
print("after:", torch.is_autocast_enabled(device), net(data).dtype)
float32_output = net(data)
print("bf16 close to fp32:", torch.allclose(output.float(), float32_output, atol=0.05, rtol=0.05))
loss.backward()
print("grad dtype:", net[0].weight.grad.dtype)

# The recipe's loop: GradScaler is a no-op when disabled, so one loop serves CPU and CUDA.
use_amp = True
net = fixed_(make_model(in_size, out_size, num_layers)).to(device)
opt = torch.optim.SGD(net.parameters(), lr=0.5)
scaler = torch.amp.GradScaler(device, enabled=(device == "cuda"))
print("scaler enabled:", scaler.is_enabled())
for epoch in range(20):
    with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=use_amp):
        output = net(data)
        loss = loss_fn(output.float(), targets)
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm=1.0)
    scaler.step(opt)
    scaler.update()
    opt.zero_grad(set_to_none=True)
    if epoch % 5 == 0:
        print(f"epoch {epoch}: loss {loss.item():.3f}")
print("scale:", scaler.get_scale() if scaler.is_enabled() else 1.0)
checkpoint = {"model": net.state_dict(), "optimizer": opt.state_dict(), "scaler": scaler.state_dict()}
print("checkpoint scaler state:", checkpoint["scaler"])


@torch.autocast(device_type="cpu", dtype=torch.bfloat16)
def decorated(a, b):
    return torch.mm(a, b)


print("decorated:", decorated(data[:2], data[:2].T).dtype)
with torch.autocast("cpu", dtype=torch.float16, enabled=False):
    print("disabled float16:", net(data).dtype)


class SelfAttention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        attn = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(attn)


model = fixed_(SelfAttention(8))
if hasattr(torch, "compile"):
    compiled = torch.compile(model, backend="eager")
else:
    compiled = model
x = torch.from_numpy(np.sin(np.arange(2 * 5 * 8) * 0.4).reshape(2, 5, 8).astype(np.float32))
eager = model(x)
out = compiled(x)
print("compiled matches eager:", torch.allclose(out, eager, atol=1e-5), tuple(out.shape))
out.sum().backward()
print("compiled grads reach the module:", model.qkv.weight.grad is not None)
print(f"attention output sum: {eager.sum().item():.5f}")
with torch.autocast("cpu", dtype=torch.bfloat16):
    print("attention under autocast:", model(x).dtype)
with torch.inference_mode():
    y = model(x)
    print("inference_mode:", y.requires_grad, torch.is_inference_mode_enabled())
