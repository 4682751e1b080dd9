"""The "NLP From Scratch: classifying names with a character-level RNN" tutorial on a few
names written to data/names/*.txt: unicodeToAscii, one-hot lineToTensor, a custom
Dataset holding tensors and labels, random_split with a seeded Generator, the tutorial's
CharRNN (nn.RNN + Linear + LogSoftmax) trained with NLLLoss, SGD and
clip_grad_norm_ over batches chosen by Python's random.shuffle, a confusion matrix; then
the same data through a DataLoader whose collate_fn pads and packs variable-length
names (pad_sequence, pack_padded_sequence(enforce_sorted=False), pad_packed_sequence,
pack_sequence) into an nn.GRU.

Everything printed is deterministic: weights start from fixed values, there is no
dropout, and the batch order comes from Python's seeded random module."""

import glob
import os
import random
import string
import tempfile
import unicodedata

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence
from torch.utils.data import DataLoader, Dataset

allowed_characters = string.ascii_letters + " .,;'" + "_"
n_letters = len(allowed_characters)


def unicodeToAscii(s):
    return "".join(
        c for c in unicodedata.normalize("NFD", s)
        if unicodedata.category(c) != "Mn" and c in allowed_characters
    )


def letterToIndex(letter):
    if letter not in allowed_characters:
        return allowed_characters.find("_")
    return allowed_characters.find(letter)


def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


print(unicodeToAscii("Ślusàrski"))
print(lineToTensor("J").shape, lineToTensor("Jones").size())

root = tempfile.mkdtemp()
os.makedirs(os.path.join(root, "names"))
names = {
    "English": ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Johnson", "Walker", "Wright",
                "Robinson", "Thompson", "White", "Hughes"],
    "Japanese": ["Tanaka", "Suzuki", "Takahashi", "Watanabe", "Ito", "Yamamoto", "Nakamura",
                 "Kobayashi", "Kato", "Yoshida", "Yamada", "Sasaki"],
    "Polish": ["Nowak", "Kowalski", "Wisniewski", "Wójcik", "Kowalczyk", "Kamiński",
               "Lewandowski", "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski"],
}
for language, lines in names.items():
    with open(os.path.join(root, "names", language + ".txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


class NamesDataset(Dataset):

    def __init__(self, data_dir):
        self.data_dir = data_dir
        labels_set = set()
        self.data = []
        self.data_tensors = []
        self.labels = []
        self.labels_tensors = []

        text_files = sorted(glob.glob(os.path.join(data_dir, "*.txt")))
        for filename in text_files:
            label = os.path.splitext(os.path.basename(filename))[0]
            labels_set.add(label)
            lines = open(filename, encoding="utf-8").read().strip().split("\n")
            for name in lines:
                self.data.append(name)
                self.data_tensors.append(lineToTensor(unicodeToAscii(name)))
                self.labels.append(label)

        self.labels_uniq = sorted(labels_set)
        for idx in range(len(self.labels)):
            temp_tensor = torch.tensor([self.labels_uniq.index(self.labels[idx])], dtype=torch.long)
            self.labels_tensors.append(temp_tensor)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):
        data_item = self.data[idx]
        data_label = self.labels[idx]
        data_tensor = self.data_tensors[idx]
        label_tensor = self.labels_tensors[idx]
        return label_tensor, data_tensor, data_label, data_item


alldata = NamesDataset(os.path.join(root, "names"))
print(f"loaded {len(alldata)} items of data")
print(f"example = {alldata[0][1].shape} {alldata[0][0]} {alldata[0][2:]}")

train_set, test_set = torch.utils.data.random_split(
    alldata, [.75, .25], generator=torch.Generator().manual_seed(2024))
print(f"random_split: train examples = {len(train_set)}, validation examples = {len(test_set)}",
      sorted(train_set.indices + test_set.indices) == list(range(len(alldata))))
train_set = torch.utils.data.Subset(alldata, [i for i in range(len(alldata)) if i % 4 != 3])
test_set = torch.utils.data.Subset(alldata, [i for i in range(len(alldata)) if i % 4 == 3])


def fixed_(module, scale=0.3):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.53 + i).reshape(tuple(p.shape)) * scale))
    return module


class CharRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(CharRNN, self).__init__()

        self.rnn = nn.RNN(input_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line_tensor):
        rnn_out, hidden = self.rnn(line_tensor)
        output = self.h2o(hidden[0])
        output = self.softmax(output)

        return output


n_hidden = 32
rnn = fixed_(CharRNN(n_letters, n_hidden, len(alldata.labels_uniq)))
print(rnn)


def label_from_output(output, output_labels):
    top_n, top_i = output.topk(1)
    label_i = top_i[0].item()
    return output_labels[label_i], label_i


input = lineToTensor("Albert")
output = rnn(input)
print([f"{v:.4f}" for v in output[0].tolist()])
print(label_from_output(output, alldata.labels_uniq))


def train(rnn, training_data, n_epoch=10, n_batch_size=8, report_every=5, learning_rate=0.2,
          criterion=nn.NLLLoss()):
    """Learn on a batch of training_data for a specified number of iterations and reporting thresholds"""
    current_loss = 0
    all_losses = []
    rnn.train()
    optimizer = torch.optim.SGD(rnn.parameters(), lr=learning_rate)

    print(f"training on data set with n = {len(training_data)}")

    for iter in range(1, n_epoch + 1):
        rnn.zero_grad()  # clear the gradients

        # create some minibatches
        # we cannot use dataloaders because each of our names is a different length
        batches = list(range(len(training_data)))
        random.shuffle(batches)
        batches = np.array_split(batches, len(batches) // n_batch_size)

        for idx, batch in enumerate(batches):
            batch_loss = 0
            for i in batch:  # for each example in this batch
                (label_tensor, text_tensor, label, text) = training_data[i]
                output = rnn.forward(text_tensor)
                loss = criterion(output, label_tensor)
                batch_loss += loss

            # optimize parameters
            batch_loss.backward()
            nn.utils.clip_grad_norm_(rnn.parameters(), 3)
            optimizer.step()
            optimizer.zero_grad()

            current_loss += batch_loss.item() / len(batch)

        all_losses.append(current_loss / len(batches))
        if iter % report_every == 0:
            print(f"{iter} ({iter / n_epoch:.0%}): \t average batch loss = {all_losses[-1]:.4f}")
        current_loss = 0

    return all_losses


random.seed(0)
all_losses = train(rnn, train_set, n_epoch=10, learning_rate=0.15, report_every=2)
print("loss fell:", all_losses[-1] < all_losses[0])


def evaluate(rnn, testing_data, classes):
    confusion = torch.zeros(len(classes), len(classes))

    rnn.eval()  # set to eval mode
    with torch.no_grad():  # do not record the gradients during eval phase
        for i in range(len(testing_data)):
            (label_tensor, text_tensor, label, text) = testing_data[i]
            output = rnn(text_tensor)
            guess, guess_i = label_from_output(output, classes)
            label_i = classes.index(label)
            confusion[label_i][guess_i] += 1

    # Normalize by dividing every row by its sum
    for i in range(len(classes)):
        denom = confusion[i].sum()
        if denom > 0:
            confusion[i] = confusion[i] / denom
    return confusion


confusion = evaluate(rnn, test_set, classes=alldata.labels_uniq)
print(confusion)
print("diagonal mean:", f"{confusion.diag().mean().item():.4f}")


# The same data, batched: a collate_fn pads the names and packs them for an nn.GRU.
def collate_names(batch):
    labels = torch.cat([item[0] for item in batch])
    indices = [torch.tensor([letterToIndex(c) for c in unicodeToAscii(item[3])]) for item in batch]
    lengths = torch.tensor([len(seq) for seq in indices])
    padded = pad_sequence(indices, batch_first=True, padding_value=n_letters)
    return padded, lengths, labels


class GRUClassifier(nn.Module):
    def __init__(self, vocab, hidden, classes):
        super().__init__()
        self.embed = nn.Embedding(vocab + 1, 16, padding_idx=vocab)
        self.gru = nn.GRU(16, hidden, batch_first=True)
        self.out = nn.Linear(hidden, classes)

    def forward(self, padded, lengths):
        packed = pack_padded_sequence(self.embed(padded), lengths, batch_first=True,
                                      enforce_sorted=False)
        packed_out, h_n = self.gru(packed)
        out, out_lengths = pad_packed_sequence(packed_out, batch_first=True)
        return self.out(h_n[-1]), out, out_lengths


loader = DataLoader(train_set, batch_size=9, shuffle=False, collate_fn=collate_names)
padded, lengths, labels = next(iter(loader))
print("padded:", tuple(padded.shape), padded.dtype, lengths.tolist(), labels.tolist())
model = fixed_(GRUClassifier(n_letters, 24, 3))
with torch.no_grad():
    model.embed.weight[n_letters] = 0
logits, out, out_lengths = model(padded, lengths)
print("unpacked:", tuple(out.shape), out_lengths.tolist(), "padding zero:",
      bool((out[0, lengths[0]:] == 0).all()))
packed = pack_sequence([torch.arange(4.), torch.arange(2.), torch.arange(3.)], enforce_sorted=False)
print(packed.data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(4):
    total = 0.0
    for padded, lengths, labels in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(padded, lengths)[0], labels)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(labels)
    print(f"GRU epoch {epoch}: loss {total / len(train_set):.4f}")
