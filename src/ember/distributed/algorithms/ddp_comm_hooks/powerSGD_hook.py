# ruff: noqa: N999 - PyTorch's module name (torch...ddp_comm_hooks.powerSGD_hook)
"""PowerSGD gradient compression (Vogels et al., NeurIPS 2019), PyTorch's
``torch.distributed.algorithms.ddp_comm_hooks.powerSGD_hook``.

Each gradient matrix M (a parameter's gradient viewed as rows x rest) is sent as two thin
factors instead: P = M Q (rows x rank), orthogonalised after its all-reduce, and
Q = M^T P (rest x rank); the average of the ranks' M is approximated by P Q^T. Vectors,
and matrices the factors would not shrink by ``min_compression_rate``, are all-reduced
as they are. With error feedback the part of a gradient the approximation lost is added
to the next iteration's; with warm start Q carries over between iterations, so one
power iteration per step refines it. The first ``start_powerSGD_iter`` iterations use
the plain averaging all-reduce.

The random initial Qs come from ember's generator seeded from ``random_seed``, the same
on every rank; they are not PyTorch's numbers (ember's ``randn`` stream differs), so a
compressed run matches PyTorch's only where the approximation is exact (full rank).
"""

from __future__ import annotations

import numpy as np

from .default_hooks import _allreduce_fut

__all__ = ["PowerSGDState", "powerSGD_hook"]


class PowerSGDState:
    """The hook's state across iterations: hyper-parameters, error feedback and the
    warm-started factors, one entry per bucket.

    Args:
        process_group: the group to average over (None: the world).
        matrix_approximation_rank: the rank of the factors (1 to 4 usually suffice).
        start_powerSGD_iter: plain all-reduce before this iteration (at least 2 with error
            feedback or warm start: DDP rebuilds its buckets after the first).
        min_compression_rate: compress a matrix only if the factors are this many times
            smaller.
        use_error_feedback: carry the approximation error to the next iteration.
        warm_start: reuse the previous iteration's Q instead of a fresh random one.
        orthogonalization_epsilon: added to column norms (avoids dividing by zero).
        random_seed: seed of the initial Qs (the same on every rank).
        compression_stats_logging_frequency, batch_tensors_with_same_shape: as PyTorch's
            (the second batches the matrix products of equally shaped gradients).
    """

    __slots__ = [
        "batch_tensors_with_same_shape",
        "compression_stats_logging_frequency",
        "error_dict",
        "iter",
        "matrix_approximation_rank",
        "min_compression_rate",
        "next_stats_report",
        "orthogonalization_epsilon",
        "p_memory_dict",
        "process_group",
        "q_memory_dict",
        "rng",
        "start_powerSGD_iter",
        "total_numel_after_compression",
        "total_numel_before_compression",
        "use_error_feedback",
        "warm_start",
    ]

    def __init__(self, process_group, matrix_approximation_rank=1, start_powerSGD_iter=1_000,
                 min_compression_rate=2, use_error_feedback=True, warm_start=True,
                 orthogonalization_epsilon=0, random_seed=0,
                 compression_stats_logging_frequency=10_000,
                 batch_tensors_with_same_shape: bool = False):
        if (use_error_feedback or warm_start) and start_powerSGD_iter <= 1:
            raise ValueError("Expect `start_powerSGD_iter` > 1 if `use_error_feedback` or "
                             "`warm_start` is enabled, because PowerSGD can only be applied "
                             "after the first two iterations in DDP.")
        self.process_group = process_group
        self.matrix_approximation_rank = matrix_approximation_rank
        self.start_powerSGD_iter = start_powerSGD_iter
        self.min_compression_rate = min_compression_rate
        self.use_error_feedback = use_error_feedback
        self.warm_start = warm_start
        self.orthogonalization_epsilon = orthogonalization_epsilon
        self.rng = np.random.RandomState(random_seed)
        self.error_dict = {}
        self.p_memory_dict = {}
        self.q_memory_dict = {}
        self.iter = 0
        self.total_numel_before_compression = 0
        self.total_numel_after_compression = 0
        self.compression_stats_logging_frequency = max(1, compression_stats_logging_frequency)
        self.next_stats_report = 0
        self.batch_tensors_with_same_shape = batch_tensors_with_same_shape

    def __getstate__(self):
        return {slot: getattr(self, slot) for slot in self.__slots__ if slot != "process_group"}

    def __setstate__(self, state):
        self.process_group = None
        for slot, value in state.items():
            setattr(self, slot, value)

    def maybe_increase_iter(self, bucket) -> None:
        """Count an iteration when its last bucket is reduced."""
        if bucket.is_last():
            self.iter += 1

    def compression_stats(self):
        """(compression rate, elements before, elements after) so far."""
        before, after = self.total_numel_before_compression, self.total_numel_after_compression
        rate = before / after if after > 0 else 0
        return rate, before, after


def _orthogonalize(matrices, epsilon=0) -> None:
    """Make each matrix's columns orthonormal, in place (Gram-Schmidt for rank <= 2 or
    16-bit floats, else QR)."""
    from .... import linalg
    rank = matrices.shape[2]
    if rank <= 2 or matrices.element_size() == 2:
        _orthogonalize_gram_schmidt(matrices, epsilon)
    else:
        matrices.copy_(linalg.qr(matrices)[0])


def _orthogonalize_gram_schmidt(matrices, epsilon=0) -> None:
    columns = matrices.shape[2]
    for i in range(columns):
        column = matrices[:, :, i:i + 1]
        column /= column.norm(dim=1, keepdim=True) + epsilon
        if i + 1 < columns:
            rest = matrices[:, :, i + 1:]
            rest -= (column * rest).sum(dim=1, keepdim=True) * column


def _should_compress(rows, cols, rank, min_compression_rate):
    uncompressed = rows * cols
    compressed = (rows + cols) * rank
    return compressed * min_compression_rate < uncompressed, uncompressed, compressed


def powerSGD_hook(state: PowerSGDState, bucket):
    """Average the bucket's gradients with rank-``matrix_approximation_rank`` PowerSGD
    compression: ``ddp.register_comm_hook(PowerSGDState(None, 1, 10), powerSGD_hook)``."""
    from .... import bmm, cat, manual_seed, randn, zeros
    from ....random import fork_rng
    from ... import all_reduce, get_world_size
    group = state.process_group
    world_size = get_world_size(group)
    flat = bucket.buffer()
    if state.iter < state.start_powerSGD_iter:
        state.maybe_increase_iter(bucket)
        return _allreduce_fut(group, flat)

    device, dtype, index = flat.device, flat.dtype, bucket.index()
    flat_before = None
    if state.use_error_feedback:
        if index in state.error_dict:
            flat.add_(state.error_dict[index])
        else:
            state.error_dict[index] = zeros(flat.shape[0], device=device, dtype=dtype)
        flat_before = flat.detach().clone()

    matrices, uncompressed = [], []
    p_size = q_size = 0
    for gradient in bucket.gradients():
        matrix = gradient.view(gradient.shape[0], -1)
        rows, cols = matrix.shape
        rank = min(rows, cols, state.matrix_approximation_rank)
        compress, before, after = _should_compress(rows, cols, rank, state.min_compression_rate)
        state.total_numel_before_compression += before
        if compress:
            matrices.append(matrix)
            p_size += rows * rank
            q_size += cols * rank
            state.total_numel_after_compression += after
        else:
            uncompressed.append(gradient)
            state.total_numel_after_compression += before
    plain = (cat([t.reshape(-1) for t in uncompressed]) if uncompressed
             else zeros(0, device=device, dtype=dtype))

    fresh_qs = not state.warm_start or index not in state.p_memory_dict
    if fresh_qs:
        state.p_memory_dict[index] = zeros(p_size, device=device, dtype=dtype)
        state.q_memory_dict[index] = zeros(q_size, device=device, dtype=dtype)

    # Equally shaped matrices share one batched product when asked to.
    by_shape = {}
    for matrix in matrices:
        by_shape.setdefault(tuple(matrix.shape), []).append(matrix)
    batches = []
    for group_of_same in by_shape.values():
        if state.batch_tensors_with_same_shape and len(group_of_same) > 1:
            batches.append(group_of_same)
        else:
            batches += [[matrix] for matrix in group_of_same]
    stacked, ps, qs = [], [], []
    p_offset = q_offset = 0
    for batch in batches:
        rows, cols = batch[0].shape
        rank = min(rows, cols, state.matrix_approximation_rank)
        count = len(batch)
        stacked.append(batch)
        ps.append(state.p_memory_dict[index][p_offset:p_offset + count * rows * rank]
                  .view(count, rows, rank))
        qs.append(state.q_memory_dict[index][q_offset:q_offset + count * cols * rank]
                  .view(count, cols, rank))
        p_offset += count * rows * rank
        q_offset += count * cols * rank

    def as_batch(batch):
        return batch[0].unsqueeze(0) if len(batch) == 1 else _stack(batch)

    if not fresh_qs:
        for q in qs:
            _orthogonalize(q, state.orthogonalization_epsilon)
    else:
        with fork_rng(devices=[]):
            manual_seed(state.rng.randint(1_000_000_000))
            for q in qs:
                q.copy_(randn(*q.shape, dtype=dtype))
                _orthogonalize(q, state.orthogonalization_epsilon)
    for batch, q, p in zip(stacked, qs, ps):
        p.copy_(bmm(as_batch(batch), q))

    plain_fut = all_reduce(plain, group=group, async_op=True).get_future()

    def unpack_plain_and_reduce_ps(fut):
        averaged = fut.value()[0].div_(world_size)
        offset = 0
        for gradient in uncompressed:
            gradient.copy_(averaged[offset:offset + gradient.numel()].view_as(gradient))
            offset += gradient.numel()
        all_reduce(state.p_memory_dict[index], group=group)
        return state.p_memory_dict[index]

    def compute_qs(fut):
        for p in ps:
            _orthogonalize(p, state.orthogonalization_epsilon)
        for batch, p, q in zip(stacked, ps, qs):
            q.copy_(bmm(as_batch(batch).transpose(1, 2), p))
        all_reduce(state.q_memory_dict[index], group=group)
        return state.q_memory_dict[index]

    def decompress(fut):
        state.q_memory_dict[index].div_(world_size)
        for p, q, batch in zip(ps, qs, stacked):
            approximation = bmm(p, q.transpose(1, 2))
            for position, matrix in enumerate(batch):  # views into the bucket's buffer
                matrix.copy_(approximation[position])
        if state.use_error_feedback:
            state.error_dict[index] = flat_before - flat
        if not state.warm_start:
            state.p_memory_dict.clear()
            state.q_memory_dict.clear()
        state.maybe_increase_iter(bucket)
        return flat

    return plain_fut.then(unpack_plain_and_reduce_ps).then(compute_qs).then(decompress)


def _stack(matrices):
    from .... import stack
    return stack(matrices)
