"""Meta-learning and weight-generating networks as research code writes them: MAML on
sine-wave regression with an inner loop of torch.autograd.grad(create_graph=True) steps
applied through torch.func.functional_call, second-order against first-order MAML, a
conv + BatchNorm + LayerNorm learner so the outer gradient runs double backward through
them, a hypernetwork emitting the weights of a target MLP used with F.linear, the
Hessian-vector product of a meta-loss, and a learned per-parameter inner learning rate
(Meta-SGD). Tasks and weights come from fixed values; nothing samples."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call


def fixed_(module, scale=0.4):
    with torch.no_grad():
        for i, (name, p) in enumerate(module.named_parameters()):
            if p.dim() == 1 and "norm" in name:
                continue
            p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.83 + i).reshape(tuple(p.shape)) * scale))
    return module


def sine_task(k, n=10, offset=0.0):
    amp, phase = 0.5 + 0.4 * k, 0.7 * k
    x = torch.linspace(-4.5, 4.5, n).unsqueeze(1) + offset
    return x, amp * torch.sin(x + phase)


class Learner(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.LayerNorm(32), nn.Tanh(), nn.Linear(32, 1))

    def forward(self, x):
        return self.net(x)


def adapt(model, params, x, y, steps, lr, create_graph, lrs=None):
    for _ in range(steps):
        loss = F.mse_loss(functional_call(model, params, (x,)), y)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=create_graph)
        params = {name: p - (lrs[name] if lrs is not None else lr) * g
                  for (name, p), g in zip(params.items(), grads)}
    return params


def meta_train(second_order, epochs=12):
    model = fixed_(Learner())
    meta_opt = torch.optim.Adam(model.parameters(), lr=0.01)
    history = []
    for epoch in range(epochs):
        meta_opt.zero_grad()
        meta_loss = 0.0
        for k in range(4):
            xs, ys = sine_task(k)
            xq, yq = sine_task(k, offset=0.25)
            fast = adapt(model, dict(model.named_parameters()), xs, ys, 2, 0.05, create_graph=second_order)
            meta_loss = meta_loss + F.mse_loss(functional_call(model, fast, (xq,)), yq)
        (meta_loss / 4).backward()
        meta_opt.step()
        history.append(meta_loss.item() / 4)
    return model, history


model2, h2 = meta_train(True)
model1, h1 = meta_train(False)
print("second-order meta-loss:", [round(v, 5) for v in h2[::4]] + [round(h2[-1], 5)])
print("first-order meta-loss:", [round(v, 5) for v in h1[::4]] + [round(h1[-1], 5)])
print("orders differ:", not all(torch.equal(a, b) for a, b in zip(model1.parameters(), model2.parameters())))
x_new, y_new = sine_task(5)
before = F.mse_loss(model2(x_new), y_new).item()
fast = adapt(model2, dict(model2.named_parameters()), x_new, y_new, 5, 0.05, create_graph=False)
after = F.mse_loss(functional_call(model2, fast, (x_new,)), y_new).item()
print(f"new task: before {before:.5f} after 5 steps {after:.5f} improved: {after < before}")

# double backward through conv, BatchNorm and LayerNorm
conv_learner = fixed_(nn.Sequential(nn.Conv1d(1, 4, 3, padding=1), nn.BatchNorm1d(4), nn.GELU(),
                                    nn.Flatten(), nn.LayerNorm(40), nn.Linear(40, 1)), 0.3)
xs = torch.sin(torch.linspace(0, 6, 3 * 10)).view(3, 1, 10)
ys = torch.tensor([[0.5], [-0.2], [0.1]])
params = dict(conv_learner.named_parameters())
fast = adapt(conv_learner, params, xs, ys, 1, 0.1, create_graph=True)
outer = F.mse_loss(functional_call(conv_learner, fast, (xs * 0.5,)), ys)
outer_grads = torch.autograd.grad(outer, list(params.values()))
print(f"conv/bn/ln outer loss: {outer.item():.6f}")
print("outer grad norms:", [round(g.norm().item(), 5) for g in outer_grads])
print("bn buffers updated by functional_call:", conv_learner[1].num_batches_tracked.item())

# Hessian-vector product of the meta-loss through the inner step
learner = fixed_(Learner())
names = [n for n, _ in learner.named_parameters()]
xs, ys = sine_task(1)
xq, yq = sine_task(1, offset=0.25)


def meta_loss_of(*flat):
    p = dict(zip(names, flat))
    fast = adapt(learner, p, xs, ys, 1, 0.05, create_graph=True)
    return F.mse_loss(functional_call(learner, fast, (xq,)), yq)


primals = tuple(p.detach() for p in learner.parameters())
tangents = tuple(torch.ones_like(p) * 0.01 for p in primals)
value, hvp = torch.autograd.functional.hvp(meta_loss_of, primals, tangents)
print(f"meta-loss: {value.item():.6f} hvp norms:", [round(h.norm().item(), 5) for h in hvp[:3]])

# Meta-SGD: learned per-parameter inner learning rates
learner = fixed_(Learner())
inner_lrs = nn.ParameterDict({n.replace(".", "_"): nn.Parameter(torch.full_like(p, 0.05)) for n, p in learner.named_parameters()})
opt = torch.optim.Adam(list(learner.parameters()) + list(inner_lrs.parameters()), lr=0.005)
for epoch in range(6):
    opt.zero_grad()
    total = 0.0
    for k in range(3):
        xs, ys = sine_task(k)
        xq, yq = sine_task(k, offset=0.25)
        lrs = {n: inner_lrs[n.replace(".", "_")] for n, _ in learner.named_parameters()}
        fast = adapt(learner, dict(learner.named_parameters()), xs, ys, 1, None, True, lrs)
        total = total + F.mse_loss(functional_call(learner, fast, (xq,)), yq)
    total.backward()
    opt.step()
print(f"meta-sgd loss: {total.item() / 3:.5f} lr range: {min(p.min().item() for p in inner_lrs.parameters()):.5f} {max(p.max().item() for p in inner_lrs.parameters()):.5f}")
print("inner lr keys:", list(inner_lrs.keys())[:3])


# hypernetwork
class HyperNet(nn.Module):
    def __init__(self, z_dim=3, hidden=8):
        super().__init__()
        self.shapes = [(hidden, 1), (hidden,), (1, hidden), (1,)]
        total = sum(math.prod(s) for s in self.shapes)
        self.gen = nn.Sequential(nn.Linear(z_dim, 32), nn.ReLU(), nn.Linear(32, total))

    def forward(self, z, x):
        flat = self.gen(z)
        chunks = torch.split(flat, [math.prod(s) for s in self.shapes])
        w1, b1, w2, b2 = (c.view(s) for c, s in zip(chunks, self.shapes))
        return F.linear(torch.tanh(F.linear(x, w1, b1)), w2, b2)


hyper = fixed_(HyperNet(), 0.3)
embeddings = nn.Embedding(4, 3)
with torch.no_grad():
    embeddings.weight.copy_(torch.linspace(-1, 1, 12).view(4, 3))
opt = torch.optim.Adam(list(hyper.parameters()) + list(embeddings.parameters()), lr=0.01)
for epoch in range(30):
    opt.zero_grad()
    loss = sum(F.mse_loss(hyper(embeddings.weight[k], sine_task(k)[0]), sine_task(k)[1]) for k in range(4)) / 4
    loss.backward()
    opt.step()
    if epoch % 10 == 0 or epoch == 29:
        print(f"hypernet epoch {epoch:2d} loss {loss.item():.5f}")
print("generated parameters per task:", sum(math.prod(s) for s in hyper.shapes), "embedding grad:", embeddings.weight.grad.shape)
