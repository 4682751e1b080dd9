"""The blitz's neural-network page: a LeNet with conv/pool/linear layers, parameters and
their sizes, a backward pass with an explicit upstream gradient, an MSE loss, gradients
before and after backward, a hand-written SGD update through ``.data``, then the same with
optim.SGD. Inputs, targets and weights come from fixed NumPy values.

(The page also prints ``loss.grad_fn`` and walks ``next_functions``; ember names the MSE
node MeanBackward0 where PyTorch says MseLossBackward0, so this script prints whether the
graph is there rather than the node names.)"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, input):
        c1 = F.relu(self.conv1(input))
        s2 = F.max_pool2d(c1, (2, 2))
        c3 = F.relu(self.conv2(s2))
        s4 = F.max_pool2d(c3, 2)
        s4 = torch.flatten(s4, 1)
        f5 = F.relu(self.fc1(s4))
        f6 = F.relu(self.fc2(f5))
        return self.fc3(f6)


net = Net()
with torch.no_grad():
    for i, p in enumerate(net.parameters()):
        values = np.cos(np.arange(p.numel()) * 0.83 + i) / np.sqrt(p[0].numel() if p.dim() > 1 else 50)
        p.copy_(torch.from_numpy(values.reshape(tuple(p.shape)).astype(np.float32)))
print(net)

params = list(net.parameters())
print(len(params))
print(params[0].size())
print([tuple(p.shape) for p in params])

input = torch.from_numpy(np.sin(np.arange(32 * 32) * 0.05).reshape(1, 1, 32, 32).astype(np.float32))
out = net(input)
print([f"{v:.5f}" for v in out[0].tolist()])

net.zero_grad()
out.backward(torch.linspace(-1, 1, 10).view(1, 10))
print(f"conv1.bias.grad after an explicit upstream gradient: {net.conv1.bias.grad.sum().item():.6f}")

output = net(input)
target = torch.arange(10, dtype=torch.float32).view(1, -1) / 10
criterion = nn.MSELoss()
loss = criterion(output, target)
print(f"loss {loss.item():.6f}", "graph recorded:", loss.grad_fn is not None,
      "inputs of the loss node:", len(loss.grad_fn.next_functions) > 0)

net.zero_grad()
print("conv1.bias.grad before backward")
print(net.conv1.bias.grad)
loss.backward()
print("conv1.bias.grad after backward")
print([f"{v:.6f}" for v in net.conv1.bias.grad.tolist()])

learning_rate = 0.01
for f in net.parameters():
    f.data.sub_(f.grad.data * learning_rate)
print(f"loss after a manual step {criterion(net(input), target).item():.6f}")

optimizer = optim.SGD(net.parameters(), lr=0.01)
for step in range(3):
    optimizer.zero_grad()
    output = net(input)
    loss = criterion(output, target)
    loss.backward()
    optimizer.step()
    print(f"step {step}: loss {loss.item():.6f}")
print("grads cleared to None:", optimizer.zero_grad() is None and net.conv1.weight.grad is None)
