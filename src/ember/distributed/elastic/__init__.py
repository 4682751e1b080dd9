"""``torch.distributed.elastic`` names that torchrun scripts import (``errors.record``)."""
