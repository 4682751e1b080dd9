"""The "Custom Python Operators" tutorial flow: torch.library.custom_op with a NumPy
kernel, register_fake, register_autograd with setup_context, opcheck, a mutating op,
torch.ops lookup, and the op used inside an nn.Module trained for a few steps."""
import numpy as np
import torch
from torch import Tensor, nn
from torch.library import custom_op


@custom_op("t5lib::numpy_sin", mutates_args=())
def numpy_sin(x: Tensor) -> Tensor:
    x_np = x.cpu().numpy()
    return torch.from_numpy(np.sin(x_np)).to(device=x.device)


@numpy_sin.register_fake
def _(x):
    return torch.empty_like(x)


def sin_setup_context(ctx, inputs, output):
    (x,) = inputs
    ctx.save_for_backward(x)


def sin_backward(ctx, grad):
    (x,) = ctx.saved_tensors
    return grad * x.cos()


numpy_sin.register_autograd(sin_backward, setup_context=sin_setup_context)


@custom_op("t5lib::scaled_tanh", mutates_args=())
def scaled_tanh(x: Tensor, scale: float) -> Tensor:
    return torch.from_numpy(np.tanh(x.numpy() * scale)).to(x.dtype)


@scaled_tanh.register_fake
def _(x, scale):
    return torch.empty_like(x)


def tanh_setup(ctx, inputs, output):
    _, scale = inputs
    ctx.scale = scale
    ctx.save_for_backward(output)


def tanh_backward(ctx, grad):
    (y,) = ctx.saved_tensors
    return grad * ctx.scale * (1 - y * y), None


scaled_tanh.register_autograd(tanh_backward, setup_context=tanh_setup)


@custom_op("t5lib::numpy_add_", mutates_args={"out"})
def numpy_add_(x: Tensor, y: Tensor, out: Tensor) -> None:
    np.add(x.numpy(), y.numpy(), out=out.numpy())


x = torch.linspace(-2, 2, 6, requires_grad=True)
y = numpy_sin(x)
print("forward:", [round(v, 4) for v in y.tolist()])
print("same as torch.sin:", torch.allclose(y, torch.sin(x)))
y.sum().backward()
print("grad is cos:", torch.allclose(x.grad, torch.cos(x.detach())))
print("via torch.ops:", torch.allclose(torch.ops.t5lib.numpy_sin(x.detach()), y.detach()))
print("default overload:", torch.allclose(torch.ops.t5lib.numpy_sin.default(x.detach()),
                                          y.detach()))

out = torch.zeros(4)
numpy_add_(torch.ones(4), torch.arange(4.0), out)
print("mutated out:", out.tolist())

# opcheck: schema, fake registration and autograd registration are tested together
sample_inputs = [
    [torch.randn(3)],
    [torch.randn(2, 3, requires_grad=True)],
    [torch.randn(4, dtype=torch.float64, requires_grad=True)],
]
for args in sample_inputs:
    result = torch.library.opcheck(numpy_sin, args)
    print("opcheck numpy_sin:", sorted(result.items()))
result = torch.library.opcheck(scaled_tanh, [torch.randn(5, requires_grad=True), 0.5])
print("opcheck scaled_tanh:", sorted(result.items()))
result = torch.library.opcheck(numpy_add_, [torch.ones(3), torch.ones(3), torch.zeros(3)])
print("opcheck numpy_add_:", sorted(result.items()))

# gradcheck through the registered autograd formula
xd = torch.linspace(-1, 1, 5, dtype=torch.float64, requires_grad=True)
print("gradcheck scaled_tanh:", torch.autograd.gradcheck(lambda t: scaled_tanh(t, 1.5), (xd,)))


class SinNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 8)
        self.fc2 = nn.Linear(8, 1)

    def forward(self, x):
        return self.fc2(scaled_tanh(numpy_sin(self.fc1(x)), 0.8))


model = SinNet()
with torch.no_grad():
    for index, parameter in enumerate(model.parameters()):
        values = torch.linspace(-0.5, 0.5, parameter.numel()) * (1 + index) / 4
        parameter.copy_(values.reshape(parameter.shape))
inputs = torch.linspace(-1, 1, 32).reshape(16, 2)
targets = (inputs[:, :1] * inputs[:, 1:]).sin()
optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
losses = []
for step in range(15):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(inputs), targets)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
print("losses:", [f"{value:.5f}" for value in losses[::3]])
print("loss fell:", losses[-1] < losses[0])
print("grad_fn on output:", model(inputs).grad_fn is not None)

with torch.no_grad():
    print("no_grad output requires grad:", model(inputs).requires_grad)

try:
    @custom_op("t5lib::bad", mutates_args=())
    def bad(x):
        return x
except ValueError as error:
    print("missing annotation:", type(error).__name__)
