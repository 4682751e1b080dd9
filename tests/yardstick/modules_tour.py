"""A tour of the nn modules that model-zoo code uses and the other scripts do not: a
MobileNetV3/ShuffleNet-style block (depthwise separable convs, Hardswish/Hardsigmoid,
squeeze-excitation with AdaptiveAvgPool2d, ChannelShuffle), a PixelShuffle upsampler,
GroupNorm/InstanceNorm2d(track_running_stats)/LocalResponseNorm, MaxPool2d with
return_indices into MaxUnpool2d, a bidirectional two-layer GRU over packed sequences,
MultiheadAttention with kdim/vdim, add_bias_kv, key_padding_mask and per-head weights,
Bilinear, PReLU, EmbeddingBag(mode="max"), weight_norm/spectral_norm parametrizations,
parameters_to_vector, forward hooks with kwargs, and the reprs users print. Weights come
from fixed values."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parameters_to_vector, vector_to_parameters
from torch.nn.utils.parametrizations import spectral_norm, weight_norm
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence


def fixed_(module, scale=0.3):
    with torch.no_grad():
        for i, (name, p) in enumerate(module.named_parameters()):
            p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.59 + i).reshape(tuple(p.shape)) * scale))
    return module


class SqueezeExcite(nn.Module):
    def __init__(self, channels, reduction=4):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Conv2d(channels, channels // reduction, 1), nn.ReLU(inplace=True),
                                nn.Conv2d(channels // reduction, channels, 1), nn.Hardsigmoid())

    def forward(self, x):
        return x * self.fc(self.pool(x))


class InvertedResidual(nn.Module):
    def __init__(self, cin, expand, cout, stride):
        super().__init__()
        self.use_res = stride == 1 and cin == cout
        self.block = nn.Sequential(
            nn.Conv2d(cin, expand, 1, bias=False), nn.BatchNorm2d(expand), nn.Hardswish(),
            nn.Conv2d(expand, expand, 3, stride, 1, groups=expand, bias=False), nn.BatchNorm2d(expand),
            SqueezeExcite(expand), nn.Hardswish(), nn.ChannelShuffle(2),
            nn.Conv2d(expand, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.block(x)
        return x + out if self.use_res else out


net = fixed_(nn.Sequential(
    nn.Conv2d(3, 8, 3, 2, 1), nn.GroupNorm(2, 8), nn.Hardswish(),
    InvertedResidual(8, 16, 8, 1), InvertedResidual(8, 24, 12, 2),
    nn.Conv2d(12, 12 * 4, 1), nn.PixelShuffle(2), nn.InstanceNorm2d(12, affine=True, track_running_stats=True),
    nn.LocalResponseNorm(3), nn.PReLU(12), nn.AdaptiveMaxPool2d((2, 2)), nn.Flatten(), nn.Linear(48, 5)))
print(net[3])
print(net[6], net[7], net[8], net[9], net[10], sep="\n")
images = torch.from_numpy(np.cos(np.arange(4 * 3 * 16 * 16) * 0.013).reshape(4, 3, 16, 16).astype(np.float32))
shapes = []
handle = net[6].register_forward_hook(lambda m, args, out: shapes.append((tuple(args[0].shape), tuple(out.shape))))
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
target = torch.tensor([0, 1, 2, 3])
for step in range(6):
    loss = F.cross_entropy(net(images), target, label_smoothing=0.1)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 2 == 1:
        print(f"step {step} loss {loss.item():.5f}")
handle.remove()
print("pixel shuffle:", shapes[0], "hook calls:", len(shapes))
print("instance norm stats:", [round(v, 4) for v in net[7].running_mean[:3].tolist()], net[7].num_batches_tracked.item())
net.eval()
with torch.no_grad():
    print("eval logits:", [round(v, 4) for v in net(images)[0].tolist()])
    print("channel_shuffle == F:", torch.equal(nn.ChannelShuffle(2)(images[:, :2].repeat(1, 2, 1, 1)),
                                                F.channel_shuffle(images[:, :2].repeat(1, 2, 1, 1), 2)))
    print("pixel_unshuffle inverts:", torch.equal(F.pixel_unshuffle(F.pixel_shuffle(images[:, :1].repeat(1, 4, 1, 1), 2), 2),
                                                  images[:, :1].repeat(1, 4, 1, 1)))

pool = nn.MaxPool2d(2, stride=2, return_indices=True)
unpool = nn.MaxUnpool2d(2, stride=2)
small = images[:1, :1, :4, :4]
pooled, indices = pool(small)
print("max indices:", indices.flatten().tolist(), "unpooled nonzeros:", int((unpool(pooled, indices) != 0).sum()))
print("unpool output_size:", tuple(unpool(pooled, indices, output_size=(5, 5)).shape))

# bidirectional GRU over packed sequences
seqs = [torch.from_numpy(np.sin(np.arange(L * 3) * 0.3 + L).reshape(L, 3).astype(np.float32)) for L in (5, 3, 2)]
padded = pad_sequence(seqs, batch_first=True)
lengths = torch.tensor([5, 3, 2])
gru = fixed_(nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True, dropout=0.0))
packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=True)
out, h_n = gru(packed)
unpacked, out_lengths = pad_packed_sequence(out, batch_first=True, total_length=6)
print(gru)
print("gru:", tuple(unpacked.shape), tuple(h_n.shape), out_lengths.tolist(), "padding zero:", bool((unpacked[2, 2:] == 0).all()))
print("last forward state == h_n:", torch.allclose(unpacked[torch.arange(3), lengths - 1, :4], h_n[2]),
      "backward state at t=0:", torch.allclose(unpacked[:, 0, 4:], h_n[3]))
(unpacked.sum() + h_n.pow(2).sum()).backward()
print("gru grad norms:", [round(p.grad.norm().item(), 4) for p in list(gru.parameters())[:4]])

# attention with separate key/value sizes, bias_kv, padding mask, per-head weights
mha = fixed_(nn.MultiheadAttention(8, 2, kdim=5, vdim=6, add_bias_kv=True, add_zero_attn=True, batch_first=True))
q = torch.from_numpy(np.cos(np.arange(2 * 3 * 8) * 0.21).reshape(2, 3, 8).astype(np.float32))
k = torch.from_numpy(np.sin(np.arange(2 * 4 * 5) * 0.17).reshape(2, 4, 5).astype(np.float32))
v = torch.from_numpy(np.cos(np.arange(2 * 4 * 6) * 0.11).reshape(2, 4, 6).astype(np.float32))
mask = torch.tensor([[False, False, False, True], [False, False, True, True]])
attn_out, weights = mha(q, k, v, key_padding_mask=mask, need_weights=True, average_attn_weights=False)
print("mha:", tuple(attn_out.shape), tuple(weights.shape), "masked keys get zero:", bool((weights[1, :, :, 2:4] == 0).all()))
print("mha out:", [round(x, 4) for x in attn_out[0, 0].tolist()[:4]], "rows sum to one:", torch.allclose(weights.sum(-1), torch.ones(2, 2, 3)))
print("params:", sorted(n for n, _ in mha.named_parameters()))

bil = fixed_(nn.Bilinear(3, 4, 2))
print(bil, "out:", [round(x, 4) for x in bil(torch.ones(1, 3), torch.ones(1, 4) * 0.5)[0].tolist()])
bag = fixed_(nn.EmbeddingBag(10, 3, mode="max"))
print("bag max:", bag(torch.tensor([1, 2, 4, 5, 4, 3, 2, 9]), torch.tensor([0, 4])).tolist())
bag_sum = fixed_(nn.EmbeddingBag(10, 3, mode="sum", padding_idx=0))
print("bag weighted:", [[round(x, 4) for x in row] for row in bag_sum(torch.tensor([[1, 0, 2], [3, 4, 0]]), per_sample_weights=torch.tensor([[1.0, 2.0, 0.5], [0.5, 1.0, 3.0]])).tolist()])

# weight norm and spectral norm as parametrizations
lin = weight_norm(fixed_(nn.Linear(4, 3)))
print("weight_norm params:", sorted(n for n, _ in lin.named_parameters()))
print("g is row norms:", torch.allclose(lin.parametrizations.weight.original0.squeeze(1), lin.weight.norm(dim=1)))
sn = spectral_norm(fixed_(nn.Linear(4, 4)))
sn.eval()
sigma = torch.linalg.matrix_norm(sn.weight, ord=2).item()
print("spectral norm of weight close to 1:", abs(sigma - 1) < 0.2, "buffers:", sorted(n for n, _ in sn.named_buffers()))
vec = parameters_to_vector(lin.parameters())
print("vector:", tuple(vec.shape), round(vec.sum().item(), 4))
vector_to_parameters(vec * 2, lin.parameters())
print("doubled bias:", [round(x, 4) for x in lin.bias.tolist()])
calls = []
hook = lin.register_forward_pre_hook(lambda m, args, kwargs: calls.append(sorted(kwargs)), with_kwargs=True)
lin(torch.ones(2, 4))
hook.remove()
print("pre-hook kwargs:", calls, "modules:", [n for n, _ in net.named_modules()][:6])
