"""02 - Tensor manipulation: indexing, reshaping, joining, and views vs copies.

Run:  python examples/02_tensor_manipulation.py

Most tensor bugs are shape bugs. This file shows how to select, reshape and combine
tensors, and which operations share memory (views) and which copy.
"""

import ember as torch  # in PyTorch: import torch

x = torch.arange(12).reshape(3, 4)
print("x =\n", x)

# --- Indexing and slicing (like NumPy) ---------------------------------------------------
print("row 1:", x[1])
print("column 2:", x[:, 2])
print("last row, every other column:", x[-1, ::2])
print("boolean mask (values > 6):", x[x > 6])
print("fancy index (rows 0 and 2):\n", x[[0, 2]])

# --- Reshaping -----------------------------------------------------------------------------
print("view(4, 3):\n", x.view(4, 3))
print("reshape(2, -1) infers the -1:", x.reshape(2, -1).shape)
print("flatten:", x.flatten())
print("transpose / .T:", x.T.shape, " permute on 3-D:", torch.zeros(2, 3, 4).permute(2, 0, 1).shape)
print("unsqueeze(0) adds a dim:", x.unsqueeze(0).shape, " squeeze removes size-1 dims:",
      torch.zeros(1, 3, 1).squeeze().shape)

# --- Views share memory with their base tensor --------------------------------------------
row = x[0]              # a view: no copy
row[0] = 100            # writes through to x
print("after row[0] = 100, x[0, 0] =", x[0, 0].item())
print("x.T is a view but not contiguous:", x.T.is_contiguous(), " strides:", x.T.stride())
print(".contiguous() copies into row-major order:", x.T.contiguous().is_contiguous())
picked = x[[0]]         # advanced indexing copies
picked[0, 0] = -1
print("advanced indexing copies: x[0, 0] is still", x[0, 0].item())
clone = x.clone()       # an explicit copy
clone.zero_()           # in-place ops end with an underscore
print("clone.zero_() leaves x alone:", x.sum().item())

# --- Joining and splitting ------------------------------------------------------------------
a, b = torch.ones(2, 3), torch.zeros(2, 3)
print("cat along dim 0:", torch.cat([a, b]).shape, " along dim 1:", torch.cat([a, b], dim=1).shape)
print("stack adds a new dim:", torch.stack([a, b]).shape)
first, second = torch.arange(10).chunk(2)
print("chunk(2):", first, second)
print("split into sizes [3, 7]:", [t.shape[0] for t in torch.arange(10).split([3, 7])])

# --- Handy selectors ---------------------------------------------------------------------------
scores = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
kept = torch.where(scores > 0.25, scores, torch.zeros_like(scores))
print("where(scores > 0.25, scores, 0):\n", kept)
print("topk(2) of each row:", scores.topk(2, dim=1).indices)
print("gather the chosen columns:", scores.gather(1, torch.tensor([[1], [0]])).squeeze(1))
