"""The eager-mode static quantization tutorial's QAT half on a small MobileNet-style CNN:
QuantStub/DeQuantStub, fuse_modules (conv-bn-relu, conv-bn, linear-relu),
get_default_qat_qconfig, prepare_qat, a few epochs on synthetic data with observers
frozen and BN stats frozen late, convert, float vs quantized accuracy and model size."""
import io

import torch
import torch.ao.quantization as tq
import torch.nn.functional as F
from torch import nn

torch.backends.quantized.engine = "fbgemm"


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin, cout, stride=1, groups=1, relu=True):
        layers = [nn.Conv2d(cin, cout, 3, stride, 1, groups=groups, bias=False),
                  nn.BatchNorm2d(cout)]
        if relu:
            layers.append(nn.ReLU())
        super().__init__(*layers)


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.features = nn.Sequential(ConvBNReLU(1, 4, stride=2), ConvBNReLU(4, 4, groups=4),
                                      ConvBNReLU(4, 8, relu=False))
        self.fc1 = nn.Linear(32, 16)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(16, 3)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 2).flatten(1)
        x = self.fc2(self.relu(self.fc1(x)))
        return self.dequant(x)

    def fuse_model(self, is_qat=True):
        fuse = tq.fuse_modules_qat if is_qat else tq.fuse_modules
        for block in self.features:
            names = ["0", "1", "2"] if len(block) == 3 else ["0", "1"]
            fuse(block, names, inplace=True)
        fuse(self, [["fc1", "relu"]], inplace=True)


def fixed_init(model):
    with torch.no_grad():
        for index, (name, parameter) in enumerate(model.named_parameters()):
            values = torch.linspace(-0.6, 0.6, parameter.numel()).reshape(parameter.shape)
            if name.endswith("weight") and parameter.dim() > 1:
                values = values * torch.cos(torch.arange(parameter.numel()).float() * 1.7
                                            ).reshape(parameter.shape)
            parameter.copy_(values + (0.5 if "features" in name and parameter.dim() == 1
                                      and name.endswith("weight") else 0.0))
    return model


# synthetic 3-class data: class = which image quadrant is bright
def make_data(n, phase):
    images = torch.zeros(n, 1, 8, 8)
    labels = torch.arange(n) % 3
    texture = torch.sin(torch.arange(n * 64).float() * 0.37 + phase).reshape(n, 1, 8, 8) * 0.2
    for i in range(n):
        row, col = divmod(int(labels[i]), 2)
        images[i, 0, row * 4:row * 4 + 4, col * 4:col * 4 + 4] = 1.0
    return images + texture, labels


train_x, train_y = make_data(48, 0.0)
test_x, test_y = make_data(24, 1.3)


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def size_of(model):
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return len(buffer.getvalue())


float_model = fixed_init(TinyNet())
float_model.eval()
float_model.fuse_model(is_qat=False)
print("fused eval features[0]:", type(float_model.features[0][0]).__name__,
      type(float_model.features[0][1]).__name__)

qat_model = fixed_init(TinyNet())
qat_model.fuse_model(is_qat=True)
print("fused for qat:", type(qat_model.features[0][0]).__name__,
      type(qat_model.features[2][0]).__name__, type(qat_model.fc1).__name__)
qat_model.qconfig = tq.get_default_qat_qconfig("fbgemm")
print("activation fq:", type(qat_model.qconfig.activation()).__name__)
qat_model.train()
tq.prepare_qat(qat_model, inplace=True)
print("prepared:", type(qat_model.features[0][0]).__name__, type(qat_model.fc1).__name__,
      type(qat_model.fc2).__name__)
print("weight fake quant:", type(qat_model.fc2.weight_fake_quant).__name__)

optimizer = torch.optim.SGD(qat_model.parameters(), lr=0.05, momentum=0.9)
for epoch in range(4):
    qat_model.train()
    total = 0.0
    for start in range(0, 48, 16):
        optimizer.zero_grad()
        loss = F.cross_entropy(qat_model(train_x[start:start + 16]),
                               train_y[start:start + 16])
        loss.backward()
        optimizer.step()
        total += loss.item()
    if epoch == 2:
        qat_model.apply(tq.disable_observer)
    if epoch == 1:
        qat_model.apply(torch.ao.nn.intrinsic.qat.freeze_bn_stats)
    print(f"epoch {epoch} loss {total / 3:.4f}")

scale, zero_point = qat_model.fc2.weight_fake_quant.calculate_qparams()
print("fc2 weight qparams:", tuple(scale.shape), zero_point.dtype)
print("observer off:", bool(qat_model.fc2.weight_fake_quant.observer_enabled[0] == 0))
qat_model.eval()
fake_quant_acc = accuracy(qat_model, test_x, test_y)
quantized = tq.convert(qat_model.eval(), inplace=False)
print("converted:", type(quantized.features[0][0]).__name__, type(quantized.fc1).__name__,
      type(quantized.fc2).__name__, type(quantized.quant).__name__)
out = quantized(test_x[:4])
print("quantized output:", out.dtype, tuple(out.shape))
quant_acc = accuracy(quantized, test_x, test_y)
print(f"fake-quant acc {fake_quant_acc:.3f} quantized acc {quant_acc:.3f}")
print("accuracies agree:", abs(fake_quant_acc - quant_acc) <= 0.1)
print("above chance:", quant_acc > 0.5)
float_size, quant_size = size_of(qat_model), size_of(quantized)
print("smaller after convert:", quant_size < float_size)
print("fc2 weight:", quantized.fc2.weight().dtype, quantized.fc2.weight().qscheme())
print("quantized logits:", [[round(v, 3) for v in row] for row in out[:2].tolist()])
with torch.no_grad():
    fake_logits = qat_model(test_x[:2])
print("fake-quant logits:", [[round(v, 3) for v in row] for row in fake_logits.tolist()])
print("input scale:", round(quantized.quant.scale.item(), 5), quantized.quant.zero_point.item())
