"""Headings read by meaning, not spelling: `## Symptom`, `### 3. Root cause:` and `**What went wrong**` alike.

Teams write the same section under many names; this table is the one place those names live, shared by failure
observations, journals and loose notes. Matching ignores case, numbering, emphasis, trailing colons and filler
words ("the", "observed"), so the table lists each name once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

from runbook_synth.ingest.markdown import Section, normalize_heading


class Meaning(StrEnum):
    """What a section of a note is about."""

    SYMPTOMS = "symptoms"
    ROOT_CAUSE = "root-cause"
    FIX = "fix"
    PREVENTION = "prevention"
    CONTEXT = "context"


HEADING_SYNONYMS: Mapping[Meaning, tuple[str, ...]] = {
    Meaning.SYMPTOMS: (
        "Symptom",
        "Symptoms",
        "Symptoms Observed",
        "Error",
        "Errors",
        "Error Message",
        "Error Messages",
        "Error Output",
        "What happened",
        "What went wrong",
        "Problem",
        "Issue",
        "Observed behaviour",
        "Observed behavior",
    ),
    Meaning.ROOT_CAUSE: (
        "Root Cause",
        "Root Causes",
        "Root Cause Analysis",
        "Cause",
        "Causes",
        "Identified cause",
        "Why",
        "Why it happened",
        "Analysis",
        "Diagnosis",
    ),
    Meaning.FIX: (
        "Fix",
        "Fixes",
        "Fix Applied",
        "The Fix",
        "Solution",
        "Resolution",
        "Workaround",
        "What fixed it",
        "Remediation",
        "Mitigation",
        "How it was fixed",
    ),
    Meaning.PREVENTION: (
        "Prevention",
        "Preventive measures",
        "Lessons",
        "Lesson learned",
        "Lessons learned",
        "Follow-up",
        "Follow-ups",
        "Follow up",
        "Action items",
        "Next steps",
    ),
    Meaning.CONTEXT: ("Context", "Background", "Summary", "Overview"),
}

# Words that change nothing about what a heading means ("The root cause", "Symptoms observed").
_FILLER = frozenset({"the", "a", "an", "observed", "our", "actual", "initial", "final", "detailed", "short"})
# Words that may follow a synonym without changing its meaning ("Root cause analysis", "Fix applied").
_TAIL = frozenset(
    {
        "analysis",
        "applied",
        "details",
        "detail",
        "found",
        "identified",
        "implemented",
        "notes",
        "seen",
        "encountered",
        "summary",
        "taken",
        "steps",
        "used",
        "confirmed",
        "that",
        "worked",
    }
)
_SPLIT = re.compile(r"\s+(?:and|&|/|\+|or)\s+|\s*[&/+]\s*")


def _words(title: str) -> tuple[str, ...]:
    cleaned = re.sub(r"\([^)]*\)", " ", title)  # "Fix (temporary)"
    return tuple(word for word in normalize_heading(cleaned.replace("-", " ")).split() if word not in _FILLER)


_BY_WORDS: dict[tuple[str, ...], Meaning] = {
    _words(synonym): meaning for meaning, synonyms in HEADING_SYNONYMS.items() for synonym in synonyms
}


def meanings_of(title: str) -> frozenset[Meaning]:
    """What a heading means: `Root Cause & Fix` is both; `Error Handling Improvements` is neither."""
    found: set[Meaning] = set()
    for part in _SPLIT.split(title.strip().rstrip(":")):
        words = _words(part)
        for length in range(len(words), 0, -1):
            meaning = _BY_WORDS.get(words[:length])
            if meaning is not None and all(word in _TAIL for word in words[length:]):
                found.add(meaning)
                break
    return frozenset(found)


def find_meaning(all_sections: list[Section], meaning: Meaning) -> Section | None:
    """The first section whose heading means `meaning`, whatever it is called."""
    for section in all_sections:
        if section.level > 0 and meaning in meanings_of(section.title):
            return section
    return None


def find_meanings(all_sections: list[Section], meaning: Meaning) -> list[Section]:
    """Every section whose heading means `meaning` (a note may have `## Errors` and `## Symptoms`)."""
    return [section for section in all_sections if section.level > 0 and meaning in meanings_of(section.title)]


def heading_meanings_markdown_table() -> str:
    """The synonym table as markdown, for the README (so the documentation is the table itself)."""
    rows = ["| Meaning | Headings read as it |", "|---|---|"]
    for meaning, synonyms in HEADING_SYNONYMS.items():
        rows.append(f"| {meaning.value} | {', '.join(synonyms)} |")
    return "\n".join(rows) + "\n"
