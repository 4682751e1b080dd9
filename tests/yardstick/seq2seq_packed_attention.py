"""An LSTM encoder-decoder with Luong ("general") attention, the way the NLP tutorials
build it for variable-length batches: pad_sequence, pack_padded_sequence with
enforce_sorted=False into a bidirectional 2-layer LSTM, pad_packed_sequence with
total_length, the final forward/backward states merged for the decoder, a source mask
(masked_fill with -inf before softmax) so padding gets no attention, teacher forcing
following a fixed schedule, CrossEntropyLoss(ignore_index=PAD), clip_grad_norm_, and
greedy decoding with an <eos> stop. The task is reversing digit strings. Also checked:
a packed batch gives each sequence the outputs it gets alone, pack_sequence and
PackedSequence's sorted/unsorted indices, and the gradient of padding is zero."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import (pack_padded_sequence, pack_sequence, pad_packed_sequence,
                                pad_sequence)

PAD, SOS, EOS = 0, 1, 2
VOCAB = 13  # PAD, SOS, EOS and the digits 0-9 as 3..12


def fixed_(module, scale=0.3):
    with torch.no_grad():
        for i, (name, p) in enumerate(module.named_parameters()):
            values = np.sin(np.arange(p.numel()) * 0.47 + i * 1.3) * scale
            p.copy_(torch.from_numpy(values.reshape(tuple(p.shape))))
    return module


class Encoder(nn.Module):
    def __init__(self, hidden=24):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 16, padding_idx=PAD)
        self.lstm = nn.LSTM(16, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.bridge_h = nn.Linear(2 * hidden, hidden)
        self.bridge_c = nn.Linear(2 * hidden, hidden)

    def forward(self, src, lengths):
        embedded = self.embedding(src)
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        packed_out, (h, c) = self.lstm(packed)
        outputs, out_lengths = pad_packed_sequence(packed_out, batch_first=True,
                                                   total_length=src.size(1))
        # last layer's forward (-2) and backward (-1) states, one vector per sequence
        h = torch.tanh(self.bridge_h(torch.cat([h[-2], h[-1]], dim=1)))
        c = torch.tanh(self.bridge_c(torch.cat([c[-2], c[-1]], dim=1)))
        return outputs, (h.unsqueeze(0), c.unsqueeze(0)), out_lengths


class LuongAttention(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.W = nn.Linear(2 * hidden, hidden, bias=False)

    def forward(self, query, keys, mask):
        scores = torch.bmm(self.W(keys), query.unsqueeze(2)).squeeze(2)  # B, S
        scores = scores.masked_fill(~mask, float("-inf"))
        weights = F.softmax(scores, dim=1)
        context = torch.bmm(weights.unsqueeze(1), keys).squeeze(1)
        return context, weights


class Decoder(nn.Module):
    def __init__(self, hidden=24):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 16, padding_idx=PAD)
        self.lstm = nn.LSTM(16, hidden, batch_first=True)
        self.attention = LuongAttention(hidden)
        self.combine = nn.Linear(3 * hidden, hidden)
        self.out = nn.Linear(hidden, VOCAB)

    def step(self, token, state, keys, mask):
        output, state = self.lstm(self.embedding(token).unsqueeze(1), state)
        context, weights = self.attention(output.squeeze(1), keys, mask)
        attentional = torch.tanh(self.combine(torch.cat([output.squeeze(1), context], dim=1)))
        return self.out(attentional), state, weights


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = fixed_(Encoder())
        self.decoder = fixed_(Decoder(), scale=0.25)

    def forward(self, src, lengths, tgt, teacher_forcing):
        keys, state, _ = self.encoder(src, lengths)
        mask = torch.arange(src.size(1))[None, :] < lengths[:, None]
        token = torch.full((src.size(0),), SOS, dtype=torch.long)
        logits = []
        for t in range(tgt.size(1)):
            step_logits, state, _ = self.decoder.step(token, state, keys, mask)
            logits.append(step_logits)
            token = tgt[:, t] if teacher_forcing[t] else step_logits.argmax(1)
        return torch.stack(logits, dim=1)

    @torch.no_grad()
    def greedy(self, src, lengths, max_len=8):
        keys, state, _ = self.encoder(src, lengths)
        mask = torch.arange(src.size(1))[None, :] < lengths[:, None]
        token = torch.full((src.size(0),), SOS, dtype=torch.long)
        result, attentions = [], []
        for _ in range(max_len):
            step_logits, state, weights = self.decoder.step(token, state, keys, mask)
            token = step_logits.argmax(1)
            result.append(token)
            attentions.append(weights)
        return torch.stack(result, 1), torch.stack(attentions, 1)


def make_pairs(n, offset=0):
    pairs = []
    for i in range(n):
        length = 2 + (i * 5 + offset) % 4
        digits = [3 + (i * 7 + j * 3 + offset) % 10 for j in range(length)]
        pairs.append((torch.tensor(digits), torch.tensor(digits[::-1] + [EOS])))
    return pairs


def collate(pairs):
    sources, targets = zip(*pairs)
    lengths = torch.tensor([len(s) for s in sources])
    return (pad_sequence(sources, batch_first=True, padding_value=PAD), lengths,
            pad_sequence(targets, batch_first=True, padding_value=PAD))


train_pairs = make_pairs(48)
src, lengths, tgt = collate(train_pairs[:6])
print("batch:", tuple(src.shape), lengths.tolist(), tuple(tgt.shape))
print(src[:3].tolist())

model = Seq2Seq()
encoder = model.encoder
embedded = encoder.embedding(src)
packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
print("packed batch sizes:", packed.batch_sizes.tolist(), "sorted:", packed.sorted_indices.tolist(),
      "unsorted:", packed.unsorted_indices.tolist())
outputs, state, out_lengths = encoder(src, lengths)
alone, _, _ = encoder(src[1:2, :lengths[1]], lengths[1:2])
print("padded outputs:", tuple(outputs.shape), out_lengths.tolist(),
      "padding rows zero:", bool((outputs[0, lengths[0]:] == 0).all()))
print("packed == one at a time:", torch.allclose(outputs[1, :lengths[1]], alone[0], atol=1e-6))
seqs = [torch.tensor([3., 4., 5.]), torch.tensor([6.]), torch.tensor([7., 8.])]
ps = pack_sequence(seqs, enforce_sorted=False)
print("pack_sequence:", ps.data.tolist(), ps.batch_sizes.tolist(), ps.sorted_indices.tolist())
padded, lens = pad_packed_sequence(ps, padding_value=-1.0)
print("pad_packed_sequence:", padded.t().tolist(), lens.tolist())

criterion = nn.CrossEntropyLoss(ignore_index=PAD)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(8):
    total = 0.0
    for b in range(0, len(train_pairs), 8):
        src, lengths, tgt = collate(train_pairs[b:b + 8])
        forcing = [(t + epoch + b) % 4 != 0 for t in range(tgt.size(1))]  # 75% teacher forcing
        logits = model(src, lengths, tgt, forcing)
        loss = criterion(logits.reshape(-1, VOCAB), tgt.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
    if epoch % 2 == 1:
        print(f"epoch {epoch} loss {total / 6:.4f}")

probe = model.encoder.embedding.weight.grad
print("padding embedding gets no gradient:", bool((probe[PAD] == 0).all()))
src, lengths, tgt = collate(make_pairs(6, offset=1))
tokens, attentions = model.greedy(src, lengths)
print("greedy:", tokens[:3].tolist())
on_padding = sum(attentions[i, :, lengths[i]:].sum().item() for i in range(len(lengths)))
print("attention on padding:", on_padding,
      "rows sum to one:", torch.allclose(attentions.sum(-1), torch.ones(6, 8)))
token_hits = (tokens[:, :tgt.size(1)] == tgt) & (tgt != PAD)
print(f"token accuracy: {token_hits.sum().item() / (tgt != PAD).sum().item():.4f}")
