"""Log-line template mining: group the lines one print statement produced, and say what varies.

The miner is batch and deterministic: whether a word is a constant or a variable depends on how many
different words share its slot, so a grouping is only final once every line has been seen.

How a line is read, in order (per whitespace word, cached, since words recur across lines):

1. Masks: ordered named regexes (URLs, paths, host names, hex, booleans) searched in each word;
   matches become ``<*>``.
2. Words: ``key=value`` becomes ``key=`` and ``value`` so the value can vary on its own; within a
   word, every piece between punctuation that holds a digit becomes ``<*>`` (``LOGIN(uid=0)`` ->
   ``LOGIN(uid=<*>)``). A word left with no letters (``<*>,``, ``(<*>)``, an empty ``()``) is just
   a variable. (So punctuation next to a variable folds into it: ``[instance: <uuid>]`` reads
   ``[instance: <*>``.)
3. Runs of variables collapse into one, and a unit after a variable (``KB)``, ``sec``) or a weekday
   or month name next to one (``Sun Jul <*>``) joins it: optional and multi-word values
   ("1733 bytes (1.69 KB)", "Sun Jul 10 03:55:15 2005") do not change the token count.

How lines are grouped (after Brain, Yu et al., "Log Parsing with Bidirectional Parallel Tree"):

4. Lines with the same token count are compared slot by slot. In each line, the words whose slot
   frequency is the one most of its words share are its "root": the words of one statement occur
   exactly as often as the statement. Lines with the same root form a group.
5. In a group, a slot whose words differ is a variable when it holds a ``<*>`` or at least
   ``variable_min_distinct`` different words; otherwise its words are constants that split the
   group. The first word and ALL_CAPS words (states, enum names) always split: they name events far
   more often than they carry values.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

WILDCARD = "<*>"


@dataclass(frozen=True)
class Mask:
    """A named regex searched in each word; matches are variables. Names let callers drop or swap one."""

    name: str
    pattern: str


DEFAULT_MASKS: tuple[Mask, ...] = (
    Mask("URL", r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+"),
    Mask("PATH", r"^[(\[\"']?/[^/\s]+/\S*"),
    Mask("HOST", r"^[a-z][\w-]*(?:\.[\w-]+){2,}\.(?:com|net|org|edu|hk|cn|io|local)(?::\d+)?$"),
    Mask("HEX", r"\b0[xX][0-9a-fA-F]+\b"),
    Mask("BOOL", r"(?<![\w.])(?:true|false)(?![\w.])"),
)

DEFAULT_VARIABLE_MIN_DISTINCT = 4


@dataclass(frozen=True)
class LogTemplate:
    """One group of lines: its id, its text with ``<*>`` for what varies, and how many lines it has."""

    template_id: int
    template: str
    size: int


_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[^\W\d_]")
_PIECES = re.compile(r"([=:,;()\[\]{}\"'|])")
_KEY_VALUE = re.compile(r"([A-Za-z_][\w.-]*=)([^=]+)")
_ENUM = re.compile(r"[A-Z][A-Z_]+[,.;:]?")
_EMPTY = frozenset({"()", "[]", "{}", "''", '""', "(),", "[],", "{},"})

# A token and whether it is glued to the previous one (the value half of ``key=value``).
_Token = tuple[str, bool]


def _word(word: str) -> str:
    """Normalise one word: digit-bearing pieces and letterless leftovers become ``<*>``."""
    if _DIGIT.search(word):
        word = "".join(WILDCARD if _DIGIT.search(p) else p for p in _PIECES.split(word))
    if word in _EMPTY:
        return WILDCARD
    if WILDCARD in word and not _LETTER.search(word.replace(WILDCARD, "")):
        return WILDCARD
    return word


# Unit words after a number belong to the value ("1.16 KB"); split() keeps the lists readable.
_UNITS = frozenset(str.split("b kb mb gb tb kib mib gib byte bytes ms s sec secs second seconds min mins minutes"))
_DATE_WORDS = frozenset(str.split("mon tue wed thu fri sat sun jan feb mar apr may jun jul aug sep oct nov dec"))
_CACHE_LIMIT = 200_000


class _Tokenizer:
    """Splits lines into tokens; caches per raw word, since the same words recur on most lines."""

    def __init__(self, masks: Sequence[Mask]) -> None:
        self._mask = re.compile("|".join(f"(?:{m.pattern})" for m in masks)) if masks else None
        self._cache: dict[str, tuple[_Token, ...]] = {}

    def _split_word(self, raw: str) -> tuple[_Token, ...]:
        if self._mask is not None:
            raw = self._mask.sub(WILDCARD, raw)
        kv = _KEY_VALUE.fullmatch(raw)
        if kv is None:
            return ((_word(raw), False),)
        return ((kv.group(1), False), (_word(kv.group(2)), True))

    def tokens(self, line: str) -> tuple[_Token, ...]:
        out: list[_Token] = []
        cache = self._cache
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        prev = ""
        for raw in line.split():
            parts = cache.get(raw)
            if parts is None:
                parts = cache[raw] = self._split_word(raw)
            for token in parts:
                if prev == WILDCARD and (token[0] == WILDCARD or token[0].strip("()[],;.").lower() in _UNITS):
                    continue  # "<*> <*>" and "<*> KB)" are one value
                out.append(token)
                prev = token[0]
        # "Sun Jul <*>": weekday and month names next to a variable are part of a timestamp.
        if len(out) > 1 and any(t[0].lower() in _DATE_WORDS for t in out):
            out = _absorb_dates(out)
        return tuple(out)


def _absorb_dates(tokens: list[_Token]) -> list[_Token]:
    words = [t[0] for t in tokens]
    n = len(words)
    for p in range(n - 1, -1, -1):
        if words[p].lower() in _DATE_WORDS and (
            (p + 1 < n and words[p + 1] == WILDCARD) or (p > 0 and words[p - 1] == WILDCARD)
        ):
            words[p] = WILDCARD
    out: list[_Token] = []
    for word, (_, glued) in zip(words, tokens, strict=True):
        if word == WILDCARD and out and out[-1][0] == WILDCARD:
            continue
        out.append((word, glued))
    return out


def _root_key(words: Sequence[str], freq: dict[tuple[int, str], int]) -> tuple[str | None, ...]:
    """The line's root: its words whose slot frequency is the one most of its words share."""
    fs = [0 if w == WILDCARD else freq[(p, w)] for p, w in enumerate(words)]
    counts = Counter(f for f in fs if f)
    if not counts:
        return (None,) * len(words)
    best = max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
    return tuple(w if f == best else None for w, f in zip(words, fs, strict=True))


def _group_templates(
    rows: Sequence[tuple[_Token, ...]], weights: Sequence[int], members: Sequence[int], min_distinct: int
) -> Iterable[tuple[int, tuple[_Token, ...]]]:
    """Yield (row index, template tokens) for distinct rows of one token count."""
    words = {u: tuple(t[0] for t in rows[u]) for u in members}
    freq: dict[tuple[int, str], int] = {}
    for u in members:
        weight = weights[u]
        for slot in enumerate(words[u]):
            freq[slot] = freq.get(slot, 0) + weight
    groups: dict[tuple[str | None, ...], list[int]] = {}
    for u in members:
        groups.setdefault(_root_key(words[u], freq), []).append(u)
    for key, group in groups.items():
        first = rows[group[0]]
        if len(group) == 1:
            yield group[0], first
            continue
        base: list[_Token] = [(WILDCARD, t[1]) for t in first]
        split_slots: list[int] = []
        for p, k in enumerate(key):
            if k is not None:
                base[p] = first[p]
                continue
            values = {words[u][p] for u in group}
            if len(values) == 1:
                base[p] = first[p]
            elif WILDCARD in values:
                continue
            elif p == 0 or len(values) < min_distinct or all(_ENUM.fullmatch(v) for v in values):
                split_slots.append(p)
        for u in group:
            template = list(base)
            for p in split_slots:
                template[p] = rows[u][p]
            yield u, tuple(template)


def _render(template: Sequence[_Token]) -> str:
    out: list[str] = []
    for text, glued in template:
        if glued and out:
            out[-1] += text
        else:
            out.append(text)
    return " ".join(out)


def mine_templates(
    lines: Sequence[str],
    masks: Sequence[Mask] = DEFAULT_MASKS,
    variable_min_distinct: int = DEFAULT_VARIABLE_MIN_DISTINCT,
) -> tuple[list[int], tuple[LogTemplate, ...]]:
    """Group ``lines``; return each line's template id and the templates, ids in first-seen order.

    ``variable_min_distinct`` is how many different words a slot needs before it counts as a
    variable; below it, the words are constants of different templates (``VM Started`` vs
    ``VM Paused``). Never raises on odd input: empty, huge or binary-looking lines are just lines.
    """
    tokenizer = _Tokenizer(masks)
    # Identical token rows are common (same event, different numbers): group them once, weighted.
    row_ids: dict[tuple[_Token, ...], int] = {}
    rows: list[tuple[_Token, ...]] = []
    weights: list[int] = []
    line_rows: list[int] = []
    for line in lines:
        row = tokenizer.tokens(line)
        u = row_ids.get(row)
        if u is None:
            u = row_ids[row] = len(rows)
            rows.append(row)
            weights.append(0)
        weights[u] += 1
        line_rows.append(u)
    by_count: dict[int, list[int]] = {}
    for u, row in enumerate(rows):
        by_count.setdefault(len(row), []).append(u)
    template_of: list[tuple[_Token, ...]] = [()] * len(rows)
    for _count, members in sorted(by_count.items()):
        for u, template in _group_templates(rows, weights, members, variable_min_distinct):
            template_of[u] = template
    ids: dict[tuple[_Token, ...], int] = {}
    sizes: list[int] = []
    texts: list[str] = []
    line_ids: list[int] = []
    for u in line_rows:
        template = template_of[u]
        tid = ids.get(template)
        if tid is None:
            tid = ids[template] = len(sizes)
            sizes.append(0)
            texts.append(_render(template))
        sizes[tid] += 1
        line_ids.append(tid)
    return line_ids, tuple(LogTemplate(t, texts[t], sizes[t]) for t in range(len(sizes)))


class TemplateMiner:
    """Collects lines and mines them on demand; results are cached until the next ``add``.

    Batch by design: a slot becomes a variable only once enough different words are seen in it, so
    an id handed out before the last line could change. ``add`` therefore returns the line's number,
    and ``template_id(number)`` gives its group once you want the answer.
    """

    def __init__(
        self,
        masks: Sequence[Mask] = DEFAULT_MASKS,
        variable_min_distinct: int = DEFAULT_VARIABLE_MIN_DISTINCT,
    ) -> None:
        self._masks = tuple(masks)
        self._min_distinct = variable_min_distinct
        self._lines: list[str] = []
        self._result: tuple[list[int], tuple[LogTemplate, ...]] | None = None

    def add(self, line: str) -> int:
        """Add one line; return its 0-based line number."""
        self._lines.append(line)
        self._result = None
        return len(self._lines) - 1

    def _mined(self) -> tuple[list[int], tuple[LogTemplate, ...]]:
        if self._result is None:
            self._result = mine_templates(self._lines, self._masks, self._min_distinct)
        return self._result

    def template_id(self, line_number: int) -> int:
        """The template id of an added line, over everything added so far."""
        return self._mined()[0][line_number]

    def template_ids(self) -> tuple[int, ...]:
        """Template id per added line, in order."""
        return tuple(self._mined()[0])

    def templates(self) -> tuple[LogTemplate, ...]:
        """All templates, ids in first-seen order."""
        return self._mined()[1]
