"""ember: PyTorch's API on NumPy (CPU) and CuPy (CUDA).

``import ember as torch`` and write PyTorch code.
"""

# ruff: noqa: F401  (this module re-exports the public namespace)

__version__ = "0.1.0"

from ._backend import (
    device, get_default_device, get_default_dtype, set_default_device, set_default_dtype,
)
from ._backend.dtypes import (
    bfloat16, bool_ as bool, complex64, complex128, dtype, float16, float32, float64,
    int8, int16, int32, int64, uint8, uint16, uint32, uint64,
)
from ._backend.dtypes import qint8, qint32, quint8
from ._backend.dtypes import (
    complex32, float8_e4m3fn, float8_e4m3fnuz, float8_e5m2, float8_e5m2fnuz, float8_e8m0fnu,
)
from ._tensor import Size, Tensor
from ._memory_format import (  # noqa: F401
    channels_last, channels_last_3d, contiguous_format, memory_format, preserve_format,
)
from ._tensor_str import set_printoptions, get_printoptions
from . import autograd
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .autograd import is_anomaly_enabled, is_inference_mode_enabled
from . import _ops
from ._ops.creation import *  # noqa: F401,F403
from ._ops.pointwise import *  # noqa: F401,F403
from ._ops.unary import *  # noqa: F401,F403
from ._ops.reduce import *  # noqa: F401,F403
from ._ops.sort import *  # noqa: F401,F403
from ._ops.shape import *  # noqa: F401,F403
from ._ops.index import *  # noqa: F401,F403
from ._ops.linalg import *  # noqa: F401,F403
from ._ops.random import *  # noqa: F401,F403
from ._ops.activation import *  # noqa: F401,F403
from ._ops.complex import *  # noqa: F401,F403
from ._ops.spectral import *  # noqa: F401,F403
from ._ops.scientific import *  # noqa: F401,F403
from ._ops.combine import *  # noqa: F401,F403
from ._ops.linalg_legacy import *  # noqa: F401,F403
from ._ops.quantized import *  # noqa: F401,F403
from ._ops.inplace_more import *  # noqa: F401,F403
from ._ops.tensor_more import *  # noqa: F401,F403
from ._misc import *  # noqa: F401,F403
from ._aliases import *  # noqa: F401,F403
from ._storage import TypedStorage, UntypedStorage  # noqa: F401
from ._linalg_lobpcg import lobpcg  # noqa: F401
from . import (  # noqa: F401
    accelerator, backends, cuda, linalg, nn, optim, random, return_types, serialization, utils,
)
from .serialization import *  # noqa: F401,F403
from . import amp  # noqa: F401
from .amp import autocast, get_autocast_dtype, is_autocast_enabled  # noqa: F401
from . import multiprocessing, special, testing  # noqa: F401,E402
from . import _C, overrides  # noqa: F401,E402  (the __torch_function__ protocol)
overrides._own_tensor_methods()  # Tensor.sum is not torch.sum, as in PyTorch
from ._sym import SymBool, SymFloat, SymInt  # noqa: F401,E402

# Namespaces imported on first use (``ember.distributions``, ``import ember.fft``): each
# costs start-up time that a script not using it should not pay.
_LAZY_SUBMODULES = frozenset({
    "ao", "distributed", "distributions", "fft", "func", "futures", "fx", "jit", "onnx",
    "quantization", "serve", "signal",
    "compiler", "cpu", "hub", "mps", "xpu", "quasirandom",
    "export", "library", "ops",  # torch.export, torch.library, torch.ops
    "masked", "_dynamo",  # torch._dynamo (reached as an attribute after import torch)
    "package",
    "monitor", "storage", "types",  # torch.monitor, torch.storage, torch.types
})


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    if name == "vmap":
        from .func import vmap

        return vmap
    if name == "Storage":  # the default dtype's storage class, as torch.Storage
        from ._storage_legacy import default_storage_class

        return default_storage_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _LAZY_SUBMODULES | {"vmap", "Storage"})


from . import sparse  # noqa: F401,E402
from .nested import jagged  # noqa: F401,E402  (also binds ember.nested)
from .sparse import layout, smm, sparse_coo, sparse_coo_tensor, spmm, strided  # noqa: F401,E402
from .sparse import (  # noqa: F401,E402
    sparse_bsc, sparse_bsc_tensor, sparse_bsr, sparse_bsr_tensor, sparse_compressed_tensor,
    sparse_csc, sparse_csc_tensor, sparse_csr, sparse_csr_tensor,
)

half, float, double = float16, float32, float64  # noqa: A001 - PyTorch's aliases
cfloat, cdouble, chalf = complex64, complex128, complex32
short, int, long = int16, int32, int64  # noqa: A001
from ._toplevel_more import *  # noqa: F401,F403,E402  (sym_*, cond, dlpack, legacy switches)
from .nn._scaled_mm import _scaled_mm  # noqa: F401,E402  (torch._scaled_mm, float8 GEMM)
