"""``ONNXProgram``: what ``export(..., dynamo=True)`` (PyTorch's default) returns: the
exported model in memory, to ``save``, inspect (``model_proto``) or run (calling it runs
onnxruntime on ember tensors and returns ember tensors).

PyTorch builds it from a ``torch.export`` graph through onnxscript; ember's comes from the
same trace as ``dynamo=False`` (see export.py), so ``exported_program`` is None."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["ONNXProgram"]


def _host(tensor):
    data = tensor.detach()._data
    return data.get() if hasattr(data, "get") else np.asarray(data)


class ONNXProgram:
    """An exported ONNX model. ``program(*args)`` runs it (one InferenceSession, made on
    first call, dropped by ``release()``); ``program.save(path)`` writes it."""

    def __init__(self, model_proto, exported_program=None, *, _reference=None) -> None:
        self._model_proto = model_proto
        self.exported_program = exported_program
        # (model, example args, example kwargs, training) from ember's exporter: what
        # onnx.verification compares the file with when there is no exported_program.
        self._reference = _reference
        self._inference_session = None

    @property
    def model_proto(self):
        """The ``onnx.ModelProto``."""
        return self._model_proto

    def __repr__(self) -> str:
        import onnx

        return (f"ONNXProgram(\n    model=\n{onnx.helper.printable_graph(self._model_proto.graph)}"
                f"\n    ,\n    exported_program=\n        {self.exported_program}\n)")

    def save(self, destination, *, include_initializers: bool = True,
             keep_initializers_as_inputs: bool = False, external_data=None) -> None:
        """Write the model to ``destination``. ``external_data=True`` (or a model over
        2 GB) puts the weights in ``<file name>.data`` beside it, as PyTorch does."""
        import onnx

        proto = onnx.ModelProto()
        proto.CopyFrom(self._model_proto)
        graph = proto.graph
        if not include_initializers:
            del graph.initializer[:]
        if keep_initializers_as_inputs:
            present = {value.name for value in graph.input}
            for initializer in graph.initializer:
                if initializer.name not in present:
                    graph.input.append(onnx.helper.make_tensor_value_info(
                        initializer.name, initializer.data_type, list(initializer.dims)))
        if external_data is None:  # protobuf cannot hold a message over 2 GB
            external_data = sum(len(t.raw_data) for t in graph.initializer) > 2 ** 31 - 1
        destination = os.fspath(destination)
        if external_data:
            onnx.save_model(proto, destination, save_as_external_data=True,
                            all_tensors_to_one_file=True, size_threshold=0,
                            location=os.path.basename(destination) + ".data")
        else:
            onnx.save_model(proto, destination)

    def initialize_inference_session(self, initializer=None) -> None:
        """Make the onnxruntime session calls use (``initializer(model_bytes)`` if given)."""
        if initializer is None:
            import onnxruntime

            def initializer(model):
                return onnxruntime.InferenceSession(
                    model, providers=["CPUExecutionProvider"])

        self._inference_session = initializer(self._model_proto.SerializeToString())

    def release(self) -> None:
        """Drop the inference session (it holds a copy of the weights)."""
        self._inference_session = None

    def __call__(self, *args, **kwargs):
        """Run the model on the tensor arguments (positional, then keyword, in the order
        forward took them at export); returns a list of ember tensors."""
        from .. import from_numpy
        from .._tensor import Tensor

        if self._inference_session is None:
            self.initialize_inference_session()
        session = self._inference_session
        tensors = [a for a in args if isinstance(a, Tensor)]
        tensors += [v for v in kwargs.values() if isinstance(v, Tensor)]
        names = [value.name for value in session.get_inputs()]
        if len(tensors) != len(names):
            raise ValueError(f"the ONNX model takes {len(names)} tensor inputs "
                             f"({', '.join(names)}), got {len(tensors)}")
        feeds = {name: _host(tensor) for name, tensor in zip(names, tensors)}
        return [from_numpy(np.asarray(out)) for out in session.run(None, feeds)]
