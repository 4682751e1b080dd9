"""The PyTorch recipes "Defining a neural network", "What is a state_dict", "Zeroing out
gradients" and "Saving and loading models": a Net with Conv2d/Dropout/max_pool2d/flatten/
log_softmax, state_dict contents of a model and an SGD optimizer, a training loop that
zeroes gradients (and what happens when it does not), then saving and loading a state_dict,
a whole pickled model, a general checkpoint with optimizer state, several models in one
file, warm-starting a different model with strict=False, map_location, and io.BytesIO.
Weights come from fixed NumPy values."""

import io
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


def fixed_(model, scale=0.2):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            values = np.sin(np.arange(p.numel()) * 1.3 + i) * scale
            p.copy_(torch.tensor(values.reshape(tuple(p.shape)), dtype=torch.float32))
    return model


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 8, 3, 1)
        self.dropout1 = nn.Dropout2d(0.25)
        self.dropout2 = nn.Dropout2d(0.5)
        self.fc1 = nn.Linear(8 * 4 * 4, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


my_nn = fixed_(Net())
print(my_nn)
random_data = torch.from_numpy(np.cos(np.arange(2 * 12 * 12) * 0.37).astype(np.float32)).reshape(2, 1, 12, 12)
my_nn.eval()
result = my_nn(random_data)
print(result.shape, [f"{v:.4f}" for v in result[0, :4].tolist()])

# What is a state_dict?
optimizer = optim.SGD(my_nn.parameters(), lr=0.001, momentum=0.9)
print("Model's state_dict:")
for param_tensor in my_nn.state_dict():
    print(param_tensor, "\t", my_nn.state_dict()[param_tensor].size())
print("Optimizer's state_dict:")
for var_name in optimizer.state_dict():
    print(var_name, "\t", optimizer.state_dict()[var_name])

# Zeroing out gradients
class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


inputs = torch.from_numpy(np.sin(np.arange(40 * 12) * 0.21).astype(np.float32)).reshape(40, 12)
labels = torch.arange(40) % 3
net = fixed_(SmallNet())
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
for epoch in range(2):
    running_loss = 0.0
    for i in range(0, 40, 8):
        optimizer.zero_grad()
        outputs = net(inputs[i:i + 8])
        loss = criterion(outputs, labels[i:i + 8])
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    print(f"[{epoch + 1}] loss: {running_loss / 5:.4f}")
net.zero_grad()
print("after zero_grad:", net.fc1.weight.grad)
loss = criterion(net(inputs[:8]), labels[:8])
loss.backward()
once = net.fc1.weight.grad.clone()
loss = criterion(net(inputs[:8]), labels[:8])
loss.backward()
print("accumulates without zeroing:", torch.allclose(net.fc1.weight.grad, 2 * once))
optimizer.zero_grad(set_to_none=False)
print("zeroed in place:", net.fc1.weight.grad.abs().sum().item(), net.fc1.weight.grad.shape)

# Saving and loading
folder = tempfile.mkdtemp()
PATH = os.path.join(folder, "state_dict_model.pt")
torch.save(net.state_dict(), PATH)
model = SmallNet()
print(model.load_state_dict(torch.load(PATH, weights_only=True)))
model.eval()
print("state_dict reload same:", torch.equal(model(inputs), net(inputs)))

PATH = os.path.join(folder, "entire_model.pt")
torch.save(net, PATH)
model = torch.load(PATH, weights_only=False)
model.eval()
print("entire model:", type(model).__name__, torch.equal(model(inputs), net(inputs)))

PATH = os.path.join(folder, "model.pt")
EPOCH, LOSS = 5, 0.4
torch.save({
    "epoch": EPOCH,
    "model_state_dict": net.state_dict(),
    "optimizer_state_dict": optimizer.state_dict(),
    "loss": LOSS,
}, PATH)
model = SmallNet()
optimizer2 = optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
checkpoint = torch.load(PATH, weights_only=True)
model.load_state_dict(checkpoint["model_state_dict"])
optimizer2.load_state_dict(checkpoint["optimizer_state_dict"])
epoch = checkpoint["epoch"]
loss = checkpoint["loss"]
model.train()
print("checkpoint:", epoch, loss, optimizer2.param_groups[0]["lr"],
      sorted(optimizer2.state_dict()["state"].keys()),
      f"{optimizer2.state[model.fc2.bias]['momentum_buffer'].abs().sum().item():.5f}")

netA, netB = fixed_(SmallNet(), 0.1), fixed_(SmallNet(), 0.3)
optimizerA = optim.SGD(netA.parameters(), lr=0.001, momentum=0.9)
optimizerB = optim.Adam(netB.parameters(), lr=0.001)
PATH = os.path.join(folder, "multiple.pt")
torch.save({
    "modelA_state_dict": netA.state_dict(),
    "modelB_state_dict": netB.state_dict(),
    "optimizerA_state_dict": optimizerA.state_dict(),
    "optimizerB_state_dict": optimizerB.state_dict(),
}, PATH)
modelA, modelB = SmallNet(), SmallNet()
checkpoint = torch.load(PATH, weights_only=True)
modelA.load_state_dict(checkpoint["modelA_state_dict"])
modelB.load_state_dict(checkpoint["modelB_state_dict"])
print("multiple:", torch.equal(modelA.fc1.bias, netA.fc1.bias), torch.equal(modelB.fc2.weight, netB.fc2.weight),
      checkpoint["optimizerB_state_dict"]["param_groups"][0]["betas"])


class BiggerNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 8)
        self.fc2 = nn.Linear(8, 3)
        self.fc3 = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc3(self.fc2(F.relu(self.fc1(x))))


PATH = os.path.join(folder, "netA.pt")
torch.save(netA.state_dict(), PATH)
netB = BiggerNet()
result = netB.load_state_dict(torch.load(PATH, weights_only=True), strict=False)
print("warmstart:", result.missing_keys, result.unexpected_keys)
print("warm weights copied:", torch.equal(netB.fc1.weight, netA.fc1.weight))
try:
    netB.load_state_dict(torch.load(PATH, weights_only=True))
except RuntimeError as error:
    print("strict:", error)

device = torch.device("cpu")
model = SmallNet()
model.load_state_dict(torch.load(PATH, map_location=device, weights_only=True))
print("map_location device:", model.fc1.weight.device)
state = torch.load(PATH, map_location="cpu", weights_only=True)
print("map_location str:", state["fc2.bias"].device, list(state.keys()))
model.to(device)

buffer = io.BytesIO()
torch.save(netA.state_dict(), buffer)
buffer.seek(0)
state = torch.load(buffer, weights_only=True)
print("BytesIO:", torch.equal(state["fc2.weight"], netA.fc2.weight), buffer.getbuffer().nbytes > 0)
