"""``torchvision.utils``: image grids, saving, and drawing boxes and masks on images."""

from __future__ import annotations

import math
import warnings

import numpy as np

import ember
import ember.nn.functional as F

from .transforms._functional_tensor import convert_image_dtype

__all__ = ["make_grid", "save_image", "draw_bounding_boxes", "draw_segmentation_masks"]


def _normalize_range(tensor, value_range, scale_each: bool):
    """Clamp to [low, high] and map it onto [0, 1], over the batch or per image."""
    if value_range is not None:
        low, high = float(value_range[0]), float(value_range[1])
        tensor = tensor.clamp(min=low, max=high)
        return (tensor - low) / max(high - low, 1e-5)
    # the range is data, not a function of the pixels: no gradient flows through it,
    # as torchvision reads it with float(t.min())
    values = tensor.detach()
    if scale_each:
        low = values.amin(dim=(1, 2, 3), keepdim=True)
        high = values.amax(dim=(1, 2, 3), keepdim=True)
    else:
        low, high = values.min(), values.max()
    return (tensor - low) / ember.clamp(high - low, min=1e-5)


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range: tuple | None = None, scale_each: bool = False,
              pad_value: float = 0.0) -> ember.Tensor:
    """Tile a (B, C, H, W) batch (or a list of images) into one (C, H', W') image.

    Images fill rows of ``nrow`` with ``padding`` pixels of ``pad_value`` between and
    around them; one-channel images become three-channel. Built with pad/reshape/permute
    ops only, so it is one vectorised pass and keeps autograd history.
    """
    if not isinstance(tensor, ember.Tensor):
        if isinstance(tensor, list):
            for t in tensor:
                if not isinstance(t, ember.Tensor):
                    raise TypeError(f"tensor or list of tensors expected, got a list "
                                    f"containing {type(t)}")
        else:
            raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    if isinstance(tensor, list):
        tensor = ember.stack(tensor, dim=0)
    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 3:
        if tensor.size(0) == 1:
            tensor = ember.cat((tensor, tensor, tensor), 0)
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 4 and tensor.size(1) == 1:
        tensor = ember.cat((tensor, tensor, tensor), 1)
    if normalize is True:
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and "
                            "max are numbers")
        tensor = _normalize_range(tensor, value_range, scale_each)
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    nmaps, channels, h, w = tensor.shape
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    cells = F.pad(tensor, [padding, 0, padding, 0], value=float(pad_value))
    missing = ymaps * xmaps - nmaps
    if missing:
        filler = ember.full((missing, channels, h + padding, w + padding), float(pad_value),
                            dtype=tensor.dtype, device=tensor.device)
        cells = ember.cat((cells, filler), 0)
    grid = cells.reshape(ymaps, xmaps, channels, h + padding, w + padding)
    grid = grid.permute(2, 0, 3, 1, 4).reshape(channels, ymaps * (h + padding),
                                               xmaps * (w + padding))
    return F.pad(grid[None], [0, padding, 0, padding], value=float(pad_value))[0]


def save_image(tensor, fp, format: str | None = None, **kwargs) -> None:
    """Save a tensor (or batch, via make_grid) with values in [0, 1] as an image file."""
    from PIL import Image

    grid = make_grid(tensor, **kwargs)
    # +0.5 rounds to the nearest integer after scaling to [0, 255]
    ndarr = grid.detach().mul(255).add(0.5).clamp(0, 255).permute(1, 2, 0).to(
        "cpu", ember.uint8).numpy()
    Image.fromarray(np.ascontiguousarray(ndarr).squeeze(-1) if ndarr.shape[-1] == 1
                    else np.ascontiguousarray(ndarr)).save(fp, format=format)


def _generate_color_palette(num_objects: int):
    palette = np.array([2 ** 25 - 1, 2 ** 15 - 1, 2 ** 21 - 1])
    return [tuple(int(v) for v in (i * palette) % 255) for i in range(num_objects)]


def _parse_colors(colors, num_objects: int, dtype=ember.uint8):
    from PIL import ImageColor

    if colors is None:
        colors = _generate_color_palette(num_objects)
    elif isinstance(colors, list):
        if len(colors) < num_objects:
            raise ValueError("Number of colors must be equal or larger than the number of "
                             f"objects, but got {len(colors)} < {num_objects}.")
    elif not isinstance(colors, (tuple, str)):
        raise ValueError(f"colors must be a tuple or a string, or a list thereof, but got "
                         f"{colors}.")
    elif isinstance(colors, tuple) and len(colors) != 3:
        raise ValueError(f"If passed as tuple, colors should be an RGB triplet. Got {colors}")
    else:
        colors = [colors] * num_objects
    colors = [ImageColor.getrgb(c) if isinstance(c, str) else tuple(c) for c in colors]
    if dtype.is_floating_point:
        colors = [tuple(v / 255 for v in c) for c in colors]
    return colors


def draw_bounding_boxes(image, boxes, labels=None, colors=None, fill: bool = False,
                        width: int = 1, font: str | None = None,
                        font_size: int | None = None) -> ember.Tensor:
    """Draw (xmin, ymin, xmax, ymax) boxes, optionally labelled, on a (C, H, W) image."""
    from PIL import Image, ImageDraw, ImageFont

    if not isinstance(image, ember.Tensor):
        raise TypeError(f"Tensor expected, got {type(image)}")
    if not (image.dtype == ember.uint8 or image.is_floating_point()):
        raise ValueError(f"The image dtype must be uint8 or float, got {image.dtype}")
    if image.dim() != 3:
        raise ValueError("Pass individual images, not batches")
    if image.size(0) not in {1, 3}:
        raise ValueError("Only grayscale and RGB images are supported")
    box_array = boxes.detach().cpu().numpy()
    if (box_array[:, 0] > box_array[:, 2]).any() or (box_array[:, 1] > box_array[:, 3]).any():
        raise ValueError("Boxes need to be in (xmin, ymin, xmax, ymax) format. Use "
                         "torchvision.ops.box_convert to convert them")
    num_boxes = box_array.shape[0]
    if num_boxes == 0:
        warnings.warn("boxes doesn't contain any box. No box was drawn")
        return image
    if labels is None:
        labels = [None] * num_boxes
    elif len(labels) != num_boxes:
        raise ValueError(f"Number of boxes ({num_boxes}) and labels ({len(labels)}) mismatch. "
                         "Please specify labels for each box.")
    colors = _parse_colors(colors, num_objects=num_boxes)
    if font is None:
        if font_size is not None:
            warnings.warn("Argument 'font_size' will be ignored since 'font' is not set.")
        txt_font = ImageFont.load_default()
    else:
        txt_font = ImageFont.truetype(font=font, size=font_size or 10)
    original_dtype = image.dtype
    pixels = image.detach().cpu()
    if original_dtype.is_floating_point:
        pixels = convert_image_dtype(pixels, ember.uint8)
    arr = pixels.numpy().transpose(1, 2, 0)
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    img_to_draw = Image.fromarray(np.ascontiguousarray(arr))
    draw = ImageDraw.Draw(img_to_draw, "RGBA" if fill else None)
    for bbox, color, label in zip(box_array.astype(np.int64).tolist(), colors, labels):
        if fill:
            draw.rectangle(bbox, width=width, outline=color, fill=color + (100,))
        else:
            draw.rectangle(bbox, width=width, outline=color)
        if label is not None:
            margin = width + 1
            draw.text((bbox[0] + margin, bbox[1] + margin), label, fill=color, font=txt_font)
    out = ember.from_numpy(np.array(img_to_draw).transpose(2, 0, 1).copy())
    if original_dtype.is_floating_point:
        out = convert_image_dtype(out, original_dtype)
    return out.to(image.device)


def draw_segmentation_masks(image, masks, alpha: float = 0.8, colors=None) -> ember.Tensor:
    """Blend one colour per boolean (N, H, W) mask into a (3, H, W) image."""
    if not isinstance(image, ember.Tensor):
        raise TypeError(f"The image must be a tensor, got {type(image)}")
    if not (image.dtype == ember.uint8 or image.is_floating_point()):
        raise ValueError(f"The image dtype must be uint8 or float, got {image.dtype}")
    if image.dim() != 3:
        raise ValueError("Pass individual images, not batches")
    if image.size()[0] != 3:
        raise ValueError("Pass an RGB image. Other Image formats are not supported")
    if masks.ndim == 2:
        masks = masks[None, :, :]
    if masks.ndim != 3:
        raise ValueError("masks must be of shape (H, W) or (batch_size, H, W)")
    if masks.dtype != ember.bool:
        raise ValueError(f"The masks must be of dtype bool. Got {masks.dtype}")
    if masks.shape[-2:] != image.shape[-2:]:
        raise ValueError("The image and the masks must have the same height and width")
    num_masks = masks.size()[0]
    if num_masks == 0:
        warnings.warn("masks doesn't contain any mask. No mask was drawn")
        return image
    original_dtype = image.dtype
    colors = _parse_colors(colors, num_objects=num_masks, dtype=original_dtype)
    palette = ember.tensor(colors, dtype=ember.float64, device=image.device)  # (N, 3)
    # the last mask covering a pixel decides its colour; overlaps turn black
    covering = masks.to(ember.int64) * ember.arange(1, num_masks + 1, device=image.device
                                                    ).view(-1, 1, 1)
    last = covering.amax(dim=0)
    any_mask = last > 0
    overlap = masks.sum(dim=0) > 1
    painted = palette[(last - 1).clamp(min=0)].permute(2, 0, 1)
    img_to_draw = ember.where(any_mask, painted.to(original_dtype), image.detach())
    img_to_draw = ember.where(overlap, ember.zeros_like(img_to_draw), img_to_draw)
    out = image * (1 - alpha) + img_to_draw * alpha
    return out.to(original_dtype)
