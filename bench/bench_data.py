"""DataLoader throughput (issue 6): one epoch of a transform-heavy image dataset.

Each sample is a random crop of a uint8 image, converted to float, randomly flipped and
normalised per channel, all with tensor ops; batches of 32 are collated by
``default_collate``. The dataset is written once against ``lib.utils.data`` and runs on
ember and on torch, in the main process and with 2 worker processes, at two sizes:
CIFAR-like 64x64 crops (bound by per-op overhead: ~7 small ops per sample) and
ImageNet-like 224x224 crops (bound by the array work and the batch transfer).

    python bench/bench_data.py
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import compare, print_table  # noqa: E402

BATCH = 32
# (image side, crop side, samples per epoch)
SIZES = [(72, 64, 512), (256, 224, 128)]


def augmented_dataset(lib, side, crop_side, samples):
    """Random crop + flip + normalise, the usual training-time image pipeline."""
    generator = lib.Generator().manual_seed(0)
    images = (lib.rand(samples, 3, side, side, generator=generator) * 255).to(lib.uint8)
    labels = lib.randint(0, 10, (samples,), generator=generator)
    mean = lib.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = lib.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    slack = side - crop_side + 1

    class Augmented(lib.utils.data.Dataset):
        def __len__(self):
            return samples

        def __getitem__(self, index):
            top, left = lib.randint(0, slack, (2,)).tolist()
            crop = images[index, :, top:top + crop_side, left:left + crop_side].float().div(255)
            if lib.rand(()).item() < 0.5:
                crop = crop.flip(-1)
            return (crop - mean) / std, labels[index]

    return Augmented()


def epoch(num_workers, side, crop_side, samples):
    def setup(lib):
        dataset = augmented_dataset(lib, side, crop_side, samples)
        loader = lib.utils.data.DataLoader(dataset, batch_size=BATCH,
                                           shuffle=True, num_workers=num_workers,
                                           persistent_workers=num_workers > 0)

        def step():
            for images, labels in loader:
                assert images.shape == (BATCH, 3, crop_side, crop_side)

        return step

    return setup


def main():
    rows = []
    for side, crop_side, samples in SIZES:
        for workers in (0, 2):
            rows.append(compare(
                f"DataLoader {crop_side}px crops x{samples}, workers={workers}",
                epoch(workers, side, crop_side, samples), repeat=7, warmup=1,
                extra=lambda t, n=samples: {"ember_samples_s": n / t["ember"],
                                            "torch_samples_s": n / t["torch"]}))
    print_table(rows)
    return rows


if __name__ == "__main__":
    main()
