"""Sharded tensors (PyTorch's ``torch.distributed._shard``), as FSDP's sharded and
local state dicts hold them."""
