"""The storage a bare ``checkpoint_id`` means: a directory on the file system."""


def _storage_setup(storage, checkpoint_id, reader: bool = False):
    from .filesystem import FileSystemReader, FileSystemWriter

    if storage:
        if checkpoint_id is not None:
            storage.reset(checkpoint_id)
        return storage
    if not checkpoint_id:
        raise RuntimeError("`checkpoint_id` must be specified if "
                           "storage_reader/storage_writer is None.")
    target = FileSystemReader if reader else FileSystemWriter
    if target.validate_checkpoint_id(checkpoint_id):
        storage = target(checkpoint_id)
        storage.reset(checkpoint_id)
        return storage
    raise RuntimeError("Cannot detect which StorageReader or StorageWriter to use. "
                       "Please specify the storage_reader/storage_writer.")


def _no_dist(no_dist: bool) -> bool:
    """True when there is no process group to coordinate with (then one process saves or
    loads everything, with PyTorch's warning)."""

    import ember.distributed as dist

    no_dist = no_dist or not dist.is_available() or not dist.is_initialized()
    return no_dist


def _warn_single_process(action: str) -> None:
    import warnings

    warnings.warn("torch.distributed is disabled, unavailable or uninitialized, assuming the "
                  f"intent is to {action} in a single process.", stacklevel=3)
