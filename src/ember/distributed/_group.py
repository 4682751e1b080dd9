"""Process groups: the default (world) group, ``new_group``, rank queries.

Every backend name runs on one communicator: ``gloo`` and ``mpi`` move host arrays;
``nccl`` is accepted for CUDA tensors and moves them the same way (copied to the host and
back). Two transports serve it:

- MPI (mpi4py) when an MPI launcher started the process (``ember run --nproc-per-node N``,
  ``python -m ember.distributed.run``, ``mpirun``): ranks come from MPI; an explicit
  ``rank=`` (or ``RANK``) that differs reorders the communicator, as long as the ranks
  all processes pass form a permutation of ``0..world_size-1``.
- TCP sockets (``_tcp``) otherwise: the ``multiprocessing.spawn`` pattern, where each
  process passes ``rank`` and ``world_size`` and meets the others at MASTER_ADDR and
  MASTER_PORT (or ``init_method="tcp://host:port"``), as with PyTorch's gloo.

mpi4py is imported on first use, so ``import ember`` works without the ``distributed``
extra.
"""

from __future__ import annotations

import enum
import os
from datetime import timedelta

__all__ = [
    "Backend", "GroupMember", "ProcessGroup", "ReduceOp", "destroy_process_group",
    "get_backend", "get_global_rank", "get_group_rank", "get_node_local_rank",
    "get_process_group_ranks", "get_rank", "get_world_size", "group", "init_process_group",
    "is_available", "is_gloo_available", "is_initialized", "is_mpi_available",
    "is_nccl_available", "is_torchelastic_launched", "new_group",
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
    """Always: the TCP transport needs only the standard library."""
    return True


def is_mpi_available() -> bool:
    """Whether mpi4py is installed (checked without starting MPI)."""
    import importlib.util
    return importlib.util.find_spec("mpi4py") is not None


def is_gloo_available() -> bool:
    """``gloo`` is a name for ember's transports, which are always there."""
    return True


def is_nccl_available() -> bool:
    return False


def is_torchelastic_launched() -> bool:
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank on its machine: LOCAL_RANK (set by the launchers), else
    ``fallback_rank``."""
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("LOCAL_RANK is not in the environment. Consider passing fallback_rank "
                       "to allow `get_node_local_rank` to work, assuming you are not running "
                       "in a multi-device context and want the code to run locally instead.")


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

    __slots__ = ("__weakref__", "backend", "comm", "group_name", "mpi", "ranks")

    def __init__(self, comm, backend: str, ranks: list, group_name: str, mpi):
        self.comm, self.backend, self.ranks, self.group_name = comm, backend, ranks, group_name
        self.mpi = mpi  # the namespace of the communicator's constants: mpi4py's MPI or _tcp's

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
_pg_count = [0]  # the world and every new_group call since init (get_pg_count)


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


_MPI_LAUNCH_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")


def _launched_by_mpi() -> bool:
    return any(os.environ.get(name) for name in _MPI_LAUNCH_VARIABLES)


def _master_address(init_method) -> tuple:
    """(host, port) to meet at: ``tcp://host:port`` or MASTER_ADDR / MASTER_PORT."""
    if init_method is not None and str(init_method).startswith("tcp://"):
        host, _, port = str(init_method)[len("tcp://"):].partition("?")[0].rpartition(":")
        return host.strip("[]"), int(port)
    if init_method is not None and not str(init_method).startswith("env://"):
        raise ValueError(f"ember.distributed supports init_method env:// and tcp://host:port "
                         f"without an MPI launcher, got {init_method!r}")
    for name in ("MASTER_ADDR", "MASTER_PORT"):
        if not os.environ.get(name):
            raise ValueError(f"Error initializing torch.distributed using env:// rendezvous: "
                             f"environment variable {name} expected, but not set")
    return os.environ["MASTER_ADDR"], _env_int("MASTER_PORT")


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
    """Join the default process group.

    Under an MPI launcher every process of the MPI job joins, with ranks and world size
    from MPI unless ``rank``/``world_size`` (or ``RANK``/``WORLD_SIZE``) say otherwise
    consistently. Without one (``multiprocessing.spawn``), ``world_size`` processes that
    each pass their ``rank`` meet over TCP at MASTER_ADDR:MASTER_PORT; a lone process
    with neither forms a world of one.

    Args:
        backend: ``"gloo"``, ``"mpi"`` or ``"nccl"``; all use the same transport.
        init_method: ``"env://"`` (default), ``"tcp://host:port"``, ``"file:///path"``
            or a scheme of ``register_rendezvous_handler``; under MPI the launcher does
            the rendezvous and only RANK and WORLD_SIZE are read.
        store: a Store every process shares (TCPStore, FileStore, ...): the ranks meet
            through it instead of an ``init_method``; needs ``rank`` and ``world_size``.
        world_size, rank: as PyTorch's; under MPI, ranks may permute MPI's.
        timeout: how long the TCP rendezvous waits for the other ranks (30 min).
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
    if _launched_by_mpi():
        MPI = _mpi()
        comm, ranks = _join_mpi(MPI, world_size, rank)
    else:
        from . import _tcp
        MPI = _tcp.MPI
        size = 1 if world_size == -1 else world_size
        if size > 1 and rank == -1:
            raise ValueError("Error initializing torch.distributed using env:// rendezvous: "
                             "environment variable RANK expected, but not set")
        rank = 0 if rank == -1 else rank
        if not 0 <= rank < size:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {size - 1}]")
        if size == 1:
            host, port = "", 0
        elif store is not None:
            host, port = _rendezvous_through(store, rank, timeout)
        elif init_method is not None and not str(init_method).startswith(("tcp://", "env://")):
            from .rendezvous import rendezvous  # file:// or a registered handler's scheme
            extra = {} if timeout is None else {"timeout": timeout}
            store, rank, size = next(rendezvous(str(init_method), rank, size, **extra))
            host, port = _rendezvous_through(store, rank, timeout)
        else:
            host, port = _master_address(init_method)
        seconds = 1800.0 if timeout is None else timeout.total_seconds()
        comm, ranks = _tcp.world(rank, size, host, port, seconds), list(range(size))
    GroupMember.WORLD = ProcessGroup(comm, backend_name, ranks, group_name or "0", MPI)
    _pg_count[0] = 1


def _rendezvous_through(store, rank, timeout) -> tuple:
    """(host, port) of rank 0's listener, which rank 0 picks and publishes in ``store``
    (the ``init_process_group(store=...)`` form of the TCP rendezvous)."""
    # the n-th init of every rank through this store meets rank 0's n-th: a re-init after
    # destroy_process_group never reads the previous address
    generation = store.add(f"ember_tcp_rendezvous/inits/{rank}", 1)
    key = f"ember_tcp_rendezvous/{generation}/rank0"
    if rank == 0:
        import socket
        with socket.socket() as probe:
            probe.bind(("", 0))
            port = probe.getsockname()[1]
        host = os.environ.get("MASTER_ADDR") or getattr(store, "host", None) or "127.0.0.1"
        store.set(key, f"{host}:{port}")
        return host, port
    store.wait([key], timeout) if timeout is not None else store.wait([key])
    host, _, port = store.get(key).decode().rpartition(":")
    return host, int(port)


def _join_mpi(MPI, world_size, rank):
    """The MPI job's communicator, reordered when the requested ranks permute MPI's."""
    world = MPI.COMM_WORLD
    mpi_size, mpi_rank = world.Get_size(), world.Get_rank()
    if world_size != -1 and world_size != mpi_size:
        raise RuntimeError(f"world_size={world_size} was requested but this MPI job has "
                           f"{mpi_size} process{'es' if mpi_size != 1 else ''}")
    if rank != -1 and not 0 <= rank < mpi_size:
        raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                         f"[0, {mpi_size - 1}]")
    requested = rank if rank != -1 else mpi_rank
    everyone = world.allgather(requested)
    if sorted(everyone) != list(range(mpi_size)):
        raise RuntimeError(f"the ranks passed to init_process_group by the {mpi_size} "
                           f"processes are {everyone}, not a permutation of 0..{mpi_size - 1}")
    comm = world.Dup() if everyone == list(range(mpi_size)) else world.Split(0, requested)
    return comm, list(range(mpi_size))


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
        _pg_count[0] = 0
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
    my_rank = world.rank()
    inside = my_rank in members
    color = 0 if inside else world.mpi.UNDEFINED
    comm = world.comm.Split(color, members.index(my_rank) if inside else 0)
    _pg_count[0] += 1
    if not inside:
        return GroupMember.NON_GROUP_MEMBER
    backend_name = world.backend if backend is None else _parse_backend(backend, device_id)
    created = ProcessGroup(comm, backend_name, members, str(len(_groups) + 1), world.mpi)
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
