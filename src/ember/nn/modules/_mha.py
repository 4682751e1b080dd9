"""MultiheadAttention (as torch.nn.MultiheadAttention, importable from
``ember.nn.modules.activation`` too, where PyTorch defines it).

Parameter names and registration order are PyTorch's (in_proj_weight or q/k/v_proj_weight,
in_proj_bias, out_proj, bias_k, bias_v), so state_dicts are interchangeable. PyTorch's
inference fast path computes the same function; ember always takes the general path.
"""

from __future__ import annotations

from ..._ops.creation import empty
from .. import init
from .._attention import _canonical_mask, _none_or_dtype, multi_head_attention_forward
from ..parameter import Parameter
from .linear import NonDynamicallyQuantizableLinear
from .module import Module

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """Attention from ``num_heads`` parallel heads of size ``embed_dim // num_heads``.

    Args:
        embed_dim: model dimension E (query size and output size).
        num_heads: parallel heads; must divide embed_dim.
        dropout: dropout on the attention weights (default 0).
        bias: learn input/output projection biases (default True).
        add_bias_kv: append learned bias_k / bias_v rows to key and value.
        add_zero_attn: append a zero row to key and value.
        kdim, vdim: key/value feature sizes (default embed_dim).
        batch_first: inputs and outputs are (N, L, E) instead of (L, N, E).

    Shape: query (L, N, E), key (S, N, kdim), value (S, N, vdim) -> output (L, N, E) and
    weights (N, L, S) (or (N, heads, L, S) without averaging, None if not needed).

    Example::

        >>> attn = nn.MultiheadAttention(16, 4)
        >>> out, weights = attn(q, k, v)
    """

    __constants__ = ["batch_first"]

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        factory = {"device": device, "dtype": dtype}

        def fresh(*shape):
            return Parameter(empty(shape, **factory))

        super().__init__()
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        # one packed (3E, E) projection when query, key and value share E; pickled name
        self._qkv_same_embed_dim = (self.kdim, self.vdim) == (embed_dim, embed_dim)
        self.dropout, self.batch_first = dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if embed_dim % num_heads:
            raise AssertionError("embed_dim must be divisible by num_heads")
        separate = {"q_proj_weight": embed_dim, "k_proj_weight": self.kdim,
                    "v_proj_weight": self.vdim}
        # the absent form is registered as None, after the present one (torch's order)
        if self._qkv_same_embed_dim:
            self.register_parameter("in_proj_weight", fresh(3 * embed_dim, embed_dim))
            for name in separate:
                self.register_parameter(name, None)
        else:
            for name, width in separate.items():
                self.register_parameter(name, fresh(embed_dim, width))
            self.register_parameter("in_proj_weight", None)
        self.register_parameter("in_proj_bias", fresh(3 * embed_dim) if bias else None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        **factory)
        # plain None attributes (not registered) without add_bias_kv, as in torch
        for name in ("bias_k", "bias_v"):
            setattr(self, name, fresh(1, 1, embed_dim) if add_bias_kv else None)
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """Glorot-uniform projections, zero biases, Glorot-normal bias_k/bias_v: drawn in
        torch's order so seeded modules agree."""
        projections = (("in_proj_weight",) if self._qkv_same_embed_dim
                       else ("q_proj_weight", "k_proj_weight", "v_proj_weight"))
        for name in projections:
            init.xavier_uniform_(getattr(self, name))
        has_biases = self.in_proj_bias is not None
        if has_biases:
            for param in (self.in_proj_bias, self.out_proj.bias):
                init.constant_(param, 0.0)
        for extra in (self.bias_k, self.bias_v):
            if extra is not None:
                init.xavier_normal_(extra)

    def __setstate__(self, state):
        # pickles from before separate k/v sizes existed had the packed form only
        state.setdefault("_qkv_same_embed_dim", True)
        super().__setstate__(state)

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True, is_causal: bool = False):
        key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask",
                                           _none_or_dtype(attn_mask), "attn_mask", query.dtype)
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype,
                                    check_other=False)
        swap_batch = self.batch_first and query.dim() == 3
        if swap_batch:
            query, key, value = _seq_first(query, key, value)
        output, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights,
            is_causal=is_causal)
        return (output.transpose(1, 0) if swap_batch else output), weights

    def merge_masks(self, attn_mask, key_padding_mask, query):
        """Combine the attention mask and the key padding mask into one (N, heads, L, L)
        mask. Returns (mask, mask_type) as PyTorch: type None without masks, 1 for the
        padding mask alone, 2 once an attention mask is involved."""
        if attn_mask is None:
            return (None, None) if key_padding_mask is None else (key_padding_mask, 1)
        batch, length = query.shape[0], query.shape[1]
        if attn_mask.dim() == 3:                   # per batch element and head
            merged = attn_mask.view(batch, -1, length, length)
        else:                                      # one (L, L) mask for all
            merged = attn_mask.view(1, 1, length, length).expand(batch, self.num_heads, -1, -1)
        if key_padding_mask is not None:
            per_key = key_padding_mask.view(batch, 1, 1, length)
            merged = merged + per_key.expand(-1, self.num_heads, -1, -1)
        return merged, 2


def _seq_first(*tensors):
    """(N, L, E) -> (L, N, E), transposing each distinct tensor once so that aliases
    (self-attention passes one tensor three times) stay aliases."""
    done = {}
    for t in tensors:
        if id(t) not in done:
            done[id(t)] = t.transpose(1, 0)
    return tuple(done[id(t)] for t in tensors)
