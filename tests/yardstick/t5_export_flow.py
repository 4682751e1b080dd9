"""The torch.export tutorial flow: export a small CNN, read the graph and its signature,
run ep.module(), a dynamic batch Dim, save/load round trip, unflatten, and the errors a
user meets (data-dependent control flow, a guard on a static size)."""
import io

import torch
import torch.nn.functional as F
from torch import nn
from torch.export import Dim, export


def fixed_init(module):
    with torch.no_grad():
        for index, parameter in enumerate(module.parameters()):
            values = torch.linspace(-0.3, 0.3, parameter.numel()) * (1 + index % 3) / 3
            parameter.copy_(values.reshape(parameter.shape))
    return module


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(torch.flatten(x, 1))


model = fixed_init(SmallCNN()).eval()
example = (torch.linspace(-1, 1, 2 * 64).reshape(2, 1, 8, 8),)
ep = export(model, example)
print(type(ep).__name__)
placeholders = [node.name for node in ep.graph.nodes if node.op == "placeholder"]
print("placeholders:", placeholders)
targets = [str(node.target) for node in ep.graph.nodes if node.op == "call_function"]
print("calls:", targets)
signature = ep.graph_signature
print(signature)
print("parameters:", signature.parameters)
print("buffers:", signature.buffers)
print("user inputs:", signature.user_inputs, "outputs:", signature.user_outputs)
print("input kinds:", [spec.kind.name for spec in signature.input_specs])
print("state_dict keys:", sorted(ep.state_dict))
out = ep.module()(*example)
print("module() == eager:", torch.allclose(out, model(*example), atol=1e-6), tuple(out.shape))
print("range constraints:", len(ep.range_constraints))

# dynamic batch dimension
batch = Dim("batch", min=1, max=64)
ep_dyn = export(model, example, dynamic_shapes={"x": {0: batch}})
for n in (1, 5):
    data = torch.linspace(0, 1, n * 64).reshape(n, 1, 8, 8)
    print(f"batch {n}:", torch.allclose(ep_dyn.module()(data), model(data), atol=1e-6))
print("range:", [(int(r.lower), int(r.upper)) for r in ep_dyn.range_constraints.values()])
x_node = next(node for node in ep_dyn.graph.nodes if node.op == "placeholder"
              and node.name == ep_dyn.graph_signature.user_inputs[0])
print("symbolic batch:", not isinstance(x_node.meta["val"].shape[0], int),
      list(x_node.meta["val"].shape)[1:])
try:
    ep_dyn.module()(torch.zeros(3, 1, 6, 6))
except AssertionError as error:
    print("wrong static size:", type(error).__name__)

# save / load round trip
buffer = io.BytesIO()
torch.export.save(ep_dyn, buffer)
buffer.seek(0)
loaded = torch.export.load(buffer)
data = torch.linspace(-2, 2, 3 * 64).reshape(3, 1, 8, 8)
print("loaded == original:", torch.allclose(loaded.module()(data), ep_dyn.module()(data)))
print("loaded signature:", loaded.graph_signature.user_inputs)


# a module with submodules, two inputs and a constant, then unflatten
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        return torch.relu(self.lin(x))


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = Block()
        self.second = Block()
        self.register_buffer("offset", torch.full((4,), 0.5))

    def forward(self, x, y):
        return self.second(self.first(x) + y) - self.offset


two = fixed_init(TwoInputs())
args = (torch.linspace(-1, 1, 8).reshape(2, 4), torch.linspace(1, -1, 8).reshape(2, 4))
ep2 = export(two, args)
print("parameters:", ep2.graph_signature.parameters)
print("buffers:", ep2.graph_signature.buffers)
flat = torch.export.unflatten(ep2)
print("unflattened children:", [name for name, _ in flat.named_children()])
print("unflatten == eager:", torch.allclose(flat(*args), two(*args)))


class Branchy(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x + 1
        return x - 1


try:
    export(Branchy(), (torch.ones(3),))
    print("branch exported")
except RuntimeError as error:
    print("data-dependent branch raises:", type(error).__name__)

ep_kw = export(Block(), (), kwargs={"x": torch.ones(1, 4)})
print("kwargs input:", ep_kw.graph_signature.user_inputs)


# nested inputs and outputs: a dict batch, the same Dim name on two inputs
class DictModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, batch):
        return {"logits": self.fc(batch["x"]), "total": batch["y"].sum(dim=-1)}


dict_model = fixed_init(DictModel())
batch_in = {"x": torch.linspace(-1, 1, 20).reshape(5, 4), "y": torch.ones(5, 2)}
ep_dict = export(dict_model, (batch_in,),
                 dynamic_shapes={"batch": {"x": {0: Dim("b")}, "y": {0: Dim("b")}}})
print("dict inputs:", ep_dict.graph_signature.user_inputs, "symbols:",
      len(ep_dict.range_constraints))
out = ep_dict.module()({"x": torch.ones(3, 4), "y": torch.ones(3, 2)})
print("dict outputs:", sorted(out), tuple(out["logits"].shape), out["total"].tolist())
try:
    ep_dict.module()({"x": torch.ones(3, 4), "y": torch.ones(2, 2)})
except AssertionError as error:
    print("shared dim guard:", error)
