"""A tabular-data pipeline as Kaggle-style notebooks write it in plain torch: a Dataset
returning dicts of categorical and numeric features, default_collate over dicts,
namedtuples and nested lists, Subset/ConcatDataset/random_split with a seeded Generator
(only sizes printed), a SequentialSampler/BatchSampler pair, a custom collate_fn that pads
variable-length history, entity embeddings + batch-normalised numeric features, BCE
with pos_weight for imbalance, early stopping with copy.deepcopy of the best state,
ROC-AUC and average precision from sort/cumsum, a threshold sweep with torch.where,
and the model saved with its preprocessing statistics to BytesIO. Data come from fixed
values; nothing printed depends on a shuffle."""

import copy
import io
from collections import namedtuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    SequentialSampler,
    Subset,
    default_collate,
    random_split,
)

N = 120
idx = np.arange(N)
city = idx % 5
device_type = (idx * 7) % 3
age = 20 + (idx * 13) % 45
income = 30 + ((idx * 37) % 70) * 1.5
history = [list((idx_i * np.arange(1 + i % 4)) % 9 + 1) for i, idx_i in enumerate(idx)]
score = 0.04 * (age - 40) + 0.03 * (income - 80) + np.where(city == 2, 1.5, 0.0) - 0.8 * (device_type == 1)
label = (score + 0.3 * np.sin(idx) > 0.6).astype(np.float32)
print("positives:", int(label.sum()), "of", N)


class Customers(Dataset):
    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        r = self.rows[i]
        return {"cat": torch.tensor([city[r], device_type[r]]),
                "num": torch.tensor([age[r], income[r]], dtype=torch.float32),
                "history": torch.tensor(history[r]),
                "label": torch.tensor(label[r])}


Pair = namedtuple("Pair", ["x", "y"])
print("collate dict:", {k: (tuple(v.shape), v.dtype) for k, v in default_collate(
    [{"a": torch.ones(2), "b": 1, "c": 2.5}, {"a": torch.zeros(2), "b": 2, "c": 0.5}]).items()})
batch = default_collate([Pair(np.array([1.0, 2.0]), 3), Pair(np.array([4.0, 5.0]), 6)])
print("collate namedtuple:", type(batch).__name__, batch.x.dtype, batch.y.tolist())
print("collate nested:", default_collate([[1, (2, "a")], [3, (4, "b")]]))

full = Customers(list(range(N)))
train_set = Subset(full, list(range(90)))
valid_set = Subset(full, list(range(90, 120)))
both = ConcatDataset([train_set, valid_set])
print("sizes:", len(train_set), len(valid_set), len(both), "cumulative:", both.cumulative_sizes)
a, b = random_split(full, [0.75, 0.25], generator=torch.Generator().manual_seed(0))
print("random_split sizes:", len(a), len(b))
print("batches:", list(BatchSampler(SequentialSampler(range(10)), batch_size=4, drop_last=False)))


def pad_collate(items):
    out = default_collate([{k: v for k, v in it.items() if k != "history"} for it in items])
    hist = [it["history"] for it in items]
    out["history"] = nn.utils.rnn.pad_sequence(hist, batch_first=True, padding_value=0)
    out["history_len"] = torch.tensor([len(h) for h in hist])
    return out


train_loader = DataLoader(train_set, batch_size=16, shuffle=False, collate_fn=pad_collate)
valid_loader = DataLoader(valid_set, batch_size=64, collate_fn=pad_collate)
first = next(iter(train_loader))
print("batch:", {k: tuple(v.shape) for k, v in first.items()}, first["num"].dtype, first["label"].dtype)

stats = torch.stack([full[i]["num"] for i in range(90)])
mean, std = stats.mean(0), stats.std(0)
print("numeric mean/std:", [round(v, 3) for v in mean.tolist()], [round(v, 3) for v in std.tolist()])


class TabularNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.city = nn.Embedding(5, 3)
        self.device = nn.Embedding(3, 2)
        self.hist = nn.EmbeddingBag(10, 3, mode="mean", padding_idx=0)
        self.bn = nn.BatchNorm1d(2)
        self.mlp = nn.Sequential(nn.Linear(3 + 2 + 3 + 2, 16), nn.SiLU(), nn.Dropout(0.0), nn.Linear(16, 1))
        self.register_buffer("num_mean", mean.clone())
        self.register_buffer("num_std", std.clone())

    def forward(self, b):
        num = (b["num"] - self.num_mean) / self.num_std
        parts = [self.city(b["cat"][:, 0]), self.device(b["cat"][:, 1]), self.hist(b["history"]), self.bn(num)]
        return self.mlp(torch.cat(parts, dim=1)).squeeze(1)


model = TabularNet()
with torch.no_grad():
    for i, (name, p) in enumerate(model.named_parameters()):
        if not name.startswith("bn"):
            p.copy_(torch.from_numpy(np.cos(np.arange(p.numel()) * 0.41 + i).reshape(tuple(p.shape)) * 0.3))
pos_weight = torch.tensor([(90 - label[:90].sum()) / max(label[:90].sum(), 1)])
criterion = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
opt = torch.optim.Adam(model.parameters(), lr=0.02)
best_loss, best_state, patience, bad = float("inf"), None, 3, 0
for epoch in range(25):
    model.train()
    for b in train_loader:
        loss = criterion(model(b), b["label"])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        vb = next(iter(valid_loader))
        val_loss = F.binary_cross_entropy_with_logits(model(vb), vb["label"]).item()
    if val_loss < best_loss - 1e-4:
        best_loss, best_state, bad = val_loss, copy.deepcopy(model.state_dict()), 0
    else:
        bad += 1
    if epoch % 5 == 0:
        print(f"epoch {epoch:2d} train {loss.item():.4f} valid {val_loss:.4f}")
    if bad >= patience:
        print(f"early stop at epoch {epoch}")
        break
model.load_state_dict(best_state)
print(f"best valid loss: {best_loss:.4f}", "buffers kept:", torch.equal(model.num_mean, mean))


def roc_auc(scores, targets):
    order = scores.argsort(descending=True)
    t = targets[order]
    tps, fps = t.cumsum(0), (1 - t).cumsum(0)
    tpr = torch.cat([torch.zeros(1), tps / tps[-1]])
    fpr = torch.cat([torch.zeros(1), fps / fps[-1]])
    return torch.trapezoid(tpr, fpr)


def average_precision(scores, targets):
    order = scores.argsort(descending=True)
    t = targets[order]
    precision = t.cumsum(0) / torch.arange(1, len(t) + 1)
    return (precision * t).sum() / t.sum()


model.eval()
with torch.no_grad():
    all_batch = pad_collate([full[i] for i in range(N)])
    probs = torch.sigmoid(model(all_batch))
    y = all_batch["label"]
    print(f"AUC: {roc_auc(probs, y).item():.4f} AP: {average_precision(probs, y).item():.4f}")
    for thr in (0.3, 0.5, 0.7):
        pred = torch.where(probs > thr, 1.0, 0.0)
        tp = (pred * y).sum()
        prec = tp / pred.sum().clamp(min=1)
        rec = tp / y.sum()
        f1 = 2 * prec * rec / (prec + rec).clamp(min=1e-8)
        print(f"thr {thr}: precision {prec.item():.3f} recall {rec.item():.3f} f1 {f1.item():.3f}")
    print("confusion:", torch.bincount((y * 2 + (probs > 0.5).float()).long(), minlength=4).view(2, 2).tolist())

buffer = io.BytesIO()
torch.save({"model": model.state_dict(), "mean": mean, "std": std, "columns": ["age", "income"]}, buffer)
buffer.seek(0)
ckpt = torch.load(buffer, weights_only=True)
clone = TabularNet()
print("reload:", clone.load_state_dict(ckpt["model"]), ckpt["columns"], torch.equal(ckpt["mean"], mean))
clone.eval()
with torch.no_grad():
    print("same predictions:", torch.allclose(torch.sigmoid(clone(all_batch)), probs))
