"""torch.fft in a signal-processing program: rfft/irfft low-pass filtering of a noisy
sine, rfftfreq, fftshift, Parseval's identity with fft, FFT convolution (zero-padded,
flipped kernel) equal to F.conv1d, a 2-D FFT blur equal to a circular conv2d, and a
learnable frequency response trained through rfft/irfft by gradient descent. All inputs
are fixed NumPy values."""

import math

import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(2)
n = 256
t = torch.arange(n) / n
clean = torch.sin(2 * math.pi * 5 * t) + 0.5 * torch.sin(2 * math.pi * 12 * t)
noise = torch.from_numpy(rng.standard_normal(n).astype(np.float32)) * 0.4
signal = clean + noise

spectrum = torch.fft.rfft(signal)
freqs = torch.fft.rfftfreq(n, d=1.0 / n)
print("spectrum:", spectrum.shape, spectrum.dtype, "freqs:", freqs[:4].tolist(), freqs.dtype)
peaks = spectrum.abs().topk(2).indices.sort().values
print("strongest bins:", peaks.tolist())
mask = (freqs <= 20).to(spectrum.dtype)
filtered = torch.fft.irfft(spectrum * mask, n=n)
print("filtered:", filtered.shape, filtered.dtype)
print(f"error before {F.mse_loss(signal, clean).item():.5f} after "
      f"{F.mse_loss(filtered, clean).item():.5f}")

full = torch.fft.fft(signal)
energy_time = signal.pow(2).sum()
energy_freq = full.abs().pow(2).sum() / n
print("Parseval:", torch.allclose(energy_time, energy_freq, rtol=1e-4),
      f"{energy_time.item():.3f}")
print("fftshift:", torch.fft.fftshift(torch.fft.fftfreq(6)).tolist())
print("ifft(fft(x)) real:", torch.allclose(torch.fft.ifft(full).real, signal, atol=1e-5))


def fft_conv1d(x, kernel):
    """Cross-correlation (what conv1d computes) through the FFT."""
    length = x.shape[-1] + kernel.shape[-1] - 1
    size = 1 << (length - 1).bit_length()
    x_f = torch.fft.rfft(x, n=size)
    k_f = torch.fft.rfft(kernel.flip(-1), n=size)
    full = torch.fft.irfft(x_f * k_f, n=size)
    k = kernel.shape[-1]
    return full[..., k - 1:x.shape[-1]]


x = torch.from_numpy(rng.standard_normal((2, 1, 100)).astype(np.float32))
kernel = torch.from_numpy(rng.standard_normal((1, 1, 9)).astype(np.float32))
direct = F.conv1d(x, kernel)
via_fft = fft_conv1d(x, kernel)
print("fft conv == conv1d:", direct.shape, torch.allclose(direct, via_fft, atol=1e-4))

image = torch.from_numpy(rng.random((1, 1, 16, 16)).astype(np.float32))
blur = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16
padded_kernel = torch.zeros(16, 16)
padded_kernel[:3, :3] = blur
padded_kernel = torch.roll(padded_kernel, shifts=(-1, -1), dims=(0, 1))
blurred_fft = torch.fft.irfft2(torch.fft.rfft2(image) * torch.fft.rfft2(padded_kernel),
                               s=(16, 16))
circular = F.conv2d(F.pad(image, (1, 1, 1, 1), mode="circular"), blur.view(1, 1, 3, 3))
print("2-D FFT blur == circular conv2d:", torch.allclose(blurred_fft, circular, atol=1e-5))
print(f"blurred mean {blurred_fft.mean().item():.5f} image mean {image.mean().item():.5f}")

# A learnable frequency response: find the gains that turn signal into clean.
gains = torch.ones(n // 2 + 1, requires_grad=True)
optimizer = torch.optim.Adam([gains], lr=0.05)
for step in range(150):
    optimizer.zero_grad()
    out = torch.fft.irfft(torch.fft.rfft(signal) * gains, n=n)
    loss = F.mse_loss(out, clean)
    loss.backward()
    optimizer.step()
    if step % 50 == 49:
        print(f"step {step + 1}: loss {loss.item():.5f}")
print("learned gain at 5 and 12:", f"{gains[5].item():.3f} {gains[12].item():.3f}",
      "at 100:", f"{gains[100].item():.3f}")
print("grad dtype:", gains.grad.dtype, gains.grad.shape)
