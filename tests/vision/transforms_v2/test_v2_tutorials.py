"""The 'Getting started with transforms v2' tutorial on synthetic data, arbitrary input
structures, and custom TVTensors with registered kernels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember.vision import tv_tensors as T
from ember.vision.transforms import v2
from ember.vision.transforms.v2 import functional as F

RNG = np.random.default_rng(17)


def synthetic_image(h=60, w=72):
    return ember.tensor(RNG.integers(0, 256, (3, h, w), dtype=np.uint8))


def test_classification_pipeline_equals_its_functional_steps():
    img = synthetic_image()
    transforms = v2.Compose([
        v2.RandomResizedCrop(size=(32, 32), antialias=True),
        v2.RandomHorizontalFlip(p=0.5),
        v2.ToDtype(ember.float32, scale=True),
        v2.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])
    ember.manual_seed(5)
    out = transforms(img)
    ember.manual_seed(5)
    params = transforms.transforms[0].make_params([img])
    flip = float(ember.rand(1).item()) < 0.5
    # the same steps in torch: crop, torch's uint8 resize, flip, scale, normalize
    x = torch.tensor(img.numpy())[None, :, params["top"]:params["top"] + params["height"],
                                  params["left"]:params["left"] + params["width"]]
    x = torch.nn.functional.interpolate(x, size=(32, 32), mode="bilinear", antialias=True,
                                        align_corners=False)[0]
    x = x.flip(-1) if flip else x
    x = x.to(torch.float32).mul(1.0 / 255)
    x = (x - torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)) / torch.tensor(
        [0.229, 0.224, 0.225]).view(3, 1, 1)
    assert type(out) is ember.Tensor and out.shape == (3, 32, 32)
    torch.testing.assert_close(torch.from_numpy(out.numpy()), x)


def test_detection_boxes_move_with_the_image():
    img = synthetic_image()
    boxes = T.BoundingBoxes([[15, 10, 37, 51], [27, 34, 51, 51], [13, 34, 21, 42]],
                            format="XYXY", canvas_size=img.shape[-2:])
    transforms = v2.Compose([v2.RandomResizedCrop(size=(32, 32), antialias=True),
                             v2.RandomPhotometricDistort(p=1), v2.RandomHorizontalFlip(p=1)])
    ember.manual_seed(9)
    out_img, out_boxes = transforms(img, boxes)
    ember.manual_seed(9)
    params = transforms.transforms[0].make_params([img, boxes])
    expected = F.horizontal_flip(F.resized_crop(boxes, **params, size=[32, 32]))
    assert type(out_img) is ember.Tensor and type(out_boxes) is T.BoundingBoxes
    assert out_boxes.canvas_size == (32, 32)
    np.testing.assert_array_equal(out_boxes.numpy(), expected.numpy())


def test_arbitrary_input_structure():
    img = T.Image(synthetic_image(20, 24))
    boxes = T.BoundingBoxes([[1, 2, 10, 12]], format="XYXY", canvas_size=(20, 24))
    label = 3
    out = v2.RandomHorizontalFlip(p=1)(img, (boxes, label), {"Hello": "World"})
    out_img, (out_boxes, out_label), extra = out
    assert out_label == 3 and extra == {"Hello": "World"}
    assert out_boxes.tolist() == [[14, 2, 23, 12]]
    np.testing.assert_array_equal(out_img.numpy(), img.numpy()[..., ::-1])


class Heatmap(T.TVTensor):
    """A user TVTensor: the docs' custom-TVTensor example."""


def test_custom_tv_tensor_kernel_and_passthrough():
    heat = Heatmap.wrap(ember.arange(12, dtype=ember.float32).reshape(3, 4), like=None)
    # without a kernel, transforms pass it through and the functional refuses it
    assert v2.RandomHorizontalFlip(p=1)(heat) is heat
    with pytest.raises(TypeError, match="Functional F.horizontal_flip supports inputs"):
        F.horizontal_flip(heat)

    @F.register_kernel(F.horizontal_flip, Heatmap)
    def _flip_heatmap(inpt):
        return T.wrap(F.horizontal_flip_image(F._utils.unwrap(inpt)), like=inpt)

    out = v2.RandomHorizontalFlip(p=1)(heat)
    assert type(out) is Heatmap
    np.testing.assert_array_equal(out.numpy(), heat.numpy()[:, ::-1])
    with pytest.raises(ValueError, match="builtin tv_tensor classes"):
        F.register_kernel(F.horizontal_flip, T.Image)


def test_to_pil_and_back():
    img = T.Image(synthetic_image(8, 9))
    pil = v2.ToPILImage()(img)
    assert pil.size == (9, 8)
    back = v2.PILToTensor()(pil)
    assert type(back) is ember.Tensor
    np.testing.assert_array_equal(back.numpy(), img.numpy())


def test_containers_and_lambda():
    img = T.Image(synthetic_image(10, 12))
    flip = v2.RandomHorizontalFlip(p=1)
    flipped = img.numpy()[..., ::-1]
    assert v2.RandomApply([flip], p=0.0)(img) is img
    np.testing.assert_array_equal(v2.RandomApply([flip], p=1.0)(img).numpy(), flipped)
    choice = v2.RandomChoice([flip, v2.Identity()], p=[1.0, 0.0])
    np.testing.assert_array_equal(choice(img).numpy(), flipped)
    assert choice.p == [1.0, 0.0]
    ember.manual_seed(0)
    order = ember.randperm(2).tolist()
    ember.manual_seed(0)
    out = v2.RandomOrder([v2.Pad([0, 0, 3, 0]), v2.CenterCrop((10, 12))])(img)
    expected = img.numpy()
    for idx in order:  # the crop keeps the left 12 columns or the padded right ones
        expected = (np.pad(expected, ((0, 0), (0, 0), (0, 3))) if idx == 0
                    else expected[..., :, (expected.shape[-1] - 12 + 1) // 2:][..., :12])
    np.testing.assert_array_equal(out.numpy(), expected)
    boxes = T.BoundingBoxes([[0, 0, 2, 2]], format="XYXY", canvas_size=(10, 12))
    double = v2.Lambda(lambda x: x * 2, T.BoundingBoxes)
    out_img, out_boxes = double(img, boxes)
    assert out_img is img and out_boxes.tolist() == [[0, 0, 4, 4]]
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        v2.Lambda(3)
    with pytest.raises(ValueError, match="Length of p doesn't match"):
        v2.RandomChoice([flip], p=[0.5, 0.5])


def test_reprs_follow_nn_module():
    class Compose(torch.nn.Module):
        def __init__(self, lines):
            super().__init__()
            self.lines = lines

        def extra_repr(self):
            return "\n".join(f"    {line}" for line in self.lines)

    inner = ["Resize(size=[9], interpolation=InterpolationMode.BILINEAR, antialias=True)",
             "RandomHorizontalFlip(p=0.5)", "ToDtype(scale=True)"]
    pipeline = v2.Compose([v2.Resize(9), v2.RandomHorizontalFlip(),
                           v2.ToDtype(ember.float32, scale=True)])
    assert repr(pipeline) == repr(Compose(inner))


def test_uniform_temporal_subsample_against_torch():
    data = RNG.random((2, 7, 3, 4, 4)).astype(np.float32)
    indices = torch.linspace(0, 6, 4).long()
    expected = torch.index_select(torch.tensor(data), -4, indices)
    out = v2.UniformTemporalSubsample(4)(T.Video(ember.tensor(data)))
    assert type(out) is T.Video
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


class AddNoiseToImages(v2.Transform):
    """The docs' custom transform: override make_params and transform."""

    def make_params(self, flat_inputs):
        return {"offset": float(ember.rand(1).item())}

    def transform(self, inpt, params):
        if isinstance(inpt, T.Image):
            return T.wrap(inpt + params["offset"], like=inpt)
        return inpt


def test_custom_transform_shares_params_across_the_sample():
    a, b = T.Image(ember.zeros(1, 2, 2)), T.Image(ember.zeros(1, 2, 2))
    boxes = T.BoundingBoxes([[0, 0, 1, 1]], format="XYXY", canvas_size=(2, 2))
    out_a, out_b, out_boxes = AddNoiseToImages()(a, b, boxes)
    assert type(out_a) is T.Image and out_boxes is boxes
    np.testing.assert_array_equal(out_a.numpy(), out_b.numpy())
    assert float(out_a[0, 0, 0]) > 0.0


@pytest.mark.parametrize("call", [
    lambda x: F.resize(x, [5, 7]),
    lambda x: F.resized_crop(x, 1, 2, 6, 5, [4, 4]),
    lambda x: F.affine(x, 20.0, [1, -1], 0.9, [5.0, 0.0], interpolation="bilinear"),
    lambda x: F.normalize(x, [0.2, 0.4], [0.5, 0.25]),
    lambda x: F.rotate(x, 30.0, interpolation="bilinear", expand=True),
])
def test_gradients_flow_through_tv_tensors(call):
    data = RNG.random((2, 8, 9))
    x = ember.tensor(data, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: call(T.Image(t)), (x,))
    out = call(T.Image(x))
    assert type(out) is T.Image and out.requires_grad
