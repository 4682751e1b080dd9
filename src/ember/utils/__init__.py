"""``ember.utils``: data loading, safetensors files, model summaries and graph drawing."""

from . import data  # noqa: F401  (``torch.utils.data`` is reachable after ``import torch``)

__all__: list[str] = []
