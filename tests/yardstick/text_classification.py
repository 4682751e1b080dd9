"""The "Text classification with the torchtext library" tutorial without torchtext: a
basic_english-style tokenizer, a vocabulary with an <unk> default built from an
iterator, collate_batch producing a flat token tensor plus offsets (cumsum), the
TextClassificationModel on nn.EmbeddingBag (mean mode, offsets) with init_weights,
CrossEntropyLoss, SGD(lr=5) with clip_grad_norm_(0.1), StepLR(1, gamma=0.1) driven by
validation accuracy, random_split/to_map_style-like datasets, and predict(). No
shuffling and no dropout, weights from fixed values: every number printed is
deterministic (random_split only prints lengths)."""

import re
import time
from collections import Counter

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.data.dataset import random_split

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

TOPICS = {1: "World", 2: "Sports", 3: "Business", 4: "Sci/Tec"}
WORDS = {
    1: ["government", "minister", "election", "war", "president", "country", "talks", "peace"],
    2: ["game", "team", "season", "coach", "win", "player", "league", "cup"],
    3: ["market", "shares", "profit", "company", "stocks", "bank", "prices", "deal"],
    4: ["software", "computer", "internet", "space", "research", "chip", "data", "science"],
}
COMMON = ["the", "a", "of", "in", "on", "and", "says", "new"]


def make_split(count, offset):
    rows = []
    for i in range(count):
        label = (i + offset) % 4 + 1
        topic = WORDS[label]
        words = [topic[(i * 3 + j) % 8] if (i + j) % 3 else COMMON[(i + j) % 8] for j in range(5 + i % 7)]
        if i % 5 == 0:
            words.append(WORDS[label % 4 + 1][i % 8])  # a distracting word
        rows.append((label, " ".join(words).capitalize() + "!"))
    return rows


train_iter = make_split(96, 0)
test_iter = make_split(32, 1)


def basic_english(line):
    line = line.lower()
    line = re.sub(r"([.!?,'])", r" \1 ", line)
    return line.split()


tokenizer = basic_english


def yield_tokens(data_iter):
    for _, text in data_iter:
        yield tokenizer(text)


class Vocab:
    def __init__(self, counter, specials):
        self.itos = list(specials) + sorted(w for w in counter if w not in specials)
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.default_index = None

    def set_default_index(self, index):
        self.default_index = index

    def __call__(self, tokens):
        return [self.stoi.get(token, self.default_index) for token in tokens]

    def __len__(self):
        return len(self.itos)


vocab = Vocab(Counter(token for tokens in yield_tokens(train_iter) for token in tokens), ["<unk>"])
vocab.set_default_index(vocab.stoi["<unk>"])
print(len(vocab), vocab(["here", "is", "the", "an", "example"]))

text_pipeline = lambda x: vocab(tokenizer(x))  # noqa: E731
label_pipeline = lambda x: int(x) - 1  # noqa: E731
print(text_pipeline("the game is on"), label_pipeline("10"))


def collate_batch(batch):
    label_list, text_list, offsets = [], [], [0]
    for _label, _text in batch:
        label_list.append(label_pipeline(_label))
        processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
        text_list.append(processed_text)
        offsets.append(processed_text.size(0))
    label_list = torch.tensor(label_list, dtype=torch.int64)
    offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
    text_list = torch.cat(text_list)
    return label_list.to(device), text_list.to(device), offsets.to(device)


dataloader = DataLoader(train_iter, batch_size=8, shuffle=False, collate_fn=collate_batch)
labels, text, offsets = next(iter(dataloader))
print("batch:", labels.tolist(), tuple(text.shape), offsets.tolist())


class TextClassificationModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_class):
        super(TextClassificationModel, self).__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self):
        initrange = 0.5
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.fc.weight.data.uniform_(-initrange, initrange)
        self.fc.bias.data.zero_()

    def forward(self, text, offsets):
        embedded = self.embedding(text, offsets)
        return self.fc(embedded)


num_class = len(set([label for (label, text) in train_iter]))
vocab_size = len(vocab)
emsize = 16
model = TextClassificationModel(vocab_size, emsize, num_class).to(device)
print(model, "mode:", model.embedding.mode)
with torch.no_grad():
    model.embedding.weight.copy_(torch.from_numpy(np.sin(np.arange(vocab_size * emsize) * 0.37).reshape(vocab_size, emsize) * 0.5))
    model.fc.weight.copy_(torch.from_numpy(np.cos(np.arange(num_class * emsize) * 0.53).reshape(num_class, emsize) * 0.5))


def train(dataloader):
    model.train()
    total_acc, total_count = 0, 0
    log_interval = 6
    start_time = time.time()

    for idx, (label, text, offsets) in enumerate(dataloader):
        optimizer.zero_grad()
        predicted_label = model(text, offsets)
        loss = criterion(predicted_label, label)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        total_acc += (predicted_label.argmax(1) == label).sum().item()
        total_count += label.size(0)
        if idx % log_interval == 0 and idx > 0:
            elapsed = time.time() - start_time
            assert elapsed >= 0
            print("| epoch {:3d} | {:5d}/{:5d} batches | accuracy {:8.3f}".format(
                epoch, idx, len(dataloader), total_acc / total_count))
            total_acc, total_count = 0, 0
            start_time = time.time()


def evaluate(dataloader):
    model.eval()
    total_acc, total_count = 0, 0

    with torch.no_grad():
        for idx, (label, text, offsets) in enumerate(dataloader):
            predicted_label = model(text, offsets)
            loss = criterion(predicted_label, label)
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
    return total_acc / total_count


# Hyperparameters
EPOCHS = 4  # epoch
LR = 5  # learning rate
BATCH_SIZE = 8  # batch size for training

criterion = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=LR)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
total_accu = None
train_dataset = list(train_iter)
test_dataset = list(test_iter)
num_train = int(len(train_dataset) * 0.95)
split_train_, split_valid_ = random_split(train_dataset, [num_train, len(train_dataset) - num_train])
print("random_split:", len(split_train_), len(split_valid_))
split_train_, split_valid_ = train_dataset[:num_train], train_dataset[num_train:]

train_dataloader = DataLoader(split_train_, batch_size=BATCH_SIZE, shuffle=False, collate_fn=collate_batch)
valid_dataloader = DataLoader(split_valid_, batch_size=BATCH_SIZE, shuffle=False, collate_fn=collate_batch)
test_dataloader = DataLoader(test_dataset, batch_size=BATCH_SIZE, shuffle=False, collate_fn=collate_batch)

for epoch in range(1, EPOCHS + 1):
    epoch_start_time = time.time()
    train(train_dataloader)
    accu_val = evaluate(valid_dataloader)
    if total_accu is not None and total_accu > accu_val:
        scheduler.step()
    else:
        total_accu = accu_val
    print("-" * 59)
    print("| end of epoch {:3d} | valid accuracy {:8.3f} | lr {:.4f}".format(
        epoch, accu_val, scheduler.get_last_lr()[0]))
    print("-" * 59)

print("Checking the results of test dataset.")
accu_test = evaluate(test_dataloader)
print("test accuracy {:8.3f}".format(accu_test))


def predict(text, text_pipeline):
    with torch.no_grad():
        text = torch.tensor(text_pipeline(text))
        output = model(text, torch.tensor([0]))
        return output.argmax(1).item() + 1


ex_text_str = "The team won the cup game after a new coach joined the league this season"
model = model.to("cpu")
print("This is a %s news" % TOPICS[predict(ex_text_str, text_pipeline)])
bag = nn.EmbeddingBag(10, 3, mode="sum")
with torch.no_grad():
    bag.weight.copy_(torch.arange(30.0).view(10, 3))
print("sum bag:", bag(torch.tensor([[1, 2], [4, 5]])).tolist(),
      "max bag:", nn.EmbeddingBag.from_pretrained(bag.weight, mode="max")(torch.tensor([1, 9, 3]), torch.tensor([0, 2])).tolist())
