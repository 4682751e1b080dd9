"""The torch.func "Per-sample-gradients" and "Model ensembling" tutorials: a small CNN,
per-sample gradients by a Python loop and by vmap(grad(compute_loss)) over
functional_call with detached parameters; then stack_module_state + vmap to run several
models at once, with the same or different minibatches. Weights and data are fixed
NumPy values (the models are built, then overwritten). The base model stays on the CPU
(the tutorial uses the "meta" device)."""

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, stack_module_state, vmap

rng = np.random.default_rng(11)


def fixed_(module, scale=0.2):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32))
                    * scale)
    return module


class SimpleCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 8, 3, 1)
        self.fc1 = nn.Linear(8 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def loss_fn(predictions, targets):
    return F.nll_loss(predictions, targets)


batch_size = 16
data = torch.from_numpy(rng.standard_normal((batch_size, 1, 8, 8)).astype(np.float32))
targets = torch.from_numpy(rng.integers(0, 10, batch_size))
model = fixed_(SimpleCNN())


def compute_grad(sample, target):
    sample = sample.unsqueeze(0)
    target = target.unsqueeze(0)
    prediction = model(sample)
    loss = loss_fn(prediction, target)
    return torch.autograd.grad(loss, list(model.parameters()))


def compute_sample_grads(data, targets):
    sample_grads = [compute_grad(data[i], targets[i]) for i in range(batch_size)]
    sample_grads = zip(*sample_grads)
    return [torch.stack(shards) for shards in sample_grads]


per_sample_grads = compute_sample_grads(data, targets)
print("loop:", [tuple(g.shape) for g in per_sample_grads])

params = {k: v.detach() for k, v in model.named_parameters()}
buffers = {k: v.detach() for k, v in model.named_buffers()}


def compute_loss(params, buffers, sample, target):
    batch = sample.unsqueeze(0)
    targets = target.unsqueeze(0)
    predictions = functional_call(model, (params, buffers), (batch,))
    loss = loss_fn(predictions, targets)
    return loss


ft_compute_grad = grad(compute_loss)
ft_compute_sample_grad = vmap(ft_compute_grad, in_dims=(None, None, 0, 0))
ft_per_sample_grads = ft_compute_sample_grad(params, buffers, data, targets)
for per_sample_grad, (name, ft_per_sample_grad) in zip(per_sample_grads,
                                                       ft_per_sample_grads.items()):
    same = torch.allclose(per_sample_grad, ft_per_sample_grad, atol=3e-3, rtol=1e-5)
    print(f"{name}: {tuple(ft_per_sample_grad.shape)} matches loop: {same} "
          f"norm {ft_per_sample_grad.norm().item():.5f}")
mean_of_samples = ft_per_sample_grads["fc2.bias"].mean(0)
model.zero_grad()
loss_fn(model(data), targets).backward()
print("mean of per-sample grads == batch grad:",
      torch.allclose(mean_of_samples, model.fc2.bias.grad, atol=1e-6))

# Model ensembling.


class SimpleMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 16)
        self.fc3 = nn.Linear(16, 10)

    def forward(self, x):
        x = x.flatten(1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.fc2(x)
        x = F.relu(x)
        x = self.fc3(x)
        return x


num_models = 5
minibatches = torch.from_numpy(rng.standard_normal((num_models, 8, 1, 4, 4)).astype(np.float32))
models = [fixed_(SimpleMLP(), 0.3) for _ in range(num_models)]
minibatch = minibatches[0]
predictions1 = [model(minibatch) for model in models]
predictions2 = [model(minibatch) for model, minibatch in zip(models, minibatches)]

params, buffers = stack_module_state(models)
print("stacked:", {k: tuple(v.shape) for k, v in list(params.items())[:2]})
# The tutorial moves this copy to the "meta" device (ember has none); a plain copy works the
# same, functional_call replaces its parameters.
base_model = copy.deepcopy(models[0])


def fmodel(params, buffers, x):
    return functional_call(base_model, (params, buffers), (x,))


predictions1_vmap = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatch)
print("same minibatch:", tuple(predictions1_vmap.shape),
      torch.allclose(predictions1_vmap, torch.stack(predictions1), atol=1e-3, rtol=1e-5))
predictions2_vmap = vmap(fmodel)(params, buffers, minibatches)
print("different minibatches:", tuple(predictions2_vmap.shape),
      torch.allclose(predictions2_vmap, torch.stack(predictions2), atol=1e-3, rtol=1e-5))
print("ensemble argmax:", predictions2_vmap.argmax(-1)[:, :4].tolist())
print("stacked params require grad:", params["fc1.weight"].requires_grad)
