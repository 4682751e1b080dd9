"""torchvision 0.28, imported for use as a live oracle by the vision model tests.

The test extra pins torchvision==0.28.0 next to torch==2.13.0. The wheel the local index
serves is a CUDA build: its C extension (``torchvision/_C.so``: nms, roi_align, deform
conv, video decoding) does not load next to the CPU torch. ``import torchvision`` then
fails in ``torchvision/_meta_registrations.py``, which registers meta kernels for those C
ops at import time ("operator torchvision::nms does not exist"). Everything else in the
package is Python on top of torch, and the model families compared here (segmentation,
video, optical flow, classification backbones) call none of the C ops. So the loader
puts an empty module in ``sys.modules`` under that name before the import: torchvision
then imports whole, and only a call into a C op would fail (loudly, as "operator does
not exist"), never a silent fallback.

Tests import torchvision only through :func:`load_torchvision`, so the workaround lives
in one place and a test fails (rather than skips) where torchvision is missing.
"""

from __future__ import annotations

import functools
import sys
import types

VERSION = "0.28.0"
_META = "torchvision._meta_registrations"


@functools.cache
def load_torchvision() -> types.ModuleType:
    """Import the real torchvision (with ``torchvision.models``) once and return it.

    Raises ``AssertionError`` if ``torchvision`` resolves to something else (for example
    ember's ``import torchvision`` alias left active by ``ember run`` in this process):
    comparing ember with itself would prove nothing.
    """
    if _META not in sys.modules:
        stub = types.ModuleType(_META)
        stub.__doc__ = "stand-in: torchvision's C ops do not load with the local torch build"
        sys.modules[_META] = stub
    import torchvision
    import torchvision.models

    version = getattr(torchvision, "__version__", "")
    assert version.split("+")[0] == VERSION, (
        f"expected the real torchvision {VERSION}, got {torchvision!r} {version!r}")
    return torchvision
