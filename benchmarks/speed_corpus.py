"""Large, realistic observation corpora for the speed benchmark (``benchmarks.speed``).

The quality corpus (``benchmarks.corpus_generator``) is small and uniform on purpose; a speed corpus has to
look like a team's years of notes instead: many operation types and scopes with a long-tailed size (one
pattern, ``deployment lambda``, is by far the biggest, as in the hidden corpora of issue 13), executions in the
``/observe`` format, loose hand-written notes, failure observations, error/process/architecture journals and
behavior notes in realistic shares, dated over three years with the oldest quarters under ``archive/``.

The runs themselves come from the quality generator's procedures and writers, so the files have the same
shape the pipeline is tuned for; extra service families (incidents scoped by symptom, backups, credential
rotations) add the many small patterns. One seeded ``random.Random`` drives everything: the same size and
seed give the same bytes.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from benchmarks.corpus_generator import (
    PROCEDURES,
    FailureMode,
    Procedure,
    RunRecord,
    StepSpec,
    execution_text,
    failure_text,
    journal_text,
    note_text,
    simulate_run,
)

FIRST_DAY = date(2024, 1, 8)
SPAN_DAYS = 3 * 365
ARCHIVE_BEFORE = date(2026, 1, 1)
"""Runs older than this sit under ``archive/<YYYY-QN>/``, as teams archive past quarters."""

# Shares of files by kind; the rest are runs (executions and loose notes).
FAILURE_SHARE = 0.10
JOURNAL_SHARE = 0.06
BEHAVIOR_SHARE = 0.02
NOTE_SHARE = 0.2
"""Share of runs written as loose hand-written notes (console blocks, no frontmatter)."""
RAW_LOG_SHARE = 0.3
"""Share of executions that keep the template's ``## Raw Log`` section (makes files as large as real ones)."""

SERVICES = (
    "billing",
    "search",
    "auth",
    "payments",
    "notifications",
    "ledger",
    "inventory",
    "checkout",
    "reporting",
    "gateway",
    "profiles",
    "media",
)


@dataclass(frozen=True)
class WeightedProcedure:
    """A procedure and how many of the corpus's runs it gets, relative to the others."""

    procedure: Procedure
    weight: float


def _incident(service: str) -> Procedure:
    return Procedure(
        name=f"incident-{service}-5xx",
        operation_type="incident-response",
        scope=f"{service} 5xx",
        tags=("incident", f"{service}-5xx", "alb"),
        slug=f"incident-{service}-5xx",
        context=f"{service} 5xx alarm - {{rate}}% of requests failing",
        note_title=f"{service} 5xx alarm ({{rate}}%)",
        variables={"rate": "int:2:40", "req": "uuid", "count": "int:3:12", "start": "timestamp", "end": "timestamp"},
        steps=(
            StepSpec(
                "metrics",
                "Check the error rate",
                f"aws cloudwatch get-metric-statistics --namespace AWS/ApplicationELB --metric-name "
                f"HTTPCode_Target_5XX_Count --dimensions Name=TargetGroup,Value=tg-{service} --statistics Sum "
                "--period 60 --start-time {start} --end-time {end}",
                '{\n    "Datapoints": [{"Sum": {count}.0, "Unit": "Count"}]\n}',
                2.0,
                continuation=0.4,
            ),
            StepSpec(
                "logs",
                "Look at the errors",
                f"aws logs tail /ecs/{service} --since 15m --filter-pattern ERROR",
                f"ERROR request {{req}} failed: upstream {service}-db timed out after 30000 ms",
                6.0,
            ),
            StepSpec(
                "targets",
                "Check target health",
                f"aws elbv2 describe-target-health --target-group-arn arn:aws:elasticloadbalancing:us-east-1:"
                f"123456789012:targetgroup/tg-{service}/6d0ecf831eec9f09",
                '{"TargetHealthDescriptions": [{"TargetHealth": {"State": "unhealthy"}}]}',
                1.5,
                rate=0.6,
            ),
            StepSpec(
                "restart",
                "Restart the service",
                f"aws ecs update-service --cluster prod --service {service} --force-new-deployment",
                f'{{"service": {{"serviceName": "{service}", "status": "ACTIVE"}}}}',
                3.0,
                wrapper=0.3,
            ),
            StepSpec(
                "wait",
                "Wait for it to settle",
                f"aws ecs wait services-stable --cluster prod --services {service}",
                "",
                120.0,
            ),
            StepSpec(
                "verify",
                "Verify",
                f"curl -s -o /dev/null -w '%{{http_code}}' https://{service}.example.com/healthz",
                "200",
                1.0,
            ),
        ),
        failures=(
            FailureMode(
                "stable-timeout",
                "wait",
                0.15,
                "Waiter ServicesStable failed: Max attempts exceeded",
                (f"aws ecs describe-services --cluster prod --services {service}",),
                f"{service} never became stable after the restart",
                "The new tasks failed their health check while the database was saturated.",
                exit_code=255,
            ),
        ),
    )


def _backup(service: str) -> Procedure:
    return Procedure(
        name=f"backup-{service}",
        operation_type="other",
        scope=f"backed up {service}",
        tags=("backup", service),
        slug=f"backup-{service}",
        context=f"backed up {service} data with restic",
        note_title=f"Backed up {service} data",
        variables={"snap": "hex12", "files": "int:1000:90000", "size": "int:2:900"},
        steps=(
            StepSpec(
                "backup",
                "Run the backup",
                f"restic -r s3:s3.amazonaws.com/acme-backups/{service} backup /srv/{service}/data",
                "Files: {files} new, 0 changed\nsnapshot {snap} saved",
                300.0,
            ),
            StepSpec(
                "snapshots",
                "List the latest snapshot",
                f"restic -r s3:s3.amazonaws.com/acme-backups/{service} snapshots --latest 1",
                "ID        Time                 Host\n{snap}  2026-01-01 03:00:00  backup-1",
                4.0,
            ),
            StepSpec(
                "check",
                "Check the repository",
                f"restic -r s3:s3.amazonaws.com/acme-backups/{service} check --read-data-subset=1/10",
                "no errors were found",
                90.0,
                rate=0.5,
            ),
            StepSpec(
                "forget",
                "Prune old snapshots",
                f"restic -r s3:s3.amazonaws.com/acme-backups/{service} forget --keep-daily 7 --keep-weekly 5 --prune",
                "removed {size} snapshots",
                60.0,
                rate=0.7,
                continuation=0.3,
            ),
        ),
    )


def _rotation(service: str) -> Procedure:
    return Procedure(
        name=f"rotate-{service}",
        operation_type="other",
        scope=f"rotated {service} api",
        tags=("rotation", service),
        slug=f"rotated-{service}-api-key",
        context=f"rotated {service} api key",
        note_title=f"Rotated the {service} api key",
        variables={"version": "int:2:80", "req": "uuid"},
        steps=(
            StepSpec(
                "read",
                "Read the current version",
                f"vault kv metadata get secret/{service}/api",
                "current_version    {version}",
                1.0,
            ),
            StepSpec(
                "write",
                "Write the new key",
                f"vault kv put secret/{service}/api key=@new-key.txt",
                "version    {version}",
                1.0,
            ),
            StepSpec(
                "reload",
                "Reload the service",
                f"systemctl reload {service}",
                "",
                3.0,
            ),
            StepSpec(
                "verify",
                "Verify",
                f"curl -s https://{service}.internal/healthz",
                '{"ok": true, "request": "{req}"}',
                1.0,
            ),
        ),
    )


def procedures() -> tuple[WeightedProcedure, ...]:
    """Every procedure of a speed corpus with its weight: a long tail behind one dominant deployment."""
    weighted: list[WeightedProcedure] = []
    for index, procedure in enumerate(PROCEDURES):
        # deployment-lambda (index 0) gets ~20 % of the runs, the other base procedures fall off slowly.
        weighted.append(WeightedProcedure(procedure, 30.0 if index == 0 else 12.0 / (1 + 0.3 * index)))
    for rank, service in enumerate(SERVICES):
        tail = 3.0 / (1 + rank)
        weighted += [
            WeightedProcedure(_incident(service), tail),
            WeightedProcedure(_backup(service), tail / 2),
            WeightedProcedure(_rotation(service), tail / 3),
        ]
    return tuple(weighted)


def _quarter(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def _observation_dir(day: date) -> str:
    if day < ARCHIVE_BEFORE:
        return f".claude/observations/archive/{_quarter(day)}/{day.isoformat()}"
    return f".claude/observations/{day.isoformat()}"


def _raw_log(run: RunRecord) -> str:
    """The template's optional full transcript: every command and its output again."""
    lines = ["## Raw Log", "", "```"]
    for call in run.calls:
        lines.append(f"$ {call.command}")
        lines.extend(call.output.split("\n"))
    lines.append("```")
    return "\n".join(lines) + "\n"


def behavior_text(procedure: Procedure, day: date, index: int) -> str:
    """A behavior observation: a decision and its reasoning, with a few commands mentioned inline."""
    first = procedure.steps[0].command
    last = procedure.steps[-1].command
    return "\n".join(
        [
            "---",
            "mode: behavior",
            f"date: {day.isoformat()}",
            f"time: {day.isoformat()}T10:{index % 60:02d}:00Z",
            f"context: how we usually do {procedure.name.replace('-', ' ')}",
            "category: tool_usage",
            f"tags: [{', '.join(procedure.tags)}, tool_usage]",
            "---",
            "",
            f"# Behavior Observation: how we usually do {procedure.name.replace('-', ' ')}",
            "",
            "## Decision Point",
            "",
            f"**Situation**: the procedure starts with `{first}` and ends with `{last}`.",
            "",
            "**Options Considered**:",
            "1. Keep doing it by hand",
            "2. Script it",
            "",
            "**Choice Made**: Option 1 until the runbook exists.",
            "",
            "**Reasoning Stated**: the steps still change every few weeks.",
            "",
        ]
    )


def _process_journal(procedure: Procedure, day: date) -> str:
    steps = "\n".join(f"{n}. {step.operation}: `{step.command}`" for n, step in enumerate(procedure.steps, 1))
    return "\n".join(
        [
            "---",
            f"title: {procedure.name} checklist",
            "category: process",
            f"date: {day.isoformat()}",
            f"tags: [{', '.join(procedure.tags)}]",
            "---",
            "",
            f"# {procedure.name} checklist",
            "",
            "What we agreed to do every time:",
            "",
            steps,
            "",
        ]
    )


class _Writer:
    """Writes files under one root, making names unique without a filesystem lookup per file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.taken: set[str] = set()
        self.count = 0

    def write(self, relative: str, text: str) -> str:
        stem, suffix = relative.rsplit(".", 1)
        candidate, counter = relative, 2
        while candidate in self.taken:
            candidate = f"{stem}-{counter}.{suffix}"
            counter += 1
        self.taken.add(candidate)
        path = self.root / candidate
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.count += 1
        return candidate


def _runs(rng: random.Random, total: int) -> Iterator[tuple[Procedure, RunRecord]]:
    table = procedures()
    population = [item.procedure for item in table]
    weights = [item.weight for item in table]
    for index, procedure in enumerate(rng.choices(population, weights, k=total)):
        run = simulate_run(procedure, index % 1000, rng, note=rng.random() < NOTE_SHARE)
        run.day = FIRST_DAY + timedelta(days=rng.randrange(SPAN_DAYS))
        yield procedure, run


@dataclass(frozen=True)
class SpeedCorpus:
    """What was written, so the benchmark can pick the biggest pattern and change 1 % of the files."""

    root: Path
    files: int
    runs_by_procedure: dict[str, int]
    paths: tuple[str, ...]


def write_speed_corpus(root: Path, files: int, seed: int = 13) -> SpeedCorpus:
    """Write ``files`` observation and journal files under ``root/.claude``, deterministically."""
    rng = random.Random(seed)
    failures_wanted = round(files * FAILURE_SHARE)
    journals_wanted = round(files * JOURNAL_SHARE)
    behaviors_wanted = round(files * BEHAVIOR_SHARE)
    runs_wanted = files - failures_wanted - journals_wanted - behaviors_wanted
    writer = _Writer(root)
    counts: dict[str, int] = {}
    failed: list[tuple[Procedure, RunRecord, str]] = []
    for procedure, run in _runs(rng, runs_wanted):
        counts[procedure.name] = counts.get(procedure.name, 0) + 1
        folder = _observation_dir(run.day)
        if run.note:
            run.path = writer.write(f"{folder}-{procedure.slug}-notes.md", note_text(procedure, run, rng))
        else:
            text = execution_text(procedure, run, rng)
            if rng.random() < RAW_LOG_SHARE:
                text += "\n" + _raw_log(run)
            stamp = run.clock.strftime("%H%M%S")
            run.path = writer.write(f"{folder}/execution-{stamp}-{procedure.slug}.md", text)
        failed += [(procedure, run, key) for key in run.failures]
    rng.shuffle(failed)
    with_modes = [item.procedure for item in procedures() if item.procedure.failures]
    for index in range(failures_wanted):
        if index < len(failed):
            procedure, run, key = failed[index]
            mode = next(mode for mode in procedure.failures if mode.key == key)
            day, clock, values = run.day, run.clock, run.values
        else:  # more failure notes than failed runs: a failure nobody recorded a run for
            procedure = rng.choice(with_modes)
            mode = rng.choice(procedure.failures)
            other = simulate_run(procedure, index, rng, note=False)
            day, clock, values = FIRST_DAY + timedelta(days=rng.randrange(SPAN_DAYS)), other.clock, other.values
        stamp = clock.strftime("%H%M%S")
        writer.write(
            f"{_observation_dir(day)}/failure-{stamp}-{procedure.slug}-{mode.key}.md",
            failure_text(procedure, mode, day, clock, values),
        )
    for index in range(journals_wanted):
        day = FIRST_DAY + timedelta(days=rng.randrange(SPAN_DAYS))
        if index % 4 == 3:
            procedure = rng.choice(PROCEDURES)
            writer.write(
                f".claude/journals/process/{day.isoformat()}-{procedure.name}.md", _process_journal(procedure, day)
            )
            continue
        procedure = rng.choice(with_modes)
        mode = rng.choice(procedure.failures)
        values = simulate_run(procedure, index, rng, note=False).values
        writer.write(
            f".claude/journals/error/{day.isoformat()}-{procedure.slug}-{mode.key}.md",
            journal_text(procedure, mode, day, values),
        )
    for index in range(behaviors_wanted):
        day = FIRST_DAY + timedelta(days=rng.randrange(SPAN_DAYS))
        procedure = rng.choice(PROCEDURES)
        writer.write(
            f"{_observation_dir(day)}/behavior-10{index % 60:02d}00-{procedure.slug}.md",
            behavior_text(procedure, day, index),
        )
    return SpeedCorpus(root, writer.count, counts, tuple(sorted(writer.taken)))


def big_note_text(commands: int, seed: int = 5) -> str:
    """One loose note whose single bash block holds ``commands`` commands (a pasted shell history)."""
    rng = random.Random(seed)
    verbs = (
        "kubectl get pods -n shop -l app=shop-api",
        "aws lambda get-function --function-name report_worker",
        "curl -s https://api.example.com/health",
        "docker push 123456789012.dkr.ecr.us-east-1.amazonaws.com/telegram-api:{sha}",
        "aws s3 cp dist/index.html s3://www-example-com-site/index.html",
        "helm history shop-api -n shop --max {n}",
    )
    lines = []
    for _ in range(commands):
        command = rng.choice(verbs)
        command = command.replace("{sha}", f"{rng.getrandbits(28):07x}").replace("{n}", str(rng.randint(1, 9)))
        lines.append(command)
    body = "\n".join(lines)
    return f"# Deployed report_worker lambda (pasted history)\n\nEverything I typed today:\n\n```bash\n{body}\n```\n"


def write_big_note(root: Path, commands: int) -> Path:
    """A corpus of one note with ``commands`` commands (generate it with ``--min-runs 1``)."""
    path = root / ".claude/observations/2026-03-02-deployed-report-worker-history-notes.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(big_note_text(commands), encoding="utf-8")
    return path


def touch_share(corpus: SpeedCorpus, share: float, seed: int = 99) -> list[str]:
    """Change ``share`` of the files in place so that what mining sees changes (a run recorded again with
    another timing: the first ``**Duration**`` gets a new value; a file without one gets a new line of notes),
    not only their bytes: an edit parsing cannot see would not exercise re-mining. Returns them."""
    rng = random.Random(seed)
    chosen = rng.sample(corpus.paths, max(1, round(len(corpus.paths) * share)))
    for relative in chosen:
        path = corpus.root / relative
        text = path.read_text(encoding="utf-8")
        seconds = rng.randint(2, 600)
        edited = re.sub(r"\*\*Duration\*\*: [^\n]*", f"**Duration**: {seconds}s", text, count=1)
        if edited == text:
            edited = text + f"\nFollow-up {rng.getrandbits(32):08x}: checked again after {seconds}s.\n"
        path.write_text(edited, encoding="utf-8")
    return chosen


__all__ = [
    "SpeedCorpus",
    "WeightedProcedure",
    "behavior_text",
    "big_note_text",
    "procedures",
    "touch_share",
    "write_big_note",
    "write_speed_corpus",
]
