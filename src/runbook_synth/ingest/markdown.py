"""Lenient markdown reading: sections by heading, fenced blocks, `**Field**: value` lines.

Real notes are messy (unbalanced fences, CRLF, headings that vary), so nothing here raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})\s*([\w+.-]*)")
_FIELD = re.compile(r"^\s*(?:[-*]\s+)?\*\*([^*]{1,80}?)\*\*\s*:?\s*:?\s*(.*)$")
_PLACEHOLDER = re.compile(r"^\s*(?:\{[^{}]*\}|\$\{\d+:-None\}|\[[^\]]*\]|None|N/?A|TBD|-)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Block:
    """A fenced code block: its info-string language, text, and the 1-based line of its first text line."""

    language: str
    text: str
    line: int


@dataclass(frozen=True)
class Section:
    level: int
    title: str
    line: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def is_placeholder(value: str) -> bool:
    """Template text left unfilled (`{timestamp}`, `${3:-None}`, `[Describe ...]`)."""
    return not value.strip() or bool(_PLACEHOLDER.match(value))


def iter_lines_outside_fences(lines: tuple[str, ...] | list[str]) -> Iterator[tuple[int, str, bool]]:
    """(index, line, inside_fence) for every line, tracking fences so headings in code are not headings."""
    fence = ""
    for index, line in enumerate(lines):
        match = _FENCE.match(line)
        if match:
            marker = match.group(1)
            if not fence:
                fence = marker
                yield index, line, True
                continue
            if marker[0] == fence[0] and len(marker) >= len(fence) and not match.group(2):
                fence = ""
                yield index, line, True
                continue
        yield index, line, bool(fence)


def sections(body: str, first_line: int = 1) -> list[Section]:
    """Split a body at headings (outside code). Text before the first heading is a level-0 section."""
    lines = body.split("\n")
    found: list[Section] = []
    current: list[str] = []
    level, title, start = 0, "", first_line
    for index, line, in_fence in iter_lines_outside_fences(lines):
        match = None if in_fence else _HEADING.match(line)
        if match:
            found.append(Section(level, title, start, tuple(current)))
            level, title = len(match.group(1)), match.group(2).strip()
            start, current = first_line + index + 1, []
        else:
            current.append(line)
    found.append(Section(level, title, start, tuple(current)))
    return found


def subsections(section: Section, all_sections: list[Section]) -> list[Section]:
    """The sections nested under `section` (deeper level, until the next one of its level or higher)."""
    result: list[Section] = []
    start = all_sections.index(section)
    for candidate in all_sections[start + 1 :]:
        if candidate.level <= section.level:
            break
        result.append(candidate)
    return result


def find_section(all_sections: list[Section], *names: str) -> Section | None:
    """The first section whose title starts with one of `names` (case-insensitive, spelling varies)."""
    wanted = [_normalize_title(name) for name in names]
    for section in all_sections:
        title = _normalize_title(section.title)
        if any(title.startswith(name) for name in wanted):
            return section
    return None


def section_with_children_text(section: Section, all_sections: list[Section]) -> tuple[str, int]:
    """A section's text with its subsections', and the line it starts on."""
    parts = [section.text]
    for child in subsections(section, all_sections):
        parts.append(f"{'#' * child.level} {child.title}")
        parts.append(child.text)
    return "\n".join(parts), section.line


def _normalize_title(title: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", title.lower()).strip()


def blocks(text: str, first_line: int = 1) -> list[Block]:
    """Fenced code blocks; an unterminated fence runs to the end of the text."""
    lines = text.split("\n")
    found: list[Block] = []
    current: list[str] = []
    fence, language, start = "", "", 0
    for index, line in enumerate(lines):
        match = _FENCE.match(line)
        if not fence:
            if match:
                fence, language, start, current = match.group(1), match.group(2).lower(), index + 1, []
            continue
        if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) and not match.group(2):
            found.append(Block(language, "\n".join(current), first_line + start))
            fence = ""
            continue
        current.append(line)
    if fence:
        found.append(Block(language, "\n".join(current), first_line + start))
    return found


def field(text: str, *names: str) -> str:
    """The value of the first `**Name**: value` line (outside code) with one of `names`."""
    wanted = {name.lower() for name in names}
    lines = text.split("\n")
    for _, line, in_fence in iter_lines_outside_fences(lines):
        if in_fence:
            continue
        match = _FIELD.match(line)
        if match and match.group(1).strip().rstrip(":").lower() in wanted:
            return match.group(2).strip()
    return ""


def blocks_after_field(text: str, name: str, first_line: int = 1) -> list[Block]:
    """The fenced blocks that follow a `**Name**:` line, up to the next bold field."""
    lines = text.split("\n")
    wanted = name.lower()
    for index, line, in_fence in iter_lines_outside_fences(lines):
        if in_fence:
            continue
        match = _FIELD.match(line)
        if match and match.group(1).strip().rstrip(":").lower() == wanted:
            rest: list[str] = []
            for _, later, later_fence in iter_lines_outside_fences(lines[index + 1 :]):
                if not later_fence and _FIELD.match(later) and "**" in later.lstrip()[:3]:
                    break
                rest.append(later)
            return blocks("\n".join(rest), first_line + index + 1)
    return []


def prose(text: str) -> str:
    """Text outside code blocks with template prompts (`**What went wrong?**`) and placeholders removed."""
    kept: list[str] = []
    for _, line, in_fence in iter_lines_outside_fences(text.split("\n")):
        stripped = line.strip()
        if in_fence or not stripped or stripped == "---":
            continue
        if re.fullmatch(r"\*\*[^*]+\?\*\*:?|\*\*[^*]+\*\*:?\s*\([^)]*\):?", stripped):
            continue
        if is_placeholder(stripped) or re.fullmatch(r"\[[^\]]*\]", stripped):
            continue
        kept.append(stripped)
    return "\n".join(kept)


def inline_code(text: str) -> list[tuple[str, int]]:
    """Inline `code` spans outside fences with their 0-based line index."""
    found: list[tuple[str, int]] = []
    for index, line, in_fence in iter_lines_outside_fences(text.split("\n")):
        if in_fence:
            continue
        for match in re.finditer(r"(?<!`)`([^`\n]{2,400})`(?!`)", line):
            found.append((match.group(1), index))
    return found
