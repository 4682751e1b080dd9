"""ember.vision.tv_tensors against torchvision's documented behaviour, with torch as the
oracle for the tensor side: which ops keep the subclass, metadata, wrap, reprs, autograd."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

import ember
from ember.vision import tv_tensors as T

RNG = np.random.default_rng(5)


def test_image_from_tensor_array_and_pil():
    data = RNG.random((3, 4, 5)).astype(np.float32)
    img = T.Image(ember.tensor(data))
    assert type(img) is T.Image and isinstance(img, ember.Tensor)
    np.testing.assert_array_equal(img.numpy(), data)
    assert T.Image(ember.zeros(4, 5)).shape == (1, 4, 5)  # 2-D gains a channel dim
    arr = RNG.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    pil_img = T.Image(PILImage.fromarray(arr))
    assert pil_img.dtype == ember.uint8 and pil_img.shape == (3, 6, 7)
    np.testing.assert_array_equal(pil_img.numpy(), arr.transpose(2, 0, 1))
    # an ndarray goes through as_tensor unchanged (no HWC -> CHW), as torchvision's
    assert T.Image(arr).shape == (6, 7, 3)
    with pytest.raises(ValueError, match="Tensor must be 2D or higher, got 1D tensor."):
        T.Image(ember.zeros(3))
    assert T.Image(ember.zeros(2, 2), dtype=ember.float64).dtype == ember.float64


@pytest.mark.parametrize("op", [
    lambda x: x + 1, lambda x: x * 2, lambda x: x.flip(-1), lambda x: x[0], lambda x: x.sum(),
    lambda x: ember.cat([x, x]), lambda x: x.view(-1), lambda x: x.float(),
])
def test_ops_return_plain_tensors(op):
    img = T.Image(ember.rand(3, 4, 4))
    out = op(img)
    assert type(out) is ember.Tensor
    with T.set_return_type("TVTensor"):
        if not isinstance(op(ember.rand(1)), ember.Tensor):
            return
    assert type(op(img)) is ember.Tensor  # the context manager restored the default


@pytest.mark.parametrize("method", ["clone", "detach", "requires_grad_", "to"])
def test_methods_that_keep_the_subclass(method):
    boxes = T.BoundingBoxes([[1.0, 2, 3, 4]], format="XYWH", canvas_size=(10, 12))
    args = (ember.float64,) if method == "to" else ()
    out = getattr(boxes, method)(*args)
    assert type(out) is T.BoundingBoxes
    assert out.format is T.BoundingBoxFormat.XYWH and out.canvas_size == (10, 12)


def test_set_return_type():
    img = T.Image(ember.rand(3, 2, 2))
    with T.set_return_type("TVTensor"):
        assert type(img + 2) is T.Image
        assert type(img.flip(-1)) is T.Image
        boxes = T.BoundingBoxes([[0, 0, 2, 2]], format="xyxy", canvas_size=(4, 4))
        assert (boxes * 2).canvas_size == (4, 4)
    assert type(img + 2) is ember.Tensor
    T.set_return_type("tvtensor")
    try:
        assert type(img * 1) is T.Image
    finally:
        T.set_return_type("Tensor")
    with pytest.raises(ValueError, match="return_type must be 'TVTensor' or 'Tensor', got x"):
        T.set_return_type("x")


def test_bounding_boxes_metadata_and_errors():
    boxes = T.BoundingBoxes([1, 2, 3, 4], format="cxcywh", canvas_size=(5, 6))
    assert boxes.shape == (1, 4) and boxes.format is T.BoundingBoxFormat.CXCYWH
    assert boxes.clamping_mode == "soft"
    with pytest.raises(ValueError, match="Expected a 1D or 2D tensor, got 3D"):
        T.BoundingBoxes(ember.zeros(1, 1, 4), format="XYXY", canvas_size=(1, 1))
    with pytest.raises(ValueError, match="clamping_mode must be None, hard or soft, got x."):
        T.BoundingBoxes([1, 2, 3, 4], format="XYXY", canvas_size=(1, 1), clamping_mode="x")
    with pytest.raises(ValueError, match="Rotated bounding boxes should be floating point"):
        T.BoundingBoxes([[1, 2, 3, 4, 5]], format="XYWHR", canvas_size=(9, 9))
    assert T.is_rotated_bounding_format("XYXYXYXY")
    assert not T.is_rotated_bounding_format(T.BoundingBoxFormat.XYXY)


def test_wrap_copies_and_overrides_metadata():
    boxes = T.BoundingBoxes([[1, 2, 3, 4]], format="XYXY", canvas_size=(5, 6))
    out = T.wrap(boxes.as_subclass(ember.Tensor) + 1, like=boxes, canvas_size=(7, 8))
    assert type(out) is T.BoundingBoxes and out.canvas_size == (7, 8)
    assert out.format is T.BoundingBoxFormat.XYXY
    np.testing.assert_array_equal(out.numpy(), [[2, 3, 4, 5]])
    mask = T.wrap(ember.ones(2, 2), like=T.Mask(ember.zeros(1)))
    assert type(mask) is T.Mask


def test_reprs_as_torchvision():
    # torchvision appends the metadata inside torch's repr: "Image([...], )"
    img = T.Image(ember.zeros(1, 1, 2, dtype=ember.uint8))
    assert repr(img) == "Image([[[0, 0]]], dtype=torch.uint8, )"
    boxes = T.BoundingBoxes([[1, 2, 3, 4]], format="XYXY", canvas_size=(10, 10))
    assert repr(boxes) == ("BoundingBoxes([[1, 2, 3, 4]], format=BoundingBoxFormat.XYXY, "
                           "canvas_size=(10, 10), clamping_mode=soft)")
    assert str(boxes) == repr(boxes)
    points = T.KeyPoints([[1.0, 2.0]], canvas_size=(3, 3))
    assert repr(points) == "KeyPoints([[1., 2.]], canvas_size=(3, 3))"


def test_keypoints_and_video():
    points = T.KeyPoints([1.0, 2.0], canvas_size=(3, 4))
    assert points.shape == (1, 2)
    with pytest.raises(ValueError, match="Expected a tensor of shape"):
        T.KeyPoints(ember.zeros(2, 3), canvas_size=(3, 3))
    assert T.Video(ember.zeros(2, 3, 4, 4)).shape == (2, 3, 4, 4)
    with pytest.raises(ValueError):
        T.Video(ember.zeros(3, 4, 4))


def test_autograd_flows_through_subclass_and_matches_torch():
    data = RNG.random((3, 2, 2))
    x = ember.tensor(data, requires_grad=True)
    img = T.Image(x)
    assert img.requires_grad and img.grad_fn is not None  # an alias node, as torch's
    (img * img).sum().backward()
    xt = torch.tensor(data, requires_grad=True)
    (xt * xt).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())


def test_deepcopy_and_pickle_keep_metadata():
    boxes = T.BoundingBoxes([[1.0, 2, 3, 4]], format="XYXY", canvas_size=(5, 6),
                            requires_grad=True)
    for copied in (copy.deepcopy(boxes), pickle.loads(pickle.dumps(boxes.detach()))):
        assert type(copied) is T.BoundingBoxes and copied.canvas_size == (5, 6)
        np.testing.assert_array_equal(copied.detach().numpy(), boxes.detach().numpy())
    assert copy.deepcopy(boxes).requires_grad


def test_wrap_checks_dims_but_method_results_keep_their_shape():
    boxes = T.BoundingBoxes([[1, 2, 3, 4], [5, 6, 7, 8]], format="XYXY", canvas_size=(9, 9))
    assert T.wrap(ember.tensor([1, 2, 3, 4]), like=boxes).shape == (1, 4)
    with pytest.raises(ValueError, match="Expected a 1D or 2D tensor, got 3D"):
        T.wrap(ember.zeros(1, 1, 4), like=boxes)
    with T.set_return_type("TVTensor"):
        first = boxes[0]
        assert type(first) is T.BoundingBoxes and first.shape == (4,)
        halves = boxes.unbind(0)
        assert all(type(h) is T.BoundingBoxes and h.canvas_size == (9, 9) for h in halves)


def test_inplace_ops_write_through_but_return_plain_tensors():
    img = T.Image(ember.zeros(1, 2, 2))
    out = img.add_(1)
    assert type(out) is ember.Tensor and type(img) is T.Image
    assert float(img.sum()) == 4.0 and float(out.sum()) == 4.0
    alias = img
    alias += 1  # torchvision: the name is rebound to a plain Tensor sharing memory
    assert type(alias) is ember.Tensor and float(img.sum()) == 8.0
    with T.set_return_type("TVTensor"):
        assert type(img.mul_(1)) is T.Image


def test_reachable_as_an_attribute_of_ember_vision():
    import ember.vision

    # the package loads subpackages lazily through its module __getattr__
    assert ember.vision.__getattr__("tv_tensors") is T
