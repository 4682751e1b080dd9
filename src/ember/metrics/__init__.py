"""ember.metrics: classification, ranking-curve and regression metrics.

Functional forms (``ember.metrics.f1_score(preds, target, ...)``) and stateful classes
(``F1Score(...).update(preds, target)`` per batch, then ``compute()``, ``reset()``,
``merge(other)``) share one implementation, so accumulating batches equals the one-shot
score. Results are ember tensors on the inputs' device; scikit-learn is the oracle for
values, zero-division handling and warnings.
"""

from __future__ import annotations

from . import classification as _classification
from . import curves as _curves
from . import regression as _regression
from . import report as _report
from . import stateful as _stateful
from ._common import UndefinedMetricWarning
from .classification import *
from .curves import *
from .regression import *
from .report import *
from .stateful import *

__all__ = ["UndefinedMetricWarning"]
__all__ += _classification.__all__ + _curves.__all__ + _regression.__all__
__all__ += _report.__all__ + _stateful.__all__
