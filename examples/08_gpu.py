"""08 - Moving to a GPU (and running anyway without one).

Run:  python examples/08_gpu.py

Tensors and modules live on a device. The same code runs on CPU or CUDA when the device
is chosen once and everything is moved there with .to(device). ember reaches NVIDIA GPUs
through CuPy (pip install 'ember[cuda]'); without one this falls back to the CPU.
"""

import time

import ember as torch  # in PyTorch: import torch
from ember import nn   # in PyTorch: from torch import nn

if torch.cuda.is_available():
    device = torch.device("cuda")
    print(f"Using the GPU: {torch.cuda.get_device_name(0)}")
else:
    device = torch.device("cpu")
    print("No CUDA device found (or CuPy is not installed): running on the CPU instead.")

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
model = model.to(device)                           # moves every parameter and buffer
inputs = torch.randn(512, 256, device=device)     # create data directly on the device
targets = torch.randint(0, 10, (512,)).to(device) # or move it there
print("parameters on:", next(model.parameters()).device, " inputs on:", inputs.device)

optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
start = time.perf_counter()
for step in range(20):
    loss = nn.functional.cross_entropy(model(inputs), targets)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
if device.type == "cuda":
    torch.cuda.synchronize()                        # GPU work is asynchronous: wait before timing
seconds = time.perf_counter() - start
print(f"20 training steps on {device.type}: {seconds:.2f} s, loss {loss.item():.4f}")

# Mixing devices is an error: both operands of an op must be on the same device.
# .item(), .tolist() and .numpy() need CPU data: call .cpu() first on a GPU tensor.
scores = model(inputs[:3]).detach().cpu()
print("predictions (moved back to the CPU):", scores.argmax(dim=1).tolist())
