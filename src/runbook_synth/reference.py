"""The README's reference tables, generated from the code (typer parameters, settings fields, model
dataclasses) so the manual cannot drift from the program. `make docs` rewrites them with cogapp;
`make test` fails when they are stale."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from runbook_synth import models
from runbook_synth.settings import RANGES, Settings, documented_keys

JSON_FIELD_DOCS: dict[str, str] = {
    "Runbook.operation_type": "what the runbook is for: the operation type",
    "Runbook.scope": "the component or free-text symptom",
    "Runbook.generated": "generation date",
    "Runbook.last_validated": "date of the newest matching observation",
    "Runbook.estimated_duration_seconds": "median recorded run total (or the sum of step medians)",
    "Runbook.sources": "every file used",
    "Runbook.steps": "the procedure (see Step)",
    "Runbook.troubleshooting": "failures grouped by templated error (see TroubleshootingEntry)",
    "Runbook.rollback": "steps mined from the runs that undo this operation (see RollbackProcedure)",
    "Runbook.prerequisites": "tools the steps need installed",
    "Runbook.environments": "environments the runs touched, most frequent first",
    "Runbook.contexts": "what the runs were recorded as (their context lines), most common first",
    "Runbook.monitoring": "commands the runs used to watch the system",
    "Runbook.warnings": "skipped files, trivial procedures",
    "Runbook.run_count": "executions mined",
    "Runbook.failure_count": "failure notes plus retried failures in the runs",
    "Runbook.journal_count": "journals of this pattern",
    "Runbook.trivial": "the procedure has `trivial_steps` steps or fewer",
    "Runbook.owner": "the `owner` setting",
    "Runbook.review_frequency": "the `review_frequency` setting, or Monthly/Quarterly by type",
    "Runbook.pre_checks": "numbers of the check steps before the first change",
    "Runbook.post_checks": "numbers of the check steps after the last change",
    "Runbook.access": "access the steps need (AWS services, GitHub, Doppler)",
    "Runbook.risk_level": "the `risk_level` setting; empty when not assessed",
    "Runbook.escalation": "the `escalation` setting",
    "Runbook.cloudwatch": "CloudWatch evidence (invocations, alarms, rollback_triggers, error_groups, with their "
    "log group, window and event count), or null when nothing was ingested",
    "Step.number": "1-based position",
    "Step.title": "the notes' own words for the step, else made from the command",
    "Step.commands": "command templates, placeholders in braces",
    "Step.parameters": "placeholder names used in the commands",
    "Step.expected_output": "the output most runs showed; only what varied is masked",
    "Step.duration_seconds": "`median` and `p90` over runs, outliers trimmed",
    "Step.support": "`runs` that did the step `of` all runs",
    "Step.optional": "done in fewer than `required_support` of the runs",
    "Step.verification": "the command of the check step that verifies this one",
    "Step.if_failed": "advice pointing to troubleshooting entries that struck this step",
    "Step.sources": "`file:line` of every recorded instance",
    "Step.role": "`check` (read-only) or `change`",
    "Step.verified_by": "number of the check step that verifies this one, or null",
    "Step.command_support": "support of each command of `commands`, in order",
    "TroubleshootingEntry.title": "what went wrong",
    "TroubleshootingEntry.symptoms": "templated error lines",
    "TroubleshootingEntry.cause": "root cause from a journal or failure note",
    "TroubleshootingEntry.solution": "fix commands: recorded, or what the runs did to recover",
    "TroubleshootingEntry.prevention": "how to avoid it",
    "TroubleshootingEntry.occurrences": "how many times it happened",
    "TroubleshootingEntry.last_seen": "date of the newest occurrence",
    "TroubleshootingEntry.sources": "the failure notes, journals and retry lines it was mined from",
    "RollbackProcedure.steps": "steps, same shape as the procedure's",
    "RollbackProcedure.sources": "the undoing runs",
    "RollbackProcedure.estimated_duration_seconds": "median total of the undoing runs",
    "RollbackProcedure.operation_type": "`rollback`, or `deployment` (roll forward) for a rollback runbook",
    "DurationEstimate.median": "seconds",
    "DurationEstimate.p90": "seconds",
    "Support.runs": "runs that did it",
    "Support.of": "all runs",
}
"""What each JSON field means; `json_fields_table` refuses a field that is missing here."""

_JSON_RECORDS = (
    models.Runbook,
    models.Step,
    models.TroubleshootingEntry,
    models.RollbackProcedure,
    models.DurationEstimate,
    models.Support,
)


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is tuple:
        inner = typing.get_args(annotation)[0]
        return f"list of {_type_name(inner)}"
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(arg) for arg in typing.get_args(annotation) if arg is not type(None)]
        return " or ".join(names) + " or null"
    if isinstance(annotation, type) and issubclass(annotation, str):
        return "string"
    if annotation is bool:
        return "boolean"
    if annotation in (int, float):
        return "number"
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return f"{annotation.__name__} object"
    return getattr(annotation, "__name__", str(annotation))


def json_fields_table() -> str:
    rows = ["| field | type | meaning |", "|---|---|---|"]
    for record in _JSON_RECORDS:
        hints = typing.get_type_hints(record)
        for item in dataclasses.fields(record):
            key = f"{record.__name__}.{item.name}"
            if key not in JSON_FIELD_DOCS:
                raise KeyError(f"JSON field {key} has no documentation in reference.JSON_FIELD_DOCS")
            kind = _type_name(hints[item.name]).replace("Provenance", "`file:line` string")
            kind = kind.replace("list of `file:line` string object", "list of `file:line` strings")
            rows.append(f"| `{key}` | {kind} | {JSON_FIELD_DOCS[key]} |")
    return "\n".join(rows)


def settings_table() -> str:
    defaults = Settings()
    rows = ["| key | default | range | meaning |", "|---|---|---|---|"]
    for name, doc in documented_keys().items():
        value = getattr(defaults, name)
        shown = '""' if value == "" else ("{}" if value == () and "patterns" in name else repr(value))
        shown = "[]" if value == () and "patterns" not in name else shown
        low_high = RANGES.get(name)
        span = f"{low_high[0]:g} to {low_high[1]:g}" if low_high else ""
        rows.append(f"| `{name}` | {shown} | {span} | {doc} |")
    return "\n".join(rows)


def options_table(command: str) -> str:
    """The options of one CLI command, as typer declares them (help text and default)."""
    import typer.main

    from runbook_synth.cli import app

    found: Any = typer.main.get_command(app)
    for word in command.split():
        found = found.commands[word]
    rows = ["| option | meaning | default |", "|---|---|---|"]
    for parameter in found.params:
        if parameter.param_type_name != "option" or parameter.name == "help":
            continue
        names = ", ".join(f"`{name}`" for name in parameter.opts + parameter.secondary_opts)
        default = parameter.default
        shown = "" if default in (None, False) else f"`{getattr(default, 'value', default)}`"
        help_text = (parameter.help or "").replace("|", "\\|").replace("<", "&lt;")
        rows.append(f"| {names} | {help_text} | {shown} |")
    return "\n".join(rows)
