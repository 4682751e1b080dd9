"""09 - Saving, loading and resuming training exactly.

Run:  python examples/09_save_load_resume.py

Save a state_dict (not the module object) for inference. To resume training, save
everything that changes while training: model, optimizer (momentum buffers, Adam's
moments), scheduler, the epoch counter and the random-number state. Restored into fresh
objects, training continues to the very same bits as a run that never stopped.
ember writes PyTorch's own file format: torch.load reads these files and the reverse.
"""

import os
import shutil
import tempfile

import ember as torch  # in PyTorch: import torch
from ember import nn   # in PyTorch: from torch import nn

EPOCHS, STOP_AFTER = 6, 3
torch.manual_seed(0)
features, targets = torch.randn(256, 10), torch.randn(256, 1)


def make_run():
    """Fresh model, optimizer and scheduler: what a restarted process would build."""
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler


def train_one_epoch(model, optimizer, scheduler):
    model.train()
    for batch in torch.randperm(len(features)).split(32):  # shuffling and dropout use the RNG
        loss = nn.functional.mse_loss(model(features[batch]), targets[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scheduler.step()
    return loss.item()


folder = tempfile.mkdtemp()

# --- 1. The reference: train all epochs without stopping ------------------------------------
torch.manual_seed(1)
model, optimizer, scheduler = make_run()
for epoch in range(EPOCHS):
    train_one_epoch(model, optimizer, scheduler)
reference = [p.detach().clone() for p in model.parameters()]

# --- 2. Train part of the way, then save a checkpoint -----------------------------------------
torch.manual_seed(1)
model, optimizer, scheduler = make_run()
for epoch in range(STOP_AFTER):
    loss = train_one_epoch(model, optimizer, scheduler)
    print(f"epoch {epoch + 1}  loss {loss:.4f}  lr {scheduler.get_last_lr()[0]:.4f}")
checkpoint_path = os.path.join(folder, "checkpoint.pt")
torch.save({
    "epoch": STOP_AFTER,
    "model": model.state_dict(),
    "optimizer": optimizer.state_dict(),
    "scheduler": scheduler.state_dict(),
    "rng_state": torch.get_rng_state(),
}, checkpoint_path)
print("saved", os.path.basename(checkpoint_path), f"after epoch {STOP_AFTER}")
del model, optimizer, scheduler                    # as if the process had ended

# --- 3. A new process: build fresh objects, load the checkpoint, continue ---------------------
torch.manual_seed(12345)                           # whatever seed: the checkpoint's RNG wins
model, optimizer, scheduler = make_run()
checkpoint = torch.load(checkpoint_path, weights_only=True)  # weights_only: no code runs
model.load_state_dict(checkpoint["model"])
optimizer.load_state_dict(checkpoint["optimizer"])
scheduler.load_state_dict(checkpoint["scheduler"])
torch.set_rng_state(checkpoint["rng_state"])
for epoch in range(checkpoint["epoch"], EPOCHS):
    loss = train_one_epoch(model, optimizer, scheduler)
    print(f"epoch {epoch + 1}  loss {loss:.4f}  lr {scheduler.get_last_lr()[0]:.4f}  (resumed)")

same = all(torch.equal(a, b) for a, b in zip(model.parameters(), reference))
print("resumed parameters are bit-identical to the uninterrupted run:", same)

# --- For inference only the state_dict is needed -------------------------------------------------
weights_path = os.path.join(folder, "weights.pt")
torch.save(model.state_dict(), weights_path)
inference_model = make_run()[0]
inference_model.load_state_dict(torch.load(weights_path, weights_only=True))
inference_model.eval()
matches = torch.equal(inference_model(features[:4]), model.eval()(features[:4]))
print("inference copy matches:", matches)
shutil.rmtree(folder)
if not same:
    raise SystemExit("resume was not exact")
