"""The records that cross stage boundaries, and nothing else.

Every record is a frozen dataclass; the ones that are emitted have a sort key, so output is deterministic.
Data flows one way: ingest → Observation/Corpus → Classification → Selection → Alignment + FailureEvent →
Runbook → text.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from runbook_synth.settings import Settings

if TYPE_CHECKING:
    from runbook_synth.classify import ObservationFacts


class SourceKind(enum.StrEnum):
    """Where an observation came from; decides which parts are present."""

    EXECUTION = "execution"
    FAILURE = "failure"
    BEHAVIOR = "behavior"
    JOURNAL = "journal"
    NOTE = "note"
    CLOUDWATCH = "cloudwatch"
    GITHUB_ACTIONS = "github-actions"

    @property
    def is_execution(self) -> bool:
        """Kinds that record a run of an operation (when they hold commands)."""
        return self in _EXECUTION_KINDS


_EXECUTION_KINDS = frozenset({SourceKind.EXECUTION, SourceKind.NOTE, SourceKind.CLOUDWATCH, SourceKind.GITHUB_ACTIONS})
"""Made once: `is_execution` is asked of every observation by every selection (a tuple built per call and
four enum comparisons were 2 % of a re-mine)."""


class OperationType(enum.StrEnum):
    """The operation types with a command of their own; any other name is allowed through `generate`."""

    DEPLOYMENT = "deployment"
    ROLLBACK = "rollback"
    INCIDENT_RESPONSE = "incident-response"
    MIGRATION = "migration"
    SCALING = "scaling"
    OTHER = "other"

    @property
    def display_title(self) -> str:
        return _TYPE_TITLES[self]

    @classmethod
    def commands(cls) -> tuple[OperationType, ...]:
        """The types that have their own CLI command (`runbook deployment …`)."""
        return tuple(item for item in cls if item != cls.OTHER)


TYPE_ALIASES = {  # what a user may type for an operation type
    "incident": OperationType.INCIDENT_RESPONSE,
    "incident-response": OperationType.INCIDENT_RESPONSE,
    "incident_response": OperationType.INCIDENT_RESPONSE,
    "deploy": OperationType.DEPLOYMENT,
    "deployment": OperationType.DEPLOYMENT,
    "rollback": OperationType.ROLLBACK,
    "migration": OperationType.MIGRATION,
    "scaling": OperationType.SCALING,
    "scale": OperationType.SCALING,
}


def resolve_type(value: str) -> str:
    """A user-given operation type, canonical ("incident" → "incident-response"); free words are allowed."""
    cleaned = value.strip().lower()
    alias = TYPE_ALIASES.get(cleaned)
    return alias.value if alias else cleaned


_TYPE_TITLES = {
    OperationType.DEPLOYMENT: "Deployment",
    OperationType.ROLLBACK: "Rollback",
    OperationType.INCIDENT_RESPONSE: "Incident Response",
    OperationType.MIGRATION: "Migration",
    OperationType.SCALING: "Scaling",
    OperationType.OTHER: "Other",
}


def type_title(operation_type: str) -> str:
    """Display title of a type name, known or not (`backup` → `Backup`)."""
    try:
        return OperationType(operation_type).display_title
    except ValueError:
        return operation_type.replace("-", " ").title()


class StepRole(enum.StrEnum):
    """What a step does: a read-only check, or a change to the system."""

    CHECK = "check"
    CHANGE = "change"


class FailureSource(enum.StrEnum):
    """Where a failure event was learnt from."""

    FAILURE_NOTE = "failure"
    RETRY = "retry"
    JOURNAL = "journal"
    LOGS = "logs"
    CI = "ci"


class OutputFormat(enum.StrEnum):
    """What `generate` renders: the markdown template, or the JSON model."""

    MD = "md"
    JSON = "json"


class Shape(enum.StrEnum):
    """The markdown shapes a runbook renders in, each a template of its own (`<shape>.md.j2`)."""

    RUNBOOK = "runbook"
    RUN_ENTRY = "run-entry"
    SERVICE = "service"


@dataclass(frozen=True, order=True)
class Provenance:
    """A place in a source: path relative to the root (POSIX separators) and 1-based line (0: whole file)."""

    path: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class CommandRun:
    """One command as it was run once: the unit that alignment works on."""

    command: str
    provenance: Provenance
    output: str = ""
    exit_code: int | None = None
    duration_seconds: float | None = None
    operation: str = ""
    """The observation's own words for what this call did (`**Operation**`), used for step titles."""

    @property
    def failed(self) -> bool:
        return self.exit_code is not None and self.exit_code != 0


@dataclass(frozen=True)
class FailureDetail:
    """What a failure note or an error journal teaches: the error, why it happened, what fixed it."""

    error_messages: tuple[str, ...] = ()
    symptoms: str = ""
    failed_command: str = ""
    root_cause: str = ""
    fix_commands: tuple[str, ...] = ()
    prevention: str = ""

    @property
    def headline_error(self) -> str:
        return self.error_messages[0] if self.error_messages else self.symptoms


@dataclass(frozen=True)
class Observation:
    """One source document (or log stream, or CI run) reduced to what the pipeline needs.

    Failure notes and journals carry a `failure` part; journals and behaviors a `category`.
    """

    path: str
    kind: SourceKind
    title: str = ""
    context: str = ""
    tags: tuple[str, ...] = ()
    category: str = ""
    """Journal category (error, process, architecture, ...) or behavior category."""
    when: datetime | None = None
    day: date | None = None
    environment: str = ""
    severity: str = ""
    commands: tuple[CommandRun, ...] = ()
    total_duration_seconds: float | None = None
    failure: FailureDetail | None = None

    @property
    def sort_key(self) -> tuple[str, str]:
        return ((self.day.isoformat() if self.day else ""), self.path)

    @property
    def is_execution(self) -> bool:
        return self.kind.is_execution and len(self.commands) > 0

    @property
    def is_error_journal(self) -> bool:
        return self.kind == SourceKind.JOURNAL and self.category == "error"


@dataclass(frozen=True)
class SkippedSource:
    """A source that could not be used, with the reason; reported by name, never dropped silently."""

    path: str
    reason: str


@dataclass(frozen=True)
class RedactionFinding:
    """One masked secret: where and what kind, never the value."""

    path: str
    line: int
    kind: str


@dataclass(frozen=True)
class Corpus:
    """Everything ingested from a root: the usable observations and the named skips."""

    observations: tuple[Observation, ...]
    skipped: tuple[SkippedSource, ...] = ()
    redactions: tuple[RedactionFinding, ...] = ()
    facts: Mapping[str, ObservationFacts] = field(default_factory=dict, compare=False, repr=False)
    """What classification reads of each observation, by path, when ingest worked it out or kept it
    (`classify.facts_of`); an observation without an entry is worked out where it is classified."""


@dataclass(frozen=True)
class Classification:
    operation_type: str
    scope: str
    """A canonical component (lambda, frontend, database, infrastructure) or a short free-text label."""


@dataclass(frozen=True)
class Pattern:
    """A (type, scope) group found in a corpus, as `runbook list` shows it."""

    operation_type: str
    scope: str
    executions: int
    failures: int
    journals: int
    min_runs: int
    steps: int | None = None
    """Steps of the runbook mined from it; None when it was not mined (too few runs)."""

    @property
    def enough_runs(self) -> bool:
        return self.executions >= self.min_runs

    @property
    def ready(self) -> bool:
        """A runbook can be generated: enough runs, and mining them gave at least one step."""
        return self.enough_runs and self.steps != 0


@dataclass(frozen=True)
class SourceAccount:
    """What was read and what contributed nothing, by reason: so a silent corpus says why."""

    read: int
    executions: int
    failures: int
    journals: int
    without_commands: tuple[str, ...]
    """Execution notes and loose notes that recorded no command."""
    unmatched: tuple[str, ...]
    """Journals and failure notes whose type and scope match no pattern with runs."""
    skipped: int
    unread_folders: tuple[tuple[str, int], ...]
    """`.claude/` folders of markdown that the `sources` setting does not read, with their file counts."""


@dataclass(frozen=True)
class Selection:
    """The observations a runbook for (type, scope) is mined from."""

    operation_type: str
    scope: str
    executions: tuple[Observation, ...]
    failures: tuple[Observation, ...]
    journals: tuple[Observation, ...]
    other_types: tuple[tuple[str, int], ...] = ()
    """Counts of matching executions of other types, to tell the user what was found instead."""
    related_failures: tuple[Observation, ...] = ()
    """Failures and error journals of the same scope but another type: used only where they touch a step."""
    adopted: tuple[tuple[str, int], ...] = ()
    """Runs of other types taken as the type asked for, by type and count, because nothing said what they
    were (no tag, no command verb, their notes' words disagreeing) and none was of the type asked for."""


@dataclass(frozen=True)
class RetryEpisode:
    """A command failed, other commands ran, and the same command then succeeded."""

    run: int
    failed: CommandRun
    fixes: tuple[CommandRun, ...]
    retry: CommandRun


@dataclass(frozen=True)
class PreparedRun:
    """One run's commands after cleaning: noise, retry episodes and unretried failures lifted out."""

    run: int
    commands: tuple[CommandRun, ...]
    episodes: tuple[RetryEpisode, ...]
    unretried_failures: tuple[CommandRun, ...]
    noise: tuple[CommandRun, ...]


@dataclass(frozen=True)
class Member:
    run: int
    position: int
    command: CommandRun


@dataclass(frozen=True)
class Column:
    """One consensus position: the same command (by key id) in the runs that have it."""

    key_id: int
    members: tuple[Member, ...]

    @functools.cached_property
    def runs(self) -> frozenset[int]:
        """Computed once per column: alignment asks for it in its inner loops."""
        return frozenset(member.run for member in self.members)


@dataclass(frozen=True)
class Alignment:
    """Many runs' command sequences as ordered consensus columns, with the runs they came from."""

    columns: tuple[Column, ...]
    run_count: int
    keys: tuple[str, ...]
    """Representative key text of each key id."""
    runs: tuple[PreparedRun, ...] = ()
    executions: tuple[Observation, ...] = ()
    """The executions in source order; `runs[i].run` indexes this tuple."""


@dataclass(frozen=True)
class RollbackEvidence:
    """The runs that undo an operation (rollbacks; for a rollback runbook, the redeploys that roll forward)."""

    selection: Selection
    alignment: Alignment


@dataclass(frozen=True)
class FailureEvent:
    """One time something went wrong, from a failure note, a journal, or a failed-then-retried command."""

    error: str
    command: str
    day: date | None
    source: Provenance
    kind: FailureSource
    cause: str = ""
    solution: tuple[str, ...] = ()
    prevention: str = ""
    title: str = ""
    fixes: tuple[CommandRun, ...] = ()
    run: int = -1
    related: bool = False
    """From another operation type of the same scope: kept only where it touches a step of this one."""


@dataclass(frozen=True)
class EvidenceSource:
    """Where a figure comes from, so a reader can check it: the log group, the window, how many events."""

    log_group: str
    window_start: str
    window_end: str
    events: int


@dataclass(frozen=True)
class InvocationStats:
    """One function's invocations over the window, from its REPORT lines.

    Error invocations are the distinct request ids that timed out or logged at ERROR; lines at ERROR
    without a request id count once each. ``None`` where the window holds nothing to compute it from.
    """

    source: EvidenceSource
    invocations: int
    duration_median_ms: float | None
    duration_p90_ms: float | None
    duration_p99_ms: float | None
    cold_starts: int
    init_median_ms: float | None
    memory_size_mb: int | None  # of the latest invocation (a deploy can change it)
    max_memory_used_mb: int | None  # the most any invocation at that size used
    memory_headroom_pct: float | None  # 100 * (size - max used) / size
    timeouts: int
    error_invocations: int
    error_rate_pct: float | None


@dataclass(frozen=True)
class AlarmSummary:
    """One alarm on a scoped function, as configured, with the condition it pages on in words."""

    name: str
    log_group: str
    namespace: str
    metric: str  # the metric name, or the expression's label for metric-math alarms
    statistic: str  # "Sum", "Average", "p99", or "" for metric math
    threshold: float
    comparison: str  # ">", ">=", "<", "<=", or the API's name for band comparisons
    evaluation_periods: int
    datapoints_to_alarm: int
    period_seconds: int
    actions: tuple[str, ...]  # alarm action ARNs (SNS topics, ...)
    state: str  # OK | ALARM | INSUFFICIENT_DATA, at ingest time
    severity: str  # "critical" | "warning" | "" from the alarm's name and description
    condition: str  # "Error rate > 5% for 5 minutes"
    rollback_trigger: bool  # the condition is about errors, throttles or latency going up: a reason to roll back


@dataclass(frozen=True)
class ErrorGroup:
    """Error or warning lines one statement produced, mined by ``logtemplates``, with a command that shows them."""

    template: str
    level: str  # "ERROR" | "WARN"
    count: int
    first_seen: str  # ISO 8601; "" when unknown (Insights patterns carry no times)
    last_seen: str
    sample: str  # one redacted line
    log_group: str
    tail_command: str  # aws logs tail <group> --since … --filter-pattern '…'
    source: EvidenceSource


@dataclass(frozen=True)
class CloudWatchEvidence:
    """Everything CloudWatch says about a scope over a window, for the Monitoring, Alerts, Rollback,
    Detect/Triage and Troubleshooting sections."""

    scope: str
    log_groups: tuple[str, ...]
    window_start: str
    window_end: str
    events: int
    invocations: tuple[InvocationStats, ...]
    alarms: tuple[AlarmSummary, ...]
    rollback_triggers: tuple[str, ...]  # conditions of alarms that support them, nothing invented
    error_groups: tuple[ErrorGroup, ...]


@dataclass(frozen=True)
class DurationEstimate:
    median: float
    p90: float


@dataclass(frozen=True)
class Support:
    runs: int
    of: int


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    commands: tuple[str, ...]
    parameters: tuple[str, ...]
    expected_output: str
    duration_seconds: DurationEstimate | None
    support: Support
    optional: bool
    verification: str
    if_failed: tuple[str, ...]
    sources: tuple[Provenance, ...]
    role: StepRole = StepRole.CHANGE
    verified_by: int | None = None
    """The number of the check step that follows and shows this step worked; `verification` is its command."""
    command_support: tuple[Support, ...] = ()
    """Support of each command of `commands`, in the same order."""


@dataclass(frozen=True)
class TroubleshootingEntry:
    title: str
    symptoms: tuple[str, ...]
    cause: str
    solution: tuple[str, ...]
    prevention: str
    occurrences: int
    last_seen: str
    sources: tuple[Provenance, ...]


@dataclass(frozen=True)
class RollbackProcedure:
    """Steps mined from rollback observations of the same scope; empty when none were recorded."""

    steps: tuple[Step, ...] = ()
    sources: tuple[str, ...] = ()
    estimated_duration_seconds: float | None = None
    operation_type: str = ""
    """What the undoing runs were: `rollback`, or `deployment` (a roll forward) for a rollback runbook."""


@dataclass(frozen=True)
class Runbook:
    operation_type: str
    scope: str
    generated: str
    last_validated: str
    estimated_duration_seconds: float | None
    sources: tuple[str, ...]
    steps: tuple[Step, ...]
    troubleshooting: tuple[TroubleshootingEntry, ...]
    rollback: RollbackProcedure
    prerequisites: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    contexts: tuple[str, ...] = ()
    """What the runs were recorded as (their context lines), most common first."""
    monitoring: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    run_count: int = 0
    failure_count: int = 0
    journal_count: int = 0
    trivial: bool = False
    owner: str = ""
    review_frequency: str = ""
    pre_checks: tuple[int, ...] = ()
    """Numbers of the check steps before the first change."""
    post_checks: tuple[int, ...] = ()
    """Numbers of the check steps after the last change."""
    access: tuple[str, ...] = ()
    """Services the steps call that need permissions (e.g. AWS `lambda`, `s3`)."""
    risk_level: str = ""
    """The `risk_level` setting (Low, Medium, High, Critical); empty: not assessed."""
    escalation: str = ""
    """The `escalation` setting: when to escalate, who, and what to provide."""
    cloudwatch: CloudWatchEvidence | None = None
    """What CloudWatch logs and alarms say about the scope, when `runbook ingest cloudwatch` stored any."""

    @property
    def title(self) -> str:
        return f"{type_title(self.operation_type)}: {self.scope or 'all scopes'}"


@dataclass(frozen=True)
class GenerateRequest:
    """One runbook to mine: which operation, where from, how to render it."""

    root: Path
    operation_type: str
    scope: str
    today: date
    settings: Settings = field(default_factory=Settings)
    output_format: OutputFormat = OutputFormat.MD
    templates_dir: Path | None = None
    strict: bool = False
    shape: Shape = Shape.RUNBOOK
    reuse_snapshot: bool = False
    """Answer from the last `regenerate` when nothing it read has changed (the runbook it mined for exactly
    this type and scope label, dated today); the corpus of the result then holds only the skipped files."""


@dataclass(frozen=True)
class RunbookSummary:
    """What is said of a runbook once written (its steps, runs and troubleshooting entries), and what a
    runbook already on disk is compared with: known without decoding the runbook."""

    steps: int
    run_count: int
    troubleshooting: int

    @classmethod
    def of(cls, runbook: Runbook) -> RunbookSummary:
        return cls(len(runbook.steps), runbook.run_count, len(runbook.troubleshooting))


@dataclass(frozen=True)
class Generated:
    """A runbook rendered for a request. `runbook` is decoded on first use when the answer came from the
    last regeneration with its text already rendered (a runbook of thousands of runs takes a fifth of a
    second to decode, and the slash command only needs its text and `summary`)."""

    source: Runbook | Callable[[], Runbook]
    """The runbook, or what decodes it."""
    text: str
    corpus: Corpus
    filename: str
    from_snapshot: bool = False
    """Answered from the last regeneration's snapshot: `corpus` holds only the skipped files."""
    summary: RunbookSummary | None = None
    """Given when `source` is not decoded yet; else taken from the runbook."""

    @functools.cached_property
    def runbook(self) -> Runbook:
        return self.source if isinstance(self.source, Runbook) else self.source()

    @property
    def counts(self) -> RunbookSummary:
        if self.summary is not None:
            return self.summary
        return RunbookSummary.of(self.runbook)
