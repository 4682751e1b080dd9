"""Sequence-model benchmarks (issue 5): the same training step on ember and on torch.

    python bench/bench_seq.py [--repeat N] [--threads N]

``--threads N`` sets both libraries' intra-op thread count (ember: BLAS threads through
threadpoolctl; torch: set_num_threads); by default each keeps its own default.

Rows:
- 2-layer LSTM word language model step (PTB "small" shape): vocab 10000, embedding and
  hidden 200, seq 35, batch 20; cross_entropy, clip_grad_norm_(0.25), SGD (lr 20).
- 2-layer TransformerEncoder step: d_model 128, 4 heads, feed-forward 256, seq 64,
  batch 32, causal mask, a linear head over 128 classes, cross_entropy, AdamW.
Only ``lib.nn`` / ``lib.optim`` APIs are used, so the same code runs on both.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from harness import compare, print_table  # noqa: E402

RNG = np.random.default_rng(0)
VOCAB, HIDDEN, SEQ, BATCH = 10000, 200, 35, 20
LM_TOKENS = RNG.integers(0, VOCAB, (SEQ + 1, BATCH)).astype(np.int64)
D_MODEL, HEADS, FF, T_SEQ, T_BATCH, CLASSES = 128, 4, 256, 64, 32, 128
T_X = RNG.standard_normal((T_BATCH, T_SEQ, D_MODEL)).astype(np.float32)
T_Y = RNG.integers(0, CLASSES, (T_BATCH, T_SEQ)).astype(np.int64)


def lstm_lm_step(lib, device="cpu"):
    """Embedding -> 2-layer LSTM -> Linear decoder; truncated BPTT with a carried state."""
    nn = lib.nn

    class WordLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(VOCAB, HIDDEN)
            self.rnn = nn.LSTM(HIDDEN, HIDDEN, 2)
            self.decoder = nn.Linear(HIDDEN, VOCAB)

        def forward(self, tokens, state):
            output, state = self.rnn(self.encoder(tokens), state)
            return self.decoder(output), state

    model = WordLM().to(device)
    opt = lib.optim.SGD(model.parameters(), lr=20.0)
    inputs = lib.tensor(LM_TOKENS[:-1], device=device)
    targets = lib.tensor(LM_TOKENS[1:], device=device)
    zeros = lib.zeros(2, BATCH, HIDDEN, device=device)
    state = [(zeros, zeros)]

    def step():
        h, c = state[0]
        opt.zero_grad()
        logits, (h, c) = model(inputs, (h.detach(), c.detach()))
        loss = lib.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        opt.step()
        state[0] = (h, c)

    return step


def transformer_encoder_step(lib, device="cpu"):
    """2-layer TransformerEncoder (batch first, causal) with a linear head, AdamW."""
    nn = lib.nn
    layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.1, batch_first=True)
    encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).to(device)
    head = nn.Linear(D_MODEL, CLASSES).to(device)
    params = list(encoder.parameters()) + list(head.parameters())
    opt = lib.optim.AdamW(params, lr=1e-3)
    x, y = lib.tensor(T_X, device=device), lib.tensor(T_Y, device=device)
    mask = nn.Transformer.generate_square_subsequent_mask(T_SEQ).to(device)

    def step():
        opt.zero_grad()
        logits = head(encoder(x, mask=mask, is_causal=True))
        loss = lib.nn.functional.cross_entropy(logits.reshape(-1, CLASSES), y.reshape(-1))
        loss.backward()
        opt.step()

    return step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        import ember

        ember.set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
    rows = [
        compare("LSTM word LM step (2x200, vocab 10k, 35x20)", lstm_lm_step,
                repeat=args.repeat),
        compare("TransformerEncoder step (2x128, 4 heads, 64x32)", transformer_encoder_step,
                repeat=args.repeat),
    ]
    print_table(rows)
    return rows


if __name__ == "__main__":
    main()
