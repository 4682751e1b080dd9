"""``torch.distributed.elastic.multiprocessing``: only ``errors`` (for ``@record``)."""
