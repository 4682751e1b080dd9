"""Tensors and arrays into the NumPy layouts TensorBoard's summaries are built from."""

from __future__ import annotations

import numpy as np


def make_np(x):
    """An ember tensor (any device), NumPy array or Python number as a NumPy array."""
    if isinstance(x, np.ndarray):
        return x
    if np.isscalar(x):
        return np.array([x])
    from ... import Tensor, bfloat16

    if isinstance(x, Tensor):
        if x.dtype == bfloat16:
            x = x.half()
        return x.detach().cpu().numpy()
    raise NotImplementedError(
        f"Got {type(x)}, but numpy array or torch tensor are expected.")


def make_grid(images, ncols=8):
    """(N, C, H, W) images tiled row by row into one (3, rows*H, cols*W) canvas."""
    if images.shape[1] == 1:
        images = np.concatenate([images] * 3, 1)
    if images.ndim != 4 or images.shape[1] != 3:
        raise AssertionError("Input should be a 4D numpy array with 3 channels")
    count, _, height, width = images.shape
    ncols = min(count, ncols)
    nrows = int(np.ceil(count / ncols))
    canvas = np.zeros((3, height * nrows, width * ncols), dtype=images.dtype)
    for index in range(count):
        row, col = divmod(index, ncols)
        canvas[:, row * height:(row + 1) * height, col * width:(col + 1) * width] = images[index]
    return canvas


def convert_to_hwc(array, input_format):
    """Any of NCHW-like (a grid), CHW-like or HW layouts as (H, W, 3 or 4)."""
    if len(set(input_format)) != len(input_format):
        raise AssertionError("You can not use the same dimension shorthand twice. "
                             f"input_format: {input_format}")
    if len(array.shape) != len(input_format):
        raise AssertionError("size of input tensor and input format are different. tensor "
                             f"shape: {array.shape}, input_format: {input_format}")
    input_format = input_format.upper()
    if len(input_format) == 4:
        nchw = array.transpose([input_format.find(c) for c in "NCHW"])
        return make_grid(nchw).transpose(1, 2, 0)
    if len(input_format) == 3:
        hwc = array.transpose([input_format.find(c) for c in "HWC"])
        return np.concatenate([hwc] * 3, 2) if hwc.shape[2] == 1 else hwc
    hw = array.transpose([input_format.find(c) for c in "HW"])
    return np.stack([hw] * 3, 2)


def prepare_video(video):
    """(N, T, C, H, W) clips as (T, rows*H, cols*W, C) frames, N padded to a power of 2."""
    count, frames, channels, height, width = video.shape
    if video.dtype == np.uint8:
        video = np.float32(video) / 255.0
    if count & (count - 1):
        padding = 2 ** count.bit_length() - count
        video = np.concatenate(
            [video, np.zeros((padding, frames, channels, height, width))], axis=0)
    rows = 2 ** ((count.bit_length() - 1) // 2)
    cols = video.shape[0] // rows
    video = video.reshape(rows, cols, frames, channels, height, width)
    return video.transpose(2, 0, 4, 1, 5, 3).reshape(frames, rows * height, cols * width,
                                                      channels)


def figure_to_image(figures, close=True):
    """Matplotlib figure(s) rendered as (C, H, W) uint8 (or a stacked (N, C, H, W))."""
    import matplotlib.backends.backend_agg as backend
    import matplotlib.pyplot as plt

    def render(figure):
        canvas = backend.FigureCanvasAgg(figure)
        canvas.draw()
        rgba = np.frombuffer(canvas.buffer_rgba(), dtype=np.uint8)
        width, height = figure.canvas.get_width_height()
        chw = np.moveaxis(rgba.reshape(height, width, 4)[:, :, :3], 2, 0)
        if close:
            plt.close(figure)
        return chw

    if isinstance(figures, list):
        return np.stack([render(figure) for figure in figures])
    return render(figures)
