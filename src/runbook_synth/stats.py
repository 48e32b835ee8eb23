"""Robust statistics over runs: one slow run moves neither the median nor the p90."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from runbook_synth.models import DurationEstimate

OUTLIER_MIN_VALUES = 4
"""Outliers are trimmed only from this many values: with fewer, nothing tells a slow run from the norm."""


def robust_durations(values: Sequence[float]) -> DurationEstimate | None:
    """Median and p90 over runs, after dropping outliers (beyond 3 scaled MADs, at least half the median)."""
    data = sorted(value for value in values if value is not None and value >= 0)
    if not data:
        return None
    center = statistics.median(data)
    deviation = statistics.median(abs(value - center) for value in data) * 1.4826
    if len(data) >= OUTLIER_MIN_VALUES:
        limit = max(3 * deviation, 0.5 * center)
        kept = [value for value in data if abs(value - center) <= limit] or data
    else:
        kept = data
    median = statistics.median(kept)
    rank = max(0, min(len(kept) - 1, -(-9 * len(kept) // 10) - 1))
    return DurationEstimate(round(median, 1), round(kept[rank], 1))
