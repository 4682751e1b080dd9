"""``torch.overrides.get_testing_overrides``: a dummy for every overridable function.

PyTorch's dict maps each function a ``__torch_function__`` can see to a lambda with the
same signature that returns -1; test suites of tensor-like libraries use it to check
that their handler covers everything. ember builds the same dict from its own dispatch
table: each dummy is compiled with the parameters of ember's function (names, kinds and
defaults), so ``inspect.signature`` and argument binding behave as the real function's.
"""

from __future__ import annotations

import inspect

# What ember dispatches but PyTorch's dict leaves out (functions it ignores, such as
# factories and in-place aliases, and names PyTorch no longer has), by PyTorch's name
# without "torch.": keeps the keys the same as PyTorch's for the functions both have.
_NOT_IN_PYTORCH_DICT = frozenset((
    "Tensor.__rdiv__", "Tensor.eig", "Tensor.logaddexp2_", "Tensor.logaddexp_", "Tensor.lstsq",
    "Tensor.new", "Tensor.new_empty", "Tensor.new_empty_strided", "Tensor.new_full",
    "Tensor.new_ones", "Tensor.new_tensor", "Tensor.new_zeros", "Tensor.solve", "Tensor.stride",
    "Tensor.symeig", "Tensor.to_sparse_bsc", "Tensor.to_sparse_bsr", "Tensor.to_sparse_coo",
    "Tensor.to_sparse_csc", "Tensor.to_sparse_csr", "Tensor.unflatten", "abs_", "acos_", "acosh_",
    "addmv_", "as_strided_", "resize_as_",
    "alpha_dropout_", "arange", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_",
    "arctanh_", "as_strided", "as_tensor", "asarray", "asin_", "asinh_", "atan_", "atanh_",
    "autograd.backward", "autograd.grad", "bartlett_window", "bilinear", "blackman_window",
    "ceil_", "clamp_", "clamp_max_", "clamp_min_", "clip_", "conj_physical_", "cos_", "cosh_",
    "cosine_similarity", "deg2rad_", "detach_", "dropout_", "eig", "empty", "empty_permuted",
    "empty_strided", "erf_", "erfc_", "exp2_", "exp_", "expm1_", "eye",
    "feature_alpha_dropout_", "feature_dropout_", "fft.fftfreq", "fft.rfftfreq", "fill",
    "fill_", "fix_", "floor_", "frac_", "full", "gcd_", "hamming_window", "hann_window", "i0_",
    "index_put_", "kaiser_window", "lcm_", "ldexp_", "linalg.logdet", "linalg.wrap_out",
    "linspace", "log10_", "log1p_", "log2_", "log_", "logit_", "logspace", "lstsq",
    "matrix_rank", "mm", "nan_to_num_", "neg_", "negative_", "nn.functional.celu_",
    "nn.functional.elu_", "nn.functional.grouped_mm", "nn.functional.hardsigmoid",
    "nn.functional.hardswish", "nn.functional.scaled_grouped_mm", "nn.functional.scaled_mm",
    "nn.functional.hardtanh_", "nn.functional.leaky_relu_", "nn.functional.relu_",
    "nn.functional.rrelu_", "nn.functional.selu_", "nn.functional.sigmoid",
    "nn.functional.tanh", "nn.functional.threshold_", "nn.functional.upsample",
    "nn.functional.upsample_bilinear", "nn.functional.upsample_nearest", "nn.init.constant",
    "nn.init.dirac", "nn.init.dirac_", "nn.init.eye", "nn.init.eye_", "nn.init.kaiming_normal",
    "nn.init.kaiming_normal_",
    "nn.init.kaiming_uniform", "nn.init.normal", "nn.init.ones_", "nn.init.orthogonal",
    "nn.init.orthogonal_", "nn.init.sparse", "nn.init.sparse_", "nn.init.trunc_normal_",
    "nn.init.uniform", "nn.init.xavier_normal", "nn.init.xavier_normal_",
    "nn.init.xavier_uniform", "nn.init.xavier_uniform_", "nn.init.zeros_", "normal", "ones",
    "pairwise_distance", "rad2deg_", "rand", "rand_like", "randint", "randint_like", "randn",
    "randn_like", "randperm", "range", "reciprocal_", "result_type", "round_", "rsqrt_",
    "scalar_tensor", "sigmoid_", "sin_", "sinc_", "sinh_", "solve", "sparse_bsc_tensor",
    "sparse_bsr_tensor", "sparse_compressed_tensor", "sparse_coo_tensor", "sparse_csc_tensor",
    "sparse_csr_tensor",
    "sqrt_", "square_", "symeig", "tan_", "tanh_", "tensor", "tril_indices", "triu_indices",
    "trunc_", "vander", "xlogy_", "zero_", "zeros",
    "from_dlpack", "native_channel_shuffle", "segment_reduce", "sym_int", "to_dlpack",
    "while_loop",
))

_KIND_MARKS = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}


def _dummy(fn, name: str):
    """A function taking ``fn``'s parameters and returning -1."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin getter: PyTorch's dummies take ``self``
        signature = inspect.Signature([inspect.Parameter("self",
                                                          inspect.Parameter.POSITIONAL_ONLY)])
    defaults: list = []
    parts: list = []
    seen_keyword_only = False
    previous_kind = None
    for param in signature.parameters.values():
        kind = param.kind
        if previous_kind is inspect.Parameter.POSITIONAL_ONLY and kind is not previous_kind:
            parts.append("/")
        if kind is inspect.Parameter.KEYWORD_ONLY and not seen_keyword_only:
            parts.append("*")
        if kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_POSITIONAL):
            seen_keyword_only = True
        text = _KIND_MARKS.get(kind, "") + param.name
        if param.default is not inspect.Parameter.empty:
            defaults.append(param.default)
            text += f"=_defaults[{len(defaults) - 1}]"
        parts.append(text)
        previous_kind = kind
    if previous_kind is inspect.Parameter.POSITIONAL_ONLY:
        parts.append("/")
    source = f"def {name}({', '.join(parts)}):\n    return -1\n"
    namespace: dict = {"_defaults": defaults}
    exec(compile(source, f"<ember.overrides testing dummy {name}>", "exec"),  # noqa: S102
         namespace)
    return namespace[name]


def get_testing_overrides(table, resolve_name) -> dict:
    """{function: dummy} for the rows of ``overrides._table()`` PyTorch's dict has."""
    found: dict = {}
    for owner, name, fn, public, _qualname, *_rest in table:
        if resolve_name(public).removeprefix("torch.") in _NOT_IN_PYTORCH_DICT:
            continue
        label = name if name.isidentifier() else "dummy"
        if public not in found:
            target = public if public is fn else fn
            found[public] = _dummy(getattr(target, "__wrapped__", target), label)
        if owner is not None and fn is not public and not _qualname.endswith("__get__") \
                and fn not in found:
            # an operator slot (Tensor.__add__) is a key of its own, as in PyTorch
            found[fn] = _dummy(getattr(fn, "__wrapped__", fn), label)
    return found
