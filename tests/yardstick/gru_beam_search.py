"""A sequence-to-sequence "reverse the digits" model as NLP course notebooks build one:
variable-length batches padded with pad_sequence, a two-layer bidirectional GRU encoder
over pack_padded_sequence(enforce_sorted=False) / pad_packed_sequence(total_length=...),
final states split by direction with h_n.view(layers, 2, batch, hidden), a GRUCell decoder
with dot attention masked at the padding, a token-level loss masked by length, and beam
search decoding with topk, gather and length normalisation. Also the PackedSequence
bookkeeping users print: batch_sizes, sorted/unsorted indices, pack_sequence,
unpack_sequence, unpad_sequence and left padding. Weights start from fixed values."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import (
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)

PAD, BOS, EOS, VOCAB = 0, 1, 2, 9


def fixed_(module, scale=0.25):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.61 + 1.3 * i).reshape(tuple(p.shape)) * scale))
    return module


class Seq2Seq(nn.Module):
    def __init__(self, hidden=16, emb=8):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, emb, padding_idx=PAD)
        self.encoder = nn.GRU(emb, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.bridge = nn.Linear(2 * hidden, hidden)
        self.cell = nn.GRUCell(emb + 2 * hidden, hidden)
        self.query = nn.Linear(hidden, 2 * hidden, bias=False)
        self.out = nn.Linear(hidden + 2 * hidden, VOCAB)

    def encode(self, src, lengths):
        packed = pack_padded_sequence(self.embed(src), lengths, batch_first=True, enforce_sorted=False)
        out, h_n = self.encoder(packed)
        memory, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        last = h_n.view(2, 2, src.size(0), -1)[-1]            # top layer, both directions
        state = torch.tanh(self.bridge(torch.cat([last[0], last[1]], dim=-1)))
        return memory, state

    def step(self, token, state, memory, mask):
        scores = torch.einsum("bth,bh->bt", memory, self.query(state)).masked_fill(~mask, float("-inf"))
        attn = scores.softmax(dim=-1)
        context = torch.bmm(attn.unsqueeze(1), memory).squeeze(1)
        state = self.cell(torch.cat([self.embed(token), context], dim=-1), state)
        return F.log_softmax(self.out(torch.cat([state, context], dim=-1)), dim=-1), state, attn

    def forward(self, src, lengths, tgt_in):
        memory, state = self.encode(src, lengths)
        mask = torch.arange(src.size(1)).unsqueeze(0) < lengths.unsqueeze(1)
        outputs = []
        for t in range(tgt_in.size(1)):
            logp, state, _ = self.step(tgt_in[:, t], state, memory, mask)
            outputs.append(logp)
        return torch.stack(outputs, dim=1)


seqs = [[3 + (i * 7 + j * 3) % 6 for j in range(2 + i % 4)] for i in range(12)]
src = pad_sequence([torch.tensor(s) for s in seqs], batch_first=True, padding_value=PAD)
lengths = torch.tensor([len(s) for s in seqs])
tgt = pad_sequence([torch.tensor(s[::-1] + [EOS]) for s in seqs], batch_first=True, padding_value=PAD)
tgt_in = torch.cat([torch.full((len(seqs), 1), BOS), tgt[:, :-1]], dim=1)
print("src:", tuple(src.shape), "lengths:", lengths.tolist())

packed = pack_padded_sequence(src[:4], lengths[:4], batch_first=True, enforce_sorted=False)
print("batch_sizes:", packed.batch_sizes.tolist(), "sorted:", packed.sorted_indices.tolist(),
      "unsorted:", packed.unsorted_indices.tolist())
print("data:", packed.data.tolist())
padded, lens = pad_packed_sequence(packed, batch_first=True, padding_value=-1)
print("round trip:", padded.tolist(), lens.tolist())
ps = pack_sequence([torch.tensor([1, 2, 3]), torch.tensor([4]), torch.tensor([5, 6])], enforce_sorted=False)
print("unpack_sequence:", [t.tolist() for t in unpack_sequence(ps)])
print("unpad_sequence:", [t.tolist() for t in unpad_sequence(src[:3], lengths[:3], batch_first=True)])
print("left padding:", pad_sequence([torch.tensor([1, 2]), torch.tensor([3])], batch_first=True,
                                    padding_side="left").tolist())

model = fixed_(Seq2Seq())
memory, state = model.encode(src, lengths)
print("memory:", tuple(memory.shape), "padding rows zero:", bool((memory[0, lengths[0]:] == 0).all()))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(40):
    logp = model(src, lengths, tgt_in)
    mask = tgt != PAD
    nll = -logp.gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
    loss = (nll * mask).sum() / mask.sum()
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    if step % 10 == 0 or step == 39:
        same = F.nll_loss(logp.reshape(-1, VOCAB), tgt.reshape(-1), ignore_index=PAD)
        print(f"step {step:2d} masked loss {loss.item():.5f} ignore_index agrees {torch.allclose(loss, same)}")


@torch.no_grad()
def beam_search(model, src, length, beam=3, max_len=7, alpha=0.7):
    memory, state = model.encode(src.unsqueeze(0), length.view(1))
    mask = torch.arange(src.size(0)).unsqueeze(0) < length
    tokens = torch.full((1, 1), BOS)
    scores = torch.zeros(1)
    finished = []
    for t in range(max_len):
        k = tokens.size(0)
        logp, state, _ = model.step(tokens[:, -1], state, memory.expand(k, -1, -1), mask.expand(k, -1))
        total = (scores.unsqueeze(1) + logp).view(-1)
        top, idx = total.topk(beam)
        origin, word = idx // VOCAB, idx % VOCAB
        tokens = torch.cat([tokens.index_select(0, origin), word.unsqueeze(1)], dim=1)
        state = state.index_select(0, origin)
        keep = []
        for j in range(beam):
            if word[j].item() == EOS:
                finished.append((top[j].item() / ((t + 1) ** alpha), tokens[j, 1:-1].tolist()))
            else:
                keep.append(j)
        if not keep:
            break
        keep = torch.tensor(keep)
        tokens, state, scores = tokens[keep], state[keep], top[keep]
    finished.sort(key=lambda item: -item[0])
    return finished


correct = 0
for i in [0, 3, 6, 9]:
    hyps = beam_search(model, src[i], lengths[i])
    best = hyps[0][1] if hyps else []
    correct += best == seqs[i][::-1]
    print(f"{seqs[i]} -> {best} score {hyps[0][0]:.4f} hypotheses {len(hyps)}")
print("reversed correctly:", correct, "of 4")
with torch.no_grad():
    memory, state = model.encode(src[:2], lengths[:2])
    mask = torch.arange(src.size(1)).unsqueeze(0) < lengths[:2].unsqueeze(1)
    _, _, attn = model.step(torch.full((2,), BOS), state, memory, mask)
print("attention on padding:", attn.masked_select(~mask).sum().item(), "rows sum to one:",
      torch.allclose(attn.sum(-1), torch.ones(2)))
