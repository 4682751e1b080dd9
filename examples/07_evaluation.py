"""07 - Evaluation: eval mode, no_grad, and metrics beyond accuracy.

Run:  python examples/07_evaluation.py
Note: ember.metrics has no counterpart inside PyTorch itself (torchmetrics and
scikit-learn fill that role there), so this example imports it from ember directly;
`ember run` still runs it.

A model is judged on data it never trained on, with dropout switched off and batch norm
using its running statistics: model.eval(). Accuracy alone hides which classes fail;
per-class precision/recall and the confusion matrix show it.
"""

import ember as torch  # in PyTorch: import torch
from ember import metrics, nn
from ember.vision import datasets

try:
    from tqdm import tqdm   # a progress bar (ember's "progress" extra: pip install tqdm)
except ImportError:
    def tqdm(iterable, **_options):
        return iterable

torch.manual_seed(0)


def as_tensors(split):
    """The whole split as two tensors: images (N, 64) in [0, 1] and labels (N,)."""
    return split.data.flatten(1).float() / 255, split.targets


train_x, train_y = as_tensors(datasets.Digits(root="data", train=True))
test_x, test_y = as_tensors(datasets.Digits(root="data", train=False))

model = nn.Sequential(nn.Linear(64, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.3),
                      nn.Linear(128, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in tqdm(range(8), desc="training", unit="epoch"):
    model.train()                                   # dropout on, batch-norm batch statistics
    for batch in torch.randperm(len(train_y)).split(64):
        loss = nn.functional.cross_entropy(model(train_x[batch]), train_y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

# --- Why eval() matters: train mode is random (dropout) and depends on the batch --------------
with torch.no_grad():
    noisy_1, noisy_2 = model(test_x[:5]), model(test_x[:5])
    model.eval()                                    # dropout off, running batch-norm statistics
    clean_1, clean_2 = model(test_x[:5]), model(test_x[:5])
print("train mode gives the same output twice:", torch.equal(noisy_1, noisy_2))
print("eval mode gives the same output twice: ", torch.equal(clean_1, clean_2))

# --- Metrics on the held-out test set (digits by other writers) ---------------------------------
with torch.no_grad():                               # no graph: faster, less memory
    logits = model(test_x)
predicted = logits.argmax(dim=1)
print(f"\naccuracy:      {metrics.accuracy(predicted, test_y).item():.3f}")
top2 = metrics.accuracy(logits, test_y, task="multiclass", num_classes=10, top_k=2)
macro_f1 = metrics.f1_score(predicted, test_y, task="multiclass", num_classes=10,
                            average="macro")
print(f"top-2 accuracy: {top2.item():.3f}")       # right class among the two best scores
print(f"macro F1:      {macro_f1.item():.3f}")    # F1 per class, then the plain mean

# Stateful metrics accumulate batch by batch (e.g. over a DataLoader) and compute once.
running = metrics.Accuracy()
for chunk in range(0, len(test_y), 100):
    running.update(predicted[chunk:chunk + 100], test_y[chunk:chunk + 100])
print(f"accuracy accumulated over batches: {running.compute().item():.3f}")

print("\n" + metrics.classification_report(test_y, predicted, digits=3))
print("confusion matrix (rows: true digit, columns: predicted):")
print(metrics.confusion_matrix(predicted, test_y, task="multiclass", num_classes=10))
