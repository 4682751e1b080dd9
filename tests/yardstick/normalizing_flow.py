"""torch.distributions in a VAE and a normalizing flow: a Gaussian encoder whose posterior
is a Normal (log_prob, entropy, analytic kl_divergence against the prior, checked against
the closed form), trained with a reparameterized sample built from fixed noise; then a flow
as a TransformedDistribution over an Independent Normal with learnable AffineTransforms,
a user-written Transform subclass (a leaky, invertible tanh-free "planar-like" map) and
ComposeTransform, fitted to fixed 2-D data by maximum likelihood; transforms' inverse and
log_abs_det_jacobian, LogNormal against ExpTransform. All data and noise are fixed NumPy
values."""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import distributions as D
from torch import nn
from torch.distributions import constraints
from torch.distributions.transforms import (
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    SigmoidTransform,
    Transform,
)

rng = np.random.default_rng(12)


def fixed(*shape, scale=1.0):
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32)) * scale


# -- a small VAE -------------------------------------------------------------------------
class VAE(nn.Module):
    def __init__(self, d_in=8, d_z=2):
        super().__init__()
        self.enc = nn.Linear(d_in, 16)
        self.mu = nn.Linear(16, d_z)
        self.logvar = nn.Linear(16, d_z)
        self.dec = nn.Sequential(nn.Linear(d_z, 16), nn.Tanh(), nn.Linear(16, d_in))
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(fixed(*p.shape, scale=0.3))

    def posterior(self, x):
        h = torch.relu(self.enc(x))
        return D.Normal(self.mu(h), torch.exp(0.5 * self.logvar(h)))


x = fixed(32, 8)
eps = fixed(4, 32, 2)
vae = VAE()
q = vae.posterior(x)
prior = D.Normal(torch.zeros(2), torch.ones(2))
print("posterior:", q.batch_shape, q.event_shape, q.mean.shape)
kl = D.kl_divergence(q, prior)
closed = 0.5 * (q.scale ** 2 + q.loc ** 2 - 1 - 2 * q.scale.log())
print("kl matches closed form:", torch.allclose(kl, closed, atol=1e-6),
      f"{kl.sum(-1).mean().item():.5f}")
print("entropy:", f"{q.entropy().sum().item():.5f}",
      "log_prob:", f"{q.log_prob(q.loc).sum().item():.5f}")
print("independent:", D.Independent(q, 1).batch_shape, D.Independent(q, 1).event_shape)
optimizer = torch.optim.Adam(vae.parameters(), lr=0.01)
for step in range(60):
    q = vae.posterior(x)
    z = q.loc + q.scale * eps[step % 4]  # rsample with fixed noise
    recon = vae.dec(z)
    loss = F.mse_loss(recon, x, reduction="sum") / len(x) + D.kl_divergence(
        q, prior).sum(-1).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 20 == 19:
        print(f"vae step {step + 1}: loss {loss.item():.4f}")
sample = q.rsample((3,))
print("rsample shape:", tuple(sample.shape), sample.requires_grad)

# -- transforms --------------------------------------------------------------------------
base = D.Normal(torch.tensor(0.0), torch.tensor(1.0))
log_normal = D.LogNormal(torch.tensor(0.0), torch.tensor(1.0))
via_exp = D.TransformedDistribution(base, [ExpTransform()])
values = torch.tensor([0.5, 1.0, 2.5])
print("LogNormal == exp(Normal):", torch.allclose(log_normal.log_prob(values),
                                                  via_exp.log_prob(values)))
chain = ComposeTransform([AffineTransform(1.0, 2.0), SigmoidTransform()])
y = chain(torch.tensor([-1.0, 0.0, 1.0]))
print("compose:", [round(v, 5) for v in y.tolist()],
      "inverse:", [round(v, 4) for v in chain.inv(y).tolist()])
print("log|det J|:", [round(v, 5) for v in chain.log_abs_det_jacobian(
    torch.tensor([-1.0, 0.0, 1.0]), y).tolist()])
print("support:", type(via_exp.support).__name__)


class LeakyMap(Transform):
    """y = x + a * x / (1 + |x|) per dimension (invertible for a > -1): a flow layer with
    a closed-form log-det; the inverse is found by Newton steps."""

    domain = constraints.real_vector
    codomain = constraints.real_vector
    bijective = True

    def __init__(self, a):
        super().__init__(cache_size=1)
        self.a = a

    def _call(self, x):
        return x + self.a * x / (1 + x.abs())

    def _inverse(self, y):
        x = y.clone()
        for _ in range(30):
            f = x + self.a * x / (1 + x.abs()) - y
            x = x - f / (1 + self.a / (1 + x.abs()) ** 2)
        return x

    def log_abs_det_jacobian(self, x, y):
        return torch.log1p(self.a / (1 + x.abs()) ** 2).sum(-1)


data = torch.cat([fixed(128, 2, scale=0.4) + torch.tensor([2.0, -1.0]),
                  fixed(128, 2, scale=0.4) + torch.tensor([-1.0, 1.5])])
loc = torch.zeros(2, requires_grad=True)
log_scale = torch.zeros(2, requires_grad=True)
raw_a = torch.zeros(2, requires_grad=True)
optimizer = torch.optim.Adam([loc, log_scale, raw_a], lr=0.05)
flow_base = D.Independent(D.Normal(torch.zeros(2), torch.ones(2)), 1)
for step in range(150):
    a = F.softplus(raw_a) - 0.5
    flow = D.TransformedDistribution(
        flow_base, [LeakyMap(a), AffineTransform(loc, log_scale.exp(), event_dim=1)])
    nll = -flow.log_prob(data).mean()
    optimizer.zero_grad()
    nll.backward()
    optimizer.step()
    if step % 50 == 49:
        print(f"flow step {step + 1}: nll {nll.item():.4f}")
print("learned loc:", [round(v, 3) for v in loc.tolist()],
      "scale:", [round(v, 3) for v in log_scale.exp().tolist()])
print("flow shapes:", flow.batch_shape, flow.event_shape)
z = torch.tensor([[0.3, -0.2], [1.0, 2.0]])
forward = flow.transforms[0](z)
print("LeakyMap inverse:", torch.allclose(flow.transforms[0].inv(forward), z, atol=1e-5))
gauss_nll = -flow_base.log_prob((data - data.mean(0)) / data.std(0)).mean() + data.std(
    0).log().sum()
print(f"single Gaussian nll {gauss_nll.item():.4f}", "flow better:", nll.item() < gauss_nll.item())
print("log 2 pi:", f"{math.log(2 * math.pi):.5f}")
