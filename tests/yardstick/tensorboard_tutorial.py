"""The "Visualizing Models, Data, and Training with TensorBoard" tutorial's calls, on small
FashionMNIST-shaped images made here: SummaryWriter, add_images of a batch, add_graph of
the network, add_embedding with labels and label images, add_scalar in the training loop,
add_figure of predictions vs. actuals, add_pr_curve per class; plus add_scalars,
add_histogram of weights and add_hparams. Then the run is read back with TensorBoard's
EventAccumulator and printed: tags, steps and values are the same whichever library wrote
them (the graph's op names differ by library, so only its presence is printed)."""

import os
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.tensorboard import SummaryWriter

classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle Boot")
rng = np.random.default_rng(0)
images = rng.uniform(size=(64, 1, 28, 28)).astype(np.float32)
labels = rng.integers(0, 10, 64)
images[np.arange(64), 0, labels * 2, :] = 2.0  # a class-dependent stripe to learn
trainset = TensorDataset(torch.from_numpy((images - 0.5) / 0.5), torch.from_numpy(labels))
trainloader = DataLoader(trainset, batch_size=4, shuffle=False)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 4 * 4)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


net = Net()
with torch.no_grad():
    for i, p in enumerate(net.parameters()):
        values = np.sin(np.arange(p.numel()) * 0.37 + i) * 0.1
        p.copy_(torch.from_numpy(values.reshape(tuple(p.shape)).astype(np.float32)))
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

log_dir = os.path.join(tempfile.mkdtemp(), "runs", "fashion_mnist_experiment_1")
writer = SummaryWriter(log_dir)

batch_images, batch_labels = next(iter(trainloader))
writer.add_images("four_fashion_mnist_images", batch_images / 2 + 0.5)
writer.add_graph(net, batch_images)

features = torch.from_numpy(images[:20]).view(-1, 28 * 28)
writer.add_embedding(features, metadata=[classes[lab] for lab in labels[:20]],
                     label_img=torch.from_numpy(images[:20]))


def images_to_probs(net, images):
    output = net(images)
    _, preds_tensor = torch.max(output, 1)
    preds = np.squeeze(preds_tensor.numpy())
    return preds, [F.softmax(el, dim=0)[i].item() for i, el in zip(preds, output)]


def plot_classes_preds(net, images, labels):
    preds, probs = images_to_probs(net, images)
    fig = plt.figure(figsize=(6, 2))
    for idx in np.arange(4):
        ax = fig.add_subplot(1, 4, idx + 1, xticks=[], yticks=[])
        ax.imshow(images[idx].numpy().squeeze(), cmap="Greys")
        ax.set_title(f"{classes[preds[idx]]}\n{probs[idx] * 100.0:.1f}%\n"
                     f"(label: {classes[labels[idx]]})", fontsize=6)
    return fig


running_loss = 0.0
for epoch in range(2):
    for i, (inputs, targets) in enumerate(trainloader):
        optimizer.zero_grad()
        loss = criterion(net(inputs), targets)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
        if i % 8 == 7:
            step = epoch * len(trainloader) + i
            writer.add_scalar("training loss", running_loss / 8, step)
            writer.add_scalars("loss", {"train": running_loss / 8, "half": running_loss / 16},
                               step)
            running_loss = 0.0
    writer.add_figure("predictions vs. actuals", plot_classes_preds(net, inputs, targets),
                      global_step=epoch)
    writer.add_histogram("fc3.weight", net.fc3.weight, epoch)

class_probs, class_label = [], []
with torch.no_grad():
    for inputs, targets in trainloader:
        class_probs.append([F.softmax(el, dim=0) for el in net(inputs)])
        class_label.append(targets)
test_probs = torch.cat([torch.stack(batch) for batch in class_probs])
test_label = torch.cat(class_label)
for class_index in range(3):
    writer.add_pr_curve(classes[class_index], test_label == class_index,
                        test_probs[:, class_index], global_step=0)
writer.add_hparams({"lr": 0.01, "momentum": 0.9, "optimizer": "SGD"},
                   {"hparam/final_loss": float(loss)}, run_name="trial")
writer.close()

events = EventAccumulator(log_dir, size_guidance={"images": 0, "scalars": 0, "tensors": 0})
events.Reload()
tags = events.Tags()
print("images:", sorted(tags["images"]))
print("graph written:", tags["graph"])
print("histograms:", tags["histograms"])
print("tensors:", sorted(tags["tensors"]))
for event in events.Scalars("training loss"):
    print(f"training loss step {event.step}: {event.value:.5f}")
first_image = events.Images("four_fashion_mnist_images")[0]
print("grid size:", first_image.width, first_image.height)
figure = events.Images("predictions vs. actuals")[-1]
print("figure steps:", [e.step for e in events.Images("predictions vs. actuals")],
      figure.width, figure.height)
histogram = events.Histograms("fc3.weight")[-1].histogram_value
print(f"fc3.weight histogram: {histogram.num} values, min {histogram.min:.5f} "
      f"max {histogram.max:.5f}")
pr = events.Tensors("T-shirt/top")[0].tensor_proto
print("pr curve shape:", [d.size for d in pr.tensor_shape.dim])
print("sub-runs:", sorted(d for d in os.listdir(log_dir)
                          if os.path.isdir(os.path.join(log_dir, d)) and not d.isdigit()))
with open(os.path.join(log_dir, "00000", "default", "metadata.tsv")) as handle:
    print("embedding labels:", handle.read().split("\n")[:3])
print("projector config:", os.path.exists(os.path.join(log_dir, "projector_config.pbtxt")))
