"""Reference models in real PyTorch for EfficientNet B1..B7 / V2 and ViT with a conv stem
and a pre-logits head, written from the papers' tables and torchvision's documented module
layout (``features.N.M.block.K``, ``conv_proj.conv_bn_relu_I``, ``heads.pre_logits``), so
tests can copy their weights into ember's models and compare outputs.

Built differently from ember's code where the math allows: stages come from explicit
rows (kind, expand, kernel, stride, in, out, repeats) with widths and repeats scaled here,
the ViT block is written out with ``torch.nn.MultiheadAttention`` and a plain Sequential.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn


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


def scale_width(channels, width_mult):
    """The paper's round_filters: nearest multiple of 8, never more than 10% below."""
    target = channels * width_mult
    rounded = max(8, int(target + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * target else rounded


class TorchFusedMBConv(nn.Module):
    """EfficientNetV2's Fused-MBConv: kxk conv (expand) + 1x1 project, or one kxk conv."""

    def __init__(self, cin, cout, k, stride, expand, eps):
        super().__init__()
        hidden = cin * expand
        if expand == 1:
            layers = [_torch_cna(cin, cout, k, stride, 1, eps, nn.SiLU)]
        else:
            layers = [_torch_cna(cin, hidden, k, stride, 1, eps, nn.SiLU),
                      _torch_cna(hidden, cout, 1, 1, 1, eps, None)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return self.block(x) + x if self.residual else self.block(x)


class TorchEfficientNet(nn.Module):
    """rows: ("F" fused / "M" MBConv, expand, kernel, stride, in, out, repeats)."""

    def __init__(self, rows, num_classes, width=1.0, depth=1.0, last_channel=None, eps=1e-5):
        super().__init__()
        silu = nn.SiLU
        stem = scale_width(rows[0][4], width)
        layers = [_torch_cna(3, stem, 3, 2, 1, eps, silu)]
        for kind, expand, k, stride, cin, cout, repeats in rows:
            cin, cout = scale_width(cin, width), scale_width(cout, width)
            blocks = []
            for r in range(math.ceil(repeats * depth)):
                block_in, block_stride = (cin, stride) if r == 0 else (cout, 1)
                if kind == "F":
                    blocks.append(TorchFusedMBConv(block_in, cout, k, block_stride, expand, eps))
                else:
                    blocks.append(_TorchMBBlock(block_in, k, block_in * expand, cout,
                                                block_stride, silu, max(1, block_in // 4),
                                                nn.Sigmoid, eps))
            layers.append(nn.Sequential(*blocks))
        last_in = scale_width(rows[-1][5], width)
        last = last_channel or 4 * last_in
        layers.append(_torch_cna(last_in, last, 1, 1, 1, eps, silu))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


V2_S_ROWS = [("F", 1, 3, 1, 24, 24, 2), ("F", 4, 3, 2, 24, 48, 4), ("F", 4, 3, 2, 48, 64, 4),
             ("M", 4, 3, 2, 64, 128, 6), ("M", 6, 3, 1, 128, 160, 9),
             ("M", 6, 3, 2, 160, 256, 15)]
B_ROWS = [("M", 1, 3, 1, 32, 16, 1), ("M", 6, 3, 2, 16, 24, 2), ("M", 6, 5, 2, 24, 40, 2),
          ("M", 6, 3, 2, 40, 80, 3), ("M", 6, 5, 1, 80, 112, 3), ("M", 6, 5, 2, 112, 192, 4),
          ("M", 6, 3, 1, 192, 320, 1)]


class TorchEncoderBlock(nn.Module):
    def __init__(self, hidden, heads, mlp):
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.dropout = nn.Dropout(0.0)
        self.ln_2 = nn.LayerNorm(hidden, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(hidden, mlp), nn.GELU(), nn.Dropout(0.0),
                                 nn.Linear(mlp, hidden), nn.Dropout(0.0))

    def forward(self, x):
        y = self.ln_1(x)
        x = x + self.self_attention(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class _TorchEncoder(nn.Module):
    def __init__(self, seq, layers, hidden, heads, mlp):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.randn(1, seq, hidden) * 0.02)
        self.layers = nn.Sequential(OrderedDict(
            (f"encoder_layer_{i}", TorchEncoderBlock(hidden, heads, mlp)) for i in range(layers)))
        self.ln = nn.LayerNorm(hidden, eps=1e-6)

    def forward(self, x):
        return self.ln(self.layers(x + self.pos_embedding))


class TorchViT(nn.Module):
    """ViT with an optional conv stem ``[(out, kernel, stride), ...]`` (BN + ReLU, then a
    1x1 conv to ``hidden``) and an optional tanh pre-logits layer."""

    def __init__(self, image, patch, layers, heads, hidden, mlp, num_classes, stem=None,
                 representation_size=None):
        super().__init__()
        self.hidden = hidden
        if stem is None:
            self.conv_proj = nn.Conv2d(3, hidden, patch, patch)
        else:
            seq, prev = nn.Sequential(), 3
            for i, (out, k, s) in enumerate(stem):
                seq.add_module(f"conv_bn_relu_{i}", nn.Sequential(
                    nn.Conv2d(prev, out, k, s, (k - 1) // 2, bias=False), nn.BatchNorm2d(out),
                    nn.ReLU(inplace=True)))
                prev = out
            seq.add_module("conv_last", nn.Conv2d(prev, hidden, 1))
            self.conv_proj = seq
        self.class_token = nn.Parameter(torch.randn(1, 1, hidden) * 0.1)
        self.encoder = _TorchEncoder((image // patch) ** 2 + 1, layers, hidden, heads, mlp)
        heads_ = OrderedDict()
        if representation_size is not None:
            heads_["pre_logits"] = nn.Linear(hidden, representation_size)
            heads_["act"] = nn.Tanh()
        heads_["head"] = nn.Linear(representation_size or hidden, num_classes)
        self.heads = nn.Sequential(heads_)

    def forward(self, x):
        tokens = self.conv_proj(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.class_token.expand(x.shape[0], -1, -1), tokens], 1)
        return self.heads(self.encoder(tokens)[:, 0])


# -- quantizable ResNet (torchvision.models.quantization layout) ----------------------------

class _TorchQBasic(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride, downsample, groups=1, width=64):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.add_relu = torch.ao.nn.quantized.FloatFunctional()

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        identity = x if self.downsample is None else self.downsample(x)
        return self.add_relu.add_relu(out, identity)

    def fuse_model(self):
        torch.ao.quantization.fuse_modules(self, [["conv1", "bn1", "relu"], ["conv2", "bn2"]],
                                           inplace=True)


class _TorchQBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride, downsample, groups=1, width=64):
        super().__init__()
        mid = int(planes * width / 64) * groups
        self.conv1 = nn.Conv2d(cin, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.skip_add_relu = torch.ao.nn.quantized.FloatFunctional()
        self.relu1 = nn.ReLU()
        self.relu2 = nn.ReLU()

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn3(self.conv3(self.relu2(self.bn2(self.conv2(out)))))
        identity = x if self.downsample is None else self.downsample(x)
        return self.skip_add_relu.add_relu(out, identity)

    def fuse_model(self):
        torch.ao.quantization.fuse_modules(
            self, [["conv1", "bn1", "relu1"], ["conv2", "bn2", "relu2"], ["conv3", "bn3"]],
            inplace=True)


class TorchQuantizableResNet(nn.Module):
    def __init__(self, bottleneck, layers, num_classes, groups=1, width=64):
        super().__init__()
        block = _TorchQBottleneck if bottleneck else _TorchQBasic
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers)):
            blocks = []
            for j in range(n):
                stride = 2 if i > 0 and j == 0 else 1
                down = None
                if j == 0 and (stride != 1 or cin != planes * block.expansion):
                    down = nn.Sequential(
                        nn.Conv2d(cin, planes * block.expansion, 1, stride, bias=False),
                        nn.BatchNorm2d(planes * block.expansion))
                blocks.append(block(cin, planes, stride, down, groups, width))
                cin = planes * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, num_classes)
        self.quant = torch.ao.quantization.QuantStub()
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(self.quant(x)))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.dequant(self.fc(torch.flatten(self.avgpool(x), 1)))

    def fuse_model(self):
        torch.ao.quantization.fuse_modules(self, ["conv1", "bn1", "relu"], inplace=True)
        for m in self.modules():
            if isinstance(m, (_TorchQBasic, _TorchQBottleneck)):
                m.fuse_model()
                if m.downsample is not None:
                    torch.ao.quantization.fuse_modules(m.downsample, ["0", "1"], inplace=True)


class _TorchQInvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        layers = [] if t == 1 else [_torch_cna(cin, hidden, 1, 1, 1, 1e-5, nn.ReLU)]
        layers += [_torch_cna(hidden, hidden, 3, stride, hidden, 1e-5, nn.ReLU),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout
        self.skip_add = torch.ao.nn.quantized.FloatFunctional()

    def forward(self, x):
        return self.skip_add.add(x, self.conv(x)) if self.residual else self.conv(x)


class TorchQuantizableMobileNetV2(nn.Module):
    """rows: (expansion t, channels c, repeats n, first stride s); ReLU already in place
    of ReLU6, as torchvision's quantizable builder leaves it."""

    def __init__(self, rows, num_classes):
        super().__init__()
        layers, cin = [_torch_cna(3, 32, 3, 2, 1, 1e-5, nn.ReLU)], 32
        for t, c, n, s in rows:
            for i in range(n):
                layers.append(_TorchQInvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(_torch_cna(cin, 1280, 1, 1, 1, 1e-5, nn.ReLU))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))
        self.quant = torch.ao.quantization.QuantStub()
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        x = self.features(self.quant(x))
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, (1, 1)), 1)
        return self.dequant(self.classifier(x))

    def fuse_model(self):
        fuse = torch.ao.quantization.fuse_modules
        for m in self.modules():
            if isinstance(m, nn.Sequential) and len(m) == 3 and isinstance(m[2], nn.ReLU):
                fuse(m, ["0", "1", "2"], inplace=True)
            if isinstance(m, _TorchQInvertedResidual):
                for idx in range(len(m.conv)):
                    if type(m.conv[idx]) is nn.Conv2d:
                        fuse(m.conv, [str(idx), str(idx + 1)], inplace=True)


class _TorchQConv(nn.Module):
    """conv (no bias) -> BN (eps 1e-3) -> ReLU module, keys conv / bn."""

    def __init__(self, cin, cout, k, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class _TorchQInception(nn.Module):
    def __init__(self, cin, c1, c3r, c3, c5r, c5, pool):
        super().__init__()
        self.branch1 = _TorchQConv(cin, c1, 1)
        self.branch2 = nn.Sequential(_TorchQConv(cin, c3r, 1), _TorchQConv(c3r, c3, 3, 1, 1))
        self.branch3 = nn.Sequential(_TorchQConv(cin, c5r, 1), _TorchQConv(c5r, c5, 3, 1, 1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True),
                                     _TorchQConv(cin, pool, 1))
        self.cat = torch.ao.nn.quantized.FloatFunctional()

    def forward(self, x):
        return self.cat.cat([self.branch1(x), self.branch2(x), self.branch3(x),
                             self.branch4(x)], 1)


class TorchQuantizableGoogLeNet(nn.Module):
    """Without auxiliary heads (eval only), as the quantized checkpoints are used."""

    def __init__(self, num_classes):
        from vision.torch_models_more import GOOGLENET_BLOCKS

        super().__init__()
        self.conv1 = _TorchQConv(3, 64, 7, 2, 3)
        self.maxpool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = _TorchQConv(64, 64, 1)
        self.conv3 = _TorchQConv(64, 192, 3, 1, 1)
        self.maxpool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        for name, *cfg in GOOGLENET_BLOCKS:
            setattr(self, name, _TorchQInception(*cfg))
            if name == "inception3b":
                self.maxpool3 = nn.MaxPool2d(3, 2, ceil_mode=True)
            if name == "inception4e":
                self.maxpool4 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.aux1 = self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(1024, num_classes)
        self.quant = torch.ao.quantization.QuantStub()
        self.dequant = torch.ao.quantization.DeQuantStub()

    def stages(self):
        names = ["conv2", "conv3", "maxpool2", "inception3a", "inception3b", "maxpool3",
                 "inception4a", "inception4b", "inception4c", "inception4d", "inception4e",
                 "maxpool4", "inception5a", "inception5b"]
        return [getattr(self, n) for n in names]

    def forward(self, x):
        x = self.maxpool1(self.conv1(self.quant(x)))
        for stage in self.stages():
            x = stage(x)
        x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        return self.dequant(x)

    def fuse_model(self):
        for m in self.modules():
            if isinstance(m, _TorchQConv):
                torch.ao.quantization.fuse_modules(m, ["conv", "bn", "relu"], inplace=True)


def _torch_dw_bn(c, stride):
    return [nn.Conv2d(c, c, 3, stride, 1, groups=c, bias=False), nn.BatchNorm2d(c)]


def _torch_pw_bn_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class _TorchQShuffleBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        half = cout // 2
        self.stride = stride
        self.branch1 = nn.Sequential(*_torch_dw_bn(cin, stride), *_torch_pw_bn_relu(cin, half)) \
            if stride > 1 else nn.Sequential()
        self.branch2 = nn.Sequential(*_torch_pw_bn_relu(cin if stride > 1 else half, half),
                                     *_torch_dw_bn(half, stride), *_torch_pw_bn_relu(half, half))
        self.cat = torch.ao.nn.quantized.FloatFunctional()

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = self.cat.cat([x1, self.branch2(x2)], dim=1)
        else:
            out = self.cat.cat([self.branch1(x), self.branch2(x)], dim=1)
        n, c, h, w = out.shape  # interleave the two halves' channels
        return out.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class TorchQuantizableShuffleNetV2(nn.Module):
    def __init__(self, repeats, channels, num_classes):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, channels[0], 3, 2, 1, bias=False),
                                   nn.BatchNorm2d(channels[0]), nn.ReLU())
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = channels[0]
        for i, (n, out) in enumerate(zip(repeats, channels[1:4]), 2):
            setattr(self, f"stage{i}", nn.Sequential(
                _TorchQShuffleBlock(cin, out, 2),
                *[_TorchQShuffleBlock(out, out, 1) for _ in range(n - 1)]))
            cin = out
        self.conv5 = nn.Sequential(*_torch_pw_bn_relu(cin, channels[4]))
        self.fc = nn.Linear(channels[4], num_classes)
        self.quant = torch.ao.quantization.QuantStub()
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        x = self.maxpool(self.conv1(self.quant(x)))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        # torchvision takes x.mean([2, 3]); torch 2.13's quantized mean raises on conv
        # outputs ("required rank 4 tensor to use channels_last format"), global average
        # pooling is the same mean
        return self.dequant(self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)))

    def fuse_model(self):
        fuse = torch.ao.quantization.fuse_modules
        fuse(self.conv1, ["0", "1", "2"], inplace=True)
        fuse(self.conv5, ["0", "1", "2"], inplace=True)
        for m in self.modules():
            if isinstance(m, _TorchQShuffleBlock):
                if len(m.branch1) > 0:
                    fuse(m.branch1, [["0", "1"], ["2", "3", "4"]], inplace=True)
                fuse(m.branch2, [["0", "1", "2"], ["3", "4"], ["5", "6", "7"]], inplace=True)
