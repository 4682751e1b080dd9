"""An LSTM name classifier on a tiny synthetic dataset: characters to indices, padding,
pack_padded_sequence / pad_packed_sequence, an Embedding + LSTM + Linear model, and a few
Adam steps. Weights start from fixed NumPy values, so every number printed is the same
under PyTorch and under `ember run`."""

import string

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

NAMES = {
    "English": ["smith", "jones", "taylor", "brown", "wilson"],
    "Italian": ["rossi", "russo", "ferrari", "esposito", "bianchi"],
    "Japanese": ["sato", "suzuki", "takahashi", "tanaka", "ito"],
}
categories = list(NAMES)
letters = string.ascii_lowercase
samples = [(name, label) for label, lang in enumerate(categories) for name in NAMES[lang]]
print("categories:", categories, "samples:", len(samples))


def name_to_tensor(name):
    return torch.tensor([letters.index(ch) + 1 for ch in name], dtype=torch.long)


sequences = [name_to_tensor(name) for name, _ in samples]
lengths = torch.tensor([len(s) for s in sequences])
labels = torch.tensor([label for _, label in samples])
padded = pad_sequence(sequences, batch_first=True)
print("padded:", tuple(padded.shape), padded.dtype, padded[0].tolist())


class NameClassifier(nn.Module):
    def __init__(self, vocab, embed, hidden, classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed, padding_idx=0)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(self.embedding(x), lengths, batch_first=True,
                                      enforce_sorted=False)
        packed_out, (h_n, c_n) = self.lstm(packed)
        out, out_lengths = pad_packed_sequence(packed_out, batch_first=True)
        return self.head(h_n[-1]), out, out_lengths


def fixed_init(model):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            values = np.sin(np.arange(p.numel()) * 1.37 + 0.5 * i) * 0.3
            p.copy_(torch.from_numpy(values.reshape(tuple(p.shape)).astype(np.float32)))
        model.embedding.weight[0].zero_()


model = NameClassifier(len(letters) + 1, 8, 12, len(categories))
fixed_init(model)
print([(name, tuple(p.shape)) for name, p in model.named_parameters()])

packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
print("batch_sizes:", packed.batch_sizes.tolist())
print("sorted_indices:", packed.sorted_indices.tolist()[:6])

logits, out, out_lengths = model(padded, lengths)
print("logits:", tuple(logits.shape), "out:", tuple(out.shape), out_lengths.tolist()[:5])
print("padding stays zero:", bool((out[0, len(samples[0][0]):] == 0).all()))
print("first logits:", [f"{v:.5f}" for v in logits[0].tolist()])

criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
for step in range(15):
    optimizer.zero_grad()
    logits, _, _ = model(padded, lengths)
    loss = criterion(logits, labels)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
    optimizer.step()
    if step % 5 == 4:
        print(f"step {step + 1}: loss {loss.item():.5f}")

model.eval()
with torch.no_grad():
    logits, _, _ = model(padded, lengths)
    probabilities = torch.softmax(logits, dim=1)
accuracy = (logits.argmax(1) == labels).float().mean().item()
print(f"train accuracy: {accuracy:.4f}")
query = name_to_tensor("tanaka").unsqueeze(0)
with torch.no_grad():
    guess, _, _ = model(query, torch.tensor([6]))
print("tanaka ->", categories[guess.argmax(1).item()])
print("probabilities sum to one:", torch.allclose(probabilities.sum(1), torch.ones(len(samples))))

rnn = nn.GRU(4, 3, num_layers=2)
fixed_init_rnn = [np.cos(np.arange(p.numel()) * 0.9 + i).reshape(tuple(p.shape)) * 0.4
                  for i, p in enumerate(rnn.parameters())]
with torch.no_grad():
    for p, values in zip(rnn.parameters(), fixed_init_rnn):
        p.copy_(torch.from_numpy(values.astype(np.float32)))
seq = torch.from_numpy(np.linspace(-1, 1, 5 * 2 * 4, dtype=np.float32).reshape(5, 2, 4))
output, h_n = rnn(seq)
print("GRU:", tuple(output.shape), tuple(h_n.shape), f"{output.sum().item():.5f}")
