"""ember.vision.models.optical_flow: torchvision's RAFT models and their weight enums."""

from .raft import (
    RAFT,
    Raft_Large_Weights,
    Raft_Small_Weights,
    raft_large,
    raft_small,
)

__all__ = [
    "RAFT",
    "Raft_Large_Weights",
    "Raft_Small_Weights",
    "raft_large",
    "raft_small",
]
