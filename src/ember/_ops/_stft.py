"""``stft`` and ``istft``: compositions of differentiable ops, no backward of their own.

stft: (reflect-)pad, cut frames with ``unfold`` (a strided view, as PyTorch's as_strided),
multiply by the window, then one batched FFT primitive over the frame axis. istft: the
inverse FFT primitive per frame, multiply by the window, overlap-add the frames (the
adjoint of ``unfold``, PyTorch's ``unfold_backward``) and divide by the overlap-added
squared window. Gradients reach the input and a window that requires grad alike, and
double backward works because every step has one.
"""

from __future__ import annotations

import warnings

from .._warn_once import WARN_ALWAYS
from ..autograd.function import Function
from ._autocast import float32_in_autocast
from ._fft_kernels import FftC2C, FftC2R, FftR2C
from ._util import Tensor, type_name, xp_of

_warned: set = set()  # PyTorch's TORCH_WARN_ONCE: one warning per process and message


def _warn_once(key, message):
    if key not in _warned or WARN_ALWAYS[0]:  # every time after ember.set_warn_always(True)
        _warned.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)


class OverlapAdd(Function):
    """Frames ``(..., T, n_fft)`` summed into a signal ``(..., length)``, frame ``t`` at
    offset ``t * hop``: the adjoint of ``unfold`` (PyTorch's unfold_backward). Within a
    block of ``hop`` columns consecutive frames land on adjacent, non-overlapping spans, so
    the sum is ``ceil(n_fft / hop)`` strided additions, not one per column."""

    _array_io = True
    _node_name = "UnfoldBackwardBackward0"

    @staticmethod
    def forward(ctx, frames, length, hop):
        xp = xp_of(frames)
        lead, (count, n_fft) = frames.shape[:-2], frames.shape[-2:]
        ctx.args = (n_fft, hop)
        out = xp.zeros(lead + (length,), frames.dtype)
        for start in range(0, n_fft, hop):
            width = min(hop, n_fft - start)
            block = frames[..., start:start + width]
            if width < hop:  # the last, narrower block: zero columns keep the spans adjacent
                block = xp.concatenate(
                    [block, xp.zeros(lead + (count, hop - width), frames.dtype)], axis=-1)
            span = min(count * hop, length - start)
            out[..., start:start + span] += block.reshape(lead + (count * hop,))[..., :span]
        return out

    @staticmethod
    def backward(ctx, grad):
        n_fft, hop = ctx.args
        return Frames.apply(grad, n_fft, hop), None, None


class Frames(Function):
    """Frames of ``n_fft`` samples every ``hop`` along the last dim, ``(..., T, n_fft)``,
    as a contiguous copy (the strided view is internal to stft, and the copy is what the
    window product would make anyway). Backward is OverlapAdd: ``ceil(n_fft / hop)`` block
    additions where unfold's generic backward takes one per frame column."""

    _array_io = True
    _node_name = "UnfoldBackward0"

    @staticmethod
    def forward(ctx, x, n_fft, hop):
        ctx.args = (x.shape[-1], hop)
        count = (x.shape[-1] - n_fft) // hop + 1
        shape = x.shape[:-1] + (count, n_fft)
        strides = x.strides[:-1] + (x.strides[-1] * hop, x.strides[-1])
        xp = xp_of(x)
        view = xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)
        return xp.ascontiguousarray(view)

    @staticmethod
    def backward(ctx, grad):
        length, hop = ctx.args
        return OverlapAdd.apply(grad, length, hop), None, None


def _legacy_type(t):
    """PyTorch's legacy type string: torch.FloatTensor, torch.cuda.DoubleTensor, ..."""
    where = "cuda." if t.device.type == "cuda" else ""
    return f"torch.{where}{type_name(t._data.dtype)}Tensor"


def _sizes(t):
    return ", ".join(str(s) for s in t.shape)


def _flag(value):
    return "None" if value is None else str(int(bool(value)))


def _window_repr(window):
    return "None" if window is None else f"{_legacy_type(window)}{{[{_sizes(window)}]}}"


@float32_in_autocast
def stft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None,
         window: Tensor | None = None, center: bool = True, pad_mode: str = "reflect",
         normalized: bool = False, onesided: bool | None = None,
         return_complex: bool | None = None, align_to_window: bool | None = None) -> Tensor:
    """Short-time Fourier transform: the FFT of overlapping windowed frames.

    Args:
        input: ``(L,)`` or ``(B, L)`` signal.
        n_fft: frame length and FFT size.
        hop_length: distance between frame starts (default ``n_fft // 4``).
        win_length: window length (default ``n_fft``); a shorter window is zero-padded on
            both sides to ``n_fft``.
        window: 1-D tensor of ``win_length`` (default: ones, which leaks spectrally).
        center: pad ``n_fft // 2`` on both sides (``pad_mode``) so frame ``t`` is centred
            at ``t * hop_length``.
        normalized: scale by ``n_fft ** -0.5``.
        onesided: keep ``n_fft // 2 + 1`` bins (default for real input and window).
        return_complex: must be given for real input; ``True`` is the supported form.
        align_to_window: with ``center=False``, start each frame where its window starts.

    Shape:
        ``(B?, N, T)`` with ``N`` bins and ``T = 1 + (L' - n_fft) // hop_length`` frames.

    Example::

        >>> x = ember.randn(1000)
        >>> ember.stft(x, 64, window=ember.hann_window(64), return_complex=True).shape
        ember.Size([33, 63])
    """
    if center and align_to_window is not None:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    signal = input
    if center:
        from .resample import pad

        signal_dim = input.dim()
        extended = [1] * (3 - signal_dim) + list(input.shape)
        half = int(n_fft // 2)
        signal = pad(input.view(extended), [half, half], pad_mode)
        signal = signal.view(signal.shape[-signal_dim:])
    hop_length = n_fft >> 2 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    input_complex = signal._data.dtype.kind == "c"
    window_complex = window is not None and window._data.dtype.kind == "c"
    if return_complex is None:
        if not (input_complex or window_complex):
            raise RuntimeError(
                "stft requires the return_complex parameter be given for real inputs, and "
                "will further require that return_complex=True in a future PyTorch release.")
        return_complex = True
    if not return_complex:
        _warn_once("stft_real", (
            "stft with return_complex=False is deprecated. In a future pytorch release, "
            "stft will return complex tensors for all inputs, and return_complex=False will "
            "raise an error.\nNote: you can still call torch.view_as_real on the complex "
            "output to recover the old return format."))
    if window is None:
        _warn_once("stft_window", (
            "A window was not provided. A rectangular window will be applied,which is known "
            "to cause spectral leakage. Other windows such as torch.hann_window or "
            "torch.hamming_window are recommended to reduce spectral leakage.To suppress "
            "this warning and use a rectangular window, explicitly set "
            "`window=torch.ones(n_fft, device=<device>)`."))
    prefix = (f"stft({_legacy_type(signal)}[{_sizes(signal)}], n_fft={n_fft}, "
              f"hop_length={hop_length}, win_length={win_length}, "
              f"window={_window_repr(window)}, normalized={_flag(normalized)}, "
              f"onesided={_flag(onesided)}, return_complex={_flag(return_complex)}, "
              f"align_to_window={_flag(align_to_window)}) : ")
    if signal.dim() not in (1, 2):
        raise RuntimeError(prefix + "expected a 1D or 2D tensor")
    if signal._data.dtype.kind not in "fcV":
        raise RuntimeError(prefix + "expected a tensor of floating point or complex values")
    frames = signal if signal.dim() == 2 else signal.unsqueeze(0)
    length = frames.shape[1]
    if n_fft <= 0 or n_fft > length:
        # (PyTorch prints win_length here)
        raise RuntimeError(prefix + f"expected 0 < n_fft < {length}, but got n_fft={win_length}")
    if hop_length <= 0:
        raise RuntimeError(prefix + f"expected hop_length > 0, but got hop_length={hop_length}")
    if win_length <= 0 or win_length > n_fft:
        raise RuntimeError(
            prefix + f"expected 0 < win_length <= n_fft, but got win_length={win_length}")
    if window is not None and (window.dim() != 1 or window.shape[0] != win_length):
        raise RuntimeError(
            prefix + f"expected a 1D window tensor of size equal to win_length={win_length}, "
            f"but got window with size [{_sizes(window)}]")
    if win_length < n_fft:
        from .resample import pad

        left = (n_fft - win_length) // 2
        if window is None:
            from .creation import ones

            window = ones(win_length, dtype=_real_dtype(signal), device=signal.device)
        window = pad(window, (left, n_fft - win_length - left))
        if align_to_window:
            # frames start where their (centred) window starts: shift the signal by `left`
            frames = pad(frames, (left, n_fft - win_length - left))
    frames = Frames.apply(frames, n_fft, hop_length)
    if window is not None:
        frames = frames * window
    mode = 1 if normalized else 0
    if frames._data.dtype.kind == "c":
        if onesided:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        spectrum = FftC2C.apply(frames, (2,), mode, True)
    else:
        spectrum = FftR2C.apply(frames, (2,), mode, onesided is None or bool(onesided), True)
    spectrum = spectrum.transpose(1, 2)
    if signal.dim() == 1:
        spectrum = spectrum.squeeze(0)
    if not return_complex:
        from .complex import view_as_real

        return view_as_real(spectrum)
    return spectrum


def _real_dtype(t):
    from .._backend import from_numpy_dtype

    return from_numpy_dtype(t._data.real.dtype if t._data.dtype.kind == "c" else t._data.dtype)


def istft(input: Tensor, n_fft: int, hop_length: int | None = None,
          win_length: int | None = None, window: Tensor | None = None, center: bool = True,
          normalized: bool = False, onesided: bool | None = None, length: int | None = None,
          return_complex: bool = False) -> Tensor:
    """Inverse short-time Fourier transform: inverse FFT of each frame, windowed
    overlap-add, divided by the overlap-added squared window (least-squares inversion of
    :func:`stft` with the same arguments).

    Args:
        input: ``(B?, N, T)`` complex spectrogram from ``stft(..., return_complex=True)``.
        length: output length (trimmed or zero-padded); default from the frame count.
        return_complex: the signal is complex (requires a two-sided spectrogram).

    Example::

        >>> x = ember.randn(1000)
        >>> w = ember.hann_window(64)
        >>> spec = ember.stft(x, 64, window=w, return_complex=True)
        >>> ember.istft(spec, 64, window=w, length=1000).sub(x).abs().max() < 1e-5
        tensor(True)
    """
    hop_length = n_fft >> 2 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    if input._data.dtype.kind != "c":
        raise RuntimeError(
            "istft requires a complex-valued input tensor matching the output from stft "
            "with return_complex=True.")
    real_dims = input.dim() + 1  # PyTorch checks the view_as_real of the input
    if real_dims < 3:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-real_dims}, "
                         f"{real_dims - 1}], but got -3)")
    n_frames = input.shape[-1]
    fft_size = input.shape[-2]
    expected_length = n_fft + hop_length * (n_frames - 1)
    where = "CUDA" if input.device.type == "cuda" else "CPU"
    prefix = (f"istft({where}{type_name(input._data.dtype)}Type[{_sizes(input)}], "
              f"n_fft={n_fft}, hop_length={hop_length}, win_length={win_length}, "
              f"window={_window_repr(window)}, center={_flag(center)}, "
              f"normalized={_flag(normalized)}, onesided={_flag(onesided)}, "
              f"length={length}, return_complex={_flag(return_complex)}) ")
    if input.numel() == 0:
        raise RuntimeError(prefix + ": input tensor cannot be empty.")
    if real_dims not in (3, 4):
        raise RuntimeError(prefix + ": expected a tensor with 3 or 4 dimensions of complex "
                           f"dtype, but got {real_dims}")
    onesided = fft_size != n_fft if onesided is None else bool(onesided)
    if onesided and n_fft // 2 + 1 != fft_size:
        raise RuntimeError(
            prefix + ": expected the frequency dimension (3rd to the last) of the input tensor "
            f"to match n_fft / 2 + 1 when onesided=True, but got {fft_size}")
    if not onesided and n_fft != fft_size:
        raise RuntimeError(
            prefix + ": expected the frequency dimension (3rd to the last) of the input tensor "
            f"to match n_fft when onesided=False, but got {fft_size}")
    if not 0 < hop_length <= win_length:
        raise RuntimeError(prefix + ": expected 0 < hop_length <= win_length")
    if not 0 < win_length <= n_fft:
        raise RuntimeError(prefix + ": expected 0 < win_length <= n_fft")
    if window is not None and (window.dim() != 1 or window.shape[0] != win_length):
        raise RuntimeError(
            prefix + ": Invalid window shape. window has to be 1D and length of `win_length`")
    if window is None:
        _warn_once("istft_window", (
            "A window was not provided. A rectangular window will be applied.Please provide "
            "the same window used by stft to make the inversion lossless.To suppress this "
            "warning and use a rectangular window, explicitly set "
            "`window=torch.ones(n_fft, device=<device>)`."))
        from .creation import ones

        window = ones(win_length, dtype=_real_dtype(input), device=input.device)
    if win_length != n_fft:
        from .resample import pad

        left = (n_fft - win_length) // 2
        window = pad(window, (left, n_fft - win_length - left))
    frames = input if real_dims == 4 else input.unsqueeze(0)
    frames = frames.transpose(1, 2)  # (channels, n_frames, fft_size)
    mode = 1 if normalized else 2
    if return_complex:
        if onesided:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        frames = FftC2C.apply(frames, (2,), mode, False)
    else:
        if window._data.dtype.kind == "c":
            raise RuntimeError("Complex windows are incompatible with return_complex=False")
        if not onesided:
            frames = frames.narrow(-1, 0, n_fft // 2 + 1)
        frames = FftC2R.apply(frames, (2,), mode, n_fft, False)
    signal = OverlapAdd.apply(frames * window.view(1, 1, n_fft), expected_length, hop_length)
    envelope = OverlapAdd.apply(window.pow(2).expand(1, n_frames, n_fft), expected_length,
                                hop_length)
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = -(n_fft // 2) if center else expected_length
    signal = signal[:, start:end]
    envelope = envelope[:, start:end]
    if bool((envelope.abs().min() < 1e-11).item()):
        raise RuntimeError(prefix.rstrip() + " window overlap add min: 1")
    signal = signal / envelope
    if real_dims == 3:
        signal = signal.squeeze(0)
    if end > expected_length:
        _warn_once("istft_length", (
            "The length of signal is shorter than the length parameter. Result is being "
            "padded with zeros in the tail. Please check your center and hop_length "
            "settings."))
        from .resample import pad

        signal = pad(signal, (0, end - expected_length))
    return signal
