"""DQN on a tiny grid world, as the PyTorch DQN tutorial writes it but without gym: a
namedtuple Transition, a deque ReplayMemory, policy and target networks, epsilon-greedy
action selection, the Huber (SmoothL1) TD loss on Q(s, a) picked with gather, a
non-final-state mask, max(1).values over the target network, AdamW with in-place gradient
value clipping, and soft target updates through state_dict. Replay sampling is a fixed
rotation rather than random.sample, and exploration is a fixed schedule, so every number
printed is deterministic."""

import math
from collections import deque, namedtuple
from itertools import count

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

Transition = namedtuple("Transition", ("state", "action", "next_state", "reward"))


class GridWorld:
    """A 4x4 grid: start top-left, goal bottom-right, a pit at (1, 2)."""

    size, goal, pit = 4, (3, 3), (1, 2)
    moves = ((-1, 0), (1, 0), (0, -1), (0, 1))

    def reset(self):
        self.pos = (0, 0)
        return self.observe()

    def observe(self):
        obs = torch.zeros(1, self.size * self.size)
        obs[0, self.pos[0] * self.size + self.pos[1]] = 1.0
        return obs

    def step(self, action):
        dr, dc = self.moves[action]
        r = min(max(self.pos[0] + dr, 0), self.size - 1)
        c = min(max(self.pos[1] + dc, 0), self.size - 1)
        self.pos = (r, c)
        if self.pos == self.goal:
            return None, 1.0, True
        if self.pos == self.pit:
            return None, -1.0, True
        return self.observe(), -0.04, False


class ReplayMemory:
    def __init__(self, capacity):
        self.memory = deque([], maxlen=capacity)
        self.cursor = 0

    def push(self, *args):
        self.memory.append(Transition(*args))

    def sample(self, batch_size):
        # a fixed rotation through memory instead of random.sample: deterministic
        n = len(self.memory)
        picks = [(self.cursor + 7 * i) % n for i in range(batch_size)]
        self.cursor = (self.cursor + 3) % n
        return [self.memory[i] for i in picks]

    def __len__(self):
        return len(self.memory)


class DQN(nn.Module):
    def __init__(self, n_observations, n_actions):
        super().__init__()
        self.layer1 = nn.Linear(n_observations, 32)
        self.layer2 = nn.Linear(32, 32)
        self.layer3 = nn.Linear(32, n_actions)

    def forward(self, x):
        x = torch.relu(self.layer1(x))
        x = torch.relu(self.layer2(x))
        return self.layer3(x)


def fixed_(module, scale=0.3):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 1.37 + i).reshape(tuple(p.shape)) * scale))
    return module


BATCH_SIZE, GAMMA, TAU, LR = 16, 0.9, 0.05, 3e-3
EPS_START, EPS_END, EPS_DECAY = 0.9, 0.05, 60
env = GridWorld()
policy_net = fixed_(DQN(16, 4))
target_net = DQN(16, 4)
target_net.load_state_dict(policy_net.state_dict())
optimizer = optim.AdamW(policy_net.parameters(), lr=LR, amsgrad=True)
memory = ReplayMemory(300)
print(policy_net)
print("target equals policy:", all(torch.equal(a, b) for a, b in zip(policy_net.parameters(), target_net.parameters())))

steps_done = 0


def select_action(state):
    global steps_done
    eps_threshold = EPS_END + (EPS_START - EPS_END) * math.exp(-1.0 * steps_done / EPS_DECAY)
    explore = ((steps_done * 37) % 100) / 100.0 < eps_threshold  # a fixed "random" schedule
    action = torch.tensor([[(steps_done * 7 + 1) % 4]], dtype=torch.long)
    steps_done += 1
    if not explore:
        with torch.no_grad():
            action = policy_net(state).max(1).indices.view(1, 1)
    return action


def optimize_model():
    if len(memory) < BATCH_SIZE:
        return None
    transitions = memory.sample(BATCH_SIZE)
    batch = Transition(*zip(*transitions))
    non_final_mask = torch.tensor(tuple(s is not None for s in batch.next_state), dtype=torch.bool)
    non_final_next_states = torch.cat([s for s in batch.next_state if s is not None])
    state_batch = torch.cat(batch.state)
    action_batch = torch.cat(batch.action)
    reward_batch = torch.cat(batch.reward)

    state_action_values = policy_net(state_batch).gather(1, action_batch)
    next_state_values = torch.zeros(BATCH_SIZE)
    with torch.no_grad():
        next_state_values[non_final_mask] = target_net(non_final_next_states).max(1).values
    expected_state_action_values = (next_state_values * GAMMA) + reward_batch

    criterion = nn.SmoothL1Loss()
    loss = criterion(state_action_values, expected_state_action_values.unsqueeze(1))
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
    optimizer.step()
    return loss.item()


episode_returns, losses = [], []
for i_episode in range(12):
    state = env.reset()
    total = 0.0
    for t in count():
        action = select_action(state)
        next_state, reward, done = env.step(action.item())
        total += reward
        memory.push(state, action, next_state, torch.tensor([reward]))
        state = next_state
        loss = optimize_model()
        if loss is not None:
            losses.append(loss)
        target_net_state_dict = target_net.state_dict()
        policy_net_state_dict = policy_net.state_dict()
        for key in policy_net_state_dict:
            target_net_state_dict[key] = policy_net_state_dict[key] * TAU + target_net_state_dict[key] * (1 - TAU)
        target_net.load_state_dict(target_net_state_dict)
        if done or t >= 30:
            break
    episode_returns.append(total)
    if i_episode % 6 == 5:
        print(f"episode {i_episode + 1}: return {total:.2f} steps {t + 1} memory {len(memory)} loss {losses[-1]:.5f}")

print("optimizer steps:", len(losses), f"first loss: {losses[0]:.5f}")
print("amsgrad state:", sorted(optimizer.state[policy_net.layer1.weight].keys()))

with torch.no_grad():
    all_states = torch.eye(16)
    q = policy_net(all_states)
    greedy = q.argmax(dim=1)
    print("Q table shape:", tuple(q.shape), q.dtype)
    print("greedy actions:", greedy.view(4, 4).tolist())
    print(f"max Q at start: {q[0].max().item():.4f}")
    print("target lags policy:", not torch.allclose(target_net(all_states), q))
    td = target_net(all_states).max(1)
    print("target values:", [round(v, 3) for v in td.values[:4].tolist()], td.indices[:4].tolist())
