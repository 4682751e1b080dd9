"""torch.utils._pytree as training utilities use it: tree_map over nested batches, moving
dict/list/namedtuple batches to a device and dtype, flattening optimizer state, registering
a dataclass-like node, tree_flatten/tree_unflatten round trips and TreeSpec printing."""
import collections
import dataclasses

import torch
import torch.utils._pytree as pytree
from torch import nn

Batch = collections.namedtuple("Batch", ["images", "labels", "meta"])

batch = {
    "inputs": [torch.arange(6.0).reshape(2, 3), (torch.ones(2), torch.zeros(2, 1))],
    "mask": torch.tensor([True, False]),
    "ids": torch.tensor([3, 7]),
    "name": "batch-0",
    "weight": 0.5,
}
leaves, spec = pytree.tree_flatten(batch)
print("num leaves:", len(leaves), spec.num_leaves)
print("leaf kinds:", [type(leaf).__name__ for leaf in leaves])
print(spec)
rebuilt = pytree.tree_unflatten(leaves, spec)
print("round trip:", rebuilt.keys() == batch.keys(), torch.equal(rebuilt["ids"], batch["ids"]))

doubled = pytree.tree_map(lambda x: x * 2 if isinstance(x, torch.Tensor) else x, batch)
print("doubled:", doubled["inputs"][0].tolist(), doubled["weight"], doubled["name"])
floats = pytree.tree_map_only(torch.Tensor, lambda t: t.to(torch.float64), batch)
print("dtypes:", [str(t.dtype) for t in pytree.tree_leaves(floats) if isinstance(t, torch.Tensor)])
print("all tensors:", pytree.tree_all(lambda x: isinstance(x, torch.Tensor), batch),
      pytree.tree_any(lambda x: isinstance(x, str), batch))
print("all_only:", pytree.tree_all_only(torch.Tensor, lambda t: t.dim() <= 2, batch))


def to_device(tree, device, dtype=None):
    """What Lightning/accelerate-style helpers do: move every tensor, keep the rest."""
    def move(t):
        if t.is_floating_point() and dtype is not None:
            return t.to(device=device, dtype=dtype)
        return t.to(device)
    return pytree.tree_map_only(torch.Tensor, move, tree)


nt = Batch(torch.ones(2, 1, 4, 4), torch.tensor([0, 1]), {"index": torch.tensor([5, 9])})
moved = to_device(nt, "cpu", torch.float64)
print("namedtuple kept:", type(moved).__name__, moved.images.dtype, moved.labels.dtype,
      moved.meta["index"].tolist())
leaves, spec = pytree.tree_flatten(nt)
print("namedtuple spec:", spec.num_leaves, [tuple(x.shape) for x in leaves])
print(pytree.treespec_dumps(pytree.tree_structure([1, (2, 3)])))
loaded_spec = pytree.treespec_loads(pytree.treespec_dumps(pytree.tree_structure({"a": [1, 2]})))
print("spec loads:", pytree.tree_unflatten([10, 20], loaded_spec))

# flattening optimizer state: one flat vector of every state tensor, then back
model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
with torch.no_grad():
    for index, parameter in enumerate(model.parameters()):
        parameter.copy_(torch.linspace(-1, 1, parameter.numel()).reshape(parameter.shape)
                        / (index + 2))
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
data = torch.linspace(-1, 1, 24).reshape(8, 3)
target = torch.arange(8) % 2
for _ in range(3):
    optimizer.zero_grad()
    nn.functional.cross_entropy(model(data), target).backward()
    optimizer.step()
state = optimizer.state_dict()["state"]
state_leaves, state_spec = pytree.tree_flatten(state)
tensors = [leaf for leaf in state_leaves if isinstance(leaf, torch.Tensor)]
print("state leaves:", len(state_leaves), "tensors:", len(tensors))
flat = torch.cat([t.reshape(-1) for t in tensors if t.dim() > 0])
print("flat state:", tuple(flat.shape), f"{flat.abs().sum().item():.5f}")
zeroed = pytree.tree_map_only(torch.Tensor, torch.zeros_like, state)
print("zeroed:", sum(t.abs().sum().item() for t in pytree.tree_leaves(zeroed)))
print("same structure:", pytree.tree_structure(zeroed) == state_spec)
grads = {name: p.grad for name, p in model.named_parameters()}
norms = pytree.tree_map(lambda g: round(g.norm().item(), 5), grads)
print("grad norms:", norms)


class Pair:
    def __init__(self, first, second):
        self.first, self.second = first, second


pytree.register_pytree_node(
    Pair,
    lambda p: ([p.first, p.second], None),
    lambda values, context: Pair(*values),
)
pair = Pair(torch.ones(2), [torch.zeros(1), 3])
squared = pytree.tree_map(lambda x: x + 1, pair)
print("custom node:", type(squared).__name__, squared.first.tolist(), squared.second[0].tolist(),
      squared.second[1])
print("custom leaves:", len(pytree.tree_leaves(pair)))
print("is leaf:", pytree.tree_is_leaf(torch.ones(1)), pytree.tree_is_leaf([1]))



@dataclasses.dataclass
class ModelOutput:
    logits: torch.Tensor
    loss: torch.Tensor | None = None
    hidden: list | None = None


pytree.register_dataclass(ModelOutput)
output = ModelOutput(torch.ones(2, 3), hidden=[torch.zeros(1), torch.ones(1)])
detached = pytree.tree_map_only(torch.Tensor, lambda t: t.detach() * 3, output)
print("dataclass:", type(detached).__name__, detached.loss, detached.logits.sum().item(),
      [h.tolist() for h in detached.hidden])
print("dataclass paths:", [pytree.keystr(path) for path, _ in
                           pytree.tree_flatten_with_path(output)[0]])

# per-sample stacking of a list of nested samples into one batch (a collate_fn)
samples = [{"x": torch.full((2,), float(i)), "y": i} for i in range(4)]
flats = [pytree.tree_flatten(s) for s in samples]
columns = list(zip(*[f[0] for f in flats]))
stacked = [torch.stack(col) if isinstance(col[0], torch.Tensor) else torch.tensor(col)
           for col in columns]
collated = pytree.tree_unflatten(stacked, flats[0][1])
print("collated:", tuple(collated["x"].shape), collated["y"].tolist())
try:
    pytree.tree_unflatten([1, 2], pytree.tree_structure([1, 2, 3]))
except ValueError as error:
    print("bad unflatten:", type(error).__name__)
