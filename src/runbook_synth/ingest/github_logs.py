"""GitHub Actions text: job logs (timestamps, `##[group]`, `##[error]`) and the `run:` lines of workflow files.

A job log is one text for all the steps of a job; each line starts with the time it was written. The
steps' start and end times (from the jobs API) are what ties an `##[error]` line to the step that printed
it, since the `##[group]Run …` headers name the script, not the step. Secrets GitHub masked stay `***`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import yaml

from runbook_synth.logtemplates import mine_templates

__all__ = [
    "CiLineKind",
    "CiLogLine",
    "ErrorGroup",
    "StepWindow",
    "WorkflowJob",
    "WorkflowStep",
    "errors_by_step",
    "group_errors",
    "parse_ci_log",
    "parse_timestamp",
    "parse_workflow",
    "run_command",
    "step_commands",
]


class CiLineKind(enum.StrEnum):
    """What a job-log line is, from its `##[…]` marker (or the `::…::` workflow command that made it)."""

    OUTPUT = "output"
    GROUP = "group"
    ENDGROUP = "endgroup"
    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"
    DEBUG = "debug"
    COMMAND = "command"


@dataclass(frozen=True)
class CiLogLine:
    """One job-log line without its timestamp prefix and marker; `number` is 1-based in the log."""

    number: int
    kind: CiLineKind
    text: str
    timestamp: datetime | None = None


# 2026-11-20T14:03:11.1234567Z, as the runner writes it (7 fractional digits; some GHES write none).
_STAMP = re.compile(r"^\ufeff?(?P<stamp>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z) ?")
_MARKER = re.compile(r"^##\[(?P<kind>group|endgroup|error|warning|notice|debug|command)\](?P<text>.*)$")
_WORKFLOW_COMMAND = re.compile(r"^::(?P<kind>error|warning|notice|debug|group|endgroup)(?: [^:]*)?::(?P<text>.*)$")
_EXIT_CODE = re.compile(r"^Process completed with exit code \d+\.?$")


def parse_timestamp(value: str) -> datetime | None:
    """An API or log timestamp (`…Z`, with or without fractional seconds) as an aware datetime, or None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def parse_ci_log(text: str) -> tuple[CiLogLine, ...]:
    """Every line of a job log, timestamp prefix stripped and marker read; never raises on odd text."""
    lines: list[CiLogLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stamp = _STAMP.match(raw)
        timestamp = parse_timestamp(stamp.group("stamp")) if stamp else None
        body = raw[stamp.end() :] if stamp else raw
        marker = _MARKER.match(body) or _WORKFLOW_COMMAND.match(body)
        if marker:
            lines.append(CiLogLine(number, CiLineKind(marker.group("kind")), marker.group("text").strip(), timestamp))
        else:
            lines.append(CiLogLine(number, CiLineKind.OUTPUT, body.rstrip(), timestamp))
    return tuple(lines)


@dataclass(frozen=True)
class ErrorGroup:
    """Error lines one statement printed: the template (`<*>` where they differ), how many, the first one."""

    template: str
    count: int
    example: str


def group_errors(messages: Sequence[str]) -> tuple[ErrorGroup, ...]:
    """Error lines grouped by log template, in first-seen order; the generic exit-code line goes last.

    `Process completed with exit code 1.` follows every failed `run:` step, so it says least and must
    not become the headline of a failure.
    """
    if not messages:
        return ()
    ids, templates = mine_templates(list(messages))
    examples: dict[int, str] = {}
    for template_id, message in zip(ids, messages, strict=True):
        examples.setdefault(template_id, message)
    groups = [ErrorGroup(templates[tid].template, templates[tid].size, example) for tid, example in examples.items()]
    return tuple(sorted(groups, key=lambda group: bool(_EXIT_CODE.match(group.example))))


@dataclass(frozen=True)
class StepWindow:
    """A step of a job as the jobs API gives it: number, name, conclusion and its time window."""

    number: int
    name: str
    conclusion: str
    started: datetime | None
    completed: datetime | None


def errors_by_step(lines: Iterable[CiLogLine], steps: Sequence[StepWindow]) -> dict[int, tuple[str, ...]]:
    """`##[error]` texts by step number: the step whose window holds the line's time, else the failed step.

    Step times are whole seconds while log times are not, so a window runs to the end of its last second.
    """
    failed = [step.number for step in steps if step.conclusion in ("failure", "timed_out")]
    fallback = failed[0] if failed else (steps[-1].number if steps else 0)
    found: dict[int, list[str]] = {}
    for line in lines:
        if line.kind != CiLineKind.ERROR or not line.text:
            continue
        number = _step_at(line.timestamp, steps, failed) if line.timestamp else None
        found.setdefault(number if number is not None else fallback, []).append(line.text)
    return {number: tuple(texts) for number, texts in found.items()}


def _step_at(when: datetime, steps: Sequence[StepWindow], failed: Sequence[int]) -> int | None:
    candidates = [
        step.number
        for step in steps
        if step.started is not None
        and step.completed is not None
        and step.started <= when < step.completed + timedelta(seconds=1)
    ]
    if not candidates:
        return None
    preferred = [number for number in candidates if number in failed]
    return (preferred or candidates)[-1]


@dataclass(frozen=True)
class WorkflowStep:
    """One step of a workflow file job: the name GitHub shows for it, and its `run:` script or `uses:` action."""

    display_name: str
    run: str = ""
    uses: str = ""


@dataclass(frozen=True)
class WorkflowJob:
    """One job of a workflow file: its id (the key under `jobs:`), its `name:` and its steps."""

    job_id: str
    name: str
    steps: tuple[WorkflowStep, ...]


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when PyYAML was built with it


def parse_workflow(text: str) -> tuple[WorkflowJob, ...]:
    """The jobs and steps of a workflow file; empty when it is not YAML or has no `jobs:` mapping."""
    try:
        document = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError:
        return ()
    if not isinstance(document, dict) or not isinstance(document.get("jobs"), dict):
        return ()
    jobs: list[WorkflowJob] = []
    for job_id, body in document["jobs"].items():
        if not isinstance(body, dict):
            continue
        steps = tuple(_workflow_step(step) for step in body.get("steps") or () if isinstance(step, dict))
        name = body.get("name")
        jobs.append(WorkflowJob(str(job_id), str(name) if isinstance(name, str) else str(job_id), steps))
    return tuple(jobs)


def _workflow_step(step: Mapping[str, Any]) -> WorkflowStep:
    run = step.get("run")
    uses = step.get("uses")
    run_text = run if isinstance(run, str) else ""
    uses_text = uses if isinstance(uses, str) else ""
    name = step.get("name")
    if isinstance(name, str) and name:
        display = name
    elif run_text.strip():
        display = "Run " + run_text.strip().splitlines()[0]
    else:
        display = "Run " + uses_text
    return WorkflowStep(display, run_text, uses_text)


def run_command(script: str) -> str:
    """A `run:` script as the command a runbook shows: comments and blank lines out, `\\` continuations joined."""
    commands: list[str] = []
    pending = ""
    for raw in script.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        commands.append((pending + line).strip())
        pending = ""
    if pending.strip():
        commands.append(pending.strip())
    return "\n".join(commands)


_BOOKKEEPING = re.compile(r"^(?:Set up job|Complete job|(?:Pre|Post) .+)$")


def is_bookkeeping(step_name: str) -> bool:
    """GitHub's own steps (`Set up job`, `Post Run actions/checkout@v4`, ...): in every run, part of no procedure."""
    return bool(_BOOKKEEPING.match(step_name))


def step_commands(job_name: str, step_names: Sequence[str], workflow: Sequence[WorkflowJob]) -> dict[str, str]:
    """The `run:` command of each API step name of one job, where the workflow file says it.

    The API job name is the job's `name:` (or id), with ` (matrix values)` appended for matrix jobs.
    Steps are matched by display name, or by position when the counts agree (names with `${{ }}`
    expressions are rendered by GitHub and cannot be matched by text).
    """
    spec = _matching_job(job_name, workflow)
    if spec is None:
        return {}
    by_name = {step.display_name: step for step in spec.steps}
    real = [name for name in step_names if not is_bookkeeping(name)]
    positional = dict(zip(real, spec.steps, strict=True)) if len(real) == len(spec.steps) else {}
    commands: dict[str, str] = {}
    for name in real:
        step = by_name.get(name) or positional.get(name)
        if step is not None and step.run.strip():
            command = run_command(step.run)
            if command:
                commands[name] = command
    return commands


def _matching_job(job_name: str, workflow: Sequence[WorkflowJob]) -> WorkflowJob | None:
    for job in workflow:
        if job_name in (job.name, job.job_id):
            return job
    for job in workflow:
        if job_name.startswith((job.name + " (", job.job_id + " (")):
            return job
    return workflow[0] if len(workflow) == 1 else None
