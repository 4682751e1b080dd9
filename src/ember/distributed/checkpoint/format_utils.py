"""Conversions between a checkpoint directory and a single ``torch.save`` file."""

from __future__ import annotations

import ember

from .default_planner import _EmptyStateDictLoadPlanner
from .filesystem import FileSystemReader, FileSystemWriter
from .state_dict_loader import _load_state_dict
from .state_dict_saver import _save_state_dict

__all__ = ["dcp_to_torch_save", "torch_save_to_dcp"]


def dcp_to_torch_save(dcp_checkpoint_dir, torch_save_path) -> None:
    """Read the whole checkpoint directory in this process and ``save`` it to one file
    (nested as it was saved)."""
    state_dict = {}
    _load_state_dict(state_dict, storage_reader=FileSystemReader(dcp_checkpoint_dir),
                     planner=_EmptyStateDictLoadPlanner(), no_dist=True)
    ember.save(state_dict, torch_save_path)


def torch_save_to_dcp(torch_save_path, dcp_checkpoint_dir) -> None:
    """Write the contents of a ``torch.save`` file as a checkpoint directory."""
    state_dict = ember.load(torch_save_path, weights_only=False)
    _save_state_dict(state_dict, storage_writer=FileSystemWriter(dcp_checkpoint_dir),
                     no_dist=True)
