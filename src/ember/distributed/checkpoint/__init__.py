"""ember.distributed.checkpoint (PyTorch's ``torch.distributed.checkpoint``, "DCP"):
save and load state dicts as a directory that every rank writes its own part of, and
that loads into a different sharding than it was saved with.

    import ember.distributed.checkpoint as dcp
    dcp.save({"model": model.state_dict(), "optim": optimizer}, checkpoint_id="ckpt")
    state = {"model": model.state_dict(), "optim": optimizer}
    dcp.load(state, checkpoint_id="ckpt")         # tensors filled in place

The directory is PyTorch's format (``.metadata`` + ``__<rank>_0.distcp``): a checkpoint
written by PyTorch loads here and the reverse. Without a process group one process saves
and loads everything.
"""

from .api import CheckpointException
from .default_planner import DefaultLoadPlanner, DefaultSavePlanner
from .filesystem import FileSystemReader, FileSystemWriter
from .metadata import BytesStorageMetadata, ChunkStorageMetadata, Metadata, TensorStorageMetadata
from .planner import LoadPlan, LoadPlanner, ReadItem, SavePlan, SavePlanner, WriteItem
from .state_dict_loader import load, load_state_dict
from .state_dict_saver import async_save, save, save_state_dict
from .stateful import Stateful
from .storage import StorageReader, StorageWriter

__all__ = ["CheckpointException", "DefaultLoadPlanner", "DefaultSavePlanner",
           "FileSystemReader", "FileSystemWriter", "BytesStorageMetadata",
           "ChunkStorageMetadata", "Metadata", "TensorStorageMetadata", "LoadPlan", "LoadPlanner",
           "ReadItem", "SavePlan", "SavePlanner", "WriteItem", "load", "load_state_dict",
           "async_save", "save", "save_state_dict", "Stateful", "StorageReader",
           "StorageWriter"]
