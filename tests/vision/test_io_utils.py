"""PIL/ndarray <-> tensor conversion, ember.vision.io (decode/encode against Pillow) and
ember.vision.utils (make_grid against torchvision's documented copy-loop layout written in
torch, save_image, drawing)."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from oracle import check, rand
from PIL import Image, ImageDraw

import ember
from ember.vision import io as vio
from ember.vision import utils as vutils
from ember.vision.transforms import functional as VF

RNG = np.random.default_rng(5)


def u8(*shape):
    return RNG.integers(0, 256, shape, dtype=np.uint8)


def as_np(t):
    return np.asarray(t.detach().numpy())


def png_bytes(img, **kw):
    buf = io.BytesIO()
    img.save(buf, format=kw.pop("format", "PNG"), **kw)
    return buf.getvalue()


# ------------------------------------------------------------------ PIL <-> tensor

@pytest.mark.parametrize("mode,np_dtype,shape,to_tensor_dtype", [
    ("L", np.uint8, (6, 7), ember.float32),
    ("RGB", np.uint8, (6, 7, 3), ember.float32),
    ("RGBA", np.uint8, (6, 7, 4), ember.float32),
    ("LA", np.uint8, (6, 7, 2), ember.float32),
    ("I;16", np.uint16, (6, 7), ember.int16),
    ("I", np.int32, (6, 7), ember.int32),
    ("F", np.float32, (6, 7), ember.float32),
])
def test_to_tensor_and_pil_to_tensor(mode, np_dtype, shape, to_tensor_dtype):
    data = (RNG.integers(0, 250, shape) if np_dtype != np.float32
            else RNG.random(shape)).astype(np_dtype)
    img = Image.fromarray(data) if mode != "LA" else Image.fromarray(data, "LA")
    assert img.mode == mode
    chw = data.reshape(shape[0], shape[1], -1).transpose(2, 0, 1)
    t = VF.to_tensor(img)
    assert t.dtype == to_tensor_dtype and tuple(t.shape) == chw.shape
    scale = 255.0 if np_dtype == np.uint8 else 1.0
    np.testing.assert_allclose(as_np(t), chw.astype(np.float64) / scale, rtol=1e-6)
    p = VF.pil_to_tensor(img)
    assert p.dtype == ember.from_numpy(np.asarray(img)).dtype
    np.testing.assert_array_equal(as_np(p), chw)


def test_to_tensor_mode_1_and_ndarray():
    bits = Image.fromarray(np.array([[0, 1], [1, 0]], bool))
    np.testing.assert_array_equal(as_np(VF.to_tensor(bits))[0], [[0, 1], [1, 0]])
    arr = u8(4, 5, 3)
    np.testing.assert_allclose(as_np(VF.to_tensor(arr)), arr.transpose(2, 0, 1) / 255,
                               rtol=1e-6)
    floats = RNG.random((4, 5)).astype(np.float64)
    out = VF.to_tensor(floats)
    assert out.dtype == ember.float64 and tuple(out.shape) == (1, 4, 5)
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        VF.to_tensor([1, 2])
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 4 dimensions."):
        VF.to_tensor(np.zeros((1, 2, 3, 4)))
    with pytest.raises(TypeError, match="pic should be PIL Image"):
        VF.pil_to_tensor(arr)


@pytest.mark.parametrize("data,mode,expected_mode", [
    (RNG.random((3, 4, 5)).astype(np.float32), None, "RGB"),
    (u8(3, 4, 5), None, "RGB"),
    (u8(4, 4, 5), None, "RGBA"),
    (u8(1, 4, 5), None, "L"),
    (u8(2, 4, 5), None, "LA"),
    (RNG.random((1, 4, 5)).astype(np.float32), "F", "F"),
    (RNG.integers(0, 999, (1, 4, 5)).astype(np.int32), None, "I"),
    (RNG.integers(0, 999, (1, 4, 5)).astype(np.int16), None, "I;16"),
    (u8(3, 4, 5), "HSV", "HSV"),
    (u8(4, 4, 5), "CMYK", "CMYK"),
])
def test_to_pil_image(data, mode, expected_mode):
    img = VF.to_pil_image(ember.tensor(data), mode)
    assert img.mode == expected_mode and img.size == (5, 4)
    expected = data
    if data.dtype == np.float32 and mode != "F":
        expected = (data * 255).astype(np.uint8)
    np.testing.assert_array_equal(np.asarray(img).reshape(4, 5, -1).transpose(2, 0, 1),
                                  expected.astype(np.asarray(img).dtype))
    np.testing.assert_array_equal(np.asarray(VF.to_pil_image(expected.transpose(1, 2, 0),
                                                             mode if mode != "F" else None)),
                                  np.asarray(img))


@pytest.mark.parametrize("pic,mode,exc,msg", [
    (ember.zeros(5, 2, 2), None, ValueError, "pic should not have > 4 channels. Got 5 channels."),
    (ember.zeros(1, 1, 2, 2), None, ValueError, "pic should be 2/3 dimensional. Got 4 dimensions"),
    (ember.zeros(1, 2, 2, dtype=ember.uint8), "RGB", ValueError, r"Incorrect mode \(RGB\)"),
    (ember.zeros(3, 2, 2, dtype=ember.uint8), "RGBA", ValueError,
     r"Only modes \['RGB', 'YCbCr', 'HSV'\] are supported for 3D inputs"),
    (ember.zeros(3, 2, 2, dtype=ember.int32), None, TypeError, "Input type int32 is not supported"),
    ([1, 2], None, TypeError, "pic should be Tensor or ndarray"),
])
def test_to_pil_image_errors(pic, mode, exc, msg):
    with pytest.raises(exc, match=msg):
        VF.to_pil_image(pic, mode)


# ------------------------------------------------------------------ io

@pytest.mark.parametrize("make,channels,dtype", [
    (lambda: Image.fromarray(u8(5, 6)), 1, np.uint8),
    (lambda: Image.fromarray(u8(5, 6, 3)), 3, np.uint8),
    (lambda: Image.fromarray(u8(5, 6, 4)), 4, np.uint8),
    (lambda: Image.fromarray(u8(5, 6, 2), "LA"), 2, np.uint8),
    (lambda: Image.fromarray(RNG.integers(0, 65535, (5, 6)).astype(np.uint16)), 1, np.uint16),
    (lambda: Image.fromarray(u8(5, 6, 3)).convert("P"), 3, np.uint8),
])
def test_read_image_unchanged_matches_pillow(tmp_path, make, channels, dtype):
    img = make()
    path = tmp_path / "img.png"
    img.save(path)
    out = vio.read_image(str(path))
    assert tuple(out.shape) == (channels, 5, 6)
    assert as_np(out).dtype == dtype
    reference = Image.open(path)
    if reference.mode == "P":
        reference = reference.convert("RGB")
    expected = np.asarray(reference).reshape(5, 6, -1).transpose(2, 0, 1)
    np.testing.assert_array_equal(as_np(out), expected.astype(dtype))


@pytest.mark.parametrize("mode,pil_mode", [
    (vio.ImageReadMode.GRAY, "L"), (vio.ImageReadMode.GRAY_ALPHA, "LA"),
    (vio.ImageReadMode.RGB, "RGB"), (vio.ImageReadMode.RGB_ALPHA, "RGBA"),
    ("RGB", "RGB"), (vio.ImageReadMode.RGBA, "RGBA"),
])
def test_decode_image_modes(mode, pil_mode):
    img = Image.fromarray(u8(4, 7, 3))
    data = ember.from_numpy(np.frombuffer(png_bytes(img), np.uint8).copy())
    out = vio.decode_image(data, mode=mode)
    expected = np.asarray(img.convert(pil_mode)).reshape(4, 7, -1).transpose(2, 0, 1)
    np.testing.assert_array_equal(as_np(out), expected)
    np.testing.assert_array_equal(as_np(vio.decode_png(data, mode)), expected)


def test_jpeg_roundtrip_and_files(tmp_path):
    pixels = ember.tensor(np.repeat(np.linspace(0, 255, 16).astype(np.uint8)[None, None], 3, 0)
                          .repeat(8, 1).copy())
    encoded = vio.encode_jpeg(pixels, quality=95)
    assert encoded.dtype == ember.uint8 and encoded.ndim == 1
    assert bytes(as_np(encoded)[:2]) == b"\xff\xd8"
    decoded = vio.decode_jpeg(encoded)
    pil = np.asarray(Image.open(io.BytesIO(bytes(as_np(encoded))))).transpose(2, 0, 1)
    np.testing.assert_array_equal(as_np(decoded), pil)
    assert np.abs(as_np(decoded).astype(int) - as_np(pixels)).max() <= 8
    assert len(vio.encode_jpeg([pixels, pixels])) == 2
    vio.write_jpeg(pixels, str(tmp_path / "a.jpg"), quality=90)
    assert tuple(vio.read_image(str(tmp_path / "a.jpg")).shape) == (3, 8, 16)
    vio.write_png(pixels, str(tmp_path / "a.png"))
    np.testing.assert_array_equal(as_np(vio.read_image(tmp_path / "a.png")), as_np(pixels))
    raw = vio.read_file(str(tmp_path / "a.png"))
    assert bytes(as_np(raw)) == (tmp_path / "a.png").read_bytes()


@pytest.mark.parametrize("channels", [1, 3])
def test_encode_png_is_lossless(channels):
    data = u8(channels, 6, 5)
    encoded = vio.encode_png(ember.tensor(data), compression_level=9)
    np.testing.assert_array_equal(as_np(vio.decode_image(encoded)), data)
    decoded = np.asarray(Image.open(io.BytesIO(bytes(as_np(encoded)))))
    np.testing.assert_array_equal(decoded.reshape(6, 5, -1).transpose(2, 0, 1), data)


@pytest.mark.parametrize("fn,exc,msg", [
    (lambda: vio.encode_png(ember.zeros(3, 4, 4)), RuntimeError,
     "Input tensor dtype should be uint8"),
    (lambda: vio.encode_png(ember.zeros(4, 4, dtype=ember.uint8)), RuntimeError,
     "Input tensor dimension should be 3"),
    (lambda: vio.encode_jpeg(ember.zeros(2, 4, 4, dtype=ember.uint8)), RuntimeError,
     "The number of channels should be 1 or 3, got: 2"),
    (lambda: vio.encode_jpeg(ember.zeros(3, 4, 4, dtype=ember.uint8), quality=0), ValueError,
     "Image quality should be a positive number between 1 and 100"),
    (lambda: vio.encode_png(ember.zeros(3, 4, 4, dtype=ember.uint8), 10), RuntimeError,
     "Compression level should be between 0 and 9"),
    (lambda: vio.decode_image(ember.tensor(np.arange(20, dtype=np.uint8))), RuntimeError,
     "Unsupported image file"),
    (lambda: vio.decode_image(ember.zeros(10)), RuntimeError, "Expected a torch.uint8 tensor"),
])
def test_io_errors(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn()


# ------------------------------------------------------------------ make_grid

def torch_make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None,
                    scale_each=False, pad_value=0.0):
    """torchvision's documented algorithm: a canvas of pad_value, images copied in."""
    if isinstance(tensor, list):
        tensor = torch.stack(tensor)
    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 3:
        if tensor.size(0) == 1:
            tensor = torch.cat((tensor, tensor, tensor), 0)
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 4 and tensor.size(1) == 1:
        tensor = torch.cat((tensor, tensor, tensor), 1)
    if normalize:
        def norm(t, low, high):
            return (t.clamp(min=low, max=high) - low) / max(high - low, 1e-5)
        if value_range is not None:
            tensor = norm(tensor, *value_range)
        elif scale_each:
            tensor = torch.stack([norm(t, float(t.detach().min()), float(t.detach().max()))
                                  for t in tensor])
        else:
            tensor = norm(tensor, float(tensor.detach().min()), float(tensor.detach().max()))
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    nmaps = tensor.size(0)
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = tensor.size(2) + padding, tensor.size(3) + padding
    grid = torch.full((tensor.size(1), height * ymaps + padding, width * xmaps + padding),
                      float(pad_value), dtype=tensor.dtype)
    parts = []
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k < nmaps:
                parts.append((y, x, k))
            k += 1
    # index assignment keeps the graph (copy_ into a leaf-free canvas)
    grid = grid.clone()
    for y, x, k in parts:
        grid[:, y * height + padding:(y + 1) * height, x * width + padding:(x + 1) * width] = \
            tensor[k]
    return grid


@pytest.mark.parametrize("shape,kwargs", [
    ((5, 3, 4, 6), {}),
    ((5, 3, 4, 6), {"nrow": 2, "padding": 1, "pad_value": 0.5}),
    ((8, 1, 3, 3), {"nrow": 4, "padding": 0}),
    ((3, 3, 2, 2), {"nrow": 5}),
    ((1, 3, 4, 4), {}),
    ((1, 4, 4), {}),
    ((4, 4), {}),
    ((6, 3, 3, 4), {"normalize": True}),
    ((6, 3, 3, 4), {"normalize": True, "scale_each": True, "nrow": 3}),
    ((6, 3, 3, 4), {"normalize": True, "value_range": (-0.5, 0.5)}),
])
def test_make_grid_matches_reference(shape, kwargs):
    check(lambda lib, x: (vutils.make_grid(x, **kwargs) if lib is ember
                          else torch_make_grid(x, **kwargs)), rand(*shape, low=-1, high=1))


def test_make_grid_list_and_errors():
    images = [ember.rand(3, 4, 4) for _ in range(3)]
    assert tuple(vutils.make_grid(images, nrow=3).shape) == (3, 8, 20)
    with pytest.raises(TypeError, match="tensor or list of tensors expected, got <class 'int'>"):
        vutils.make_grid(3)
    with pytest.raises(TypeError, match="tensor or list of tensors expected, got a list "
                                        "containing <class 'int'>"):
        vutils.make_grid([ember.rand(3, 2, 2), 1])
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        vutils.make_grid(ember.rand(2, 3, 2, 2), normalize=True, value_range=[0, 1])


def test_save_image(tmp_path):
    x = rand(4, 3, 5, 6)
    path = tmp_path / "grid.png"
    vutils.save_image(ember.tensor(x), str(path), nrow=2, padding=1)
    grid = torch_make_grid(torch.from_numpy(x), nrow=2, padding=1)
    expected = (grid * 255 + 0.5).clamp(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()
    np.testing.assert_array_equal(np.asarray(Image.open(path)), expected)
    buf = io.BytesIO()
    vutils.save_image(ember.tensor(x[0]), buf, format="PNG")
    assert Image.open(io.BytesIO(buf.getvalue())).size == (6, 5)


# ------------------------------------------------------------------ drawing

def test_draw_bounding_boxes_matches_pillow():
    data = u8(3, 30, 40)
    boxes = [[2, 3, 20, 25], [10, 5, 38, 12]]
    out = vutils.draw_bounding_boxes(ember.tensor(data), ember.tensor(boxes, dtype=ember.float32),
                                     colors=["red", (0, 255, 0)], width=2)
    expected = Image.fromarray(data.transpose(1, 2, 0).copy())
    draw = ImageDraw.Draw(expected)
    draw.rectangle(boxes[0], width=2, outline=(255, 0, 0))
    draw.rectangle(boxes[1], width=2, outline=(0, 255, 0))
    assert out.dtype == ember.uint8
    np.testing.assert_array_equal(as_np(out), np.asarray(expected).transpose(2, 0, 1))
    labelled = vutils.draw_bounding_boxes(ember.tensor(data), ember.tensor(boxes),
                                          labels=["a", "b"], fill=True)
    assert tuple(labelled.shape) == (3, 30, 40)
    gray = vutils.draw_bounding_boxes(ember.rand(1, 10, 10), ember.tensor([[1, 1, 5, 5]]))
    assert gray.dtype == ember.float32 and tuple(gray.shape) == (3, 10, 10)


@pytest.mark.parametrize("image,boxes,kwargs,exc,msg", [
    (np.zeros((3, 4, 4)), [[0, 0, 1, 1]], {}, TypeError, "Tensor expected"),
    (ember.zeros(3, 4, 4, dtype=ember.int32), [[0, 0, 1, 1]], {}, ValueError,
     "The image dtype must be uint8 or float, got torch.int32"),
    (ember.zeros(1, 3, 4, 4, dtype=ember.uint8), [[0, 0, 1, 1]], {}, ValueError,
     "Pass individual images, not batches"),
    (ember.zeros(2, 4, 4, dtype=ember.uint8), [[0, 0, 1, 1]], {}, ValueError,
     "Only grayscale and RGB images are supported"),
    (ember.zeros(3, 4, 4, dtype=ember.uint8), [[2, 0, 1, 1]], {}, ValueError,
     r"Boxes need to be in \(xmin, ymin, xmax, ymax\) format"),
    (ember.zeros(3, 4, 4, dtype=ember.uint8), [[0, 0, 1, 1]], {"labels": ["a", "b"]},
     ValueError, r"Number of boxes \(1\) and labels \(2\) mismatch"),
    (ember.zeros(3, 4, 4, dtype=ember.uint8), [[0, 0, 1, 1], [0, 0, 2, 2]], {"colors": ["red"]},
     ValueError, "Number of colors must be equal or larger than the number of objects, but "
                 "got 1 < 2."),
])
def test_draw_bounding_boxes_errors(image, boxes, kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        vutils.draw_bounding_boxes(image, ember.tensor(boxes), **kwargs)


def test_draw_segmentation_masks():
    data = u8(3, 6, 7)
    masks = np.zeros((2, 6, 7), bool)
    masks[0, :3] = True
    masks[1, 2:5, :4] = True
    out = vutils.draw_segmentation_masks(ember.tensor(data), ember.tensor(masks), alpha=0.5,
                                         colors=["blue", (10, 20, 30)])
    painted = data.astype(np.float64).copy()
    painted[:, masks[0]] = np.array([0, 0, 255])[:, None]
    painted[:, masks[1]] = np.array([10, 20, 30])[:, None]
    painted[:, masks.sum(0) > 1] = 0
    expected = (data * 0.5 + painted * 0.5).astype(np.uint8)
    np.testing.assert_array_equal(as_np(out), expected)
    with pytest.raises(ValueError, match="The masks must be of dtype bool. Got torch.float32"):
        vutils.draw_segmentation_masks(ember.tensor(data), ember.zeros(6, 7))
    with pytest.raises(ValueError, match="The image and the masks must have the same height"):
        vutils.draw_segmentation_masks(ember.tensor(data), ember.zeros(6, 6, dtype=ember.bool))


def test_vision_namespace_is_lazy():
    import ember.vision as vision
    assert vision.io is vio and vision.utils is vutils
    assert "transforms" in dir(vision)
    with pytest.raises(AttributeError):
        vision.nothing_here  # noqa: B018
