"""``ShapeProp``: run a GraphModule on example inputs and record each node's result
metadata (shape, dtype, stride, ...) in ``node.meta['tensor_meta']``, as
``torch.fx.passes.shape_prop``. Passes read it to check shapes or annotate printouts
(``print_readable`` shows ``f32[2, 4]``)."""

from __future__ import annotations

from typing import Any, NamedTuple

from ..interpreter import Interpreter
from ..node import Node, map_aggregate

__all__ = ["ShapeProp", "TensorMetadata"]


class TensorMetadata(NamedTuple):
    """What ShapeProp records for a tensor result."""

    shape: Any
    dtype: Any
    requires_grad: bool
    stride: tuple[int, ...]
    memory_format: Any
    is_quantized: bool
    qparams: dict[str, Any]


def _extract_tensor_metadata(result, include_contiguity: bool = True) -> TensorMetadata:
    import ember

    memory_format = None
    if include_contiguity:
        for fmt in (ember.contiguous_format, ember.channels_last, ember.channels_last_3d):
            try:
                if result.is_contiguous(memory_format=fmt):
                    memory_format = fmt
                    break
            except RuntimeError:
                continue
    return TensorMetadata(result.shape, result.dtype, result.requires_grad, result.stride(),
                          memory_format, False, {})


class ShapeProp(Interpreter):
    """Execute the graph and store every tensor result's ``TensorMetadata`` (and the
    result's type in ``meta['type']``).

    Example::

        ShapeProp(gm).propagate(torch.randn(2, 4))
        for node in gm.graph.nodes:
            print(node.name, node.meta['tensor_meta'].shape)
    """

    def __init__(self, gm, fake_mode=None) -> None:
        super().__init__(gm)
        self.fake_mode = fake_mode

    def run_node(self, n: Node):
        import ember

        result = super().run_node(n)
        found_tensor = [False]

        def extract(obj):
            if isinstance(obj, ember.Tensor):
                found_tensor[0] = True
                return _extract_tensor_metadata(obj)
            return obj

        meta = map_aggregate(result, extract)
        if found_tensor[0]:
            n.meta["tensor_meta"] = meta
        n.meta["type"] = type(result)
        return result

    def propagate(self, *args):
        """Run on ``args``; afterwards each node holds its metadata."""
        return super().run(*args)
