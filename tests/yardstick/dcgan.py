"""pytorch/examples' dcgan/main.py with --dataset fake, scaled to 16x16 images: argparse
options, torchvision's FakeData + ToTensor, a DataLoader with worker processes,
Generator/Discriminator classes with ngpu and the data_parallel guard, weights_init via
Module.apply, loading --netG/--netD state_dicts, BCELoss with real/fake labels, two Adam
optimizers, the D and G steps with .detach(), fill_, vutils.save_image of real and fake
samples, and per-epoch torch.save checkpoints.

torchvision cannot import next to the oracle's torch here, so under real PyTorch
the three torchvision names come from a small stand-in; through `ember run`, torchvision
is ember.vision. Images and noise are random, so the numbers printed come from fixed
weights and NumPy noise in eval mode; training prints only what does not depend on the
draws."""

import argparse
import os
import random
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.parallel
import torch.optim as optim
import torch.utils.data

try:
    import torchvision.datasets as dset
    import torchvision.transforms as transforms
    import torchvision.utils as vutils
# the oracle's torchvision (a CUDA build) has no loadable C ops next to the CPU torch:
# its import then fails with RuntimeError
except (ImportError, RuntimeError):  # torch without a usable torchvision
    from PIL import Image

    class transforms:  # noqa: N801 - a namespace standing in for torchvision.transforms
        class ToTensor:
            def __call__(self, pic):
                array = np.asarray(pic, dtype=np.uint8)
                return torch.from_numpy(array.transpose(2, 0, 1).copy()).float().div(255)

    class dset:  # noqa: N801
        class FakeData(torch.utils.data.Dataset):
            def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None):
                self.size, self.image_size, self.transform = size, image_size, transform

            def __len__(self):
                return self.size

            def __getitem__(self, index):
                c, h, w = self.image_size
                pixels = np.random.default_rng(index).integers(0, 256, (h, w, c), dtype=np.uint8)
                return self.transform(Image.fromarray(pixels)), 0

    class vutils:  # noqa: N801
        @staticmethod
        def save_image(tensor, fp, normalize=False, nrow=8):
            image = tensor[0]
            if normalize:
                image = (image - image.min()) / (image.max() - image.min() + 1e-5)
            pixels = (image.clamp(0, 1) * 255).byte().permute(1, 2, 0).cpu().numpy()
            Image.fromarray(pixels).save(fp)

parser = argparse.ArgumentParser()
parser.add_argument("--dataset", default="fake", help="cifar10 | lsun | mnist |imagenet | folder | lfw | fake")
parser.add_argument("--workers", type=int, help="number of data loading workers", default=2)
parser.add_argument("--batchSize", type=int, default=16, help="input batch size")
parser.add_argument("--imageSize", type=int, default=16, help="the height / width of the input image to network")
parser.add_argument("--nz", type=int, default=16, help="size of the latent z vector")
parser.add_argument("--ngf", type=int, default=8)
parser.add_argument("--ndf", type=int, default=8)
parser.add_argument("--niter", type=int, default=2, help="number of epochs to train for")
parser.add_argument("--lr", type=float, default=0.0002, help="learning rate, default=0.0002")
parser.add_argument("--beta1", type=float, default=0.5, help="beta1 for adam. default=0.5")
parser.add_argument("--dry-run", action="store_true", help="check a single training cycle works")
parser.add_argument("--ngpu", type=int, default=1, help="number of GPUs to use")
parser.add_argument("--netG", default="", help="path to netG (to continue training)")
parser.add_argument("--netD", default="", help="path to netD (to continue training)")
parser.add_argument("--outf", default="", help="folder to output images and model checkpoints")
parser.add_argument("--manualSeed", type=int, default=999, help="manual seed")
opt = parser.parse_args()

if not opt.outf:
    opt.outf = tempfile.mkdtemp()
try:
    os.makedirs(opt.outf)
except OSError:
    pass

print("Random Seed: ", opt.manualSeed)
random.seed(opt.manualSeed)
torch.manual_seed(opt.manualSeed)

device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")

if opt.dataset == "fake":
    dataset = dset.FakeData(size=64, image_size=(3, opt.imageSize, opt.imageSize),
                            transform=transforms.ToTensor())
    nc = 3
assert dataset
dataloader = torch.utils.data.DataLoader(dataset, batch_size=opt.batchSize,
                                         shuffle=True, num_workers=int(opt.workers))
ngpu = int(opt.ngpu)
nz = int(opt.nz)
ngf = int(opt.ngf)
ndf = int(opt.ndf)


# custom weights initialization called on netG and netD
def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self, ngpu):
        super(Generator, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            # input is Z, going into a convolution
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            # state size. (ngf*4) x 4 x 4
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # state size. (ngf*2) x 8 x 8
            nn.ConvTranspose2d(ngf * 2, nc, 4, 2, 1, bias=False),
            nn.Tanh()
            # state size. (nc) x 16 x 16
        )

    def forward(self, input):
        if input.is_cuda and self.ngpu > 1:
            output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        else:
            output = self.main(input)
        return output


netG = Generator(ngpu).to(device)
netG.apply(weights_init)
if opt.netG != "":
    netG.load_state_dict(torch.load(opt.netG))
print(netG)


class Discriminator(nn.Module):
    def __init__(self, ngpu):
        super(Discriminator, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            # input is (nc) x 16 x 16
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf) x 8 x 8
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*2) x 4 x 4
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
            nn.Sigmoid()
        )

    def forward(self, input):
        if input.is_cuda and self.ngpu > 1:
            output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        else:
            output = self.main(input)

        return output.view(-1, 1).squeeze(1)


netD = Discriminator(ngpu).to(device)
netD.apply(weights_init)
if opt.netD != "":
    netD.load_state_dict(torch.load(opt.netD))
print(netD)
print("conv weight std near 0.02:", abs(netD.main[0].weight.std().item() - 0.02) < 0.005)

# The deterministic part: fixed weights, NumPy noise, eval mode.
for net, phase in ((netG, 0.0), (netD, 1.0)):
    with torch.no_grad():
        for i, p in enumerate(net.parameters()):
            p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.77 + i + phase).reshape(tuple(p.shape)) * 0.2))
netG.eval()
netD.eval()
fixed_noise = torch.from_numpy(np.random.default_rng(0).standard_normal((opt.batchSize, nz, 1, 1)).astype(np.float32)).to(device)
with torch.no_grad():
    fake = netG(fixed_noise)
    print("G(z):", tuple(fake.shape), f"{fake.mean().item():.5f}", f"{fake.abs().max().item():.5f}")
    print("D(G(z)):", [f"{v:.5f}" for v in netD(fake)[:4].tolist()])
netG.train()
netD.train()

criterion = nn.BCELoss()

real_label = 1
fake_label = 0

# setup optimizer
optimizerD = optim.Adam(netD.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))
optimizerG = optim.Adam(netG.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))

if opt.dry_run:
    opt.niter = 1

for epoch in range(opt.niter):
    for i, data in enumerate(dataloader, 0):
        ############################
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        ###########################
        # train with real
        netD.zero_grad()
        real_cpu = data[0].to(device)
        batch_size = real_cpu.size(0)
        label = torch.full((batch_size,), real_label,
                           dtype=real_cpu.dtype, device=device)

        output = netD(real_cpu)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()

        # train with fake
        noise = torch.randn(batch_size, nz, 1, 1, device=device)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()

        ############################
        # (2) Update G network: maximize log(D(G(z)))
        ###########################
        netG.zero_grad()
        label.fill_(real_label)  # fake labels are real for generator cost
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()

        assert 0 < D_x < 1 and 0 < D_G_z1 < 1 and 0 < D_G_z2 < 1
        print("[%d/%d][%d/%d] losses finite: %s" % (
            epoch, opt.niter, i, len(dataloader),
            bool(torch.isfinite(errD)) and bool(torch.isfinite(errG))))
        if i % 2 == 0:
            vutils.save_image(real_cpu, "%s/real_samples.png" % opt.outf, normalize=True)
            fake = netG(fixed_noise)
            vutils.save_image(fake.detach(), "%s/fake_samples_epoch_%03d.png" % (opt.outf, epoch),
                              normalize=True)

        if opt.dry_run:
            break
    # do checkpointing
    torch.save(netG.state_dict(), "%s/netG_epoch_%d.pth" % (opt.outf, epoch))
    torch.save(netD.state_dict(), "%s/netD_epoch_%d.pth" % (opt.outf, epoch))

print("files:", sorted(os.listdir(opt.outf)))
reloaded = Generator(ngpu).to(device)
reloaded.load_state_dict(torch.load("%s/netG_epoch_%d.pth" % (opt.outf, opt.niter - 1)))
print("reloaded generator matches:", torch.equal(reloaded.main[0].weight, netG.main[0].weight),
      "batches tracked:", int(reloaded.main[1].num_batches_tracked))
