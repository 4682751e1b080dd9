"""Reference models in real PyTorch, written from the papers' tables and torchvision's
documented module layout (ResNet: conv1, bn1, layerN.M.convK, downsample.0/1, fc; the
mobile nets: features.N.block / .conv; DenseNet: features.denseblockN.denselayerM), so
tests can write torchvision-format checkpoints and compare logits without torchvision."""

from __future__ import annotations

import torch
from torch import nn


class TorchBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class TorchBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class TorchResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._stage(block, 64, layers[0], 1)
        self.layer2 = self._stage(block, 128, layers[1], 2)
        self.layer3 = self._stage(block, 256, layers[2], 2)
        self.layer4 = self._stage(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _stage(self, block, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def torch_resnet18(num_classes=1000):
    return TorchResNet(TorchBasicBlock, [2, 2, 2, 2], num_classes)


def torch_resnet50(num_classes=1000):
    return TorchResNet(TorchBottleneck, [3, 4, 6, 3], num_classes)


def randomize_bn_stats(model, seed=0):
    """Non-trivial running stats and affine params, so eval-mode comparisons mean something."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
    return model


# -- mobile architectures and DenseNet -------------------------------------------------

V2_SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
              (6, 160, 3, 2), (6, 320, 1, 1)]


# (input, kernel, expanded, output, squeeze-excite) per block, from the MobileNetV3 paper.
V3_LARGE = [(16, 3, 16, 16, 0), (16, 3, 64, 24, 0), (24, 3, 72, 24, 0), (24, 5, 72, 40, 1),
            (40, 5, 120, 40, 1), (40, 5, 120, 40, 1), (40, 3, 240, 80, 0), (80, 3, 200, 80, 0),
            (80, 3, 184, 80, 0), (80, 3, 184, 80, 0), (80, 3, 480, 112, 1),
            (112, 3, 672, 112, 1), (112, 5, 672, 160, 1), (160, 5, 960, 160, 1),
            (160, 5, 960, 160, 1)]
V3_SMALL = [(16, 3, 16, 16, 1), (16, 3, 72, 24, 0), (24, 3, 88, 24, 0), (24, 5, 96, 40, 1),
            (40, 5, 240, 40, 1), (40, 5, 240, 40, 1), (40, 5, 120, 48, 1), (48, 5, 144, 48, 1),
            (48, 5, 288, 96, 1), (96, 5, 576, 96, 1), (96, 5, 576, 96, 1)]


class _TorchSE(torch.nn.Module):
    def __init__(self, channels, squeeze, act, gate):
        super().__init__()
        self.avgpool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc1 = torch.nn.Conv2d(channels, squeeze, 1)
        self.fc2 = torch.nn.Conv2d(squeeze, channels, 1)
        self.activation, self.scale_activation = act(), gate()

    def forward(self, x):
        return x * self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))


def _torch_cna(cin, cout, k, stride, groups, eps, act):
    layers = [torch.nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
              torch.nn.BatchNorm2d(cout, eps=eps)]
    return torch.nn.Sequential(*layers, *([act()] if act else []))


class _TorchMBBlock(torch.nn.Module):
    """expand (if widened), depthwise, optional SE, project; residual when shape kept."""

    def __init__(self, cin, k, exp, cout, stride, act, squeeze, gate, eps):
        super().__init__()
        layers = [] if exp == cin else [_torch_cna(cin, exp, 1, 1, 1, eps, act)]
        layers.append(_torch_cna(exp, exp, k, stride, exp, eps, act))
        if squeeze:
            se_act = torch.nn.SiLU if act is torch.nn.SiLU else torch.nn.ReLU
            layers.append(_TorchSE(exp, squeeze, se_act, gate))
        layers.append(_torch_cna(exp, cout, 1, 1, 1, eps, None))
        self.block = torch.nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return self.block(x) + x if self.residual else self.block(x)


class _TorchNet(torch.nn.Module):
    def __init__(self, features, classifier):
        super().__init__()
        self.features, self.avgpool, self.classifier = features, torch.nn.AdaptiveAvgPool2d(1), \
            classifier

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def _divisible8(v):
    new = max(8, int(v + 4) // 8 * 8)
    return new + 8 if new < 0.9 * v else new


def torch_mobilenet_v3_small(num_classes):
    # stride per V3_SMALL row (paper, Table 2); "HS" rows from index 3 on
    strides = [2, 2, 1, 2, 1, 1, 1, 1, 2, 1, 1]
    eps, hs = 0.001, torch.nn.Hardswish
    layers = [_torch_cna(3, 16, 3, 2, 1, eps, hs)]
    for i, ((cin, k, exp, cout, se), stride) in enumerate(zip(V3_SMALL, strides)):
        act = torch.nn.ReLU if i < 3 else hs
        squeeze = _divisible8(exp // 4) if se else 0
        layers.append(_TorchMBBlock(cin, k, exp, cout, stride, act, squeeze,
                                    torch.nn.Hardsigmoid, eps))
    layers.append(_torch_cna(96, 576, 1, 1, 1, eps, hs))
    classifier = torch.nn.Sequential(torch.nn.Linear(576, 1024), hs(), torch.nn.Dropout(0.2),
                                     torch.nn.Linear(1024, num_classes))
    return _TorchNet(torch.nn.Sequential(*layers), classifier)


def torch_efficientnet_b0(num_classes):
    # (expand, kernel, first stride, in, out, repeats) from the EfficientNet paper, Table 1
    stages = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
              (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
              (6, 3, 1, 192, 320, 1)]
    silu = torch.nn.SiLU
    layers = [_torch_cna(3, 32, 3, 2, 1, 1e-5, silu)]
    for expand, k, stride, cin, cout, repeats in stages:
        blocks = []
        for r in range(repeats):
            block_in = cin if r == 0 else cout
            blocks.append(_TorchMBBlock(block_in, k, block_in * expand, cout,
                                        stride if r == 0 else 1, silu, max(1, block_in // 4),
                                        torch.nn.Sigmoid, 1e-5))
        layers.append(torch.nn.Sequential(*blocks))
    layers.append(_torch_cna(320, 1280, 1, 1, 1, 1e-5, silu))
    classifier = torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.Linear(1280, num_classes))
    return _TorchNet(torch.nn.Sequential(*layers), classifier)


class _TorchV2Block(torch.nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        relu6 = torch.nn.ReLU6
        layers = [] if t == 1 else [_torch_cna(cin, hidden, 1, 1, 1, 1e-5, relu6)]
        layers += [_torch_cna(hidden, hidden, 3, stride, hidden, 1e-5, relu6),
                   torch.nn.Conv2d(hidden, cout, 1, bias=False), torch.nn.BatchNorm2d(cout)]
        self.conv = torch.nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return self.conv(x) + x if self.residual else self.conv(x)


def torch_mobilenet_v2(num_classes):
    layers, cin = [_torch_cna(3, 32, 3, 2, 1, 1e-5, torch.nn.ReLU6)], 32
    for t, c, n, s in V2_SETTING:
        for i in range(n):
            layers.append(_TorchV2Block(cin, c, s if i == 0 else 1, t))
            cin = c
    layers.append(_torch_cna(320, 1280, 1, 1, 1, 1e-5, torch.nn.ReLU6))
    classifier = torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.Linear(1280, num_classes))
    return _TorchNet(torch.nn.Sequential(*layers), classifier)


class _TorchFire(torch.nn.Module):
    def __init__(self, cin, squeeze, e1, e3):
        super().__init__()
        self.squeeze = torch.nn.Conv2d(cin, squeeze, 1)
        self.expand1x1 = torch.nn.Conv2d(squeeze, e1, 1)
        self.expand3x3 = torch.nn.Conv2d(squeeze, e3, 3, padding=1)

    def forward(self, x):
        x = torch.relu(self.squeeze(x))
        return torch.cat([torch.relu(self.expand1x1(x)), torch.relu(self.expand3x3(x))], 1)


class _TorchSqueezeNet11(torch.nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        pool = lambda: torch.nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
        F = _TorchFire
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 64, 3, 2), torch.nn.ReLU(), pool(), F(64, 16, 64, 64),
            F(128, 16, 64, 64), pool(), F(128, 32, 128, 128), F(256, 32, 128, 128), pool(),
            F(256, 48, 192, 192), F(384, 48, 192, 192), F(384, 64, 256, 256),
            F(512, 64, 256, 256))
        self.classifier = torch.nn.Sequential(torch.nn.Dropout(0.5),
                                              torch.nn.Conv2d(512, num_classes, 1),
                                              torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


class _TorchDenseNet(torch.nn.Module):
    """DenseNet-BC from the paper: every layer gets the concatenation of all before it."""

    def __init__(self, block_config, growth=32, init_features=64, bn_size=4, num_classes=10):
        super().__init__()
        f = torch.nn.Sequential()
        f.add_module("conv0", torch.nn.Conv2d(3, init_features, 7, 2, 3, bias=False))
        f.add_module("norm0", torch.nn.BatchNorm2d(init_features))
        f.add_module("relu0", torch.nn.ReLU())
        f.add_module("pool0", torch.nn.MaxPool2d(3, 2, 1))
        channels = init_features
        for b, n in enumerate(block_config, 1):
            block = torch.nn.ModuleDict()
            for i in range(n):
                layer = torch.nn.Module()
                cin = channels + i * growth
                layer.norm1 = torch.nn.BatchNorm2d(cin)
                layer.conv1 = torch.nn.Conv2d(cin, bn_size * growth, 1, bias=False)
                layer.norm2 = torch.nn.BatchNorm2d(bn_size * growth)
                layer.conv2 = torch.nn.Conv2d(bn_size * growth, growth, 3, 1, 1, bias=False)
                block[f"denselayer{i + 1}"] = layer
            f.add_module(f"denseblock{b}", block)
            channels += n * growth
            if b != len(block_config):
                trans = torch.nn.Module()
                trans.norm = torch.nn.BatchNorm2d(channels)
                trans.conv = torch.nn.Conv2d(channels, channels // 2, 1, bias=False)
                f.add_module(f"transition{b}", trans)
                channels //= 2
        f.add_module("norm5", torch.nn.BatchNorm2d(channels))
        self.features = f
        self.classifier = torch.nn.Linear(channels, num_classes)

    def forward(self, x):
        relu = torch.relu
        for name, m in self.features.named_children():
            if name.startswith("denseblock"):
                feats = [x]
                for layer in m.values():
                    h = torch.cat(feats, 1)
                    h = layer.conv1(relu(layer.norm1(h)))
                    feats.append(layer.conv2(relu(layer.norm2(h))))
                x = torch.cat(feats, 1)
            elif name.startswith("transition"):
                x = torch.nn.functional.avg_pool2d(m.conv(relu(m.norm(x))), 2, 2)
            else:
                x = m(x)
        x = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(relu(x), 1), 1)
        return self.classifier(x)
