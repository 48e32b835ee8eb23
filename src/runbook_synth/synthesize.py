"""Aligned runs + failure events → a Runbook: steps, troubleshooting, rollback, prerequisites, environments,
monitoring, access and review policy. Nothing is invented: what has no evidence stays empty and the template
says so."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import date

from runbook_synth.align import KeyIndex
from runbook_synth.catalog import (
    ACCESS_NEEDS,
    CRITICAL_TYPES,
    ENVIRONMENT_NAMES,
    MONITORING_COMMAND,
    TOOL_PREREQUISITES,
)
from runbook_synth.failures import attach_if_failed, failure_count, troubleshooting, with_log_errors
from runbook_synth.models import (
    Alignment,
    CloudWatchEvidence,
    FailureEvent,
    Observation,
    RollbackEvidence,
    RollbackProcedure,
    Runbook,
    Selection,
    Step,
)
from runbook_synth.normalize import PlaceholderNames, template_commands
from runbook_synth.settings import Settings
from runbook_synth.shell import program_of
from runbook_synth.stats import robust_durations
from runbook_synth.steps import build_steps, check_numbers

_PIPE_PARTS = re.compile(r"\|\||&&|\||;")
_DOPPLER = re.compile(r"(?:^|\s)doppler\s+run\b")
_ENV_ASSIGNMENT = re.compile(r"(?:^|\s)(?:ENV|ENVIRONMENT|STAGE)=(\w+)")
_AWS_SERVICE = re.compile(r"(?:^|\s)aws\s+([a-z0-9-]+)\s")


def synthesize(
    selection: Selection,
    alignment: Alignment,
    events: Sequence[FailureEvent],
    rollback: RollbackEvidence | None,
    settings: Settings,
    today: date,
    skipped: Sequence[str] = (),
    logs: CloudWatchEvidence | None = None,
) -> Runbook:
    """The runbook for one (type, scope) from its aligned executions and failure events."""
    names = PlaceholderNames()
    executions = alignment.executions
    steps, step_of_key = build_steps(alignment, settings, names)
    entries = troubleshooting(events, alignment, set(step_of_key), names)
    steps = attach_if_failed(steps, step_of_key, entries)
    entries = with_log_errors(entries, logs)
    warnings: list[str] = []
    trivial = len(steps) <= settings.trivial_steps
    if trivial:
        warnings.append(
            f"The procedure is trivial ({len(steps)} step{'s' if len(steps) != 1 else ''}): "
            "a runbook may not be worth keeping for it."
        )
    if selection.adopted:
        counts = ", ".join(f"{count} {kind}" for kind, count in selection.adopted)
        warnings.append(
            f"No run was recorded as {selection.operation_type}: these runs ({counts}) are taken as it because "
            "you asked for it and nothing else says what they were (no tag, no command most of them ran naming a "
            "type, no agreement in their notes). Tag the notes to be sure."
        )
    if skipped:
        warnings.append(f"{len(skipped)} source file(s) were skipped: " + "; ".join(skipped[:10]))
    used = {source.path for entry, _ in entries for source in entry.sources}
    sources = sorted(
        {obs.path for obs in executions}
        | {f.path for f in selection.failures}
        | {j.path for j in selection.journals}
        | used
    )
    days = [obs.day for obs in executions if obs.day]
    pre_checks, post_checks = check_numbers(steps)
    return Runbook(
        operation_type=selection.operation_type,
        scope=selection.scope,
        generated=today.isoformat(),
        last_validated=max(days).isoformat() if days else "",
        estimated_duration_seconds=estimated_duration(executions, steps),
        sources=tuple(sources),
        steps=tuple(steps),
        troubleshooting=tuple(entry for entry, _ in entries),
        rollback=rollback_procedure(rollback, settings),
        prerequisites=prerequisites(steps),
        environments=environments(executions),
        contexts=contexts(executions),
        monitoring=monitoring(alignment, names),
        warnings=tuple(warnings),
        run_count=len(executions),
        failure_count=failure_count(selection, alignment),
        journal_count=len(selection.journals),
        trivial=trivial,
        owner=settings.owner,
        review_frequency=review_frequency(selection.operation_type, settings),
        pre_checks=pre_checks,
        post_checks=post_checks,
        access=access_needs(steps),
        cloudwatch=logs,
        risk_level=settings.risk_level,
        escalation=settings.escalation,
    )


def rollback_procedure(evidence: RollbackEvidence | None, settings: Settings) -> RollbackProcedure:
    """Steps mined from the undoing runs of the same scope (one run is enough to show it)."""
    if evidence is None or not evidence.alignment.executions:
        return RollbackProcedure()
    executions = evidence.alignment.executions
    steps, _ = build_steps(evidence.alignment, settings, PlaceholderNames())
    return RollbackProcedure(
        steps=tuple(steps),
        sources=tuple(obs.path for obs in executions),
        estimated_duration_seconds=estimated_duration(executions, steps),
        operation_type=evidence.selection.operation_type,
    )


def prerequisites(steps: Sequence[Step]) -> tuple[str, ...]:
    """What must be installed: the catalogued tools that the steps run, in step order."""
    programs: list[str] = []
    for step in steps:
        for command in step.commands:
            if _DOPPLER.search(command):
                programs.append("doppler")
            programs.extend(program_of(part) for part in _PIPE_PARTS.split(command))
    seen = [TOOL_PREREQUISITES[program] for program in programs if program in TOOL_PREREQUISITES]
    return tuple(dict.fromkeys(seen))


def access_needs(steps: Sequence[Step]) -> tuple[str, ...]:
    """The access the steps need: AWS permissions per service called, then other catalogued services."""
    commands = [command for step in steps for command in step.commands]
    services = sorted({service for command in commands for service in _AWS_SERVICE.findall(command + " ")})
    needs = [f"AWS permissions for: {', '.join(services)}"] if services else []
    programs = {program_of(part) for command in commands for part in _PIPE_PARTS.split(command)}
    programs |= {"doppler" for command in commands if _DOPPLER.search(command)}
    needs.extend(need for program, need in ACCESS_NEEDS.items() if program in programs)
    return tuple(needs)


def environments(observations: Sequence[Observation]) -> tuple[str, ...]:
    """Environments the runs touched: frontmatter `environment` and `ENV=` prefixes, by how often."""
    found: Counter[str] = Counter()
    for observation in observations:
        names = {observation.environment} if observation.environment else set()
        for run in observation.commands:
            match = _ENV_ASSIGNMENT.search(run.command)
            if match:
                names.add(match.group(1).lower())
        for name in names:
            found[ENVIRONMENT_NAMES.get(name, name)] += 1
    return tuple(sorted(found, key=lambda name: (-found[name], name)))


def contexts(observations: Sequence[Observation]) -> tuple[str, ...]:
    """What the runs were recorded as (their context lines), most common first."""
    found = Counter(" ".join(obs.context.split()) for obs in observations if obs.context.strip())
    return tuple(sorted(found, key=lambda text: (-found[text], text))[:3])


def monitoring(alignment: Alignment, names: PlaceholderNames) -> tuple[str, ...]:
    """Commands the runs used to watch the system (log tails, metrics, alarms), templated across runs."""
    keys = KeyIndex()
    grouped: dict[int, list[tuple[int, str]]] = {}
    for run in alignment.runs:
        for command in (*run.commands, *run.noise):
            if MONITORING_COMMAND.search(command.command):
                grouped.setdefault(keys.id_of(command.command), []).append((run.run, command.command))
    return tuple(template_commands(grouped[key], names).template for key in sorted(grouped))


def estimated_duration(observations: Sequence[Observation], steps: Sequence[Step]) -> float | None:
    """The median recorded run, when most runs recorded their total; else the sum of step medians."""
    totals = [obs.total_duration_seconds for obs in observations if obs.total_duration_seconds]
    if totals and len(totals) * 2 >= len(observations):
        estimate = robust_durations([float(total) for total in totals])
        return estimate.median if estimate else None
    parts = [
        step.duration_seconds.median * (step.support.runs / max(step.support.of, 1))
        for step in steps
        if step.duration_seconds
    ]
    return round(sum(parts), 1) if parts else None


def review_frequency(operation_type: str, settings: Settings) -> str:
    """Settings win; otherwise operations that page people are reviewed monthly, the rest quarterly."""
    if settings.review_frequency:
        return settings.review_frequency
    return "Monthly" if operation_type in CRITICAL_TYPES else "Quarterly"
