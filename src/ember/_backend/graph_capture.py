"""Whether ember is capturing a CUDA graph (``ember.cuda.CUDAGraph.capture_begin`` to
``capture_end``), for code below the cuda layer that must refuse to be captured, such as
optimizers that keep their step count on the host (a captured step would replay the same
bias correction forever)."""

from __future__ import annotations

ACTIVE = [0]  # captures in progress
