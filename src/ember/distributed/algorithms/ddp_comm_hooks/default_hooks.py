"""The built-in DDP communication hooks: a plain averaging all-reduce, and the same with
the gradients compressed to 16 bits on the wire. ``state`` is the process group to
average over (None: the world)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["allreduce_hook", "bf16_compress_hook", "bf16_compress_wrapper",
           "fp16_compress_hook", "fp16_compress_wrapper"]


def _group_size(process_group) -> int:
    from ... import get_world_size
    return get_world_size(process_group)


def _allreduce_fut(process_group, tensor):
    """Average ``tensor`` over the group: divide in place first (as DDP's default, so a
    large sum cannot overflow), then sum; the future holds the tensor."""
    from ... import all_reduce
    tensor.div_(_group_size(process_group))
    work = all_reduce(tensor, group=process_group, async_op=True)
    return work.get_future().then(lambda fut: fut.value()[0])


def allreduce_hook(process_group, bucket):
    """Average the bucket's gradients over ``process_group``: what DDP does without a
    hook. ``ddp.register_comm_hook(None, allreduce_hook)``."""
    return _allreduce_fut(process_group, bucket.buffer())


def _compress_hook(dtype, process_group, bucket):
    from ... import all_reduce
    buffer = bucket.buffer()
    compressed = buffer.to(dtype).div_(_group_size(process_group))
    work = all_reduce(compressed, group=process_group, async_op=True)

    def decompress(fut):
        buffer.copy_(fut.value()[0])  # back into the bucket's dtype, in place
        return buffer

    return work.get_future().then(decompress)


def fp16_compress_hook(process_group, bucket):
    """Cast the gradients to float16, divide by the group size, sum them, and cast the
    average back: half the bytes of ``allreduce_hook`` on the wire."""
    from .... import float16
    return _compress_hook(float16, process_group, bucket)


def bf16_compress_hook(process_group, bucket):
    """``fp16_compress_hook`` with bfloat16 (float32's range, fewer mantissa bits).
    PyTorch allows it with NCCL only; ember's collectives reduce bfloat16 anywhere."""
    from .... import bfloat16
    return _compress_hook(bfloat16, process_group, bucket)


def _compress_wrapper(dtype, hook):
    def wrapped(hook_state, bucket):
        bucket.set_buffer(bucket.buffer().to(dtype))
        fut = hook(hook_state, bucket)

        def decompress(fut):
            decompressed = bucket.buffer()
            decompressed.copy_(fut.value())
            return decompressed

        return fut.then(decompress)

    return wrapped


def fp16_compress_wrapper(hook: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Run ``hook`` on a float16 copy of the bucket; DDP casts its result back into the
    gradients. ``fp16_compress_wrapper(allreduce_hook)`` equals ``fp16_compress_hook``."""
    from .... import float16
    wrapped = _compress_wrapper(float16, hook)
    wrapped.__name__ = "fp16_compress_wrapper_hook"
    return wrapped


def bf16_compress_wrapper(hook: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``fp16_compress_wrapper`` with bfloat16."""
    from .... import bfloat16
    wrapped = _compress_wrapper(bfloat16, hook)
    wrapped.__name__ = "bf16_compress_wrapper_hook"
    return wrapped
