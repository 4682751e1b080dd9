"""Name tables of ``ember.overrides``: which public functions dispatch, how PyTorch names
them (``torch.functional.norm``, ``torch.Tensor.abs`` for ``__abs__``) and which are
written in Python in PyTorch (its not-implemented TypeError words those differently).
Data only, kept apart so overrides.py reads as the protocol itself."""

# Public functions that are configuration or utilities, not ops: PyTorch does not dispatch
# them (its get_ignored_functions, plus its pure-Python helpers that take no tensors); the
# last line: ember's array helpers that its namespaces happen to import.
_NOT_DISPATCHED = frozenset((
    "are_deterministic_algorithms_enabled", "broadcast_shapes", "calculate_gain", "can_cast",
    "check_lapack_dtype", "compile", "float_np", "from_numpy", "frombuffer", "get_autocast_dtype",
    "get_default_device",
    "get_default_dtype", "get_float32_matmul_precision", "get_num_interop_threads",
    "get_num_threads", "get_printoptions", "get_rng_state", "initial_seed", "is_anomaly_enabled",
    "is_autocast_enabled", "is_deterministic_algorithms_warn_only_enabled", "is_grad_enabled",
    "is_inference_mode_enabled", "is_storage", "is_tensor", "lapack_errors", "load",
    "manual_seed", "promote_types", "save", "seed", "set_default_device", "set_default_dtype",
    "set_default_tensor_type", "set_float32_matmul_precision", "set_num_interop_threads",
    "set_num_threads", "set_printoptions", "set_rng_state", "to_dtype", "type_name", "typename",
    "use_deterministic_algorithms", "write_out", "xp_of",
    # the process switches of ember._toplevel_flags / amp._switches / _sym_ops, cond, from_file
    "autocast_decrement_nesting", "autocast_increment_nesting", "clear_autocast_cache",
    "compiled_with_cxx11_abi", "cond", "from_file", "get_autocast_cpu_dtype",
    "get_autocast_gpu_dtype", "get_deterministic_debug_mode", "init_num_threads",
    "is_anomaly_check_nan_enabled", "is_autocast_cache_enabled", "is_autocast_cpu_enabled",
    "is_warn_always_enabled", "set_anomaly_enabled", "set_autocast_cache_enabled",
    "set_autocast_cpu_dtype", "set_autocast_cpu_enabled", "set_autocast_dtype",
    "set_autocast_enabled", "set_autocast_gpu_dtype", "set_deterministic_debug_mode",
    "set_flush_denormal", "set_warn_always", "sym_constrain_range",
    "sym_constrain_range_for_size", "sym_fresh_size",
))
# Tensor attributes that never dispatch: construction, the protocol itself, NumPy and
# pickling hooks (PyTorch's own list holds the same kinds of names).
_TENSOR_IGNORED = frozenset({"as_subclass", "_make_subclass", "__torch_function__"})
_TENSOR_DUNDERS = (
    "__abs__", "__add__", "__and__", "__bool__", "__complex__", "__contains__", "__div__",
    "__eq__", "__float__", "__floordiv__", "__format__", "__ge__", "__getitem__", "__gt__",
    "__iadd__", "__iand__", "__ifloordiv__", "__ilshift__", "__imod__", "__imul__", "__index__",
    "__int__", "__invert__", "__ior__", "__ipow__", "__irshift__", "__isub__", "__itruediv__",
    "__ixor__", "__le__", "__len__", "__lshift__", "__lt__", "__matmul__", "__mod__", "__mul__",
    "__ne__", "__neg__", "__or__", "__pos__", "__pow__", "__radd__", "__rand__", "__repr__",
    "__reversed__", "__rfloordiv__", "__rlshift__", "__rmatmul__", "__rmod__", "__rmul__",
    "__ror__", "__rpow__", "__rrshift__", "__rshift__", "__rsub__", "__rtruediv__", "__rxor__",
    "__setitem__", "__sub__", "__truediv__", "__xor__",
)
_NOT_OPERANDS = frozenset((  # slots that do not take a second operand Python could ask
    "__abs__", "__bool__", "__complex__", "__contains__", "__float__", "__format__", "__index__",
    "__getitem__", "__int__", "__invert__", "__len__", "__neg__", "__pos__", "__repr__",
    "__reversed__", "__setitem__",
))
_TENSOR_PROPERTIES = ("T", "mT", "H", "mH", "real", "imag", "data", "shape", "dtype", "device",
                      "ndim", "requires_grad", "is_leaf", "grad")
# Functions PyTorch writes in Python (its not-implemented TypeError is worded differently
# from its builtins'): in torch, torch.nn.functional (all but the builtins below), Tensor.
_PY_TORCH = frozenset((
    "atleast_1d", "atleast_2d", "atleast_3d", "block_diag", "broadcast_tensors", "cartesian_prod",
    "cdist", "chain_matmul", "einsum", "lu", "meshgrid", "norm", "split", "stft", "tensordot",
    "unique", "unique_consecutive", "unravel_index",
))
# What PyTorch defines in torch/functional.py: named torch.functional.<name>
_TORCH_FUNCTIONAL = frozenset((
    "atleast_1d", "atleast_2d", "atleast_3d", "block_diag", "broadcast_tensors",
    "cartesian_prod", "cdist", "chain_matmul", "einsum", "istft", "lu", "meshgrid", "norm",
    "pca_lowrank", "split", "stft", "svd_lowrank", "tensordot", "unique", "unique_consecutive",
    "unravel_index",
))
_C_FUNCTIONAL = frozenset((
    "adaptive_avg_pool1d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "bilinear", "celu_",
    "channel_shuffle", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "cosine_similarity", "elu_", "gelu", "hardshrink", "hardtanh_",
    "leaky_relu_", "linear", "logsigmoid", "native_channel_shuffle", "one_hot",
    "pairwise_distance", "pdist", "pixel_shuffle", "pixel_unshuffle", "prelu", "relu_", "rrelu_",
    "scaled_dot_product_attention", "selu_", "softplus", "softshrink", "threshold_",
))
_C_NN = frozenset((
    "avg_pool2d", "avg_pool3d", "elu_", "gelu", "hardtanh_", "leaky_relu_", "linear",
    "logsigmoid", "one_hot", "scaled_dot_product_attention", "softplus", "softshrink",
))
_PY_TENSOR = frozenset((
    "__contains__", "__floordiv__", "__format__", "__ipow__", "__iter__", "__len__", "__pow__",
    "__repr__", "__rfloordiv__", "__rlshift__", "__rmatmul__", "__rmod__", "__rpow__",
    "__rdiv__", "__rrshift__", "__rsub__", "backward", "istft", "lu", "norm", "register_hook",
    "register_post_accumulate_grad_hook", "share_memory_", "split", "stft", "unflatten", "unique",
    "unique_consecutive",
))
# The method PyTorch hands to __torch_function__ for an operator (``z + 1`` gives add)
_OPERATOR_METHODS = {
    "__add__": "add", "__radd__": "add", "__sub__": "sub", "__mul__": "mul", "__rmul__": "mul",
    "__truediv__": "div", "__div__": "div", "__pow__": "pow", "__matmul__": "matmul",
    "__neg__": "neg", "__pos__": "positive", "__abs__": "abs", "__lt__": "lt", "__le__": "le",
    "__gt__": "gt", "__ge__": "ge", "__ne__": "ne", "__mod__": "remainder", "__iadd__": "add_",
    "__isub__": "sub_", "__imul__": "mul_", "__itruediv__": "div_", "__idiv__": "div_",
    "__ifloordiv__": "floor_divide_", "__ipow__": "pow_", "__imod__": "remainder_",
    "__rtruediv__": "__rdiv__",
}
# Slots that are the very method objects in PyTorch (resolve_name gives the method's name)
_SLOT_ALIASES = frozenset({"__abs__", "__neg__", "__pos__"})
