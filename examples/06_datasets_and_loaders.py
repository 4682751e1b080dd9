"""06 - Datasets, transforms and DataLoader: feeding data in batches.

Run:  python examples/06_datasets_and_loaders.py

A Dataset answers two questions: how many samples (__len__) and what is sample i
(__getitem__). A DataLoader turns it into shuffled batches. Transforms turn raw samples
(here PIL images) into tensors on the way in.
"""

import ember as torch                                  # in PyTorch: import torch
from ember.utils.data import DataLoader, Dataset, TensorDataset, random_split
from ember.vision import datasets, transforms          # in PyTorch: from torchvision import ...

torch.manual_seed(0)

# --- A dataset of your own: two methods are enough ------------------------------------------
class Squares(Dataset):
    """Sample i is (i, i**2), with an optional transform applied to the input."""

    def __init__(self, size: int, transform=None):
        self.size, self.transform = size, transform

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        x = torch.tensor([float(index)])
        if self.transform is not None:
            x = self.transform(x)
        return x, torch.tensor([float(index) ** 2])


squares = Squares(10, transform=lambda x: x / 10)      # any callable works as a transform
print("len:", len(squares), " item 3:", squares[3])
for inputs, targets in DataLoader(squares, batch_size=4):
    print("batch shapes:", tuple(inputs.shape), tuple(targets.shape))   # last batch has 2

# --- Tensors already in memory: TensorDataset ----------------------------------------------------
features, labels = torch.randn(100, 3), torch.randint(0, 2, (100,))
train_part, val_part = random_split(TensorDataset(features, labels), [80, 20])
print("random_split sizes:", len(train_part), len(val_part))

# --- Real images: handwritten digits (8x8, offline) with a transform pipeline ----------------
pipeline = transforms.Compose([
    transforms.RandomRotation(10),        # augmentation: a random tilt of up to 10 degrees
    transforms.ToTensor(),                # PIL (H, W) uint8 -> float (1, H, W) in [0, 1]
    transforms.Normalize((0.5,), (0.5,)), # -> roughly [-1, 1]
])
digits = datasets.Digits(root="data", train=True, transform=pipeline)
image, label = digits[0]
print("digits:", len(digits), "images; one image:", tuple(image.shape), image.dtype,
      "label:", label)

loader = DataLoader(digits, batch_size=64, shuffle=True)  # new order every epoch
images, labels = next(iter(loader))                        # default_collate stacks samples
print("one batch:", tuple(images.shape), tuple(labels.shape), labels.dtype)
print("batches per epoch:", len(loader))
print(f"pixel range after Normalize: [{images.min().item():.2f}, {images.max().item():.2f}]")
