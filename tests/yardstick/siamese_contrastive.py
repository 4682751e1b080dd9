"""pytorch/examples siamese_network, shrunk, plus the contrastive losses people pair it
with. A Dataset yields (image_1, image_2, target) pairs, same class or not, alternating;
two images go through one shared CNN, their features are concatenated into a
Linear + Sigmoid head trained with BCELoss, Adadelta(lr=1) and StepLR(gamma=0.7) as in
the example. Then the same tower is trained as an embedding with Hadsell's contrastive
loss on F.pairwise_distance, and the built-in pair losses are checked against the
formulas they implement: CosineEmbeddingLoss, HingeEmbeddingLoss, MarginRankingLoss,
TripletMarginWithDistanceLoss with a cosine distance and swap, and nn.PairwiseDistance.
The data are fixed synthetic "digits"; pairs follow a fixed rule instead of random draws."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, Dataset


def fixed_(module, scale=0.5):
    with torch.no_grad():
        for i, (name, p) in enumerate(module.named_parameters()):
            if name.endswith("bias"):
                p.fill_(0.01)
            elif p.dim() == 1:
                p.fill_(1.0)
            else:
                values = np.sin(np.arange(p.numel()) * 0.57 + i) * scale / np.sqrt(p[0].numel())
                p.copy_(torch.from_numpy(values.reshape(tuple(p.shape))))
    return module


class SiameseNetwork(nn.Module):
    """Siamese network for image similarity estimation: a shared tower, the two feature
    vectors concatenated, and a Linear + Sigmoid head giving P(same class)."""

    def __init__(self):
        super(SiameseNetwork, self).__init__()
        self.tower = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d((1, 1)))
        self.fc_in_features = 16
        self.fc = nn.Sequential(
            nn.Linear(self.fc_in_features * 2, 32),
            nn.ReLU(inplace=True),
            nn.Linear(32, 1),
        )
        self.sigmoid = nn.Sigmoid()

    def forward_once(self, x):
        output = self.tower(x)
        output = output.view(output.size()[0], -1)
        return output

    def forward(self, input1, input2):
        output1 = self.forward_once(input1)
        output2 = self.forward_once(input2)
        output = torch.cat((output1, output2), 1)
        output = self.fc(output)
        output = self.sigmoid(output)
        return output


def make_digits(n, offset=0):
    yy, xx = np.meshgrid(np.linspace(-1, 1, 12), np.linspace(-1, 1, 12), indexing="ij")
    shapes = [np.exp(-(xx ** 2 + yy ** 2) * 3), (np.abs(xx) < 0.25) * 1.0,
              (np.abs(yy) < 0.25) * 1.0, (np.abs(xx - yy) < 0.3) * 1.0,
              ((xx ** 2 + yy ** 2) > 0.5) * 1.0]
    labels = (np.arange(n) * 3 + offset) % 5
    noise = np.cos(np.outer(np.arange(n) + offset * 7, np.arange(144)) * 1.37).reshape(n, 12, 12)
    images = np.stack([shapes[k] + 0.2 * noise[i] for i, k in enumerate(labels)])[:, None]
    return torch.tensor(images, dtype=torch.float32), torch.tensor(labels)


class APP_MATCHER(Dataset):
    """Pairs of images: even indices pair with an image of the same class, odd ones with an
    image of another class (the example draws these at random)."""

    def __init__(self, images, labels):
        super(APP_MATCHER, self).__init__()
        self.data, self.targets = images, labels
        self.group_examples()

    def group_examples(self):
        np_arr = np.array(self.targets.clone())
        self.grouped_examples = {}
        for i in range(0, 5):
            self.grouped_examples[i] = np.where((np_arr == i))[0]

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        selected_class = int(self.targets[index])
        image_1 = self.data[index].clone().float()
        if index % 2 == 0:
            group = self.grouped_examples[selected_class]
            other = group[(list(group).index(index) + 1) % len(group)]
            image_2 = self.data[other].clone().float()
            target = torch.tensor(1, dtype=torch.float)
        else:
            other_class = (selected_class + 1 + index % 4) % 5
            image_2 = self.data[self.grouped_examples[other_class][index % 3]].clone().float()
            target = torch.tensor(0, dtype=torch.float)
        return image_1, image_2, target


def train(model, train_loader, optimizer, epoch):
    model.train()
    criterion = nn.BCELoss()
    total = 0.0
    for batch_idx, (images_1, images_2, targets) in enumerate(train_loader):
        optimizer.zero_grad()
        outputs = model(images_1, images_2).squeeze()
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        total += loss.item()
    print('Train Epoch: {} \tLoss: {:.6f}'.format(epoch, total / len(train_loader)))


def test(model, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    criterion = nn.BCELoss()
    with torch.no_grad():
        for (images_1, images_2, targets) in test_loader:
            outputs = model(images_1, images_2).squeeze()
            test_loss += criterion(outputs, targets).sum().item()  # sum up batch loss
            pred = torch.where(outputs > 0.5, 1, 0)  # get the index of the max log-probability
            correct += pred.eq(targets.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    print('Test set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)'.format(
        test_loss, correct, len(test_loader.dataset), 100. * correct / len(test_loader.dataset)))
    return correct / len(test_loader.dataset)


train_dataset = APP_MATCHER(*make_digits(40))
test_dataset = APP_MATCHER(*make_digits(20, offset=1))
image_1, image_2, target = train_dataset[0]
print("pair:", tuple(image_1.shape), tuple(image_2.shape), target, train_dataset[1][2])
train_loader = DataLoader(train_dataset, batch_size=10, shuffle=False)
test_loader = DataLoader(test_dataset, batch_size=10)
model = fixed_(SiameseNetwork())
optimizer = optim.Adadelta(model.parameters(), lr=1.0)
scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
test(model, test_loader)
for epoch in range(1, 5):
    train(model, train_loader, optimizer, epoch)
    scheduler.step()
accuracy = test(model, test_loader)
print("above chance:", accuracy > 0.5, "lr now:", round(scheduler.get_last_lr()[0], 4))
with torch.no_grad():
    model.eval()
    a, b = test_dataset[0][0][None], test_dataset[2][0][None]
    print("symmetric in its tower:", torch.equal(model.forward_once(a), model.forward_once(a)),
          "order matters for the head:", not torch.allclose(model(a, b), model(b, a)))


def contrastive_loss(x1, x2, same, margin=1.0):
    """Hadsell et al.: pull same pairs together, push others beyond the margin."""
    distance = F.pairwise_distance(x1, x2)
    return (same * distance.pow(2) + (1 - same) * F.relu(margin - distance).pow(2)).mean() / 2


tower = fixed_(nn.Sequential(nn.Flatten(), nn.Linear(144, 32), nn.Tanh(), nn.Linear(32, 8)))
opt = optim.SGD(tower.parameters(), lr=0.1, momentum=0.9)
for epoch in range(6):
    total = 0.0
    for images_1, images_2, same in train_loader:
        loss = contrastive_loss(tower(images_1), tower(images_2), same)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    if epoch % 2 == 1:
        print(f"contrastive epoch {epoch} loss {total / len(train_loader):.5f}")
with torch.no_grad():
    images_1, images_2, same = next(iter(test_loader))
    distance = nn.PairwiseDistance(p=2)(tower(images_1), tower(images_2))
    print("same pairs closer:", bool(distance[same == 1].mean() < distance[same == 0].mean()),
          [round(v, 4) for v in distance[:4].tolist()])

x1 = torch.tensor(np.sin(np.arange(24) * 0.7).reshape(6, 4), dtype=torch.float32,
                  requires_grad=True)
x2 = torch.tensor(np.cos(np.arange(24) * 0.3).reshape(6, 4), dtype=torch.float32,
                  requires_grad=True)
y = torch.tensor([1., -1., 1., -1., -1., 1.])
cos = F.cosine_similarity(x1, x2)
cel = nn.CosineEmbeddingLoss(margin=0.2)(x1, x2, y)
by_hand = torch.where(y > 0, 1 - cos, (cos - 0.2).clamp(min=0)).mean()
formulas = [torch.allclose(cel, by_hand)]
print(f"CosineEmbeddingLoss {cel.item():.5f} == formula:", formulas[-1])
d = F.pairwise_distance(x1, x2, eps=0)
hel = nn.HingeEmbeddingLoss(margin=1.5, reduction="sum")(d, y)
formulas.append(torch.allclose(hel, torch.where(y > 0, d, (1.5 - d).clamp(min=0)).sum()))
print(f"HingeEmbeddingLoss {hel.item():.5f} == formula:", formulas[-1])
mrl = nn.MarginRankingLoss(margin=0.1)(x1[:, 0], x2[:, 0], y)
formulas.append(torch.allclose(mrl, (-y * (x1[:, 0] - x2[:, 0]) + 0.1).clamp(min=0).mean()))
print(f"MarginRankingLoss {mrl.item():.5f} == formula:", formulas[-1])
cosine_distance = lambda a, b: 1.0 - F.cosine_similarity(a, b)  # noqa: E731
triplet = nn.TripletMarginWithDistanceLoss(distance_function=cosine_distance, margin=0.5, swap=True)
anchor, positive, negative = x1[:2], x2[:2], x1[2:4]
tml = triplet(anchor, positive, negative)
d_neg = torch.minimum(cosine_distance(anchor, negative), cosine_distance(positive, negative))
formulas.append(torch.allclose(tml, (cosine_distance(anchor, positive) - d_neg + 0.5)
                               .clamp(min=0).mean()))
print(f"TripletMarginWithDistanceLoss {tml.item():.5f} == formula:", formulas[-1])
print("pair losses match their formulas:", formulas)
(cel + hel + mrl + tml).backward()
print("grads:", [round(v, 5) for v in x1.grad[0].tolist()],
      [round(v, 5) for v in x2.grad[0].tolist()])
print("pairwise keepdim:", tuple(F.pairwise_distance(x1, x2, keepdim=True).shape),
      "pdist:", tuple(F.pdist(x1).shape), round(F.pdist(x1)[0].item(), 5))
