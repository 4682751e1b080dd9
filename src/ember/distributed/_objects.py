"""Collectives on picklable Python objects (mpi4py's pickle-based calls).

PyTorch pickles objects into byte tensors and moves those; mpi4py's lower-case methods
do the same directly. Tensors inside the objects travel by pickling (a copy).
"""

from __future__ import annotations

from ._collectives import _peer
from ._group import _resolve

__all__ = [
    "all_gather_object", "broadcast_object_list", "gather_object", "recv_object_list",
    "scatter_object_list", "send_object_list",
]


def all_gather_object(object_list: list, obj, group=None) -> None:
    """Every rank's ``obj`` into ``object_list[rank]`` (``object_list`` has one slot per
    rank of ``group``)."""
    pg = _resolve(group)
    if pg is None:
        return
    gathered = pg.comm.allgather(obj)
    for index, value in enumerate(gathered):
        object_list[index] = value


def broadcast_object_list(object_list: list, src=None, group=None, device=None,
                          group_src=None) -> None:
    """Replace every rank's ``object_list`` items by those of ``src``'s list."""
    pg = _resolve(group)
    if pg is None:
        return
    root = _peer(pg, src, group_src, "src", "broadcast")
    values = pg.comm.bcast(list(object_list) if pg.rank() == root else None, root)
    if pg.rank() != root:
        for index, value in enumerate(values):
            object_list[index] = value


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None) -> None:
    """Every rank's ``obj`` into ``object_gather_list`` on ``dst``."""
    pg = _resolve(group)
    if pg is None:
        return
    root = _peer(pg, dst, group_dst, "dst", "gather")
    if pg.rank() == root and object_gather_list is None:
        raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
    if pg.rank() != root and object_gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination "
                         "ranks.")
    gathered = pg.comm.gather(obj, root)
    if pg.rank() == root:
        for index, value in enumerate(gathered):
            object_gather_list[index] = value


def scatter_object_list(scatter_object_output_list: list, scatter_object_input_list=None,
                        src=None, group=None, group_src=None) -> None:
    """``src``'s ``scatter_object_input_list[i]`` into rank ``i``'s
    ``scatter_object_output_list[0]``."""
    pg = _resolve(group)
    if pg is None:
        return
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size "
                         "at least 1.")
    root = _peer(pg, src, group_src, "src", "scatter")
    values = None
    if pg.rank() == root:
        if scatter_object_input_list is None or len(scatter_object_input_list) != pg.size():
            got = None if scatter_object_input_list is None else len(scatter_object_input_list)
            raise ValueError(f"scatter_object_input_list must have {pg.size()} objects (one "
                             f"per rank) on the source rank, got {got}")
        values = list(scatter_object_input_list)
    scatter_object_output_list[0] = pg.comm.scatter(values, root)


def send_object_list(object_list: list, dst=None, group=None, device=None,
                     group_dst=None) -> None:
    """Send the objects of ``object_list`` to ``dst`` (which calls recv_object_list)."""
    pg = _resolve(group)
    if pg is None:
        return
    peer = _peer(pg, dst, group_dst, "dst", "send")
    if peer == pg.rank():
        raise ValueError("Invalid destination rank: destination rank should not be the same "
                         "as the rank of the current process.")
    pg.comm.send(list(object_list), peer, tag=1)


def recv_object_list(object_list: list, src=None, group=None, device=None,
                     group_src=None) -> int:
    """Receive objects into ``object_list`` from ``src`` (any rank when None); returns the
    sender's global rank."""
    pg = _resolve(group)
    if pg is None:
        return -1
    MPI = pg.mpi
    peer = MPI.ANY_SOURCE if src is None and group_src is None else _peer(
        pg, src, group_src, "src", "recv")
    status = MPI.Status()
    values = pg.comm.recv(source=peer, tag=1, status=status)
    for index, value in enumerate(values):
        object_list[index] = value
    return pg.ranks[status.Get_source()]
