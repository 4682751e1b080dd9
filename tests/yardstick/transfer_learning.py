"""The "Transfer learning for computer vision" tutorial's patterns on a small ResNet
written here (torchvision's resnet18 needs downloaded weights): BasicBlock with a
downsample branch, kaiming_normal_(mode='fan_out') init, "pretraining" then
load_state_dict into a fresh model, freezing with requires_grad = False, replacing
model.fc, an optimizer over the trainable parameters only, the train_model loop with
phases, torch.set_grad_enabled(phase == 'train'), running_corrects += torch.sum(preds ==
labels.data) and .double(), StepLR, and keeping the best weights with
copy.deepcopy(model.state_dict()). No dropout and no shuffling, weights start from
fixed values: every number printed is deterministic."""

import copy
import os
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.optim import lr_scheduler
from torch.utils.data import DataLoader, TensorDataset


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class TinyResNet(nn.Module):
    def __init__(self, layers=(1, 1), num_classes=4, width=8):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(width, layers[0])
        self.layer2 = self._make_layer(width * 2, layers[1], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 2 * BasicBlock.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * BasicBlock.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * BasicBlock.expansion, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * BasicBlock.expansion),
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * BasicBlock.expansion
        for _ in range(1, blocks):
            layers.append(BasicBlock(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


def fixed_(model, scale=0.2):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bn1.weight") or name.endswith("bn2.weight"):
                continue
            seed = sum(map(ord, name))
            p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.61 + seed).reshape(tuple(p.shape)) * scale))
    return model


def images(count, classes, offset):
    """16x16 RGB images whose class sets the orientation of a stripe pattern."""
    grid = np.linspace(-1, 1, 16)
    xs, ys = np.meshgrid(grid, grid)
    out = np.zeros((count, 3, 16, 16), dtype=np.float32)
    labels = (np.arange(count) + offset) % classes
    for i, k in enumerate(labels):
        angle = np.pi * k / classes
        stripes = np.sin(6 * (xs * np.cos(angle) + ys * np.sin(angle)) + 0.3 * i)
        out[i] = stripes[None] * np.array([1.0, 0.6, 0.3])[:, None, None]
    return torch.from_numpy(out), torch.from_numpy(labels)


device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")

# "Pretraining" on a 4-class task.
pretrained = fixed_(TinyResNet(num_classes=4)).to(device)
x_pre, y_pre = images(64, 4, 0)
optimizer = optim.SGD(pretrained.parameters(), lr=0.05, momentum=0.9)
for epoch in range(3):
    for xb, yb in DataLoader(TensorDataset(x_pre, y_pre), batch_size=16):
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(pretrained(xb), yb)
        loss.backward()
        optimizer.step()
    print(f"pretrain epoch {epoch}: loss {loss.item():.4f}")
weights_path = os.path.join(tempfile.mkdtemp(), "tiny_resnet.pth")
torch.save(pretrained.state_dict(), weights_path)
print("buffers:", [name for name, _ in pretrained.named_buffers()][:3])

# The tutorial: datasets, dataloaders, train_model.
x_train, y_train = images(48, 2, 1)
x_val, y_val = images(16, 2, 0)
image_datasets = {"train": TensorDataset(x_train, y_train), "val": TensorDataset(x_val, y_val)}
dataloaders = {x: DataLoader(image_datasets[x], batch_size=8, shuffle=False) for x in ["train", "val"]}
dataset_sizes = {x: len(image_datasets[x]) for x in ["train", "val"]}
class_names = ["ants", "bees"]


def train_model(model, criterion, optimizer, scheduler, num_epochs=25):
    since = time.time()
    best_model_wts = copy.deepcopy(model.state_dict())
    best_acc = 0.0

    for epoch in range(num_epochs):
        print(f"Epoch {epoch}/{num_epochs - 1}")
        print("-" * 10)

        # Each epoch has a training and validation phase
        for phase in ["train", "val"]:
            if phase == "train":
                model.train()  # Set model to training mode
            else:
                model.eval()   # Set model to evaluate mode

            running_loss = 0.0
            running_corrects = 0

            # Iterate over data.
            for inputs, labels in dataloaders[phase]:
                inputs = inputs.to(device)
                labels = labels.to(device)

                # zero the parameter gradients
                optimizer.zero_grad()

                # forward
                # track history if only in train
                with torch.set_grad_enabled(phase == "train"):
                    outputs = model(inputs)
                    _, preds = torch.max(outputs, 1)
                    loss = criterion(outputs, labels)

                    # backward + optimize only if in training phase
                    if phase == "train":
                        loss.backward()
                        optimizer.step()

                # statistics
                running_loss += loss.item() * inputs.size(0)
                running_corrects += torch.sum(preds == labels.data)
            if phase == "train":
                scheduler.step()

            epoch_loss = running_loss / dataset_sizes[phase]
            epoch_acc = running_corrects.double() / dataset_sizes[phase]

            print(f"{phase} Loss: {epoch_loss:.4f} Acc: {epoch_acc:.4f}")

            # deep copy the model
            if phase == "val" and epoch_acc > best_acc:
                best_acc = epoch_acc
                best_model_wts = copy.deepcopy(model.state_dict())

        print()

    time_elapsed = time.time() - since
    assert time_elapsed >= 0
    print(f"Best val Acc: {best_acc:4f}", type(best_acc).__name__, best_acc.dtype)

    # load best model weights
    model.load_state_dict(best_model_wts)
    return model


# Finetuning the whole network.
model_ft = TinyResNet(num_classes=4)
model_ft.load_state_dict(torch.load(weights_path, weights_only=True))
num_ftrs = model_ft.fc.in_features
model_ft.fc = nn.Linear(num_ftrs, len(class_names))
with torch.no_grad():
    model_ft.fc.weight.copy_(torch.linspace(-0.2, 0.2, model_ft.fc.weight.numel()).view_as(model_ft.fc.weight))
    model_ft.fc.bias.zero_()
model_ft = model_ft.to(device)
criterion = nn.CrossEntropyLoss()
optimizer_ft = optim.SGD(model_ft.parameters(), lr=0.01, momentum=0.9)
exp_lr_scheduler = lr_scheduler.StepLR(optimizer_ft, step_size=2, gamma=0.1)
model_ft = train_model(model_ft, criterion, optimizer_ft, exp_lr_scheduler, num_epochs=3)

# ConvNet as a fixed feature extractor.
model_conv = TinyResNet(num_classes=4)
model_conv.load_state_dict(torch.load(weights_path, weights_only=True))
for param in model_conv.parameters():
    param.requires_grad = False
model_conv.fc = nn.Linear(model_conv.fc.in_features, 2)
with torch.no_grad():
    model_conv.fc.weight.copy_(torch.linspace(0.2, -0.2, model_conv.fc.weight.numel()).view_as(model_conv.fc.weight))
    model_conv.fc.bias.zero_()
model_conv = model_conv.to(device)
trainable = [name for name, p in model_conv.named_parameters() if p.requires_grad]
print("trainable:", trainable, sum(p.numel() for p in model_conv.parameters() if p.requires_grad))
optimizer_conv = optim.SGD(model_conv.fc.parameters(), lr=0.01, momentum=0.9)
exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=2, gamma=0.1)
frozen_before = model_conv.layer1[0].conv1.weight.clone()
model_conv = train_model(model_conv, criterion, optimizer_conv, exp_lr_scheduler, num_epochs=2)
print("frozen layers unchanged:", torch.equal(frozen_before, model_conv.layer1[0].conv1.weight),
      "conv grad:", model_conv.layer1[0].conv1.weight.grad)


def visualize_model(model, num_images=4):
    was_training = model.training
    model.eval()
    names = []
    with torch.no_grad():
        for i, (inputs, labels) in enumerate(dataloaders["val"]):
            outputs = model(inputs.to(device))
            _, preds = torch.max(outputs, 1)
            for j in range(inputs.size()[0]):
                names.append(class_names[preds[j]])
                if len(names) == num_images:
                    model.train(mode=was_training)
                    return names
        model.train(mode=was_training)
    return names


print("predicted:", visualize_model(model_conv), "training mode restored:", model_conv.training)
