"""PPO with a Gaussian policy on a tiny hand-written continuous-control task, built from
torch.distributions: Independent(Normal) with a state-independent learned log-std,
log_prob/entropy of vector actions, generalised advantage estimation, the clipped
surrogate objective, a value baseline and an entropy bonus, over a batch of vectorised
environments. The task: a point in the plane must be steered to the origin (the best
action is -2 * position). Sampling is by design, so the run prints what does not depend
on the draws: the distributions' values on fixed actions, GAE and the clipped objective
on fixed numbers, a tanh-squashed policy's log-density correction, and whether the mean
action solved the task."""

import math

import numpy as np
import torch
import torch.nn as nn
from torch.distributions import (Independent, Normal, TanhTransform, TransformedDistribution,
                                 kl_divergence)


class PointEnv:
    """Vectorised: state is a 2-d position, action a 2-d velocity; reward is minus the
    squared distance to the origin after the move, minus a small action cost."""

    def __init__(self, starts, horizon=6):
        self.starts, self.horizon = starts, horizon

    def reset(self):
        self.t = 0
        self.state = self.starts.clone()
        return self.state

    def step(self, action):
        self.state = self.state + 0.5 * action.clamp(-3, 3)
        reward = -(self.state ** 2).sum(1) - 0.01 * (action ** 2).sum(1)
        self.t += 1
        return self.state, reward, self.t >= self.horizon


class ActorCritic(nn.Module):
    def __init__(self):
        super().__init__()
        self.mu = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 2))
        self.log_std = nn.Parameter(torch.full((2,), -0.5))
        self.value = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 1))
        with torch.no_grad():
            for i, p in enumerate(self.parameters()):
                if p.dim() == 2:
                    p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.77 + i)
                                             .reshape(tuple(p.shape)) * 0.3))
                elif p is not self.log_std:
                    p.zero_()

    def dist(self, state):
        return Independent(Normal(self.mu(state), self.log_std.exp()), 1)


def gae(rewards, values, last_value, gamma=0.99, lam=0.95):
    """Generalised advantage estimation over time-major [T, N] rewards and values."""
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(last_value)
    next_value = last_value
    for t in reversed(range(rewards.size(0))):
        delta = rewards[t] + gamma * next_value - values[t]
        running = delta + gamma * lam * running
        advantages[t] = running
        next_value = values[t]
    return advantages, advantages + values


def ppo_loss(new_log_prob, old_log_prob, advantages, clip=0.2):
    ratio = (new_log_prob - old_log_prob).exp()
    surrogate = torch.min(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages)
    return -surrogate.mean(), ratio


# the distributions on fixed numbers
policy = ActorCritic()
states = torch.tensor([[1.0, -0.5], [0.2, 0.8]])
d = policy.dist(states)
actions = torch.tensor([[-1.0, 0.5], [0.3, -0.2]])
print("batch/event shape:", tuple(d.batch_shape), tuple(d.event_shape),
      "log_prob:", [round(v, 5) for v in d.log_prob(actions).tolist()],
      "entropy:", [round(v, 5) for v in d.entropy().tolist()])
manual = Normal(d.base_dist.loc, d.base_dist.scale).log_prob(actions).sum(-1)
print("Independent sums the event dims:", torch.allclose(manual, d.log_prob(actions)))
other = Independent(Normal(torch.zeros(2, 2), torch.ones(2, 2)), 1)
print("KL to N(0, I):", [round(v, 5) for v in kl_divergence(d, other).tolist()])
squashed = TransformedDistribution(Normal(torch.zeros(2), torch.ones(2)),
                                   [TanhTransform(cache_size=1)])
u = torch.tensor([0.3, -1.2])
a = torch.tanh(u)
correction = Normal(0., 1.).log_prob(u) - torch.log1p(-a.pow(2))
print("tanh-squashed log_prob == change of variables:",
      torch.allclose(squashed.log_prob(a), correction, atol=1e-5),
      [round(v, 5) for v in squashed.log_prob(a).tolist()])
adv, returns = gae(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
                   torch.tensor([[0.5, 0.2], [0.4, 0.3], [0.1, 0.6]]), torch.tensor([0.0, 0.2]))
print("gae:", [[round(v, 5) for v in row] for row in adv.tolist()],
      "returns[0]:", [round(v, 5) for v in returns[0].tolist()])
loss, ratio = ppo_loss(torch.tensor([0.0, -0.5, 0.4]), torch.tensor([-0.1, 0.0, 0.0]),
                       torch.tensor([1.0, -1.0, 2.0]))
print(f"clipped surrogate: {loss.item():.5f}", [round(v, 5) for v in ratio.tolist()])

# training: the draws differ between libraries, so only the outcome is printed
torch.manual_seed(0)
angles = torch.arange(32) * (2 * math.pi / 32)
radii = 1 + (torch.arange(32) % 3) * 0.5
env = PointEnv(torch.stack([angles.cos(), angles.sin()], 1) * radii[:, None])


@torch.no_grad()
def evaluate(model):
    state, total = env.reset(), torch.zeros(32)
    done = False
    while not done:
        state, reward, done = env.step(model.mu(state))
        total += reward
    return total.mean().item()


start_return = evaluate(policy)
print(f"mean-action return before training: {start_return:.4f}")
optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2)
for iteration in range(15):
    with torch.no_grad():
        state, done = env.reset(), False
        buffer = {"states": [], "actions": [], "log_probs": [], "rewards": [], "values": []}
        while not done:
            dist = policy.dist(state)
            action = dist.sample()
            buffer["states"].append(state)
            buffer["actions"].append(action)
            buffer["log_probs"].append(dist.log_prob(action))
            buffer["values"].append(policy.value(state).squeeze(-1))
            state, reward, done = env.step(action)
            buffer["rewards"].append(reward)
        batch = {k: torch.stack(v) for k, v in buffer.items()}
        last_value = policy.value(state).squeeze(-1)
        advantages, returns = gae(batch["rewards"], batch["values"], last_value)
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    for epoch in range(4):
        dist = policy.dist(batch["states"])
        policy_loss, _ = ppo_loss(dist.log_prob(batch["actions"]), batch["log_probs"], advantages)
        value_loss = (policy.value(batch["states"]).squeeze(-1) - returns).pow(2).mean()
        loss = policy_loss + 0.5 * value_loss - 0.001 * dist.entropy().mean()
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(policy.parameters(), 0.5)
        optimizer.step()
final_return = evaluate(policy)
print("mean-action return improved:", final_return > start_return + 1.0,
      "solved:", final_return > -1.0)
print("log_std fell:", bool((policy.log_std < -0.5).all()), "value shape:",
      tuple(policy.value(batch["states"]).shape))
