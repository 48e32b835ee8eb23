"""Durations as people write them ("1m 12s", "~3 min", "took about 7 minutes") turned into seconds."""

from __future__ import annotations

import re

_UNIT_SECONDS = {
    "ms": 0.001,
    "msec": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}
_AMOUNT = re.compile(
    r"(?<![\w.])(\d{1,6}(?:\.\d{1,6})?)\s{0,3}"
    r"(milliseconds?|msec|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|hr|h)(?![a-z])",
    re.IGNORECASE,
)
_CLOCK = re.compile(r"(?<![\d:])(?:(\d{1,3}):)?(\d{1,2}):(\d{2})(?:\.(\d{1,3}))?(?![\d:])")
_PROSE = re.compile(
    r"\b(?:took|takes|taking|lasted|duration|ran for|in about|about|around|roughly|approx\w*|~)\s{0,3}"
    r"(?:about|around|roughly|approximately|~)?\s{0,3}(\d{1,6}(?:\.\d{1,6})?)\s{0,3}"
    r"(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)\b",
    re.IGNORECASE,
)
_RANGE = re.compile(r"(\d{1,6}(?:\.\d+)?)\s{0,2}(?:-|–|to)\s{0,2}(\d{1,6}(?:\.\d+)?)\s{0,3}([a-z]+)", re.I)


def parse_duration(text: str) -> float | None:
    """Seconds in a duration field, or None when it holds no duration (placeholders, "n/a").

    Sums compound forms ("1h 2m 3s"), reads clock forms ("00:01:12"), takes the middle of a range
    ("2-3 minutes").
    """
    if not text or len(text) > 200:
        text = text[:200]
    cleaned = text.strip().strip("*_`~").strip()
    if not cleaned or "{" in cleaned:
        return None
    ranged = _RANGE.search(cleaned)
    if ranged and ranged.group(3).lower() in _UNIT_SECONDS:
        low, high = float(ranged.group(1)), float(ranged.group(2))
        return round((low + high) / 2 * _UNIT_SECONDS[ranged.group(3).lower()], 3)
    amounts = _AMOUNT.findall(cleaned)
    if amounts:
        return round(sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in amounts), 3)
    clock = _CLOCK.search(cleaned)
    if clock:
        hours = int(clock.group(1) or 0)
        minutes, seconds = int(clock.group(2)), int(clock.group(3))
        fraction = float("0." + clock.group(4)) if clock.group(4) else 0.0
        return float(hours * 3600 + minutes * 60 + seconds) + fraction
    return None


def find_prose_duration(text: str) -> float | None:
    """The first duration stated in prose ("took about 7 minutes"), for notes with no fields."""
    match = _PROSE.search(text[:20000])
    if not match:
        return None
    return round(float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()], 3)
