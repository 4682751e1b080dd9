"""Weight-only quantized Embedding and EmbeddingBag, as ``torch.ao.nn.quantized``'s: each
row stored as quint8 with its own float scale and zero point (the float-qparams scheme),
float out.

The lookups are PyTorch's ``quantized::embedding_byte`` / ``embedding_bag_byte`` (fbgemm):
a row is ``fma(scale, q, bias)`` with ``bias = -(zero_point * scale)`` rounded to float32
once, emulated exactly here (the float32 product is exact in float64); a bag sums its rows
in order, each weighted sample scaling ``scale`` and ``bias`` first and adding the bias
before the fused multiply-add: ``buf = fma(scale * w, q, buf + bias * w)``. Measured: bit
for bit PyTorch's. PyTorch's quantized EmbeddingBag always sums (its ``mode`` is only
recorded), and so does this one. 4-bit rows (``quint4x2``) are not provided: ember has no
such dtype.
"""

from __future__ import annotations

import numpy as np

import ember

from ..._ops._quantized_kernels import refuse_on_device
from ..._ops.quantized import _torch_type_name
from ...nn.modules.module import Module
from .modules import _quantize_weight

__all__ = ["Embedding", "EmbeddingBag", "EmbeddingPackedParams"]


def _rows(qweight):
    """(integers as float32, scale, bias) of a packed weight, per row, as host arrays."""
    d = qweight.__dict__
    scale = np.asarray(d["_scale"]._data, dtype=np.float32)
    bias = np.float32(-1) * (np.asarray(d["_zero_point"]._data, np.float32) * scale)
    return np.asarray(qweight._data, dtype=np.float32), scale, bias


def _check_rank(indices):
    if indices.dim() not in (1, 2):
        raise RuntimeError("qembedding/qembedding_bag operator supports 1 or 2d indices, got "
                           f"{indices.dim()}")


def _check_indices(indices, rows):
    if indices._data.dtype not in (np.int32, np.int64):
        raise RuntimeError("Expect 32 or 64 bit indices, but found "
                           f"{_torch_type_name(indices._data.dtype)} instead.")
    flat = indices._data.reshape(-1)
    bad = np.flatnonzero((flat < 0) | (flat >= rows))
    if bad.size:
        raise RuntimeError(f"Index {bad[0]} is out of bounds: {flat[bad[0]]}, range 0 to {rows}")
    return flat


def embedding_byte(qweight, indices):
    """quantized::embedding_byte: the dequantized rows of 1-d or 2-d ``indices``."""
    refuse_on_device("quantized::embedding_byte", indices)
    _check_rank(indices)
    ints, scale, bias = _rows(qweight)
    flat = _check_indices(indices, ints.shape[0])
    out = scale[flat, None].astype(np.float64) * ints[flat] + bias[flat, None]
    return ember.tensor(out.astype(np.float32).reshape(tuple(indices.shape) + (ints.shape[1],)))


def embedding_bag_byte(qweight, indices, offsets=None, per_sample_weights=None,
                       include_last_offset=False):
    """quantized::embedding_bag_byte in sum mode: one output row per bag."""
    refuse_on_device("quantized::embedding_bag_byte", indices)
    _check_rank(indices)
    ints, scale, bias = _rows(qweight)
    if indices.dim() == 2:
        if offsets is not None:
            raise RuntimeError(
                "embedding_bag_byte operator: input is 2D, then offsets has to be None, as "
                "input is treated is a mini-batch of fixed length sequences.")
        starts = np.arange(0, indices.numel(), indices.shape[1])
    elif offsets is None:
        raise RuntimeError("embedding_bag_byte expects offsets to be set for 1D indices.")
    else:
        starts = np.asarray(offsets._data, dtype=np.int64)
    flat = _check_indices(indices, ints.shape[0])
    ends = np.append(starts[1:], flat.size)
    if include_last_offset:
        starts, ends = starts[:-1], ends[:-1]
    weights = (np.ones(flat.size, np.float32) if per_sample_weights is None
               else np.asarray(per_sample_weights._data, np.float32).reshape(-1))
    buf = np.zeros((starts.size, ints.shape[1]), np.float32)
    for k in range(int((ends - starts).max(initial=0))):
        live = np.flatnonzero(starts + k < ends)
        at = starts[live] + k
        row, w = flat[at], weights[at]
        scaled = (scale[row] * w)[:, None].astype(np.float64)
        shifted = buf[live] + (bias[row] * w)[:, None]
        buf[live] = (scaled * ints[row] + shifted).astype(np.float32)
    return ember.tensor(buf)


class EmbeddingPackedParams(Module):
    """The quint8 weight of a quantized embedding (PyTorch keeps it prepacked)."""

    _version = 1

    def __init__(self, num_embeddings, embedding_dim, dtype=None):
        super().__init__()
        self.dtype = dtype = dtype or ember.quint8
        if dtype is not ember.quint8:
            raise NotImplementedError("Unsupported dtype on quantized embedding! Supports "
                                      f"quint8 and quint4x2. Got dtype: {dtype}")
        self.set_weight(_empty_rows(num_embeddings, embedding_dim))

    def set_weight(self, weight):
        self._packed_weight = weight

    def _weight(self):
        return self._packed_weight

    def forward(self, x):
        return x

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "dtype"] = self.dtype
        destination[prefix + "_packed_weight"] = self._weight()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        self.dtype = state_dict.pop(prefix + "dtype")
        self.set_weight(state_dict.pop(prefix + "_packed_weight"))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)

    def __repr__(self):
        return repr(self._weight())


def _empty_rows(num_embeddings, embedding_dim):
    """Rows of zeros with scale 1 and zero point 0 (PyTorch's are uninitialised)."""
    return ember.quantize_per_channel(
        ember.zeros(num_embeddings, embedding_dim), ember.ones(num_embeddings),
        ember.zeros(num_embeddings), 0, ember.quint8)


class Embedding(Module):
    """A lookup table of quint8 rows; float out."""

    _version = 1

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.dtype = dtype = dtype or ember.quint8
        if _weight is None:
            qweight = _empty_rows(num_embeddings, embedding_dim)
        else:
            expected = [num_embeddings, embedding_dim]
            if list(_weight.shape) != expected:
                raise AssertionError("Shape of weight does not match num_embeddings and "
                                     f"embedding_dim: expected {expected}, got "
                                     f"{list(_weight.shape)}")
            qweight = _weight
        self._packed_params = EmbeddingPackedParams(num_embeddings, embedding_dim, dtype)
        self._packed_params.set_weight(qweight)

    def forward(self, indices):
        return embedding_byte(self._packed_params._packed_weight, indices)

    def _get_name(self):
        return "QuantizedEmbedding"

    def __repr__(self):
        """PyTorch hides the packed-params child."""
        return f"{self._get_name()}({self.extra_repr()})"

    def extra_repr(self):
        return (f"num_embeddings={self.num_embeddings}, embedding_dim={self.embedding_dim}, "
                f"dtype={self._packed_params.dtype}, qscheme={self.weight().qscheme()}")

    def set_weight(self, w):
        self._packed_params.set_weight(w)

    def weight(self):
        return self._packed_params._weight()

    @classmethod
    def _observed_weight(cls, mod, float_type):
        """``mod``'s weight quantized with its observer (a QAT module's trained fake
        quantizer, else a fresh one of its qconfig), with PyTorch's checks."""
        kind = "EmbeddingBag" if float_type is ember.nn.EmbeddingBag else "Embedding"
        if hasattr(mod, "weight_fake_quant"):
            observer = mod.weight_fake_quant
        else:
            if type(mod) is not float_type:
                raise AssertionError(f"nnq.{cls.__name__}.from_float only works for {kind}")
            if not hasattr(mod, "qconfig"):
                raise AssertionError(f"{kind} input float module must have qconfig defined")
            from ...ao.quantization.qconfig import float_qparams_weight_only_qconfig

            qconfig = mod.qconfig
            observer = (qconfig.weight() if qconfig is not None and qconfig.weight is not None
                        else float_qparams_weight_only_qconfig.weight())
        if observer.qscheme is not ember.per_channel_affine_float_qparams:
            raise AssertionError(f"{kind} quantization is only supported with "
                                 "float_qparams_weight_only_qconfig.")
        if observer.dtype is not ember.quint8:
            raise AssertionError(f"The only supported dtype for nnq.{kind} is torch.quint8 "
                                 f"and torch.quint4x2, got {observer.dtype}")
        observer(mod.weight)
        return _quantize_weight(mod.weight.float(), observer)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        qweight = cls._observed_weight(mod, ember.nn.Embedding)
        quantized = Embedding(mod.num_embeddings, mod.embedding_dim)
        quantized.set_weight(qweight)
        return quantized


class EmbeddingBag(Embedding):
    """Sums of quint8 rows per bag (optionally weighted per sample); float out."""

    _version = 1

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="sum", sparse=False, _weight=None,
                 include_last_offset=False, dtype=None):
        super().__init__(num_embeddings, embedding_dim, _weight=_weight, dtype=dtype)
        self.mode = mode
        self.pruned_weights = False
        self.include_last_offset = include_last_offset

    def forward(self, indices, offsets=None, per_sample_weights=None,
                compressed_indices_mapping=None):
        if compressed_indices_mapping is not None:
            raise NotImplementedError("pruned (compressed) embedding weights are not supported")
        return embedding_bag_byte(self._packed_params._packed_weight, indices, offsets,
                                  per_sample_weights, self.include_last_offset)

    def _get_name(self):
        return "QuantizedEmbeddingBag"

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        qweight = cls._observed_weight(mod, ember.nn.EmbeddingBag)
        quantized = EmbeddingBag(
            mod.num_embeddings, mod.embedding_dim, max_norm=mod.max_norm,
            norm_type=mod.norm_type, scale_grad_by_freq=mod.scale_grad_by_freq,
            mode=mod.mode, sparse=mod.sparse, include_last_offset=mod.include_last_offset,
            dtype=qweight.dtype)
        quantized.set_weight(qweight)
        return quantized
