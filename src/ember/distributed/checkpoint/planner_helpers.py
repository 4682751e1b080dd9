"""The plan-building helpers custom planners use (PyTorch's
``torch.distributed.checkpoint.planner_helpers``); they live in ``default_planner``."""

from .default_planner import (  # noqa: F401 - re-exported under PyTorch's module name
    _create_chunk_list,
    _create_read_items,
    _create_write_items,
    create_read_items_for_chunk_list,
)

__all__ = ["create_read_items_for_chunk_list"]
