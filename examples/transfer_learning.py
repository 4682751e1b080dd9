"""Transfer learning: fine-tune a pretrained ResNet-18's new head on a small ImageFolder.

Run:  python examples/transfer_learning.py --weights resnet18-f37072fd.pth
      python examples/transfer_learning.py          (weights from the hub cache/download)

The steps are the ones a PyTorch user writes with torchvision:
1. build ``resnet18`` and load a torchvision-layout checkpoint (a file written by
   ``torch.save(model.state_dict())`` loads as is: same keys, same shapes);
2. freeze the backbone (``requires_grad_(False)``, BN layers kept in eval mode so their
   running statistics stay those of the pretrained model);
3. replace ``fc`` with a fresh ``Linear(512, num_classes)``;
4. train only the head on an ``ImageFolder`` (here one the script draws itself: three
   classes of striped and checkered images), then report validation accuracy.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

import ember as torch  # in PyTorch: import torch
from ember import nn
from ember.utils.data import DataLoader
from ember.vision import datasets, models, transforms

CLASSES = ("checker", "horizontal", "vertical")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def draw_image(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A size x size RGB image: stripes or checks of random period, phase and contrast."""
    period = rng.integers(4, 9)
    phase = rng.integers(0, period)
    ys, xs = np.mgrid[0:size, 0:size]
    if kind == "horizontal":
        mask = ((ys + phase) // (period // 2 or 1)) % 2
    elif kind == "vertical":
        mask = ((xs + phase) // (period // 2 or 1)) % 2
    else:
        half = period // 2 or 1
        mask = (((ys + phase) // half) + ((xs + phase) // half)) % 2
    bright, dark = rng.integers(150, 256), rng.integers(0, 100)
    tint = rng.uniform(0.8, 1.0, 3)  # a slight colour cast; the pattern carries the class
    img = np.where(mask[..., None] == 1, bright * tint, dark * tint)
    img += rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def build_image_folder(root: str, per_class: int, size: int, seed: int) -> None:
    """Write ``root/<class>/<n>.png`` for each class: the layout ImageFolder reads."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for kind in CLASSES:
        os.makedirs(os.path.join(root, kind), exist_ok=True)
        for i in range(per_class):
            Image.fromarray(draw_image(kind, size, rng)).save(
                os.path.join(root, kind, f"{i:03d}.png"))


def load_backbone(weights_path: str | None) -> nn.Module:
    """ResNet-18 with pretrained weights: a checkpoint file, or the weights enum."""
    if weights_path is None:
        # Looks in $EMBER_HOME/$TORCH_HOME/~/.cache hub folders, downloads otherwise.
        return models.resnet18(weights=models.ResNet18_Weights.IMAGENET1K_V1)
    model = models.resnet18()
    state_dict = torch.load(weights_path, map_location="cpu", weights_only=True)
    model.load_state_dict(state_dict)
    return model


def make_transfer_model(backbone: nn.Module, num_classes: int) -> nn.Module:
    for param in backbone.parameters():
        param.requires_grad_(False)
    backbone.fc = nn.Linear(backbone.fc.in_features, num_classes)  # trainable by default
    return backbone


def evaluate(model: nn.Module, loader: DataLoader) -> float:
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += int((model(images).argmax(1) == labels).sum())
            total += len(labels)
    return correct / total


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="torchvision-layout resnet18 checkpoint (.pth)")
    parser.add_argument("--data", help="folder for the generated ImageFolder (temp if unset)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--per-class", type=int, default=16, help="training images per class")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    backbone = load_backbone(args.weights)  # first, so a missing checkpoint fails fast

    with tempfile.TemporaryDirectory() as tmp:
        data_root = args.data or tmp
        build_image_folder(os.path.join(data_root, "train"), args.per_class,
                           args.image_size, args.seed)
        build_image_folder(os.path.join(data_root, "val"), max(4, args.per_class // 3),
                           args.image_size, args.seed + 1)
        preprocess = transforms.Compose([
            transforms.ToTensor(),
            transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ])
        augment = transforms.Compose([transforms.RandomHorizontalFlip(), preprocess])
        train_set = datasets.ImageFolder(os.path.join(data_root, "train"), transform=augment)
        val_set = datasets.ImageFolder(os.path.join(data_root, "val"), transform=preprocess)
        train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                                  generator=torch.Generator().manual_seed(args.seed))
        val_loader = DataLoader(val_set, batch_size=64)

        model = make_transfer_model(backbone, len(train_set.classes))
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.SGD(trainable, lr=args.lr, momentum=0.9)
        criterion = nn.CrossEntropyLoss()
        print(f"classes: {train_set.classes}; {len(train_set)} train / {len(val_set)} val "
              f"images; training {sum(p.numel() for p in trainable)} of "
              f"{sum(p.numel() for p in model.parameters())} parameters")

        epoch_losses = []
        for epoch in range(args.epochs):
            model.eval()        # frozen backbone: BN keeps its pretrained statistics
            model.fc.train()
            running, seen = 0.0, 0
            for images, labels in train_loader:
                optimizer.zero_grad()
                loss = criterion(model(images), labels)
                loss.backward()
                optimizer.step()
                running += float(loss) * len(labels)
                seen += len(labels)
            epoch_losses.append(running / seen)
            print(f"epoch {epoch + 1}: train loss {epoch_losses[-1]:.4f}")
        accuracy = evaluate(model, val_loader)
        print(f"validation accuracy: {accuracy:.3f}")
    return {"classes": train_set.classes, "train_losses": epoch_losses,
            "val_accuracy": accuracy, "model": model}


if __name__ == "__main__":
    main()
