"""``torch.onnx.ops``: eager implementations of ONNX operators, so a model can call the
operator directly (and, in PyTorch, export to that one ONNX node). ember has
``rotary_embedding`` (ONNX RotaryEmbedding, opset 23) and ``attention`` (ONNX Attention,
opset 23) built from ember ops, so they run on every device and have gradients (PyTorch
registers no backward for them). Where PyTorch silently accepts what the ONNX spec
forbids (a ``qk_matmul_output_mode`` outside 0-3, ``past_key`` without ``past_value``),
ember raises RuntimeError."""

from __future__ import annotations

__all__ = ["rotary_embedding"]


def rotary_embedding(X, cos_cache, sin_cache, position_ids=None, *, interleaved: bool = False,
                     num_heads: int = 0, rotary_embedding_dim: int = 0):
    """ONNX RotaryEmbedding: rotate the first ``rotary_embedding_dim`` features of each
    head (all when 0) by the angles whose cosines and sines the caches hold.

    Args:
        X: ``(batch, heads, seq, head_size)``, or ``(batch, seq, hidden)`` with
            ``num_heads`` given.
        cos_cache, sin_cache: ``(max_position + 1, rot / 2)`` indexed by ``position_ids``
            ``(batch, seq)``, or ``(batch, seq, rot / 2)`` when there are no position ids.
        interleaved: rotate feature pairs (0, 1), (2, 3), ... instead of the two halves.
    """
    import ember

    batch = X.shape[0]
    if X.dim() == 4:
        seq, heads, head_size = X.shape[2], X.shape[1], X.shape[3]
        x = X.transpose(1, 2)
    elif X.dim() == 3:
        if num_heads == 0:
            raise RuntimeError("num_heads must be provided for 3D inputs. Received input "
                               f"tensor with shape {X.shape}")
        seq, heads = X.shape[1], num_heads
        head_size = X.shape[2] // num_heads
        x = X.reshape(batch, seq, heads, head_size)
    else:
        raise RuntimeError("x should be a 4D tensor by now")
    rot = head_size if rotary_embedding_dim == 0 else rotary_embedding_dim
    half = rot // 2
    if position_ids is not None:
        cos, sin = cos_cache[position_ids], sin_cache[position_ids]
    elif cos_cache.dim() != 3 or sin_cache.dim() != 3:
        raise RuntimeError("cos_cache/sin_cache must be 3D when position_ids is not provided. "
                           f"Received cos_cache shape {cos_cache.shape}, sin_cache shape "
                           f"{sin_cache.shape}")
    else:
        cos, sin = cos_cache, sin_cache
    cos = cos[..., :half].unsqueeze(2)
    sin = sin[..., :half].unsqueeze(2)
    to_rotate, kept = x[..., :rot], x[..., rot:]
    if interleaved:
        first, second = to_rotate[..., 0::2], to_rotate[..., 1::2]
    else:
        first, second = to_rotate[..., :half], to_rotate[..., half:]
    real = cos * first - sin * second
    imaginary = sin * first + cos * second
    if interleaved:
        rotated = ember.stack([real, imaginary], dim=-1).reshape(*real.shape[:-1], rot)
    else:
        rotated = ember.cat([real, imaginary], dim=-1)
    out = ember.cat([rotated, kept], dim=-1)
    if X.dim() == 4:
        return out.transpose(1, 2)
    return out.reshape(batch, seq, heads * head_size)


def _to_heads(x, num_heads, name):
    if x.dim() == 4:
        return x
    if x.dim() != 3:
        raise RuntimeError(f"{name} should be a 3D or 4D tensor, got shape {tuple(x.shape)}")
    if num_heads == 0:
        raise RuntimeError("q_num_heads and kv_num_heads must be provided for 3D inputs")
    batch, seq, hidden = x.shape
    return x.reshape(batch, seq, num_heads, hidden // num_heads).transpose(1, 2)


def attention(Q, K, V, attn_mask=None, past_key=None, past_value=None, *,
              is_causal: bool = False, kv_num_heads: int = 0, q_num_heads: int = 0,
              qk_matmul_output_mode: int = 0, scale=None, softcap: float = 0.0,
              softmax_precision=None):
    """ONNX Attention (opset 23): ``softmax(Q K^T * scale + mask) V`` with grouped
    key/value heads, an optional key/value cache (``past_*``, returned extended as the
    ``present_*`` outputs), an upper-left causal mask and a softcap.

    Returns ``(Y, present_key, present_value, qk_matmul_output)``; the last is the scores
    after the matmul (mode 0), the mask (1), the softcap (2) or the softmax (3).
    3D inputs ``(batch, seq, heads * head_size)`` need ``q_num_heads`` / ``kv_num_heads``
    and give a 3D ``Y``."""
    import math

    import ember

    if qk_matmul_output_mode not in (0, 1, 2, 3):
        raise RuntimeError(f"qk_matmul_output_mode must be 0, 1, 2, or 3, got "
                           f"{qk_matmul_output_mode}")
    if (past_key is None) != (past_value is None):
        raise RuntimeError("past_key and past_value must be both provided or both None")
    three_d = Q.dim() == 3
    q = _to_heads(Q, q_num_heads, "Q")
    k = _to_heads(K, kv_num_heads, "K")
    v = _to_heads(V, kv_num_heads, "V")
    if past_key is not None:
        k = ember.cat([past_key, k], dim=2)
        v = ember.cat([past_value, v], dim=2)
    present_key, present_value = k, v
    heads, kv_heads = q.shape[1], k.shape[1]
    if heads % kv_heads != 0:
        raise RuntimeError(f"q_num_heads ({heads}) must be divisible by kv_num_heads "
                           f"({kv_heads}) for GQA")
    if heads != kv_heads:  # grouped-query attention: each kv head serves a group
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
    factor = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    root = math.sqrt(factor)
    scores = (q * root) @ (k * root).transpose(-2, -1)
    qk_output = scores
    q_len, total = scores.shape[-2], scores.shape[-1]
    bias = None
    if is_causal:
        keep = ember.ones(q_len, total, dtype=ember.bool, device=q.device).tril()
        bias = ember.zeros(q_len, total, dtype=q.dtype, device=q.device).masked_fill(
            keep.logical_not(), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == ember.bool:
            mask_bias = ember.zeros(attn_mask.shape, dtype=q.dtype, device=q.device
                                    ).masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            mask_bias = attn_mask
        bias = mask_bias if bias is None else bias + mask_bias
    if bias is not None:
        scores = scores + bias
    if qk_matmul_output_mode == 1:
        qk_output = scores
    if softcap > 0.0:
        scores = softcap * ember.tanh(scores / softcap)
    if qk_matmul_output_mode == 2:
        qk_output = scores
    weights = ember.softmax(scores, dim=-1)
    if qk_matmul_output_mode == 3:
        qk_output = weights
    out = weights @ v
    if three_d:
        batch, _, seq, _ = out.shape
        out = out.transpose(1, 2).reshape(batch, seq, -1)
    return out, present_key, present_value, qk_output


__all__ += ["attention"]
