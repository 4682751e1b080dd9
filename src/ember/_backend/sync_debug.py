"""The CUDA sync debug mode (``ember.cuda.set_sync_debug_mode``): warn or raise when code
makes the host wait for the GPU by reading device values (``item``, ``tolist``, ``cpu()``,
``numpy(force=True)``), the calls that serialise a training loop without anyone noticing.

It lives in the backend layer because the tensor and ops layers check it at those reads;
``ember.cuda`` sets it. Mode 0 ("default") does nothing, 1 ("warn") warns, 2 ("error")
raises, as in PyTorch. Explicit ``ember.cuda.synchronize()`` is never reported.
"""

from __future__ import annotations

import warnings

MODE = [0]
_MESSAGE = "called a synchronizing CUDA operation"


def check(array) -> None:
    """Called (while ``MODE[0]`` is nonzero) before reading ``array`` on the host."""
    from .device import device_of

    if device_of(array).type == "cuda":
        report()


def report() -> None:
    """Called at a device-to-host read while ``MODE[0]`` is nonzero."""
    if MODE[0] == 1:
        warnings.warn(_MESSAGE, UserWarning, stacklevel=4)
    elif MODE[0] == 2:
        raise RuntimeError(_MESSAGE)
