"""``torch.utils.model_zoo``: the old home of ``load_url`` (now
``hub.load_state_dict_from_url``), kept because torchvision-era code imports it from
here, along with ``tqdm``."""

from __future__ import annotations

from ..hub import load_state_dict_from_url as load_url

__all__ = ["load_url", "tqdm"]


class _ProgressBar:
    """Prints ``done/total`` (or a percentage) to stderr as ``update`` is called."""

    def __init__(self, total=None, disable=False, unit=None, unit_scale=None,
                 unit_divisor=None) -> None:
        self.total, self.disable, self.unit = total, disable, unit
        self.n = 0

    def update(self, n) -> None:
        import sys

        if self.disable:
            return
        self.n += n
        if self.total is None:
            sys.stderr.write(f"\r{self.n:.1f} bytes")
        else:
            sys.stderr.write(f"\r{100 * self.n / float(self.total):.1f}%")
        sys.stderr.flush()

    def close(self) -> None:
        self.disable = True

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if not self.disable:
            import sys

            sys.stderr.write("\n")


# The tqdm package's progress bar when installed (an optional dependency), else the
# minimal one above, as torch.hub falls back.
try:
    from tqdm import tqdm
except ImportError:
    tqdm = _ProgressBar
