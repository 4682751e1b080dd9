"""``expand`` for distributions built around other objects (a base distribution, a
list of transforms): the copy gets new state and shapes but skips ``__init__``, since
its arguments were validated when ``self`` was made."""

from __future__ import annotations

import ember

__all__ = ["ExpandThroughParent", "rebuilt"]


def rebuilt(dist, cls, _instance, batch_shape, event_shape=None, **state):
    """An instance of ``dist``'s type (or ``_instance``, which a subclass's ``expand``
    passes down) holding ``state``, with ``batch_shape`` and ``dist``'s event shape
    unless another is given, and ``dist``'s validation setting."""
    new = dist._get_checked_instance(cls, _instance)
    for name, value in state.items():
        setattr(new, name, value)
    from .distribution import Distribution
    Distribution.__init__(new, ember.Size(batch_shape),
                          dist.event_shape if event_shape is None else event_shape,
                          validate_args=False)
    new._validate_args = dist._validate_args
    return new


class ExpandThroughParent:
    """``expand = ExpandThroughParent()`` in a subclass whose ``__init__`` only picks
    arguments for its parent: its ``expand`` is the parent's, after the check that a
    further subclass with its own ``__init__`` also brings its own ``expand``."""

    def __set_name__(self, owner, name):
        self.owner = owner

    def __get__(self, dist, objtype=None):
        if dist is None:
            return self
        owner = self.owner

        def expand(batch_shape, _instance=None):
            new = dist._get_checked_instance(owner, _instance)
            return super(owner, dist).expand(batch_shape, _instance=new)
        return expand
