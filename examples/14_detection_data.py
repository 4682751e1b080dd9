"""14 - Object-detection data: boxes that follow the image, IoU losses, NMS.

Run:  python examples/14_detection_data.py

Detection targets are boxes, not labels: when an augmentation flips or resizes the image,
its boxes must move with it. torchvision's transforms.v2 does that by type: an Image, the
BoundingBoxes (with their format and canvas size) and a Mask passed together get one set
of random draws. torchvision.ops then gives the box arithmetic a detector is trained and
evaluated with: IoU, the generalized-IoU loss, and non-maximum suppression.
"""

import ember as torch  # in PyTorch: import torch
from ember import nn   # in PyTorch: from torch import nn
from ember.vision import tv_tensors  # torchvision.tv_tensors
from ember.vision.ops import box_iou, generalized_box_iou_loss, nms  # torchvision.ops
from ember.vision.transforms import v2  # torchvision.transforms.v2

torch.manual_seed(0)


def make_sample(index):
    """A 3x48x64 image holding one bright rectangle; its box is the target."""
    x0, y0 = 4 + 3 * (index % 8), 6 + 2 * (index % 5)
    width, height = 14 + index % 6, 10 + index % 4
    image = torch.zeros(3, 48, 64, dtype=torch.uint8)
    image[:, y0:y0 + height, x0:x0 + width] = 200
    box = tv_tensors.BoundingBoxes([[x0, y0, x0 + width, y0 + height]], format="XYXY",
                                   canvas_size=(48, 64))
    return tv_tensors.Image(image), box


augment = v2.Compose([
    v2.RandomHorizontalFlip(p=0.5),
    v2.Resize((24, 32)),                      # the boxes are scaled by the same factors
    v2.ToDtype(torch.float32, scale=True),    # uint8 0..255 -> float 0..1 (boxes untouched)
])

images, boxes = zip(*(augment(*make_sample(i)) for i in range(64)))
images, boxes = torch.stack(images), torch.cat(boxes)
print("batch:", tuple(images.shape), "boxes:", tuple(boxes.shape), "canvas: (24, 32)")
# The box still frames the rectangle after the flip and resize: the pixels inside are lit.
x0, y0, x1, y1 = boxes[0].round().int().tolist()
print("box 0 covers lit pixels:", bool(images[0, 0, y0:y1, x0:x1].mean() > 0.5))

# A tiny box regressor: predict (x0, y0, x1, y1) in pixels, trained with the GIoU loss.
model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 24 * 32, 64), nn.ReLU(), nn.Linear(64, 4))
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
scale = torch.tensor([32.0, 24.0, 32.0, 24.0])


def predict(batch):
    corners = model(batch).sigmoid() * scale
    low = torch.minimum(corners[:, :2], corners[:, 2:])
    high = torch.maximum(corners[:, :2], corners[:, 2:]) + 1.0  # never an empty box
    return torch.cat([low, high], dim=1)


for step in range(301):
    loss = generalized_box_iou_loss(predict(images), boxes, reduction="mean")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(f"step {step:3d}  GIoU loss {loss.item():.3f}")

with torch.no_grad():
    predicted = predict(images)
ious = box_iou(predicted, boxes).diagonal()
print(f"mean IoU with the true boxes: {ious.mean().item():.2f}")

# Non-maximum suppression: of overlapping candidates keep the best-scoring one.
candidates = torch.cat([predicted[:1], predicted[:1] + 1.0, torch.tensor([[0.0, 0.0, 4.0, 4.0]])])
scores = torch.tensor([0.9, 0.8, 0.7])
print("kept after NMS (IoU > 0.5 suppressed):", nms(candidates, scores, 0.5).tolist())
