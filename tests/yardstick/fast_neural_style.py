"""pytorch/examples fast_neural_style, shrunk: the Johnson et al. TransformerNet
(reflection-padded convs, InstanceNorm2d(affine=True), residual blocks, and
nearest-neighbour upsampling followed by a conv instead of a transposed conv) trained
against a frozen VGG-style loss network returned as a namedtuple of relu slices: content
loss on relu2_2, style loss on Gram matrices (features.bmm(features_t) / (ch * h * w)),
plus total variation. Then the stylize path: drop legacy InstanceNorm running-stat keys
from a checkpoint with a regex, load, run under no_grad, clamp to 0..255 and convert to a
uint8 HWC array. Weights come from fixed values; the data are fixed synthetic images."""

import io
import re
from collections import namedtuple

import numpy as np
import torch


def fixed_(module, scale=0.5):
    with torch.no_grad():
        for i, (name, p) in enumerate(module.named_parameters()):
            if name.endswith("bias"):
                p.fill_(0.01 * (i % 3))
            elif p.dim() == 1:
                p.fill_(1.0)
            else:
                fan_in = p[0].numel()
                values = np.sin(np.arange(p.numel()) * 0.713 + i) * scale / np.sqrt(fan_in)
                p.copy_(torch.from_numpy(values.reshape(tuple(p.shape))))
    return module


class ConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super(ConvLayer, self).__init__()
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        out = self.reflection_pad(x)
        out = self.conv2d(out)
        return out


class ResidualBlock(torch.nn.Module):
    """ResidualBlock
    introduced in: https://arxiv.org/abs/1512.03385
    recommended architecture: http://torch.ch/blog/2016/02/04/resnets.html
    """

    def __init__(self, channels):
        super(ResidualBlock, self).__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.relu = torch.nn.ReLU()

    def forward(self, x):
        residual = x
        out = self.relu(self.in1(self.conv1(x)))
        out = self.in2(self.conv2(out))
        out = out + residual
        return out


class UpsampleConvLayer(torch.nn.Module):
    """UpsampleConvLayer
    Upsamples the input and then does a convolution. This method gives better results
    compared to ConvTranspose2d.
    ref: http://distill.pub/2016/deconv-checkerboard/
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
        super(UpsampleConvLayer, self).__init__()
        self.upsample = upsample
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        x_in = x
        if self.upsample:
            x_in = torch.nn.functional.interpolate(x_in, mode='nearest', scale_factor=self.upsample)
        out = self.reflection_pad(x_in)
        out = self.conv2d(out)
        return out


class TransformerNet(torch.nn.Module):
    def __init__(self, width=8):
        super(TransformerNet, self).__init__()
        # Initial convolution layers
        self.conv1 = ConvLayer(3, width, kernel_size=9, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(width, affine=True)
        self.conv2 = ConvLayer(width, width * 2, kernel_size=3, stride=2)
        self.in2 = torch.nn.InstanceNorm2d(width * 2, affine=True)
        self.conv3 = ConvLayer(width * 2, width * 4, kernel_size=3, stride=2)
        self.in3 = torch.nn.InstanceNorm2d(width * 4, affine=True)
        # Residual layers
        self.res1 = ResidualBlock(width * 4)
        self.res2 = ResidualBlock(width * 4)
        # Upsampling Layers
        self.deconv1 = UpsampleConvLayer(width * 4, width * 2, kernel_size=3, stride=1, upsample=2)
        self.in4 = torch.nn.InstanceNorm2d(width * 2, affine=True)
        self.deconv2 = UpsampleConvLayer(width * 2, width, kernel_size=3, stride=1, upsample=2)
        self.in5 = torch.nn.InstanceNorm2d(width, affine=True)
        self.deconv3 = ConvLayer(width, 3, kernel_size=9, stride=1)
        # Non-linearities
        self.relu = torch.nn.ReLU()

    def forward(self, X):
        y = self.relu(self.in1(self.conv1(X)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        y = self.res1(y)
        y = self.res2(y)
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        y = self.deconv3(y)
        return y


class Vgg16(torch.nn.Module):
    """A four-slice VGG-style feature extractor (the example slices a pretrained
    torchvision vgg16; this one has the same shape of code with fixed weights)."""

    def __init__(self, requires_grad=False):
        super(Vgg16, self).__init__()
        features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(inplace=True),
            torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU(inplace=True),
            torch.nn.MaxPool2d(kernel_size=2, stride=2),
            torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(inplace=True),
            torch.nn.MaxPool2d(kernel_size=2, stride=2),
            torch.nn.Conv2d(16, 16, 3, padding=1), torch.nn.ReLU(inplace=True),
            torch.nn.MaxPool2d(kernel_size=2, stride=2),
            torch.nn.Conv2d(16, 16, 3, padding=1), torch.nn.ReLU(inplace=True))
        fixed_(features, scale=1.0)
        self.slice1 = torch.nn.Sequential()
        self.slice2 = torch.nn.Sequential()
        self.slice3 = torch.nn.Sequential()
        self.slice4 = torch.nn.Sequential()
        for x in range(4):
            self.slice1.add_module(str(x), features[x])
        for x in range(4, 7):
            self.slice2.add_module(str(x), features[x])
        for x in range(7, 10):
            self.slice3.add_module(str(x), features[x])
        for x in range(10, 12):
            self.slice4.add_module(str(x), features[x])
        if not requires_grad:
            for param in self.parameters():
                param.requires_grad = False

    def forward(self, X):
        h = self.slice1(X)
        h_relu1_2 = h
        h = self.slice2(h)
        h_relu2_2 = h
        h = self.slice3(h)
        h_relu3_3 = h
        h = self.slice4(h)
        h_relu4_3 = h
        vgg_outputs = namedtuple("VggOutputs", ['relu1_2', 'relu2_2', 'relu3_3', 'relu4_3'])
        out = vgg_outputs(h_relu1_2, h_relu2_2, h_relu3_3, h_relu4_3)
        return out


def gram_matrix(y):
    (b, ch, h, w) = y.size()
    features = y.view(b, ch, w * h)
    features_t = features.transpose(1, 2)
    gram = features.bmm(features_t) / (ch * h * w)
    return gram


def normalize_batch(batch):
    # normalize using imagenet mean and std
    mean = batch.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = batch.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
    batch = batch.div_(255.0)
    return (batch - mean) / std


def total_variation(y):
    return (torch.sum(torch.abs(y[:, :, :, :-1] - y[:, :, :, 1:])) +
            torch.sum(torch.abs(y[:, :, :-1, :] - y[:, :, 1:, :])))


size = 32
grid = np.arange(4 * 3 * size * size).reshape(4, 3, size, size)
content_images = torch.from_numpy((127.5 + 120 * np.sin(grid * 0.0173) * np.cos(grid * 0.0031))
                                  .astype(np.float32))
style = torch.from_numpy((127.5 + 127 * np.sign(np.sin(grid[:1] * 0.41))).astype(np.float32))

transformer = fixed_(TransformerNet())
vgg = Vgg16(requires_grad=False)
print(transformer.res1)
print("trainable:", sum(p.numel() for p in transformer.parameters()),
      "frozen vgg:", all(not p.requires_grad for p in vgg.parameters()))
optimizer = torch.optim.Adam(transformer.parameters(), 5e-5)
mse_loss = torch.nn.MSELoss()
content_weight, style_weight, tv_weight = 1e5, 1e10, 1e-2

batch_size = 2
features_style = vgg(normalize_batch(style.repeat(batch_size, 1, 1, 1)))
print("vgg outputs:", type(features_style).__name__, features_style._fields,
      [tuple(f.shape) for f in features_style])
gram_style = [gram_matrix(y) for y in features_style]
print("gram:", [tuple(g.shape) for g in gram_style],
      "symmetric:", all(torch.allclose(g, g.transpose(1, 2)) for g in gram_style))

with torch.no_grad():
    start = transformer(content_images[:2])
# printed before training only: Adam's first steps are sign-like, so later pixel values
# follow float32 rounding in the tiny gradients and are not comparable between libraries
print(f"untrained output: mean {start.mean().item():.4f} std {start.std().item():.4f}",
      tuple(start.shape))
transformer.train()
for e in range(2):
    agg_content_loss = 0.
    agg_style_loss = 0.
    count = 0
    for batch_id in range(2):
        x = content_images[batch_id * batch_size:(batch_id + 1) * batch_size].clone()
        n_batch = len(x)
        count += n_batch
        optimizer.zero_grad()

        y = transformer(x)

        y = normalize_batch(y)
        x = normalize_batch(x)

        features_y = vgg(y)
        features_x = vgg(x)

        content_loss = content_weight * mse_loss(features_y.relu2_2, features_x.relu2_2)

        style_loss = 0.
        for ft_y, gm_s in zip(features_y, gram_style):
            gm_y = gram_matrix(ft_y)
            style_loss += mse_loss(gm_y, gm_s[:n_batch, :, :])
        style_loss *= style_weight

        tv_loss = tv_weight * total_variation(y)
        total_loss = content_loss + style_loss + tv_loss
        total_loss.backward()
        optimizer.step()

        agg_content_loss += content_loss.item()
        agg_style_loss += style_loss.item()
        mesg = "Epoch {}:\t[{}/{}]\tcontent: {:.6f}\tstyle: {:.6f}\ttotal: {:.6f}".format(
            e + 1, count, len(content_images), agg_content_loss / (batch_id + 1),
            agg_style_loss / (batch_id + 1), (agg_content_loss + agg_style_loss) / (batch_id + 1))
        print(mesg)

print("vgg untouched:", all(p.grad is None for p in vgg.parameters()),
      "instance norms affine:", sum(isinstance(m, torch.nn.InstanceNorm2d) and m.affine
                                    for m in transformer.modules()))

# save, then stylize from a checkpoint that carries old-style InstanceNorm running stats
buffer = io.BytesIO()
state = transformer.state_dict()
state["in1.running_mean"] = torch.zeros(8)
state["res1.in2.running_var"] = torch.ones(32)
torch.save(state, buffer)
buffer.seek(0)
with torch.no_grad():
    style_model = TransformerNet()
    state_dict = torch.load(buffer)
    # remove saved deprecated running_* keys in InstanceNorm from the checkpoint
    for k in list(state_dict.keys()):
        if re.search(r'in\d+\.running_(mean|var)$', k):
            del state_dict[k]
    print("dropped legacy keys:", len(state) - len(state_dict))
    style_model.load_state_dict(state_dict)
    style_model.eval()
    output = style_model(content_images[:1]).cpu()
img = output[0].clone().clamp(0, 255).numpy()
img = img.transpose(1, 2, 0).astype("uint8")
print("stylized:", img.shape, img.dtype, "in 0..255:", 0 <= int(img.min()) <= int(img.max()) <= 255)
print("eval == train (no running stats):",
      torch.allclose(output, transformer(content_images[:1]).detach(), atol=1e-3))
