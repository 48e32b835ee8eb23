"""Consensus columns + failures → a Runbook: steps with templates, outputs, durations, verification,
"If Failed" advice, troubleshooting, rollback, prerequisites. Nothing is invented: what has no evidence
stays empty and the template says so.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from runbook_synth.align import (
    Alignment,
    Column,
    KeyIndex,
    PreparedRun,
    align_sequences,
    group_columns,
    most_common_operation,
    prepare_run,
)
from runbook_synth.cluster import Selection, group_by_similarity
from runbook_synth.errors import NotEnoughRunsError
from runbook_synth.models import (
    CommandRun,
    DurationEstimate,
    Observation,
    OperationType,
    RollbackProcedure,
    Runbook,
    SourceKind,
    Step,
    Support,
    TroubleshootingEntry,
)
from runbook_synth.normalize import (
    PlaceholderNames,
    error_key,
    headline,
    mask_text,
    representative_output,
    template_commands,
)
from runbook_synth.settings import Settings
from runbook_synth.shell import program_of, strip_wrappers, words

TOOL_PREREQUISITES = {
    "aws": "AWS CLI v2 configured for the target account",
    "docker": "Docker (daemon running)",
    "terraform": "Terraform CLI",
    "kubectl": "kubectl with the cluster context",
    "helm": "Helm",
    "gh": "GitHub CLI (`gh`) authenticated",
    "doppler": "Doppler CLI configured for the environment",
    "psql": "PostgreSQL client (`psql`)",
    "pg_dump": "PostgreSQL client tools (`pg_dump`)",
    "mysql": "MySQL client",
    "npm": "Node.js and npm",
    "npx": "Node.js and npm",
    "yarn": "Yarn",
    "pnpm": "pnpm",
    "alembic": "Alembic (project virtualenv)",
    "pytest": "Python test environment (`pytest`)",
    "python": "Python",
    "python3": "Python",
    "dr": "Project CLI (`dr`)",
    "jq": "jq",
    "curl": "curl",
    "sam": "AWS SAM CLI",
    "cdk": "AWS CDK",
    "gcloud": "Google Cloud SDK",
    "az": "Azure CLI",
    "redis-cli": "redis-cli",
    "openssl": "OpenSSL",
    "certbot": "certbot",
    "eksctl": "eksctl",
    "argocd": "Argo CD CLI",
    "vault": "Vault CLI",
}
_CHECK_AWS = re.compile(r"^(?:get-|describe-|list-|head-|wait$|tail$|filter-log-events$|lookup-)")
_CHECK_VERBS = {
    "kubectl": {"get", "describe", "rollout", "logs", "top"},
    "terraform": {"plan", "show", "output", "state", "validate"},
    "alembic": {"current", "history", "heads", "check"},
    "gh": {"run", "pr", "api"},
    "docker": {"ps", "images", "inspect", "logs"},
    "systemctl": {"status", "is-active"},
    "helm": {"status", "list", "history"},
}
_MONITOR = re.compile(
    r"logs\s+tail|filter-log-events|get-metric|describe-alarms|kubectl\s+logs|kubectl\s+top|journalctl"
)


@dataclass(frozen=True)
class FailureEvent:
    """One time something went wrong, from a failure note, a journal, or a failed-then-retried command."""

    error: str
    command: str
    day: date | None
    source: str
    kind: str
    cause: str = ""
    solution: tuple[str, ...] = ()
    prevention: str = ""
    title: str = ""
    fixes: tuple[CommandRun, ...] = ()
    run: int = -1
    related: bool = False
    """From another operation type of the same scope: kept only where it touches a step of this one."""


_FILTERS = {"jq", "grep", "egrep", "head", "tail", "sort", "uniq", "wc", "less", "awk", "sed", "cut", "column", "tee"}


def is_check(command: str) -> bool:
    """A read-only command that shows whether something worked (get, describe, wait, curl, status).

    In a pipeline every part must be a check or a text filter: `get-login-password | docker login` is not.
    """
    parts = [part for part in re.split(r"\|\|?|&&|;", command) if part.strip()]
    if len(parts) > 1:
        return _is_single_check(parts[0]) and all(
            program_of(part) in _FILTERS or _is_single_check(part) for part in parts[1:]
        )
    return _is_single_check(command)


def _is_single_check(command: str) -> bool:
    tokens = words(strip_wrappers(command))
    if not tokens:
        return False
    program = tokens[0].rsplit("/", 1)[-1]
    if program == "aws":
        verbs = [token for token in tokens[1:4] if not token.startswith("-")]
        return len(verbs) >= 2 and bool(_CHECK_AWS.match(verbs[1])) and verbs[1] != "get-login-password"
    if program == "curl":
        return not re.search(r"-X\s*(?:POST|PUT|DELETE|PATCH)|--data|-d\s", command)
    if program in ("psql", "mysql"):
        return bool(re.search(r"\b(?:select|show|\\d)\b|\\d", command, re.IGNORECASE)) and not re.search(
            r"\b(?:insert|update|delete|alter|drop|create)\b", command, re.IGNORECASE
        )
    if program in ("dr", "pytest", "npm", "make") and re.search(r"\btest|\bsmoke|\bcheck|\bverify", command):
        return True
    check_verbs = _CHECK_VERBS.get(program)
    return bool(check_verbs and len(tokens) > 1 and tokens[1] in check_verbs)


def robust_durations(values: Sequence[float]) -> DurationEstimate | None:
    """Median and p90 over runs, after dropping outliers (beyond 3 scaled MADs), so one slow run moves neither."""
    data = sorted(value for value in values if value is not None and value >= 0)
    if not data:
        return None
    center = statistics.median(data)
    deviation = statistics.median(abs(value - center) for value in data) * 1.4826
    if len(data) >= 4:
        limit = max(3 * deviation, 0.5 * center)
        kept = [value for value in data if abs(value - center) <= limit] or data
    else:
        kept = data
    median = statistics.median(kept)
    rank = max(0, min(len(kept) - 1, -(-9 * len(kept) // 10) - 1))
    return DurationEstimate(round(median, 1), round(kept[rank], 1))


def _step_title(operation: str, template: str) -> str:
    if operation:
        return operation.rstrip(".")
    tokens = [token for token in words(strip_wrappers(template)) if not token.startswith("-") and "{" not in token]
    program = tokens[0] if tokens else "command"
    if program == "aws" and len(tokens) >= 3:
        return f"{tokens[2].replace('-', ' ').capitalize()} ({tokens[1]})"
    return " ".join(tokens[:3]).capitalize() or "Run command"


@dataclass
class _Context:
    selection: Selection
    settings: Settings
    runs: list[PreparedRun]
    observations: list[Observation]
    alignment: Alignment
    keys: KeyIndex
    names: PlaceholderNames


def _aligned(selection: Selection, settings: Settings) -> _Context:
    """The selection's executions in source order, cleaned and aligned: what every later stage reads."""
    executions = sorted(selection.executions, key=lambda obs: obs.sort_key)
    keys = KeyIndex()
    runs = [prepare_run(index, observation.commands, keys) for index, observation in enumerate(executions)]
    alignment = align_sequences([run for run in runs if run.commands], keys)
    return _Context(selection, settings, runs, executions, alignment, keys, PlaceholderNames())


def _kept_columns(alignment: Alignment, settings: Settings) -> list[tuple[Column, bool]]:
    kept: list[tuple[Column, bool]] = []
    total = max(alignment.run_count, 1)
    for column in alignment.columns:
        share = len(column.runs) / total
        if share < settings.optional_support or (len(column.runs) < 2 and total >= 2):
            continue
        kept.append((column, share < settings.required_support))
    return kept


def _build_steps(context: _Context) -> tuple[list[Step], dict[int, list[int]]]:
    """Steps from kept columns; also which steps each key id belongs to (for If Failed advice)."""
    kept = _kept_columns(context.alignment, context.settings)
    optional_of = {id(column): optional for column, optional in kept}
    groups = group_columns([column for column, _ in kept])
    steps: list[Step] = []
    step_of_key: dict[int, list[int]] = defaultdict(list)
    total = context.alignment.run_count
    for number, group in enumerate(groups, start=1):
        templates: list[str] = []
        parameters: list[str] = []
        for column in group:
            built = template_commands(
                [(member.run, member.command.command) for member in column.members], context.names
            )
            templates.append(built.template)
            parameters.extend(parameter.name for parameter in built.parameters)
            step_of_key[column.key_id].append(number)
        runs = frozenset().union(*(column.runs for column in group))
        durations = _step_durations(group)
        outputs = [member.command.output for member in group[-1].members]
        sources = sorted({str(member.command.provenance) for column in group for member in column.members})
        operation = most_common_operation(group)
        steps.append(
            Step(
                number=number,
                title=_step_title(operation, templates[0]),
                commands=tuple(templates),
                parameters=tuple(dict.fromkeys(parameters)),
                expected_output=representative_output(outputs),
                duration_seconds=robust_durations(durations),
                support=Support(len(runs), total),
                optional=all(optional_of[id(column)] for column in group),
                verification="",
                if_failed=(),
                sources=tuple(sources),
            )
        )
    steps = [
        replace(step, verification=steps[index + 1].commands[0])
        if index + 1 < len(steps)
        and not all(is_check(command) for command in step.commands)
        and is_check(steps[index + 1].commands[0])
        else step
        for index, step in enumerate(steps)
    ]
    return steps, step_of_key


def _step_durations(group: Sequence[Column]) -> list[float]:
    per_run: dict[int, float] = defaultdict(float)
    missing: set[int] = set()
    for column in group:
        for member in column.members:
            if member.command.duration_seconds is None:
                missing.add(member.run)
            else:
                per_run[member.run] += member.command.duration_seconds
    return [value for run, value in sorted(per_run.items()) if run not in missing]


def _failure_events(context: _Context, journals: Sequence[Observation]) -> list[FailureEvent]:
    events: list[FailureEvent] = []
    related = context.selection.related_failures
    failures = [(f, False) for f in context.selection.failures]
    failures += [(f, True) for f in related if f.kind != SourceKind.JOURNAL]
    for failure, is_related in failures:
        error = failure.error_messages[0] if failure.error_messages else failure.symptoms
        if error.strip():
            events.append(
                FailureEvent(
                    error,
                    failure.failed_command,
                    failure.day,
                    failure.path,
                    "failure",
                    title=failure.title,
                    related=is_related,
                )
            )
    for run in context.runs:
        observation = context.observations[run.run]
        for episode in run.episodes:
            events.append(
                FailureEvent(
                    episode.failed.output or f"`{episode.failed.command}` failed (exit {episode.failed.exit_code})",
                    episode.failed.command,
                    observation.day,
                    str(episode.failed.provenance),
                    "retry",
                    fixes=episode.fixes,
                    run=run.run,
                )
            )
    tagged = [(journal, False) for journal in journals]
    tagged += [(journal, True) for journal in related if journal.kind == SourceKind.JOURNAL]
    for journal, is_related in tagged:
        if journal.category != "error" and not journal.root_cause:
            continue
        error = journal.error_messages[0] if journal.error_messages else (journal.symptoms or journal.title)
        events.append(
            FailureEvent(
                error,
                "",
                journal.day,
                journal.path,
                "journal",
                cause=journal.root_cause,
                solution=journal.solution_commands,
                prevention=journal.prevention,
                title=journal.title,
                related=is_related,
            )
        )
    return events


def _fix_commands(events: Sequence[FailureEvent], names: PlaceholderNames) -> tuple[str, ...]:
    """The fix commands most retry episodes ran, templated across them, then "re-run the command"."""
    with_fixes = [event for event in events if event.kind == "retry"]
    if not with_fixes:
        return ()
    keys = KeyIndex()
    sequences = Counter(tuple(keys.id_of(fix.command) for fix in event.fixes) for event in with_fixes)
    best = max(sorted(sequences), key=lambda sequence: sequences[sequence])
    chosen = [event for event in with_fixes if tuple(keys.id_of(fix.command) for fix in event.fixes) == best]
    commands: list[str] = []
    for position in range(len(best)):
        built = template_commands([(event.run, event.fixes[position].command) for event in chosen], names)
        commands.append(built.template)
    retry = template_commands([(event.run, event.command) for event in chosen], names).template
    return (*commands, retry)


def _troubleshooting(
    context: _Context, events: list[FailureEvent], step_keys: set[int]
) -> list[tuple[TroubleshootingEntry, set[int]]]:
    """Entries grouped by templated error, most frequent first; with the key ids of commands that failed.

    A group made only of failures from other operation types is kept only when one struck a step's command.
    """
    keyed = [(error_key(event.error), event) for event in events if event.error.strip()]
    assignment = group_by_similarity([key for key, _ in keyed])
    groups: dict[int, list[FailureEvent]] = defaultdict(list)
    for (_, event), group in zip(keyed, assignment, strict=True):
        groups[group].append(event)
    entries: list[tuple[TroubleshootingEntry, set[int]]] = []
    for members in groups.values():
        if all(event.related for event in members) and not any(
            event.command and context.keys.id_of(event.command) in step_keys for event in members
        ):
            continue
        journals = [event for event in members if event.kind == "journal"]
        occurrences = [event for event in members if event.kind != "journal"] or journals
        symptoms = tuple(dict.fromkeys(mask_text(headline(event.error)) for event in members if headline(event.error)))
        # This operation's own journal first, then what the runs did to recover, then a related journal.
        journals.sort(key=lambda event: (not event.related, event.day or date.min, event.source))
        journal = journals[-1] if journals else None
        observed_fix = _fix_commands(members, context.names)
        if journal and journal.solution and not (journal.related and observed_fix):
            solution = journal.solution
        else:
            solution = observed_fix
        days = [event.day for event in members if event.day]
        title = (journal.title if journal and journal.title else "") or _title_from_error(
            symptoms[0] if symptoms else ""
        )
        key_ids = {context.keys.id_of(event.command) for event in members if event.command}
        entries.append(
            (
                TroubleshootingEntry(
                    title=title,
                    symptoms=symptoms[:3],
                    cause=journal.cause if journal else "",
                    solution=solution,
                    prevention=journal.prevention if journal else "",
                    occurrences=len(occurrences),
                    last_seen=max(days).isoformat() if days else "",
                    sources=tuple(sorted({event.source for event in members})),
                ),
                key_ids,
            )
        )
    entries.sort(key=lambda item: (-item[0].occurrences, item[0].title))
    return entries


def _title_from_error(symptom: str) -> str:
    text = re.sub(r"^(?:error|fatal|exception)\s*[:\-]\s*", "", symptom.strip(), flags=re.IGNORECASE)
    text = re.sub(r"^An error occurred \((\w+)\) when calling the (\w+) operation.*", r"\1 on \2", text)
    return (text[:77] + "...") if len(text) > 80 else text or "Unrecognized failure"


def _attach_if_failed(
    steps: list[Step], step_of_key: dict[int, list[int]], entries: list[tuple[TroubleshootingEntry, set[int]]]
) -> list[Step]:
    advice: dict[int, list[str]] = defaultdict(list)
    for entry, key_ids in entries:
        for key_id in sorted(key_ids):
            for number in step_of_key.get(key_id, []):
                line = f"Check: {entry.symptoms[0] if entry.symptoms else entry.title}"
                fix = f" (see Troubleshooting: {entry.title}; seen {entry.occurrences}x)"
                advice[number].append(line + fix)
    return [replace(step, if_failed=tuple(dict.fromkeys(advice.get(step.number, [])))) for step in steps]


def _prerequisites(observations: Sequence[Observation], steps: Sequence[Step]) -> tuple[str, ...]:
    programs: list[str] = []
    for step in steps:
        for command in step.commands:
            if re.search(r"(?:^|\s)doppler\s+run\b", command):
                programs.append("doppler")
            for part in re.split(r"\|\||&&|\||;", command):
                programs.append(program_of(part))
    seen = [TOOL_PREREQUISITES[program] for program in programs if program in TOOL_PREREQUISITES]
    return tuple(dict.fromkeys(seen))


_ENVIRONMENT_NAMES = {
    "prod": "production",
    "prd": "production",
    "stg": "staging",
    "stage": "staging",
    "dev": "development",
    "develop": "development",
}


def _environments(observations: Sequence[Observation]) -> tuple[str, ...]:
    """Environments the runs touched: frontmatter `environment` and `ENV=` prefixes, by how often."""
    found: Counter[str] = Counter()
    for observation in observations:
        names = {observation.environment} if observation.environment else set()
        for run in observation.commands:
            match = re.search(r"(?:^|\s)(?:ENV|ENVIRONMENT|STAGE)=(\w+)", run.command)
            if match:
                names.add(match.group(1).lower())
        for name in names:
            found[_ENVIRONMENT_NAMES.get(name, name)] += 1
    return tuple(sorted(found, key=lambda name: (-found[name], name)))


def _contexts(observations: Sequence[Observation]) -> tuple[str, ...]:
    """What the runs were recorded as (their context lines), most common first."""
    found = Counter(" ".join(obs.context.split()) for obs in observations if obs.context.strip())
    return tuple(sorted(found, key=lambda text: (-found[text], text))[:3])


def _monitoring(context: _Context) -> tuple[str, ...]:
    found: list[tuple[int, str]] = []
    for run in context.runs:
        for command in (*run.commands, *run.noise):
            if _MONITOR.search(command.command):
                found.append((run.run, command.command))
    if not found:
        return ()
    keys = KeyIndex()
    grouped: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for run_index, text in found:
        grouped[keys.id_of(text)].append((run_index, text))
    return tuple(template_commands(grouped[key], context.names).template for key in sorted(grouped))


def _estimated_duration(observations: Sequence[Observation], steps: Sequence[Step]) -> float | None:
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


def not_enough_runs_message(selection: Selection, min_runs: int) -> str:
    scope = f" {selection.scope}" if selection.scope else ""
    found = len(selection.executions)
    noun = "execution" if found == 1 else "executions"
    message = f"found {found} recorded {noun} of {selection.operation_type}{scope}"
    if selection.executions:
        message += " (" + ", ".join(obs.path for obs in selection.executions[:3]) + ")"
    message += f"; a runbook needs at least {min_runs} (--min-runs) to find a pattern."
    if selection.other_types:
        others = ", ".join(f"{count} {name}" for name, count in selection.other_types)
        message += f" Matching executions of other types: {others}."
    message += " Record more runs with `/observe execution` and try again, or see `runbook list`."
    return message


def synthesize(
    selection: Selection,
    rollback_selection: Selection | None,
    settings: Settings,
    today: date,
    skipped: Sequence[str] = (),
) -> Runbook:
    """The runbook for one (type, scope) from its selected observations."""
    if len(selection.executions) < settings.min_runs:
        raise NotEnoughRunsError(not_enough_runs_message(selection, settings.min_runs))
    context = _aligned(selection, settings)
    executions, runs = context.observations, context.runs
    steps, step_of_key = _build_steps(context)
    events = _failure_events(context, selection.journals)
    entries = _troubleshooting(context, events, set(step_of_key))
    steps = _attach_if_failed(steps, step_of_key, entries)
    warnings: list[str] = []
    trivial = len(steps) <= 2
    if trivial:
        warnings.append(
            f"The procedure is trivial ({len(steps)} step{'s' if len(steps) != 1 else ''}): "
            "a runbook may not be worth keeping for it."
        )
    if skipped:
        warnings.append(f"{len(skipped)} source file(s) were skipped: " + "; ".join(skipped[:10]))
    used = {source.split(":", 1)[0] for entry, _ in entries for source in entry.sources}
    journal_paths = [journal.path for journal in selection.journals]
    sources = sorted(
        {obs.path for obs in executions} | {f.path for f in selection.failures} | set(journal_paths) | used
    )
    rollback = _rollback(rollback_selection, settings)
    days = [obs.day for obs in executions if obs.day]
    return Runbook(
        operation_type=selection.operation_type,
        scope=selection.scope,
        generated=today.isoformat(),
        last_validated=max(days).isoformat() if days else "",
        estimated_duration_seconds=_estimated_duration(executions, steps),
        sources=tuple(sources),
        steps=tuple(steps),
        troubleshooting=tuple(entry for entry, _ in entries),
        rollback=rollback,
        prerequisites=_prerequisites(executions, steps),
        environments=_environments(executions),
        contexts=_contexts(executions),
        monitoring=_monitoring(context),
        warnings=tuple(warnings),
        run_count=len(executions),
        failure_count=len(selection.failures) + sum(len(run.episodes) for run in runs),
        journal_count=len(selection.journals),
        trivial=trivial,
    )


def _rollback(selection: Selection | None, settings: Settings) -> RollbackProcedure:
    """Rollback steps mined from rollback runs of the same scope (one run is enough to show it)."""
    if selection is None or not selection.executions:
        return RollbackProcedure()
    context = _aligned(selection, settings)
    steps, _ = _build_steps(context)
    return RollbackProcedure(
        steps=tuple(steps),
        sources=tuple(obs.path for obs in context.observations),
        estimated_duration_seconds=_estimated_duration(context.observations, steps),
    )


def review_frequency(operation_type: str, settings: Settings) -> str:
    if settings.review_frequency:
        return settings.review_frequency
    critical = {
        OperationType.DEPLOYMENT.value,
        OperationType.INCIDENT_RESPONSE.value,
        OperationType.ROLLBACK.value,
    }
    return "Monthly" if operation_type in critical else "Quarterly"
