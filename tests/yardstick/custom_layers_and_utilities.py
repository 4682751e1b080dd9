"""Code in the style of older tutorials and research repositories: Variable wrappers,
a custom convolution layer built on _pair, nn.init.kaiming_uniform_ and
_calculate_fan_in_and_fan_out with F.conv2d, gradient checkpointing of a deep block
(torch.utils.checkpoint.checkpoint / checkpoint_sequential, use_reentrant=False),
torch.testing.assert_close in self-checks, and a Gaussian VAE head written with
torch.distributions (Normal, Independent, kl_divergence, rsample) checked against the
closed-form KL. Weights and inputs come from fixed NumPy values; only what does not
depend on the random stream is printed."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable
from torch.distributions import Independent, Normal, kl_divergence
from torch.nn.modules.utils import _pair
from torch.utils.checkpoint import checkpoint, checkpoint_sequential


def fixed_(module, scale=0.3):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.43 + i).reshape(tuple(p.shape)) * scale))
    return module


class MyConv2d(nn.Module):
    """A Conv2d written by hand, as custom-layer tutorials do."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super(MyConv2d, self).__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        self.weight = nn.Parameter(torch.Tensor(out_channels, in_channels, *self.kernel_size))
        if bias:
            self.bias = nn.Parameter(torch.Tensor(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self):
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.padding):
            s += ", padding={padding}"
        if self.bias is None:
            s += ", bias=False"
        return s.format(**self.__dict__)


conv = MyConv2d(3, 4, 3, padding=1)
print(conv, conv.kernel_size, conv.weight.shape)
fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(conv.weight)
print("fans:", fan_in, fan_out, "bias bound respected:",
      bool(conv.bias.abs().max() <= 1 / math.sqrt(fan_in)))
fixed_(conv)
reference = nn.Conv2d(3, 4, 3, padding=1)
reference.load_state_dict(conv.state_dict())
x = Variable(torch.from_numpy(np.cos(np.arange(2 * 3 * 5 * 5) * 0.21).reshape(2, 3, 5, 5).astype(np.float32)),
             requires_grad=True)
print("Variable:", type(x).__name__, x.requires_grad, x.is_leaf, isinstance(x, Variable))
out = conv(x)
torch.testing.assert_close(out, reference(x))
print("matches nn.Conv2d:", tuple(out.shape), f"{out.sum().item():.5f}")
out.pow(2).mean().backward()
print("input grad:", f"{x.grad.abs().sum().item():.5f}")
try:
    torch.testing.assert_close(out, out + 1e-3)
except AssertionError as error:
    print("assert_close:", str(error).splitlines()[0], "|", str(error).splitlines()[2])

# Gradient checkpointing on a deep block.
blocks = nn.Sequential(*[nn.Sequential(nn.Linear(16, 16), nn.Tanh()) for _ in range(6)])
fixed_(blocks, 0.4)
head = fixed_(nn.Linear(16, 1))
inputs = torch.from_numpy(np.sin(np.arange(8 * 16) * 0.17).reshape(8, 16).astype(np.float32))
plain = head(blocks(inputs)).sum()
plain.backward()
plain_grads = [p.grad.clone() for p in blocks.parameters()]
blocks.zero_grad()
hidden = inputs.requires_grad_()
for block in blocks:
    hidden = checkpoint(block, hidden, use_reentrant=False)
checkpointed = head(hidden).sum()
checkpointed.backward()
torch.testing.assert_close(checkpointed, plain)
for g, p in zip(plain_grads, blocks.parameters()):
    torch.testing.assert_close(p.grad, g)
print("checkpointed loss:", f"{checkpointed.item():.5f}", "grads equal: True")
blocks.zero_grad()
segmented = head(checkpoint_sequential(blocks, 3, inputs, use_reentrant=False)).sum()
segmented.backward()
torch.testing.assert_close([p.grad for p in blocks.parameters()], plain_grads)
print("checkpoint_sequential:", f"{segmented.item():.5f}")


# A Gaussian VAE head with torch.distributions.
class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(16, 12)
        self.mu = nn.Linear(12, 4)
        self.log_var = nn.Linear(12, 4)

    def forward(self, x):
        h = F.relu(self.body(x))
        return self.mu(h), self.log_var(h)


encoder = fixed_(Encoder())
mu, log_var = encoder(inputs.detach())
posterior = Independent(Normal(mu, torch.exp(0.5 * log_var)), 1)
prior = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
kl = kl_divergence(posterior, prior)
closed_form = -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp(), dim=1)
torch.testing.assert_close(kl, closed_form)
print("posterior:", posterior.batch_shape, posterior.event_shape, "kl:", [f"{v:.5f}" for v in kl[:3].tolist()])
z = posterior.rsample()
print("rsample:", tuple(z.shape), z.requires_grad, "log_prob:", tuple(posterior.log_prob(z).shape))
kl.mean().backward()
print("encoder grad from kl:", f"{encoder.mu.weight.grad.abs().sum().item():.5f}")
standard = Normal(0.0, 1.0)
print("cdf/icdf:", f"{standard.cdf(torch.tensor(1.0)).item():.5f}", f"{standard.icdf(torch.tensor(0.975)).item():.5f}",
      "entropy:", f"{standard.entropy().item():.5f}")
