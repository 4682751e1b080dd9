"""Tensors: creation from lists and NumPy, attributes, indexing and slicing, joining,
the three spellings of matrix products, in-place ops, and the NumPy bridge."""

import numpy as np
import torch

data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
print(x_data, x_data.dtype)

np_array = np.array(data)
x_np = torch.from_numpy(np_array)
print(x_np.dtype, x_np.shape)

x_ones = torch.ones_like(x_data)
print(f"Ones Tensor: \n {x_ones} \n")
x_float = torch.full_like(x_data, 0.5, dtype=torch.float)
print(f"Full Tensor: \n {x_float} \n")

shape = (2, 3,)
print(torch.ones(shape))
print(torch.zeros(shape))
print(torch.arange(6).reshape(shape))
print(torch.linspace(0, 1, steps=5))
print(torch.eye(3))

tensor = torch.arange(12, dtype=torch.float32).reshape(3, 4)
print(f"Shape of tensor: {tensor.shape}")
print(f"Datatype of tensor: {tensor.dtype}")
print(f"Device tensor is stored on: {tensor.device}")
print(tensor.ndim, tensor.numel(), tensor.size(1), tensor.is_leaf, tensor.requires_grad)

tensor = torch.ones(4, 4)
print(f"First row: {tensor[0]}")
print(f"First column: {tensor[:, 0]}")
print(f"Last column: {tensor[..., -1]}")
tensor[:, 1] = 0
print(tensor)
t = torch.arange(16).reshape(4, 4)
print(t[1:3, ::2])
print(t[t % 3 == 0])
print(t[[0, 2], [1, 3]])

t1 = torch.cat([tensor, tensor, tensor], dim=1)
print(t1.shape)
print(torch.stack([t[0], t[1]]).shape)

a = torch.arange(1.0, 5.0).reshape(2, 2)
y1 = a @ a.T
y2 = a.matmul(a.T)
y3 = torch.rand_like(a)
torch.matmul(a, a.T, out=y3)
print(y1, torch.equal(y1, y2), torch.equal(y1, y3))
z1 = a * a
z2 = a.mul(a)
z3 = torch.rand_like(a)
torch.mul(a, a, out=z3)
print(z1, torch.equal(z1, z2), torch.equal(z1, z3))

agg = a.sum()
agg_item = agg.item()
print(agg_item, type(agg_item))

print(f"{a} \n")
a.add_(5)
print(a)
a.mul_(2).sub_(1)
print(a)
a.clamp_(max=12)
print(a)

t = torch.ones(5)
print(f"t: {t}")
n = t.numpy()
print(f"n: {n}")
t.add_(1)
print(f"t: {t}")
print(f"n: {n}")

n = np.ones(5)
t = torch.from_numpy(n)
np.add(n, 1, out=n)
print(f"t: {t}")
print(f"n: {n}")
print(t.dtype)

v = torch.tensor([[1.5, -2.25], [3.0, 0.125]])
print(v.t(), v.view(4), v.flatten().tolist())
print(v.to(torch.int64), v.double().dtype, v.abs().max())
print(torch.where(v > 0, v, torch.zeros_like(v)))
