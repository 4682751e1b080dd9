"""Autocast state, read by ``Function.apply`` on every op (one list index when off).

``ACTIVE[0]`` is None outside autocast, else a dict: device type -> lower-precision NumPy
dtype for the devices where autocast is enabled. ``ember.amp`` manages it.
"""

ACTIVE: list = [None]


def cast(cls, args):
    """Replaced by ``ember.amp`` with the op-list policy when it is imported."""
    return args
