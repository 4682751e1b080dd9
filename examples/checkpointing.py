"""Checkpointing: the resume pattern for a long training run, as a reusable script.

Run:  python examples/checkpointing.py --epochs 6                 # trains, saving each epoch
      python examples/checkpointing.py --epochs 6 --stop-after 3  # simulate a crash after epoch 3
      python examples/checkpointing.py --epochs 6 --resume        # picks up at epoch 4

A checkpoint holds everything training changes: model and optimizer state, scheduler,
epoch counter and random-number generator state. Written to a temporary file and then
renamed into place (torch.save is atomic in ember), a crash mid-save never leaves a
corrupt checkpoint. --verify trains once straight through and once with a stop and a
resume, and checks the parameters are bit-identical.
"""

import argparse
import os
import tempfile

import ember as torch  # in PyTorch: import torch
from ember import nn   # in PyTorch: from torch import nn


def build(seed: int):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    return model, optimizer, scheduler


def save_checkpoint(path, epoch, model, optimizer, scheduler):
    torch.save({"epoch": epoch, "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "rng_state": torch.get_rng_state()}, path)


def load_checkpoint(path, model, optimizer, scheduler) -> int:
    """Restore everything in place; returns the number of epochs already done."""
    state = torch.load(path, weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng_state"])
    return state["epoch"]


def train(path, epochs, resume=False, stop_after=None, seed=0, quiet=False):
    data_generator = torch.Generator().manual_seed(1234)       # fixed synthetic data
    features = torch.randn(512, 8, generator=data_generator)
    noise = 0.1 * torch.randn(512, 1, generator=data_generator)
    targets = features[:, :1] * 2 - features[:, 1:2] + noise
    model, optimizer, scheduler = build(seed)
    start = load_checkpoint(path, model, optimizer, scheduler) if resume else 0
    for epoch in range(start, epochs):
        model.train()
        for batch in torch.randperm(len(features)).split(64):
            loss = nn.functional.mse_loss(model(features[batch]), targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()
        save_checkpoint(path, epoch + 1, model, optimizer, scheduler)
        if not quiet:
            print(f"epoch {epoch + 1}/{epochs}  loss {loss.item():.5f}  (checkpoint saved)")
        if stop_after is not None and epoch + 1 == stop_after:
            if not quiet:
                print(f"stopping after epoch {stop_after}; rerun with --resume to continue")
            break
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--checkpoint",
                        default=os.path.join(tempfile.gettempdir(), "ember_checkpointing.pt"))
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--stop-after", type=int, default=None)
    parser.add_argument("--verify", action="store_true",
                        help="compare a stopped-and-resumed run with an uninterrupted one")
    args = parser.parse_args()
    if not args.verify:
        train(args.checkpoint, args.epochs, args.resume, args.stop_after)
        return
    with tempfile.TemporaryDirectory() as folder:
        straight = train(os.path.join(folder, "a.pt"), args.epochs, quiet=True)
        resumed_path = os.path.join(folder, "b.pt")
        train(resumed_path, args.epochs, stop_after=args.epochs // 2)
        resumed = train(resumed_path, args.epochs, resume=True)
    same = all(torch.equal(a, b) for a, b in zip(straight.parameters(), resumed.parameters()))
    print("stopped + resumed run is bit-identical to the uninterrupted one:", same)
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
