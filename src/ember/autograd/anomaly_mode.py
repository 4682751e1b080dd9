"""Anomaly detection (``torch.autograd.anomaly_mode``): with it on, the backward engine
checks every node's result for NaN and names the node that produced it.

The two switches are one-element lists so that the engine, ``torch.set_anomaly_enabled``
(``_toplevel_flags``) and the context managers here share one state.
"""

from __future__ import annotations

_anomaly = [False]
_anomaly_check_nan = [True]  # set_anomaly_enabled's second switch


def _check_anomaly(node, result):
    for index, g in enumerate(result):
        if g is not None and g._data.dtype.kind in "fc":
            xp = __import__("numpy") if type(g._data).__module__ == "numpy" else __import__("cupy")
            if bool(xp.isnan(g._data).any()):
                raise RuntimeError(
                    f"Function '{node.name()}' returned nan values in its {index}th output."
                )


class detect_anomaly:
    """Check every backward result for NaN and name the node that produced it."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        self._prev = None

    def __enter__(self):
        self._prev = (_anomaly[0], _anomaly_check_nan[0])
        _anomaly[0], _anomaly_check_nan[0] = True, bool(self.check_nan)
        return self

    def __exit__(self, *exc):
        _anomaly[0], _anomaly_check_nan[0] = self._prev

    def __call__(self, func):
        import functools

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.__class__(self.check_nan):
                return func(*args, **kwargs)

        return wrapper


class set_detect_anomaly:
    """Turn anomaly detection on or off now; as a context manager, restore the previous
    setting on exit (PyTorch's dual function/context-manager form)."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self._prev = (_anomaly[0], _anomaly_check_nan[0])
        _anomaly[0], _anomaly_check_nan[0] = bool(mode), bool(check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _anomaly[0], _anomaly_check_nan[0] = self._prev


def is_anomaly_enabled() -> bool:
    return _anomaly[0]
