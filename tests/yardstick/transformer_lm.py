"""A tiny Transformer-encoder language model: Embedding, sinusoidal positions, an
nn.TransformerEncoder with a causal mask, a Linear decoder, and a few training steps with
gradient clipping. Dropout is 0 and weights start from fixed NumPy values, so the printed
numbers are the same under PyTorch and under `ember run`."""

import math

import numpy as np
import torch
from torch import nn


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=64):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + self.pe[: x.size(0)]


class TransformerModel(nn.Module):
    def __init__(self, ntoken, d_model, nhead, d_hid, nlayers):
        super().__init__()
        self.pos_encoder = PositionalEncoding(d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout=0.0)
        self.transformer_encoder = nn.TransformerEncoder(layer, nlayers,
                                                         enable_nested_tensor=False)
        self.embedding = nn.Embedding(ntoken, d_model)
        self.d_model = d_model
        self.linear = nn.Linear(d_model, ntoken)

    def forward(self, src, src_mask):
        src = self.embedding(src) * math.sqrt(self.d_model)
        src = self.pos_encoder(src)
        output = self.transformer_encoder(src, src_mask)
        return self.linear(output)


def fixed_init(model):
    with torch.no_grad():
        for i, (name, p) in enumerate(model.named_parameters()):
            if "norm" in name:
                continue
            fan_in = p.shape[-1] if p.dim() > 1 else 4 * p.numel()
            values = np.sin(np.arange(p.numel()) * 0.53 + i) / math.sqrt(fan_in)
            p.copy_(torch.from_numpy(values.reshape(tuple(p.shape)).astype(np.float32)))


ntokens, seq_len, batch = 20, 8, 3
model = TransformerModel(ntokens, d_model=16, nhead=2, d_hid=32, nlayers=2)
fixed_init(model)
print("parameters:", sum(p.numel() for p in model.parameters()))
print("layers:", len(model.transformer_encoder.layers))

text = torch.tensor([(3 * i + 1) % ntokens for i in range(seq_len * batch + 1)])
data = text[:-1].view(batch, seq_len).t().contiguous()
targets = text[1:].view(batch, seq_len).t().contiguous()
mask = nn.Transformer.generate_square_subsequent_mask(seq_len)
print("mask:", tuple(mask.shape), mask.dtype, mask[1].tolist()[:3])

model.eval()
with torch.no_grad():
    output = model(data, mask)
    print("output:", tuple(output.shape), f"{output[0, 0, :4].sum().item():.5f}")
    truncated = model(data[:4], mask[:4, :4])
    print("causal:", torch.allclose(truncated, output[:4], atol=1e-5))

model.train()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
for step in range(6):
    optimizer.zero_grad()
    output = model(data, mask)
    loss = criterion(output.view(-1, ntokens), targets.view(-1))
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
    optimizer.step()
    print(f"step {step}: loss {loss.item():.5f}, ppl {math.exp(loss.item()):.4f}, "
          f"grad norm {norm.item():.5f}")

mha = nn.MultiheadAttention(8, 2, batch_first=True)
with torch.no_grad():
    for i, p in enumerate(mha.parameters()):
        values = np.cos(np.arange(p.numel()) * 0.41 + i) * 0.3
        p.copy_(torch.from_numpy(values.reshape(tuple(p.shape)).astype(np.float32)))
q = torch.from_numpy(np.linspace(-1, 1, 2 * 5 * 8, dtype=np.float32).reshape(2, 5, 8))
attn_out, weights = mha(q, q, q, attn_mask=nn.Transformer.generate_square_subsequent_mask(5))
print("mha:", tuple(attn_out.shape), tuple(weights.shape), f"{attn_out.sum().item():.5f}",
      f"{weights[0, 1, :2].sum().item():.5f}")
