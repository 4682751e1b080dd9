"""Autograd puzzles from forum threads and interview notebooks: module hooks of every kind
(forward pre-hooks with kwargs that rewrite arguments, forward hooks with always_call,
full backward pre-hooks that scale grad_output, full backward hooks that replace
grad_input, global module hooks), tensor hooks (register_hook, retain_grad,
register_post_accumulate_grad_hook), graph-node hooks, removal through handles, and
higher-order derivatives with torch.autograd.grad: create_graph chains for the n-th
derivative, allow_unused / materialize_grads, batched vector-Jacobian products with
is_grads_batched, backward(inputs=...), and a Hessian-vector product used inside a
curvature penalty. Values come from fixed inputs."""

import math

import numpy as np
import torch
from torch import nn

log = []


class Scale(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)
        with torch.no_grad():
            self.lin.weight.copy_(torch.tensor([[0.5, -1.0, 0.25], [1.5, 0.5, -0.5]]))
            self.lin.bias.copy_(torch.tensor([0.1, -0.2]))

    def forward(self, x, factor=1.0):
        return torch.tanh(self.lin(x)) * factor


m = Scale()
x = torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]], requires_grad=True)


def pre_hook(module, args, kwargs):
    log.append(("pre", tuple(args[0].shape), sorted(kwargs)))
    return args, {**kwargs, "factor": kwargs.get("factor", 1.0) * 2}


def fwd_hook(module, args, kwargs, output):
    log.append(("fwd", kwargs["factor"]))
    return output + 1


def bwd_pre_hook(module, grad_output):
    log.append(("bwd_pre", [round(v, 4) for v in grad_output[0].sum(0).tolist()]))
    return (grad_output[0] * 10,)


def bwd_hook(module, grad_input, grad_output):
    log.append(("bwd", tuple(grad_input[0].shape), [round(v, 4) for v in grad_output[0].sum(0).tolist()]))
    return (grad_input[0].clamp(-1, 1),)


handles = [m.register_forward_pre_hook(pre_hook, with_kwargs=True),
           m.register_forward_hook(fwd_hook, with_kwargs=True, always_call=True),
           m.register_full_backward_pre_hook(bwd_pre_hook),
           m.register_full_backward_hook(bwd_hook)]
out = m(x, factor=0.5)
print("hooked output:", [[round(v, 4) for v in row] for row in out.tolist()])
out.sum().backward()
print("x.grad clamped by hook:", [[round(v, 4) for v in row] for row in x.grad.tolist()])
print("weight grad scaled by 10:", [round(v, 4) for v in m.lin.weight.grad[0].tolist()])
for entry in log:
    print(" ", entry)
for h in handles:
    h.remove()
log.clear()
x.grad = None
m(x).sum().backward()
print("after remove:", log, [round(v, 4) for v in x.grad[0].tolist()])

seen = []
global_handle = nn.modules.module.register_module_forward_hook(lambda mod, inp, out: seen.append(type(mod).__name__))
nn.Sequential(nn.Linear(3, 3), nn.ReLU())(x)
global_handle.remove()
nn.Linear(3, 3)(x)
print("global forward hook saw:", seen)

# tensor hooks
a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
b = a * a
b.retain_grad()
b.register_hook(lambda g: g * 2)
c = b.exp().sum()
accumulated = []
a.register_post_accumulate_grad_hook(lambda p: accumulated.append(p.grad.clone().tolist()))
c.backward()
print("b.grad (retain_grad runs after the hook):", [round(v, 3) for v in b.grad.tolist()])
print("a.grad:", [round(v, 3) for v in a.grad.tolist()], "post-accumulate saw:", len(accumulated))
node_log = []
d = (a * 3).sin()
d.grad_fn.register_prehook(lambda grad_outputs: node_log.append("prehook"))
d.grad_fn.register_hook(lambda grad_inputs, grad_outputs: node_log.append(("hook", len(grad_inputs))))
print("next_functions:", [type(fn).__name__ if fn is not None else None for fn, _ in d.grad_fn.next_functions])
d.sum().backward()
print("node hooks:", node_log, "is_leaf:", a.is_leaf, b.is_leaf, "requires_grad:", b.requires_grad)

# n-th derivatives of sin(2t) at t = 0.3: 2^n sin(2t + n pi / 2)
t = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
y = torch.sin(2 * t)
derivs = []
for n in range(1, 6):
    (y,) = torch.autograd.grad(y, t, create_graph=True)
    derivs.append(y.item())
expected = [2 ** n * math.sin(0.6 + n * math.pi / 2) for n in range(1, 6)]
print("derivatives:", [round(v, 6) for v in derivs], "match:", np.allclose(derivs, expected))

u = torch.tensor([1.0, 2.0], requires_grad=True)
v = torch.tensor([3.0, 4.0], requires_grad=True)
w = torch.tensor(5.0, requires_grad=True)
gu, gw = torch.autograd.grad((u * v).sum(), (u, w), allow_unused=True)
print("allow_unused:", gu.tolist(), gw)
gu, gw = torch.autograd.grad((u * v).sum(), (u, w), materialize_grads=True)
print("materialize_grads:", gu.tolist(), gw.item())
try:
    torch.autograd.grad((u * v).sum(), (u, w))
except RuntimeError as e:
    print("unused input:", str(e).split(".")[0])

# full Jacobian rows in one call
z = torch.stack([u[0] * u[1], u[0] ** 2, torch.sin(u[1])])
(jac,) = torch.autograd.grad(z, u, grad_outputs=torch.eye(3), is_grads_batched=True)
print("batched vjp jacobian:", [[round(e, 4) for e in row] for row in jac.tolist()])

# backward(inputs=...) only fills what is asked
u.grad = v.grad = None
(u * v).sum().backward(inputs=[v])
print("inputs=[v]:", u.grad, v.grad.tolist())

# curvature penalty: || H g || where H is the Hessian of a small net's loss
torch.manual_seed(0)
net = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
with torch.no_grad():
    for i, p in enumerate(net.parameters()):
        p.copy_(torch.from_numpy(np.cos(np.arange(p.numel()) + i).reshape(tuple(p.shape)).astype(np.float32) * 0.5))
data = torch.tensor([[0.5, -1.0], [1.0, 2.0], [-0.5, 0.3]])
target = torch.tensor([[0.2], [-0.4], [0.9]])
opt = torch.optim.SGD(net.parameters(), lr=0.05)
for step in range(6):
    loss = ((net(data) - target) ** 2).mean()
    grads = torch.autograd.grad(loss, list(net.parameters()), create_graph=True)
    gnorm2 = sum((g ** 2).sum() for g in grads)
    hvp = torch.autograd.grad(gnorm2, list(net.parameters()), create_graph=True)
    penalty = sum((h ** 2).sum() for h in hvp)
    total = loss + 0.01 * penalty
    opt.zero_grad()
    total.backward()
    opt.step()
    print(f"step {step} loss {loss.item():.6f} grad norm^2 {gnorm2.item():.6f} penalty {penalty.item():.6f}")
