"""``torch.autograd.profiler``: the older spelling of ``torch.profiler`` that scripts
still use (``with torch.autograd.profiler.profile() as prof:``)."""

from __future__ import annotations

from ..profiler import EventList, record_function
from ..profiler import profile as _profile

__all__ = ["EventList", "profile", "record_function"]


class profile(_profile):
    """``profile(enabled=True, *, use_cuda=False, record_shapes=False, ...)``."""

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False,
                 with_flops=False, profile_memory=False, with_stack=False, with_modules=False,
                 use_kineto=False, use_cpu=True, experimental_config=None, acc_events=False,
                 custom_trace_id_callback=None):
        super().__init__(record_shapes=record_shapes)
        self.enabled = enabled

    def __enter__(self):
        if self.enabled:
            self.start()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.stop()
        return False

    def table(self, *args, **kwargs):
        return self.key_averages().table(*args, **kwargs)
