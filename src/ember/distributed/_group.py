"""Process groups over MPI: the default (world) group, ``new_group``, rank queries.

Every backend name runs on one MPI communicator: ``gloo`` and ``mpi`` move host arrays
through mpi4py; ``nccl`` is accepted for CUDA tensors and also moves them through MPI
(copied to the host and back), since NCCL needs a CuPy build with it. The processes
themselves come from ``mpirun`` (``ember run --nproc-per-node N`` or
``python -m ember.distributed.run``), which also fixes each process's MPI rank; an
explicit ``rank=`` (or ``RANK``) that differs from it reorders the communicator, as long
as the ranks all processes pass form a permutation of ``0..world_size-1``.

mpi4py is imported on first use, so ``import ember`` works without the ``distributed``
extra.
"""

from __future__ import annotations

import enum
import os
from datetime import timedelta

__all__ = [
    "Backend", "GroupMember", "ProcessGroup", "ReduceOp", "destroy_process_group",
    "get_backend", "get_global_rank", "get_group_rank", "get_process_group_ranks", "get_rank",
    "get_world_size", "group", "init_process_group", "is_available", "is_gloo_available",
    "is_initialized", "is_mpi_available", "is_nccl_available", "is_torchelastic_launched",
    "new_group",
]

_NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to "
                    "call init_process_group.")


def _mpi():
    """mpi4py's MPI module, imported on first use (MPI_Init runs then)."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise RuntimeError(
            "ember.distributed needs mpi4py and an MPI library: pip install 'ember[distributed]'"
        ) from error
    return MPI


def is_available() -> bool:
    """Whether collectives can run here: mpi4py imports (without starting MPI)."""
    import importlib.util
    return importlib.util.find_spec("mpi4py") is not None


def is_mpi_available() -> bool:
    return is_available()


def is_gloo_available() -> bool:
    """``gloo`` is a name for the same MPI transport, so it is there when MPI is."""
    return is_available()


def is_nccl_available() -> bool:
    return False


def is_torchelastic_launched() -> bool:
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


class Backend(str):
    """A backend name, lower-cased (``Backend("GLOO") == "gloo"``)."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    MPI = "mpi"
    UCC = "ucc"
    XCCL = "xccl"

    def __new__(cls, name: str):
        if not isinstance(name, str):
            raise TypeError(f"Backend constructor parameter must be string-ish, got {name!r}")
        value = getattr(Backend, name.upper(), Backend.UNDEFINED)
        if value == Backend.UNDEFINED:
            value = name.lower()
        return super().__new__(cls, value)


_SUPPORTED_BACKENDS = ("gloo", "mpi", "nccl")


class _RedOpType(enum.IntEnum):
    """``ReduceOp.RedOpType``: its members are what ``ReduceOp.SUM`` etc. are."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8


_RedOpType.__name__ = _RedOpType.__qualname__ = "RedOpType"  # reprs as PyTorch's


class ReduceOp:
    """Reduction operations: ``ReduceOp.SUM`` etc. are ``ReduceOp.RedOpType`` members, as
    in PyTorch; ``ReduceOp(ReduceOp.MAX)`` wraps one."""

    RedOpType = _RedOpType
    SUM = _RedOpType.SUM
    AVG = _RedOpType.AVG
    PRODUCT = _RedOpType.PRODUCT
    MIN = _RedOpType.MIN
    MAX = _RedOpType.MAX
    BAND = _RedOpType.BAND
    BOR = _RedOpType.BOR
    BXOR = _RedOpType.BXOR
    PREMUL_SUM = _RedOpType.PREMUL_SUM

    def __init__(self, op=_RedOpType.SUM):
        self.op = _RedOpType(_op_type(op))

    def __eq__(self, other):
        try:
            return self.op == _op_type(other)
        except (TypeError, ValueError):
            return NotImplemented

    def __hash__(self):
        return hash(self.op)

    def __repr__(self):
        return repr(self.op)


def _op_type(op) -> _RedOpType:
    if isinstance(op, ReduceOp):
        return op.op
    if isinstance(op, _RedOpType):
        return op
    if isinstance(op, int) and not isinstance(op, bool):
        return _RedOpType(op)
    raise TypeError(f"op must be a ReduceOp, got {type(op).__name__}")


class ProcessGroup:
    """A set of ranks and the MPI communicator that joins them.

    ``rank()`` and ``size()`` are this process's rank within the group and the group's
    size; ``ranks`` lists the global ranks of the members, group rank order."""

    __slots__ = ("__weakref__", "backend", "comm", "group_name", "ranks")

    def __init__(self, comm, backend: str, ranks: list, group_name: str):
        self.comm, self.backend, self.ranks, self.group_name = comm, backend, ranks, group_name

    def rank(self) -> int:
        return self.comm.Get_rank()

    def size(self) -> int:
        return self.comm.Get_size()

    def name(self) -> str:
        return self.backend

    def __repr__(self):
        return f"ProcessGroup(backend={self.backend!r}, ranks={self.ranks}, rank={self.rank()})"


class GroupMember:
    """``GroupMember.WORLD`` is the default group once initialised;
    ``NON_GROUP_MEMBER`` is what ``new_group`` returns to processes outside it."""

    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = -100


class _GroupNamespace:
    """``dist.group.WORLD``: the default group, read when asked (None before init)."""

    @property
    def WORLD(self):
        return GroupMember.WORLD


group = _GroupNamespace()
_groups: list = []  # every group this process created, destroyed with the world


def is_initialized() -> bool:
    return GroupMember.WORLD is not None


def _default_group() -> ProcessGroup:
    if GroupMember.WORLD is None:
        raise ValueError(_NOT_INITIALIZED)
    return GroupMember.WORLD


def _resolve(group) -> ProcessGroup | None:
    """The group a collective runs on; None for a process outside ``group`` (PyTorch
    then returns without doing anything)."""
    if group is None or group is GroupMember.WORLD:
        return _default_group()
    if isinstance(group, int) and group == GroupMember.NON_GROUP_MEMBER:
        _default_group()
        return None
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"group must be a ProcessGroup, got {type(group).__name__}")
    if group.comm is None:
        raise ValueError("Invalid process group specified")
    return group


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"Error initializing torch.distributed using env:// rendezvous: "
                         f"environment variable {name} expected, but not set correctly "
                         f"(got {value!r})") from None


def _launcher_hint(world_size: int, mpi_size: int) -> str:
    return (f"ember.distributed runs over MPI: world_size={world_size} was requested but this "
            f"MPI job has {mpi_size} process{'es' if mpi_size != 1 else ''}. Start the script "
            f"with `ember run --nproc-per-node {world_size} script.py` or `python -m "
            f"ember.distributed.run --nproc-per-node {world_size} script.py` (processes made "
            "by multiprocessing.spawn cannot join one MPI job).")


def _parse_backend(backend, device_id) -> str:
    if backend is None:
        is_cuda = device_id is not None and "cuda" in str(device_id)
        return "nccl" if is_cuda else "gloo"
    name = str(backend)
    if ":" in name:  # "cpu:gloo,cuda:nccl": ember runs every device over MPI
        name = dict(part.split(":", 1) for part in name.split(",")).get("cpu", "gloo")
    name = Backend(name)
    if name not in _SUPPORTED_BACKENDS:
        raise RuntimeError(f"Invalid backend: '{backend}'. ember.distributed supports "
                           f"{', '.join(_SUPPORTED_BACKENDS)} (all run over MPI)")
    return str(name)


def init_process_group(backend=None, init_method=None, timeout: timedelta | None = None,
                       world_size: int = -1, rank: int = -1, store=None, group_name: str = "",
                       pg_options=None, device_id=None) -> None:
    """Join the default process group: every process of the MPI job, with ranks and
    world size from MPI unless ``rank``/``world_size`` (or ``RANK``/``WORLD_SIZE``)
    say otherwise consistently.

    Args:
        backend: ``"gloo"``, ``"mpi"`` or ``"nccl"``; all move data through MPI.
        init_method: ``"env://"`` (default), ``"tcp://..."`` or ``"file://..."``; MPI
            does the rendezvous, so only env:// is read (for RANK and WORLD_SIZE).
        world_size, rank: must agree with the MPI job's size; ranks may be permuted.
        timeout: accepted for compatibility (MPI has no collective timeout).
    """
    if GroupMember.WORLD is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if store is not None and init_method is not None:
        raise AssertionError("Cannot specify both init_method and store.")
    if store is not None:
        if not world_size > 0:
            raise AssertionError("world_size must be positive if using store")
        if not rank >= 0:
            raise AssertionError("rank must be non-negative if using store")
    backend_name = _parse_backend(backend, device_id)
    if init_method is None or str(init_method).startswith("env://"):
        env_world_size, env_rank = _env_int("WORLD_SIZE"), _env_int("RANK")
        if world_size == -1 and env_world_size is not None:
            world_size = env_world_size
        if rank == -1 and env_rank is not None:
            rank = env_rank
    MPI = _mpi()
    world = MPI.COMM_WORLD
    mpi_size, mpi_rank = world.Get_size(), world.Get_rank()
    if world_size != -1 and world_size != mpi_size:
        raise RuntimeError(_launcher_hint(world_size, mpi_size))
    if rank != -1 and not 0 <= rank < mpi_size:
        raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                         f"[0, {mpi_size - 1}]")
    requested = rank if rank != -1 else mpi_rank
    everyone = world.allgather(requested)
    if sorted(everyone) != list(range(mpi_size)):
        raise RuntimeError(f"the ranks passed to init_process_group by the {mpi_size} "
                           f"processes are {everyone}, not a permutation of 0..{mpi_size - 1}")
    comm = world.Dup() if everyone == list(range(mpi_size)) else world.Split(0, requested)
    GroupMember.WORLD = ProcessGroup(comm, backend_name, list(range(mpi_size)),
                                     group_name or "0")


def destroy_process_group(group=None) -> None:
    """Free ``group``'s communicator, or every group's when ``group`` is None (then
    ``is_initialized()`` is False again)."""
    if group is None or group is GroupMember.WORLD:
        if GroupMember.WORLD is None:
            raise ValueError(_NOT_INITIALIZED)
        for member in [*_groups, GroupMember.WORLD]:
            if member.comm is not None:
                member.comm.Free()
                member.comm = None
        _groups.clear()
        GroupMember.WORLD = None
        return
    if isinstance(group, ProcessGroup) and group.comm is not None:
        group.comm.Free()
        group.comm = None
        if group in _groups:
            _groups.remove(group)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization=False, group_desc=None, device_id=None):
    """A group of the global ``ranks`` (sorted; all ranks when None). Every process of
    the world must call it; those outside ``ranks`` get ``GroupMember.NON_GROUP_MEMBER``."""
    world = _default_group()
    size = world.size()
    members = list(range(size)) if ranks is None else sorted(int(r) for r in ranks)
    for member in members:
        if not 0 <= member < size:
            raise ValueError(f"Rank {member} is out of range. Valid ranks are 0 to {size - 1} "
                             f"(world_size={size})")
    if len(set(members)) != len(members):
        raise ValueError(f"ranks passed to new_group must be unique, got {members}")
    MPI = _mpi()
    my_rank = world.rank()
    inside = my_rank in members
    color = 0 if inside else MPI.UNDEFINED
    comm = world.comm.Split(color, members.index(my_rank) if inside else 0)
    if not inside:
        return GroupMember.NON_GROUP_MEMBER
    backend_name = world.backend if backend is None else _parse_backend(backend, device_id)
    created = ProcessGroup(comm, backend_name, members, str(len(_groups) + 1))
    _groups.append(created)
    return created


def get_rank(group=None) -> int:
    """This process's rank in ``group`` (the world by default); -1 outside it."""
    resolved = _resolve(group)
    return -1 if resolved is None else resolved.rank()


def get_world_size(group=None) -> int:
    resolved = _resolve(group)
    return -1 if resolved is None else resolved.size()


def get_backend(group=None) -> str:
    resolved = _resolve(group)
    if resolved is None:
        raise ValueError("Invalid process group specified")
    return resolved.backend


def get_process_group_ranks(group) -> list:
    resolved = _resolve(group)
    return list(resolved.ranks)


def get_global_rank(group, group_rank: int) -> int:
    resolved = _resolve(group)
    if not 0 <= group_rank < len(resolved.ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group {resolved}")
    return resolved.ranks[group_rank]


def get_group_rank(group, global_rank: int) -> int:
    resolved = _resolve(group)
    if global_rank not in resolved.ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {resolved}")
    return resolved.ranks.index(global_rank)
