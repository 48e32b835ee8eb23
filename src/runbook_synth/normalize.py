"""Commands to templates: what varies between runs becomes a named placeholder, the rest stays literal.

Two layers, as in Drain3: an ordered list of named masks recognizes values that are variable by their
shape (digests, ids, timestamps), and cross-run variation decides what is variable in fact: a value that is
the same in every run (a function name, an account id) stays literal whatever its shape.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from runbook_synth.catalog import ENVIRONMENT_SPELLINGS
from runbook_synth.shell import strip_wrappers, words


@dataclass(frozen=True)
class Mask:
    name: str
    pattern: re.Pattern[str]


def _mask(name: str, pattern: str) -> Mask:
    return Mask(name, re.compile(pattern))


# Order matters: the more specific shape wins.
MASKS: tuple[Mask, ...] = (
    _mask("digest", r"(?<![\w])sha(?:256|512):[0-9a-f]{32,128}(?![\w])"),
    _mask(
        "uuid",
        r"(?<![\w-])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])",
    ),
    _mask(
        "timestamp",
        r"(?<![\w])\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?(?![\w])",
    ),
    _mask("date", r"(?<![\w])\d{4}-\d{2}-\d{2}(?![\w])"),
    _mask("time", r"(?<![\w:])\d{1,2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?![\w:])"),
    _mask("ip", r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?![\w.])"),
    _mask("hex", r"(?<![\w])[0-9a-f]{32,128}(?![\w])"),
    _mask("hex_id", r"(?<![\w])(?=[0-9a-f]{0,11}[a-f])[0-9a-f]{12}(?![\w])"),
    _mask("git_sha", r"(?<![\w])(?=[0-9a-f]{0,39}[a-f])(?=[0-9a-f]{0,39}\d)[0-9a-f]{7,40}(?![\w])"),
    _mask(
        "version", r"(?<![\w.])(?:v\d{1,4}\.\d{1,4}(?:\.\d{1,6})?|\d{1,4}\.\d{1,4}\.\d{1,6})(?:-[\w.]{1,30})?(?![\w.])"
    ),
    _mask("id", r"(?<![\w])(?=[A-Za-z0-9]{0,39}\d)(?=[A-Za-z0-9]{0,39}[A-Z])[A-Z0-9]{10,40}(?![\w])"),
    _mask("number", r"(?<![\w.-])\d+(?:\.\d+)?(?:ms|s|m|h|[KMGT]i?B|B|%)?(?![\w.])"),
)
_BOUNDARY = re.compile(r"[^A-Za-z0-9]")
_FLAG = re.compile(r"^-{1,2}([A-Za-z][\w-]{0,60})$")
_ASSIGN = re.compile(r"^([A-Za-z_][\w.-]{0,60})=(.*)$")


_DIGIT = re.compile(r"\d")
_HEX_RUN = re.compile(r"[0-9a-fA-F]{8}")
_WITHOUT_DIGITS = tuple(mask for mask in MASKS if mask.name in ("uuid", "hex", "hex_id"))
"""The only shapes a text without a digit can hold; each needs eight hex characters in a row."""
_MEMO_CHARS = 2048


def mask_text(text: str, style: str = "{%s}") -> str:
    """Replace every masked shape by its placeholder: `{digest}`, `{uuid}`, `{number}`, ...

    Every shape but three needs a digit, and those three need eight hex characters in a row, so most words
    and many lines are returned after one or two scans instead of twelve; short texts are memoised."""
    if len(text) <= _MEMO_CHARS:
        return _mask_short(text, style)
    return _mask_all(text, style)


@functools.lru_cache(maxsize=1 << 14)
def _mask_short(text: str, style: str) -> str:
    return _mask_all(text, style)


def _mask_all(text: str, style: str) -> str:
    if _DIGIT.search(text):
        masks = MASKS
    elif _HEX_RUN.search(text):
        masks = _WITHOUT_DIGITS
    else:
        return text
    for mask in masks:
        text = mask.pattern.sub(style % mask.name, text)
    return text


def mask_name_of(value: str) -> str:
    """The name of the mask that matches a whole value, or ""."""
    for mask in MASKS:
        if mask.pattern.fullmatch(value):
            return mask.name
    return ""


ENVIRONMENT_WORD = re.compile(
    r"(?<![A-Za-z0-9])(?:" + "|".join(sorted(ENVIRONMENT_SPELLINGS, key=len, reverse=True)) + r")(?![A-Za-z0-9])"
)
"""An environment's name inside a value (`:staging`, `terraform.dev.tfvars`, `--config stg`, `-e prod`)."""


@functools.lru_cache(maxsize=1 << 16)
def command_key(command: str) -> str:
    """What two commands must share to be the same step: no wrappers, shapes and environments masked, spaces
    folded. The same step done in staging and in prod is one step with an `{environment}` parameter.
    Memoised: alignment, templating and failures key the same commands many times over."""
    stripped = strip_wrappers(command)
    masked = ENVIRONMENT_WORD.sub("<environment>", mask_text(stripped, "<%s>"))
    return " ".join(masked.split())


def error_key(text: str) -> str:
    """The line of an error text that says what went wrong, masked, for grouping failures."""
    return mask_text(headline(text), "<%s>").lower()


_ERROR_WORDS = re.compile(
    r"\b(?:errors?|denied|failed|failure|timed out|timeout|refused|cannot|can't|unable|not found|"
    r"conflict|expired|invalid|fatal|too many|exhausted|unauthori[sz]ed|forbidden)\b|exception\b|throttl",
    re.IGNORECASE,
)


def mentions_error(text: str) -> bool:
    """Whether the start of a text says something went wrong (`Error`, `denied`, `409 … conflict`, ...)."""
    return bool(_ERROR_WORDS.search(text[:500]))


_HTTP_HEADER = re.compile(r"^(?:[a-z][a-z0-9]*(?:-[a-z0-9]+)+|[A-Z][a-z]+(?:-[A-Z][a-z]+)+|date|server|via):\s")
_PLACEHOLDER_OUTPUT = re.compile(r"^\(?(?:no output|none|n/a|empty|-)\)?\.?$", re.IGNORECASE)


def headline(text: str) -> str:
    """The most telling line of an error text (the first that names an error, else the first line).

    HTTP header lines (`x-amzn-errortype: ...`) are never the headline: they name fields, not errors.
    """
    lines = [line.strip() for line in text.split("\n") if line.strip() and not _HTTP_HEADER.match(line.strip())][:200]
    for line in lines:
        if _ERROR_WORDS.search(line):
            return line[:400]
    return lines[0][:400] if lines else ""


@dataclass(frozen=True)
class Parameter:
    """A placeholder and the value it took in each run (run index → value)."""

    name: str
    values: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class CommandTemplate:
    template: str
    parameters: tuple[Parameter, ...]


class PlaceholderNames:
    """Names placeholders consistently across a runbook: the same values in the same runs get the same
    name (the tag built is the tag pushed); different values never share a name."""

    def __init__(self) -> None:
        self._by_values: dict[tuple[tuple[int, str], ...], str] = {}
        self._taken: dict[str, tuple[tuple[int, str], ...]] = {}

    def name(self, wanted: str, values: tuple[tuple[int, str], ...]) -> str:
        if values in self._by_values:
            return self._by_values[values]
        mine = dict(values)
        for known, name in self._by_values.items():
            theirs = dict(known)
            shared = [run for run in mine if run in theirs]
            agree = sum(mine[run] == theirs[run] for run in shared)
            if len(shared) >= 2 and agree * 10 >= len(shared) * 8 and len(set(mine.values())) > 1:
                self._by_values[values] = name
                return name
        candidate, counter = wanted, 2
        while candidate in self._taken:
            candidate = f"{wanted}_{counter}"
            counter += 1
        self._taken[candidate] = values
        self._by_values[values] = candidate
        return candidate


def template_commands(instances: Sequence[tuple[int, str]], names: PlaceholderNames | None = None) -> CommandTemplate:
    """One template for the same command as run in many runs ((run index, command) pairs)."""
    names = names or PlaceholderNames()
    keyed = [(run, command, command_key(command)) for run, command in instances if command.strip()]
    if not keyed:
        return CommandTemplate("", ())
    key_counts = Counter(key for _, _, key in keyed)
    common_key, common_count = max(sorted(key_counts.items()), key=lambda item: item[1])
    if common_count * 2 > len(keyed):
        # A minority spelled differently (a typo that still ran, an extra flag) does not make the
        # majority's words placeholders; a value chosen in several runs (two, and a tenth of them) does.
        chosen = {
            key
            for key, count in key_counts.items()
            if count >= 2 and count * 10 >= len(keyed) and not misspelled(key, common_key)
        }
        keyed = [item for item in keyed if item[2] == common_key or item[2] in chosen]
    tokenized = [(run, words(command)) for run, command, _ in keyed]
    counts = Counter(len(tokens) for _, tokens in tokenized)
    size = max(counts, key=lambda length: (counts[length], -length))
    group = [(run, tokens) for run, tokens in tokenized if len(tokens) == size]
    if len({run for run, _ in group}) < 2:
        return _single_template(group[0][1], group[0][0], names)
    out: list[str] = []
    parameters: list[Parameter] = []
    for position in range(size):
        values = [tokens[position] for _, tokens in group]
        if len(set(values)) == 1:
            out.append(values[0])
            continue
        prefix, suffix = _common_affixes(values)
        middles = tuple(
            sorted(
                {(run, tokens[position][len(prefix) : len(tokens[position]) - len(suffix)]) for run, tokens in group}
            )
        )
        previous = out[position - 1] if position else ""
        wanted = _placeholder_name(previous, prefix, [middle for _, middle in middles], whole=not prefix and not suffix)
        name = names.name(wanted, middles)
        parameters.append(Parameter(name, middles))
        out.append(f"{prefix}{{{name}}}{suffix}")
    return CommandTemplate(" ".join(out), tuple(dict.fromkeys(parameters)))


def misspelled(typed: str, meant: str) -> bool:
    """Whether key `typed` is key `meant` with one word mistyped: a letter dropped, doubled, swapped or
    struck wrong, in a flag's name or a command word, never in a flag's value.

    A retry that changes how the command is run (`date -d '-30 min'` → `date -v-30M`, another zone) is
    another attempt at the step; a slip of the keys is not an attempt at all.
    """
    typed_words, meant_words = typed.split(), meant.split()
    if len(typed_words) != len(meant_words):
        return False
    pairs = zip(typed_words, meant_words, strict=True)
    differing = [position for position, (typed_word, meant_word) in enumerate(pairs) if typed_word != meant_word]
    if len(differing) != 1:
        return False
    position = differing[0]
    wrong, right = typed_words[position], meant_words[position]
    before = typed_words[position - 1] if position else ""
    if before.startswith("-") and "=" not in before and not wrong.startswith("-"):
        return False
    wrong, right = wrong.split("=", 1)[0], right.split("=", 1)[0]
    distance = OSA.distance(wrong, right)
    return 0 < distance <= 2 and distance * 4 <= max(len(wrong), len(right))


def _single_template(tokens: list[str], run: int, names: PlaceholderNames) -> CommandTemplate:
    """With one run there is no variation to learn from: only unmistakable shapes become placeholders."""
    out: list[str] = []
    parameters: list[Parameter] = []
    for position, token in enumerate(tokens):
        replaced = token
        for mask in MASKS[:4]:
            match = mask.pattern.search(replaced)
            if match:
                values = ((run, match.group(0)),)
                previous = tokens[position - 1] if position else ""
                whole = match.group(0) == token
                name = names.name(_placeholder_name(previous, "", [match.group(0)], whole), values)
                parameters.append(Parameter(name, values))
                replaced = replaced[: match.start()] + "{" + name + "}" + replaced[match.end() :]
                break
        out.append(replaced)
    return CommandTemplate(" ".join(out), tuple(parameters))


def _common_affixes(values: list[str]) -> tuple[str, str]:
    """The literal prefix and suffix every value shares, cut at a non-alphanumeric boundary."""
    first = values[0]
    prefix_length = 0
    while prefix_length < len(first) and all(
        len(value) > prefix_length and value[prefix_length] == first[prefix_length] for value in values
    ):
        prefix_length += 1
    prefix = first[:prefix_length]
    if prefix and prefix_length < min(len(value) for value in values):
        cut = max((m.end() for m in _BOUNDARY.finditer(prefix)), default=0)
        prefix = prefix[:cut]
    rest = [value[len(prefix) :] for value in values]
    suffix_length = 0
    shortest = min(len(value) for value in rest)
    while suffix_length < shortest and all(value[-1 - suffix_length] == rest[0][-1 - suffix_length] for value in rest):
        suffix_length += 1
    suffix = rest[0][len(rest[0]) - suffix_length :] if suffix_length else ""
    if suffix and suffix_length < shortest:
        cut = min((m.start() for m in _BOUNDARY.finditer(suffix)), default=len(suffix))
        suffix = suffix[cut:]
    return _widen_to_shapes(values, prefix, suffix)


def _widen_to_shapes(values: list[str], prefix: str, suffix: str) -> tuple[str, str]:
    """Grow the varying middle to whole masked shapes, so `pre-2026-{x}` becomes `pre-{date}`."""
    prefix_length, suffix_length = len(prefix), len(suffix)
    for value in values:
        start, end = prefix_length, len(value) - suffix_length
        for mask in MASKS:
            for match in mask.pattern.finditer(value):
                if match.start() < end and match.end() > start:
                    prefix_length = min(prefix_length, match.start())
                    suffix_length = min(suffix_length, len(value) - match.end())
    return values[0][:prefix_length], values[0][len(values[0]) - suffix_length :] if suffix_length else ""


def _placeholder_name(previous: str, prefix: str, middles: list[str], whole: bool) -> str:
    """Named after its flag or variable when the whole value varies, else after the shape of what varies;
    a value that only ever names an environment is `{environment}`."""
    if middles and all(ENVIRONMENT_WORD.fullmatch(middle) for middle in middles):
        return "environment"
    assignment = _ASSIGN.match(prefix.lstrip("-"))
    if assignment:
        return _identifier(assignment.group(1))
    flag = _FLAG.match(previous)
    shape = "digest" if re.search(r"sha(?:256|512):$", prefix) else _shared_shape(middles)
    if whole and flag and len(flag.group(1)) > 1:
        return _identifier(flag.group(1))
    if shape:
        return shape
    if flag and len(flag.group(1)) > 1:
        return _identifier(flag.group(1))
    tail = re.findall(r"[A-Za-z][A-Za-z_]{1,30}", prefix)
    if tail:
        return _identifier(tail[-1])
    return "value"


def _shared_shape(values: list[str]) -> str:
    shapes = {mask_name_of(value) for value in values}
    if len(shapes) == 1:
        return shapes.pop()
    if shapes <= {"git_sha", "hex", "number"}:
        return "git_sha" if "git_sha" in shapes else "hex"
    return ""


def _identifier(text: str) -> str:
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return name or "value"


def is_placeholder_output(output: str) -> bool:
    """`(no output)` and the like: what a note template writes when nothing was shown."""
    return bool(_PLACEHOLDER_OUTPUT.match(output.strip()))


STRONG_MASKS = frozenset({"digest", "uuid", "timestamp", "date", "time", "hex", "hex_id", "git_sha", "id"})
"""Shapes that are unmistakably variable; other shapes (numbers, versions) are masked only when they vary."""


def representative_output(outputs: Sequence[str], max_lines: int = 15) -> str:
    """The output most runs showed, trimmed to a screen; only what varied across runs (or is unmistakably
    variable: ids, digests, timestamps) is masked, so a constant stays literal."""
    candidates = [output.strip("\n") for output in outputs if output.strip() and not is_placeholder_output(output)]
    if not candidates:
        return ""
    masked = [mask_text(output) for output in candidates]
    counts = Counter(masked)
    best = max(masked, key=lambda text: (counts[text], -len(text), text))
    alike = [literal for literal, form in zip(candidates, masked, strict=True) if form == best]
    lines = _collapse_repeats(_mask_varying(alike).split("\n"))
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"... ({len(lines) - max_lines} more lines)"]
    return "\n".join(lines)


def _mask_varying(literals: Sequence[str]) -> str:
    """One text from outputs of the same shape: words that agree in every run stay, the others are masked."""
    split = [re.split(r"(\s+)", literal) for literal in literals]
    if len({len(words) for words in split}) != 1:
        return mask_text(literals[0])
    pieces: list[str] = []
    for position, word in enumerate(split[0]):
        same = all(words[position] == word for words in split)
        if same and (len(literals) > 1 or not _strongly_variable(word)):
            pieces.append(word)
        else:
            pieces.append(mask_text(word))
    return "".join(pieces)


def _strongly_variable(word: str) -> bool:
    return any(mask.name in STRONG_MASKS and mask.pattern.search(word) for mask in MASKS)


def _collapse_repeats(lines: list[str]) -> list[str]:
    """Three or more identical lines in a row (once masked) become one line with a count."""
    collapsed: list[str] = []
    index = 0
    while index < len(lines):
        end = index
        while end + 1 < len(lines) and lines[end + 1] == lines[index]:
            end += 1
        count = end - index + 1
        if count >= 3 and lines[index].strip():
            collapsed.append(f"{lines[index]}  (x{count})")
        else:
            collapsed.extend(lines[index : end + 1])
        index = end + 1
    return collapsed
