"""ember.onnx: export a model to an ONNX file (the ``onnx`` extra)."""

__all__: list = []
