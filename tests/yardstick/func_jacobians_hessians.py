"""The torch.func "Jacobians, Hessians, hvp, vhp, and more" tutorial: jacrev and jacfwd
of a tanh-linear layer against autograd.functional, argnums, vmap for batched Jacobians,
hessian via jacfwd(jacrev), and hvp by forward-over-reverse (jvp of grad) against
reverse-over-reverse. Weights come from fixed NumPy values."""

from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import grad, hessian, jacfwd, jacrev, jvp, vjp, vmap

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(3)


def predict(weight, bias, x):
    return F.linear(x, weight, bias).tanh()


D = 16
weight = torch.from_numpy(rng.standard_normal((D, D))) * 0.3
bias = torch.from_numpy(rng.standard_normal(D)) * 0.1
x = torch.from_numpy(rng.standard_normal(D))

xp = x.clone().requires_grad_()
unit_vectors = torch.eye(D)


def compute_jac(xp):
    jacobian_rows = [torch.autograd.grad(predict(weight, bias, xp), xp, vec)[0]
                     for vec in unit_vectors]
    return torch.stack(jacobian_rows)


jacobian = compute_jac(xp)
print("row-by-row jacobian:", tuple(jacobian.shape), f"{jacobian[0].sum().item():.6f}")

jacobian_rev = jacrev(predict, argnums=2)(weight, bias, x)
print("jacrev matches:", torch.allclose(jacobian_rev, jacobian))
jacobian_fwd = jacfwd(predict, argnums=2)(weight, bias, x)
print("jacfwd matches:", torch.allclose(jacobian_fwd, jacobian))

ft_jac_weight, ft_jac_bias = jacrev(predict, argnums=(0, 1))(weight, bias, x)
ref_weight, ref_bias = torch.autograd.functional.jacobian(
    lambda w, b: predict(w, b, x), (weight, bias))
print("weight jacobian:", tuple(ft_jac_weight.shape), torch.allclose(ft_jac_weight, ref_weight))
print("bias jacobian:", tuple(ft_jac_bias.shape), torch.allclose(ft_jac_bias, ref_bias))
print("bias jacobian diagonal:", f"{ft_jac_bias.diagonal().sum().item():.6f}")

# Batched Jacobians: vmap over the batch, or the jacobian of the summed output.
batch_size = 8
Din, Dout = 6, 5
weight2 = torch.from_numpy(rng.standard_normal((Dout, Din))) * 0.5
bias2 = torch.from_numpy(rng.standard_normal(Dout)) * 0.1
xb = torch.from_numpy(rng.standard_normal((batch_size, Din)))
compute_batch_jacobian = vmap(jacrev(predict, argnums=2), in_dims=(None, None, 0))
batch_jacobian0 = compute_batch_jacobian(weight2, bias2, xb)
print("vmap(jacrev):", tuple(batch_jacobian0.shape))


def predict_with_output_summed(weight, bias, x):
    return predict(weight, bias, x).sum(0)


batch_jacobian1 = jacrev(predict_with_output_summed, argnums=2)(weight2, bias2, xb)
batch_jacobian1 = batch_jacobian1.movedim(1, 0)
print("summed-output trick agrees:", torch.allclose(batch_jacobian0, batch_jacobian1))
print("batch jacobian norm:", f"{batch_jacobian0.norm().item():.6f}")

# Hessians.
hess_api = hessian(predict, argnums=2)(weight2, bias2, xb[0])
hess_fwdrev = jacfwd(jacrev(predict, argnums=2), argnums=2)(weight2, bias2, xb[0])
print("hessian:", tuple(hess_api.shape), torch.allclose(hess_api, hess_fwdrev))
compute_batch_hessian = vmap(hessian(predict, argnums=2), in_dims=(None, None, 0))
batch_hess = compute_batch_hessian(weight2, bias2, xb)
print("batched hessian:", tuple(batch_hess.shape), f"{batch_hess.abs().sum().item():.5f}")
print("symmetric:", torch.allclose(batch_hess, batch_hess.transpose(-1, -2)))


def hvp(f, primals, tangents):
    return jvp(grad(f), primals, tangents)[1]


def f(x):
    return x.sin().sum()


xv = torch.from_numpy(rng.standard_normal(128))
tangent = torch.from_numpy(rng.standard_normal(128))
result = hvp(f, (xv,), (tangent,))
print("hvp == -sin(x) * v:", torch.allclose(result, -xv.sin() * tangent))


def hvp_revrev(f, primals, tangents):
    _, vjp_fn = vjp(grad(f), *primals)
    return vjp_fn(*tangents)


result_hvp_revrev = hvp_revrev(f, (xv,), (tangent,))
print("reverse-over-reverse agrees:", torch.allclose(result, result_hvp_revrev[0]))
quad = partial(lambda a, v: (a * v * v).sum(), torch.arange(1.0, 5.0))
print("grad of quadratic:", grad(quad)(torch.ones(4)).tolist())
print("default dtype:", torch.get_default_dtype())
