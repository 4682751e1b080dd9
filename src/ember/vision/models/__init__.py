"""ember.vision.models: torchvision's classification architectures and weight enums.

State-dict keys equal torchvision's, so its checkpoint files load into these models.
"""

from __future__ import annotations

from . import _api
from ._api import Weights, WeightsEnum, get_model, get_model_builder, get_model_weights
from ._api import get_weight, list_models
from .resnet import *  # noqa: F401,F403
from .resnet import __all__ as _resnet_all

__all__ = ["Weights", "WeightsEnum", "get_model", "get_model_builder", "get_model_weights",
           "get_weight", "list_models", *_resnet_all]
