"""Text shown to people: on a terminal, in logs, in runbooks."""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Control characters, terminal escapes and bidirectional overrides shown as visible escapes, so a file
    name or a note cannot rewrite a terminal line or flip a title. Newlines and tabs are kept."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)
