"""04 - A first nn.Module: layers, parameters and the forward pass.

Run:  python examples/04_first_module.py

An nn.Module bundles parameters with the computation that uses them. Assigning a layer
or an nn.Parameter as an attribute registers it: .parameters() finds it, .to(device)
moves it, state_dict() saves it.
"""

import ember as torch  # in PyTorch: import torch
from ember import nn   # in PyTorch: from torch import nn


class TinyClassifier(nn.Module):
    """Two linear layers with a ReLU between: 4 features in, 3 class scores out."""

    def __init__(self, in_features: int = 4, hidden: int = 8, num_classes: int = 3):
        super().__init__()                      # always first: sets up registration
        self.hidden = nn.Linear(in_features, hidden)
        self.output = nn.Linear(hidden, num_classes)
        self.temperature = nn.Parameter(torch.ones(1))   # a bare learnable tensor

    def forward(self, x):
        x = torch.relu(self.hidden(x))
        return self.output(x) / self.temperature


torch.manual_seed(0)
model = TinyClassifier()
print(model)                                    # the layer tree, as PyTorch prints it

print("\nparameters:")
for name, param in model.named_parameters():
    print(f"  {name:<16} shape={tuple(param.shape)}  requires_grad={param.requires_grad}")
total = sum(p.numel() for p in model.parameters())
print("total parameters:", total)

batch = torch.randn(5, 4)                       # 5 samples, 4 features each
scores = model(batch)                           # call the module, not .forward()
print("\noutput shape:", tuple(scores.shape))
print("probabilities sum to 1 per row:", torch.softmax(scores, dim=1).sum(dim=1))

# The same network written with nn.Sequential (no class needed for a straight pipeline).
sequential = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
print("\n", sequential, sep="")
print("Sequential output shape:", tuple(sequential(batch).shape))

# state_dict(): the parameters by name, what checkpoints store.
print("\nstate_dict keys:", list(model.state_dict().keys()))
copy = TinyClassifier()
copy.load_state_dict(model.state_dict())        # same weights -> same outputs
print("copy gives identical outputs:", torch.equal(copy(batch), model(batch)))

# Gradients flow to every registered parameter.
scores.sum().backward()
print("every parameter got a gradient:", all(p.grad is not None for p in model.parameters()))

# train() / eval() switch layers such as Dropout and BatchNorm (see 07_evaluation.py).
model.eval()
print("training mode after eval():", model.training)
