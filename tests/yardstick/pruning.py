"""Pruning a LeNet-style network with torch.nn.utils.prune: random and L1 unstructured,
Ln-structured, iterative pruning (a PruningContainer), global pruning, the
weight_orig/weight_mask re-parametrisation seen through named_parameters/named_buffers,
the forward pre-hook, the state_dict, and making the pruning permanent with remove.

Weights start from fixed NumPy values. Random pruning draws from the RNG, so only what
does not depend on the draw (how many entries it zeroes) is printed for it."""

import numpy as np
import torch
import torch.nn.functional as F
import torch.nn.utils.prune as prune
from torch import nn


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3)
        self.conv2 = nn.Conv2d(6, 16, 3)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, int(x.nelement() / x.shape[0]))
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def fixed_init(model):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            values = np.sin(np.arange(p.numel()) * 0.917 + i + 0.5) * 0.2  # no exact zeros
            p.copy_(torch.from_numpy(values.reshape(tuple(p.shape)).astype(np.float32)))


def zeros(t):
    return int(torch.sum(t == 0))


model = LeNet()
fixed_init(model)
module = model.conv1
print(list(name for name, _ in module.named_parameters()), list(module.named_buffers()))

prune.random_unstructured(module, name="weight", amount=0.3)
print(sorted(name for name, _ in module.named_parameters()))
print(sorted(name for name, _ in module.named_buffers()))
print("conv1.weight zeros:", zeros(module.weight), "of", module.weight.nelement())
print("hooks:", [type(h).__name__ for h in module._forward_pre_hooks.values()])

prune.l1_unstructured(module, name="bias", amount=3)
print("bias mask:", module.bias_mask.tolist())
print("bias:", [f"{v:.5f}" for v in module.bias.tolist()])

prune.ln_structured(module, name="weight", amount=0.5, n=2, dim=0)
print("channels left:", int((module.weight.abs().sum(dim=(1, 2, 3)) != 0).sum()))
hook = next(h for h in module._forward_pre_hooks.values() if h._tensor_name == "weight")
print("container:", type(hook).__name__, [type(m).__name__ for m in hook])
print(sorted(model.state_dict().keys())[:6])

prune.remove(module, "weight")
print(sorted(name for name, _ in module.named_parameters()), prune.is_pruned(module))

new_model = LeNet()
fixed_init(new_model)
for name, submodule in new_model.named_modules():
    if isinstance(submodule, nn.Conv2d):
        prune.l1_unstructured(submodule, name="weight", amount=0.2)
    elif isinstance(submodule, nn.Linear):
        prune.l1_unstructured(submodule, name="weight", amount=0.4)
print(sorted(dict(new_model.named_buffers()).keys()))
print("conv2 zeros:", zeros(new_model.conv2.weight), "fc1 zeros:", zeros(new_model.fc1.weight))

model = LeNet()
fixed_init(model)
parameters_to_prune = (
    (model.conv1, "weight"), (model.conv2, "weight"),
    (model.fc1, "weight"), (model.fc2, "weight"), (model.fc3, "weight"),
)
prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured,
                          amount=0.2)
for module, name in parameters_to_prune:
    weight = getattr(module, name)
    print(f"Sparsity in {type(module).__name__}{tuple(weight.shape)}: "
          f"{100.0 * zeros(weight) / weight.nelement():.2f}%")
total = sum(zeros(m.weight) for m, _ in parameters_to_prune)
print(f"Global sparsity: {100.0 * total / sum(m.weight.nelement() for m, _ in parameters_to_prune):.2f}%")

x = torch.from_numpy(np.linspace(-1, 1, 2 * 1 * 28 * 28, dtype=np.float32).reshape(2, 1, 28, 28))
out = model(x)
out.sum().backward()
print("output:", tuple(out.shape), f"{out.sum().item():.5f}")
print("pruned entries get no gradient:",
      bool((model.fc1.weight_orig.grad[model.fc1.weight_mask == 0] == 0).all()))
