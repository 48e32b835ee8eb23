"""Observation corpora written from known procedures, so the quality benchmark can score against the truth.

Everything that is vocabulary -- the procedures and their stacks, the one-off operations, the noise typed
between steps, the wrappers commands run under, the typo habits, the wording of hand-written notes -- lives in
JSON files under ``benchmarks/vocab/<tier>/``, never in ``src/``: the ``tuned`` folder holds what the code has
been developed against, the ``heldout`` and ``fresh`` folders other vocabularies that the code must never be tuned
on (``heldout`` has been read while debugging; ``fresh`` was written by someone who did not work on ``src/``). This
module only knows how runs behave: every run draws fresh values for the variables (digests, shas, versions,
ids, times) while constants stay literal; skips optional steps at their rate; sometimes swaps independent
steps; types noise and typos between steps; fails a step now and then, runs the fix and retries; adds
wrappers, line continuations and comments. A fifth of the runs are hand-written notes without frontmatter.
Failure observations and error journals record failure modes at their own frequencies, and a few one-off
operations sit in the same corpus. A metadata tier decides how honest the words around the commands are:
full tags, no tags, or misleading contexts. Everything is drawn from one seeded ``random.Random``.
"""

from __future__ import annotations

import enum
import json
import random
import re
import string
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

_VAR = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
VOCAB_ROOT = Path(__file__).resolve().parent / "vocab"
START_DAY = date(2026, 1, 5)
SPAN_DAYS = 320
# ---------------------------------------------------------------- value generators


def _hex(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


def _git_sha(rng: random.Random) -> str:
    while True:
        value = _hex(rng, 7)
        if re.search(r"[a-f]", value) and re.search(r"\d", value):
            return value


def _uuid(rng: random.Random) -> str:
    return f"{_hex(rng, 8)}-{_hex(rng, 4)}-4{_hex(rng, 3)}-a{_hex(rng, 3)}-{_hex(rng, 12)}"


def _upper_id(rng: random.Random, first: str, length: int) -> str:
    alphabet = string.ascii_uppercase + string.digits
    while True:
        value = first + "".join(rng.choice(alphabet) for _ in range(length - 1))
        if re.search(r"\d", value):
            return value


def _stamp(rng: random.Random) -> str:
    moment = datetime.combine(START_DAY, time(0)) + timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _value(kind: str, rng: random.Random) -> str:
    if kind.startswith("int:"):
        low, high = (int(part) for part in kind.split(":")[1:3])
        return str(rng.randint(low, high))
    if kind.startswith("choice:"):
        return rng.choice(kind.split(":", 1)[1].split("|"))
    generators = {
        "git_sha": lambda: _git_sha(rng),
        "digest": lambda: "sha256:" + _hex(rng, 64),
        "hex64": lambda: _hex(rng, 64),
        "hex12": lambda: _hex(rng, 12),
        "semver": lambda: f"{rng.randint(1, 3)}.{rng.randint(0, 30)}.{rng.randint(0, 12)}",
        "uuid": lambda: _uuid(rng),
        "timestamp": lambda: _stamp(rng),
        "date": lambda: (START_DAY + timedelta(days=rng.randrange(SPAN_DAYS))).isoformat(),
        "epoch_ms": lambda: str(1767225600000 + rng.randrange(SPAN_DAYS * 86400) * 1000),
        "inval_id": lambda: _upper_id(rng, "I", 14),
        "request_id": lambda: _upper_id(rng, "R", 16),
        "alembic_rev": lambda: _hex(rng, 12),
        "user": lambda: (
            rng.choice(["ana", "bo", "chen", "dara", "eli", "fay", "gus", "hana"]) + str(rng.randint(1, 99))
        ),
    }
    return generators[kind]()


def render(template: str, values: dict[str, str]) -> str:
    """Fill ``{name}`` variables; other braces (JSON, jsonpath) stay as written."""
    return _VAR.sub(lambda match: values.get(match.group(1), match.group(0)), template)


def variables_of(template: str) -> list[str]:
    return _VAR.findall(template)


# ---------------------------------------------------------------- procedures


@dataclass(frozen=True)
class StepSpec:
    key: str
    operation: str
    command: str
    """Template: ``{name}`` is a variable (fresh value per run); everything else is a constant."""
    output: str
    mean_seconds: float
    rate: float = 1.0
    """Share of runs doing this step; below 1.0 the step is optional."""
    swap_next: float = 0.0
    """Chance this step and the next trade places in a run (independent steps)."""
    wrapper: float = 0.0
    continuation: float = 0.0

    @property
    def optional(self) -> bool:
        return self.rate < 1.0


@dataclass(frozen=True)
class FailureMode:
    key: str
    step: str
    rate: float
    error: str
    fixes: tuple[str, ...]
    title: str
    cause: str
    exit_code: int = 1
    observation_rate: float = 0.5
    journals: int = 1


@dataclass(frozen=True)
class Procedure:
    name: str
    operation_type: str
    scope: str
    tags: tuple[str, ...]
    slug: str
    context: str
    note_title: str
    variables: dict[str, str]
    steps: tuple[StepSpec, ...]
    failures: tuple[FailureMode, ...] = ()
    typo: tuple[str, str] = ("", "")
    """A typed-wrong command and the error it prints (the ``literal`` typo habit of this procedure)."""
    misleading: tuple[str, ...] = ()
    """Contexts worded with another operation type's words, for the misleading metadata tier."""


@dataclass(frozen=True)
class OneOff:
    operation_type: str
    scope: str
    tags: tuple[str, ...]
    slug: str
    context: str
    commands: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class TypoHabit:
    """One way people mistype: ``literal`` replays the procedure's own typo, the others derive one."""

    kind: str
    error: str
    exit_code: int


@dataclass(frozen=True)
class Phrasings:
    """How hand-written notes and failure records are worded."""

    note_intros: tuple[str, ...]
    note_between: tuple[str, ...]
    note_after_failure: tuple[str, ...]
    note_closings: tuple[str, ...]
    note_prompts: tuple[str, ...]
    note_fences: tuple[str, ...]
    comments: tuple[str, ...]
    noise_operation: str
    fix_operation: str
    failure_symptoms: tuple[str, ...]
    journal_preventions: tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    """One tier of vocabulary, read from ``benchmarks/vocab/<name>/*.json``."""

    name: str
    procedures: tuple[Procedure, ...]
    one_offs: tuple[OneOff, ...]
    noise: tuple[tuple[str, str], ...]
    wrappers: tuple[str, ...]
    """Templates with ``{command}`` where the wrapped command goes."""
    typos: tuple[TypoHabit, ...]
    phrasings: Phrasings


def _read(folder: Path, name: str) -> Any:
    return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))


def _procedure(data: dict[str, Any]) -> Procedure:
    return Procedure(
        name=data["name"],
        operation_type=data["operation_type"],
        scope=data["scope"],
        tags=tuple(data["tags"]),
        slug=data["slug"],
        context=data["context"],
        note_title=data["note_title"],
        variables=dict(data["variables"]),
        steps=tuple(StepSpec(**step) for step in data["steps"]),
        failures=tuple(FailureMode(**{**mode, "fixes": tuple(mode["fixes"])}) for mode in data.get("failures", [])),
        typo=(data["typo"][0], data["typo"][1]) if data.get("typo") else ("", ""),
        misleading=tuple(data.get("misleading", ())),
    )


def load_vocabulary(folder: Path) -> Vocabulary:
    """Read one vocabulary folder; the benchmark names the folder, nothing in ``src/`` ever does."""
    stacks = _read(folder, "procedures")
    phrasings = _read(folder, "phrasings")
    return Vocabulary(
        name=folder.name,
        procedures=tuple(_procedure(item) for item in stacks["procedures"]),
        one_offs=tuple(
            OneOff(
                item["operation_type"],
                item["scope"],
                tuple(item["tags"]),
                item["slug"],
                item["context"],
                tuple((command, output) for command, output in item["commands"]),
            )
            for item in stacks["one_offs"]
        ),
        noise=tuple((command, output) for command, output in _read(folder, "noise")["commands"]),
        wrappers=tuple(_read(folder, "wrappers")["wrappers"]),
        typos=tuple(TypoHabit(**habit) for habit in _read(folder, "typos")["habits"]),
        phrasings=Phrasings(
            note_intros=tuple(phrasings["note_intros"]),
            note_between=tuple(phrasings["note_between"]),
            note_after_failure=tuple(phrasings["note_after_failure"]),
            note_closings=tuple(phrasings["note_closings"]),
            note_prompts=tuple(phrasings["note_prompts"]),
            note_fences=tuple(phrasings["note_fences"]),
            comments=tuple(phrasings["comments"]),
            noise_operation=phrasings["noise_operation"],
            fix_operation=phrasings["fix_operation"],
            failure_symptoms=tuple(phrasings["failure_symptoms"]),
            journal_preventions=tuple(phrasings["journal_preventions"]),
        ),
    )


@cache
def vocabulary(name: str) -> Vocabulary:
    """A vocabulary tier by folder name (``tuned``, ``heldout`` or ``fresh``), read once."""
    return load_vocabulary(VOCAB_ROOT / name)


TUNED = vocabulary("tuned")
PROCEDURES: tuple[Procedure, ...] = TUNED.procedures
ONE_OFFS: tuple[OneOff, ...] = TUNED.one_offs


class Metadata(enum.StrEnum):
    """How much the words around the commands tell: the commands themselves are the same in every tier."""

    FULL = "full-tags"
    NO_TAGS = "no-tags"
    MISLEADING = "misleading"


# ---------------------------------------------------------------- runs


@dataclass(frozen=True)
class Call:
    command: str
    output: str
    operation: str
    seconds: float
    exit_code: int = 0
    step: str = ""
    """The truth step this call performs ("" for noise, typos and fixes)."""
    wrapped: bool = False
    continued: bool = False
    comment: str = ""
    failure: str = ""
    """The failure mode this failed call belongs to ("" unless it failed because of one)."""


@dataclass
class RunRecord:
    procedure: str
    index: int
    day: date
    clock: time
    values: dict[str, str]
    calls: list[Call]
    total_seconds: float
    note: bool
    steps_done: list[str]
    failures: list[str] = field(default_factory=list)
    path: str = ""
    wrapper: str = "ENV=prod doppler run -- {command}"
    context: str = ""
    title: str = ""
    tags: tuple[str, ...] = ()
    spans: list[tuple[int, int, int]] = field(default_factory=list)
    """(first line, last line, call index) of every place the written file shows a call."""


@dataclass(frozen=True)
class Hardness:
    """How rough the runs are: noise and typos typed between steps, how often independent steps swap."""

    noise_rate: float = 0.15
    typo_rate: float = 0.04
    swap_scale: float = 1.0


STANDARD = Hardness()
HARD = Hardness(noise_rate=0.35, typo_rate=0.12, swap_scale=2.5)


def _scatter(rng: random.Random, mean: float) -> float:
    value = mean * rng.lognormvariate(0.0, 0.25)
    if rng.random() < 0.04:
        value *= rng.uniform(3.0, 6.0)
    return round(max(0.1, value), 1)


def _order(procedure: Procedure, rng: random.Random, swap_scale: float = 1.0) -> list[StepSpec]:
    steps = list(procedure.steps)
    index = 0
    while index < len(steps) - 1:
        if steps[index].swap_next and rng.random() < min(0.5, steps[index].swap_next * swap_scale):
            steps[index], steps[index + 1] = steps[index + 1], steps[index]
            index += 2
        else:
            index += 1
    return steps


def _swap_letters(word: str, rng: random.Random) -> str:
    spots = [i for i in range(len(word) - 1) if word[i] != word[i + 1] and word[i].isalpha() and word[i + 1].isalpha()]
    if not spots:
        return word + word[-1]
    i = rng.choice(spots)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _drop_letter(word: str, rng: random.Random, keep: int = 1) -> str:
    spots = [i for i in range(keep, len(word)) if word[i].isalpha()]
    if len(word) <= keep + 1 or not spots:
        return word + word[-1]
    i = rng.choice(spots)
    return word[:i] + word[i + 1 :]


def typo_of(command: str, habit: TypoHabit, rng: random.Random) -> tuple[str, str]:
    """A mistyped form of ``command`` and the error it prints, the way ``habit`` mistypes."""
    words = command.split(" ")
    head = 1 if words[0] == "sudo" and len(words) > 1 else 0
    program = words[head]
    kind = habit.kind
    if kind == "subcommand_transpose" and not (len(words) > head + 1 and words[head + 1].isalpha()):
        kind = "program_transpose"
    flags = [i for i, word in enumerate(words) if word.startswith("--") and len(word.split("=")[0]) > 5]
    if kind == "flag_drop" and not flags:
        kind = "program_drop"
    if kind == "truncated" and len(words) <= head + 3:
        kind = "program_transpose"
    if kind == "program_transpose":
        word = _swap_letters(program, rng)
        words[head] = word
    elif kind == "program_drop":
        word = _drop_letter(program, rng)
        words[head] = word
    elif kind == "subcommand_transpose":
        word = _swap_letters(words[head + 1], rng)
        words[head + 1] = word
    elif kind == "flag_drop":
        index = rng.choice(flags)
        name, _, value = words[index].partition("=")
        word = _drop_letter(name, rng, keep=2)
        words[index] = word + ("=" + value if value else "")
    else:
        word = program
        words = words[: head + 2]
    return " ".join(words), habit.error.format(word=word, program=program)


def simulate_run(
    procedure: Procedure,
    index: int,
    rng: random.Random,
    note: bool,
    hardness: Hardness = STANDARD,
    vocab: Vocabulary = TUNED,
) -> RunRecord:
    """One run of a procedure: what was typed, printed and how long it took (nothing written yet)."""
    values = {name: _value(kind, rng) for name, kind in procedure.variables.items()}
    day = START_DAY + timedelta(days=rng.randrange(SPAN_DAYS))
    clock = time(rng.randint(7, 22), rng.randint(0, 59), rng.randint(0, 59))
    wrapper = rng.choice(vocab.wrappers)
    phrasings = vocab.phrasings
    calls: list[Call] = []
    done: list[str] = []
    failures: list[str] = []
    modes = {mode.step: mode for mode in procedure.failures}
    for spec in _order(procedure, rng, hardness.swap_scale):
        if spec.optional and rng.random() >= spec.rate:
            continue
        command = render(spec.command, values)
        if rng.random() < hardness.noise_rate:
            noise, output = rng.choice(vocab.noise)
            calls.append(Call(noise, output, phrasings.noise_operation, _scatter(rng, 1.0)))
        if rng.random() < hardness.typo_rate:
            habit = rng.choice(vocab.typos)
            if habit.kind == "literal":
                typed, error = procedure.typo
            else:
                typed, error = typo_of(command, habit, rng)
            if typed:
                calls.append(Call(typed, error, "Run command", 0.3, exit_code=habit.exit_code))
        wrapped = rng.random() < spec.wrapper and not ("'" in command and "'{command}'" in wrapper)
        continued = rng.random() < spec.continuation
        comment = rng.choice(phrasings.comments) if rng.random() < 0.1 else ""
        mode = modes.get(spec.key)
        if mode is not None and rng.random() < mode.rate:
            failures.append(mode.key)
            calls.append(
                Call(
                    command,
                    render(mode.error, values),
                    spec.operation,
                    _scatter(rng, 3.0),
                    mode.exit_code,
                    spec.key,
                    wrapped,
                    continued,
                    failure=mode.key,
                )
            )
            for fix in mode.fixes:
                operation = phrasings.fix_operation.format(title=mode.title)
                calls.append(Call(render(fix, values), "", operation, _scatter(rng, 8.0)))
        calls.append(
            Call(
                command,
                render(spec.output, values),
                spec.operation,
                _scatter(rng, spec.mean_seconds),
                0,
                spec.key,
                wrapped,
                continued,
                comment,
            )
        )
        done.append(spec.key)
    gaps = sum(rng.uniform(4.0, 25.0) for _ in calls)
    total = round(sum(call.seconds for call in calls) + gaps)
    return RunRecord(
        procedure.name,
        index,
        day,
        clock,
        values,
        calls,
        float(total),
        note,
        done,
        failures,
        wrapper=wrapper,
        context=render(procedure.context, values),
        title=render(procedure.note_title, values),
        tags=procedure.tags,
    )


# ---------------------------------------------------------------- writing


def _fence(text: str, language: str = "") -> str:
    return f"```{language}\n{text}\n```"


def _continued(command: str) -> str:
    """Break a long command at its flags with backslash continuations."""
    parts = re.split(r" (?=--?[a-z])", command)
    if len(parts) < 3:
        return command
    head, rest = parts[0], parts[1:]
    lines = [head + " " + rest[0], *rest[1:]]
    return " \\\n  ".join(lines)


def _squashed(call: Call, wrapper: str) -> str:
    return wrapper.replace("{command}", call.command) if call.wrapped else call.command


def _typed(call: Call, wrapper: str) -> str:
    command = _squashed(call, wrapper)
    return _continued(command) if call.continued else command


def _duration_text(rng: random.Random, seconds: float) -> str:
    if rng.random() < 0.08:
        return "{if measurable}"
    whole = round(seconds)
    if seconds < 10:
        return f"{seconds:.1f}s"
    if whole < 60:
        return f"{whole}s"
    minutes, rest = divmod(whole, 60)
    style = rng.random()
    if style < 0.6:
        return f"{minutes}m {rest:02d}s"
    if style < 0.8:
        return f"{minutes} min {rest} s"
    return f"00:{minutes:02d}:{rest:02d}"


def _total_text(rng: random.Random, seconds: float) -> str:
    if rng.random() < 0.1:
        return "{total duration}"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s" if rng.random() < 0.7 else f"{minutes} min {rest} s"


def _line_count(text: str) -> int:
    return text.count("\n") + 1


def _height(lines: list[str]) -> int:
    """Lines taken so far by ``lines`` (an item may hold several, such as a fenced block)."""
    return sum(_line_count(item) for item in lines)


def execution_text(procedure: Procedure, run: RunRecord, rng: random.Random) -> str:
    """An ``/observe`` execution note; records in ``run.spans`` which lines show which call."""
    context = run.context or render(procedure.context, run.values)
    tags = run.tags
    lines = [
        "---",
        "mode: execution",
        f"date: {run.day.isoformat()}",
        f"time: {run.clock.strftime('%H:%M:%S')}",
        f"context: {context}",
        f"session_id: sess-{run.day.strftime('%Y%m%d')}-{run.index:03d}",
        f"tags: [{', '.join(tags)}]",
        "---",
        "",
        f"# Execution Observation: {context}",
        "",
        "## Tool Calls",
        "",
    ]
    run.spans = []
    moment = datetime.combine(run.day, run.clock)
    for number, call in enumerate(run.calls):
        typed = _typed(call, run.wrapper)
        body = f"{call.comment}\n{typed}" if call.comment else typed
        first = _height(lines) + 1
        block = [
            f"### Bash - {moment.strftime('%H:%M:%S')}",
            f"**Operation**: {call.operation}",
            "**Input**:",
            _fence(body, rng.choice(("bash", "sh"))),
            "**Output**:",
            _fence(call.output or "(no output)"),
            f"**Duration**: {_duration_text(rng, call.seconds)}",
            "",
        ]
        lines += block
        run.spans.append((first, first + sum(_line_count(item) for item in block) - 1, number))
        moment += timedelta(seconds=call.seconds + rng.uniform(4, 25))
    lines += ["## Side Effects", "", "**Commands Executed**:"]
    for number, call in enumerate(run.calls):
        outcome = "failed" if call.exit_code else "ok"
        squashed = _squashed(call, run.wrapper)
        run.spans.append((_height(lines) + 1, _height(lines) + _line_count(squashed), number))
        lines.append(f"- {squashed} - {call.exit_code} - {outcome}")
    lines += ["", "## Resource Consumption", "", f"**Time**: {_total_text(rng, run.total_seconds)}", ""]
    return "\n".join(lines)


def note_text(procedure: Procedure, run: RunRecord, rng: random.Random, vocab: Vocabulary = TUNED) -> str:
    """A hand-written note: no frontmatter, console blocks, the note phrasings of the vocabulary."""
    phrasings = vocab.phrasings
    title = run.title or render(procedure.note_title, run.values)
    minutes = max(1, round(run.total_seconds / 60))
    prompt = rng.choice(phrasings.note_prompts)
    fence = rng.choice(phrasings.note_fences)
    lines = [f"# {title}", "", rng.choice(phrasings.note_intros).format(minutes=minutes), ""]
    noise = {command for command, _ in vocab.noise}
    block: list[str] = []
    pending: list[tuple[int, int, int]] = []
    run.spans = []
    for number, call in enumerate(run.calls):
        if call.command in noise and rng.random() < 0.7:
            continue
        start = len(block)
        block.extend((prompt + _typed(call, run.wrapper)).split("\n"))
        if call.output:
            block.extend(call.output.split("\n")[:4])
        pending.append((start, len(block) - 1, number))
        if call.exit_code or rng.random() < 0.3:
            base = _height(lines) + 2
            run.spans += [(base + first, base + last, index) for first, last, index in pending]
            lines += [_fence("\n".join(block), fence), ""]
            joiner = phrasings.note_after_failure if call.exit_code else phrasings.note_between
            lines += [rng.choice(joiner), ""]
            block, pending = [], []
    if block:
        base = _height(lines) + 2
        run.spans += [(base + first, base + last, index) for first, last, index in pending]
        lines += [_fence("\n".join(block), fence), ""]
    lines.append(rng.choice(phrasings.note_closings))
    return "\n".join(lines) + "\n"


def failure_text(
    procedure: Procedure,
    mode: FailureMode,
    day: date,
    clock: time,
    values: dict[str, str],
    tags: tuple[str, ...] | None = None,
    vocab: Vocabulary = TUNED,
) -> str:
    command = next(render(step.command, values) for step in procedure.steps if step.key == mode.step)
    shown = procedure.tags if tags is None else tags
    return "\n".join(
        [
            "---",
            "mode: failure",
            f"date: {day.isoformat()}",
            f"time: {clock.strftime('%H:%M:%S')}",
            f"context: {mode.title}",
            "severity: medium",
            "resolved: yes",
            "environment: production",
            f"tags: [{', '.join(shown)}]",
            "---",
            "",
            f"# Failure Observation: {mode.title}",
            "",
            "## Symptoms Observed",
            "",
            vocab.phrasings.failure_symptoms[day.toordinal() % len(vocab.phrasings.failure_symptoms)],
            "",
            "## Error Messages",
            "",
            "### Error 1",
            _fence(render(mode.error, values)),
            "",
            "## Input State",
            "",
            "**What was attempted**:",
            _fence(command, "bash"),
            "",
        ]
    )


def journal_text(
    procedure: Procedure,
    mode: FailureMode,
    day: date,
    values: dict[str, str],
    tags: tuple[str, ...] | None = None,
    vocab: Vocabulary = TUNED,
) -> str:
    fixes = "\n".join(render(fix, values) for fix in mode.fixes)
    shown = procedure.tags if tags is None else tags
    preventions = vocab.phrasings.journal_preventions
    return "\n".join(
        [
            "---",
            f"title: {mode.title}",
            "category: error",
            f"date: {day.isoformat()}",
            "resolved: yes",
            f"tags: [{', '.join(shown)}]",
            "---",
            "",
            f"# {mode.title}",
            "",
            "## Symptoms",
            "",
            "**What went wrong?**",
            "",
            _fence(render(mode.error, values)),
            "",
            "## Root Cause",
            "",
            mode.cause,
            "",
            "## Solution",
            "",
            "**Code/Config Changes**:",
            _fence(f"# what fixed it\n{fixes}", "bash"),
            "",
            "## Prevention",
            "",
            preventions[day.toordinal() % len(preventions)],
            "",
        ]
    )


# ---------------------------------------------------------------- corpus


@dataclass(frozen=True)
class TruthStep:
    key: str
    command: str
    """The template with a variable left in only where its values differed across this corpus's runs."""
    optional: bool
    rate: float
    mean_seconds: float
    median_seconds: float = 0.0
    """Median of the successful call's real seconds over the runs that did the step."""
    swap_next: float = 0.0
    """Chance the step traded places with the next one in a run (the two are independent)."""


@dataclass(frozen=True)
class TruthFailure:
    key: str
    step: str
    fixes: tuple[str, ...]
    occurrences: int
    title: str = ""


@dataclass(frozen=True)
class FailureItem:
    """One recorded occurrence of a failure mode: a failed call inside a run file, or a whole file."""

    path: str
    call: int
    """Index of the failed call in the run (-1 for failure observations and journals)."""
    mode: str
    through: int = -1
    """Index of the successful retry that ends the episode (the fixes lie between)."""
    occurrence: str = ""
    """Which failure event this records: a failed call and the failure note written about it share one."""

    @property
    def event(self) -> str:
        return self.occurrence or f"{self.path}#{self.call}"


@dataclass(frozen=True)
class ProcedureTruth:
    name: str
    operation_type: str
    scope: str
    steps: tuple[TruthStep, ...]
    samples: tuple[dict[str, str], ...]
    """Variable values of a few runs, to check a template against real commands."""
    median_total_seconds: float
    failures: tuple[TruthFailure, ...]
    runs: int
    notes: int
    run_paths: tuple[str, ...] = ()
    step_seconds: tuple[dict[str, float], ...] = ()
    """Per run: seconds of the successful call of each step it did."""
    failure_items: tuple[FailureItem, ...] = ()
    spans: dict[str, tuple[tuple[int, int, int], ...]] = field(default_factory=dict)
    """Per run file: (first line, last line, call index) of each place a call is shown."""


@dataclass(frozen=True)
class OneOffTruth:
    operation_type: str
    scope: str
    path: str


@dataclass(frozen=True)
class CorpusTruth:
    root: Path
    procedures: tuple[ProcedureTruth, ...]
    one_offs: tuple[OneOffTruth, ...]
    runs: tuple[RunRecord, ...]
    vocabulary: str = "tuned"
    metadata: Metadata = Metadata.FULL
    wrappers: tuple[str, ...] = ()
    run_paths: frozenset[str] = frozenset()
    """Every run file of the corpus (procedures and one-offs), to tell runs from failure notes in sources."""


def _unique(path: Path) -> Path:
    candidate, counter = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{counter}{path.suffix}")
        counter += 1
    return candidate


def _write(root: Path, relative: str, text: str) -> str:
    path = _unique(root / relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path.relative_to(root).as_posix()


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48].strip("-")


def _effective_template(step: StepSpec, runs: list[RunRecord]) -> str:
    """The truth of what a runbook can know: a variable that took one value in these runs is a constant."""
    doing = [run for run in runs if step.key in run.steps_done]
    fixed = {
        name: next(iter(seen))
        for name in variables_of(step.command)
        if len(seen := {run.values[name] for run in doing}) == 1
    }
    return render(step.command, fixed)


def _dress(run: RunRecord, procedure: Procedure, metadata: Metadata, rng: random.Random) -> str:
    """Set the words around the commands for the metadata tier; returns the file-name slug."""
    if metadata is Metadata.FULL:
        return procedure.slug
    run.tags = ()
    if metadata is Metadata.NO_TAGS or not procedure.misleading:
        return procedure.slug
    run.context = render(rng.choice(procedure.misleading), run.values)
    run.title = run.context[:1].upper() + run.context[1:]
    return _slugify(run.context) or procedure.slug


def write_corpus(
    root: Path,
    runs_per_procedure: int,
    seed: int = 7,
    procedures: tuple[Procedure, ...] | None = None,
    note_share: float = 0.2,
    one_offs: tuple[OneOff, ...] | None = None,
    hardness: Hardness = STANDARD,
    vocab: Vocabulary = TUNED,
    metadata: Metadata = Metadata.FULL,
) -> CorpusTruth:
    """Write a corpus under ``root/.claude`` and return what is true about it."""
    rng = random.Random(seed)
    words = random.Random(seed + 1)
    """Draws for the metadata tier only, so the commands are the same in every tier."""
    procedures = vocab.procedures if procedures is None else procedures
    one_offs = vocab.one_offs if one_offs is None else one_offs
    tags_of = (lambda procedure: procedure.tags) if metadata is Metadata.FULL else (lambda procedure: ())
    truths: list[ProcedureTruth] = []
    all_runs: list[RunRecord] = []
    for procedure in procedures:
        notes = round(runs_per_procedure * note_share)
        flags = [True] * notes + [False] * (runs_per_procedure - notes)
        rng.shuffle(flags)
        runs: list[RunRecord] = []
        for index, note in enumerate(flags):
            run = simulate_run(procedure, index, rng, note, hardness, vocab)
            slug = _dress(run, procedure, metadata, words)
            if note:
                relative = f".claude/observations/{run.day.isoformat()}-{slug}-notes.md"
                run.path = _write(root, relative, note_text(procedure, run, rng, vocab))
            else:
                stamp = run.clock.strftime("%H%M%S")
                relative = f".claude/observations/{run.day.isoformat()}/execution-{stamp}-{slug}.md"
                run.path = _write(root, relative, execution_text(procedure, run, rng))
            runs.append(run)
        items: list[FailureItem] = []
        occurrences: Counter[str] = Counter()
        for run in runs:
            for number, call in enumerate(run.calls):
                if call.failure:
                    retry = next(
                        later
                        for later in range(number + 1, len(run.calls))
                        if run.calls[later].step == call.step and not run.calls[later].exit_code
                    )
                    items.append(FailureItem(run.path, number, call.failure, retry))
            for key in run.failures:
                occurrences[key] += 1
                mode = next(mode for mode in procedure.failures if mode.key == key)
                if rng.random() < mode.observation_rate:
                    stamp = run.clock.strftime("%H%M%S")
                    path = _write(
                        root,
                        f".claude/observations/{run.day.isoformat()}/failure-{stamp}-{procedure.slug}-{key}.md",
                        failure_text(procedure, mode, run.day, run.clock, run.values, tags_of(procedure), vocab),
                    )
                    in_run = next(item for item in items if item.path == run.path and item.mode == key)
                    items.append(FailureItem(path, -1, key, occurrence=in_run.event))
        for mode in procedure.failures:
            for _ in range(mode.journals if occurrences[mode.key] else 0):
                values = {name: _value(kind, rng) for name, kind in procedure.variables.items()}
                day = START_DAY + timedelta(days=rng.randrange(SPAN_DAYS))
                path = _write(
                    root,
                    f".claude/journals/error/{day.isoformat()}-{procedure.slug}-{mode.key}.md",
                    journal_text(procedure, mode, day, values, tags_of(procedure), vocab),
                )
                items.append(FailureItem(path, -1, mode.key))
        step_seconds = tuple(
            {call.step: call.seconds for call in run.calls if call.step and not call.exit_code} for run in runs
        )
        truths.append(
            ProcedureTruth(
                name=procedure.name,
                operation_type=procedure.operation_type,
                scope=procedure.scope,
                steps=tuple(
                    TruthStep(
                        step.key,
                        _effective_template(step, runs),
                        step.optional,
                        step.rate,
                        step.mean_seconds,
                        _median([seconds[step.key] for seconds in step_seconds if step.key in seconds] or [0.0]),
                        step.swap_next,
                    )
                    for step in procedure.steps
                ),
                samples=tuple(run.values for run in runs[:3]),
                median_total_seconds=_median([run.total_seconds for run in runs]),
                failures=tuple(
                    TruthFailure(mode.key, mode.step, mode.fixes, occurrences[mode.key], mode.title)
                    for mode in procedure.failures
                ),
                runs=len(runs),
                notes=sum(run.note for run in runs),
                run_paths=tuple(run.path for run in runs),
                step_seconds=step_seconds,
                failure_items=tuple(items),
                spans={run.path: tuple(run.spans) for run in runs},
            )
        )
        all_runs.extend(runs)
    one_off_truths: list[OneOffTruth] = []
    for one_off in one_offs:
        day = START_DAY + timedelta(days=rng.randrange(SPAN_DAYS))
        procedure = Procedure(
            name=one_off.slug,
            operation_type=one_off.operation_type,
            scope=one_off.scope,
            tags=one_off.tags,
            slug=one_off.slug,
            context=one_off.context,
            note_title=one_off.context,
            variables={},
            steps=tuple(StepSpec(f"s{i}", "Run command", c, o, 5.0) for i, (c, o) in enumerate(one_off.commands)),
        )
        run = simulate_run(procedure, 0, rng, False, vocab=vocab)
        run.day = day
        run.tags = tags_of(procedure)
        relative = f".claude/observations/{day.isoformat()}/execution-120000-{one_off.slug}.md"
        path = _write(root, relative, execution_text(procedure, run, rng))
        one_off_truths.append(OneOffTruth(one_off.operation_type, one_off.scope, path))
    return CorpusTruth(
        root,
        tuple(truths),
        tuple(one_off_truths),
        tuple(all_runs),
        vocabulary=vocab.name,
        metadata=metadata,
        wrappers=vocab.wrappers,
        run_paths=frozenset(run.path for run in all_runs) | {item.path for item in one_off_truths},
    )
