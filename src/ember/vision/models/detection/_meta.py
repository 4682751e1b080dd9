"""COCO metadata and the detection inference preset shared by the detection weights."""

from __future__ import annotations

from ember import nn

from .._api import Weights

_COCO_CATEGORIES = [
    "__background__", "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train",
    "truck", "boat", "traffic light", "fire hydrant", "N/A", "stop sign", "parking meter",
    "bench", "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra",
    "giraffe", "N/A", "backpack", "umbrella", "N/A", "N/A", "handbag", "tie", "suitcase",
    "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove",
    "skateboard", "surfboard", "tennis racket", "bottle", "N/A", "wine glass", "cup", "fork",
    "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot",
    "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed", "N/A",
    "dining table", "N/A", "N/A", "toilet", "N/A", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "N/A",
    "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
]
_COCO_PERSON_CATEGORIES = ["no person", "person"]
_COCO_PERSON_KEYPOINT_NAMES = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
]


class ObjectDetection(nn.Module):
    """The detection weights' preset: a PIL image or tensor to float in [0, 1]; the
    model's own transform does the resizing and normalisation."""

    def forward(self, img):
        import ember
        from ember.vision.transforms import functional as F

        if not isinstance(img, ember.Tensor):
            img = F.pil_to_tensor(img)
        return F.convert_image_dtype(img, ember.float)

    def __repr__(self) -> str:
        return self.__class__.__name__ + "()"

    def describe(self) -> str:
        return ("Accepts ``PIL.Image``, batched ``(B, C, H, W)`` and single ``(C, H, W)`` "
                "image ``torch.Tensor`` objects. The images are rescaled to ``[0.0, 1.0]``.")


_URL = "https://download.pytorch.org/models/"
_PAPER_RECIPE = "These weights were produced by following a similar training recipe as on the paper."
_ENHANCED_RECIPE = ("These weights were produced using an enhanced training recipe to boost the "
                    "model accuracy.")


def coco_weights(file: str, num_params: int, recipe: str, metrics: dict, ops: float,
                 file_size: float, categories=None, **meta) -> Weights:
    """A detection Weights entry: COCO categories and torchvision's metadata fields."""
    info = {"categories": categories or _COCO_CATEGORIES, "min_size": (1, 1),
            "num_params": num_params, "recipe": recipe,
            "_metrics": {"COCO-val2017": metrics}, "_ops": ops, "_file_size": file_size,
            "_docs": _PAPER_RECIPE}
    info.update(meta)
    return Weights(url=_URL + file, transforms=ObjectDetection, meta=info)
