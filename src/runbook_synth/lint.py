"""Check markdown runbooks, generated or hand-written, against the quality checklist of the seeds.

Real runbooks are messy: headings of any level and in any order, numbered sections, diagrams in untagged
fences, commands inline or in console blocks. So sections are found by meaning (a set of synonyms per
concept), steps by numbering, and every check errs towards silence when the text is ambiguous: a linter
that cries wolf on a team's 1,000-line deployment guide is not run twice.

Only `errors.py` and `lint_rules.py` are imported, so the linter keeps working while the pipeline changes.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from runbook_synth.errors import RunbookSynthError
from runbook_synth.lint_rules import RULES_BY_ID, Rule, Severity, find_rule, resolve_rules

__all__ = [
    "Finding",
    "LintReport",
    "Severity",
    "exit_code",
    "format_github",
    "format_json",
    "format_text",
    "lint_markdown",
    "lint_paths",
]

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 5_000_000
MAX_STEPS = 50
DEFAULT_REVIEW_DAYS = 92  # seed 000: "Review schedule (quarterly minimum)"

# Folder walks skip these; a path named explicitly is always linted.
SKIPPED_DIRS = frozenset({"node_modules", "venv", "__pycache__", "site-packages"})
# A library's index (seed 004 AC5), its template and changelog are not runbooks.
SKIPPED_FILES = frozenset({"index.md", "readme.md", "template.md", "changelog.md"})


# --------------------------------------------------------------------------------------------------
# Public records


@dataclass(frozen=True, order=True)
class Finding:
    """One problem in one file; the field order is the sort order, so reports are deterministic."""

    path: Path
    line: int
    rule_id: str
    slug: str = field(compare=False)
    severity: Severity = field(compare=False)
    message: str = field(compare=True)
    fix: str = field(compare=False)


@dataclass(frozen=True)
class LintReport:
    """The files linted and what was found in them, sorted by path, line and rule."""

    files: tuple[Path, ...]
    findings: tuple[Finding, ...]

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity is severity)


# --------------------------------------------------------------------------------------------------
# The parsed document


class _Concept(StrEnum):
    TITLE = "title"
    OWNER = "owner"
    UPDATED = "last updated"
    RISK = "risk level"
    REVIEW = "review frequency"
    APPROVAL = "approval"
    SCOPE = "scope"
    OUT_OF_SCOPE = "out of scope"
    PREREQUISITES = "prerequisites"
    PREFLIGHT = "pre-flight checks"
    PROCEDURE = "procedure"
    VERIFICATION = "verification"
    ROLLBACK = "rollback"
    TROUBLESHOOTING = "troubleshooting"
    ESCALATION = "escalation"
    POST_EXECUTION = "post-execution tasks"
    CHANGELOG = "changelog"
    PARAMETERS = "parameters"


@dataclass(frozen=True)
class _Prose:
    """An inline run (paragraph, heading or table cell) with its code spans pulled out."""

    line: int
    text: str
    plain: str
    code_spans: tuple[str, ...]
    kind: str


@dataclass(frozen=True)
class _Code:
    line: int
    end: int
    lang: str
    text: str
    text_line: int


@dataclass(frozen=True)
class _Item:
    line: int
    end: int
    ordered: bool
    depth: int


@dataclass(frozen=True)
class _Heading:
    level: int
    title: str
    line: int
    end: int
    concepts: frozenset[_Concept]


@dataclass(frozen=True)
class _Table:
    line: int
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class _Field:
    concept: _Concept
    label: str
    value: str
    line: int


@dataclass(frozen=True)
class _Step:
    number: int
    title: str
    line: int
    end: int


@dataclass(frozen=True)
class _Doc:
    lines: tuple[str, ...]
    prose: tuple[_Prose, ...]
    codes: tuple[_Code, ...]
    items: tuple[_Item, ...]
    headings: tuple[_Heading, ...]
    tables: tuple[_Table, ...]
    fields: tuple[_Field, ...]
    first_block_is_heading: bool

    def prose_in(self, start: int, end: int) -> list[_Prose]:
        return [p for p in self.prose if start <= p.line <= end]

    def codes_in(self, start: int, end: int) -> list[_Code]:
        return [c for c in self.codes if start <= c.line <= end]

    def tables_in(self, start: int, end: int) -> list[_Table]:
        return [t for t in self.tables if start <= t.line <= end]


_MD = MarkdownIt("commonmark").enable("table")

_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)\s*$")
_NUMBERING = re.compile(
    r"^(?:(?:step|stage|phase|part)\s*)?(?:\d+(?:\.\d+)*|[ivx]+|[a-z])[.):]?\s+|^\d+(?:\.\d+)*$", re.I
)
_STEP_HEADING = re.compile(r"^\W*(?:(?:step|stage)\s*#?\d+\b|\d+(?:\.\d+)*[.):]?\s+\S)", re.I)
_STEP_WORD_HEADING = re.compile(r"^\W*(?:step|stage)\s*#?\d+\b", re.I)


def _normalize_label(text: str) -> str:
    """Lowercase words only: `**Pre-Flight Checks:**` and `3. Pre-flight checks` compare equal."""
    text = re.sub(r"[`*_~]", "", text).strip()
    text = _NUMBERING.sub("", text, count=1)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


# Section synonyms, matched on the normalized heading. Order matters only through the exclusions below.
_SECTION_PATTERNS: tuple[tuple[_Concept, re.Pattern[str]], ...] = tuple(
    (concept, re.compile(pattern))
    for concept, pattern in (
        (_Concept.ROLLBACK, r"\broll ?backs?\b|\bback ?out\b|\brevert|\bundo\b|\brestore previous|\bfall ?back\b"),
        (
            _Concept.PREFLIGHT,
            r"\bpre ?flight|\bpre ?checks?\b|\bpre (?:deploy|deployment|change|migration|release|upgrade|execution|"
            r"operation|op)s? (?:checks?|validation|verification)|\bbefore you (?:start|begin)\b|\bsanity checks?\b|"
            r"\breadiness\b|\bgo no go\b|\bpreconditions?\b",
        ),
        (
            _Concept.VERIFICATION,
            r"\bverif|\bvalidat|\bpost (?:\w+ )?checks?\b|\bsmoke\b|\bhealth ?checks?\b|\bsuccess criteria\b|"
            r"\bconfirm|\bacceptance\b|^checks?\b|\bchecks?$",
        ),
        (
            _Concept.POST_EXECUTION,
            r"\bpost (?:execution|deploy|deployment|change|migration|release|incident|operation|op|rollout|maintenance|"
            r"work)\b|^after (?:the )?(?:deploy|deployment|change|release|rollout|migration|execution|you finish|"
            r"completion)\b|\bafterwards\b|\bclean ?up\b|\bwrap ?up\b|\bfollow ?ups?\b|\bclose ?out\b|\baftercare\b|"
            r"\bhand ?(?:over|off)\b|\bnext steps\b",
        ),
        (
            _Concept.TROUBLESHOOTING,
            r"\btroubleshoot|\b(?:common|known) (?:issues|errors|problems|failures|pitfalls)\b|\bfaq\b|"
            r"\bif (?:something|things|it) goes wrong\b|\bdebugging\b|\bfailure modes\b|\bgotchas\b|"
            r"\bwhat can go wrong\b|^errors\b|^problems\b",
        ),
        (
            _Concept.ESCALATION,
            r"\bescalat|\bcontacts?\b|\bwho to (?:call|contact|page|ask)\b|\bget(?:ting)? help\b|^help\b|\bon ?call\b|"
            r"^support\b|\bpoints? of contact\b",
        ),
        (
            _Concept.PREREQUISITES,
            r"\bpre ?requisites?\b|\brequirements\b|\brequired (?:access|tools|permissions)\b|\bdependencies\b|"
            r"\bwhat you(?: ll)? need\b|\byou will need\b|\bbefore you (?:start|begin)\b|^access\b|^permissions\b",
        ),
        (
            _Concept.OUT_OF_SCOPE,
            r"\bout of scope\b|\bnot covered\b|\bdoes not (?:cover|handle)\b|\bdoesn t (?:cover|handle)\b|"
            r"\bnon goals?\b|\bnot in scope\b|\bwhen not to use\b|\blimitations\b",
        ),
        (
            _Concept.SCOPE,
            r"\bscope\b|\buse cases?\b|\bwhen to use\b|\bpurpose\b|\boverview\b|\btriggers?\b|\bsummary\b|^about\b|"
            r"\bintroduction\b|\bapplies to\b|\bbackground\b",
        ),
        (_Concept.APPROVAL, r"\bapprov|\bsign ?off\b|\bchange (?:management|control|request|ticket|board)\b|\bcab\b"),
        (_Concept.CHANGELOG, r"\bchange ?log\b|\brevision history\b|\bversion history\b|^history\b|^changes\b"),
        (_Concept.PARAMETERS, r"\bparameters?\b|\bvariables?\b|\bplaceholders?\b|^inputs?\b|\barguments?\b"),
        (
            _Concept.PROCEDURE,
            r"\bprocedures?\b|\bsteps\b|\bstep by step\b|\binstructions\b|\bexecution\b|\bhow to\b|\bprocess\b|"
            r"\bplaybook\b|\bremediation\b|\bmitigation\b|\bimplementation\b|\bdeploy|\brelease\b|\brollout\b|"
            r"\bmigrat|\bupgrade\b|\bresponse\b|\bworkflow\b|\brun ?sheet\b",
        ),
    )
)


# Sections whose sub-headings are entries of the section itself, never sections of another kind.
_LEAF_SECTIONS = frozenset(
    {
        _Concept.TROUBLESHOOTING,
        _Concept.ESCALATION,
        _Concept.CHANGELOG,
        _Concept.VERIFICATION,
        _Concept.ROLLBACK,
        _Concept.POST_EXECUTION,
    }
)


def _classify_heading(title: str) -> frozenset[_Concept]:
    """The concepts a heading stands for; a Rollback Procedure is a rollback, not the procedure."""
    if _STEP_WORD_HEADING.match(re.sub(r"[`*_~]", "", title)):
        return frozenset()
    label = _normalize_label(title)
    found = {concept for concept, pattern in _SECTION_PATTERNS if pattern.search(label)}
    if _Concept.PREFLIGHT in found:
        found.discard(_Concept.VERIFICATION)
    if _Concept.VERIFICATION in found:
        found.discard(_Concept.POST_EXECUTION)
    if _Concept.OUT_OF_SCOPE in found:
        found.discard(_Concept.SCOPE)
    if found - {_Concept.PROCEDURE}:
        found.discard(_Concept.PROCEDURE)
    return frozenset(found)


_FIELD_PATTERNS: tuple[tuple[_Concept, re.Pattern[str]], ...] = tuple(
    (concept, re.compile(pattern))
    for concept, pattern in (
        (_Concept.TITLE, r"title"),
        (
            _Concept.OWNER,
            r"(?:runbook |service |owning |document )?owners?(?: team)?|owned by|maintainers?|maintained by|"
            r"owning team|responsible team|dri",
        ),
        (
            _Concept.UPDATED,
            r"(?:last )?(?:updated|modified|revised|reviewed|validated|tested|verified)(?: on| at| date)?|"
            r"last (?:update|review|validation|test|revision)(?: date)?|date|generated(?: on)?|created(?: on)?",
        ),
        (_Concept.RISK, r"risk(?: level| classification| rating| class)?"),
        (_Concept.REVIEW, r"review (?:frequency|cadence|schedule|cycle|interval)|reviewed every"),
        (
            _Concept.APPROVAL,
            r"approved by|approvals?(?: required| gate)?|approvers?|sign ?off|change (?:ticket|request|approval)|cab",
        ),
        (
            _Concept.ESCALATION,
            r"(?:on ?call )?escalation(?: path| contacts?| to)?|escalate to|on ?call|contacts?|pager|point of contact",
        ),
        (_Concept.OUT_OF_SCOPE, r"out of scope|not covered|does not (?:cover|handle)|non goals?|when not to use"),
        (_Concept.SCOPE, r"scope|use case|when to use|purpose|triggers?|trigger conditions?|applies to"),
        (_Concept.ROLLBACK, r"roll ?back(?: plan| procedure)?|back ?out(?: plan)?"),
        (_Concept.VERIFICATION, r"verification|success criteria"),
        (_Concept.PREREQUISITES, r"prerequisites|pre requisites|requirements"),
    )
)
_FALLBACK_DATE_LABELS = re.compile(r"^(?:generated|created|date)\b")


def _field_concept(label: str) -> _Concept | None:
    normalized = _normalize_label(label)
    for concept, pattern in _FIELD_PATTERNS:
        if pattern.fullmatch(normalized):
            return concept
    return None


_BOLD_FIELD = re.compile(r"^\s*(?:[-*+]\s+)?(?:\*\*|__)([^*_]{1,60}?)(?:\*\*|__)\s*:?\s*(?:\*\*|__)?\s*:?\s*(.*)$")
_BOLD_COLON_FIELD = re.compile(r"^\s*(?:[-*+]\s+)?(?:\*\*|__)([^*_]{1,60}?):(?:\*\*|__)\s*(.*)$")
_PLAIN_FIELD = re.compile(r"^\s*(?:[-*+]\s+)?([A-Za-z][A-Za-z /&-]{1,40}?)\s*:\s+(\S.*)$")


def _unmark(text: str) -> str:
    """A label or value without the emphasis around it: `**Last reviewed**` is `Last reviewed`."""
    return re.sub(r"^[*_\s]+|[*_\s]+$", "", text)


def _fields_in_line(text: str, line: int) -> Iterator[_Field]:
    for pattern in (_BOLD_COLON_FIELD, _BOLD_FIELD, _PLAIN_FIELD):
        match = pattern.match(text)
        if match:
            concept = _field_concept(match.group(1))
            if concept is not None:
                yield _Field(concept, _unmark(match.group(1)), _unmark(match.group(2)), line)
            return


def _strip_front_matter(text: str) -> tuple[str, list[tuple[str, str, int]]]:
    """YAML front matter as (key, value, line) pairs, blanked out so markdown-it keeps line numbers."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return text, []
    for index in range(1, min(len(lines), 300)):
        if _FRONT_MATTER_END.match(lines[index]):
            pairs = []
            for number in range(1, index):
                match = re.match(r"^([A-Za-z][\w -]{0,40}):\s*(.*)$", lines[number])
                if match:
                    pairs.append((match.group(1), match.group(2).strip().strip("\"'"), number + 1))
            blanked = [""] * (index + 1) + lines[index + 1 :]
            return "\n".join(blanked), pairs
    return text, []


def _inline_parts(token: Token) -> tuple[str, tuple[str, ...]]:
    plain: list[str] = []
    spans: list[str] = []
    for child in token.children or []:
        if child.type == "code_inline":
            spans.append(child.content)
            plain.append(" ")
        elif child.type in ("text", "softbreak", "hardbreak"):
            plain.append(child.content if child.type == "text" else "\n")
        elif child.type == "html_inline":
            plain.append(" ")
    return "".join(plain), tuple(spans)


def _parse(text: str) -> _Doc:
    body, front_matter = _strip_front_matter(text)
    tokens = _MD.parse(body)
    total = body.count("\n") + 1
    prose: list[_Prose] = []
    codes: list[_Code] = []
    items: list[_Item] = []
    raw_headings: list[tuple[int, str, int]] = []
    tables: list[_Table] = []
    fields = [
        _Field(concept, key, value, line)
        for key, value, line in front_matter
        if (concept := _field_concept(key)) is not None
    ]
    context = "paragraph"
    item_depth = 0
    table_rows: list[list[str]] = []
    table_line = 0
    blocks = [t for t in tokens if t.level == 0 and t.type != "html_block" and not t.type.endswith("_close")]
    first_block_is_heading = bool(blocks) and blocks[0].type == "heading_open"
    heading_level = 0
    for token in tokens:
        if token.type == "heading_open":
            context, heading_level = "heading", int(token.tag[1])
        elif token.type == "paragraph_open":
            context = "paragraph"
        elif token.type in ("th_open", "td_open"):
            context = "cell"
        elif token.type == "tr_open":
            table_rows.append([])
        elif token.type == "table_open":
            table_rows, table_line = [], (token.map[0] + 1 if token.map else 1)
        elif token.type == "table_close":
            header = tuple(table_rows[0]) if table_rows else ()
            tables.append(_Table(table_line, header, tuple(tuple(row) for row in table_rows[1:])))
        elif token.type == "list_item_open" and token.map:
            ordered = token.markup in (".", ")")
            items.append(_Item(token.map[0] + 1, token.map[1], ordered, item_depth))
            item_depth += 1
        elif token.type == "list_item_close":
            item_depth -= 1
        elif token.type in ("fence", "code_block") and token.map:
            lang = token.info.strip().split(maxsplit=1)[0].lower() if token.info.strip() else ""
            first_text = token.map[0] + (2 if token.type == "fence" else 1)
            codes.append(_Code(token.map[0] + 1, token.map[1], lang, token.content, first_text))
        elif token.type == "inline" and token.map:
            line = token.map[0] + 1
            plain, spans = _inline_parts(token)
            prose.append(_Prose(line, token.content, plain, spans, context))
            if context == "heading":
                raw_headings.append((heading_level, token.content, line))
            if context == "cell" and table_rows:
                table_rows[-1].append(token.content)
            if context in ("paragraph", "heading"):
                for offset, text_line in enumerate(token.content.split("\n")):
                    fields.extend(_fields_in_line(text_line, line + offset))
    headings: list[_Heading] = []
    for index, (level, title, line) in enumerate(raw_headings):
        end = next((other[2] - 1 for other in raw_headings[index + 1 :] if other[0] <= level), total)
        # The title names the whole runbook ("Rollback lambda", "Deployment guide"), not one of its sections;
        # and "Issue 3: Rollback failed" under Troubleshooting is a troubleshooting entry, not a rollback.
        parent = next((h for h in reversed(headings) if h.level < level and h.line <= line <= h.end), None)
        leaf = parent is not None and bool(parent.concepts & _LEAF_SECTIONS)
        concepts = frozenset() if (index == 0 and level == 1) or leaf else _classify_heading(title)
        headings.append(_Heading(level, title, line, end, concepts))
    fields.extend(_fields_from_tables(tables))
    fields.extend(_fields_from_headings(headings, prose))
    return _Doc(
        lines=tuple(text.split("\n")),
        prose=tuple(prose),
        codes=tuple(codes),
        items=tuple(items),
        headings=tuple(headings),
        tables=tuple(tables),
        fields=tuple(fields),
        first_block_is_heading=first_block_is_heading,
    )


def _fields_from_tables(tables: Iterable[_Table]) -> Iterator[_Field]:
    """`| Owner | Platform |` rows, and a header row of field names above one row of values."""
    for table in tables:
        rows = (table.header, *table.rows)
        for offset, row in enumerate(rows):
            if len(row) >= 2 and (concept := _field_concept(row[0])) is not None:
                yield _Field(concept, _unmark(row[0]), _unmark(row[1]), table.line + offset + (1 if offset else 0))
        if len(table.rows) == 1:
            for label, value in zip(table.header, table.rows[0], strict=False):
                if (concept := _field_concept(label)) is not None:
                    yield _Field(concept, _unmark(label), _unmark(value), table.line + 2)


def _fields_from_headings(headings: Sequence[_Heading], prose: Sequence[_Prose]) -> Iterator[_Field]:
    """`## Owner` followed by `Platform team`: the heading names the field, the next paragraph is its value."""
    for heading in headings:
        concept = _field_concept(heading.title)
        if concept in (None, _Concept.SCOPE, _Concept.ROLLBACK, _Concept.VERIFICATION, _Concept.PREREQUISITES):
            continue
        assert concept is not None
        following = [p for p in prose if heading.line < p.line <= heading.end and p.kind == "paragraph"]
        if following:
            yield _Field(concept, heading.title, following[0].text.split("\n")[0], following[0].line)


# --------------------------------------------------------------------------------------------------
# Recognising values


_TODO_TEXT = re.compile(r"^\W*(?:todo|tbd|fixme|xxx)\b", re.I)
_GAP_TEXT = re.compile(
    r"^\W*(?:no|nothing)\b.{0,120}?\b(?:was|were|has been|have been|is|are)\s+(?:yet\s+)?"
    r"(?:observed|recorded|found|mined|seen|documented|known)\b",
    re.I | re.S,
)
_PLACEHOLDER_VALUE = re.compile(
    r"^\W*(?:todo|tbd|fixme|xxx|unassigned|unknown|none|n/?a|nobody|\?+|-+)\b|^\s*[\[<{].*[\]>}]\s*$|^\W*$", re.I
)
_MONTHS = {
    month: number
    for number, month in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
_ISO_DATE = re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b")
_DAY_MONTH_YEAR = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3})[a-z]*\.?,?\s+(\d{4})\b")
_MONTH_DAY_YEAR = re.compile(r"\b([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")
_RISK_VALUE = re.compile(r"\b(low|medium|moderate|high|critical)\b", re.I)
_REVIEW_WORDS = (
    (re.compile(r"\bdaily\b", re.I), 1),
    (re.compile(r"\bbi-?weekly\b|\bfortnightly\b|\bevery (?:two|2) weeks\b", re.I), 14),
    (re.compile(r"\bweekly\b", re.I), 7),
    (re.compile(r"\bbi-?monthly\b|\bevery (?:two|2) months\b", re.I), 62),
    (re.compile(r"\bmonthly\b", re.I), 31),
    (re.compile(r"\bquarterly\b", re.I), 92),
    (
        re.compile(r"\bsemi-?annual(?:ly)?\b|\bhalf-?yearly\b|\bbi-?annual(?:ly)?\b|\bevery (?:six|6) months\b", re.I),
        183,
    ),
    (re.compile(r"\bannual(?:ly)?\b|\byearly\b", re.I), 366),
)
_REVIEW_EVERY = re.compile(r"\bevery\s+(\d+)\s*(day|week|month|year)s?\b", re.I)
_UNIT_DAYS = {"day": 1, "week": 7, "month": 31, "year": 366}


def _is_todo_value(value: str) -> bool:
    return bool(_PLACEHOLDER_VALUE.match(value) or _TODO_TEXT.match(value))


def parse_date(value: str) -> date | None:
    """The first date in a field value (ISO, `12 Nov 2026`, `Nov 12, 2026`); None when there is none."""
    candidates: list[tuple[int, int, int]] = []
    if match := _ISO_DATE.search(value):
        candidates.append((int(match.group(1)), int(match.group(2)), int(match.group(3))))
    if (match := _DAY_MONTH_YEAR.search(value)) and match.group(2).lower() in _MONTHS:
        candidates.append((int(match.group(3)), _MONTHS[match.group(2).lower()], int(match.group(1))))
    if (match := _MONTH_DAY_YEAR.search(value)) and match.group(1).lower() in _MONTHS:
        candidates.append((int(match.group(3)), _MONTHS[match.group(1).lower()], int(match.group(2))))
    for year, month, day in candidates:
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return None


def review_days(value: str) -> int | None:
    """Days a review frequency allows (Monthly 31, Quarterly 92, `every 6 weeks` 42); None when unreadable."""
    if match := _REVIEW_EVERY.search(value):
        return int(match.group(1)) * _UNIT_DAYS[match.group(2).lower()]
    for pattern, days in _REVIEW_WORDS:
        if pattern.search(value):
            return days
    return None


# --------------------------------------------------------------------------------------------------
# Commands, placeholders, file references

_SHELL_LANGS = frozenset(
    {"bash", "sh", "shell", "zsh", "fish", "ksh", "powershell", "pwsh", "ps1", "ps", "cmd", "bat", "batch"}
    | {"sql", "psql", "mysql", "console", "shell-session", "sh-session", "shellsession", "terminal"}
)
_SESSION_LANGS = frozenset({"console", "shell-session", "sh-session", "shellsession", "terminal"})
_PROMPT = re.compile(r"^\s*(?:[\w.@~:/-]*)?\$\s+(.*)$")
# An inline span is a command when its first word is a lowercase program, a path or `VAR=value`;
# "An error occurred …" and "denied: …" are messages quoted in backticks, not commands.
_COMMANDISH_SPAN = re.compile(r"^(?:\$\s+)?(?:[a-z./~][\w./~-]*|[A-Za-z_]\w*=\S+)(?:\s+\S+)+$")
_SETUP_ONLY = re.compile(r"^\s*(?:export|cd|source|\.|set|unset|alias|pushd|popd|read|[A-Za-z_]\w*=\S*\s*$)\b")


def _session_commands(code: _Code) -> tuple[list[tuple[int, str]], list[str]]:
    """Split a console transcript into (line, command) after `$ ` (with `\\` continuations) and output lines."""
    commands: list[tuple[int, str]] = []
    output: list[str] = []
    continuing = False
    for offset, line in enumerate(code.text.split("\n")):
        match = _PROMPT.match(line)
        if continuing or match:
            command = line if continuing or match is None else match.group(1)
            commands.append((code.text_line + offset, command))
            continuing = command.rstrip().endswith("\\")
        elif line.strip():
            output.append(line)
    return commands, output


def _is_session(code: _Code) -> bool:
    if code.lang in _SESSION_LANGS:
        return True
    first = next((line for line in code.text.split("\n") if line.strip()), "")
    return code.lang in ("", "text", "txt", "plain") and bool(re.match(r"^\s*\$\s+\S", first))


def _command_lines(code: _Code) -> list[tuple[int, str]]:
    """(line, text) a reader would type: a bash block but its comments, the prompt lines of a console block."""
    if _is_session(code):
        return _session_commands(code)[0]
    if code.lang in _SHELL_LANGS:
        return [
            (code.text_line + offset, line)
            for offset, line in enumerate(code.text.split("\n"))
            if line.strip() and not line.lstrip().startswith("#")
        ]
    return []


def _commandish(span: str) -> bool:
    return bool(_COMMANDISH_SPAN.match(span.strip()))


_PLACEHOLDER_FORMS = (
    re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}"),
    re.compile(r"(?<![\w$%])\{([A-Za-z_][\w-]*)\}"),
    re.compile(r"<([A-Za-z_][\w-]*)>"),
)
_ASSIGNED = re.compile(
    r"(?:^|[\s;&|(])(?:export\s+|local\s+|readonly\s+|declare\s+(?:-\w+\s+)*)?([A-Za-z_]\w*)=|"
    r"\bread\s+(?:-\w+\s+)*([A-Za-z_]\w*)|\bfor\s+([A-Za-z_]\w*)\s+in\b"
)
_WELL_KNOWN_VARS = frozenset({"home", "user", "path", "pwd", "oldpwd", "shell", "hostname", "tmpdir", "random"})
_EXPLAINING = re.compile(
    r"\b(?:param\w*|placeholders?|variables?|replace|substitut\w*|fill(?:ed)? in|set (?:it )?to|stands? for|where|"
    r"means|e\.g\.|for example|one of|is the|are the|is your|with your|your own)\b",
    re.I,
)
_EXPLAIN_SHAPE = re.compile(r"^\W*`?[$]?[{<][\w-]+[}>]`?\s*(?:[:=—–-]|\()\s*\S")
_EXPLAIN_TABLE_HEADER = re.compile(r"param|variable|placeholder|input|argument|name|value|key|field|option", re.I)


def _placeholder_names(text: str) -> Iterator[tuple[str, str]]:
    """(normalized name, as written) for each placeholder; `{git-sha}` and `${GIT_SHA}` are the same name."""
    for form in _PLACEHOLDER_FORMS:
        for match in form.finditer(text):
            yield match.group(1).lower().replace("-", "_"), match.group(0)


_PATH_EXTENSIONS = frozenset(
    {"sh", "bash", "zsh", "py", "rb", "js", "ts", "go", "pl", "ps1", "sql", "j2", "jinja", "md", "txt", "csv"}
    | {"yaml", "yml", "json", "toml", "ini", "cfg", "conf", "env", "tf", "tfvars", "hcl", "xml", "properties", "lock"}
)
_EXTENSIONLESS = frozenset({"Dockerfile", "Makefile", "Jenkinsfile", "Procfile", "Vagrantfile", "Brewfile"})
_PATH_SHAPE = re.compile(r"^(?:[\w.-]+/)+[\w.-]+$")
_TOKEN_SPLIT = re.compile(r"[\s'\"=,;()|&<>\[\]`]+")


def _path_reference(token: str) -> str | None:
    """The repository-relative path a token names, or None if it is a URL, an absolute path, an image, …"""
    for prefix in ("fileb://", "file://", "@"):
        if token.startswith(prefix):
            token = token[len(prefix) :]
    token = re.sub(r":\d+(?::\d+)?$", "", token).rstrip(".,:;)!?")
    if not token or token[0] in "/~-$" or re.search(r"[{}*?$:@\\]", token) or "//" in token:
        return None
    if token.startswith("./"):
        token = token[2:]
        return token if token and ".." not in token.split("/") else None
    if not _PATH_SHAPE.match(token) or ".." in token.split("/"):
        return None
    first, last = token.split("/")[0], token.rsplit("/", 1)[-1]
    if "." in first and not first.startswith("."):
        return None  # a host name: api.example.com/health
    extension = last.rsplit(".", 1)[-1].lower() if "." in last.lstrip(".") else ""
    return token if extension in _PATH_EXTENSIONS or last in _EXTENSIONLESS else None


# --------------------------------------------------------------------------------------------------
# Steps


_HUMAN_ACTION = re.compile(
    r"^\W*(?:notify|announce|post|tell|inform|ask|page|email|message|ping|send|share|schedule|coordinate|book|"
    r"review|let\b|hand ?over|(?:get|obtain|request|wait for)\s+(?:\w+\s+)?(?:approval|sign-?off|the go|a go)|"
    r"open (?:a|an|the) (?:ticket|incident|change|bridge|channel)|file (?:a|the) ticket)",
    re.I,
)
_EXPECTED_CUE = re.compile(
    r"\bexpect(?:ed|s)?\b|\boutput\b|\bshould\b|\bmust\b|\byou(?:'ll| will) see\b|\breturns?\b|\bprints?\b|"
    r"\brespon(?:ds?|se)\b|\buntil\b|\bsucceed|\bsuccess",
    re.I,
)
_CHECK_CUE = re.compile(
    r"\bverif\w*|\bconfirm\w*|\bcheck\w*|\bensure\w*|\bvalidat\w*|\bassert\w*|\bwait\w*|\bsmoke\b|\bhealth\w*|"
    r"\bstatus\b|\bmonitor\w*|\bwatch\w*",
    re.I,
)
_VAGUE = re.compile(
    r"\binvestigate (?:the |this |any )?(?:issues?|problems?|errors?|failures?|alerts?|incidents?)\b|"
    r"\b(?:check|see|verify|confirm)(?: if| that| whether)? (?:it|everything|things|all|the (?:app|service|site|"
    r"deploy(?:ment)?|system))(?: (?:looks?|is|are|seems?))? (?:good|ok|okay|fine|right|correct|normal)\b|"
    r"\bmake sure (?:everything|it|things|all|the (?:app|service|site|system)) (?:works?|is (?:working|fine|ok|"
    r"okay|good)|looks? (?:good|fine|ok))\b|"
    r"\b(?:fix|resolve|sort out) (?:the |any )?(?:issues?|problems?)\b|\bdo the (?:usual|needful)\b|"
    r"\buse your (?:best )?judge?ment\b|\byou (?:should )?know how\b|\b(?:troubleshoot|debug) (?:as needed|"
    r"accordingly|the issue)\b",
    re.I,
)


def _find_steps(doc: _Doc) -> list[_Step]:
    """Procedure steps: numbered headings under a procedure section, else its top-level numbered items."""
    procedures = [h for h in doc.headings if _Concept.PROCEDURE in h.concepts]
    other_sections = [h for h in doc.headings if h.concepts and _Concept.PROCEDURE not in h.concepts]

    def in_other_section(line: int, inside: _Heading | None) -> bool:
        return any(
            h.line <= line <= h.end and (inside is None or (h.level > inside.level and h.line > inside.line))
            for h in other_sections
        )

    starts: dict[int, tuple[str, int]] = {}
    if procedures:
        for proc in procedures:
            for heading in doc.headings:
                inside = proc.line < heading.line <= proc.end and heading.level > proc.level
                if inside and _STEP_HEADING.match(re.sub(r"[`*_~]", "", heading.title)):
                    starts[heading.line] = (heading.title, heading.end)
        if not starts:
            for proc in procedures:
                for item in doc.items:
                    inside = proc.line < item.line <= proc.end and not in_other_section(item.line, proc)
                    if item.ordered and item.depth == 0 and inside:
                        starts[item.line] = (_item_title(doc, item), 0)
    else:
        for heading in doc.headings:
            step_like = _STEP_WORD_HEADING.match(re.sub(r"[`*_~]", "", heading.title))
            if step_like and not in_other_section(heading.line, None):
                starts[heading.line] = (heading.title, heading.end)
        if not starts:
            for item in doc.items:
                if item.ordered and item.depth == 0 and not in_other_section(item.line, None):
                    starts[item.line] = (_item_title(doc, item), 0)
    ordered = sorted(starts.items())
    heading_lines = sorted(h.line for h in doc.headings)
    steps = []
    for number, (line, (title, heading_end)) in enumerate(ordered, start=1):
        if heading_end:
            end = heading_end
        else:
            # A list step runs to the next step or heading, so an unindented fence after `1.` still belongs to it.
            limits = [len(doc.lines)]
            limits += [ordered[number][0] - 1] if number < len(ordered) else []
            limits += [ln - 1 for ln in heading_lines if ln > line][:1]
            end = min(limits)
        steps.append(_Step(number, title, line, end))
    return steps


def _item_title(doc: _Doc, item: _Item) -> str:
    first = next((p for p in doc.prose if p.line == item.line), None)
    return first.text.split("\n")[0] if first else ""


# --------------------------------------------------------------------------------------------------
# The checks


@dataclass(frozen=True)
class _Raw:
    """A finding before the path and disabling are applied."""

    rule_id: str
    line: int
    message: str
    severity: Severity | None = None


class _State(StrEnum):
    PRESENT = "present"
    TODO = "todo"
    EMPTY = "empty"
    ABSENT = "absent"


@dataclass(frozen=True)
class _Evidence:
    state: _State
    line: int = 1
    label: str = ""


def _section_state(doc: _Doc, heading: _Heading) -> _State:
    """A section with content is present; one whose only text is a TODO or "no … was recorded" is a TODO."""
    start, end = heading.line + 1, heading.end
    if doc.codes_in(start, end) or doc.tables_in(start, end):
        return _State.PRESENT
    texts = [p for p in doc.prose_in(start, end) if p.kind == "paragraph" and p.plain.strip()]
    if not texts:
        return _State.EMPTY
    if all(_TODO_TEXT.match(p.plain) or _GAP_TEXT.match(p.plain) for p in texts):
        return _State.TODO
    return _State.PRESENT


def _best(evidence: Iterable[_Evidence]) -> _Evidence:
    order = {_State.PRESENT: 0, _State.TODO: 1, _State.EMPTY: 2, _State.ABSENT: 3}
    return min(evidence, key=lambda e: (order[e.state], e.line), default=_Evidence(_State.ABSENT))


def _concept_evidence(doc: _Doc, concept: _Concept, steps: Sequence[_Step]) -> _Evidence:
    found = [
        _Evidence(_section_state(doc, heading), heading.line, heading.title.strip())
        for heading in doc.headings
        if concept in heading.concepts
    ]
    for item in doc.fields:
        if item.concept is concept and not any(step.line <= item.line <= step.end for step in steps):
            state = _State.TODO if _is_todo_value(item.value) else _State.PRESENT
            found.append(_Evidence(state, item.line, item.label))
    return _best(found)


_SECTION_RULES: tuple[tuple[_Concept, str], ...] = (
    (_Concept.SCOPE, "RB005"),
    (_Concept.PREREQUISITES, "RB007"),
    (_Concept.PREFLIGHT, "RB008"),
    (_Concept.VERIFICATION, "RB010"),
    (_Concept.ROLLBACK, "RB011"),
    (_Concept.TROUBLESHOOTING, "RB012"),
    (_Concept.ESCALATION, "RB013"),
    (_Concept.POST_EXECUTION, "RB015"),
)
_OUT_OF_SCOPE_TEXT = re.compile(
    r"\b(?:does not|doesn't|do not|don't|will not|won't)\s+(?:cover|handle|apply|include|address|deal with)\b|"
    r"\bis(?:n't| not) (?:meant )?for\b|\bnot (?:covered|in scope)\b|\bout[ -]of[ -]scope\b|\bnon-goals?\b|"
    r"\bwhen not to use\b|\bdo not use (?:this|it)\b",
    re.I,
)
_WHEN_CUE = re.compile(
    r"\b(?:if|when|whenever|after|unless|exceeds?|more than|longer than|within|minutes?|mins?|hours?|fails?|failed|"
    r"failing|cannot|can't|unable|stuck|sev ?\d|p[0-4])\b",
    re.I,
)
_WHO_CUE = re.compile(
    r"[@#][\w-]+|\b[\w.+-]+@[\w-]+\.\w+|\b(?:team|on-?call|pager ?duty|opsgenie|lead|manager|sre|dba|engineer|owner|"
    r"slack|email|phone|call|page|contact|channel|commander|support|vendor|primary|secondary)\b",
    re.I,
)
_WHAT_CUE = re.compile(
    r"\b(?:provide|include|attach|details?|information|info|logs?|incident (?:id|number|link)|"
    r"ticket|link|screenshots?|error messages?|outputs?|timeline|context|what you)\b",
    re.I,
)


def _check_structure(doc: _Doc, steps: Sequence[_Step], today: date) -> Iterator[_Raw]:
    yield from _check_title(doc)
    yield from _check_owner(doc)
    yield from _check_dates(doc, today)
    yield from _check_risk(doc)
    for concept, rule_id in _SECTION_RULES:
        evidence = _concept_evidence(doc, concept, steps)
        yield from _gap(rule_id, concept.value, evidence)
        if concept is _Concept.SCOPE:
            yield from _check_out_of_scope(doc, steps)
        if concept is _Concept.ESCALATION and evidence.state is _State.PRESENT:
            yield from _check_escalation_parts(doc, steps, evidence)
    if not steps:
        procedure = _best(
            _Evidence(_section_state(doc, h), h.line, h.title.strip())
            for h in doc.headings
            if _Concept.PROCEDURE in h.concepts
        )
        if procedure.state is _State.TODO:
            yield _Raw("RB009", procedure.line, f"'{procedure.label}' is a TODO, not a procedure", Severity.WARNING)
        elif procedure.state is _State.ABSENT:
            yield _Raw("RB009", 1, "no numbered steps: a procedure as `1.` items or `### Step N` headings")
        else:
            yield _Raw("RB009", procedure.line, f"'{procedure.label}' has no numbered steps")


def _gap(rule_id: str, what: str, evidence: _Evidence) -> Iterator[_Raw]:
    if evidence.state is _State.ABSENT:
        yield _Raw(rule_id, 1, f"no {what} section")
    elif evidence.state is _State.EMPTY:
        yield _Raw(rule_id, evidence.line, f"the {what} section '{evidence.label}' is empty")
    elif evidence.state is _State.TODO:
        rule = RULES_BY_ID[rule_id]
        severity = rule.severity if rule.severity.rank < Severity.WARNING.rank else Severity.WARNING
        yield _Raw(rule_id, evidence.line, f"{what} is a TODO ('{evidence.label}'): fill it in", severity)


def _check_title(doc: _Doc) -> Iterator[_Raw]:
    titles = [(h.title, h.line) for h in doc.headings if h.level == 1]
    if not titles and doc.first_block_is_heading and doc.headings:
        titles = [(doc.headings[0].title, doc.headings[0].line)]
    titles += [(f.value, f.line) for f in doc.fields if f.concept is _Concept.TITLE]
    if not titles:
        yield _Raw("RB001", 1, "no title: the file does not start with a heading")
    elif all(_is_todo_value(t) or _normalize_label(t) in ("runbook", "untitled", "title") for t, _ in titles):
        yield _Raw("RB001", titles[0][1], f"the title '{titles[0][0].strip()}' is a placeholder", Severity.WARNING)


def _check_owner(doc: _Doc) -> Iterator[_Raw]:
    owners = [f for f in doc.fields if f.concept is _Concept.OWNER]
    if not owners:
        yield _Raw("RB002", 1, "no owner: add `**Owner**:` naming the team or person who keeps it current")
    elif all(_is_todo_value(f.value) for f in owners):
        yield _Raw("RB002", owners[0].line, f"{owners[0].label} is '{owners[0].value}': name a team", Severity.WARNING)


def _check_dates(doc: _Doc, today: date) -> Iterator[_Raw]:
    fields = [f for f in doc.fields if f.concept is _Concept.UPDATED]
    dated = [(parsed, f) for f in fields if (parsed := parse_date(f.value)) is not None]
    if not dated:
        if not fields:
            yield _Raw("RB003", 1, "no Last Updated or Last Validated date")
        elif all(_is_todo_value(f.value) for f in fields):
            yield _Raw("RB003", fields[0].line, f"{fields[0].label} is '{fields[0].value}'", Severity.WARNING)
        else:
            yield _Raw("RB003", fields[0].line, f"{fields[0].label} '{fields[0].value}' is not a date (YYYY-MM-DD)")
        return
    primary = [(d, f) for d, f in dated if not _FALLBACK_DATE_LABELS.match(_normalize_label(f.label))]
    latest, latest_field = max(primary or dated, key=lambda pair: (pair[0], -pair[1].line))
    reviews = [f for f in doc.fields if f.concept is _Concept.REVIEW]
    allowed = next((days for f in reviews if (days := review_days(f.value)) is not None), None)
    if allowed is None:
        if reviews:
            message = f"{reviews[0].label} '{reviews[0].value}' is not a schedule; judged as Quarterly (92 days)"
            yield _Raw("RB033", reviews[0].line, message)
        else:
            yield _Raw("RB033", latest_field.line, "no Review Frequency; judged as Quarterly (92 days)")
    frequency = f"{reviews[0].label} '{reviews[0].value}'" if reviews and allowed else "Quarterly (the default)"
    age = (today - latest).days
    if age > (allowed or DEFAULT_REVIEW_DAYS):
        yield _Raw(
            "RB032",
            latest_field.line,
            f"{latest_field.label} {latest.isoformat()} is {age} days old; {frequency} allows "
            f"{allowed or DEFAULT_REVIEW_DAYS}",
        )


def _check_risk(doc: _Doc) -> Iterator[_Raw]:
    risks = [f for f in doc.fields if f.concept is _Concept.RISK]
    levels = [(m.group(1).lower(), f) for f in risks if (m := _RISK_VALUE.search(f.value))]
    if not levels:
        if not risks:
            yield _Raw("RB004", 1, "no risk level")
        else:
            yield _Raw("RB004", risks[0].line, f"{risks[0].label} '{risks[0].value}' is not Low/Medium/High/Critical")
        return
    level, risk_field = levels[0]
    if level in ("high", "critical") and not _has_approval(doc):
        yield _Raw("RB016", risk_field.line, f"risk is {level.capitalize()} but nothing requires an approval first")


_APPROVAL_TEXT = re.compile(
    r"\bapprov(?:al|als|ed|er|ers|e)\b|\bsign-?off\b|\bchange (?:ticket|request|board)\b|\bCAB\b"
)


def _has_approval(doc: _Doc) -> bool:
    if any(f.concept is _Concept.APPROVAL and not _is_todo_value(f.value) for f in doc.fields):
        return True
    if any(_Concept.APPROVAL in h.concepts and _section_state(doc, h) is _State.PRESENT for h in doc.headings):
        return True
    return any(_APPROVAL_TEXT.search(p.plain) for p in doc.prose)


def _check_out_of_scope(doc: _Doc, steps: Sequence[_Step]) -> Iterator[_Raw]:
    evidence = _concept_evidence(doc, _Concept.OUT_OF_SCOPE, steps)
    if evidence.state is _State.PRESENT or any(_OUT_OF_SCOPE_TEXT.search(p.plain) for p in doc.prose):
        return
    if evidence.state is _State.ABSENT:
        yield _Raw("RB006", 1, "the scope does not say what this runbook does NOT cover")
    else:
        yield from _gap("RB006", _Concept.OUT_OF_SCOPE.value, evidence)


def _check_escalation_parts(doc: _Doc, steps: Sequence[_Step], evidence: _Evidence) -> Iterator[_Raw]:
    parts: list[str] = []
    for heading in doc.headings:
        if _Concept.ESCALATION in heading.concepts:
            parts.extend(p.text for p in doc.prose_in(heading.line, heading.end))
    parts.extend(f"{f.label}: {f.value}" for f in doc.fields if f.concept is _Concept.ESCALATION)
    text = "\n".join(parts)
    missing = [
        what
        for what, cue in (("when to escalate", _WHEN_CUE), ("who to contact", _WHO_CUE), ("what to provide", _WHAT_CUE))
        if not cue.search(text)
    ]
    if missing:
        yield _Raw("RB014", evidence.line, f"escalation does not say {' or '.join(missing)}")


def _step_text(doc: _Doc, step: _Step) -> tuple[list[_Prose], list[_Code]]:
    return doc.prose_in(step.line, step.end), doc.codes_in(step.line, step.end)


def _check_steps(doc: _Doc, steps: Sequence[_Step]) -> Iterator[_Raw]:
    if len(steps) > MAX_STEPS:
        yield _Raw(
            "RB024", steps[0].line, f"{len(steps)} steps (more than {MAX_STEPS}): split it into focused runbooks"
        )
    for step in steps:
        prose, codes = _step_text(doc, step)
        label = f"step {step.number} ('{_short(step.title)}')"
        spans = [span for p in prose for span in p.code_spans]
        commands = [text for code in codes for _, text in _command_lines(code)] + [s for s in spans if _commandish(s)]
        outputs = [code for code in codes if not _command_lines(code)]
        outputs += [code for code in codes if _is_session(code) and _session_commands(code)[1]]
        words = "\n".join(p.plain for p in prose)
        human = bool(_HUMAN_ACTION.match(_normalize_label(step.title) or words))
        setup_only = bool(commands) and all(_SETUP_ONLY.match(line) for line in commands)
        expected = bool(outputs) or bool(_EXPECTED_CUE.search(words)) or setup_only
        checked = bool(_CHECK_CUE.search(words + "\n" + "\n".join(commands)))
        if not commands and not human:
            yield _Raw("RB020", step.line, f"{label} has no command")
        if commands and not expected:
            yield _Raw("RB021", step.line, f"{label} runs a command but shows no expected output")
        elif not commands and not human and not expected and not checked:
            yield _Raw("RB022", step.line, f"{label} has no expected result or check")


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(re.sub(r"[`*_]", "", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_ACTIONABLE = frozenset(
    {
        _Concept.PROCEDURE,
        _Concept.PREFLIGHT,
        _Concept.VERIFICATION,
        _Concept.ROLLBACK,
        _Concept.TROUBLESHOOTING,
        _Concept.POST_EXECUTION,
    }
)


def _check_vague(doc: _Doc, steps: Sequence[_Step]) -> Iterator[_Raw]:
    """Vague wording in steps and actionable sections, unless a command sits right beside it."""
    actionable = [h for h in doc.headings if h.concepts & _ACTIONABLE]
    reported: set[int] = set()
    for prose in doc.prose:
        match = _VAGUE.search(prose.plain)
        if not match or prose.line in reported:
            continue
        step = next((s for s in steps if s.line <= prose.line <= s.end), None)
        if step is None and not any(h.line <= prose.line <= h.end for h in actionable):
            continue
        if step is not None:
            start, end = step.line, step.end
        else:
            item = max((i for i in doc.items if i.line <= prose.line <= i.end), key=lambda i: i.line, default=None)
            start, end = (item.line, item.end) if item else (prose.line, prose.line + prose.text.count("\n"))
        if doc.codes_in(start, end) or any(p.code_spans for p in doc.prose_in(start, end)):
            continue
        reported.add(prose.line)
        yield _Raw("RB023", prose.line, f"vague instruction '{match.group(0)}' with no command to run")


def _check_placeholders(doc: _Doc) -> Iterator[_Raw]:
    uses: dict[str, tuple[int, str]] = {}

    def note(text: str, line: int) -> None:
        for name, written in _placeholder_names(text):
            if name not in uses or line < uses[name][0]:
                uses[name] = (line, written)

    assigned: set[str] = set(_WELL_KNOWN_VARS)
    for code in doc.codes:
        for match in _ASSIGNED.finditer(code.text):
            assigned.update(group.lower() for group in match.groups() if group)
        for number, command in _command_lines(code):
            note(command, number)
    for prose in doc.prose:
        for span in prose.code_spans:
            if _commandish(span):
                note(span, prose.line)
    explained = set(assigned)
    parameter_sections = [h for h in doc.headings if _Concept.PARAMETERS in h.concepts]
    for prose in doc.prose:
        in_parameters = any(h.line <= prose.line <= h.end for h in parameter_sections)
        for text_line in prose.text.split("\n"):
            if in_parameters or _EXPLAINING.search(text_line) or _EXPLAIN_SHAPE.match(text_line):
                explained.update(name for name, _ in _placeholder_names(text_line))
                if in_parameters:
                    explained.update(s.lower().replace("-", "_") for s in re.findall(r"`([\w-]+)`", text_line))
    for table in doc.tables:
        if any(_EXPLAIN_TABLE_HEADER.search(cell) for cell in table.header):
            for row in table.rows:
                for cell in row:
                    explained.update(name for name, _ in _placeholder_names(cell))
                    explained.update(w.lower().replace("-", "_") for w in re.findall(r"[\w-]+", cell))
    for name, (line, written) in sorted(uses.items(), key=lambda pair: (pair[1][0], pair[0])):
        if name not in explained:
            yield _Raw("RB030", line, f"placeholder `{written}` is used in a command but never explained")


def _check_file_references(doc: _Doc, repo_root: Path) -> Iterator[_Raw]:
    seen: set[str] = set()

    references: list[tuple[int, str, bool]] = []
    for code in doc.codes:
        for number, command in _command_lines(code):
            if re.match(r"^\s*(?:cd|pushd)\s", command):
                break  # later relative paths are relative to somewhere else
            references.append((number, command, True))
    for prose in doc.prose:
        references.extend((prose.line, span, _commandish(span)) for span in prose.code_spans)
    for number, text, is_command in sorted(references):
        for token in _TOKEN_SPLIT.split(text):
            reference = _path_reference(token)
            if reference is None or reference in seen:
                continue
            seen.add(reference)
            # A path mentioned in prose whose top folder is not here names another repository; a command
            # is run from this one, and `./x` always means here.
            top = reference.split("/")[0]
            here = is_command or token.startswith("./") or "/" not in reference or (repo_root / top).exists()
            if here and not (repo_root / reference).exists():
                yield _Raw("RB031", number, f"`{reference}` does not exist under {repo_root}")


_DISABLE_COMMENT = re.compile(r"<!--\s*runbook-lint:\s*disable\s*=\s*([^>]*?)\s*-->", re.I)


def _disabled_in_file(doc: _Doc) -> tuple[set[str], list[_Raw]]:
    code_lines = {n for code in doc.codes for n in range(code.line, code.end + 1)}
    disabled: set[str] = set()
    problems: list[_Raw] = []
    for number, line in enumerate(doc.lines, start=1):
        if number in code_lines:
            continue
        for match in _DISABLE_COMMENT.finditer(line):
            for name in filter(None, (n.strip() for n in match.group(1).split(","))):
                rule = find_rule(name)
                if rule is None:
                    problems.append(_Raw("RB091", number, f"unknown rule '{name}' in a runbook-lint comment"))
                else:
                    disabled.add(rule.id)
    return disabled, problems


# --------------------------------------------------------------------------------------------------
# Entry points


def lint_markdown(
    text: str, *, path: Path, repo_root: Path, today: date, disabled: frozenset[str] = frozenset()
) -> tuple[Finding, ...]:
    """Findings for one runbook's text; `disabled` holds rule ids (already resolved), `path` only labels them."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    doc = _parse(text)
    steps = _find_steps(doc)
    in_file, problems = _disabled_in_file(doc)
    raws = [
        *problems,
        *_check_structure(doc, steps, today),
        *_check_steps(doc, steps),
        *_check_vague(doc, steps),
        *_check_placeholders(doc),
        *_check_file_references(doc, repo_root),
    ]
    off = disabled | in_file
    return tuple(sorted(_finding(raw, path) for raw in raws if raw.rule_id not in off))


def _finding(raw: _Raw, path: Path) -> Finding:
    rule: Rule = RULES_BY_ID[raw.rule_id]
    return Finding(path, raw.line, rule.id, rule.slug, raw.severity or rule.severity, raw.message, rule.fix)


def lint_paths(
    paths: Sequence[Path], *, repo_root: Path, today: date, disabled: frozenset[str] = frozenset()
) -> LintReport:
    """Lint files and folders of runbooks; `disabled` takes ids or slugs, and an unknown one raises."""
    off = resolve_rules(sorted(disabled), source="disabled lint rules")
    if not repo_root.is_dir():
        raise RunbookSynthError(f"{repo_root}: repository root is not a folder; pass the folder the runbooks refer to")
    files = _collect(paths)
    findings: list[Finding] = []
    for path in files:
        text, problem = _read(path)
        if text is None:
            if "RB090" not in off:
                findings.append(_finding(_Raw("RB090", 1, problem), path))
            continue
        findings.extend(lint_markdown(text, path=path, repo_root=repo_root, today=today, disabled=off))
    return LintReport(files=tuple(files), findings=tuple(sorted(findings)))


def _collect(paths: Sequence[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for folder, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
                for name in sorted(names):
                    if name.lower().endswith(".md") and name.lower() not in SKIPPED_FILES:
                        found.append(Path(folder) / name)
        elif path.exists():
            found.append(path)
        else:
            raise RunbookSynthError(f"{path}: no such file or folder; check the path given to lint")
    return sorted(set(found), key=str)


def _read(path: Path) -> tuple[str | None, str]:
    """The text, or None and why it cannot be linted: a finding, never a traceback."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, f"{size:,} bytes is too large to be a runbook (limit {MAX_FILE_BYTES:,})"
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror or exc}"
    if b"\x00" in data:
        return None, "is a binary file, not markdown"
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError as exc:
        return None, f"is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8"


# --------------------------------------------------------------------------------------------------
# Output


def exit_code(report: LintReport, fail_on: Severity = Severity.ERROR) -> int:
    """1 when any finding is at or above `fail_on`, else 0."""
    return 1 if any(f.severity.rank >= fail_on.rank for f in report.findings) else 0


def _summary(report: LintReport) -> str:
    errors, warnings = report.count(Severity.ERROR), report.count(Severity.WARNING)
    counts = (
        f"{errors} error{'' if errors == 1 else 's'}, {warnings} warning{'' if warnings == 1 else 's'}, "
        f"{report.count(Severity.INFO)} info"
    )
    noun = "file" if len(report.files) == 1 else "files"
    return f"{len(report.files)} {noun} linted: {counts}"


def format_text(report: LintReport) -> str:
    """`path:line: severity RB011 missing-rollback: message` lines, each with its fix, then a summary."""
    lines = []
    for f in report.findings:
        lines.append(f"{f.path}:{f.line}: {f.severity.value} {f.rule_id} {f.slug}: {f.message}")
        lines.append(f"    fix: {f.fix}")
    lines.append(_summary(report))
    return "\n".join(lines) + "\n"


def format_json(report: LintReport) -> str:
    """A stable JSON document for tools: summary counts and every finding."""
    document = {
        "files": [str(path) for path in report.files],
        "summary": {s.value: report.count(s) for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)},
        "findings": [
            {
                "rule": f.rule_id,
                "slug": f.slug,
                "severity": f.severity.value,
                "path": str(f.path),
                "line": f.line,
                "message": f.message,
                "fix": f.fix,
            }
            for f in report.findings
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


_GITHUB_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(report: LintReport) -> str:
    """GitHub workflow commands, so findings show as annotations on the pull request's lines."""
    lines = [
        f"::{_GITHUB_LEVELS[f.severity]} file={_escape_property(str(f.path))},line={f.line},"
        f"title={_escape_property(f'{f.rule_id} {f.slug}')}::{_escape_data(f'{f.message}. Fix: {f.fix}')}"
        for f in report.findings
    ]
    return "".join(line + "\n" for line in lines)
