"""Markdown read through a CommonMark parser: sections by heading, fenced blocks, tables, `**Field**: value` lines.

markdown-it-py finds fences wherever CommonMark puts them (in list items, nested lists, block quotes, `~~~`),
headings of any level (setext too) and tables; every block keeps its line in the file. Real notes are messy, so
nothing here raises, and a fence that CommonMark reads as text because it is indented too far under a list item
is still taken as the code block its writer meant. Each text is parsed once; lookups reuse the parse.
"""

from __future__ import annotations

import functools
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

_FIELD = re.compile(r"^\s*(?:[-*]\s+)?\*\*([^*]{1,80}?)\*\*\s*:?\s*:?\s*(.*)$")
_PLACEHOLDER = re.compile(r"^\s*(?:\{[^{}]*\}|\$\{\d+:-None\}|\[[^\]]*\]|None|N/?A|TBD|-)\s*$", re.IGNORECASE)
_LOOSE_FENCE_OPEN = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^`]*)$")
_LOOSE_FENCE_CLOSE = re.compile(r"^\s*(`{3,}|~{3,})\s*$")
_NUMBERING = re.compile(r"^\s*(?:(?:step|phase|part)\s+)?(?:\d+(?:\.\d+)*[.):]?|[ivxlc]+[.)]|[a-z][.)])\s+", re.I)
_MAX_SETEXT_TITLE = 120

_PARSER = MarkdownIt("commonmark").enable("table").disable("inline")
"""Block structure only: inline parsing is half of markdown-it's time, and the one inline element read here,
code spans, is found by `_CODE_SPAN` over each inline token's text."""
_CODE_SPAN = re.compile(r"(?<![`\\])(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)


@dataclass(frozen=True)
class Block:
    """A fenced code block: its info-string language, text, and the 1-based line of its first text line."""

    language: str
    text: str
    line: int


@dataclass(frozen=True)
class Section:
    """The text under one heading up to the next; `line` is the 1-based line of its first text line.

    `heading_lines` are the heading as written (one line, or two for a setext heading), so a section and its
    subsections can be put back together line for line.
    """

    level: int
    title: str
    line: int
    lines: tuple[str, ...]
    heading_lines: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class Table:
    """A pipe table: header cells, body rows of cells (inline markdown kept), and the 1-based line of its header."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    line: int


@dataclass(frozen=True)
class _Heading:
    level: int
    title: str
    start: int  # 0-based row of the heading's first line
    end: int  # 0-based row after the heading


@dataclass(frozen=True)
class _Fence:
    language: str
    text: str
    start: int  # 0-based row of the opening fence
    end: int  # 0-based row after the closing fence (or the end of its container)


@dataclass(frozen=True)
class _Document:
    """One parse of a text: its lines and what CommonMark found in them, rows 0-based."""

    lines: tuple[str, ...]
    fences: tuple[_Fence, ...]
    in_fence: tuple[bool, ...]
    headings: tuple[_Heading, ...]
    inline_code: tuple[tuple[str, int], ...]
    tables: tuple[tuple[tuple[str, ...], tuple[tuple[str, ...], ...], int], ...]


def is_placeholder(value: str) -> bool:
    """Template text left unfilled (`{timestamp}`, `${3:-None}`, `[Describe ...]`)."""
    return not value.strip() or bool(_PLACEHOLDER.match(value))


def iter_lines_outside_fences(lines: tuple[str, ...] | list[str]) -> Iterator[tuple[int, str, bool]]:
    """(index, line, inside_fence) for every line, fence lines included, so headings in code are not headings."""
    document = _parse("\n".join(lines))
    for index, line in enumerate(lines):
        yield index, line, index < len(document.in_fence) and document.in_fence[index]


def sections(body: str, first_line: int = 1) -> list[Section]:
    """Split a body at headings (outside code). Text before the first heading is a level-0 section."""
    document = _parse(body)
    lines = body.split("\n")
    found: list[Section] = []
    rows: list[tuple[int, int]] = []
    level, title, start = 0, "", 0
    heading_lines: tuple[str, ...] = ()
    for heading in document.headings:
        found.append(Section(level, title, first_line + start, tuple(lines[start : heading.start]), heading_lines))
        rows.append((start, heading.start))
        level, title = heading.level, heading.title
        heading_lines = tuple(lines[heading.start : heading.end])
        start = heading.end
    found.append(Section(level, title, first_line + start, tuple(lines[start:]), heading_lines))
    rows.append((start, len(lines)))
    for index, (section, (begin, end)) in enumerate(zip(found, rows, strict=True)):
        _register("\n".join(section.lines), _slice(document, begin, end))
        last = end
        for later, (_, later_end) in zip(found[index + 1 :], rows[index + 1 :], strict=True):
            if later.level <= section.level:
                break
            last = later_end
        if last != end and section.level:
            _register("\n".join(lines[begin:last]), _slice(document, begin, last))
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
    """The first section whose title starts with one of `names` (case, numbering and emphasis ignored)."""
    wanted = [normalize_heading(name) for name in names]
    for section in all_sections:
        if section.level == 0:
            continue
        title = normalize_heading(section.title)
        if any(name and title.startswith(name) for name in wanted):
            return section
    return None


def section_with_children_text(section: Section, all_sections: list[Section]) -> tuple[str, int]:
    """A section's text with its subsections' (headings included, line for line), and the line it starts on."""
    parts = list(section.lines)
    for child in subsections(section, all_sections):
        parts.extend(child.heading_lines or (f"{'#' * child.level} {child.title}",))
        parts.extend(child.lines)
    return "\n".join(parts), section.line


def normalize_heading(title: str) -> str:
    """A heading as words: lower case, without numbering (`3.`, `Step 2:`), emphasis or punctuation."""
    title = re.sub(r"[*_`~]+", " ", title)
    title = _NUMBERING.sub("", title)
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", title.lower()).split())


def blocks(text: str, first_line: int = 1) -> list[Block]:
    """Fenced code blocks, wherever they are (list items, quotes); an unterminated fence runs to its container's end."""
    return [Block(fence.language, fence.text, first_line + fence.start + 1) for fence in _parse(text).fences]


def tables(text: str, first_line: int = 1) -> list[Table]:
    """Pipe tables, with cells as written (inline markdown kept)."""
    return [Table(header, rows, first_line + row) for header, rows, row in _parse(text).tables]


def field(text: str, *names: str) -> str:
    """The value of the first `**Name**: value` line (outside code) with one of `names`."""
    wanted = {name.lower() for name in names}
    for _, line in _lines_outside_fences(text):
        match = _FIELD.match(line)
        if match and match.group(1).strip().rstrip(":").lower() in wanted:
            return match.group(2).strip()
    return ""


def blocks_after_field(text: str, name: str, first_line: int = 1) -> list[Block]:
    """The fenced blocks that follow a `**Name**:` line, up to the next bold field."""
    wanted = name.lower()
    start: int | None = None
    stop: int | None = None
    for index, line in _lines_outside_fences(text):
        match = _FIELD.match(line)
        if start is None:
            if match and match.group(1).strip().rstrip(":").lower() == wanted:
                start = index
        elif match and "**" in line.lstrip()[:3]:
            stop = index
            break
    if start is None:
        return []
    return [
        Block(fence.language, fence.text, first_line + fence.start + 1)
        for fence in _parse(text).fences
        if fence.start > start and (stop is None or fence.start < stop)
    ]


def prose(text: str) -> str:
    """Text outside code blocks with template prompts (`**What went wrong?**`) and placeholders removed."""
    kept: list[str] = []
    for _, line in _lines_outside_fences(text):
        stripped = line.strip()
        if not stripped or stripped == "---":
            continue
        if re.fullmatch(r"\*\*[^*]+\?\*\*:?|\*\*[^*]+\*\*:?\s*\([^)]*\):?", stripped):
            continue
        if is_placeholder(stripped) or re.fullmatch(r"\[[^\]]*\]", stripped):
            continue
        kept.append(stripped)
    return "\n".join(kept)


def inline_code(text: str) -> list[tuple[str, int]]:
    """Inline `code` spans outside code blocks with their 0-based line index."""
    return list(_parse(text).inline_code)


def blocks_after_label(text: str, is_label: Callable[[str], bool], first_line: int = 1) -> list[Block] | None:
    """The fenced blocks after the first line outside code that `is_label` accepts ("Mitigation that
    worked:"), to the end of the text; None when no line is one."""
    for index, line in _lines_outside_fences(text):
        if is_label(line):
            return [block for block in blocks(text, first_line) if block.line > first_line + index]
    return None


def lines_outside_fences(text: str) -> Iterator[str]:
    """The text's lines that are not inside a fenced block."""
    for _, line in _lines_outside_fences(text):
        yield line


def _lines_outside_fences(text: str) -> Iterator[tuple[int, str]]:
    document = _parse(text)
    for index, line in enumerate(document.lines):
        if not document.in_fence[index]:
            yield index, line


_DERIVED: OrderedDict[str, _Document] = OrderedDict()
_DERIVED_LIMIT = 256


def _parse(text: str) -> _Document:
    """Parse once per note: a section's text is read from its note's parse (registered by `sections`), so
    the blocks and fields of each tool call do not make markdown-it parse the same lines again."""
    derived = _DERIVED.get(text)
    if derived is not None:
        return derived
    return _parse_text(text)


def _register(text: str, document: _Document) -> None:
    _DERIVED[text] = document
    while len(_DERIVED) > _DERIVED_LIMIT:
        _DERIVED.popitem(last=False)


def _slice(document: _Document, start: int, end: int) -> _Document:
    """The part of a parse that covers rows [start, end), with rows counted from `start`."""
    return _Document(
        lines=document.lines[start:end],
        fences=tuple(
            _Fence(fence.language, fence.text, fence.start - start, fence.end - start)
            for fence in document.fences
            if fence.start + 1 >= start and fence.end <= end
        ),
        in_fence=document.in_fence[start:end],
        headings=tuple(
            _Heading(h.level, h.title, h.start - start, h.end - start)
            for h in document.headings
            if h.start >= start and h.end <= end
        ),
        inline_code=tuple((code, row - start) for code, row in document.inline_code if start <= row < end),
        tables=tuple((header, rows, row - start) for header, rows, row in document.tables if start <= row < end),
    )


@functools.lru_cache(maxsize=128)
def _parse_text(text: str) -> _Document:
    lines = tuple(text.split("\n"))
    # markdown-it counts "\r" as a line break; keep rows equal to `text.split("\n")`.
    source = "\n".join(line.rstrip("\r").replace("\r", " ") for line in lines)
    tokens = _PARSER.parse(source)
    fences = [_fence(token, len(lines)) for token in tokens if token.type == "fence" and token.map]
    in_fence = [False] * len(lines)
    for fence in fences:
        for row in range(fence.start, min(fence.end, len(lines))):
            in_fence[row] = True
    # Indented code blocks (four spaces, as some wiki editors write commands) are untagged blocks too. They
    # have no opening line, so their `start` is the row before their text; only their own rows are code.
    for token in tokens:
        if token.type == "code_block" and token.map and "```" not in token.content and "~~~" not in token.content:
            first, end = token.map
            text = token.content[:-1] if token.content.endswith("\n") else token.content
            fences.append(_Fence("", text.rstrip("\n"), first - 1, min(end, len(lines))))
            for row in range(first, min(end, len(lines))):
                in_fence[row] = True
    fences.extend(_loose_fences(lines, in_fence))
    fences.sort(key=lambda fence: fence.start)
    return _Document(
        lines=lines,
        fences=tuple(fences),
        in_fence=tuple(in_fence),
        headings=tuple(_headings(tokens, in_fence)),
        inline_code=tuple(_inline_code(tokens, in_fence)),
        tables=tuple(_tables(tokens)),
    )


def _fence(token: Token, line_count: int) -> _Fence:
    assert token.map is not None
    start, end = token.map
    text = token.content[:-1] if token.content.endswith("\n") else token.content
    return _Fence(_language(token.info), text, start, min(end, line_count))


def _language(info: str) -> str:
    match = re.match(r"[\w+.#-]*", info.strip().lstrip("{.").lower())
    return match.group(0) if match else ""


def _loose_fences(lines: tuple[str, ...], in_fence: list[bool]) -> list[_Fence]:
    """Fences CommonMark reads as text (indented too far under a list item, or as indented code).

    Only a fence with both its opening and closing line counts, and `in_fence` is updated for its lines.
    """
    found: list[_Fence] = []
    row = 0
    while row < len(lines):
        opening = None if in_fence[row] else _LOOSE_FENCE_OPEN.match(lines[row])
        if opening is None or (opening.group(2)[0] == "`" and "`" in opening.group(3)):
            row += 1
            continue
        indent, marker = len(opening.group(1).expandtabs(4)), opening.group(2)
        close = row + 1
        while close < len(lines) and not in_fence[close]:
            closing = _LOOSE_FENCE_CLOSE.match(lines[close])
            if closing and closing.group(1)[0] == marker[0] and len(closing.group(1)) >= len(marker):
                break
            close += 1
        if close >= len(lines) or in_fence[close]:
            row += 1
            continue
        body = [_dedent(line, indent) for line in lines[row + 1 : close]]
        found.append(_Fence(_language(opening.group(3)), "\n".join(body), row, close + 1))
        for inside in range(row, close + 1):
            in_fence[inside] = True
        row = close + 1
    return found


def _dedent(line: str, indent: int) -> str:
    expanded = line.expandtabs(4)
    spaces = len(expanded) - len(expanded.lstrip(" "))
    return expanded[min(spaces, indent) :]


def _headings(tokens: list[Token], in_fence: list[bool]) -> Iterator[_Heading]:
    for index, token in enumerate(tokens):
        if token.type != "heading_open" or token.level != 0 or not token.map:
            continue
        start, end = token.map
        if start < len(in_fence) and in_fence[start]:
            continue
        inline = tokens[index + 1] if index + 1 < len(tokens) else None
        title = " ".join((inline.content if inline is not None else "").split())
        if token.markup in ("=", "-") and not _plausible_setext(inline.content if inline is not None else ""):
            continue
        yield _Heading(int(token.tag[1:]), title, start, end)


def _plausible_setext(content: str) -> bool:
    """A setext heading is one short line; `**Date**: x` or a sentence above `---` is a paragraph and a rule."""
    return (
        "\n" not in content.strip()
        and len(content) <= _MAX_SETEXT_TITLE
        and not _FIELD.match(content)
        and not content.rstrip().endswith((".", ",", ";"))
    )


def _inline_code(tokens: list[Token], in_fence: list[bool]) -> Iterator[tuple[str, int]]:
    """CommonMark code spans: a backtick run closed by a run of the same length; line breaks inside become
    spaces, and one space is stripped from each side when both sides have one."""
    for token in tokens:
        if token.type != "inline" or not token.map:
            continue
        for match in _CODE_SPAN.finditer(token.content):
            row = token.map[0] + token.content.count("\n", 0, match.start())
            content = match.group(2).replace("\n", " ")
            if content.startswith(" ") and content.endswith(" ") and content.strip():
                content = content[1:-1]
            if 2 <= len(content) <= 400 and row < len(in_fence) and not in_fence[row]:
                yield content, row


def _tables(tokens: list[Token]) -> Iterator[tuple[tuple[str, ...], tuple[tuple[str, ...], ...], int]]:
    header: list[str] = []
    rows: list[tuple[str, ...]] = []
    row: list[str] = []
    start = 0
    in_head = False
    for index, token in enumerate(tokens):
        if token.type == "table_open":
            header, rows, start = [], [], token.map[0] if token.map else 0
        elif token.type == "thead_open":
            in_head = True
        elif token.type == "thead_close":
            in_head = False
        elif token.type == "tr_open":
            row = []
        elif token.type in ("th_open", "td_open"):
            inline = tokens[index + 1] if index + 1 < len(tokens) else None
            row.append(inline.content.strip() if inline is not None and inline.type == "inline" else "")
        elif token.type == "tr_close":
            if in_head:
                header = row
            else:
                rows.append(tuple(row))
        elif token.type == "table_close":
            yield tuple(header), tuple(rows), start
