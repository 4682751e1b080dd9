"""The files TensorBoard's projector reads for ``add_embedding``: tensors.tsv, metadata.tsv,
sprite.png, and the projector_config.pbtxt that lists every embedding of a run."""

from __future__ import annotations

import io
import math
import os

import numpy as np

from ._convert import make_grid, make_np


def make_tsv(metadata, save_path, metadata_header=None) -> None:
    if not metadata_header:
        lines = [str(x) for x in metadata]
    else:
        if len(metadata_header) != len(metadata[0]):
            raise AssertionError(
                "len of header must be equal to the number of columns in metadata")
        lines = ["\t".join(str(e) for e in row) for row in [metadata_header] + list(metadata)]
    with open(os.path.join(save_path, "metadata.tsv"), "wb") as handle:
        handle.write(("\n".join(lines) + "\n").encode())


def make_sprite(label_img, save_path) -> None:
    """The label images tiled into one square sprite sheet."""
    from PIL import Image

    images = make_np(label_img)
    grid = make_grid(images, ncols=math.ceil(images.shape[0] ** 0.5))
    square = np.zeros((grid.shape[2], grid.shape[2], 3))
    hwc = grid.transpose(1, 2, 0)
    square[:hwc.shape[0], :, :] = hwc
    buffer = io.BytesIO()
    Image.fromarray(np.uint8((square * 255).clip(0, 255))).save(buffer, format="PNG")
    with open(os.path.join(save_path, "sprite.png"), "wb") as handle:
        handle.write(buffer.getvalue())


def make_mat(matrix, save_path) -> None:
    with open(os.path.join(save_path, "tensors.tsv"), "wb") as handle:
        handle.writelines(("\t".join(str(value.item()) for value in row) + "\n").encode() for row in matrix)


def embedding_info(metadata, label_img, subdir, global_step, tag):
    from tensorboard.plugins.projector.projector_config_pb2 import EmbeddingInfo

    info = EmbeddingInfo()
    info.tensor_name = f"{tag}:{str(global_step).zfill(5)}"
    info.tensor_path = os.path.join(subdir, "tensors.tsv")
    if metadata is not None:
        info.metadata_path = os.path.join(subdir, "metadata.tsv")
    if label_img is not None:
        info.sprite.image_path = os.path.join(subdir, "sprite.png")
        info.sprite.single_image_dim.extend([label_img.shape[3], label_img.shape[2]])
    return info


def write_pbtxt(save_path, contents: str) -> None:
    with open(os.path.join(save_path, "projector_config.pbtxt"), "wb") as handle:
        handle.write(contents.encode())
