"""Reference models in real PyTorch for GoogLeNet, Inception v3, ShuffleNet V2, MNASNet,
RegNet, ConvNeXt and Swin V1/V2, written from the papers and torchvision's documented
module layout, so tests can copy their weights into ember's models and compare outputs.

They are deliberately built differently from ember's code where the math allows: Inception
blocks come from a table of named conv chains; RegNet stages come from the paper's tables
(explicit widths and depths, not the quantised-linear rule); the channel shuffle is an index
permutation; Swin attends window by window in a Python loop with the original
slice-assigned region mask.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class ConvBN(nn.Module):
    """conv (no bias) -> BatchNorm(eps 1e-3) -> ReLU, keys ``conv`` and ``bn``."""

    def __init__(self, cin, cout, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


def _imagenet_to_half_scale(x):
    mean = torch.tensor([0.485, 0.456, 0.406], dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], dtype=x.dtype).view(1, 3, 1, 1)
    return (x * std + mean - 0.5) / 0.5


# -- GoogLeNet -----------------------------------------------------------------------------

GOOGLENET_BLOCKS = [  # name, in, 1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5" (a 3x3), pool proj
    ("inception3a", 192, 64, 96, 128, 16, 32, 32),
    ("inception3b", 256, 128, 128, 192, 32, 96, 64),
    ("inception4a", 480, 192, 96, 208, 16, 48, 64),
    ("inception4b", 512, 160, 112, 224, 24, 64, 64),
    ("inception4c", 512, 128, 128, 256, 24, 64, 64),
    ("inception4d", 512, 112, 144, 288, 32, 64, 64),
    ("inception4e", 528, 256, 160, 320, 32, 128, 128),
    ("inception5a", 832, 256, 160, 320, 32, 128, 128),
    ("inception5b", 832, 384, 192, 384, 48, 128, 128),
]


class TorchInceptionV1(nn.Module):
    def __init__(self, cin, c1, c3r, c3, c5r, c5, pool):
        super().__init__()
        self.branch1 = ConvBN(cin, c1, 1)
        self.branch2 = nn.Sequential(ConvBN(cin, c3r, 1), ConvBN(c3r, c3, 3, padding=1))
        self.branch3 = nn.Sequential(ConvBN(cin, c5r, 1), ConvBN(c5r, c5, 3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), ConvBN(cin, pool, 1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class TorchGoogLeNetAux(nn.Module):
    def __init__(self, cin, num_classes, dropout):
        super().__init__()
        self.p = dropout
        self.conv = ConvBN(cin, 128, 1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.conv(F.adaptive_avg_pool2d(x, 4)).flatten(1)
        return self.fc2(F.dropout(torch.relu(self.fc1(x)), self.p, self.training))


class TorchGoogLeNet(nn.Module):
    def __init__(self, num_classes=1000, aux_logits=True, transform_input=False, dropout=0.2,
                 dropout_aux=0.7):
        super().__init__()
        self.transform_input = transform_input
        self.dropout, self.dropout_aux = dropout, dropout_aux
        self.conv1 = ConvBN(3, 64, 7, 2, 3)
        self.conv2 = ConvBN(64, 64, 1)
        self.conv3 = ConvBN(64, 192, 3, padding=1)
        for name, *cfg in GOOGLENET_BLOCKS:
            setattr(self, name, TorchInceptionV1(*cfg))
        self.aux1 = TorchGoogLeNetAux(512, num_classes, dropout_aux) if aux_logits else None
        self.aux2 = TorchGoogLeNetAux(528, num_classes, dropout_aux) if aux_logits else None
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x):
        """Returns (logits, aux2, aux1); the aux outputs are None in eval mode."""
        if self.transform_input:
            x = _imagenet_to_half_scale(x)
        pool = lambda t, k=3: F.max_pool2d(t, k, 2, ceil_mode=True)
        x = pool(self.conv3(self.conv2(pool(self.conv1(x)))))
        x = pool(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.training and self.aux1 is not None else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.training and self.aux2 is not None else None
        x = pool(self.inception4e(x), 2)
        x = self.inception5b(self.inception5a(x)).mean((2, 3))
        return self.fc(F.dropout(x, self.dropout, self.training)), aux2, aux1


# -- Inception v3: blocks from a table of named conv chains -------------------------------

def _conv_table(kind, cin, extra):
    """(name, in, out, kernel, stride, padding) per conv, and the branch recipe: a list of
    paths, each a list of steps (a conv name, a pair of names run in parallel and
    concatenated, or 'avg'/'max' pooling)."""
    if kind == "A":
        convs = [("branch1x1", cin, 64, 1, 1, 0), ("branch5x5_1", cin, 48, 1, 1, 0),
                 ("branch5x5_2", 48, 64, 5, 1, 2), ("branch3x3dbl_1", cin, 64, 1, 1, 0),
                 ("branch3x3dbl_2", 64, 96, 3, 1, 1), ("branch3x3dbl_3", 96, 96, 3, 1, 1),
                 ("branch_pool", cin, extra, 1, 1, 0)]
        paths = [["branch1x1"], ["branch5x5_1", "branch5x5_2"],
                 ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"], ["avg", "branch_pool"]]
    elif kind == "B":
        convs = [("branch3x3", cin, 384, 3, 2, 0), ("branch3x3dbl_1", cin, 64, 1, 1, 0),
                 ("branch3x3dbl_2", 64, 96, 3, 1, 1), ("branch3x3dbl_3", 96, 96, 3, 2, 0)]
        paths = [["branch3x3"], ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"], ["max"]]
    elif kind == "C":
        c7, h, v = extra, ((1, 7), (0, 3)), ((7, 1), (3, 0))
        convs = [("branch1x1", cin, 192, 1, 1, 0), ("branch7x7_1", cin, c7, 1, 1, 0),
                 ("branch7x7_2", c7, c7, h[0], 1, h[1]), ("branch7x7_3", c7, 192, v[0], 1, v[1]),
                 ("branch7x7dbl_1", cin, c7, 1, 1, 0), ("branch7x7dbl_2", c7, c7, v[0], 1, v[1]),
                 ("branch7x7dbl_3", c7, c7, h[0], 1, h[1]),
                 ("branch7x7dbl_4", c7, c7, v[0], 1, v[1]),
                 ("branch7x7dbl_5", c7, 192, h[0], 1, h[1]), ("branch_pool", cin, 192, 1, 1, 0)]
        paths = [["branch1x1"], ["branch7x7_1", "branch7x7_2", "branch7x7_3"],
                 [f"branch7x7dbl_{i}" for i in range(1, 6)], ["avg", "branch_pool"]]
    elif kind == "D":
        convs = [("branch3x3_1", cin, 192, 1, 1, 0), ("branch3x3_2", 192, 320, 3, 2, 0),
                 ("branch7x7x3_1", cin, 192, 1, 1, 0),
                 ("branch7x7x3_2", 192, 192, (1, 7), 1, (0, 3)),
                 ("branch7x7x3_3", 192, 192, (7, 1), 1, (3, 0)),
                 ("branch7x7x3_4", 192, 192, 3, 2, 0)]
        paths = [["branch3x3_1", "branch3x3_2"], [f"branch7x7x3_{i}" for i in range(1, 5)],
                 ["max"]]
    else:  # "E"
        convs = [("branch1x1", cin, 320, 1, 1, 0), ("branch3x3_1", cin, 384, 1, 1, 0),
                 ("branch3x3_2a", 384, 384, (1, 3), 1, (0, 1)),
                 ("branch3x3_2b", 384, 384, (3, 1), 1, (1, 0)),
                 ("branch3x3dbl_1", cin, 448, 1, 1, 0), ("branch3x3dbl_2", 448, 384, 3, 1, 1),
                 ("branch3x3dbl_3a", 384, 384, (1, 3), 1, (0, 1)),
                 ("branch3x3dbl_3b", 384, 384, (3, 1), 1, (1, 0)),
                 ("branch_pool", cin, 192, 1, 1, 0)]
        paths = [["branch1x1"], ["branch3x3_1", ("branch3x3_2a", "branch3x3_2b")],
                 ["branch3x3dbl_1", "branch3x3dbl_2", ("branch3x3dbl_3a", "branch3x3dbl_3b")],
                 ["avg", "branch_pool"]]
    return convs, paths


class TorchMixed(nn.Module):
    def __init__(self, kind, cin, extra=None):
        super().__init__()
        convs, self.paths = _conv_table(kind, cin, extra)
        for name, ci, co, k, s, p in convs:
            setattr(self, name, ConvBN(ci, co, k, s, p))

    def _step(self, step, x):
        if step == "avg":
            return F.avg_pool2d(x, 3, 1, 1)
        if step == "max":
            return F.max_pool2d(x, 3, 2)
        if isinstance(step, tuple):
            return torch.cat([getattr(self, s)(x) for s in step], 1)
        return getattr(self, step)(x)

    def forward(self, x):
        outs = []
        for path in self.paths:
            y = x
            for step in path:
                y = self._step(step, y)
            outs.append(y)
        return torch.cat(outs, 1)


class TorchInceptionV3(nn.Module):
    def __init__(self, num_classes=1000, aux_logits=True, transform_input=False, dropout=0.5):
        super().__init__()
        self.transform_input, self.dropout = transform_input, dropout
        self.Conv2d_1a_3x3 = ConvBN(3, 32, 3, 2)
        self.Conv2d_2a_3x3 = ConvBN(32, 32, 3)
        self.Conv2d_2b_3x3 = ConvBN(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = ConvBN(64, 80, 1)
        self.Conv2d_4a_3x3 = ConvBN(80, 192, 3)
        blocks = [("Mixed_5b", "A", 192, 32), ("Mixed_5c", "A", 256, 64),
                  ("Mixed_5d", "A", 288, 64), ("Mixed_6a", "B", 288, None),
                  ("Mixed_6b", "C", 768, 128), ("Mixed_6c", "C", 768, 160),
                  ("Mixed_6d", "C", 768, 160), ("Mixed_6e", "C", 768, 192)]
        for name, kind, cin, extra in blocks:
            setattr(self, name, TorchMixed(kind, cin, extra))
        self.AuxLogits = None
        if aux_logits:
            self.AuxLogits = nn.Module()
            self.AuxLogits.conv0 = ConvBN(768, 128, 1)
            self.AuxLogits.conv1 = ConvBN(128, 768, 5)
            self.AuxLogits.fc = nn.Linear(768, num_classes)
        self.Mixed_7a = TorchMixed("D", 768)
        self.Mixed_7b = TorchMixed("E", 1280)
        self.Mixed_7c = TorchMixed("E", 2048)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x):
        """Returns (logits, aux); aux is None in eval mode."""
        if self.transform_input:
            x = _imagenet_to_half_scale(x)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(F.max_pool2d(x, 3, 2)))
        x = F.max_pool2d(x, 3, 2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e"):
            x = getattr(self, f"Mixed_{name}")(x)
        aux = None
        if self.training and self.AuxLogits is not None:
            a = self.AuxLogits.conv1(self.AuxLogits.conv0(F.avg_pool2d(x, 5, 3)))
            aux = self.AuxLogits.fc(a.mean((2, 3)))
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x))).mean((2, 3))
        return self.fc(F.dropout(x, self.dropout, self.training)), aux


# -- ShuffleNet V2 and MNASNet -------------------------------------------------------------

class TorchShuffleUnit(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        half = cout // 2
        self.stride = stride
        self.branch1 = nn.Sequential()
        if stride == 2:
            self.branch1 = nn.Sequential(
                nn.Conv2d(cin, cin, 3, 2, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
                nn.Conv2d(cin, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU())
        self.branch2 = nn.Sequential(
            nn.Conv2d(cin if stride == 2 else half, half, 1, bias=False), nn.BatchNorm2d(half),
            nn.ReLU(), nn.Conv2d(half, half, 3, stride, 1, groups=half, bias=False),
            nn.BatchNorm2d(half), nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half),
            nn.ReLU())

    def forward(self, x):
        if self.stride == 1:
            half = x.shape[1] // 2
            out = torch.cat([x[:, :half], self.branch2(x[:, half:])], 1)
        else:
            out = torch.cat([self.branch1(x), self.branch2(x)], 1)
        channels = out.shape[1]
        # output channel 2i is input channel i, 2i+1 is channels/2 + i
        order = torch.arange(channels).view(2, channels // 2).t().reshape(-1)
        return out[:, order]


class TorchShuffleNetV2(nn.Module):
    def __init__(self, widths, num_classes=1000, repeats=(4, 8, 4)):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, widths[0], 3, 2, 1, bias=False),
                                   nn.BatchNorm2d(widths[0]), nn.ReLU())
        cin = widths[0]
        for i, (n, w) in enumerate(zip(repeats, widths[1:4]), 2):
            setattr(self, f"stage{i}", nn.Sequential(
                TorchShuffleUnit(cin, w, 2), *[TorchShuffleUnit(w, w, 1) for _ in range(n - 1)]))
            cin = w
        self.conv5 = nn.Sequential(nn.Conv2d(cin, widths[4], 1, bias=False),
                                   nn.BatchNorm2d(widths[4]), nn.ReLU())
        self.fc = nn.Linear(widths[4], num_classes)

    def forward(self, x):
        x = F.max_pool2d(self.conv1(x), 3, 2, 1)
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean((2, 3)))


MNASNET_STAGES = [(3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4),
                  (3, 1, 6, 1)]  # kernel, first stride, expansion, repeats


class TorchMBlock(nn.Module):
    def __init__(self, cin, cout, k, stride, t):
        super().__init__()
        mid = cin * t
        self.residual = cin == cout and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
            nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False), nn.BatchNorm2d(mid),
            nn.ReLU(), nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return self.layers(x) + x if self.residual else self.layers(x)


class TorchMNASNet(nn.Module):
    """``depths``: the 8 widths (stem, stem out, six stages)."""

    _version = 2

    def __init__(self, depths, num_classes=1000):
        super().__init__()
        d = depths
        layers = [nn.Conv2d(3, d[0], 3, 2, 1, bias=False), nn.BatchNorm2d(d[0]), nn.ReLU(),
                  nn.Conv2d(d[0], d[0], 3, 1, 1, groups=d[0], bias=False), nn.BatchNorm2d(d[0]),
                  nn.ReLU(), nn.Conv2d(d[0], d[1], 1, bias=False), nn.BatchNorm2d(d[1])]
        for (k, s, t, n), cin, cout in zip(MNASNET_STAGES, d[1:7], d[2:8]):
            layers.append(nn.Sequential(TorchMBlock(cin, cout, k, s, t),
                                        *[TorchMBlock(cout, cout, k, 1, t) for _ in range(n - 1)]))
        layers += [nn.Conv2d(d[7], 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU()]
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x):
        return self.classifier(self.layers(x).mean((2, 3)))


# -- RegNet from the paper's tables --------------------------------------------------------

# (stage depths, stage widths, group width, se ratio), from the RegNet paper's appendix.
REGNET_TABLE = {
    "regnet_x_400mf": ([1, 2, 7, 12], [32, 64, 160, 400], 16, None),
    "regnet_y_400mf": ([1, 3, 6, 6], [48, 104, 208, 440], 8, 0.25),
}


class TorchSE(nn.Module):
    def __init__(self, channels, squeeze):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean((2, 3), keepdim=True)))))


def _cbr(cin, cout, k, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU()) if act else nn.Sequential(*layers)


class TorchRegNetBlock(nn.Module):
    def __init__(self, cin, cout, stride, group_width, se_ratio):
        super().__init__()
        self.proj = _cbr(cin, cout, 1, stride, act=False) if cin != cout or stride != 1 else None
        self.f = nn.Sequential()
        self.f.add_module("a", _cbr(cin, cout, 1))
        self.f.add_module("b", _cbr(cout, cout, 3, stride, groups=cout // group_width))
        if se_ratio:
            self.f.add_module("se", TorchSE(cout, round(se_ratio * cin)))
        self.f.add_module("c", _cbr(cout, cout, 1, act=False))

    def forward(self, x):
        return torch.relu((x if self.proj is None else self.proj(x)) + self.f(x))


class TorchRegNet(nn.Module):
    def __init__(self, name, num_classes=1000):
        super().__init__()
        depths, widths, group_width, se_ratio = REGNET_TABLE[name]
        self.stem = _cbr(3, 32, 3, 2)
        self.trunk_output = nn.Sequential()
        cin = 32
        for i, (depth, width) in enumerate(zip(depths, widths), 1):
            stage = nn.Sequential()
            for j in range(depth):
                stage.add_module(f"block{i}-{j}", TorchRegNetBlock(
                    cin if j == 0 else width, width, 2 if j == 0 else 1, group_width, se_ratio))
            self.trunk_output.add_module(f"block{i}", stage)
            cin = width
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(self.trunk_output(self.stem(x)).mean((2, 3)))


# -- ConvNeXt ------------------------------------------------------------------------------

class Perm(nn.Module):
    def __init__(self, *dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(*self.dims)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over dim 1 of NCHW, written out (mean and biased variance)."""

    def __init__(self, channels, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x):
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class TorchCNBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(dim, dim, 7, padding=3, groups=dim), Perm(0, 2, 3, 1),
                                   nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, 4 * dim),
                                   nn.GELU(), nn.Linear(4 * dim, dim), Perm(0, 3, 1, 2))
        self.layer_scale = nn.Parameter(torch.rand(dim, 1, 1) + 0.5)

    def forward(self, x):
        return x + self.layer_scale * self.block(x)


class TorchConvNeXt(nn.Module):
    def __init__(self, widths, depths, num_classes=1000):
        super().__init__()
        layers = [nn.Sequential(nn.Conv2d(3, widths[0], 4, 4), ChannelLayerNorm(widths[0]))]
        for i, (w, d) in enumerate(zip(widths, depths)):
            layers.append(nn.Sequential(*[TorchCNBlock(w) for _ in range(d)]))
            if i + 1 < len(widths):
                layers.append(nn.Sequential(ChannelLayerNorm(w),
                                            nn.Conv2d(w, widths[i + 1], 2, 2)))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(ChannelLayerNorm(widths[-1]), nn.Flatten(1),
                                        nn.Linear(widths[-1], num_classes))

    def forward(self, x):
        return self.classifier(self.features(x).mean((2, 3), keepdim=True))


# -- Swin V1 / V2: window by window ------------------------------------------------------------

def _region_ids(height, width, window, shift):
    """Original Swin mask construction: label the three bands of each axis by slicing."""
    ids = torch.zeros(height, width)
    count = 0
    for hs in (slice(0, -window[0]), slice(-window[0], -shift[0]), slice(-shift[0], None)):
        for ws in (slice(0, -window[1]), slice(-window[1], -shift[1]), slice(-shift[1], None)):
            ids[hs, ws] = count
            count += 1
    return ids


class TorchWindowAttention(nn.Module):
    def __init__(self, dim, heads, window, shift, v2):
        super().__init__()
        self.heads, self.window, self.shift, self.v2 = heads, window, shift, v2
        wh, ww = window
        if v2:
            self.logit_scale = nn.Parameter(torch.log(10 * torch.ones(heads, 1, 1)))
            ch = torch.arange(-(wh - 1), wh, dtype=torch.float32) / (wh - 1) * 8
            cw = torch.arange(-(ww - 1), ww, dtype=torch.float32) / (ww - 1) * 8
            grid = torch.stack(torch.meshgrid(ch, cw, indexing="ij"), -1)[None]
            self.register_buffer("relative_coords_table",
                                 torch.sign(grid) * torch.log2(grid.abs() + 1.0) / 3.0)
        else:
            self.relative_position_bias_table = nn.Parameter(
                torch.randn((2 * wh - 1) * (2 * ww - 1), heads) * 0.02)
        index = [(i // ww - j // ww + wh - 1) * (2 * ww - 1) + (i % ww - j % ww + ww - 1)
                 for i in range(wh * ww) for j in range(wh * ww)]
        self.register_buffer("relative_position_index", torch.tensor(index))
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        if v2:
            self.cpb_mlp = nn.Sequential(nn.Linear(2, 512), nn.ReLU(),
                                         nn.Linear(512, heads, bias=False))

    def _bias(self):
        n = self.window[0] * self.window[1]
        table = self.cpb_mlp(self.relative_coords_table).view(-1, self.heads) if self.v2 \
            else self.relative_position_bias_table
        bias = table[self.relative_position_index].view(n, n, -1).permute(2, 0, 1)
        return 16 * torch.sigmoid(bias) if self.v2 else bias

    def forward(self, x):
        b, h, w, c = x.shape
        wh, ww = self.window
        x = F.pad(x, (0, 0, 0, (-w) % ww, 0, (-h) % wh))
        ph, pw = x.shape[1], x.shape[2]
        shift = [0 if wh >= ph else self.shift[0], 0 if ww >= pw else self.shift[1]]
        if any(shift):
            x = torch.roll(x, (-shift[0], -shift[1]), (1, 2))
            ids = _region_ids(ph, pw, self.window, shift)
        qkv_bias = self.qkv.bias
        if self.v2:
            qkv_bias = qkv_bias * torch.cat([torch.ones(c), torch.zeros(c), torch.ones(c)])
        bias, d = self._bias(), c // self.heads
        out = torch.zeros_like(x)
        for i in range(0, ph, wh):
            for j in range(0, pw, ww):
                win = x[:, i:i + wh, j:j + ww].reshape(b, wh * ww, c)
                q, k, v = F.linear(win, self.qkv.weight, qkv_bias).view(
                    b, wh * ww, 3, self.heads, d).permute(2, 0, 3, 1, 4)
                if self.v2:
                    scale = torch.clamp(self.logit_scale, max=math.log(100.0)).exp()
                    att = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-1, -2)
                    att = att * scale
                else:
                    att = (q @ k.transpose(-1, -2)) / math.sqrt(d)
                att = att + bias
                if any(shift):
                    r = ids[i:i + wh, j:j + ww].reshape(-1)
                    att = att + (r[None, :] != r[:, None]).to(att.dtype) * -100.0
                y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, wh * ww, c)
                out[:, i:i + wh, j:j + ww] = self.proj(y).view(b, wh, ww, c)
        if any(shift):
            out = torch.roll(out, (shift[0], shift[1]), (1, 2))
        return out[:, :h, :w]


class TorchSwinBlock(nn.Module):
    def __init__(self, dim, heads, window, shift, v2):
        super().__init__()
        self.v2 = v2
        self.norm1 = nn.LayerNorm(dim)
        self.attn = TorchWindowAttention(dim, heads, window, shift, v2)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(0.0),
                                 nn.Linear(4 * dim, dim), nn.Dropout(0.0))

    def forward(self, x):
        if self.v2:
            x = x + self.norm1(self.attn(x))
            return x + self.norm2(self.mlp(x))
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TorchPatchMerging(nn.Module):
    def __init__(self, dim, v2):
        super().__init__()
        self.v2 = v2
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(2 * dim if v2 else 4 * dim)

    def forward(self, x):
        h, w = x.shape[1], x.shape[2]
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.norm(self.reduction(x)) if self.v2 else self.reduction(self.norm(x))


class TorchSwin(nn.Module):
    def __init__(self, embed_dim, depths, heads, window, num_classes=1000, v2=False):
        super().__init__()
        layers = [nn.Sequential(nn.Conv2d(3, embed_dim, 4, 4), Perm(0, 2, 3, 1),
                                nn.LayerNorm(embed_dim))]
        for s, (depth, nh) in enumerate(zip(depths, heads)):
            dim = embed_dim * 2 ** s
            layers.append(nn.Sequential(*[
                TorchSwinBlock(dim, nh, window, [0, 0] if i % 2 == 0 else
                               [window[0] // 2, window[1] // 2], v2) for i in range(depth)]))
            if s + 1 < len(depths):
                layers.append(TorchPatchMerging(dim, v2))
        self.features = nn.Sequential(*layers)
        dim = embed_dim * 2 ** (len(depths) - 1)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        return self.head(self.norm(self.features(x)).mean((1, 2)))


# -- MaxViT: attention group by group (windows are blocks, grids are strided slices) ----------

def _bn3(c):
    return nn.BatchNorm2d(c, eps=1e-3)


class TorchMaxVitAttention(nn.Module):
    def __init__(self, dim, head_dim, size):
        super().__init__()
        self.heads, self.dim = dim // head_dim, dim
        self.relative_position_bias_table = nn.Parameter(
            torch.randn((2 * size - 1) ** 2, self.heads) * 0.02)
        n = size * size
        index = [[(i // size - j // size + size - 1) * (2 * size - 1)
                  + (i % size - j % size + size - 1) for j in range(n)] for i in range(n)]
        self.register_buffer("relative_position_index", torch.tensor(index))
        self.to_qkv = nn.Linear(dim, 3 * dim)
        self.merge = nn.Linear(dim, dim)

    def forward(self, tokens):  # (B, T, C)
        b, t, c = tokens.shape
        q, k, v = self.to_qkv(tokens).view(b, t, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        bias = self.relative_position_bias_table[self.relative_position_index].permute(2, 0, 1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.dim) + bias
        return self.merge((att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, c))


class TorchPartitionAttention(nn.Module):
    def __init__(self, dim, head_dim, partition, grid):
        super().__init__()
        self.partition, self.grid = partition, grid
        self.attn_layer = nn.Sequential(nn.LayerNorm(dim),
                                        TorchMaxVitAttention(dim, head_dim, partition))
        self.mlp_layer = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 4 * dim), nn.GELU(),
                                       nn.Linear(4 * dim, dim))

    def forward(self, x):
        p, out = self.partition, x.clone()
        stride = x.shape[2] // p
        for a in range(stride):
            for c in range(stride):
                if self.grid:  # every stride-th pixel, offset (a, c)
                    index = (slice(None), slice(None), slice(a, None, stride),
                             slice(c, None, stride))
                else:
                    index = (slice(None), slice(None), slice(a * p, (a + 1) * p),
                             slice(c * p, (c + 1) * p))
                tokens = x[index].flatten(2).transpose(1, 2)
                tokens = tokens + self.attn_layer(tokens)
                tokens = tokens + self.mlp_layer(tokens)
                out[index] = tokens.transpose(1, 2).reshape(out[index].shape)
        return out


class TorchMBConvV(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        mid, sq = 4 * cout, cout // 4
        self.proj = None
        if stride == 2:
            self.proj = nn.Sequential(nn.AvgPool2d(3, 2, 1), nn.Conv2d(cin, cout, 1))
        elif cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1))
        self.layers = nn.Sequential()
        self.layers.add_module("pre_norm", _bn3(cin))
        self.layers.add_module("conv_a", nn.Sequential(nn.Conv2d(cin, mid, 1, bias=False),
                                                       _bn3(mid), nn.GELU()))
        self.layers.add_module("conv_b", nn.Sequential(
            nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), _bn3(mid), nn.GELU()))
        se = nn.Module()
        se.fc1, se.fc2 = nn.Conv2d(mid, sq, 1), nn.Conv2d(sq, mid, 1)
        self.layers.add_module("squeeze_excitation", se)
        self.layers.add_module("conv_c", nn.Conv2d(mid, cout, 1))

    def forward(self, x):
        shortcut = x if self.proj is None else self.proj(x)
        y = self.layers.conv_b(self.layers.conv_a(self.layers.pre_norm(x)))
        se = self.layers.squeeze_excitation
        y = y * torch.sigmoid(se.fc2(F.silu(se.fc1(y.mean((2, 3), keepdim=True)))))
        return shortcut + self.layers.conv_c(y)


class TorchMaxVit(nn.Module):
    def __init__(self, stem, channels, layers, head_dim, partition, num_classes):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Sequential(nn.Conv2d(3, stem, 3, 2, 1, bias=False), _bn3(stem), nn.GELU()),
            nn.Sequential(nn.Conv2d(stem, stem, 3, 1, 1)))
        self.blocks = nn.ModuleList()
        cin = stem
        for cout, n in zip(channels, layers):
            block = nn.Module()
            block.layers = nn.ModuleList()
            for i in range(n):
                layer = nn.Module()
                layer.layers = nn.Sequential()
                layer.layers.add_module("MBconv", TorchMBConvV(cin if i == 0 else cout, cout,
                                                               2 if i == 0 else 1))
                layer.layers.add_module("window_attention",
                                        TorchPartitionAttention(cout, head_dim, partition, False))
                layer.layers.add_module("grid_attention",
                                        TorchPartitionAttention(cout, head_dim, partition, True))
                block.layers.append(layer)
            self.blocks.append(block)
            cin = cout
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                        nn.LayerNorm(cin), nn.Linear(cin, cin), nn.Tanh(),
                                        nn.Linear(cin, num_classes, bias=False))

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            for layer in block.layers:
                x = layer.layers(x)
        return self.classifier(x)
