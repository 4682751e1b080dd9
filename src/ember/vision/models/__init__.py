"""ember.vision.models: torchvision's classification architectures and weight enums.

State-dict keys equal torchvision's, so its checkpoint files load into these models.
"""

from __future__ import annotations

from . import (  # noqa: F401 - torchvision's subpackages
    detection,
    optical_flow,
    quantization,
    segmentation,
    video,
)
from ._api import (
    Weights,
    WeightsEnum,
    get_model,
    get_model_builder,
    get_model_weights,
    get_weight,
    list_models,
)
from .alexnet import *  # noqa: F401,F403
from .alexnet import __all__ as _alexnet_all
from .convnext import *  # noqa: F401,F403
from .convnext import __all__ as _convnext_all
from .densenet import *  # noqa: F401,F403
from .densenet import __all__ as _densenet_all
from .efficientnet import *  # noqa: F401,F403
from .efficientnet import __all__ as _efficientnet_all
from .googlenet import *  # noqa: F401,F403
from .googlenet import __all__ as _googlenet_all
from .inception import *  # noqa: F401,F403
from .inception import __all__ as _inception_all
from .maxvit import *  # noqa: F401,F403
from .maxvit import __all__ as _maxvit_all
from .mnasnet import *  # noqa: F401,F403
from .mnasnet import __all__ as _mnasnet_all
from .mobilenet import *  # noqa: F401,F403
from .mobilenet import __all__ as _mobilenet_all
from .regnet import *  # noqa: F401,F403
from .regnet import __all__ as _regnet_all
from .resnet import *  # noqa: F401,F403
from .resnet import __all__ as _resnet_all
from .shufflenetv2 import *  # noqa: F401,F403
from .shufflenetv2 import __all__ as _shufflenet_all
from .squeezenet import *  # noqa: F401,F403
from .squeezenet import __all__ as _squeezenet_all
from .swin_transformer import *  # noqa: F401,F403
from .swin_transformer import __all__ as _swin_all
from .vgg import *  # noqa: F401,F403
from .vgg import __all__ as _vgg_all
from .vision_transformer import *  # noqa: F401,F403
from .vision_transformer import __all__ as _vit_all

__all__ = ["Weights", "WeightsEnum", "get_model", "get_model_builder", "get_model_weights",
           "get_weight", "list_models", *_alexnet_all, *_vgg_all, *_densenet_all,
           *_efficientnet_all, *_mobilenet_all, *_resnet_all, *_squeezenet_all, *_vit_all,
           *_googlenet_all, *_inception_all, *_mnasnet_all, *_shufflenet_all,
           *_regnet_all, *_convnext_all, *_swin_all,
           *_maxvit_all]
