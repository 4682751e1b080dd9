"""DeviceMesh (``torch.distributed.device_mesh``): the ranks of a job laid out as an
n-dimensional array, with one process group per dimension, so parallelism styles that
mix (data parallel over one dimension, tensor parallel over another) each find their
group by name.

Building a mesh is collective: every rank of the world calls ``init_device_mesh`` (or
``DeviceMesh(...)``) with the same arguments, and for every dimension each line of ranks
along it becomes a group (``new_group``; a line that is the whole world in order reuses
the world group). Slicing (``mesh["tp"]``) is local: the sub-mesh reuses its parent's
groups.

Example (4 processes)::

    >>> mesh = init_device_mesh("cpu", (2, 2), mesh_dim_names=("dp", "tp"))
    >>> mesh.get_coordinate()          # rank 3
    (1, 1)
    >>> dist.all_reduce(t, group=mesh.get_group("tp"))    # ranks {2, 3}
"""

from __future__ import annotations

import math

import numpy as np

from . import _group
from ._config import get_default_backend_for_device

__all__ = ["DeviceMesh", "init_device_mesh"]


def _as_rank_array(mesh) -> np.ndarray:
    from .._tensor import Tensor
    data = mesh.numpy() if isinstance(mesh, Tensor) else mesh
    return np.array(data, dtype=np.int64)


class DeviceMesh:
    """An n-dimensional array of global ranks on ``device_type``, with a process group
    along each dimension.

    Args:
        device_type: ``"cpu"`` or ``"cuda"`` (the device the groups' tensors live on).
        mesh: the ranks, any shape (a tensor, a nested list or an array); every rank
            appears once.
        mesh_dim_names: a name per dimension, for ``get_group("tp")`` and slicing.
    """

    def __init__(self, device_type: str, mesh, *, mesh_dim_names=None, backend_override=None,
                 _init_backend: bool = True, _groups=None):
        self.device_type = str(device_type)
        self._ranks = _as_rank_array(mesh)
        self.mesh_dim_names = None if mesh_dim_names is None else tuple(mesh_dim_names)
        if self.mesh_dim_names is not None and len(self.mesh_dim_names) != self._ranks.ndim:
            raise RuntimeError(f"mesh_dim_names {self.mesh_dim_names} must name each of the "
                               f"mesh's {self._ranks.ndim} dimensions")
        if len(set(self._ranks.reshape(-1).tolist())) != self._ranks.size:
            raise RuntimeError(f"DeviceMesh cannot have duplicate values, but found "
                               f"{self._ranks.tolist()}")
        if _groups is not None:  # a slice of another mesh: its groups, no collectives
            self._dim_groups = list(_groups)
            return
        if not _group.is_initialized():
            _group.init_process_group(backend=get_default_backend_for_device(self.device_type))
        world_size = _group.get_world_size()
        if self._ranks.size > world_size:
            raise RuntimeError(f"Mesh should not be bigger than default world size "
                               f"{world_size}, but found {self._ranks.size} ranks!")
        self._dim_groups = self._make_groups(world_size) if _init_backend else \
            [None] * self._ranks.ndim

    def _make_groups(self, world_size) -> list:
        """For each dimension, the group of the line of ranks along it that holds this
        process (None where it holds none); every process makes every line's group."""
        my_rank, whole_world = _group.get_rank(), list(range(world_size))
        groups = []
        for dim in range(self._ranks.ndim):
            lines = np.moveaxis(self._ranks, dim, -1).reshape(-1, self._ranks.shape[dim])
            mine = None
            for line in lines.tolist():
                made = _group.GroupMember.WORLD if line == whole_world else \
                    _group.new_group(ranks=line)
                if my_rank in line:
                    mine = made
            groups.append(mine)
        return groups

    # -- shape ----------------------------------------------------------------------------

    @property
    def mesh(self):
        """The ranks as an int tensor of the mesh's shape."""
        from .._ops.from_data import from_numpy
        return from_numpy(self._ranks.astype(np.int32))

    @property
    def shape(self) -> tuple:
        return tuple(self._ranks.shape)

    @property
    def ndim(self) -> int:
        return self._ranks.ndim

    def size(self, mesh_dim: int | None = None) -> int:
        """The number of ranks in the mesh, or along ``mesh_dim``."""
        return self._ranks.size if mesh_dim is None else self._ranks.shape[mesh_dim]

    def _dim_index(self, mesh_dim) -> int:
        if mesh_dim is None:
            if self.ndim > 1:
                raise RuntimeError(f"Found the DeviceMesh have {self.ndim} dimensions: "
                                   f"Optional kwarg `mesh_dim` needs to be specified when "
                                   f"device_mesh.ndim > 1.")
            return 0
        if isinstance(mesh_dim, str):
            if self.mesh_dim_names is None or mesh_dim not in self.mesh_dim_names:
                raise KeyError(f"Mesh dimension '{mesh_dim}' does not exist. Available mesh "
                               f"dimensions are: mesh_dim_names={self.mesh_dim_names}")
            return self.mesh_dim_names.index(mesh_dim)
        if not -self.ndim <= mesh_dim < self.ndim:
            raise IndexError(f"mesh_dim {mesh_dim} is out of range for a DeviceMesh of "
                             f"{self.ndim} dimensions")
        return mesh_dim % self.ndim

    # -- this process's place -------------------------------------------------------------

    def get_rank(self) -> int:
        """This process's global rank."""
        return _group.get_rank()

    def get_coordinate(self):
        """This process's index in the mesh (a tuple), None if it is not in the mesh."""
        found = np.argwhere(self._ranks == _group.get_rank())
        return None if len(found) == 0 else tuple(int(i) for i in found[0])

    def get_local_rank(self, mesh_dim: int | str | None = None) -> int:
        """This process's coordinate along ``mesh_dim``: its rank in that dimension's group."""
        dim = self._dim_index(mesh_dim)
        coordinate = self.get_coordinate()
        if coordinate is None:
            raise RuntimeError(f"rank {_group.get_rank()} is not part of this DeviceMesh")
        return coordinate[dim]

    def get_group(self, mesh_dim: int | str | None = None):
        """The process group along ``mesh_dim`` (by index or name) that holds this process."""
        return self._dim_groups[self._dim_index(mesh_dim)]

    def get_all_groups(self) -> list:
        return list(self._dim_groups)

    # -- slicing --------------------------------------------------------------------------

    def __getitem__(self, mesh_dim_names) -> DeviceMesh:
        """The sub-mesh over the named dimensions (in the mesh's order) that holds this
        process."""
        names = (mesh_dim_names,) if isinstance(mesh_dim_names, str) else mesh_dim_names
        if not isinstance(names, tuple) or not all(isinstance(n, str) for n in names):
            raise TypeError(f"DeviceMesh can only be sliced by mesh_dim_names (a str or a "
                            f"tuple of str), got {mesh_dim_names!r}")
        if self.mesh_dim_names is None:
            raise RuntimeError("Cannot slice a DeviceMesh without mesh_dim_names!")
        dims = [self.mesh_dim_names.index(name) for name in names
                if name in self.mesh_dim_names]
        if len(dims) != len(names) or dims != sorted(set(dims)):
            raise KeyError(f"Invalid mesh_dim_names {names} specified. Valid mesh_dim_names "
                           f"are {list(self.mesh_dim_names)} (in this order).")
        coordinate = self.get_coordinate() or (0,) * self.ndim
        sub = self._ranks[tuple(slice(None) if dim in dims else coordinate[dim]
                                for dim in range(self.ndim))]
        return DeviceMesh(self.device_type, sub, mesh_dim_names=names,
                          _groups=[self._dim_groups[dim] for dim in dims])

    @classmethod
    def from_group(cls, group, device_type: str, mesh=None, *, mesh_dim_names=None):
        """A one-dimensional mesh over ``group`` (or a list of groups, one per dimension of
        ``mesh``)."""
        groups = list(group) if isinstance(group, (list, tuple)) else [group]
        if mesh is None:
            if len(groups) != 1:
                raise ValueError("Expects mesh to be specified when group is a list of groups")
            mesh = _group.get_process_group_ranks(groups[0])
        return cls(device_type, mesh, mesh_dim_names=mesh_dim_names, _groups=groups)

    # -- identity -------------------------------------------------------------------------

    def __eq__(self, other):
        if not isinstance(other, DeviceMesh):
            return NotImplemented
        return (self.device_type == other.device_type and self.shape == other.shape
                and np.array_equal(self._ranks, other._ranks)
                and self.mesh_dim_names == other.mesh_dim_names)

    def __hash__(self):
        return hash((self.device_type, self.shape, tuple(self._ranks.reshape(-1).tolist()),
                     self.mesh_dim_names))

    def __repr__(self):
        sizes = str(self.shape) if self.mesh_dim_names is None else "(" + ", ".join(
            f"{name}={n}" for name, n in zip(self.mesh_dim_names, self.shape)) + ")"
        return f"DeviceMesh({sizes}, '{self.device_type}', stride=" \
               f"{self._strides()})"

    def _strides(self) -> tuple:
        """PyTorch's layout strides: how far apart in rank neighbours along each dimension
        are (``()`` for a dimension of size 1)."""
        strides = []
        for dim, size in enumerate(self.shape):
            if size == 1:
                strides.append(())
                continue
            origin = self._ranks[(0,) * self.ndim]
            step = tuple(1 if d == dim else 0 for d in range(self.ndim))
            strides.append(int(self._ranks[step] - origin))
        return tuple(strides)


def init_device_mesh(device_type: str, mesh_shape: tuple, *, mesh_dim_names=None,
                     backend_override=None) -> DeviceMesh:
    """A mesh of ``mesh_shape`` over ranks 0..n-1 in row-major order (the default group is
    initialised first if it is not yet). Every process calls it."""
    mesh_shape = tuple(mesh_shape)
    if mesh_dim_names is not None:
        if isinstance(mesh_dim_names, str):
            mesh_dim_names = (mesh_dim_names,)
        if len(set(mesh_dim_names)) != len(mesh_dim_names):
            raise RuntimeError(f"Each mesh_dim_name must be unique. Found repeated "
                               f"mesh_dim_name in mesh_dim_names {tuple(mesh_dim_names)}")
        if len(mesh_shape) != len(mesh_dim_names):
            raise RuntimeError(f"mesh_shape and mesh_dim_names should have same length! Found "
                               f"len(mesh_dim_names): {len(mesh_dim_names)} and "
                               f"len(mesh_shape):{len(mesh_shape)}.")
    if device_type and ":" in str(device_type):
        raise RuntimeError(f"Device type with index is not supported but got {device_type}. "
                           f"If you maintained a 'torch.device' object, it's recommended to "
                           f"pass in 'device.type'.")
    ranks = np.arange(math.prod(mesh_shape), dtype=np.int64).reshape(mesh_shape)
    return DeviceMesh(device_type, ranks, mesh_dim_names=mesh_dim_names,
                      backend_override=backend_override)
