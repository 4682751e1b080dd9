"""The torch.func "Neural Tangent Kernels" tutorial: a small CNN made functional with
functional_call over detached parameters, per-example Jacobians by vmap(jacrev), the
empirical NTK as a contraction of Jacobians (full, trace and diagonal modes) and again by
NTK-vector products (vmap over vjp of jvp), all agreeing. Weights and inputs are fixed
NumPy values."""

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, jacrev, jvp, vjp, vmap

rng = np.random.default_rng(21)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, (3, 3))
        self.conv2 = nn.Conv2d(8, 8, (3, 3))
        self.conv3 = nn.Conv2d(8, 8, (3, 3))
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.conv1(x)
        x = x.relu()
        x = self.conv2(x)
        x = x.relu()
        x = self.conv3(x)
        x = x.mean((2, 3))
        x = self.fc(x)
        return x


net = CNN()
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32)) * 0.3)
x_train = torch.from_numpy(rng.standard_normal((6, 3, 8, 8)).astype(np.float32))
x_test = torch.from_numpy(rng.standard_normal((4, 3, 8, 8)).astype(np.float32))
params = {k: v.detach() for k, v in net.named_parameters()}


def fnet_single(params, x):
    return functional_call(net, params, (x.unsqueeze(0),)).squeeze(0)


def empirical_ntk_jacobian_contraction(fnet_single, params, x1, x2, compute="full"):
    jac1 = vmap(jacrev(fnet_single), (None, 0))(params, x1)
    jac1 = jac1.values()
    jac1 = [j.flatten(2) for j in jac1]
    jac2 = vmap(jacrev(fnet_single), (None, 0))(params, x2)
    jac2 = jac2.values()
    jac2 = [j.flatten(2) for j in jac2]
    if compute == "full":
        einsum_expr = "Naf,Mbf->NMab"
    elif compute == "trace":
        einsum_expr = "Naf,Maf->NM"
    elif compute == "diagonal":
        einsum_expr = "Naf,Maf->NMa"
    else:
        raise ValueError(f"Unknown compute mode {compute}")
    result = torch.stack([torch.einsum(einsum_expr, j1, j2) for j1, j2 in zip(jac1, jac2)])
    result = result.sum(0)
    return result


result = empirical_ntk_jacobian_contraction(fnet_single, params, x_train, x_test)
print("full NTK:", result.shape, f"{result.abs().sum().item():.4f}")
trace = empirical_ntk_jacobian_contraction(fnet_single, params, x_train, x_test, "trace")
print("trace NTK:", trace.shape, torch.allclose(trace, result.diagonal(dim1=-2, dim2=-1).sum(-1),
                                                 rtol=1e-4, atol=1e-4))
diagonal = empirical_ntk_jacobian_contraction(fnet_single, params, x_train, x_test, "diagonal")
print("diagonal NTK:", diagonal.shape,
      torch.allclose(diagonal, result.diagonal(dim1=-2, dim2=-1), rtol=1e-4, atol=1e-4))
self_ntk = empirical_ntk_jacobian_contraction(fnet_single, params, x_train, x_train, "trace")
print("self NTK symmetric:", torch.allclose(self_ntk, self_ntk.T, rtol=1e-4, atol=1e-4),
      "positive diagonal:", bool((self_ntk.diagonal() > 0).all()))


def empirical_ntk_ntk_vps(func, params, x1, x2, compute="full"):
    def get_ntk(x1, x2):
        def func_x1(params):
            return func(params, x1)

        def func_x2(params):
            return func(params, x2)

        output, vjp_fn = vjp(func_x1, params)

        def get_ntk_slice(vec):
            vjps = vjp_fn(vec)
            _, jvps = jvp(func_x2, (params,), vjps)
            return jvps

        basis = torch.eye(output.numel(), dtype=output.dtype, device=output.device).view(
            output.numel(), -1)
        return vmap(get_ntk_slice)(basis)

    result = vmap(vmap(get_ntk, (None, 0)), (0, None))(x1, x2)
    if compute == "full":
        return result
    if compute == "trace":
        return torch.einsum("NMKK->NM", result)
    if compute == "diagonal":
        return torch.einsum("NMKK->NMK", result)
    raise ValueError(f"Unknown compute mode {compute}")


result_from_jacobian_contraction = empirical_ntk_jacobian_contraction(
    fnet_single, params, x_test[:2], x_train[:3])
result_from_ntk_vps = empirical_ntk_ntk_vps(fnet_single, params, x_test[:2], x_train[:3])
print("NTK-vector products agree:", result_from_ntk_vps.shape,
      torch.allclose(result_from_jacobian_contraction, result_from_ntk_vps, atol=1e-4,
                     rtol=1e-4))
print("ntk[0, 0] diagonal:", [round(v, 3) for v in result_from_ntk_vps[0, 0].diagonal().tolist()])
