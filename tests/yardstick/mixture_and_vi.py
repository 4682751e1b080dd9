"""Probabilistic modelling with torch.distributions as tutorials and course notebooks
write it: a 2-D Gaussian mixture fitted by gradient ascent on MixtureSameFamily.log_prob
(Categorical logits, MultivariateNormal with a scale_tril built from tril + softplus
diagonal, Independent Normals as the diagonal alternative), the same mixture fitted by EM
with logsumexp responsibilities, constraint handling with transform_to/biject_to, then
variational inference for Bayesian linear regression: a mean-field Normal posterior,
the ELBO from expected log-likelihood with fixed reparameterisation noise, analytic
kl_divergence to the prior (Normal, MultivariateNormal, Independent, Categorical,
Dirichlet, Gamma, Beta), LowRankMultivariateNormal, and distribution summaries (entropy,
mean, variance, cdf/icdf, batch/event shapes). Nothing printed depends on a random draw."""

import math

import numpy as np
import torch
import torch.distributions as D
from torch.distributions import constraints, kl_divergence, transform_to

# data: three fixed clusters laid out on a spiral so no RNG is needed
t = np.arange(90)
centers = np.array([[0.0, 0.0], [3.0, 1.0], [-1.0, 3.0]])
offsets = np.stack([np.cos(t * 2.39996) * (t % 7) * 0.12, np.sin(t * 2.39996) * (t % 5) * 0.15], 1)
X = torch.from_numpy((centers[t % 3] + offsets).astype(np.float32))
print("data:", tuple(X.shape), X.dtype, "mean:", [round(v, 4) for v in X.mean(0).tolist()])

K, dim = 3, 2
logits = torch.zeros(K, requires_grad=True)
locs = torch.tensor([[0.5, 0.5], [2.0, 0.0], [0.0, 2.0]], requires_grad=True)
raw_diag = torch.zeros(K, dim, requires_grad=True)
offdiag = torch.zeros(K, dim, dim, requires_grad=True)


def mixture():
    scale_tril = torch.tril(offdiag, diagonal=-1) + torch.diag_embed(torch.nn.functional.softplus(raw_diag) + 1e-3)
    comp = D.MultivariateNormal(loc=locs, scale_tril=scale_tril)
    return D.MixtureSameFamily(D.Categorical(logits=logits), comp)


gmm = mixture()
print("batch/event:", tuple(gmm.batch_shape), tuple(gmm.event_shape), "components:",
      tuple(gmm.component_distribution.batch_shape), tuple(gmm.component_distribution.event_shape))
opt = torch.optim.Adam([logits, locs, raw_diag, offdiag], lr=0.05)
for step in range(60):
    nll = -mixture().log_prob(X).mean()
    opt.zero_grad()
    nll.backward()
    opt.step()
    if step % 20 == 0 or step == 59:
        print(f"step {step:2d} nll {nll.item():.5f}")
gmm = mixture()
with torch.no_grad():
    print("weights:", [round(v, 4) for v in gmm.mixture_distribution.probs.tolist()])
    print("mixture mean:", [round(v, 4) for v in gmm.mean.tolist()], "variance:",
          [round(v, 4) for v in gmm.variance.tolist()])
    post = gmm.component_distribution.log_prob(X.unsqueeze(1)) + gmm.mixture_distribution.logits
    print("responsibilities sum to one:", torch.allclose(post.softmax(-1).sum(-1), torch.ones(90)))
    print("cluster sizes:", torch.bincount(post.argmax(-1), minlength=K).tolist())

diag = D.Independent(D.Normal(locs.detach(), torch.nn.functional.softplus(raw_diag.detach()) + 1e-3), 1)
full = D.MultivariateNormal(locs.detach(), scale_tril=torch.diag_embed(diag.base_dist.scale))
print("Independent == diagonal MVN:", torch.allclose(diag.log_prob(X[:5, None]), full.log_prob(X[:5, None]), atol=1e-5),
      tuple(diag.batch_shape), tuple(diag.event_shape))
print("entropy:", [round(v, 4) for v in diag.entropy().tolist()], [round(v, 4) for v in full.entropy().tolist()])

# EM for a diagonal GMM, written out with logsumexp
pi = torch.full((K,), 1.0 / K)
mu = torch.tensor([[0.5, 0.5], [2.0, 0.0], [0.0, 2.0]])
var = torch.ones(K, dim)
for it in range(15):
    log_p = (-0.5 * ((X[:, None] - mu) ** 2 / var + var.log() + math.log(2 * math.pi))).sum(-1) + pi.log()
    log_norm = torch.logsumexp(log_p, dim=1, keepdim=True)
    resp = (log_p - log_norm).exp()
    nk = resp.sum(0)
    pi = nk / X.size(0)
    mu = (resp.t() @ X) / nk[:, None]
    var = (resp.t() @ X.pow(2)) / nk[:, None] - mu.pow(2) + 1e-4
    if it in (0, 14):
        print(f"EM iter {it:2d} log-likelihood {log_norm.sum().item():.4f}")
print("EM means:", [[round(v, 3) for v in row] for row in mu.tolist()])
em = D.MixtureSameFamily(D.Categorical(probs=pi), D.Independent(D.Normal(mu, var.sqrt()), 1))
print(f"EM mixture log_prob agrees: {em.log_prob(X).sum().item():.4f}")

# constraints and bijections
for c in (constraints.positive, constraints.unit_interval, constraints.simplex, constraints.lower_cholesky):
    shape = (3, 3) if c is constraints.lower_cholesky else (3,)
    raw = torch.linspace(-1, 1, int(np.prod(shape))).reshape(shape)
    value = transform_to(c)(raw)
    print(type(c).__name__, "check:", bool(c.check(value).all()), [round(v, 4) for v in value.flatten()[:3].tolist()])
bij = D.biject_to(constraints.interval(-1.0, 2.0))
z = torch.tensor([-3.0, 0.0, 3.0])
print("biject_to interval:", [round(v, 4) for v in bij(z).tolist()], torch.allclose(bij.inv(bij(z)), z, atol=1e-5),
      [round(v, 4) for v in bij.log_abs_det_jacobian(z, bij(z)).tolist()])

# variational Bayesian linear regression with fixed reparameterisation noise
xs = torch.linspace(-2, 2, 40).unsqueeze(1)
ys = 1.7 * xs.squeeze(1) - 0.4 + 0.2 * torch.sin(7 * xs.squeeze(1))
q_mu = torch.zeros(2, requires_grad=True)
q_rho = torch.full((2,), -2.0, requires_grad=True)
prior = D.Normal(torch.zeros(2), torch.ones(2))
eps = torch.from_numpy(np.cos(np.arange(16 * 2) * 1.3).reshape(16, 2).astype(np.float32))
vopt = torch.optim.Adam([q_mu, q_rho], lr=0.05)
for step in range(80):
    q = D.Normal(q_mu, torch.nn.functional.softplus(q_rho))
    w = q.loc + q.scale * eps                        # the reparameterisation rsample does
    pred = xs * w[:, :1].t() + w[:, 1:].t()          # (40, 16)
    ll = D.Normal(pred, 0.3).log_prob(ys.unsqueeze(1)).sum(0).mean()
    kl = kl_divergence(q, prior).sum()
    elbo = ll - kl
    vopt.zero_grad()
    (-elbo).backward()
    vopt.step()
    if step % 40 == 0 or step == 79:
        print(f"step {step:2d} elbo {elbo.item():.4f} kl {kl.item():.4f}")
q = D.Normal(q_mu.detach(), torch.nn.functional.softplus(q_rho.detach()))
print("posterior mean:", [round(v, 3) for v in q.mean.tolist()], "std:", [round(v, 4) for v in q.stddev.tolist()])
print("95% interval:", [round(v, 3) for v in q.icdf(torch.tensor([0.025, 0.975]).unsqueeze(1)).flatten().tolist()])
print("cdf at mean:", q.cdf(q.mean).tolist())

# analytic KLs and summaries
pairs = [
    ("MVN", D.MultivariateNormal(torch.zeros(2), torch.tensor([[2.0, 0.3], [0.3, 1.0]])),
     D.MultivariateNormal(torch.ones(2), scale_tril=torch.tensor([[1.0, 0.0], [0.5, 1.5]]))),
    ("Independent", D.Independent(D.Normal(torch.zeros(3), torch.ones(3)), 1),
     D.Independent(D.Normal(torch.ones(3), 2 * torch.ones(3)), 1)),
    ("Categorical", D.Categorical(logits=torch.tensor([0.0, 1.0, 2.0])), D.Categorical(probs=torch.tensor([0.2, 0.3, 0.5]))),
    ("Dirichlet", D.Dirichlet(torch.tensor([1.0, 2.0, 3.0])), D.Dirichlet(torch.tensor([2.0, 2.0, 2.0]))),
    ("Gamma", D.Gamma(torch.tensor(2.0), torch.tensor(3.0)), D.Gamma(torch.tensor(1.5), torch.tensor(1.0))),
    ("Beta", D.Beta(torch.tensor(2.0), torch.tensor(5.0)), D.Beta(torch.tensor(1.0), torch.tensor(1.0))),
]
for name, p, q in pairs:
    print(f"KL {name}: {kl_divergence(p, q).item():.5f} entropy {p.entropy().item():.5f}")
lr_mvn = D.LowRankMultivariateNormal(torch.zeros(3), cov_factor=torch.tensor([[1.0], [0.5], [-0.5]]),
                                     cov_diag=torch.tensor([0.5, 1.0, 1.5]))
dense = D.MultivariateNormal(torch.zeros(3), covariance_matrix=lr_mvn.covariance_matrix)
point = torch.tensor([0.3, -0.2, 1.0])
print("low-rank == dense:", round(lr_mvn.log_prob(point).item(), 5), round(dense.log_prob(point).item(), 5),
      round(lr_mvn.entropy().item(), 5), round(dense.entropy().item(), 5))
print("precision:", [round(v, 4) for v in lr_mvn.precision_matrix.diagonal().tolist()])
dirichlet = D.Dirichlet(torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]]))
print("Dirichlet:", tuple(dirichlet.batch_shape), tuple(dirichlet.event_shape),
      [round(v, 4) for v in dirichlet.mean[0].tolist()], [round(v, 4) for v in dirichlet.variance[1].tolist()],
      round(dirichlet.log_prob(torch.tensor([0.2, 0.3, 0.5])).sum().item(), 4))
print("sample shapes:", tuple(gmm.sample((4,)).shape), tuple(dirichlet.rsample((5,)).shape),
      tuple(lr_mvn.rsample((2, 3)).shape))
