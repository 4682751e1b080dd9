"""01 - Tensors: the n-dimensional arrays everything else is built on.

Run:  python examples/01_tensors.py        (ember)
      ember run examples/01_tensors.py     (the same file with `import torch` works too)

A tensor is a block of numbers with a shape, a dtype and a device. This file builds
tensors, does arithmetic on them and moves data to and from NumPy.
"""

import numpy as np

import ember as torch  # in PyTorch: import torch

# --- Creating tensors ---------------------------------------------------------------
a = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # from nested Python lists
print("a =", a)
print("shape:", a.shape, " dtype:", a.dtype, " device:", a.device)

zeros = torch.zeros(2, 3)           # filled with 0
ones = torch.ones_like(a)           # same shape and dtype as `a`
steps = torch.arange(0, 10, 2)      # 0, 2, 4, 6, 8 (int64, like Python ints)
grid = torch.linspace(0, 1, 5)      # 5 evenly spaced floats from 0 to 1
torch.manual_seed(0)                # random numbers are reproducible after seeding
noise = torch.randn(2, 3)           # standard normal samples
print("arange:", steps, steps.dtype)
print("linspace:", grid)
print("zeros + ones:", zeros + ones)
print("random normal shape:", noise.shape)

# --- dtypes follow PyTorch's rules, not NumPy's ------------------------------------------
ints = torch.tensor([1, 2, 3])
print("int / int gives float:", ints / 2, (ints / 2).dtype)          # true division
print("int + python float:", (ints + 0.5).dtype)                     # float32, not float64
print("comparison gives bool:", ints > 1)
print("sum of bools is int64:", (ints > 1).sum(), (ints > 1).sum().dtype)
print("explicit cast:", ints.to(torch.float64).dtype, ints.float().dtype)

# --- Arithmetic and broadcasting ------------------------------------------------------------
row = torch.tensor([10.0, 20.0, 30.0])
print("a + row (row is broadcast over both rows):\n", a + row)
print("elementwise a * a:\n", a * a)
print("matrix product a @ a.T:\n", a @ a.T)
print("sum:", a.sum().item(), " mean of each column:", a.mean(dim=0))
print("max of each row:", a.max(dim=1).values, " argmax:", a.argmax(dim=1))

# --- Talking to NumPy -------------------------------------------------------------------------
array = np.arange(6, dtype=np.float32).reshape(2, 3)
shared = torch.from_numpy(array)    # shares memory with `array`
array[0, 0] = 100.0
print("from_numpy shares memory:", shared[0, 0].item())
back = (shared * 2).numpy()         # a NumPy array again
print("back to NumPy:", type(back).__name__, back.tolist())
print("one number out of a tensor: .item() ->", a[1, 2].item())
