"""ATen operator schemas of the ops ember's exported graphs call, for writing ``.pt2``.

torch's program format names every argument of a node as the ATen schema does
(``input``, ``weight``, ``bias``) and types it (``as_ints`` for ``int[]``,
``as_optional_tensors`` for ``Tensor?[]``); reading needs no schema (the names are in the
file), writing does. ember has no dispatcher holding ATen's schemas, so the ones its
graphs use are listed here, in ATen's own text (as ``str(op._schema)`` prints them in
torch 2.13), and parsed on first use. An op missing here is looked up in PyTorch when
torch is installed; otherwise it cannot be written to a .pt2 (``save`` raises naming
it), and adding it is adding its schema line.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from ..library._schema import _split_top  # commas outside brackets, as torch schemas nest

_SCHEMAS = (
    'aten::linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor',
    'aten::relu(Tensor self) -> Tensor',
    'aten::relu_(Tensor(a!) self) -> Tensor(a!)',
    'aten::gelu(Tensor self, *, str approximate="none") -> Tensor',
    'aten::silu(Tensor self) -> Tensor',
    'aten::sigmoid(Tensor self) -> Tensor',
    'aten::tanh(Tensor self) -> Tensor',
    'aten::conv1d(Tensor input, Tensor weight, Tensor? bias=None, SymInt[1] stride=[1], SymInt['
    '1] padding=[0], SymInt[1] dilation=[1], SymInt groups=1) -> Tensor',
    'aten::conv2d(Tensor input, Tensor weight, Tensor? bias=None, SymInt[2] stride=[1, 1], SymI'
    'nt[2] padding=[0, 0], SymInt[2] dilation=[1, 1], SymInt groups=1) -> Tensor',
    'aten::conv3d(Tensor input, Tensor weight, Tensor? bias=None, SymInt[3] stride=[1, 1, 1], S'
    'ymInt[3] padding=[0, 0, 0], SymInt[3] dilation=[1, 1, 1], SymInt groups=1) -> Tensor',
    'aten::conv_transpose2d.input(Tensor input, Tensor weight, Tensor? bias=None, SymInt[2] str'
    'ide=[1, 1], SymInt[2] padding=[0, 0], SymInt[2] output_padding=[0, 0], SymInt groups=1, Sy'
    'mInt[2] dilation=[1, 1]) -> Tensor',
    'aten::batch_norm(Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean, Tensor?'
    ' running_var, bool training, float momentum, float eps, bool cudnn_enabled) -> Tensor',
    'aten::layer_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight=None, Tensor? bia'
    's=None, float eps=1.0000000000000001e-05, bool cudnn_enable=True) -> Tensor',
    'aten::group_norm(Tensor input, int num_groups, Tensor? weight=None, Tensor? bias=None, flo'
    'at eps=1.0000000000000001e-05, bool cudnn_enabled=True) -> Tensor',
    'aten::instance_norm(Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean, Tens'
    'or? running_var, bool use_input_stats, float momentum, float eps, bool cudnn_enabled) -> T'
    'ensor',
    'aten::max_pool1d(Tensor self, int[1] kernel_size, int[1] stride=[], int[1] padding=[0], in'
    't[1] dilation=[1], bool ceil_mode=False) -> Tensor',
    'aten::max_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, int['
    '2] dilation=1, bool ceil_mode=False) -> Tensor',
    'aten::max_pool3d(Tensor self, int[3] kernel_size, int[3] stride=[], int[3] padding=0, int['
    '3] dilation=1, bool ceil_mode=False) -> Tensor',
    'aten::avg_pool1d(Tensor self, int[1] kernel_size, int[1] stride=[], int[1] padding=[0], bo'
    'ol ceil_mode=False, bool count_include_pad=True) -> Tensor',
    'aten::avg_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, bool'
    ' ceil_mode=False, bool count_include_pad=True, int? divisor_override=None) -> Tensor',
    'aten::avg_pool3d(Tensor self, int[3] kernel_size, int[3] stride=[], int[3] padding=0, bool'
    ' ceil_mode=False, bool count_include_pad=True, int? divisor_override=None) -> Tensor',
    'aten::adaptive_avg_pool1d(Tensor self, int[1] output_size) -> Tensor',
    'aten::adaptive_avg_pool2d(Tensor self, SymInt[2] output_size) -> Tensor',
    'aten::adaptive_max_pool2d(Tensor self, int[2] output_size) -> (Tensor, Tensor)',
    'aten::max_pool2d_with_indices(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] pa'
    'dding=0, int[2] dilation=1, bool ceil_mode=False) -> (Tensor, Tensor)',
    'aten::flatten.using_ints(Tensor(a) self, int start_dim=0, int end_dim=-1) -> Tensor(a)',
    'aten::unflatten.int(Tensor(a) self, int dim, SymInt[] sizes) -> Tensor(a)',
    'aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor',
    'aten::add.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor',
    'aten::add_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)',
    'aten::add_.Scalar(Tensor(a!) self, Scalar other, Scalar alpha=1) -> Tensor(a!)',
    'aten::sub.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor',
    'aten::sub.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor',
    'aten::sub_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)',
    'aten::mul.Tensor(Tensor self, Tensor other) -> Tensor',
    'aten::mul.Scalar(Tensor self, Scalar other) -> Tensor',
    'aten::mul_.Tensor(Tensor(a!) self, Tensor other) -> Tensor(a!)',
    'aten::div.Tensor(Tensor self, Tensor other) -> Tensor',
    'aten::div.Scalar(Tensor self, Scalar other) -> Tensor',
    'aten::div.Tensor_mode(Tensor self, Tensor other, *, str? rounding_mode) -> Tensor',
    'aten::div_.Tensor(Tensor(a!) self, Tensor other) -> Tensor(a!)',
    'aten::rsub.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor',
    'aten::rsub.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor',
    'aten::pow.Tensor_Scalar(Tensor self, Scalar exponent) -> Tensor',
    'aten::pow.Tensor_Tensor(Tensor self, Tensor exponent) -> Tensor',
    'aten::pow.Scalar(Scalar self, Tensor exponent) -> Tensor',
    'aten::neg(Tensor self) -> Tensor',
    'aten::abs(Tensor self) -> Tensor',
    'aten::exp(Tensor self) -> Tensor',
    'aten::log(Tensor self) -> Tensor',
    'aten::sqrt(Tensor self) -> Tensor',
    'aten::rsqrt(Tensor self) -> Tensor',
    'aten::sin(Tensor self) -> Tensor',
    'aten::cos(Tensor self) -> Tensor',
    'aten::eq.Tensor(Tensor self, Tensor other) -> Tensor',
    'aten::eq.Scalar(Tensor self, Scalar other) -> Tensor',
    'aten::ne.Tensor(Tensor self, Tensor other) -> Tensor',
    'aten::ne.Scalar(Tensor self, Scalar other) -> Tensor',
    'aten::lt.Tensor(Tensor self, Tensor other) -> Tensor',
    'aten::lt.Scalar(Tensor self, Scalar other) -> Tensor',
    'aten::le.Tensor(Tensor self, Tensor other) -> Tensor',
    'aten::le.Scalar(Tensor self, Scalar other) -> Tensor',
    'aten::gt.Tensor(Tensor self, Tensor other) -> Tensor',
    'aten::gt.Scalar(Tensor self, Scalar other) -> Tensor',
    'aten::ge.Tensor(Tensor self, Tensor other) -> Tensor',
    'aten::ge.Scalar(Tensor self, Scalar other) -> Tensor',
    'aten::remainder.Tensor(Tensor self, Tensor other) -> Tensor',
    'aten::remainder.Scalar(Tensor self, Scalar other) -> Tensor',
    'aten::floor_divide(Tensor self, Tensor other) -> Tensor',
    'aten::where.self(Tensor condition, Tensor self, Tensor other) -> Tensor',
    'aten::clamp(Tensor self, Scalar? min=None, Scalar? max=None) -> Tensor',
    'aten::clamp_min(Tensor self, Scalar min) -> Tensor',
    'aten::clamp_max(Tensor self, Scalar max) -> Tensor',
    'aten::maximum(Tensor self, Tensor other) -> Tensor',
    'aten::minimum(Tensor self, Tensor other) -> Tensor',
    'aten::sum(Tensor self, *, ScalarType? dtype=None) -> Tensor',
    'aten::sum.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=N'
    'one) -> Tensor',
    'aten::mean(Tensor self, *, ScalarType? dtype=None) -> Tensor',
    'aten::mean.dim(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) ->'
    ' Tensor',
    'aten::amax(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor',
    'aten::amin(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor',
    'aten::max(Tensor self) -> Tensor',
    'aten::max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)',
    'aten::max.other(Tensor self, Tensor other) -> Tensor',
    'aten::min(Tensor self) -> Tensor',
    'aten::min.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)',
    'aten::min.other(Tensor self, Tensor other) -> Tensor',
    'aten::argmax(Tensor self, int? dim=None, bool keepdim=False) -> Tensor',
    'aten::argmin(Tensor self, int? dim=None, bool keepdim=False) -> Tensor',
    'aten::prod(Tensor self, *, ScalarType? dtype=None) -> Tensor',
    'aten::var.correction(Tensor self, int[1]? dim=None, *, Scalar? correction=None, bool keepd'
    'im=False) -> Tensor',
    'aten::std.correction(Tensor self, int[1]? dim=None, *, Scalar? correction=None, bool keepd'
    'im=False) -> Tensor',
    'aten::softmax.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor',
    'aten::log_softmax.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor',
    'aten::_softmax(Tensor self, int dim, bool half_to_float) -> Tensor',
    'aten::_log_softmax(Tensor self, int dim, bool half_to_float) -> Tensor',
    'aten::matmul(Tensor self, Tensor other) -> Tensor',
    'aten::mm(Tensor self, Tensor mat2) -> Tensor',
    'aten::bmm(Tensor self, Tensor mat2) -> Tensor',
    'aten::addmm(Tensor self, Tensor mat1, Tensor mat2, *, Scalar beta=1, Scalar alpha=1) '
    '-> Tensor',
    'aten::t(Tensor(a) self) -> Tensor(a)',
    'aten::transpose.int(Tensor(a) self, int dim0, int dim1) -> Tensor(a)',
    'aten::permute(Tensor(a) self, int[] dims) -> Tensor(a)',
    'aten::view(Tensor(a) self, SymInt[] size) -> Tensor(a)',
    'aten::reshape(Tensor(a) self, SymInt[] shape) -> Tensor(a)',
    'aten::_unsafe_view(Tensor self, SymInt[] size) -> Tensor',
    'aten::contiguous(Tensor(a) self, *, MemoryFormat memory_format=0) -> Tensor(a)',
    'aten::clone(Tensor self, *, MemoryFormat? memory_format=None) -> Tensor',
    'aten::expand(Tensor(a) self, SymInt[] size, *, bool implicit=False) -> Tensor(a)',
    'aten::squeeze(Tensor(a) self) -> Tensor(a)',
    'aten::squeeze.dim(Tensor(a) self, int dim) -> Tensor(a)',
    'aten::squeeze.dims(Tensor(a) self, int[] dim) -> Tensor(a)',
    'aten::unsqueeze(Tensor(a) self, int dim) -> Tensor(a)',
    'aten::select.int(Tensor(a) self, int dim, SymInt index) -> Tensor(a)',
    'aten::slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None, SymInt? end=None, SymInt'
    ' step=1) -> Tensor(a)',
    'aten::cat(Tensor[] tensors, int dim=0) -> Tensor',
    'aten::stack(Tensor[] tensors, int dim=0) -> Tensor',
    'aten::split.Tensor(Tensor(a -> *) self, SymInt split_size, int dim=0) -> Tensor(a)[]',
    'aten::split.sizes(Tensor(a -> *) self, SymInt[] split_size, int dim=0) -> Tensor(a)[]',
    'aten::split_with_sizes(Tensor(a -> *) self, SymInt[] split_sizes, int dim=0) -> Tensor(a)[]',
    'aten::chunk(Tensor(a -> *) self, int chunks, int dim=0) -> Tensor(a)[]',
    'aten::unbind.int(Tensor(a -> *) self, int dim=0) -> Tensor(a)[]',
    'aten::dropout(Tensor input, float p, bool train) -> Tensor',
    'aten::embedding(Tensor weight, Tensor indices, SymInt padding_idx=-1, bool scale_grad_by_f'
    'req=False, bool sparse=False) -> Tensor',
    'aten::to.dtype(Tensor(a) self, ScalarType dtype, bool non_blocking=False, bool copy=False,'
    ' MemoryFormat? memory_format=None) -> Tensor(a)',
    'aten::to.dtype_layout(Tensor(a) self, *, ScalarType? dtype=None, Layout? layout=None, Devi'
    'ce? device=None, bool? pin_memory=None, bool non_blocking=False, bool copy=False, MemoryFo'
    'rmat? memory_format=None) -> Tensor(a)',
    'aten::_to_copy(Tensor self, *, ScalarType? dtype=None, Layout? layout=None, Device? device'
    '=None, bool? pin_memory=None, bool non_blocking=False, MemoryFormat? memory_format=None) -'
    '> Tensor',
    'aten::detach(Tensor(a) self) -> Tensor(a)',
    'aten::detach_(Tensor(a!) self) -> Tensor(a!)',
    'aten::alias(Tensor(a) self) -> Tensor(a)',
    'aten::lift_fresh_copy(Tensor self) -> Tensor',
    'aten::scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor? attn_ma'
    'sk=None, float dropout_p=0., bool is_causal=False, *, float? scale=None, bool enable_gqa=F'
    'alse) -> Tensor',
    'aten::zeros_like(Tensor self, *, ScalarType? dtype=None, Layout? layout=None, Device? devi'
    'ce=None, bool? pin_memory=None, MemoryFormat? memory_format=None) -> Tensor',
    'aten::ones_like(Tensor self, *, ScalarType? dtype=None, Layout? layout=None, Device? devic'
    'e=None, bool? pin_memory=None, MemoryFormat? memory_format=None) -> Tensor',
    'aten::full_like(Tensor self, Scalar fill_value, *, ScalarType? dtype=None, Layout? layout='
    'None, Device? device=None, bool? pin_memory=None, MemoryFormat? memory_format=None) -> Ten'
    'sor',
    'aten::index.Tensor(Tensor self, Tensor?[] indices) -> Tensor',
    'aten::index_select(Tensor self, int dim, Tensor index) -> Tensor',
    'aten::gather(Tensor self, int dim, Tensor index, *, bool sparse_grad=False) -> Tensor',
    'aten::masked_fill.Scalar(Tensor self, Tensor mask, Scalar value) -> Tensor',
    'aten::masked_fill.Tensor(Tensor self, Tensor mask, Tensor value) -> Tensor',
    'aten::cumsum(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor',
    'aten::sym_size.int(Tensor self, int dim) -> SymInt',
    'aten::hardtanh(Tensor self, Scalar min_val=-1, Scalar max_val=1) -> Tensor',
    'aten::leaky_relu(Tensor self, Scalar negative_slope=0.01) -> Tensor',
    'aten::elu(Tensor self, Scalar alpha=1, Scalar scale=1, Scalar input_scale=1) -> Tensor',
    'aten::softplus(Tensor self, Scalar beta=1, Scalar threshold=20) -> Tensor',
    'aten::native_dropout(Tensor input, float p, bool? train) -> (Tensor, Tensor)',
    'aten::upsample_nearest2d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) '
    '-> Tensor',
    'aten::upsample_bilinear2d.vec(Tensor input, SymInt[]? output_size, bool align_corners, flo'
    'at[]? scale_factors) -> Tensor',
    'aten::upsample_nearest2d(Tensor self, SymInt[2] output_size, float? scales_h=None, float? '
    'scales_w=None) -> Tensor',
    'aten::upsample_bilinear2d(Tensor self, SymInt[2] output_size, bool align_corners, float? s'
    'cales_h=None, float? scales_w=None) -> Tensor',
    'aten::logical_not(Tensor self) -> Tensor',
    'aten::bitwise_not(Tensor self) -> Tensor',
    'aten::_native_batch_norm_legit_functional(Tensor input, Tensor? weight, Tensor? bias, Tens'
    'or running_mean, Tensor running_var, bool training, float momentum, float eps) -> (Tensor,'
    ' Tensor, Tensor, Tensor running_mean_out, Tensor running_var_out)',
    'aten::_native_batch_norm_legit_no_training(Tensor input, Tensor? weight, Tensor? bias, Ten'
    'sor running_mean, Tensor running_var, float momentum, float eps) -> (Tensor, Tensor, Tenso'
    'r)',
    'aten::native_layer_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight, Tensor? b'
    'ias, float eps) -> (Tensor, Tensor, Tensor)',
    'aten::copy_(Tensor(a!) self, Tensor src, bool non_blocking=False) -> Tensor(a!)',
    'aten::repeat(Tensor self, SymInt[] repeats) -> Tensor',
    'aten::tile(Tensor self, SymInt[] dims) -> Tensor',
    'aten::cross_entropy_loss(Tensor self, Tensor target, Tensor? weight=None, int reduction=1,'
    ' SymInt ignore_index=-100, float label_smoothing=0.) -> Tensor',
    'aten::nll_loss_forward(Tensor self, Tensor target, Tensor? weight, int reduction, SymInt i'
    'gnore_index) -> (Tensor output, Tensor total_weight)',
    'aten::mse_loss(Tensor self, Tensor target, int reduction=1) -> Tensor',
    'aten::erf(Tensor self) -> Tensor',
    'aten::hardswish(Tensor self) -> Tensor',
    'aten::hardsigmoid(Tensor self) -> Tensor',
    'aten::mish(Tensor self) -> Tensor',
    'aten::_assert_tensor_metadata(Tensor a, SymInt[]? size=None, SymInt[]? stride=None, Scalar'
    'Type? dtype=None, *, Device? device=None, Layout? layout=None) -> ()',
    'aten::numpy_T(Tensor(a) self) -> Tensor(a)',
    'aten::mT(Tensor(a) self) -> Tensor(a)',
    'aten::item(Tensor self) -> Scalar',
    'aten::arange(Scalar end, *, ScalarType? dtype=None, Layout? layout=None, Device? device=No'
    'ne, bool? pin_memory=None) -> Tensor',
    'aten::arange.start(Scalar start, Scalar end, *, ScalarType? dtype=None, Layout? layout=Non'
    'e, Device? device=None, bool? pin_memory=None) -> Tensor',
    'aten::arange.start_step(Scalar start, Scalar end, Scalar step=1, *, ScalarType? dtype=None'
    ', Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor',
    'aten::zeros(SymInt[] size, *, ScalarType? dtype=None, Layout? layout=None, Device? device='
    'None, bool? pin_memory=None) -> Tensor',
    'aten::ones(SymInt[] size, *, ScalarType? dtype=None, Layout? layout=None, Device? device=N'
    'one, bool? pin_memory=None) -> Tensor',
    'aten::full(SymInt[] size, Scalar fill_value, *, ScalarType? dtype=None, Layout? layout=Non'
    'e, Device? device=None, bool? pin_memory=None) -> Tensor',
    'aten::empty.memory_format(SymInt[] size, *, ScalarType? dtype=None, Layout? layout=None, D'
    'evice? device=None, bool? pin_memory=None, MemoryFormat? memory_format=None) -> Tensor',
    'aten::pad(Tensor self, SymInt[] pad, str mode="constant", float? value=None) -> Tensor',
    'aten::constant_pad_nd(Tensor self, SymInt[] pad, Scalar value=0) -> Tensor',
)


@dataclasses.dataclass(frozen=True)
class Argument:
    name: str
    type: str  # "Tensor", "Tensor?", "int[]", "SymInt[2]", "Scalar", ...
    kwarg_only: bool
    has_default: bool


@dataclasses.dataclass(frozen=True)
class Schema:
    name: str  # "linear.default"
    arguments: tuple
    returns: tuple  # the return types ("Tensor", "Tensor[]", ...)


def parse(text: str) -> Schema:
    # alias annotations (``Tensor(a!)``, ``Tensor(a -> *)``) say nothing to the format
    text = re.sub(r"Tensor\([a-z][^()]*\)", "Tensor", text)
    head, _, returns = text.partition(" -> ")
    qualified, _, args = head.partition("(")
    args = args[:-1]
    name = qualified.split("::", 1)[1]
    if "." not in name:
        name += ".default"
    arguments, kwarg_only = [], False
    for part in _split_top(args):
        if part == "*":
            kwarg_only = True
            continue
        declaration, _, default = part.partition("=")
        type_text, _, arg_name = declaration.strip().rpartition(" ")
        arguments.append(Argument(arg_name, type_text, kwarg_only, bool(default)))
    returns = returns.strip()
    if returns.startswith("("):
        returns = returns[1:-1]
    result = tuple(r.strip().split(" ")[0] for r in _split_top(returns))
    return Schema(name, tuple(arguments), result)


@functools.cache
def _table() -> dict:
    return {schema.name: schema for schema in map(parse, _SCHEMAS)}


def _torch_packet(name: str):
    """``torch.ops.aten.<name>``, or None (torch is an optional dependency, imported only
    here)."""
    try:
        import torch
    except ImportError:
        return None
    return getattr(getattr(getattr(torch, "ops", None), "aten", None), name, None)


@functools.cache
def _torch_schema(name: str, overload: str) -> Schema | None:
    """PyTorch's schema of ``aten.<name>.<overload>`` when torch is installed."""
    packet = _torch_packet(name)
    try:
        op = getattr(packet, overload, None)
    except (AttributeError, RuntimeError):
        return None
    text = str(getattr(op, "_schema", None) or "")
    return parse(text) if text.startswith("aten::") else None  # not ember's own ops


def overloads_of(name: str, preferred: str) -> list[Schema]:
    """Every schema of ``aten.<name>`` ember can see (``preferred`` first, then its own
    list, then PyTorch's when installed); ``out=`` variants left out."""
    found = {}
    for key in [f"{name}.{preferred}"] + [k for k in _table() if k.split(".")[0] == name]:
        if key in _table():
            found.setdefault(key, _table()[key])
    for overload in [preferred, *_torch_overload_names(name)]:
        schema = _torch_schema(name, overload)
        if schema is not None:
            found.setdefault(schema.name, schema)
    return [s for s in found.values() if not s.name.split(".")[1].endswith("out")]


def _torch_overload_names(name: str) -> list[str]:
    packet = _torch_packet(name)
    try:
        return list(packet.overloads())
    except (AttributeError, RuntimeError, TypeError):
        return []


_FIXED_LIST = re.compile(r"^(int|SymInt|float|bool)\[(\d*)\]$")


def accepts(type_text: str, value, kind_of, numbers_as_tensors: bool = False) -> bool:
    """Whether ``value`` (``kind_of`` says "tensor" / "sym" for graph nodes, None for
    plain values) can be passed for an argument of ATen type ``type_text``; with
    ``numbers_as_tensors``, a Python number for a Tensor (PyTorch records
    ``add_.Tensor(x, 1)`` and its dispatcher wraps the number)."""
    optional = type_text.endswith("?")
    base = type_text.rstrip("?")
    kind = kind_of(value)
    if value is None:
        return optional or base == "Tensor?[]"
    if base == "Tensor":
        return kind == "tensor" or (numbers_as_tensors and kind is None and isinstance(
            value, (int, float, complex)))
    if base in ("Tensor[]", "Tensor?[]"):
        return isinstance(value, (list, tuple)) and all(
            kind_of(v) == "tensor" or (v is None and base == "Tensor?[]") for v in value)
    if kind == "tensor":
        return False
    if base in ("int", "SymInt"):
        return kind == "sym" or (isinstance(value, int) and not isinstance(value, bool))
    if base in ("float", "SymFloat"):
        return kind == "sym" or (isinstance(value, (int, float)) and not isinstance(value, bool))
    if base == "Scalar":
        return kind == "sym" or isinstance(value, (int, float, complex))
    if base == "bool":
        return isinstance(value, bool)
    if base == "str":
        return isinstance(value, str)
    match = _FIXED_LIST.match(base)
    if match:
        item = {"int": "int", "SymInt": "SymInt", "float": "float", "bool": "bool"}[
            match.group(1)]
        if not isinstance(value, (list, tuple)):
            return bool(match.group(2)) and accepts(item, value, kind_of)
        return all(accepts(item, v, kind_of) for v in value)
    if base == "ScalarType":
        return type(value).__name__ == "dtype"
    if base in ("Device", "Layout", "MemoryFormat"):
        return kind is None and not isinstance(value, (int, float, list, tuple))
    return False


def bind(schema: Schema, args: tuple, kwargs: dict, kind_of,
         numbers_as_tensors: bool = False) -> list | None:
    """``[(Argument, value, kind)]`` passing ``args`` / ``kwargs`` to ``schema`` (kind 1
    positional, 2 keyword), or None when they do not fit it. Positional values past the
    positional arguments fill the keyword-only ones in order (ember records some calls
    with Python's argument list: ``gelu(x, 'tanh')``)."""
    positional = [a for a in schema.arguments if not a.kwarg_only]
    keyword_only = [a for a in schema.arguments if a.kwarg_only]
    extra = list(args[len(positional):])
    if len(extra) > len(keyword_only):
        return None
    bound, used = [], set()
    for index, arg in enumerate(positional + keyword_only):
        if index < len(positional) and index < len(args):
            value, kind = args[index], 1
        elif index >= len(positional) and index - len(positional) < len(extra):
            value, kind = extra[index - len(positional)], 2
        elif arg.name in kwargs:
            value, kind = kwargs[arg.name], 2
        elif arg.has_default:
            continue
        else:
            return None
        if not accepts(arg.type, value, kind_of, numbers_as_tensors):
            return None
        bound.append((arg, value, kind))
        used.add(arg.name)
    return None if set(kwargs) - used else bound
