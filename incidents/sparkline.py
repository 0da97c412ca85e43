"""Small trends drawn with block characters: `sparkline([0, 1, 3, 7])` is `▁▂▄█`."""

from __future__ import annotations

from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[int | float]) -> str:
    """One bar per value, scaled from zero to the largest value (so zero is always the lowest bar)."""
    top = max(values, default=0)
    if top <= 0:
        return BARS[0] * len(values)
    # Half rounds up (not Python's half-to-even), so equal steps look equal.
    return "".join(BARS[int(max(v, 0) * (len(BARS) - 1) / top + 0.5)] for v in values)
