"""A character-level language model: an LSTM learns to write like Python's documentation.

    python examples/char_lm.py [--steps 400] [--sample 400] [--seed 0]

The text is the docstrings of a fixed list of standard-library modules (they ship with
every Python, so nothing is downloaded) plus the Zen of Python. The model is
Embedding -> 2-layer LSTM -> Linear, trained with truncated back-propagation through time
on random windows, Adam and gradient clipping, with a tqdm progress bar; it then samples
text one character at a time, carrying the LSTM state. The code is plain PyTorch API:
replace ``import ember as torch`` with ``import torch`` and it runs on PyTorch unchanged.
The defaults train in well under a minute on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import ast
import codecs
import importlib
import importlib.util
import inspect
import math
import time

import numpy as np
from tqdm import tqdm

import ember as torch
from ember import nn

MODULES = ["textwrap", "string", "json", "collections", "functools", "itertools", "argparse",
           "pathlib", "random", "statistics", "fractions", "datetime", "heapq", "bisect",
           "contextlib", "dataclasses", "enum", "csv", "shutil", "tempfile"]


def stdlib_text() -> str:
    """Docstrings of MODULES (and of their public classes and functions) and the Zen."""
    # ``import this`` would print the Zen; read its rot13 string literal from the source
    source = open(importlib.util.find_spec("this").origin, encoding="utf-8").read()
    zen = next(node.value.value for node in ast.parse(source).body
               if isinstance(node, ast.Assign) and node.targets[0].id == "s")
    parts = [codecs.decode(zen, "rot13")]
    for name in MODULES:
        module = importlib.import_module(name)
        parts.append(inspect.getdoc(module) or "")
        for attr in sorted(getattr(module, "__all__", dir(module))):
            value = getattr(module, attr, None)
            if attr.startswith("_") or not (inspect.isclass(value) or inspect.isfunction(value)):
                continue
            doc = inspect.getdoc(value)
            if doc:
                parts.append(doc)
    return "\n\n".join(p for p in parts if p)


class CharLM(nn.Module):
    def __init__(self, vocab: int, embed: int = 48, hidden: int = 128, layers: int = 2):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens, state=None):
        output, state = self.lstm(self.embed(tokens), state)
        return self.head(output), state


def batches(data: np.ndarray, batch: int, length: int, rng):
    """Random (input, target) windows of ``length`` characters, shifted by one."""
    while True:
        starts = rng.integers(0, len(data) - length - 1, batch)
        index = starts[:, None] + np.arange(length + 1)[None, :]
        window = data[index]
        yield torch.tensor(window[:, :-1]), torch.tensor(window[:, 1:])


def sample(model, stoi, itos, prime: str, length: int, temperature: float = 0.8) -> str:
    """Generate ``length`` characters after ``prime``, one step at a time."""
    model.eval()
    out = list(prime)
    with torch.no_grad():
        tokens = torch.tensor([[stoi[c] for c in prime]])
        logits, state = model(tokens)
        for _ in range(length):
            probs = torch.softmax(logits[0, -1] / temperature, dim=-1)
            nxt = int(torch.multinomial(probs, 1))
            out.append(itos[nxt])
            logits, state = model(torch.tensor([[nxt]]), state)
    model.train()
    return "".join(out)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="Train a character-level LSTM on Python's "
                                                 "docstrings, then sample from it.")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--sample", type=int, default=400, help="characters to generate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    text = stdlib_text()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    itos = dict(enumerate(chars))
    data = np.array([stoi[c] for c in text], dtype=np.int64)
    print(f"text: {len(text):,} characters from {len(MODULES)} stdlib modules, "
          f"vocabulary {len(chars)}")

    model = CharLM(len(chars))
    optimizer = torch.optim.Adam(model.parameters(), lr=4e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(args.steps, 1))
    loss_fn = nn.CrossEntropyLoss()
    stream = batches(data, args.batch, args.length, rng)
    start = time.perf_counter()
    losses = []
    bar = tqdm(range(args.steps), desc="training", unit="step")
    for _ in bar:
        inputs, targets = next(stream)
        logits, _ = model(inputs)
        loss = loss_fn(logits.reshape(-1, len(chars)), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
    elapsed = time.perf_counter() - start
    if losses:
        tail = float(np.mean(losses[-10:]))
        print(f"trained {args.steps} steps in {elapsed:.1f}s; loss {losses[0]:.3f} -> {tail:.3f}"
              f" ({tail / math.log(2):.2f} bits/char; uniform is "
              f"{math.log2(len(chars)):.2f})")
    text_out = sample(model, stoi, itos, prime="The ", length=args.sample)
    print("-" * 72)
    print(text_out)
    print("-" * 72)
    return {"losses": losses, "sample": text_out, "vocab": len(chars)}


if __name__ == "__main__":
    main()
