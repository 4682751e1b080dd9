"""Numerical recipes a scientist writes in PyTorch: a constant-velocity Kalman filter with
a Rauch-Tung-Striebel smoother (float64, cholesky solves instead of inverses), fitting
distributions by maximum likelihood with log_prob and Adam on unconstrained parameters
(constraints mapped through torch.distributions.transform_to / biject_to), and the linear
algebra around them: lstsq with drivers, lu_factor / lu_solve, solve_triangular, PCA by
eigh of a covariance matrix against svd, pinv, matrix_rank, cond, and norms.
Measurements come from fixed NumPy sequences."""

import numpy as np
import torch
from torch import distributions as D

torch.set_default_dtype(torch.float64)

# Kalman filter: position/velocity, observe position only
dt = 0.5
F = torch.tensor([[1.0, dt], [0.0, 1.0]])
H = torch.tensor([[1.0, 0.0]])
Q = 0.05 * torch.tensor([[dt ** 3 / 3, dt ** 2 / 2], [dt ** 2 / 2, dt]])
R = torch.tensor([[0.4]])
steps = np.arange(30)
truth = 0.3 * steps * dt + np.sin(steps * 0.2)
obs = torch.from_numpy(truth + 0.5 * np.sin(steps * 2.3 + 0.7)).unsqueeze(1)

mean, cov = torch.zeros(2), torch.eye(2) * 10
means, covs, pred_means, pred_covs = [], [], [], []
log_lik = torch.tensor(0.0)
for z in obs:
    m_pred, P_pred = F @ mean, F @ cov @ F.T + Q
    S = H @ P_pred @ H.T + R
    L = torch.linalg.cholesky(S)
    innovation = z - H @ m_pred
    K = torch.cholesky_solve((H @ P_pred).T.T, L).T            # P H^T S^-1
    mean = m_pred + K @ innovation
    cov = (torch.eye(2) - K @ H) @ P_pred
    log_lik = log_lik + D.MultivariateNormal(H @ m_pred, scale_tril=L).log_prob(z)
    pred_means.append(m_pred), pred_covs.append(P_pred), means.append(mean), covs.append(cov)
print(f"filtered last: {[round(v, 5) for v in means[-1].tolist()]} log-likelihood {log_lik.item():.5f}")

smoothed = [means[-1]]
for k in range(len(obs) - 2, -1, -1):
    G = torch.linalg.solve(pred_covs[k + 1], F @ covs[k]).T       # C_k F^T P_{k+1}^-1
    smoothed.insert(0, means[k] + G @ (smoothed[0] - pred_means[k + 1]))
smoothed = torch.stack(smoothed)
filtered = torch.stack(means)
rmse = lambda est: torch.sqrt(((est[:, 0] - torch.from_numpy(truth)) ** 2).mean()).item()
print(f"rmse raw {rmse(obs):.5f} filtered {rmse(filtered):.5f} smoothed {rmse(smoothed):.5f}")
print("smoother beats filter:", rmse(smoothed) < rmse(filtered), "velocity:", round(smoothed[15, 1].item(), 4))

# maximum likelihood with constrained parameters
samples = torch.from_numpy(1.5 + np.abs(np.sin(np.arange(200) * 0.37)) * 2.0 + 0.3 * np.cos(np.arange(200) * 1.1))
families = {
    "Gamma": (D.Gamma, [D.constraints.positive, D.constraints.positive], [1.0, 1.0]),
    "LogNormal": (D.LogNormal, [D.constraints.real, D.constraints.positive], [0.0, 1.0]),
    "Weibull": (D.Weibull, [D.constraints.positive, D.constraints.positive], [1.0, 1.0]),
    "StudentT": (D.StudentT, [D.constraints.positive, D.constraints.real, D.constraints.positive], [3.0, 0.0, 1.0]),
}
for name, (family, constraints, init) in families.items():
    raw = [D.transform_to(c).inv(torch.tensor(v)).clone().requires_grad_() for c, v in zip(constraints, init)]
    opt = torch.optim.Adam(raw, lr=0.05)
    for _ in range(150):
        params = [D.transform_to(c)(r) for c, r in zip(constraints, raw)]
        nll = -family(*params).log_prob(samples).mean()
        opt.zero_grad()
        nll.backward()
        opt.step()
    dist = family(*[D.biject_to(c)(r) for c, r in zip(constraints, raw)])
    print(f"{name:9s} nll {nll.item():.5f} mean {dist.mean.item():.4f} params",
          [round(D.transform_to(c)(r).item(), 4) for c, r in zip(constraints, raw)])
print(f"sample mean {samples.mean().item():.4f} var {samples.var().item():.4f}")
beta = D.Beta(torch.tensor(2.0), torch.tensor(5.0))
print(f"Beta entropy {beta.entropy().item():.5f} cdf-free mode {((2 - 1) / (2 + 5 - 2)):.4f} mean {beta.mean.item():.5f}")
print("transform_to(positive):", D.transform_to(D.constraints.positive), "simplex:",
      [round(v, 4) for v in D.transform_to(D.constraints.simplex)(torch.tensor([0.0, 1.0, 2.0])).tolist()])

# linear algebra around the model
t = torch.linspace(0, 1, 12)
A = torch.stack([torch.ones_like(t), t, t ** 2, t ** 3], dim=1)
b = torch.cos(3 * t)
for driver in ["gelsd", "gelsy", "gelss"]:
    sol = torch.linalg.lstsq(A, b.unsqueeze(1), driver=driver)
    print(f"lstsq {driver}:", [round(v, 5) for v in sol.solution.squeeze(1).tolist()], "rank", sol.rank.item(),
          "singular values", [round(v, 4) for v in sol.singular_values.tolist()])
LU, pivots = torch.linalg.lu_factor(A.T @ A)
x_lu = torch.linalg.lu_solve(LU, pivots, (A.T @ b).unsqueeze(1)).squeeze(1)
Qm, Rm = torch.linalg.qr(A)
x_qr = torch.linalg.solve_triangular(Rm, (Qm.T @ b).unsqueeze(1), upper=True).squeeze(1)
print("normal equations == qr:", torch.allclose(x_lu, x_qr, atol=1e-8), "pivots:", pivots.tolist())
print("pinv solution agrees:", torch.allclose(torch.linalg.pinv(A) @ b, x_qr, atol=1e-8))

X = torch.from_numpy(np.stack([np.sin(np.arange(50) * 0.3), np.cos(np.arange(50) * 0.3) * 0.5,
                               np.sin(np.arange(50) * 0.3) * 0.8 + 0.1 * np.cos(np.arange(50) * 1.7)], 1))
Xc = X - X.mean(0)
cov = Xc.T @ Xc / (len(X) - 1)
print("cov == torch.cov:", torch.allclose(cov, torch.cov(X.T)))
evals, evecs = torch.linalg.eigh(cov)
U, S, Vh = torch.linalg.svd(Xc, full_matrices=False)
print("eigenvalues:", [round(v, 6) for v in evals.flip(0).tolist()])
print("svd agrees:", torch.allclose(S ** 2 / (len(X) - 1), evals.flip(0)),
      "explained:", [round(v, 4) for v in (evals.flip(0) / evals.sum()).tolist()])
proj = Xc @ evecs[:, -2:]
print("projected:", tuple(proj.shape), "abs first row", [round(v, 5) for v in proj[0].abs().tolist()])
print("rank:", torch.linalg.matrix_rank(X).item(), torch.linalg.matrix_rank(X, atol=0.2).item(),
      f"cond {torch.linalg.cond(cov).item():.3f}")
print(f"norms: fro {torch.linalg.matrix_norm(cov).item():.5f} nuc {torch.linalg.matrix_norm(cov, 'nuc').item():.5f}"
      f" 2 {torch.linalg.matrix_norm(cov, 2).item():.5f} vec3 {torch.linalg.vector_norm(X, 3).item():.5f}")
L, info = torch.linalg.cholesky_ex(cov)
print("cholesky_ex info:", info.item(), "inverse via cholesky_inverse:",
      torch.allclose(torch.cholesky_inverse(L), torch.linalg.inv(cov)))
print("dtype:", X.dtype, torch.get_default_dtype())
