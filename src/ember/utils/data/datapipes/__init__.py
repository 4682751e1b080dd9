"""``torch.utils.data.datapipes``: composable iterable- and map-style dataset pipes."""

from . import datapipe, iter, map
from .datapipe import DataChunk, IterDataPipe, MapDataPipe, functional_datapipe

__all__ = ["DataChunk", "IterDataPipe", "MapDataPipe", "datapipe", "functional_datapipe",
           "iter", "map"]
