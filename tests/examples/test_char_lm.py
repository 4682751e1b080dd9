"""examples/char_lm.py runs end to end in a reduced mode (few steps, short sample)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "char_lm.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("char_lm_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_char_lm_trains_and_samples(capsys):
    example = _load_example()
    result = example.main(["--steps", "12", "--batch", "16", "--length", "32", "--sample", "40"])
    losses = result["losses"]
    assert len(losses) == 12 and all(math.isfinite(v) for v in losses)
    # starts near the uniform cross-entropy and goes down
    assert abs(losses[0] - math.log(result["vocab"])) < 0.3
    assert sum(losses[-3:]) / 3 < losses[0] - 0.3
    assert result["sample"].startswith("The ") and len(result["sample"]) == 44
    out = capsys.readouterr().out
    assert "trained 12 steps" in out and "stdlib modules" in out


def test_text_ships_with_python():
    text = _load_example().stdlib_text()
    assert len(text) > 20_000 and "Beautiful is better than ugly." in text
