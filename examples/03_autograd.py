"""03 - Autograd: gradients computed for you.

Run:  python examples/03_autograd.py

Every operation on a tensor with requires_grad=True is recorded; .backward() walks that
record backwards and fills .grad with d(output)/d(input). This is what trains networks.
"""

import math

import ember as torch  # in PyTorch: import torch

# --- A first gradient ------------------------------------------------------------------
x = torch.tensor(3.0, requires_grad=True)
y = x ** 2 + 2 * x + 1            # y = (x + 1)^2
y.backward()                      # dy/dx = 2x + 2
print("y =", y.item(), " dy/dx at x=3:", x.grad.item(), "(expected 8)")

# --- The graph: each result remembers the operation that made it -------------------------
w = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
inputs = torch.tensor([2.0, 1.0, 4.0])
loss = (w * inputs).sum().sigmoid()
print("loss.grad_fn:", loss.grad_fn.name())
print("leaf tensors have no grad_fn:", w.grad_fn, " and are leaves:", w.is_leaf)
loss.backward()
sig = loss.item()
print("d loss / d w:", w.grad)
print("by hand, sigmoid'(s) * inputs:", [round(sig * (1 - sig) * v, 4) for v in (2.0, 1.0, 4.0)])

# --- Gradients accumulate: zero them between steps ------------------------------------------
x = torch.tensor(2.0, requires_grad=True)
for _ in range(3):
    (x * x).backward()
print("three backward passes accumulate 3 * 2x =", x.grad.item())
x.grad = None                     # or optimizer.zero_grad() in a training loop

# --- Turning recording off -----------------------------------------------------------------
with torch.no_grad():             # evaluation code: no graph, less memory, faster
    z = x * 2
print("under no_grad, requires_grad =", z.requires_grad)
frozen = (x * 2).detach()         # same numbers, cut from the graph
print("detach() ->", frozen.requires_grad)

# --- torch.autograd.grad returns gradients instead of writing .grad ----------------------------
t = torch.tensor(0.5, requires_grad=True)
(dsin,) = torch.autograd.grad(torch.sin(t), t)
print("d sin(t)/dt at 0.5:", round(dsin.item(), 6), " cos(0.5) =", round(math.cos(0.5), 6))

# --- Second derivatives: create_graph=True makes the gradient differentiable --------------------
t = torch.tensor(2.0, requires_grad=True)
(first,) = torch.autograd.grad(t ** 3, t, create_graph=True)   # 3t^2 = 12
(second,) = torch.autograd.grad(first, t)                      # 6t = 12
print("d/dt t^3 =", first.item(), " d2/dt2 t^3 =", second.item())

# --- Vector outputs need an upstream gradient (vector-Jacobian product) --------------------------
v = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
out = v * v
out.backward(torch.tensor([1.0, 0.1, 0.01]))   # weights for each output element
print("vector-Jacobian product:", v.grad)
