"""pytorch/examples' reinforcement_learning (reinforce.py and actor_critic.py) on a small
corridor environment written in NumPy with gym's reset/step interface (gym is not
installed here): a Policy with Dropout and softmax, torch.distributions.Categorical
sample/log_prob, discounted returns normalised with the float32 eps, the policy loss
torch.cat(...).sum(), and the actor-critic variant with a value head, a SavedAction
namedtuple, F.smooth_l1_loss and torch.stack(...).sum().

Actions are sampled, and the two libraries' random streams differ, so the numbers
printed come from fixed weights and a fixed trajectory; training prints only whether
each agent learned to walk to the goal."""

import argparse
from collections import deque, namedtuple
from itertools import count

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical

parser = argparse.ArgumentParser(description="PyTorch REINFORCE example")
parser.add_argument("--gamma", type=float, default=0.99, metavar="G",
                    help="discount factor (default: 0.99)")
parser.add_argument("--seed", type=int, default=543, metavar="N",
                    help="random seed (default: 543)")
parser.add_argument("--log-interval", type=int, default=1000, metavar="N",
                    help="interval between training status logs (default: 1000)")
args = parser.parse_args()


class Corridor:
    """Start in cell 0 of a corridor; reaching the last cell pays 1, each step costs."""

    reward_threshold = 0.8

    def __init__(self, length=5, max_steps=20):
        self.length, self.max_steps = length, max_steps
        self.rng = np.random.default_rng(0)

    def reset(self, seed=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.position, self.steps = 0, 0
        return self._observation(), {}

    def _observation(self):
        state = np.zeros(self.length, dtype=np.float64)
        state[self.position] = 1.0
        return state

    def step(self, action):
        self.position = min(max(self.position + (1 if action == 1 else -1), 0), self.length - 1)
        self.steps += 1
        reached = self.position == self.length - 1
        reward = 1.0 if reached else -0.02
        truncated = self.steps >= self.max_steps
        return self._observation(), reward, reached, truncated, {}


env = Corridor()
env.reset(seed=args.seed)
torch.manual_seed(args.seed)


class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(5, 32)
        self.dropout = nn.Dropout(p=0.1)
        self.affine2 = nn.Linear(32, 2)

        self.saved_log_probs = []
        self.rewards = []

    def forward(self, x):
        x = self.affine1(x)
        x = self.dropout(x)
        x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)


def fixed_(module, scale=0.3):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(torch.from_numpy(np.cos(np.arange(p.numel()) * 0.67 + i).reshape(tuple(p.shape)) * scale))
    return module


policy = fixed_(Policy())
optimizer = optim.Adam(policy.parameters(), lr=1e-2)
eps = np.finfo(np.float32).eps.item()


def select_action(state):
    state = torch.from_numpy(state).float().unsqueeze(0)
    probs = policy(state)
    m = Categorical(probs)
    action = m.sample()
    policy.saved_log_probs.append(m.log_prob(action))
    return action.item()


def finish_episode():
    R = 0
    policy_loss = []
    returns = deque()
    for r in policy.rewards[::-1]:
        R = r + args.gamma * R
        returns.appendleft(R)
    returns = torch.tensor(returns)
    returns = (returns - returns.mean()) / (returns.std() + eps)
    for log_prob, R in zip(policy.saved_log_probs, returns):
        policy_loss.append(-log_prob * R)
    optimizer.zero_grad()
    policy_loss = torch.cat(policy_loss).sum()
    policy_loss.backward()
    optimizer.step()
    del policy.rewards[:]
    del policy.saved_log_probs[:]
    return policy_loss


# The deterministic part: eval-mode probabilities and one update on a fixed trajectory.
policy.eval()
state, _ = env.reset()
probs = policy(torch.from_numpy(state).float().unsqueeze(0))
m = Categorical(probs)
print("probs:", [f"{p:.5f}" for p in probs[0].tolist()], "entropy:", f"{m.entropy().item():.5f}")
print("Categorical:", m, m.batch_shape, m.event_shape, m.sample().shape, m.sample().dtype)
for action in [1, 1, 0, 1, 1, 1, 1]:
    state_t = torch.from_numpy(state).float().unsqueeze(0)
    policy.saved_log_probs.append(Categorical(policy(state_t)).log_prob(torch.tensor([action])))
    state, reward, done, truncated, _ = env.step(action)
    policy.rewards.append(reward)
    if done:
        break
loss = finish_episode()
print("fixed-trajectory loss:", f"{loss.item():.5f}", "done:", done,
      "bias after step:", [f"{b:.5f}" for b in policy.affine2.bias.tolist()])
policy.train()


def main():
    running_reward = -0.4
    for i_episode in count(1):
        state, _ = env.reset()
        ep_reward = 0
        for t in range(1, 10000):  # Don't infinite loop while learning
            action = select_action(state)
            state, reward, done, truncated, _ = env.step(action)
            policy.rewards.append(reward)
            ep_reward += reward
            if done or truncated:
                break

        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
        finish_episode()
        if i_episode % args.log_interval == 0 or i_episode == 1:
            print("Episode {}\tLast reward finite: {}".format(i_episode, np.isfinite(ep_reward)))
        if running_reward > env.reward_threshold or i_episode >= 400:
            return running_reward > env.reward_threshold


print("REINFORCE solved:", main())

SavedAction = namedtuple("SavedAction", ["log_prob", "value"])


class ActorCritic(nn.Module):
    """implements both actor and critic in one model"""

    def __init__(self):
        super(ActorCritic, self).__init__()
        self.affine1 = nn.Linear(5, 32)
        self.action_head = nn.Linear(32, 2)
        self.value_head = nn.Linear(32, 1)
        self.saved_actions = []
        self.rewards = []

    def forward(self, x):
        x = F.relu(self.affine1(x))
        action_prob = F.softmax(self.action_head(x), dim=-1)
        state_values = self.value_head(x)
        return action_prob, state_values


model = fixed_(ActorCritic())
optimizer = optim.Adam(model.parameters(), lr=3e-2)


def select_action_ac(state):
    state = torch.from_numpy(state).float()
    probs, state_value = model(state)
    m = Categorical(probs)
    action = m.sample()
    model.saved_actions.append(SavedAction(m.log_prob(action), state_value))
    return action.item()


def finish_episode_ac():
    R = 0
    saved_actions = model.saved_actions
    policy_losses = []  # list to save actor (policy) loss
    value_losses = []  # list to save critic (value) loss
    returns = []  # list to save the true values
    for r in model.rewards[::-1]:
        R = r + args.gamma * R
        returns.insert(0, R)
    returns = torch.tensor(returns)
    returns = (returns - returns.mean()) / (returns.std() + eps)
    for (log_prob, value), R in zip(saved_actions, returns):
        advantage = R - value.item()
        policy_losses.append(-log_prob * advantage)
        value_losses.append(F.smooth_l1_loss(value, torch.tensor([R])))
    optimizer.zero_grad()
    loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()
    loss.backward()
    optimizer.step()
    del model.rewards[:]
    del model.saved_actions[:]
    return loss


state, _ = env.reset()
probs, value = model(torch.from_numpy(state).float())
print("actor-critic:", tuple(probs.shape), tuple(value.shape), f"{value.item():.5f}")
solved = False
running_reward = -0.4
for i_episode in range(1, 401):
    state, _ = env.reset()
    ep_reward = 0
    for t in range(1, 10000):
        state, reward, done, truncated, _ = env.step(select_action_ac(state))
        model.rewards.append(reward)
        ep_reward += reward
        if done or truncated:
            break
    running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
    loss = finish_episode_ac()
    if running_reward > env.reward_threshold:
        solved = True
        break
print("actor-critic solved:", solved, "loss finite:", bool(torch.isfinite(loss)))
