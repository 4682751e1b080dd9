"""Tensor collectives and point-to-point messages over a group's MPI communicator.

Every operation starts a non-blocking MPI call and returns a ``Work`` that finishes it;
``async_op=False`` (the default) waits at once. Data moves as raw bytes (any dtype,
bfloat16 included); reductions run in a dtype MPI can reduce: bool as uint8, float16 and
bfloat16 in float32 (rounded back once at the end). A C-contiguous NumPy tensor is
communicated in place; any other (a strided view, a CuPy array) goes through a
contiguous host copy that is written back when the operation completes.

``src``/``dst`` are global ranks, ``group_src``/``group_dst`` ranks within ``group``,
as in PyTorch. A process outside ``group`` returns None without communicating.
"""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ._group import ReduceOp, _op_type, _resolve

__all__ = [
    "P2POp", "Work", "all_gather", "all_gather_into_tensor", "all_reduce", "all_to_all",
    "all_to_all_single", "barrier", "batch_isend_irecv", "broadcast", "gather", "irecv",
    "isend", "monitored_barrier", "recv", "reduce", "reduce_scatter",
    "reduce_scatter_tensor", "scatter", "send",
]

_RED = ReduceOp.RedOpType
_BITWISE = (_RED.BAND, _RED.BOR, _RED.BXOR)


# Started operations nobody has waited for yet. A caller may drop an async Work (PyTorch's
# Join drops its "not joined yet" all-reduce): MPI still writes into the Work's buffers,
# so the Work must outlive its caller's reference until the operation has finished.
_IN_FLIGHT = set()


def _reap_finished() -> None:
    for work in list(_IN_FLIGHT):
        work.is_completed()


class Work:
    """A started collective: ``wait()`` blocks until it is done (and writes results into
    the output tensors), ``is_completed()`` polls without blocking."""

    def __init__(self, requests, finish, outputs, source=None, mpi=None):
        self._mpi = mpi if mpi is not None else source.mpi
        self._requests = requests
        self._finish = finish
        self._outputs = outputs
        self._source = source
        self._status = None
        self._done = False
        if _IN_FLIGHT:
            _reap_finished()
        _IN_FLIGHT.add(self)

    def _complete(self):
        self._done = True
        self._requests = None
        _IN_FLIGHT.discard(self)
        if self._finish is not None:
            self._finish()
            self._finish = None

    def wait(self, timeout=None) -> bool:
        if not self._done:
            MPI = self._mpi
            if self._source is not None:  # a receive: keep its status for the sender's rank
                self._status = MPI.Status()
                self._requests[0].Wait(self._status)
            else:
                MPI.Request.Waitall(self._requests)
            self._complete()
        return True

    def is_completed(self) -> bool:
        if not self._done:
            if self._source is not None:
                self._status = self._mpi.Status()
                finished = self._requests[0].Test(self._status)
            else:
                finished = self._mpi.Request.Testall(self._requests)
            if finished:
                self._complete()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()

    def exception(self):
        return None

    def synchronize(self) -> None:
        self.wait()

    def result(self) -> list:
        return list(self._outputs)

    def get_future(self):
        """A ``torch.futures.Future`` of the output tensors: ``wait()`` finishes the
        operation, ``done()`` polls it, ``then`` chains work on the result (the DDP
        communication hooks' idiom)."""
        from ..futures import Future

        def drive(future):
            self.wait()
            if not future._event.is_set():
                future.set_result(self.result())

        def poll(future):
            if self.is_completed() and not future._event.is_set():
                future.set_result(self.result())

        return Future._driven(drive, poll)

    def _source_rank(self) -> int:
        self.wait()
        group_rank = self._status.Get_source()
        return self._source.ranks[group_rank]


def _start(pg, requests, finish, async_op, outputs):
    work = Work(requests, finish, outputs, mpi=pg.mpi)
    if async_op:
        return work
    work.wait()
    return None


# -- argument checks (PyTorch's exception types and messages) ------------------------------

def _check_tensor(value, name):
    if not isinstance(value, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"torch.Tensor\n             but got {type(value)} instead.")


def _check_tensor_list(value, name):
    if not isinstance(value, list):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"List[torch.Tensor]\n             but got {type(value)} instead.")
    if not all(isinstance(item, Tensor) for item in value):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"List[torch.Tensor]\n             but got {type(value)} with elements "
                        f"of type {[type(item) for item in value]}.")


def _check_same_dtype(*tensors):
    first = tensors[0].dtype if tensors else None
    for tensor in tensors[1:]:
        if tensor.dtype != first:
            raise ValueError(f"Invalid usage of tensors with different dtypesFound {first} and "
                             f" {tensor.dtype}")


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(size) for size in shape) + ")"


def _check_sizes(op_name, expected, tensors):
    for index, tensor in enumerate(tensors):
        if tuple(tensor.shape) != tuple(expected):
            raise RuntimeError(f"ProcessGroupGloo::{op_name}: invalid tensor size at index "
                               f"{index} (expected {_shape_text(expected)}, got "
                               f"{_shape_text(tensor.shape)})")


def _check_root_list(pg, root, tensor, tensor_list, op_name, role, direction) -> bool:
    """Validate the ``<op_name>_list`` argument of gather/scatter, which only the root
    rank may pass (one tensor per rank, ``tensor``'s dtype and shape), with Gloo's
    messages; ``role`` names the root ("destination"/"source") and ``direction`` the
    list ("output"/"input"). Returns whether this rank is the root."""
    name = f"{op_name}_list"
    if pg.rank() != root:
        if tensor_list:
            raise ValueError(f"Argument ``{name}`` must NOT be specified on non-{role} ranks.")
        return False
    if not tensor_list:
        raise ValueError(f"Argument ``{name}`` must be specified on {role} rank.")
    _check_tensor_list(tensor_list, name)
    _check_same_dtype(tensor, *tensor_list)
    if len(tensor_list) != pg.size():
        raise RuntimeError(f"ProcessGroupGloo::{op_name}: Incorrect {direction} list size "
                           f"{len(tensor_list)}. {direction.capitalize()} list size should be "
                           f"{pg.size()}, same as size of the process group.")
    _check_sizes(op_name, tensor.shape, tensor_list)
    return True


def _peer(group, global_rank, group_rank, what, op_name) -> int:
    """The group rank of a peer given as a global rank or as a group rank."""
    if global_rank is not None and group_rank is not None:
        raise ValueError(f"Can't specify both {what} and group_{what}")
    if group_rank is not None:
        if not 0 <= group_rank < group.size():
            raise ValueError(f"Group rank {group_rank} is not part of group {group}")
        return group_rank
    if global_rank is None:
        raise ValueError("Must specify global_rank or group_rank")
    if global_rank not in group.ranks:
        if group.ranks == list(range(group.size())):  # the world, as PyTorch's gloo says
            raise RuntimeError(f"ProcessGroupGloo::{op_name}: invalid root rank: {global_rank}")
        raise ValueError(f"Global rank {global_rank} is not part of group {group}")
    return group.ranks.index(global_rank)


# -- host buffers ------------------------------------------------------------------------

def _host_copy(array):
    if type(array) is np.ndarray:
        return np.ascontiguousarray(array)
    return array.get()  # CuPy: device to host, C order


def _buffer(tensor):
    """(a C-contiguous host array with the tensor's values, whether it is a copy)."""
    data = tensor._data
    if type(data) is np.ndarray and data.flags.c_contiguous and data.flags.writeable:
        return data, False
    return _host_copy(data), True


def _store(tensor, host) -> None:
    """Write ``host`` (same number of elements) into ``tensor`` and bump its version."""
    data = tensor._data
    if host is not data:
        if type(data) is np.ndarray:
            data[...] = host.reshape(data.shape)
        else:
            import cupy
            data[...] = cupy.asarray(host.reshape(data.shape))
    tensor._vc[0] += 1


def _bytes(array):
    return array.reshape(-1).view(np.uint8)


def _from_bytes(raw, like):
    return raw.view(like.dtype).reshape(like.shape)


def _reducible(array, op_type, op_name):
    """(array MPI can reduce, restore(result) -> array of the tensor's dtype)."""
    kind = array.dtype.kind
    if op_type in _BITWISE and kind not in "biu":
        raise RuntimeError(f"Cannot use ReduceOp.{op_type.name} with non-integral dtype")
    if kind == "c" and op_type in (_RED.MIN, _RED.MAX):
        raise ValueError(f"{op_name} does not support RedOpType.{op_type.name} on complex "
                         "tensors")
    if op_type == _RED.PREMUL_SUM:
        raise ValueError("ReduceOp.PREMUL_SUM is not supported by ember.distributed")
    if kind == "b":
        return array.view(np.uint8), lambda result: result.astype(bool)
    if array.dtype.itemsize == 2 and kind in "fV":  # float16, bfloat16
        return array.astype(np.float32), lambda result: result.astype(array.dtype)
    return array, None


def _mpi_op(MPI, op_type):
    return {_RED.SUM: MPI.SUM, _RED.AVG: MPI.SUM, _RED.PRODUCT: MPI.PROD, _RED.MIN: MPI.MIN,
            _RED.MAX: MPI.MAX, _RED.BAND: MPI.BAND, _RED.BOR: MPI.BOR,
            _RED.BXOR: MPI.BXOR}[op_type]


def _average(result, count):
    if result.dtype.kind in "fc":
        result /= count
    else:  # integer averages truncate toward zero
        result[...] = (result / count).astype(result.dtype)


def _finish_reduction(tensor, reduced, restore, op_type, count, copied):
    """A finish callback: AVG's division, the dtype round trip, the write back."""
    def finish():
        result = reduced
        if op_type == _RED.AVG:
            _average(result, count)
        if restore is not None:
            result = restore(result)
        if restore is not None or copied:
            _store(tensor, result)
        else:
            tensor._vc[0] += 1
    return finish


# -- collectives -----------------------------------------------------------------------

def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over all ranks of ``group``; every rank gets the result."""
    _check_tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    op_type = _op_type(op)
    host, copied = _buffer(tensor)
    reduced, restore = _reducible(host, op_type, "all_reduce")
    request = pg.comm.Iallreduce(pg.mpi.IN_PLACE, reduced, _mpi_op(pg.mpi, op_type))
    finish = _finish_reduction(tensor, reduced, restore, op_type, pg.size(), copied)
    return _start(pg, [request], finish, async_op, [tensor])


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy ``src``'s ``tensor`` into every other rank's ``tensor``."""
    _check_tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    root = _peer(pg, src, group_src, "src", "broadcast")
    host, copied = _buffer(tensor)
    request = pg.comm.Ibcast(_bytes(host), root)
    return _start(pg, [request], _writer(tensor, host, copied), async_op, [tensor])


def _writer(tensor, host, copied):
    def finish():
        _store(tensor, host) if copied else _store(tensor, tensor._data)
    return finish


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Reduce ``tensor`` over all ranks into ``dst``'s ``tensor`` (others keep theirs)."""
    _check_tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    root = _peer(pg, dst, group_dst, "dst", "reduce")
    op_type = _op_type(op)
    host, copied = _buffer(tensor)
    reduced, restore = _reducible(host, op_type, "reduce")
    if pg.rank() == root:
        request = pg.comm.Ireduce(pg.mpi.IN_PLACE, reduced, _mpi_op(pg.mpi, op_type), root)
        finish = _finish_reduction(tensor, reduced, restore, op_type, pg.size(), copied)
    else:
        request = pg.comm.Ireduce(reduced, None, _mpi_op(pg.mpi, op_type), root)
        finish = None
    return _start(pg, [request], finish, async_op, [tensor])


def _scatter_into(tensors, gathered):
    """A finish callback: row ``i`` of ``gathered`` (raw bytes) into ``tensors[i]``."""
    def finish():
        for row, tensor in zip(gathered, tensors):
            _store(tensor, _from_bytes(row, tensor._data))
    return finish


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Every rank's ``tensor`` into ``tensor_list[rank]`` on every rank."""
    _check_tensor_list(tensor_list, "tensor_list")
    _check_tensor(tensor, "tensor")
    _check_same_dtype(*tensor_list, tensor)
    pg = _resolve(group)
    if pg is None:
        return None
    if len(tensor_list) != pg.size():
        raise RuntimeError("ProcessGroupGloo::allgather: invalid output tensor list at index 0 "
                           f"(expected length {pg.size()}, got {len(tensor_list)})")
    _check_sizes("allgather", tensor.shape, tensor_list)
    host, _ = _buffer(tensor)
    gathered = np.empty((pg.size(), host.nbytes), np.uint8)
    request = pg.comm.Iallgather(_bytes(host), gathered)
    return _start(pg, [request], _scatter_into(tensor_list, gathered), async_op, tensor_list)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Every rank's ``input_tensor`` concatenated (or stacked) into ``output_tensor``,
    whose size is world size times the input's."""
    _check_tensor(input_tensor, "input_tensor")
    _check_tensor(output_tensor, "output_tensor")
    _check_same_dtype(output_tensor, input_tensor)
    pg = _resolve(group)
    if pg is None:
        return None
    if output_tensor.numel() != pg.size() * input_tensor.numel():
        raise RuntimeError(f"output tensor size must be equal to world_size times input tensor "
                         f"size (got output {output_tensor.numel()}, input "
                         f"{input_tensor.numel()}, world size {pg.size()})")
    host, _ = _buffer(input_tensor)
    out, copied = _buffer(output_tensor)
    request = pg.comm.Iallgather(_bytes(host), _bytes(out))
    return _start(pg, [request], _writer(output_tensor, out, copied), async_op, [output_tensor])


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """Every rank's ``tensor`` into ``gather_list`` on ``dst`` only."""
    _check_tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    root = _peer(pg, dst, group_dst, "dst", "gather")
    is_root = _check_root_list(pg, root, tensor, gather_list, "gather", "destination", "output")
    host, _ = _buffer(tensor)
    if is_root:
        gathered = np.empty((pg.size(), host.nbytes), np.uint8)
        request = pg.comm.Igather(_bytes(host), gathered, root)
        return _start(pg, [request], _scatter_into(gather_list, gathered), async_op, gather_list)
    request = pg.comm.Igather(_bytes(host), None, root)
    return _start(pg, [request], None, async_op, [])


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """``src``'s ``scatter_list[i]`` into rank ``i``'s ``tensor``."""
    _check_tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    root = _peer(pg, src, group_src, "src", "scatter")
    if _check_root_list(pg, root, tensor, scatter_list, "scatter", "source", "input"):
        rows = np.stack([_bytes(_buffer(item)[0]) for item in scatter_list])
    else:
        rows = None
    out, copied = _buffer(tensor)
    request = pg.comm.Iscatter(rows, _bytes(out), root)
    return _start(pg, [request], _writer(tensor, out, copied), async_op, [tensor])


def _reduce_scatter_flat(output, flat, op_type, pg, async_op, op_name):
    """Reduce the host array ``flat`` (world size times ``output``'s elements) and keep
    this rank's block in ``output``."""
    reduced, restore = _reducible(flat, op_type, op_name)
    block = np.empty(output.numel(), reduced.dtype)
    request = pg.comm.Ireduce_scatter_block(reduced, block, _mpi_op(pg.mpi, op_type))
    finish = _finish_reduction(output, block, restore, op_type, pg.size(), True)
    return _start(pg, [request], finish, async_op, [output])


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input_list[i]`` over all ranks into rank ``i``'s ``output``."""
    _check_tensor(output, "output")
    _check_tensor_list(input_list, "input_list")
    _check_same_dtype(output, *input_list)
    pg = _resolve(group)
    if pg is None:
        return None
    if len(input_list) != pg.size():
        raise RuntimeError(f"reduce_scatter: input_list must have {pg.size()} tensors (the "
                         f"group size), got {len(input_list)}")
    _check_sizes("reduce_scatter", output.shape, input_list)
    flat = np.concatenate([_buffer(item)[0].reshape(-1) for item in input_list])
    return _reduce_scatter_flat(output, flat, _op_type(op), pg, async_op, "reduce_scatter")


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input`` (world size times ``output``'s size, rank blocks in order) over
    all ranks; rank ``i`` keeps block ``i`` in ``output``."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    _check_same_dtype(output, input)
    pg = _resolve(group)
    if pg is None:
        return None
    if input.numel() != pg.size() * output.numel():
        raise RuntimeError(f"input tensor must be the same size as output size times world "
                         f"size (got input {input.numel()}, output {output.numel()}, world "
                         f"size {pg.size()})")
    flat = _host_copy(input._data).reshape(-1)
    return _reduce_scatter_flat(output, flat, _op_type(op), pg, async_op,
                                "reduce_scatter_tensor")


def _alltoallv(pg, send, send_counts, recv, recv_counts, finish, async_op, outputs):
    MPI = pg.mpi
    send_displs = np.concatenate([[0], np.cumsum(send_counts)[:-1]]).astype(np.int64)
    recv_displs = np.concatenate([[0], np.cumsum(recv_counts)[:-1]]).astype(np.int64)
    request = pg.comm.Ialltoallv(
        [send, (list(map(int, send_counts)), list(map(int, send_displs))), MPI.BYTE],
        [recv, (list(map(int, recv_counts)), list(map(int, recv_displs))), MPI.BYTE])
    return _start(pg, [request], finish, async_op, outputs)


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """Rank ``j``'s ``input_tensor_list[i]`` into rank ``i``'s ``output_tensor_list[j]``."""
    _check_tensor_list(output_tensor_list, "output_tensor_list")
    _check_tensor_list(input_tensor_list, "input_tensor_list")
    _check_same_dtype(*output_tensor_list, *input_tensor_list)
    pg = _resolve(group)
    if pg is None:
        return None
    size = pg.size()
    if len(output_tensor_list) != size or len(input_tensor_list) != size:
        raise RuntimeError(f"all_to_all: output_tensor_list and input_tensor_list must have "
                         f"{size} tensors (the group size), got {len(output_tensor_list)} and "
                         f"{len(input_tensor_list)}")
    send = np.concatenate([_bytes(_buffer(item)[0]) for item in input_tensor_list])
    send_counts = [item._data.nbytes for item in input_tensor_list]
    recv_counts = [item._data.nbytes for item in output_tensor_list]
    recv = np.empty(sum(recv_counts), np.uint8)

    def finish():
        offset = 0
        for tensor, count in zip(output_tensor_list, recv_counts):
            _store(tensor, _from_bytes(recv[offset:offset + count], tensor._data))
            offset += count
    return _alltoallv(pg, send, send_counts, recv, recv_counts, finish, async_op,
                      output_tensor_list)


def _split_counts(tensor, splits, size, name):
    rows = tensor.shape[0] if tensor.dim() else 1
    row_bytes = tensor._data.nbytes // rows if rows else 0
    if splits is None or len(splits) == 0:
        if rows % size:
            raise RuntimeError(f"Tensor's dim 0 does not divide equally across group size "
                               f"(dim 0 is {rows}, group size {size})")
        return [rows // size * row_bytes] * size
    splits = [int(s) for s in splits]
    if len(splits) != size:
        raise RuntimeError(f"Number of tensor splits not equal to group size ({name} has "
                           f"{len(splits)} entries, group size {size})")
    if sum(splits) != rows:
        raise RuntimeError(f"Split sizes doesn't match total dim 0 size ({name} sums to "
                           f"{sum(splits)}, dim 0 is {rows})")
    return [s * row_bytes for s in splits]


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None,
                      group=None, async_op=False):
    """Split ``input`` along dim 0 (equally, or by ``input_split_sizes``), send piece
    ``i`` to rank ``i``, and concatenate what arrives into ``output``."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    _check_same_dtype(output, input)
    pg = _resolve(group)
    if pg is None:
        return None
    size = pg.size()
    send_counts = _split_counts(input, input_split_sizes, size, "input_split_sizes")
    recv_counts = _split_counts(output, output_split_sizes, size, "output_split_sizes")
    send = _bytes(_buffer(input)[0])
    out, copied = _buffer(output)
    return _alltoallv(pg, send, send_counts, _bytes(out), recv_counts,
                      _writer(output, out, copied), async_op, [output])


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank of ``group`` reaches the barrier."""
    pg = _resolve(group)
    if pg is None:
        return None
    return _start(pg, [pg.comm.Ibarrier()], None, async_op, [])


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False) -> None:
    """``barrier``: MPI and ember's TCP transport report a lost peer themselves."""
    barrier(group)


# -- point to point ----------------------------------------------------------------------

def _check_peer_not_self(pg, peer, what):
    if peer == pg.rank():
        raise ValueError(f"Invalid {what} rank: {what} rank should not be the same as the rank "
                         "of the current process.")


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Start sending ``tensor`` to ``dst``; returns a Work."""
    _check_tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    peer = _peer(pg, dst, group_dst, "dst", "send")
    _check_peer_not_self(pg, peer, "destination")
    host, _ = _buffer(tensor)
    host = host.copy()  # the caller may change the tensor before the send completes
    request = pg.comm.Isend(_bytes(host), peer, tag)
    return Work([request], None, [tensor], mpi=pg.mpi)


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Start receiving into ``tensor`` from ``src`` (any rank when None); returns a
    Work whose ``_source_rank()`` names the sender."""
    _check_tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    MPI = pg.mpi
    if src is None and group_src is None:
        peer = MPI.ANY_SOURCE
    else:
        peer = _peer(pg, src, group_src, "src", "recv")
        _check_peer_not_self(pg, peer, "source")
    out, copied = _buffer(tensor)
    request = pg.comm.Irecv(_bytes(out), peer, tag if tag is not None else MPI.ANY_TAG)
    work = Work([request], _writer(tensor, out, copied), [tensor], source=pg)
    return work


def send(tensor, dst=None, group=None, tag=0, group_dst=None) -> None:
    """Send ``tensor`` to ``dst``; returns once the data is on its way."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor, src=None, group=None, tag=0, group_src=None) -> int:
    """Receive into ``tensor`` from ``src`` (any rank when None); returns the sender's
    global rank (-1 outside ``group``)."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    return work._source_rank()


class P2POp:
    """One send or receive for ``batch_isend_irecv``: ``P2POp(dist.isend, tensor, peer)``."""

    def __init__(self, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed"
                             ".isend`` or ``torch.distributed.irecv``.")
        _check_tensor(tensor, "tensor")
        self.op, self.tensor, self.peer, self.group = op, tensor, peer, group
        self.tag, self.group_peer = tag, group_peer


def batch_isend_irecv(p2p_op_list) -> list:
    """Start every send and receive of ``p2p_op_list``; returns their Works."""
    if not p2p_op_list or not all(isinstance(op, P2POp) for op in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``torch.distributed.P2POp``.")
    return [op.op(op.tensor, op.peer, op.group, op.tag, op.group_peer) for op in p2p_op_list]
