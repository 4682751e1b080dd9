"""Iterable pipes (``torch.utils.data.datapipes.iter``) under PyTorch's short names."""

from ._combine import ConcaterIterDataPipe as Concater
from ._combine import DemultiplexerIterDataPipe as Demultiplexer
from ._combine import ForkerIterDataPipe as Forker
from ._combine import MultiplexerIterDataPipe as Multiplexer
from ._combine import ZipperIterDataPipe as Zipper
from ._extra import EnumeratorIterDataPipe as Enumerator
from ._extra import HeaderIterDataPipe as Header
from ._extra import InBatchShufflerIterDataPipe as InBatchShuffler
from ._transform import BatcherIterDataPipe as Batcher
from ._transform import CollatorIterDataPipe as Collator
from ._transform import FilterIterDataPipe as Filter
from ._transform import GrouperIterDataPipe as Grouper
from ._transform import IterableWrapperIterDataPipe as IterableWrapper
from ._transform import MapperIterDataPipe as Mapper
from ._transform import ShardingFilterIterDataPipe as ShardingFilter
from ._transform import ShufflerIterDataPipe as Shuffler
from ._transform import UnBatcherIterDataPipe as UnBatcher
from ..datapipe import IterDataPipe

__all__ = [
    "Batcher", "Collator", "Concater", "Demultiplexer", "Enumerator", "Filter", "Forker",
    "Grouper", "Header", "InBatchShuffler", "IterDataPipe", "IterableWrapper", "Mapper",
    "Multiplexer", "ShardingFilter", "Shuffler", "UnBatcher", "Zipper",
]
