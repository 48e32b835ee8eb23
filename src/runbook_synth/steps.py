"""Consensus columns → numbered steps: templates, parameters, expected output, durations, support, role, and
the check step that verifies each change."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from runbook_synth.align import group_columns, most_common_operation
from runbook_synth.models import Alignment, Column, Provenance, Step, StepRole, Support
from runbook_synth.normalize import PlaceholderNames, command_key, representative_output, template_commands
from runbook_synth.roles import role_of
from runbook_synth.settings import Settings
from runbook_synth.shell import strip_wrappers, words
from runbook_synth.stats import robust_durations

StepsOfKey = dict[int, list[int]]
"""Command key id → numbers of the steps that run it (for "If Failed" advice)."""


def kept_columns(alignment: Alignment, settings: Settings) -> list[tuple[Column, bool]]:
    """Columns seen often enough to be steps, each with whether it is optional."""
    kept: list[tuple[Column, bool]] = []
    total = max(alignment.run_count, 1)
    for column in alignment.columns:
        share = len(column.runs) / total
        if share < settings.optional_support or (len(column.runs) < settings.min_step_runs and total >= 2):
            continue
        kept.append((column, share < settings.required_support))
    return kept


def build_steps(alignment: Alignment, settings: Settings, names: PlaceholderNames) -> tuple[list[Step], StepsOfKey]:
    """Steps from kept columns, with roles and verification; also which steps each key id belongs to."""
    kept = kept_columns(alignment, settings)
    optional_of = {id(column): optional for column, optional in kept}
    groups = group_columns([column for column, _ in kept])
    steps: list[Step] = []
    step_of_key: StepsOfKey = defaultdict(list)
    total = alignment.run_count
    id_of_key = {key: key_id for key_id, key in enumerate(alignment.keys)}
    for number, group in enumerate(groups, start=1):
        templates: list[str] = []
        parameters: list[str] = []
        for column in group:
            built = template_commands([(member.run, member.command.command) for member in column.members], names)
            templates.append(built.template)
            parameters.extend(parameter.name for parameter in built.parameters)
            # A column merged from several values of one command holds several keys: each is this step's.
            member_ids = {id_of_key.get(command_key(member.command.command)) for member in column.members}
            for key_id in sorted({column.key_id} | {key_id for key_id in member_ids if key_id is not None}):
                step_of_key[key_id].append(number)
        runs = frozenset().union(*(column.runs for column in group))
        outputs = [member.command.output for member in group[-1].members]
        sources = sorted({member.command.provenance for column in group for member in column.members})
        commands = tuple(templates)
        steps.append(
            Step(
                number=number,
                title=step_title(most_common_operation(group), templates[0]),
                commands=commands,
                parameters=tuple(dict.fromkeys(parameters)),
                expected_output=representative_output(outputs),
                duration_seconds=robust_durations(_step_durations(group)),
                support=Support(len(runs), total),
                optional=all(optional_of[id(column)] for column in group),
                verification="",
                if_failed=(),
                sources=tuple(sources),
                role=role_of(commands),
                command_support=tuple(Support(len(column.runs), total) for column in group),
            )
        )
    return _with_verification(steps), step_of_key


def _with_verification(steps: list[Step]) -> list[Step]:
    """A change followed by a check step is verified by it."""
    verified: list[Step] = []
    for index, step in enumerate(steps):
        following = steps[index + 1] if index + 1 < len(steps) else None
        if step.role == StepRole.CHANGE and following is not None and following.role == StepRole.CHECK:
            step = replace(step, verification=following.commands[0], verified_by=following.number)
        verified.append(step)
    return verified


def step_title(operation: str, template: str) -> str:
    """The note's own words for the step, else a title made from the command's words."""
    if operation:
        return operation.rstrip(".")
    tokens = [token for token in words(strip_wrappers(template)) if not token.startswith("-") and "{" not in token]
    program = tokens[0] if tokens else "command"
    if program == "aws" and len(tokens) >= 3:
        return f"{tokens[2].replace('-', ' ').capitalize()} ({tokens[1]})"
    return " ".join(tokens[:3]).capitalize() or "Run command"


def _step_durations(group: Sequence[Column]) -> list[float]:
    """Per run, the sum of the step's commands' durations; runs missing any duration are left out."""
    per_run: dict[int, float] = defaultdict(float)
    missing: set[int] = set()
    for column in group:
        for member in column.members:
            if member.command.duration_seconds is None:
                missing.add(member.run)
            else:
                per_run[member.run] += member.command.duration_seconds
    return [value for run, value in sorted(per_run.items()) if run not in missing]


def check_numbers(steps: Sequence[Step]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Pre-checks (check steps before the first change) and post-checks (after the last change)."""
    changes = [step.number for step in steps if step.role == StepRole.CHANGE]
    if not changes:
        return (), ()
    pre = tuple(step.number for step in steps if step.number < changes[0])
    post = tuple(step.number for step in steps if step.number > changes[-1])
    return pre, post


def step_sources(steps: Sequence[Step]) -> set[Provenance]:
    return {source for step in steps for source in step.sources}
