"""HistogramObserver: the range that minimises the quantization error of a histogram.

It keeps a 2048-bin histogram of everything seen (re-binned when the range grows) and,
when asked for parameters, narrows the range from either end while the L2 error of
quantizing the histogram's mass to 256 levels keeps falling. This is PyTorch's default
activation observer for static quantization (``get_default_qconfig('x86')``), so its
arithmetic follows PyTorch's step for step in float32: the chosen range decides every
activation scale of a converted model.
"""

from __future__ import annotations

import warnings

import numpy as np

import ember

from .observer import _EPS, UniformQuantizationObserverBase

__all__ = ["HistogramObserver"]


def _linspace_f32(start, end, steps, device=None):
    """float32 linspace as PyTorch's CPU kernel rounds it: a float32 step, the first half
    counted up from ``start`` and the second down from ``end``, each point one fused
    multiply-add (exact here in float64). Bucket boundaries decide which bin a
    re-binned histogram's mass lands in, so the last bit matters."""
    start, end = float(np.float32(start)), float(np.float32(end))
    step = float(np.float32((np.float32(end) - np.float32(start)) / np.float32(steps - 1))) \
        if steps > 1 else 0.0
    index = ember.arange(steps, dtype=ember.float64, device=device)
    half = steps // 2
    up = start + step * index
    down = end - step * (steps - 1 - index)
    return ember.where(index < half, up, down).to(ember.float32)


def _histc_f32(x, bins, low, high):
    """histc as PyTorch's kernel bins: ``(x - low) * bins / (high - low)`` in float32,
    truncated, the top edge folded into the last bin, values outside dropped (ember's
    general histc may round a boundary value into the neighbouring bin)."""
    low_t = ember.tensor(low, dtype=ember.float32, device=x.device)
    high_t = ember.tensor(high, dtype=ember.float32, device=x.device)
    values = x.flatten().to(ember.float32)
    if float(high_t) == float(low_t) and values.numel():  # as histc: the data's range,
        low_t, high_t = values.min(), values.max()  # widened by one if a single value
    if float(high_t) == float(low_t):
        low_t, high_t = low_t - 1, high_t + 1
    values = values[(values >= low_t) & (values <= high_t)]
    position = ((values - low_t) * float(bins) / (high_t - low_t)).long()
    position = ember.clamp(position, 0, bins - 1)
    return ember.bincount(position, minlength=bins).to(ember.float32)


class HistogramObserver(UniformQuantizationObserverBase):
    """Histogram of the values seen; ``calculate_qparams`` searches its best range."""

    __module__ = "ember.ao.quantization.observer"  # where users import it from

    def __init__(self, bins=2048, dtype=None, qscheme=None, reduce_range=False,
                 quant_min=None, quant_max=None, factory_kwargs=None, eps=_EPS,
                 is_dynamic=False, **kwargs):
        if is_dynamic:
            raise NotImplementedError(
                "HistogramObserver doesn't support dynamic quantization")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max, eps=eps,
                         is_dynamic=is_dynamic)
        self.bins = bins
        self.register_buffer("histogram", ember.zeros(self.bins))
        self.register_buffer("min_val", ember.tensor(float("inf")))
        self.register_buffer("max_val", ember.tensor(float("-inf")))
        self.dst_nbins = 2 ** {ember.qint32: 32, ember.int32: 32, ember.uint16: 16,
                               ember.int16: 16}.get(self.dtype, 8)
        self.upsample_rate = 16  # finer grid when re-binning an old histogram

    # -- the error of quantizing the histogram between two bins ---------------------------

    @staticmethod
    def _get_norm(delta_begin, delta_end, density):
        """Integral of x**2 over [delta_begin, delta_end] times the bin density."""
        norm = (delta_end * delta_end * delta_end - delta_begin * delta_begin * delta_begin) / 3
        return density * norm

    def _compute_quantization_error(self, next_start_bin, next_end_bin):
        bin_width = (self.max_val.item() - self.min_val.item()) / self.bins
        dst_bin_width = bin_width * (next_end_bin - next_start_bin + 1) / self.dst_nbins
        if dst_bin_width == 0.0:
            return 0.0
        device = self.histogram.device
        src_bin = ember.arange(self.bins, device=device)
        src_bin_begin = (src_bin - next_start_bin) * bin_width
        src_bin_end = src_bin_begin + bin_width
        last = self.dst_nbins - 1
        dst_bin_of_begin = ember.clamp(
            ember.div(src_bin_begin, dst_bin_width, rounding_mode="floor"), 0, last)
        dst_bin_of_begin_center = (dst_bin_of_begin + 0.5) * dst_bin_width
        dst_bin_of_end = ember.clamp(
            ember.div(src_bin_end, dst_bin_width, rounding_mode="floor"), 0, last)
        density = self.histogram / bin_width
        norm = ember.zeros(self.bins, device=device)
        delta_begin = src_bin_begin - dst_bin_of_begin_center
        delta_end = dst_bin_width / 2
        norm += self._get_norm(delta_begin, ember.ones(self.bins, device=device) * delta_end, density)
        norm += (dst_bin_of_end - dst_bin_of_begin - 1) * self._get_norm(
            ember.tensor(-dst_bin_width / 2, device=device),
            ember.tensor(dst_bin_width / 2, device=device), density)
        dst_bin_of_end_center = dst_bin_of_end * dst_bin_width + dst_bin_width / 2
        delta_begin = -dst_bin_width / 2
        delta_end = src_bin_end - dst_bin_of_end_center
        norm += self._get_norm(ember.tensor(delta_begin, device=device), delta_end, density)
        return norm.sum().item()

    def _non_linear_param_search(self):
        """Move the cheaper end inwards by quantile steps of 1e-5 while the error falls."""
        if self.histogram.shape[0] != self.bins:
            raise AssertionError("bins mismatch")
        bin_width = (self.max_val - self.min_val) / self.bins
        total = ember.sum(self.histogram).item()
        # the scalar walk reads the float32 cumulative sums on the host (compared in
        # float32 against the quantile, as a float32 tensor compares with a Python float)
        cumulative = ember.cumsum(self.histogram, dim=0).cpu().numpy()  # one copy back
        stepsize = 1e-5
        alpha, beta = 0.0, 1.0
        start_bin, end_bin = 0, self.bins - 1
        norm_min = float("inf")
        while alpha < beta:
            next_alpha = alpha + stepsize
            next_beta = beta - stepsize
            low_mass = np.float32(next_alpha * total)
            high_mass = np.float32(next_beta * total)
            left, right = start_bin, end_bin
            while left < end_bin and cumulative[left] < low_mass:
                left += 1
            while right > start_bin and cumulative[right] > high_mass:
                right -= 1
            next_start_bin, next_end_bin = start_bin, end_bin
            if (left - start_bin) > (end_bin - right):
                next_start_bin = left
                alpha = next_alpha
            else:
                next_end_bin = right
                beta = next_beta
            if next_start_bin == start_bin and next_end_bin == end_bin:
                continue
            norm = self._compute_quantization_error(next_start_bin, next_end_bin)
            if norm > norm_min:
                break
            norm_min = norm
            start_bin, end_bin = next_start_bin, next_end_bin
        new_min = self.min_val + bin_width * start_bin
        new_max = self.min_val + bin_width * (end_bin + 1)
        return new_min, new_max

    # -- accumulating the histogram --------------------------------------------------------

    def _upscale_histogram(self, histogram, orig_min, orig_max, update_min, update_max):
        """The old histogram's mass moved into the new range's bins, through a grid
        ``upsample_rate`` times finer (each fine bin goes where its midpoint falls)."""
        fine = self.bins * self.upsample_rate
        histogram = histogram.repeat_interleave(self.upsample_rate) / self.upsample_rate
        bin_size = (orig_max - orig_min) / fine  # a float32 tensor, as in PyTorch
        device = histogram.device
        mid_points = _linspace_f32(orig_min.item(), orig_max.item(), fine + 1, device)[:-1] \
            + 0.5 * bin_size
        boundaries = _linspace_f32(update_min.item(), update_max.item(), self.bins + 1, device)
        buckets = ember.bucketize(mid_points, boundaries, right=True) - 1
        buckets = ember.clamp(buckets, 0, self.bins - 1)
        return ember.bincount(buckets, weights=histogram, minlength=self.bins)

    def _combine_histograms(self, orig_hist, orig_min, orig_max, update_hist, update_min,
                            update_max):
        """``orig_hist`` (over [orig_min, orig_max]) re-binned into the update's range and
        added to ``update_hist``; the bounds are float32 0-d tensors."""
        if float(update_min) == float(orig_min) and float(update_max) == float(orig_max):
            return orig_hist + update_hist
        if float(orig_min) == float(orig_max):
            bin_value = ember.sum(orig_hist)
            transformed = _histc_f32(orig_min.reshape(1), self.bins, update_min.item(),
                                     update_max.item()) * bin_value
            return transformed + update_hist
        transformed = self._upscale_histogram(orig_hist, orig_min, orig_max, update_min,
                                              update_max)
        return update_hist + transformed

    def reset_histogram(self, x, min_val, max_val):
        self.min_val.copy_(min_val)
        self.max_val.copy_(max_val)
        self._buffers["histogram"] = _histc_f32(x, self.bins, min_val.item(), max_val.item())

    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach()
        x_min, x_max = x.min(), x.max()
        if float(x_min) == float("-inf") or float(x_max) == float("inf"):
            warnings.warn("torch.inf detected in input tensor, ignoring input", stacklevel=2)
            x = x[x.abs() != float("inf")]
            if x.numel() == 0:
                return x_orig
            x_min, x_max = x.min(), x.max()
        current_min, current_max = self.min_val, self.max_val
        if float(current_min) == float("inf") or float(current_max) == float("-inf"):
            self.reset_histogram(x, x_min, x_max)
            return x_orig
        new_min = ember.minimum(current_min, x_min)
        new_max = ember.maximum(current_max, x_max)
        update = _histc_f32(x, self.bins, new_min.item(), new_max.item())
        if float(new_min) == float(current_min) and float(new_max) == float(current_max):
            combined = self.histogram + update
        else:
            combined = self._combine_histograms(
                self.histogram, current_min, current_max, update, new_min, new_max)
        self._buffers["histogram"] = combined.to(ember.float32)
        self.min_val.copy_(new_min)
        self.max_val.copy_(new_max)
        return x_orig

    def calculate_qparams(self):
        if float(self.min_val) == float("inf") and float(self.max_val) == float("-inf"):
            warnings.warn(
                "must run observer before calling calculate_qparams. Returning default "
                "scale and zero point ", stacklevel=2)
            device = self.min_val.device
            return ember.tensor([1.0], device=device), ember.tensor([0], device=device)
        if self.bins != len(self.histogram):
            raise AssertionError("The number of bins in histogram should be equal to the "
                                 "number of bins supplied while making this observer")
        new_min, new_max = self._non_linear_param_search()
        return self._calculate_qparams(new_min, new_max)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"
