"""torch.library below custom_op: Library("DEF") with define/impl strings, torch.ops
namespaces and overloads, schemas, custom ops returning several tensors or taking lists,
register_kernel per device, a custom op inside torch.export, and the errors users hit."""
import numpy as np
import torch
from torch import Tensor, nn

# -- the low-level API: a fragment with schema strings ------------------------------------
lib = torch.library.Library("t5low", "DEF")
lib.define("clipped_relu(Tensor x, float limit=6.0) -> Tensor")
lib.define("row_stats(Tensor x) -> (Tensor, Tensor)")


def clipped_relu_cpu(x, limit=6.0):
    return x.clamp(min=0.0, max=limit)


def row_stats_cpu(x):
    return x.mean(dim=1), x.amax(dim=1)


lib.impl("clipped_relu", clipped_relu_cpu, "CPU")
lib.impl("row_stats", row_stats_cpu, "CPU")

x = torch.linspace(-4, 10, 8).reshape(2, 4)
print("clipped:", torch.ops.t5low.clipped_relu(x).tolist())
print("limit=3:", torch.ops.t5low.clipped_relu(x, 3.0)[1].tolist())
print("keyword limit:", torch.ops.t5low.clipped_relu.default(x, limit=1.0)[0].tolist())
mean, peak = torch.ops.t5low.row_stats(x)
print("row stats:", [round(v, 4) for v in mean.tolist()], peak.tolist())
op = torch.ops.t5low.clipped_relu.default
print("overload:", op.name(), op.overloadpacket.__name__ if hasattr(op, "overloadpacket")
      else None)
print("schema:", op._schema)
print("args:", [a.name for a in op._schema.arguments], [str(a.type) for a in op._schema.returns])
print("has op:", hasattr(torch.ops.t5low, "row_stats"), hasattr(torch.ops.t5low, "nope"))

# -- custom_op: several outputs, list inputs, optional args, mutation ------------------------


@torch.library.custom_op("t5ops::split_norm", mutates_args=())
def split_norm(x: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    norm = np.sqrt((x.numpy() ** 2).sum(axis=-1, keepdims=True) + eps)
    return torch.from_numpy(x.numpy() / norm), torch.from_numpy(norm.astype(np.float32))


@split_norm.register_fake
def _(x, eps=1e-5):
    return torch.empty_like(x), x.new_empty(x.shape[:-1] + (1,))


@torch.library.custom_op("t5ops::weighted_sum", mutates_args=())
def weighted_sum(xs: list[Tensor], weights: list[float], bias: Tensor | None = None) -> Tensor:
    out = sum(w * t for w, t in zip(weights, xs))
    return out if bias is None else out + bias


@weighted_sum.register_fake
def _(xs, weights, bias=None):
    return torch.empty_like(xs[0])


def weighted_sum_setup(ctx, inputs, output):
    ctx.weights = inputs[1]
    ctx.has_bias = inputs[2] is not None


def weighted_sum_backward(ctx, grad):
    return [grad * w for w in ctx.weights], None, grad if ctx.has_bias else None


weighted_sum.register_autograd(weighted_sum_backward, setup_context=weighted_sum_setup)


@torch.library.custom_op("t5ops::running_max_", mutates_args={"state"})
def running_max_(state: Tensor, x: Tensor) -> None:
    np.maximum(state.numpy(), x.numpy(), out=state.numpy())


unit, norms = split_norm(torch.tensor([[3.0, 4.0], [1.0, 0.0]]))
print("split_norm:", unit.tolist(), [round(v, 4) for v in norms.flatten().tolist()])
print("via ops:", [t.shape for t in torch.ops.t5ops.split_norm(torch.ones(2, 3))])
a = torch.ones(3, requires_grad=True)
b = torch.arange(3.0, requires_grad=True)
bias = torch.full((3,), 0.5, requires_grad=True)
total = weighted_sum([a, b], [2.0, -1.0], bias)
print("weighted:", total.tolist())
total.pow(2).sum().backward()
print("grads:", a.grad.tolist(), b.grad.tolist(), bias.grad.tolist())
print("no bias:", weighted_sum([a.detach(), b.detach()], [1.0, 1.0]).tolist())
state = torch.zeros(3)
for step in range(3):
    running_max_(state, torch.tensor([step, 2.0 - step, 0.5]))
print("running max:", state.tolist())
print("opcheck weighted_sum:", sorted(torch.library.opcheck(
    weighted_sum, ([torch.randn(2, requires_grad=True), torch.randn(2)], [0.5, 2.0],
                   torch.randn(2, requires_grad=True))).values()))


# -- a device-specific kernel, and the op inside a module and an exported program --------
@torch.library.custom_op("t5ops::soft_clip", mutates_args=(), device_types="cpu")
def soft_clip(x: Tensor, bound: float) -> Tensor:
    return torch.from_numpy(bound * np.tanh(x.numpy() / bound))


@soft_clip.register_fake
def _(x, bound):
    return torch.empty_like(x)


soft_clip.register_autograd(
    lambda ctx, grad: (grad * (1 - (ctx.saved_tensors[0] / ctx.bound) ** 2), None),
    setup_context=lambda ctx, inputs, output: (ctx.save_for_backward(output),
                                               setattr(ctx, "bound", inputs[1])))


class Clipped(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return soft_clip(self.fc(x), 0.5)


model = Clipped()
with torch.no_grad():
    model.fc.weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.3, 0.2, -1.0]]))
    model.fc.bias.copy_(torch.tensor([0.1, -0.2]))
inputs = torch.linspace(-1, 1, 6).reshape(2, 3)
print("module out:", [[round(v, 5) for v in row] for row in model(inputs).tolist()])
model(inputs).sum().backward()
print("fc grad:", [[round(v, 5) for v in row] for row in model.fc.weight.grad.tolist()])
ep = torch.export.export(model, (inputs,))
calls = [str(node.target) for node in ep.graph.nodes if node.op == "call_function"]
print("exported calls:", calls)
print("exported == eager:", torch.allclose(ep.module()(inputs), model(inputs)))
xd = torch.linspace(-0.4, 0.4, 4, dtype=torch.float64, requires_grad=True)
print("gradcheck soft_clip:", torch.autograd.gradcheck(lambda t: soft_clip(t, 0.7), (xd,)))

try:
    lib.define("clipped_relu(Tensor x) -> Tensor")
except RuntimeError as error:
    print("redefine:", type(error).__name__)
try:
    torch.ops.t5low.clipped_relu(x, "big")
except (RuntimeError, TypeError) as error:
    print("bad argument:", type(error).__name__)
