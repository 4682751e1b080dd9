"""ember.fft: torch.fft's discrete Fourier transforms (filled in by the spectral family)."""

__all__: list = []
