"""Input pipelines for imbalanced and variable-length data, as Kaggle notebooks and
training frameworks write them: a map-style Dataset of dicts, class-balancing with
WeightedRandomSampler (weights = 1 / class count), a length-bucketing batch Sampler with a
padding collate_fn, SubsetRandomSampler train/val splits, DistributedSampler shards for two
ranks (padding and drop_last), StackDataset / ChainDataset / ConcatDataset composition, an
IterableDataset sharded with get_worker_info and worker_init_fn, and seeded DataLoader
generators that reproduce an epoch. Random orders differ between libraries, so the program
prints what a seed does not change: sizes, sets, counts and balance."""

from collections import Counter

import torch
from torch.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    DistributedSampler,
    IterableDataset,
    RandomSampler,
    Sampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    get_worker_info,
    random_split,
)
from torch.utils.data.dataloader import default_collate


class Sentences(Dataset):
    """Token-id sequences of varying length, 80% class 0, 20% class 1."""

    def __init__(self, n=40):
        self.items = [{"tokens": torch.arange(1, 2 + (i * 7) % 9), "label": int(i % 5 == 0), "id": i}
                      for i in range(n)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        return self.items[idx]


def pad_collate(batch):
    lengths = torch.tensor([len(b["tokens"]) for b in batch])
    tokens = torch.zeros(len(batch), int(lengths.max()), dtype=torch.long)
    for row, b in enumerate(batch):
        tokens[row, : len(b["tokens"])] = b["tokens"]
    return {"tokens": tokens, "lengths": lengths, "label": torch.tensor([b["label"] for b in batch]),
            "id": [b["id"] for b in batch]}


class BucketBatchSampler(Sampler):
    """Batches of similar length: sort indices by length inside shuffled chunks."""

    def __init__(self, lengths, batch_size, generator=None):
        self.lengths, self.batch_size, self.generator = lengths, batch_size, generator

    def __iter__(self):
        order = torch.randperm(len(self.lengths), generator=self.generator).tolist()
        chunks = [order[i:i + 4 * self.batch_size] for i in range(0, len(order), 4 * self.batch_size)]
        for chunk in chunks:
            chunk.sort(key=lambda i: self.lengths[i])
            yield from (chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size))

    def __len__(self):
        return sum((min(4 * self.batch_size, len(self.lengths) - s) + self.batch_size - 1) // self.batch_size
                   for s in range(0, len(self.lengths), 4 * self.batch_size))


data = Sentences()
labels = torch.tensor([item["label"] for item in data.items])
counts = torch.bincount(labels)
print("class counts:", counts.tolist())
weights = (1.0 / counts.float())[labels]
sampler = WeightedRandomSampler(weights, num_samples=2000, replacement=True, generator=torch.Generator().manual_seed(0))
drawn = Counter(labels[i].item() for i in sampler)
print("balanced draws:", len(list(sampler)), abs(drawn[0] - drawn[1]) < 200)
no_repeat = list(WeightedRandomSampler(weights, num_samples=40, replacement=False))
print("without replacement is a permutation:", sorted(no_repeat) == list(range(40)))
try:
    list(WeightedRandomSampler(weights, num_samples=41, replacement=False))
except RuntimeError as e:
    print("too many without replacement: RuntimeError", str(e)[:60])

loader = DataLoader(data, batch_size=8, collate_fn=pad_collate, sampler=sampler)
print("loader over 2000 draws:", len(loader))
batch = next(iter(DataLoader(data, batch_size=4, collate_fn=pad_collate)))
print("padded batch:", batch["tokens"].tolist(), batch["lengths"].tolist(), batch["id"])

lengths = [len(item["tokens"]) for item in data.items]
bucket = BucketBatchSampler(lengths, batch_size=5, generator=torch.Generator().manual_seed(1))
spans, seen = [], []
for b in DataLoader(data, batch_sampler=bucket, collate_fn=pad_collate):
    spans.append(int(b["lengths"].max() - b["lengths"].min()))
    seen += b["id"]
print("bucketed batches:", len(bucket), len(spans), "every item once:", sorted(seen) == list(range(40)),
      "mean length spread:", sum(spans) / len(spans) <= 4)

g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
epoch_a = [b["id"] for b in DataLoader(data, batch_size=6, shuffle=True, collate_fn=pad_collate, generator=g1)]
epoch_b = [b["id"] for b in DataLoader(data, batch_size=6, shuffle=True, collate_fn=pad_collate, generator=g2)]
print("same seed, same epoch:", epoch_a == epoch_b, [len(b) for b in epoch_a])
print("drop_last:", [len(b) for b in BatchSampler(RandomSampler(range(10)), batch_size=4, drop_last=True)],
      list(BatchSampler(range(10), batch_size=4, drop_last=False)))

# train / validation split two ways
train_idx, val_idx = random_split(range(40), [0.75, 0.25], generator=torch.Generator().manual_seed(3))
print("random_split fractions:", len(train_idx), len(val_idx), "disjoint:", not set(train_idx) & set(val_idx))
train_loader = DataLoader(data, batch_size=10, sampler=SubsetRandomSampler(list(train_idx)), collate_fn=pad_collate)
print("subset sampler covers train:", sorted(i for b in train_loader for i in b["id"]) == sorted(train_idx))
sub = Subset(data, [3, 1, 4])
print("Subset:", [item["id"] for item in sub], len(sub), sub.indices)

# two "ranks" of DistributedSampler without a process group
for drop_last in (False, True):
    shards = [list(DistributedSampler(range(11), num_replicas=2, rank=r, shuffle=False, drop_last=drop_last))
              for r in range(2)]
    print(f"distributed drop_last={drop_last}:", shards)
ds = DistributedSampler(range(11), num_replicas=2, rank=0, shuffle=True, seed=5)
ds.set_epoch(0)
first = list(ds)
ds.set_epoch(1)
print("epochs reshuffle:", sorted(first) != first or first != list(ds), len(ds), ds.num_samples, ds.total_size)

# composition
xs = TensorDataset(torch.arange(6.0).view(3, 2), torch.tensor([0, 1, 0]))
stacked = StackDataset(xs, torch.tensor([10, 20, 30]))
print("StackDataset:", len(stacked), stacked[1])
named = StackDataset(image=torch.arange(3), caption=["a", "b", "c"])
print("named StackDataset:", named[2], default_collate([named[0], named[1]]))
concat = ConcatDataset([range(3), range(10, 15)])
print("ConcatDataset:", len(concat), concat[4], concat[-1], concat.cumulative_sizes)


class Stream(IterableDataset):
    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(self.start, self.end))
        per = (self.end - self.start + info.num_workers - 1) // info.num_workers
        lo = self.start + info.id * per
        return iter(range(lo, min(lo + per, self.end)))


print("ChainDataset:", list(ChainDataset([Stream(0, 3), Stream(7, 9)])))
inits = []
single = DataLoader(Stream(0, 7), batch_size=3, worker_init_fn=lambda wid: inits.append(wid))
print("IterableDataset, main process:", [b.tolist() for b in single], "worker_init_fn calls:", inits)
both = DataLoader(Stream(0, 10), batch_size=2, num_workers=2)
print("two workers shard the stream:", sorted(x for b in both for x in b.tolist()) == list(range(10)))
for kwargs in ({"prefetch_factor": 2}, {"persistent_workers": True}):
    try:
        DataLoader(data, **kwargs)
    except ValueError as e:
        print(f"{next(iter(kwargs))} without workers: ValueError", str(e)[:70])
try:
    DataLoader(data, batch_size=2, shuffle=True, sampler=sampler)
except ValueError as e:
    print("sampler and shuffle: ValueError", e)
