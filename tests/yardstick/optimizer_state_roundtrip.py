"""Resuming training exactly, for every optimizer and scheduler a project might use: each
(optimizer, scheduler) pair trains a small regressor for 6 steps, checkpoints mid-way
(model, optimizer and scheduler state_dicts plus RNG-free bookkeeping in one nested dict
written with torch.save and read back with weights_only=True), resumes into fresh objects,
and must reproduce the uninterrupted run's losses and learning rates. Also what users
inspect: state_dict layouts (param_groups, per-parameter state keys), ReduceLROnPlateau's
bookkeeping, add_param_group mid-run, and weights_only refusing an unknown class until
it is allowlisted. Weights start from fixed values."""

import io
import pickle

import numpy as np
import torch
from torch import nn, optim
from torch.optim import lr_scheduler as S

X = torch.from_numpy(np.stack([np.sin(np.arange(32) * 0.3 + k) for k in range(4)], 1).astype(np.float32))
Y = (X @ torch.tensor([[1.0], [-2.0], [0.5], [0.3]]) + 0.2).tanh()


def make_model():
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(torch.from_numpy(np.cos(np.arange(p.numel()) * 0.9 + i).reshape(tuple(p.shape)) * 0.4))
    return model


RECIPES = {
    "SGD nesterov + CosineWarmRestarts": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
                                          lambda o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2, eta_min=0.01)),
    "Adam amsgrad + MultiStep": (lambda p: optim.Adam(p, lr=0.05, amsgrad=True),
                                 lambda o: S.MultiStepLR(o, milestones=[2, 4], gamma=0.5)),
    "AdamW + Sequential(linear, exp)": (lambda p: optim.AdamW(p, lr=0.05),
                                        lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.2, 1.0, total_iters=2),
                                                                     S.ExponentialLR(o, 0.8)], milestones=[2])),
    "RMSprop centered + Chained": (lambda p: optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5),
                                   lambda o: S.ChainedScheduler([S.ConstantLR(o, factor=0.5, total_iters=3),
                                                                 S.ExponentialLR(o, gamma=0.9)])),
    "Adagrad + Polynomial": (lambda p: optim.Adagrad(p, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
                             lambda o: S.PolynomialLR(o, total_iters=5, power=2.0)),
    "NAdam + Cyclic": (lambda p: optim.NAdam(p, lr=0.02, momentum_decay=0.004),
                       lambda o: S.CyclicLR(o, base_lr=0.005, max_lr=0.05, step_size_up=2, cycle_momentum=False)),
    "RAdam decoupled + Step": (lambda p: optim.RAdam(p, lr=0.05, weight_decay=0.01, decoupled_weight_decay=True),
                               lambda o: S.StepLR(o, step_size=3, gamma=0.3)),
    "Adamax + Lambda": (lambda p: optim.Adamax(p, lr=0.05), lambda o: S.LambdaLR(o, lambda e: 1 / (1 + e))),
    "ASGD + OneCycle": (lambda p: optim.ASGD(p, lr=0.05, t0=2),
                        lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=6, cycle_momentum=False)),
    "Rprop + Plateau": (lambda p: optim.Rprop(p, lr=0.01, etas=(0.4, 1.3)),
                        lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=0, threshold=0.5)),
}


def train(make_opt, make_sched, steps, start=None):
    model = make_model()
    opt, losses, lrs = make_opt(model.parameters()), [], []
    sched = make_sched(opt)
    if start is not None:
        model.load_state_dict(start["model"])
        opt.load_state_dict(start["optimizer"])
        sched.load_state_dict(start["scheduler"])
    first = 0 if start is None else start["step"] + 1
    checkpoint = None
    for step in range(first, steps):
        loss = nn.functional.mse_loss(model(X), Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step(loss.item()) if isinstance(sched, S.ReduceLROnPlateau) else sched.step()
        losses.append(loss.item())
        lrs.append(opt.param_groups[0]["lr"])
        if step == 2 and start is None:
            buffer = io.BytesIO()
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                        "scheduler": sched.state_dict(), "step": step,
                        "history": {"losses": list(losses), "tags": ("run", 1, None, True)}}, buffer)
            checkpoint = buffer.getvalue()
    return losses, lrs, checkpoint, opt


for name, (make_opt, make_sched) in RECIPES.items():
    losses, lrs, blob, opt = train(make_opt, make_sched, 6)
    state = torch.load(io.BytesIO(blob), weights_only=True)
    resumed, resumed_lrs, _, _ = train(make_opt, make_sched, 6, start=state)
    keys = sorted(opt.state_dict()["state"][0].keys())
    same = np.allclose(resumed, losses[3:], rtol=1e-6, atol=1e-7) and np.allclose(resumed_lrs, lrs[3:])
    print(f"{name}: losses {[round(v, 5) for v in losses]}")
    print(f"    lrs {[round(v, 6) for v in lrs]} resumed identically: {same} state keys {keys}")
    if name.startswith("Rprop"):
        plateau = state["scheduler"]
        print("    plateau state:", {k: plateau[k] for k in ("best", "num_bad_epochs", "mode", "factor")})
    if name.startswith("SGD"):
        groups = state["optimizer"]["param_groups"]
        print("    param_groups:", sorted(groups[0].keys()))
        print("    history:", state["history"]["tags"], len(state["history"]["losses"]), state["step"])

# adding a parameter group mid-run, and its state_dict
model = make_model()
opt = optim.Adam(model[0].parameters(), lr=0.01)
nn.functional.mse_loss(model(X), Y).backward()
opt.step()
opt.add_param_group({"params": model[2].parameters(), "lr": 0.001})
opt.step()
sd = opt.state_dict()
print("groups:", [g["params"] for g in sd["param_groups"]], [g["lr"] for g in sd["param_groups"]],
      "steps per param:", [int(sd["state"][i]["step"]) for i in sorted(sd["state"])])
fresh = optim.Adam([{"params": make_model()[0].parameters()}, {"params": make_model()[2].parameters()}], lr=0.5)
fresh.load_state_dict(sd)
print("loaded lrs:", [g["lr"] for g in fresh.param_groups], "state tensors equal:",
      all(torch.equal(fresh.state_dict()["state"][i]["exp_avg"], sd["state"][i]["exp_avg"]) for i in sd["state"]))
try:
    optim.Adam(make_model().parameters()).load_state_dict(sd)
except ValueError as e:
    print("ValueError:", e)


class Config:
    def __init__(self, depth):
        self.depth = depth


buffer = io.BytesIO()
torch.save({"config": Config(3), "weights": torch.ones(2)}, buffer)
try:
    torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)
except pickle.UnpicklingError as e:
    print("weights_only refuses:", type(e).__name__, "Config" in str(e))
torch.serialization.add_safe_globals([Config])
loaded = torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)
print("after add_safe_globals:", loaded["config"].depth, loaded["weights"].tolist())
with torch.serialization.safe_globals([Config]):
    print("safe_globals context:", type(torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)["config"]).__name__)

shared = torch.arange(6.0)
buffer = io.BytesIO()
torch.save({"whole": shared, "view": shared[2:4], "dtypes": [torch.zeros(1, dtype=d) for d in
                                                           (torch.bfloat16, torch.complex64, torch.int8, torch.bool)]}, buffer)
back = torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)
back["view"][0] = 100
print("views share storage after load:", back["whole"].tolist(), [t.dtype for t in back["dtypes"]])
