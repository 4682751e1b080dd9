"""``python -m ember``: the same command as ``ember`` (demo, run, info)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
