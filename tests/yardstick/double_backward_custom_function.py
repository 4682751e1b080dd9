"""The "Double Backward with Custom Functions" tutorial: gradcheck and gradgradcheck of
custom autograd.Functions that save inputs (Square), outputs (Exp) and intermediate results
returned as extra outputs (Sinh) (first order only: see the notes below), the wrong way of saving intermediates on ctx (caught by
gradgradcheck), and a backward that is itself a custom Function (Cube/CubeBackward); then
second derivatives through them with create_graph=True. Inputs are fixed NumPy values."""

import numpy as np
import torch

rng = np.random.default_rng(9)


def rand_double(*shape):
    return torch.from_numpy(rng.random(shape)).requires_grad_()


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 2

    @staticmethod
    def backward(ctx, grad_out):
        x, = ctx.saved_tensors
        return grad_out * 2 * x


x = rand_double(3, 3)
print("Square gradcheck:", torch.autograd.gradcheck(Square.apply, x))
print("Square gradgradcheck:", torch.autograd.gradgradcheck(Square.apply, x))


class Exp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        result = torch.exp(x)
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_out):
        result, = ctx.saved_tensors
        return result * grad_out


x = rand_double(3, 3)
print("Exp gradcheck:", torch.autograd.gradcheck(Exp.apply, x))
# The tutorial also runs gradgradcheck(Exp.apply, x): ember's saved *output* of a user
# Function comes back without its grad_fn, so that double backward is not yet supported.


class Sinh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        expx = torch.exp(x)
        expnegx = torch.exp(-x)
        ctx.save_for_backward(expx, expnegx)
        return (expx - expnegx) / 2, expx, expnegx

    @staticmethod
    def backward(ctx, grad_out, _grad_out_exp, _grad_out_negexp):
        expx, expnegx = ctx.saved_tensors
        grad_input = grad_out * (expx + expnegx) / 2
        grad_input += _grad_out_exp * expx
        grad_input -= _grad_out_negexp * expnegx
        return grad_input


def sinh(x):
    return Sinh.apply(x)[0]


x = rand_double(3, 3)
print("Sinh gradcheck:", torch.autograd.gradcheck(sinh, x))
# The tutorial's gradgradcheck(sinh, x) needs the same saved-output support as Exp's.
out, expx, expnegx = Sinh.apply(x)
print("outputs:", out.grad_fn is not None, expx.requires_grad,
      torch.allclose(out, torch.sinh(x)))


class SinhBad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        expx = torch.exp(x)
        expnegx = torch.exp(-x)
        ctx.expx = expx
        ctx.expnegx = expnegx
        return (expx - expnegx) / 2

    @staticmethod
    def backward(ctx, grad_out):
        expx = ctx.expx
        expnegx = ctx.expnegx
        grad_input = grad_out * (expx + expnegx) / 2
        return grad_input


x = rand_double(2, 2)
print("SinhBad gradcheck:", torch.autograd.gradcheck(SinhBad.apply, x))
try:
    torch.autograd.gradgradcheck(SinhBad.apply, x)
    print("SinhBad gradgradcheck: True")
except RuntimeError as error:
    print("SinhBad gradgradcheck raised", type(error).__name__,
          "Jacobian mismatch" in str(error))
print("gradgradcheck raise_exception=False:",
      torch.autograd.gradgradcheck(SinhBad.apply, x, raise_exception=False))


def cube_forward(x):
    return x ** 3


def cube_backward(grad_out, x):
    return grad_out * 3 * x ** 2


def cube_backward_backward(grad_out, sav_grad_out, x):
    return grad_out * sav_grad_out * 6 * x


def cube_backward_backward_grad_out(grad_out, x):
    return grad_out * 3 * x ** 2


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return cube_forward(x)

    @staticmethod
    def backward(ctx, grad_out):
        x, = ctx.saved_tensors
        return CubeBackward.apply(grad_out, x)


class CubeBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, grad_out, x):
        ctx.save_for_backward(x, grad_out)
        return cube_backward(grad_out, x)

    @staticmethod
    def backward(ctx, grad_out):
        x, sav_grad_out = ctx.saved_tensors
        dx = cube_backward_backward(grad_out, sav_grad_out, x)
        dgrad_out = cube_backward_backward_grad_out(grad_out, x)
        return dgrad_out, dx


x = rand_double(2, 2)
print("Cube gradcheck:", torch.autograd.gradcheck(Cube.apply, x))
print("Cube gradgradcheck:", torch.autograd.gradgradcheck(Cube.apply, x))

# Second derivatives through the custom Functions by hand.
x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.double, requires_grad=True)
y = Cube.apply(x).sum()
(g,) = torch.autograd.grad(y, x, create_graph=True)
print("d/dx x^3:", g.tolist(), type(g.grad_fn).__name__.startswith("CubeBackward"))
(h,) = torch.autograd.grad(g.sum(), x)
print("d2/dx2 x^3:", h.tolist())
y = Cube.apply(x).sum() + Square.apply(x).sum() + x.exp().sum()
(g,) = torch.autograd.grad(y, x, create_graph=True)
g.sum().backward()
print("second derivative sum:", [round(v, 6) for v in x.grad.tolist()])
print("expected:", [round(v, 6) for v in (6 * x + 2 + torch.exp(x)).tolist()])
