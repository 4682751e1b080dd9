"""parallel_apply (``torch.nn.parallel.parallel_apply``): run ``modules[i](*inputs[i],
**kwargs_tup[i])`` for every i, each in its own thread on its own CUDA device, and
return the outputs in order; an error in any thread is raised again in the caller.

CPU devices raise ValueError, as in PyTorch; the device-agnostic ``_parallel_apply`` is
what the tests run on the CPU.
"""

from __future__ import annotations

import threading

from ..._tensor import Tensor
from .scatter_gather import _accelerator

__all__ = ["parallel_apply"]


def _first_tensor(obj):
    if isinstance(obj, Tensor):
        return obj
    if isinstance(obj, (list, tuple)):
        for item in obj:
            found = _first_tensor(item)
            if found is not None:
                return found
    if isinstance(obj, dict):
        for item in obj.values():
            found = _first_tensor(item)
            if found is not None:
                return found
    return None


def _parallel_apply(modules, inputs, kwargs_tup=None, devices=None):
    """The outputs of ``modules[i]`` on ``inputs[i]``, one thread each (ember devices,
    or None to run where the inputs are)."""
    if len(modules) != len(inputs):
        raise AssertionError(f"The number of modules {len(modules)} is not equal to the "
                             f"number of inputs {len(inputs)}")
    kwargs_tup = tuple(kwargs_tup) if kwargs_tup is not None else ({},) * len(modules)
    devices = list(devices) if devices is not None else [None] * len(modules)
    if not len(modules) == len(kwargs_tup) == len(devices):
        raise AssertionError("modules, inputs, kwargs_tup and devices must have the same "
                             "length")
    # ember's grad mode is process-wide, so the threads run under the caller's mode as
    # PyTorch's (which hands it to them) do
    results = [None] * len(modules)

    def work(index, module, arguments, kwargs, device):
        try:
            if device is not None and device.type == "cuda":
                from ... import cuda
                with cuda.device(device):
                    output = module(*_as_tuple(arguments), **kwargs)
            else:
                output = module(*_as_tuple(arguments), **kwargs)
            results[index] = ("ok", output)
        except Exception as error:  # noqa: BLE001 - raised again in the caller
            results[index] = ("error", error)

    jobs = list(zip(range(len(modules)), modules, inputs, kwargs_tup, devices))
    if len(jobs) > 1:
        threads = [threading.Thread(target=work, args=job) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elif jobs:
        work(*jobs[0])
    outputs = []
    for index, (status, value) in enumerate(results):
        if status == "error":
            message = f"Caught {type(value).__name__} in replica {index} on device " \
                      f"{devices[index]}: {value}"
            try:
                wrapped = type(value)(message)
            except Exception:  # noqa: BLE001 - a type that takes other arguments: as it is
                raise value from None
            raise wrapped from value
        outputs.append(value)
    return outputs


def _as_tuple(arguments):
    return arguments if isinstance(arguments, (list, tuple)) else (arguments,)


def parallel_apply(modules, inputs, kwargs_tup=None, devices=None) -> list:
    """Run each module on its inputs in its own thread, on its CUDA device (``devices``,
    or the device of each input's first tensor)."""
    if len(modules) != len(inputs):
        raise AssertionError(f"The number of modules {len(modules)} is not equal to the "
                             f"number of inputs {len(inputs)}")
    if devices is None:
        from ... import cuda
        if not cuda.is_available():
            raise RuntimeError("Cannot access accelerator device when none is available.")
        found = [_first_tensor(arguments) for arguments in inputs]
        # a cpu input's replica runs where it is, outside any device context (PyTorch's
        # get_device() of -1 selects no device)
        devices = [tensor.device if tensor is not None and tensor.device.type != "cpu"
                   else None for tensor in found]
    devices = [None if device is None else _accelerator(
        device, "Expected a cuda device, but got: {}") for device in devices]
    return _parallel_apply(modules, inputs, kwargs_tup, devices)
