"""The records that cross stage boundaries, and nothing else.

Every record is a frozen dataclass with a sort key, so output is deterministic.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime


class SourceKind(enum.StrEnum):
    """Where an observation came from; decides which fields are meaningful."""

    EXECUTION = "execution"
    FAILURE = "failure"
    BEHAVIOR = "behavior"
    JOURNAL = "journal"
    NOTE = "note"
    CLOUDWATCH = "cloudwatch"
    GITHUB_ACTIONS = "github-actions"


class OperationType(enum.StrEnum):
    DEPLOYMENT = "deployment"
    ROLLBACK = "rollback"
    INCIDENT_RESPONSE = "incident-response"
    MIGRATION = "migration"
    SCALING = "scaling"
    OTHER = "other"


@dataclass(frozen=True, order=True)
class Provenance:
    """A place in a source: path relative to the root (POSIX separators) and 1-based line."""

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
class Observation:
    """One source document (or log stream, or CI run) reduced to what the pipeline needs.

    Journals and failure notes are observations too, with `commands` empty or holding the failing one.
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
    error_messages: tuple[str, ...] = ()
    symptoms: str = ""
    root_cause: str = ""
    solution_commands: tuple[str, ...] = ()
    prevention: str = ""
    failed_command: str = ""
    text: str = ""
    """The whole (redacted) body, for classification."""

    @property
    def sort_key(self) -> tuple[str, str]:
        return ((self.day.isoformat() if self.day else ""), self.path)


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

    @property
    def enough_runs(self) -> bool:
        return self.executions >= self.min_runs


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
    sources: tuple[str, ...]


@dataclass(frozen=True)
class TroubleshootingEntry:
    title: str
    symptoms: tuple[str, ...]
    cause: str
    solution: tuple[str, ...]
    prevention: str
    occurrences: int
    last_seen: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class RollbackProcedure:
    """Steps mined from rollback observations of the same scope; empty when none were recorded."""

    steps: tuple[Step, ...] = ()
    sources: tuple[str, ...] = ()
    estimated_duration_seconds: float | None = None


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
    extra: dict[str, str] = field(default_factory=dict)
