"""Classical machine learning and signal code written with torch, as course notebooks do:
PCA through torch.linalg.svd and torch.pca_lowrank's deterministic sibling (eigh of the
covariance), ridge regression with linalg.solve and lstsq, Gaussian-process regression
with cholesky/cholesky_solve and a marginal likelihood optimised through logdet/slogdet,
logistic regression trained with LBFGS(line_search_fn="strong_wolfe"), spectral
clustering from a kernel's Laplacian, and audio features: stft/istft round trip with a
Hann window, a mel-style filterbank, log-power spectrograms, a 1-D conv keyword spotter
trained with CTC loss. Inputs and weights are fixed values; nothing samples."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_printoptions(precision=4)
n = 40
t = torch.linspace(0, 1, n, dtype=torch.float64)
X = torch.stack([torch.sin(6 * t), torch.cos(4 * t), t, t ** 2], dim=1)
y = 2.0 * X[:, 0] - X[:, 2] + 0.1 * torch.cos(25 * t)

# PCA
Xc = X - X.mean(0)
U, S, Vh = torch.linalg.svd(Xc, full_matrices=False)
evals, evecs = torch.linalg.eigh(Xc.T @ Xc / (n - 1))
print("singular values:", S)
print("eigh == svd^2/(n-1):", torch.allclose(evals.flip(0), S ** 2 / (n - 1)))
explained = S ** 2 / (S ** 2).sum()
print("explained variance ratio:", explained, "cumsum:", explained.cumsum(0)[1].item() > 0.9)
proj = Xc @ Vh[:2].T
print("projection:", tuple(proj.shape), proj.dtype, f"reconstruction error: {(Xc - proj @ Vh[:2]).norm().item():.6f}")
print("svdvals agree:", torch.allclose(torch.linalg.svdvals(Xc), S), "rank:", torch.linalg.matrix_rank(Xc).item())

# ridge regression three ways
lam = 0.1
A = X.T @ X + lam * torch.eye(4, dtype=X.dtype)
w_solve = torch.linalg.solve(A, X.T @ y)
w_chol = torch.cholesky_solve((X.T @ y).unsqueeze(1), torch.linalg.cholesky(A)).squeeze(1)
w_lstsq = torch.linalg.lstsq(torch.cat([X, math.sqrt(lam) * torch.eye(4, dtype=X.dtype)]),
                             torch.cat([y, torch.zeros(4, dtype=X.dtype)]).unsqueeze(1)).solution.squeeze(1)
print("ridge:", w_solve)
print("solve == cholesky_solve == lstsq:", torch.allclose(w_solve, w_chol), torch.allclose(w_solve, w_lstsq))
print("pinv solution:", torch.linalg.pinv(X) @ y)
print(f"cond: {torch.linalg.cond(A).item():.4f} det: {torch.linalg.det(A).item():.6f}")
sign, logabsdet = torch.linalg.slogdet(A)
print("slogdet:", sign.item(), f"{logabsdet.item():.6f}", "logdet agrees:", torch.allclose(torch.logdet(A), logabsdet))
q, r = torch.linalg.qr(X)
print("qr:", tuple(q.shape), tuple(r.shape), torch.allclose(q @ r, X), torch.allclose(q.T @ q, torch.eye(4, dtype=X.dtype)))

# Gaussian process regression, hyperparameters by maximising the marginal likelihood
xs, ys = t.unsqueeze(1), y
log_ell = torch.tensor(math.log(0.3), dtype=torch.float64, requires_grad=True)
log_sf = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
log_sn = torch.tensor(math.log(0.1), dtype=torch.float64, requires_grad=True)


def kernel(a, b):
    return log_sf.exp() ** 2 * torch.exp(-0.5 * torch.cdist(a, b) ** 2 / log_ell.exp() ** 2)


def neg_mll():
    K = kernel(xs, xs) + (log_sn.exp() ** 2 + 1e-6) * torch.eye(n, dtype=torch.float64)
    L = torch.linalg.cholesky(K)
    alpha = torch.cholesky_solve(ys.unsqueeze(1), L)
    return 0.5 * (ys.unsqueeze(0) @ alpha).squeeze() + L.diagonal().log().sum() + 0.5 * n * math.log(2 * math.pi)


gp_opt = torch.optim.Adam([log_ell, log_sf, log_sn], lr=0.05)
for step in range(40):
    loss = neg_mll()
    gp_opt.zero_grad()
    loss.backward()
    gp_opt.step()
    if step % 20 == 0 or step == 39:
        print(f"gp step {step:2d} -log p(y): {loss.item():.5f}")
print("gp hyperparameters:", [round(v.exp().item(), 4) for v in (log_ell, log_sf, log_sn)])
with torch.no_grad():
    K = kernel(xs, xs) + (log_sn.exp() ** 2 + 1e-6) * torch.eye(n, dtype=torch.float64)
    xq = torch.tensor([[0.25], [0.5], [0.95]], dtype=torch.float64)
    Ks = kernel(xq, xs)
    L = torch.linalg.cholesky(K)
    mean = Ks @ torch.cholesky_solve(ys.unsqueeze(1), L)
    v = torch.linalg.solve_triangular(L, Ks.T, upper=False)
    var = kernel(xq, xq).diagonal() - (v ** 2).sum(0)
    print("gp mean:", mean.squeeze(1), "std:", var.clamp(min=0).sqrt())
    mll_chol = neg_mll()
    mll_slogdet = 0.5 * (ys @ torch.linalg.solve(K, ys)) + 0.5 * torch.linalg.slogdet(K)[1] + 0.5 * n * math.log(2 * math.pi)
    print("cholesky mll == slogdet mll:", torch.allclose(mll_chol, mll_slogdet))

# logistic regression with LBFGS + strong Wolfe
labels = (X[:, 0] + 0.5 * X[:, 1] > 0.3).to(torch.float64)
clf = nn.Linear(4, 1).double()
with torch.no_grad():
    clf.weight.fill_(0.1)
    clf.bias.zero_()
lbfgs = torch.optim.LBFGS(clf.parameters(), lr=1, max_iter=50, line_search_fn="strong_wolfe")
evaluations = []


def closure():
    lbfgs.zero_grad()
    loss = F.binary_cross_entropy_with_logits(clf(X).squeeze(1), labels) + 1e-2 * clf.weight.pow(2).sum()
    loss.backward()
    evaluations.append(loss.item())
    return loss


lbfgs.step(closure)
print("lbfgs evaluations above 5:", len(evaluations) > 5, f"final loss: {evaluations[-1]:.6f}")
print("accuracy:", ((clf(X).squeeze(1) > 0) == labels.bool()).double().mean().item())

# spectral clustering on two arcs
ang = torch.linspace(0, math.pi, 15, dtype=torch.float64)
pts = torch.cat([torch.stack([ang.cos(), ang.sin()], 1), torch.stack([1 - ang.cos(), 0.4 - ang.sin()], 1)])
W = torch.exp(-torch.cdist(pts, pts) ** 2 / 0.1)
W.fill_diagonal_(0)
d = W.sum(1)
Lsym = torch.eye(30, dtype=torch.float64) - W / torch.sqrt(d.unsqueeze(0) * d.unsqueeze(1))
vals, vecs = torch.linalg.eigh(Lsym)
fiedler = vecs[:, 1]
groups = (fiedler * fiedler[0].sign() > 0)
print("null eigenvalue:", vals[0].abs().item() < 1e-10, "next two:", vals[1:3])
print("arcs separated:", bool(groups[:15].all() and not groups[15:].any()) or bool(not groups[:15].any() and groups[15:].all()))

# audio: stft/istft, mel-like filterbank, log spectrogram
sr = 800
time = torch.arange(1024) / sr
wave = torch.sin(2 * math.pi * 50 * time) + 0.5 * torch.sin(2 * math.pi * 210 * time) * (time > 0.5)
window = torch.hann_window(128)
spec = torch.stft(wave, n_fft=128, hop_length=32, window=window, return_complex=True)
print("stft:", tuple(spec.shape), spec.dtype)
recon = torch.istft(spec, n_fft=128, hop_length=32, window=window, length=wave.numel())
print("istft round trip:", torch.allclose(recon, wave, atol=1e-5))
power = spec.abs() ** 2
freqs = torch.fft.rfftfreq(128, d=1 / sr)
print("peak bins early/late:", power[:, 2].argmax().item(), power[:, -3].topk(2).indices.sort().values.tolist(), freqs[8].item())
mel_points = torch.linspace(0, 2595 * math.log10(1 + (sr / 2) / 700), 10)
hz = 700 * (10 ** (mel_points / 2595) - 1)
bins = torch.floor((128 + 1) * hz / sr).long()
fb = torch.zeros(8, 65)
for m in range(1, 9):
    lo, c, hi = bins[m - 1].item(), bins[m].item(), bins[m + 1].item()
    fb[m - 1, lo:c] = (torch.arange(lo, c) - lo) / max(c - lo, 1)
    fb[m - 1, c:hi] = (hi - torch.arange(c, hi)) / max(hi - c, 1)
mel = torch.log(fb @ power + 1e-6)
print("mel bins:", bins.tolist(), "log-mel:", tuple(mel.shape), f"{mel.mean().item():.4f}")

# a tiny CTC keyword spotter on the log-mel frames
feats = ((mel - mel.mean()) / mel.std()).unsqueeze(0).repeat(2, 1, 1)
feats[1] = feats[1].flip(-1)
model = nn.Sequential(nn.Conv1d(8, 16, 3, padding=1), nn.ReLU(), nn.Conv1d(16, 4, 1))
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.37 + i).reshape(tuple(p.shape)) * 0.3))
targets = torch.tensor([[1, 2, 3], [3, 1, 0]])
target_lengths = torch.tensor([3, 2])
input_lengths = torch.full((2,), feats.size(-1), dtype=torch.long)
ctc = nn.CTCLoss(blank=0, zero_infinity=True)
opt = torch.optim.Adam(model.parameters(), lr=0.02)
for step in range(30):
    log_probs = model(feats).permute(2, 0, 1).log_softmax(2)   # (T, N, C)
    loss = ctc(log_probs, targets, input_lengths, target_lengths)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 10 == 0 or step == 29:
        print(f"ctc step {step:2d} loss {loss.item():.5f}")
with torch.no_grad():
    log_probs = model(feats).permute(2, 0, 1).log_softmax(2)
    per_sample = F.ctc_loss(log_probs, targets, input_lengths, target_lengths, reduction="none")
    print("ctc per sample:", per_sample, "sum:", F.ctc_loss(log_probs, targets, input_lengths, target_lengths, reduction="sum"))
    best = log_probs.argmax(2).T
    decoded = [torch.unique_consecutive(row)[torch.unique_consecutive(row) != 0].tolist() for row in best]
    print("greedy decode:", decoded)
