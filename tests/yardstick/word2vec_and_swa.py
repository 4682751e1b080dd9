"""Two training-loop idioms the other scripts leave out. Word2vec skip-gram with negative
sampling as tutorials write it: a vocabulary from a toy corpus, (center, context) pairs,
negatives from the unigram^0.75 table (picked by a fixed rule instead of multinomial),
two Embedding tables with sparse=True gradients, bmm for the scores, F.logsigmoid,
SparseAdam, cosine-similarity nearest neighbours with topk. Then weight averaging
from torch.optim.swa_utils: AveragedModel as SWA and as an EMA (get_ema_multi_avg_fn,
use_buffers), SWALR annealing after a CosineAnnealingLR, update_bn over a loader,
ReduceLROnPlateau on a validation loss, clip_grad_norm_ with error_if_nonfinite, and
torch.utils.checkpoint.checkpoint_sequential. Data and weights are fixed values."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import SWALR, AveragedModel, get_ema_multi_avg_fn, update_bn
from torch.utils.checkpoint import checkpoint, checkpoint_sequential
from torch.utils.data import DataLoader, TensorDataset

corpus = (  # noqa: SIM905
    "the king rules the land . the queen rules the land . the king and the queen "
    "live in the castle . a dog and a cat live in the house . the dog chases the cat . "
    "the cat fears the dog . the king has a dog . the queen has a cat .").split()
vocab = sorted(set(corpus))
word_to_ix = {w: i for i, w in enumerate(vocab)}
counts = torch.bincount(torch.tensor([word_to_ix[w] for w in corpus]), minlength=len(vocab)).float()
unigram = counts.pow(0.75)
unigram = unigram / unigram.sum()
print("vocab:", len(vocab), "tokens:", len(corpus), "most common:", vocab[counts.argmax().item()])

window, K = 2, 4
pairs = [(word_to_ix[corpus[i]], word_to_ix[corpus[j]])
         for i in range(len(corpus)) for j in range(max(0, i - window), min(len(corpus), i + window + 1)) if i != j]
centers = torch.tensor([p[0] for p in pairs])
contexts = torch.tensor([p[1] for p in pairs])
cdf = unigram.cumsum(0)
u = torch.from_numpy(((np.arange(len(pairs) * K) * 0.6180339887) % 1.0).astype(np.float32))
negatives = torch.searchsorted(cdf, u.contiguous(), right=False).clamp(max=len(vocab) - 1).view(-1, K)
print("pairs:", len(pairs), "negatives:", tuple(negatives.shape), negatives.dtype)


class SkipGram(nn.Module):
    def __init__(self, vocab_size, dim):
        super().__init__()
        self.in_embed = nn.Embedding(vocab_size, dim, sparse=True)
        self.out_embed = nn.Embedding(vocab_size, dim, sparse=True)
        with torch.no_grad():
            n = vocab_size * dim
            self.in_embed.weight.copy_(torch.from_numpy(np.sin(np.arange(n) * 0.77).reshape(vocab_size, dim) * 0.3))
            self.out_embed.weight.copy_(torch.from_numpy(np.cos(np.arange(n) * 0.53).reshape(vocab_size, dim) * 0.3))

    def forward(self, center, context, negative):
        v = self.in_embed(center).unsqueeze(2)           # (B, D, 1)
        u_pos = self.out_embed(context).unsqueeze(1)     # (B, 1, D)
        u_neg = self.out_embed(negative)                 # (B, K, D)
        pos = F.logsigmoid(torch.bmm(u_pos, v).squeeze(2)).squeeze(1)
        neg = F.logsigmoid(-torch.bmm(u_neg, v).squeeze(2)).sum(1)
        return -(pos + neg).mean()


sg = SkipGram(len(vocab), 10)
opt = torch.optim.SparseAdam(list(sg.parameters()), lr=0.05)
batch = 64
for epoch in range(15):
    total = 0.0
    for s in range(0, len(pairs), batch):
        loss = sg(centers[s:s + batch], contexts[s:s + batch], negatives[s:s + batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    if epoch == 0:
        g = sg.in_embed.weight.grad
        print("sparse grad:", g.is_sparse, g.layout, tuple(g.shape), g.coalesce().indices().shape[1],
              f"dense sum: {g.to_dense().sum().item():.5f}")
    if epoch % 5 == 0 or epoch == 14:
        print(f"epoch {epoch:2d} loss {total:.4f}")

with torch.no_grad():
    emb = F.normalize(sg.in_embed.weight, dim=1)
    sims = emb @ emb.t()
    for word in ("king", "dog"):
        values, idx = sims[word_to_ix[word]].topk(4)
        print(word, "->", [vocab[i] for i in idx[1:].tolist()], [round(v, 3) for v in values[1:].tolist()])
    print("cosine_similarity agrees:", torch.allclose(
        F.cosine_similarity(sg.in_embed.weight[:1], sg.in_embed.weight, dim=1), sims[0], atol=1e-5))


def fixed_(module, scale=0.3):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.61 + i).reshape(tuple(p.shape)) * scale))
    return module


X = torch.from_numpy(np.stack([np.sin(np.arange(48) * 0.37), np.cos(np.arange(48) * 0.21),
                               np.sin(np.arange(48) * 0.11) * 2]).T.astype(np.float32))
Y = (X[:, :1] * 1.5 - X[:, 1:2] * 0.5 + X[:, 2:] ** 2 * 0.3)
loader = DataLoader(TensorDataset(X, Y), batch_size=12, shuffle=False)
model = fixed_(nn.Sequential(nn.Linear(3, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 1)))
swa_model = AveragedModel(model)
ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
swa_start = 6
swa_scheduler = SWALR(optimizer, swa_lr=0.02, anneal_epochs=3, anneal_strategy="cos")
print("swa n_averaged:", swa_model.n_averaged.item(), "keys:", list(swa_model.state_dict())[:2])
for epoch in range(10):
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = F.mse_loss(model(xb), yb)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=2.0, error_if_nonfinite=True)
        optimizer.step()
        ema_model.update_parameters(model)
    if epoch >= swa_start:
        swa_model.update_parameters(model)
        swa_scheduler.step()
    else:
        scheduler.step()
    print(f"epoch {epoch} loss {loss.item():.5f} lr {optimizer.param_groups[0]['lr']:.5f}")
print("swa n_averaged:", swa_model.n_averaged.item(), "ema n_averaged:", ema_model.n_averaged.item())
bn_before = swa_model.module[1].running_mean.clone()
update_bn(loader, swa_model)
print("update_bn changed running stats:", not torch.equal(bn_before, swa_model.module[1].running_mean),
      "momentum restored:", swa_model.module[1].momentum)
print(f"swa bn mean: {swa_model.module[1].running_mean.mean().item():.5f} var: {swa_model.module[1].running_var.mean().item():.5f}")
swa_model.eval()
ema_model.eval()
model.eval()
with torch.no_grad():
    for name, m in (("model", model), ("swa", swa_model), ("ema", ema_model)):
        print(f"{name} eval mse {F.mse_loss(m(X), Y).item():.5f}")
try:
    bad = nn.Linear(2, 1)
    bad(torch.tensor([[float("nan"), 1.0]])).sum().backward()
    torch.nn.utils.clip_grad_norm_(bad.parameters(), 1.0, error_if_nonfinite=True)
except RuntimeError as e:
    print("RuntimeError:", str(e).split(".")[0])

plateau_model = fixed_(nn.Linear(3, 1))
popt = torch.optim.Adam(plateau_model.parameters(), lr=0.4)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(popt, mode="min", factor=0.5, patience=1, threshold=0.05)
lrs = []
for epoch in range(12):
    popt.zero_grad()
    loss = F.mse_loss(plateau_model(X), Y)
    loss.backward()
    popt.step()
    plateau.step(F.mse_loss(plateau_model(X), Y).item())
    lrs.append(popt.param_groups[0]["lr"])
print("plateau lrs:", lrs, "bad epochs:", plateau.num_bad_epochs)

deep = fixed_(nn.Sequential(*[nn.Sequential(nn.Linear(3, 3), nn.Tanh()) for _ in range(4)]))
xin = X[:8].clone().requires_grad_()
plain = deep(xin).pow(2).sum()
g_plain = torch.autograd.grad(plain, [xin] + list(deep.parameters()))
seq = checkpoint_sequential(deep, 2, xin, use_reentrant=False).pow(2).sum()
g_seq = torch.autograd.grad(seq, [xin] + list(deep.parameters()))
one = checkpoint(deep, xin, use_reentrant=False).pow(2).sum()
g_one = torch.autograd.grad(one, [xin] + list(deep.parameters()))
print(f"checkpointed: {plain.item():.5f} {seq.item():.5f} {one.item():.5f}")
print("checkpoint grads equal:", all(torch.allclose(a, b) for a, b in zip(g_plain, g_seq)),
      all(torch.allclose(a, b) for a, b in zip(g_plain, g_one)))
