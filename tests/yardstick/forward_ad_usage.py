"""The "Forward-mode Automatic Differentiation" tutorial: dual_level, make_dual,
unpack_dual (tangent kept as is or copied), jvp of a function of a dual and a plain
tensor, a module's parameters swapped for dual tensors, functional_call, a custom
autograd.Function with a jvp staticmethod checked by gradcheck(check_forward_ad=True), and
torch.func.jvp. Values come from fixed NumPy arrays."""

import numpy as np
import torch
import torch.autograd.forward_ad as fwAD
from torch import nn
from torch.func import functional_call, jvp

rng = np.random.default_rng(0)
primal = torch.from_numpy(rng.standard_normal((10, 10)).astype(np.float32))
tangent = torch.from_numpy(rng.standard_normal((10, 10)).astype(np.float32))
plain_tensor = torch.from_numpy(rng.standard_normal((10, 10)).astype(np.float32))


def fn(x, y):
    return x ** 2 + y ** 2


with fwAD.dual_level():
    dual_input = fwAD.make_dual(primal, tangent)
    print("tangent kept as is:", fwAD.unpack_dual(dual_input).tangent is tangent)
    dual_input_alt = fwAD.make_dual(primal, tangent.T)
    print("transposed tangent copied:", fwAD.unpack_dual(dual_input_alt).tangent is not tangent)
    dual_output = fn(dual_input, plain_tensor)
    jvp_out = fwAD.unpack_dual(dual_output).tangent
    print("jvp == 2 * primal * tangent:", torch.allclose(jvp_out, 2 * primal * tangent))
    print("jvp sum:", f"{jvp_out.sum().item():.4f}", "shape:", tuple(jvp_out.shape))
    print("plain input has a tangent:", fwAD.unpack_dual(plain_tensor).tangent is not None)
    small = fwAD.make_dual(torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0]))
    print(small * 3)
print("after the level:", fwAD.unpack_dual(dual_output).tangent)

# A module: swap its parameters for dual tensors.
model = nn.Linear(5, 5)
with torch.no_grad():
    model.weight.copy_(torch.from_numpy(rng.standard_normal((5, 5)).astype(np.float32)) * 0.3)
    model.bias.copy_(torch.linspace(-0.2, 0.2, 5))
input = torch.from_numpy(rng.standard_normal((16, 5)).astype(np.float32))
params = {name: p for name, p in model.named_parameters()}
tangents = {name: torch.full_like(p, 0.1) + p.detach() * 0.5 for name, p in params.items()}

with fwAD.dual_level():
    for name, p in params.items():
        delattr(model, name)
        setattr(model, name, fwAD.make_dual(p, tangents[name]))
    out = model(input)
    jvp_attr = fwAD.unpack_dual(out).tangent
    print("output requires grad:", out.requires_grad, tuple(jvp_attr.shape))
    print("jvp via setattr:", [round(v, 4) for v in jvp_attr[0].tolist()])

model = nn.Linear(5, 5)
with torch.no_grad():
    model.weight.copy_(params["weight"])
    model.bias.copy_(params["bias"])
dual_params = {}
with fwAD.dual_level():
    for name, p in params.items():
        dual_params[name] = fwAD.make_dual(p, tangents[name])
    out = functional_call(model, dual_params, input)
    jvp_call = fwAD.unpack_dual(out).tangent
print("functional_call agrees:", torch.allclose(jvp_call, jvp_attr, atol=1e-6))
print("model's own parameters untouched:", torch.equal(model.weight, params["weight"]))


class Fn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, foo):
        result = torch.exp(foo)
        ctx.result = result
        return result

    @staticmethod
    def jvp(ctx, gI):
        gO = gI * ctx.result
        del ctx.result
        return gO


fn = Fn.apply
primal64 = torch.from_numpy(rng.standard_normal((4, 4))).requires_grad_(True)
tangent64 = torch.from_numpy(rng.standard_normal((4, 4)))
with fwAD.dual_level():
    dual_input = fwAD.make_dual(primal64, tangent64)
    dual_output = fn(dual_input)
    jvp_fn = fwAD.unpack_dual(dual_output).tangent
print("custom jvp == exp(x) * t:", torch.allclose(jvp_fn, primal64.exp() * tangent64))
print("custom jvp trace:", f"{jvp_fn.trace().item():.5f}", jvp_fn.dtype)
print("gradcheck forward AD:", torch.autograd.gradcheck(
    Fn.apply, (primal64,), check_forward_ad=True, check_backward_ad=False,
    check_undefined_grad=False, check_batched_grad=False))

# torch.func.jvp: the same product as a function transform.
x = torch.linspace(-1.0, 1.0, 6)
v = torch.ones(6)
value, tangent_out = jvp(torch.sin, (x,), (v,))
print("func.jvp == cos:", torch.allclose(tangent_out, x.cos()), f"{value.sum().item():.4f}")
with fwAD.dual_level():
    dual = fwAD.make_dual(x, v)
    y = torch.tanh(dual).mul(2.0).sum()
    print("tanh jvp:", f"{fwAD.unpack_dual(y).tangent.item():.5f}")
