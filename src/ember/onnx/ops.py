"""``torch.onnx.ops``: eager implementations of ONNX operators, so a model can call the
operator directly (and, in PyTorch, export to that one ONNX node). ember has
``rotary_embedding`` (ONNX RotaryEmbedding, opset 23) built from ember ops, so it runs on
every device and has gradients."""

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
