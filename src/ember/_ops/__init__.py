"""The ops layer: every differentiable primitive, one file per family.

Each family module exports its public functions (``__all__``, re-exported by ``ember``)
and a ``TENSOR_METHODS`` table; binding those tables here is the only place Tensor gets
its op methods, so ``_tensor.py`` imports no op family and no import cycle forms.
"""

from .._tensor import Tensor
from . import (
    activation, combine, complex, conv, creation, index, linalg, linalg_legacy, loss, norm,
    pointwise, pool, random, reduce, resample, scientific, shape, sort, spectral, unary,
)
from . import quantized
from . import inplace_more, tensor_more
from ..sparse import _methods as sparse_methods

FAMILIES = [
    creation, pointwise, unary, reduce, sort, shape, index, linalg, random, activation, loss,
    conv, pool, norm, resample, complex, spectral, scientific, combine,
    linalg_legacy, inplace_more, tensor_more,
    quantized, sparse_methods,
]

for _family in FAMILIES:
    for _name, _fn in _family.TENSOR_METHODS.items():
        setattr(Tensor, _name, _fn)

from .. import _device_meta  # after the families: it wraps the samplers bound above

for _name, _fn in _device_meta.TENSOR_METHODS.items():
    setattr(Tensor, _name, _fn)

from .. import _dlpack  # noqa: E402 - Tensor.__dlpack__ / __dlpack_device__

for _name, _fn in _dlpack.TENSOR_METHODS.items():
    setattr(Tensor, _name, _fn)
