"""Numerics and in-place code as hand-written quantisation, image-processing and
cellular-automaton snippets use it: uint8/int8 arithmetic and wraparound, round-half-even
and round(decimals), fmod vs remainder and floor_divide on negatives, bit shifts and
masks, float16/bfloat16 round trips, finfo/iinfo, per-channel fake quantisation with a
straight-through estimator, Conway's game of life on a torus with roll and conv2d,
in-place updates through views (diagonal().fill_, triu_, index_put_ with accumulate,
masked_scatter_, index_fill_, unfold windows), the version-counter error when a saved
tensor is modified, and tensor printing across dtypes and print options."""

import numpy as np
import torch
import torch.nn.functional as F

# integer arithmetic
a = torch.tensor([250, 3, 128, 0], dtype=torch.uint8)
b = torch.tensor([10, 5, 128, 1], dtype=torch.uint8)
print("uint8 add wraps:", a + b, (a - b).tolist(), (a * 2).dtype, (a + 1.5).dtype, (a // 3).tolist())
c = torch.tensor([-7, 7, -8, 5], dtype=torch.int8)
print("int8:", c.abs().tolist(), (c * 20).tolist(), c.to(torch.uint8).tolist(), c.float().div(2).tolist())
x = torch.tensor([-7.5, -2.5, -0.5, 0.5, 1.5, 2.5, 7.25])
print("round half even:", torch.round(x).tolist(), torch.round(x * 1.03, decimals=1).tolist())
n = torch.tensor([-7, 7, -7, 7])
d = torch.tensor([2, -2, -2, 2])
print("fmod:", torch.fmod(n, d).tolist(), "remainder:", torch.remainder(n, d).tolist(), "%:", (n % d).tolist())
print("floor_divide:", torch.floor_divide(n, d).tolist(), "div floor:", torch.div(n, d, rounding_mode="floor").tolist(),
      "trunc:", torch.div(n, d, rounding_mode="trunc").tolist(), "true:", (n / d).tolist())
bits = torch.tensor([1, 6, 255, 1024], dtype=torch.int32)
print("bits:", (bits << 2).tolist(), (bits >> 1).tolist(), (bits & 0xF).tolist(), (bits | 1).tolist(), (bits ^ 3).tolist(), (~bits).tolist())
print("int promotion:", (torch.tensor([1, 2], dtype=torch.int16) + torch.tensor(3)).dtype,
      (torch.tensor([1, 2], dtype=torch.int16) + torch.tensor([3])).dtype, (torch.tensor([1]) * 2.0).dtype,
      (torch.tensor([True]) + torch.tensor([True])).tolist(), torch.tensor([3]).pow(2).dtype)
print("finfo:", torch.finfo(torch.float16).max, torch.finfo(torch.bfloat16).eps, torch.finfo(torch.float32).tiny,
      torch.iinfo(torch.int8).min, torch.iinfo(torch.uint8).max)
v = torch.tensor([1.0 / 3, 1000.7, 65519.0, 1e-5, 70000.0])
print("float16:", v.half().tolist(), "bfloat16:", v.bfloat16().float().tolist())
print("half sum:", torch.ones(3000, dtype=torch.float16).sum().item(), torch.full((5,), 0.1, dtype=torch.float16).cumsum(0).tolist())

# per-channel fake quantisation with a straight-through estimator
w = torch.from_numpy(np.sin(np.arange(24) * 0.7).reshape(4, 6).astype(np.float32)).requires_grad_()
scale = w.detach().abs().amax(dim=1, keepdim=True) / 127
q = torch.clamp(torch.round(w / scale), -128, 127)
w_q = (q * scale - w).detach() + w
print("int8 codes:", q[0].to(torch.int8).tolist(), f"max error: {(w_q - w).abs().max().item():.6f}")
(w_q * torch.arange(6.0)).sum().backward()
print("ste grad passes through:", torch.equal(w.grad, torch.arange(6.0).expand(4, 6)))
fq = torch.fake_quantize_per_channel_affine(w.detach(), scale.squeeze(1), torch.zeros(4, dtype=torch.int32), 0, -128, 127)
print("fake_quantize_per_channel_affine agrees:", torch.allclose(fq, w_q.detach(), atol=1e-6))
fqt = torch.fake_quantize_per_tensor_affine(w.detach(), 0.02, 3, 0, 255)
print("per tensor:", [round(t, 4) for t in fqt[0].tolist()])

# game of life on a torus
board = torch.zeros(8, 8, dtype=torch.uint8)
board[1, 2] = board[2, 3] = board[3, 1] = board[3, 2] = board[3, 3] = 1  # a glider
kernel = torch.ones(1, 1, 3, 3)
kernel[0, 0, 1, 1] = 0
for step in range(8):
    padded = F.pad(board.float()[None, None], (1, 1, 1, 1), mode="circular")
    neighbours = F.conv2d(padded, kernel)[0, 0]
    rolled = sum(board.roll((dy, dx), dims=(0, 1)).int() for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0))
    assert torch.equal(rolled, neighbours.int())
    board = ((neighbours == 3) | ((board == 1) & (neighbours == 2))).to(torch.uint8)
print("glider after 8 steps:", board.nonzero().tolist(), "alive:", int(board.sum()))

# in-place through views
m = torch.arange(16.0).view(4, 4)
m.diagonal().fill_(-1)
m[:, 1].mul_(10)
m.t()[0].add_(100)
print("in-place views:", m.tolist())
tri = torch.ones(3, 3).triu_(1)
print("triu_:", tri.tolist())
acc = torch.zeros(5)
acc.index_put_((torch.tensor([0, 2, 2, 4]),), torch.tensor([1.0, 2.0, 3.0, 4.0]), accumulate=True)
print("index_put_ accumulate:", acc.tolist())
target = torch.zeros(2, 3)
target.masked_scatter_(torch.tensor([[True, False, True], [False, True, False]]), torch.tensor([7.0, 8.0, 9.0, 10.0]))
print("masked_scatter_:", target.tolist(), "index_fill_:", torch.zeros(3, 2).index_fill_(0, torch.tensor([1]), 5).tolist())
signal = torch.arange(10.0)
windows = signal.unfold(0, 4, 3)
print("unfold windows:", windows.tolist(), windows.stride(), windows.is_contiguous())
windows[0, 0] = 42.0
print("unfold shares memory:", signal[0].item(), "version:", signal._version > 0)
strided = torch.as_strided(signal, (3, 3), (2, 1))
print("as_strided:", strided.tolist())

leaf = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = leaf * 2
z = y.sigmoid()
z.mul_(3)
try:
    z.sum().backward()
except RuntimeError as err:
    print("RuntimeError:", str(err).split(";")[0])
try:
    leaf.add_(1)
except RuntimeError as err:
    print("RuntimeError:", err)
h = leaf * 3
h[0] = 0.0
h.sum().backward()
print("grad after slice assignment:", leaf.grad.tolist(), h.grad_fn.name())

# printing
torch.set_printoptions(precision=3, sci_mode=False)
print(torch.tensor([1.5e-4, 123456.789, -2.0]))
torch.set_printoptions(precision=4, sci_mode=None)
print(torch.tensor([1e-8, 1.0, 1e8]))
print(torch.tensor([[1, -20, 300]], dtype=torch.int16), torch.tensor([True, False]))
print(torch.tensor([0.1, 2.0], dtype=torch.float16), torch.tensor([1.5, -2.25], dtype=torch.bfloat16))
print(torch.tensor([1 + 2j, -0.5j]), torch.tensor(3.0, dtype=torch.float64), torch.empty(0, 3))
print(torch.tensor([float("nan"), float("inf"), -float("inf"), 1.0]))
print(torch.arange(2000.0).view(2, 1000))
torch.set_printoptions(profile="default")
