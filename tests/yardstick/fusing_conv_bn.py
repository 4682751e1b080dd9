"""The "Fusing Convolution and Batch Norm using Custom Function" tutorial: a Conv2d and a
BatchNorm2d (training mode) written as one autograd.Function with hand-written backward
(conv backward through conv2d/conv_transpose2d, checked against torch.nn.grad; batch-norm
backward from saved statistics), checked by gradcheck in float64, wrapped in a module and
trained against the unfused pair from the same weights; then inference-time folding with
torch.nn.utils.fusion.fuse_conv_bn_eval. Data and weights are fixed NumPy values."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_conv_bn_weights


def convolution_backward(grad_out, X, weight):
    grad_input = F.conv2d(X.transpose(0, 1), grad_out.transpose(0, 1)).transpose(0, 1)
    grad_X = F.conv_transpose2d(grad_out, weight)
    return grad_X, grad_input


class Conv2D(torch.autograd.Function):
    @staticmethod
    def forward(ctx, X, weight):
        ctx.save_for_backward(X, weight)
        return F.conv2d(X, weight)

    @staticmethod
    def backward(ctx, grad_out):
        X, weight = ctx.saved_tensors
        return convolution_backward(grad_out, X, weight)


def unsqueeze_all(t):
    return t[None, :, None, None]


def batch_norm_backward(grad_out, X, sum, sqrt_var, N, eps):
    tmp = ((X - unsqueeze_all(sum) / N) * grad_out).sum(dim=(0, 2, 3))
    tmp *= -1
    d_denom = tmp / (sqrt_var + eps) ** 2
    d_var = d_denom / (2 * sqrt_var)
    d_var *= 2 / (N - 1)
    d_var = unsqueeze_all(d_var)
    d_mean_dx = grad_out / unsqueeze_all(sqrt_var + eps)
    d_mean_dx = unsqueeze_all(-d_mean_dx.sum(dim=(0, 2, 3)) / N)
    grad_input = X * d_var
    grad_input += (-unsqueeze_all(sum) / N) * d_var
    grad_input += grad_out / unsqueeze_all(sqrt_var + eps)
    grad_input += d_mean_dx
    return grad_input


class BatchNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx, X, eps=1e-3):
        sum = X.sum(dim=(0, 2, 3))
        var = X.var(unbiased=True, dim=(0, 2, 3))
        N = X.numel() / X.size(1)
        sqrt_var = torch.sqrt(var)
        ctx.save_for_backward(X)
        ctx.eps = eps
        ctx.sum = sum
        ctx.N = N
        ctx.sqrt_var = sqrt_var
        mean = sum / N
        denom = sqrt_var + eps
        out = X - unsqueeze_all(mean)
        out /= unsqueeze_all(denom)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        X, = ctx.saved_tensors
        return batch_norm_backward(grad_out, X, ctx.sum, ctx.sqrt_var, ctx.N, ctx.eps)


class FusedConvBN2DFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, X, conv_weight, eps=1e-3):
        assert X.ndim == 4
        ctx.save_for_backward(X, conv_weight)
        X = F.conv2d(X, conv_weight)
        sum = X.sum(dim=(0, 2, 3))
        var = X.var(unbiased=True, dim=(0, 2, 3))
        N = X.numel() / X.size(1)
        sqrt_var = torch.sqrt(var)
        ctx.eps = eps
        ctx.sum = sum
        ctx.N = N
        ctx.sqrt_var = sqrt_var
        mean = sum / N
        denom = sqrt_var + eps
        out = X - unsqueeze_all(mean)
        out /= unsqueeze_all(denom)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        X, conv_weight, = ctx.saved_tensors
        # Recompute the conv output instead of saving it: the point of fusing.
        X_conv_out = F.conv2d(X, conv_weight)
        grad_out = batch_norm_backward(grad_out, X_conv_out, ctx.sum, ctx.sqrt_var,
                                       ctx.N, ctx.eps)
        grad_X, grad_input = convolution_backward(grad_out, X, conv_weight)
        return grad_X, grad_input, None, None, None, None, None


class FusedConvBN(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, exp_avg_factor=0.1,
                 eps=1e-3, device=None, dtype=None):
        super().__init__()
        factory_kwargs = {"device": device, "dtype": dtype}
        weight_shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.conv_weight = nn.Parameter(torch.empty(*weight_shape, **factory_kwargs))
        self.eps = eps
        self.reset_parameters()

    def forward(self, X):
        return FusedConvBN2DFunction.apply(X, self.conv_weight, self.eps)

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.conv_weight, a=np.sqrt(5))


rng = np.random.default_rng(7)
weight = torch.from_numpy(rng.random((5, 3, 3, 3)))
X = torch.from_numpy(rng.random((4, 3, 5, 5)))
print("conv gradcheck:", torch.autograd.gradcheck(
    Conv2D.apply, (X.clone().requires_grad_(), weight.clone().requires_grad_())))
grad_out = torch.from_numpy(rng.random((4, 5, 3, 3)))
grad_X, grad_w = convolution_backward(grad_out, X, weight)
print("torch.nn.grad agrees:",
      torch.allclose(grad_X, torch.nn.grad.conv2d_input(X.shape, weight, grad_out)),
      torch.allclose(grad_w, torch.nn.grad.conv2d_weight(X, weight.shape, grad_out)))
a = torch.from_numpy(rng.random((1, 2, 3, 4))).requires_grad_()
print("batch norm gradcheck:", torch.autograd.gradcheck(BatchNorm.apply, (a,), fast_mode=False))
print("fused gradcheck:", torch.autograd.gradcheck(
    FusedConvBN2DFunction.apply,
    (X.clone().requires_grad_(), weight.clone().requires_grad_())))

# Train the fused module and the unfused pair (conv + affine-free batch norm) from the same
# weights on the same fixed data: the losses must agree step for step.
data = torch.from_numpy(rng.standard_normal((64, 1, 12, 12)).astype(np.float32))
labels = torch.from_numpy(rng.integers(0, 4, 64))
w0 = torch.from_numpy(rng.standard_normal((8, 1, 3, 3)).astype(np.float32)) * 0.3
head_w = torch.from_numpy(rng.standard_normal((4, 8)).astype(np.float32)) * 0.3


class Net(nn.Module):
    def __init__(self, fused=True):
        super().__init__()
        self.fused = fused
        if fused:
            self.convbn = FusedConvBN(1, 8, 3)
        else:
            self.conv = nn.Conv2d(1, 8, 3, bias=False)
            self.bn = nn.BatchNorm2d(8, affine=False, eps=1e-3)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = self.convbn(x) if self.fused else self.bn(self.conv(x))
        x = F.relu(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return F.log_softmax(self.fc(x), dim=1)


def train(model):
    with torch.no_grad():
        (model.convbn.conv_weight if model.fused else model.conv.weight).copy_(w0)
        model.fc.weight.copy_(head_w)
        model.fc.bias.zero_()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for step in range(8):
        batch = slice(step % 4 * 16, step % 4 * 16 + 16)
        optimizer.zero_grad()
        loss = F.nll_loss(model(data[batch]), labels[batch])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


fused_losses = train(Net(fused=True))
plain_losses = train(Net(fused=False))
print("fused losses:", [f"{v:.4f}" for v in fused_losses])
# The tutorial's batch norm divides by sqrt(unbiased var) + eps, nn.BatchNorm2d by
# sqrt(biased var + eps): close, not identical.
print("close to nn.BatchNorm2d's:", all(abs(a - b) < 0.05 for a, b in zip(fused_losses,
                                                                            plain_losses)))

# Inference: fold an eval-mode BatchNorm into the conv before it.
conv = nn.Conv2d(3, 6, 3, padding=1)
bn = nn.BatchNorm2d(6)
with torch.no_grad():
    conv.weight.copy_(torch.from_numpy(rng.standard_normal((6, 3, 3, 3)).astype(np.float32)))
    conv.bias.copy_(torch.linspace(-1, 1, 6))
    bn.weight.copy_(torch.linspace(0.5, 1.5, 6))
    bn.bias.copy_(torch.linspace(-0.3, 0.3, 6))
bn.train()
for i in range(3):  # gather running statistics
    bn(conv(torch.from_numpy(rng.standard_normal((4, 3, 8, 8)).astype(np.float32))))
conv.eval()
bn.eval()
fused = fuse_conv_bn_eval(conv, bn)
x = torch.from_numpy(rng.standard_normal((2, 3, 8, 8)).astype(np.float32))
with torch.no_grad():
    reference = bn(conv(x))
    out = fused(x)
print("fused conv:", fused)
print("fused == conv then bn:", torch.allclose(out, reference, atol=1e-5),
      f"{out.abs().sum().item():.3f}")
print("running mean:", [round(v, 4) for v in bn.running_mean.tolist()])
w, b = fuse_conv_bn_weights(conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps,
                            bn.weight, bn.bias)
print(type(w).__name__, tuple(w.shape), w.requires_grad, f"{b.sum().item():.4f}")
try:
    fuse_conv_bn_eval(conv.train(), bn)
except AssertionError as e:
    print("AssertionError:", e)
