"""Runbook drift: what changed between two runbooks, said semantically (steps, commands, support, durations,
troubleshooting, sources), each change with its evidence (the files and lines behind it).

Comparisons read runbook JSON (the twins in `runbooks/.data/`), never markdown, so a user template cannot
change what counts as drift. Steps are matched by their command skeleton, not by number or title: adding a
step renumbers the rest, and titles come from free-text notes.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from runbook_synth.align import skeleton
from runbook_synth.errors import RunbookSynthError
from runbook_synth.library import (
    DATA_FOLDER,
    choose_patterns,
    library_folder,
    library_twins,
    mine_corpus,
    mine_runbook,
    read_twin,
    render_named,
    review,
    runbook_name,
    twins_in,
)
from runbook_synth.normalize import command_key
from runbook_synth.render import format_duration, to_json_dict
from runbook_synth.settings import Settings

DURATION_TOLERANCE = 0.20
"""A step duration (median or p90) that moved by more than this share is drift; less is noise."""
DURATION_FLOOR_SECONDS = 5.0
"""... and by at least this many seconds: a 2 s step taking 3 s is not news."""
DRIFT_TEMPLATE = "drift-report.md.j2"
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


class ChangeKind(enum.StrEnum):
    RUNBOOK_ADDED = "runbook added"
    RUNBOOK_REMOVED = "runbook removed"
    STEP_ADDED = "step added"
    STEP_REMOVED = "step removed"
    STEP_REORDERED = "step reordered"
    COMMAND_CHANGED = "command changed"
    PARAMETERS_CHANGED = "parameters changed"
    SUPPORT_FELL = "support fell"
    SUPPORT_ROSE = "support rose"
    DURATION_MOVED = "duration moved"
    TROUBLESHOOTING_APPEARED = "troubleshooting appeared"
    TROUBLESHOOTING_RECURRED = "troubleshooting recurred"
    TROUBLESHOOTING_QUIET = "troubleshooting went quiet"
    SOURCES_ADDED = "sources added"
    SOURCES_REMOVED = "sources removed"
    STALE = "stale"


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    subject: str
    """What changed: `Step 5: Push image to ECR`, a troubleshooting title, `sources`."""
    detail: str
    evidence: tuple[str, ...] = ()
    """`file:line` (or `file`) strings behind the change: new lines for what appeared, old for what went."""


@dataclass(frozen=True)
class RunbookDrift:
    name: str
    operation_type: str
    scope: str
    runs_before: int
    runs_after: int
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class DriftReport:
    runbooks: tuple[RunbookDrift, ...]
    """Only runbooks with at least one change, by name."""
    compared: int
    """How many runbooks were compared, changed or not."""

    @property
    def has_drift(self) -> bool:
        return any(item.changes for item in self.runbooks)

    @property
    def change_count(self) -> int:
        return sum(len(item.changes) for item in self.runbooks)


# --- one runbook against another ------------------------------------------------------------------------------------


def command_skeleton(template: str) -> str:
    """A command template with placeholders and masked shapes folded: what makes two commands the same step."""
    return command_key(_PLACEHOLDER.sub("<p>", template))


def _step_key(step: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(command_skeleton(str(command)) for command in step.get("commands", []))


def _step_head(step: Mapping[str, Any]) -> str:
    commands = step.get("commands", [])
    return " ".join(skeleton(command_skeleton(str(commands[0])))) if commands else ""


def _subject(step: Mapping[str, Any]) -> str:
    return f"Step {step.get('number', '?')}: {' '.join(str(step.get('title', '')).split())}"


def _support(step: Mapping[str, Any]) -> tuple[int, int]:
    support = step.get("support") or {}
    return int(support.get("runs", 0)), int(support.get("of", 0))


def _support_text(step: Mapping[str, Any]) -> str:
    runs, of = _support(step)
    return f"seen in {runs} of {of} runs" + (" (optional)" if step.get("optional") else "")


def _sources(item: Mapping[str, Any]) -> list[str]:
    return [str(source) for source in item.get("sources", [])]


def _new_evidence(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    """The lines behind the new version that the old one did not have (all of them, if none is new)."""
    before = set(_sources(old))
    fresh = [source for source in _sources(new) if source not in before]
    return tuple(fresh or _sources(new))


def match_steps(
    old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """(old index, new index) pairs, then unmatched old and unmatched new indexes.

    Exact skeletons first, in order (a check done before and after stays two steps); then the same program
    and subcommand (`docker push`), which is a command whose template changed.
    """
    pairs: list[tuple[int, int]] = []
    free_old = list(range(len(old)))
    free_new: list[int] = []
    for j, step in enumerate(new):
        key = _step_key(step)
        hit = next((i for i in free_old if _step_key(old[i]) == key), None)
        if hit is None:
            free_new.append(j)
        else:
            free_old.remove(hit)
            pairs.append((hit, j))
    still_new: list[int] = []
    for j in free_new:
        head = _step_head(new[j])
        hit = next((i for i in free_old if head and _step_head(old[i]) == head), None)
        if hit is None:
            still_new.append(j)
        else:
            free_old.remove(hit)
            pairs.append((hit, j))
    return sorted(pairs), free_old, still_new


def in_order(sequence: Sequence[int]) -> set[int]:
    """Positions of a longest increasing subsequence: the items kept in their relative order."""
    chains: list[list[int]] = []
    for position, value in enumerate(sequence):
        best: list[int] = []
        for chain in chains:
            if sequence[chain[-1]] < value and len(chain) > len(best):
                best = chain
        chains.append([*best, position])
    longest: list[int] = []
    for chain in chains:
        if len(chain) > len(longest):
            longest = chain
    return set(longest)


def _moved(pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
    """Pairs outside a longest run in the same relative order: the steps that were moved."""
    kept = in_order([j for _, j in pairs])
    return {pair for position, pair in enumerate(pairs) if position not in kept}


def _step_changes(old: Mapping[str, Any], new: Mapping[str, Any], moved: bool) -> list[Change]:
    subject = _subject(new)
    changes: list[Change] = []
    evidence = _new_evidence(old, new)
    if moved:
        changes.append(
            Change(
                ChangeKind.STEP_REORDERED, subject, f"now step {new.get('number')} (was {old.get('number')})", evidence
            )
        )
    old_commands, new_commands = list(old.get("commands", [])), list(new.get("commands", []))
    if old_commands != new_commands:
        kind = ChangeKind.COMMAND_CHANGED
        if _step_key(old) == _step_key(new):
            kind = ChangeKind.PARAMETERS_CHANGED  # only masked values (numbers, ids, ...) differ
        before, after = "; ".join(map(str, old_commands)), "; ".join(map(str, new_commands))
        changes.append(Change(kind, subject, f"`{before}` → `{after}`", evidence))
    old_parameters, new_parameters = set(old.get("parameters", [])), set(new.get("parameters", []))
    if old_parameters != new_parameters and old_commands == new_commands:
        changes.append(
            Change(ChangeKind.PARAMETERS_CHANGED, subject, _parameter_text(old_parameters, new_parameters), evidence)
        )
    if bool(old.get("optional")) != bool(new.get("optional")):
        kind = ChangeKind.SUPPORT_FELL if new.get("optional") else ChangeKind.SUPPORT_ROSE
        word = "now optional" if new.get("optional") else "now required"
        changes.append(Change(kind, subject, f"{word}: {_support_text(new)} (was {_support_text(old)})", evidence))
    changes.extend(_duration_changes(subject, old.get("duration_seconds"), new.get("duration_seconds"), evidence))
    return changes


def _parameter_text(old: set[str], new: set[str]) -> str:
    parts = []
    if new - old:
        parts.append("now takes " + ", ".join(f"{{{name}}}" for name in sorted(new - old)))
    if old - new:
        parts.append("no longer takes " + ", ".join(f"{{{name}}}" for name in sorted(old - new)))
    return "; ".join(parts)


def _duration_changes(subject: str, old: Any, new: Any, evidence: tuple[str, ...]) -> list[Change]:
    """One change naming every measure (median, p90) that moved by more than the tolerance and the floor."""
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return []
    moves: list[str] = []
    for measure in ("median", "p90"):
        before, after = old.get(measure), new.get(measure)
        if not isinstance(before, int | float) or not isinstance(after, int | float) or before <= 0:
            continue
        share = (after - before) / before
        if abs(share) > DURATION_TOLERANCE and abs(after - before) >= DURATION_FLOOR_SECONDS:
            moves.append(f"{measure} {format_duration(before)} → {format_duration(after)} ({share:+.0%})")
    return [Change(ChangeKind.DURATION_MOVED, subject, "; ".join(moves), evidence)] if moves else []


def _entry_key(entry: Mapping[str, Any]) -> str:
    symptoms = entry.get("symptoms") or [""]
    return " ".join(str(entry.get("title") or symptoms[0]).lower().split())


def _troubleshooting_changes(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list[Change]:
    before = {_entry_key(entry): entry for entry in old}
    after = {_entry_key(entry): entry for entry in new}
    changes: list[Change] = []
    for key, entry in after.items():
        title = " ".join(str(entry.get("title", "")).split())
        if key not in before:
            detail = f"new failure, seen {entry.get('occurrences', 0)}x (last {entry.get('last_seen') or 'undated'})"
            changes.append(Change(ChangeKind.TROUBLESHOOTING_APPEARED, title, detail, tuple(_sources(entry))))
        elif int(entry.get("occurrences", 0)) > int(before[key].get("occurrences", 0)):
            detail = f"seen {entry.get('occurrences')}x (was {before[key].get('occurrences')}x)"
            changes.append(
                Change(ChangeKind.TROUBLESHOOTING_RECURRED, title, detail, _new_evidence(before[key], entry))
            )
    for key, entry in before.items():
        if key not in after:
            title = " ".join(str(entry.get("title", "")).split())
            detail = f"no longer in the sources (last seen {entry.get('last_seen') or 'undated'})"
            changes.append(Change(ChangeKind.TROUBLESHOOTING_QUIET, title, detail, tuple(_sources(entry))))
    return changes


def _all_sources(runbook: Mapping[str, Any]) -> set[str]:
    rollback = runbook.get("rollback") or {}
    return {*map(str, runbook.get("sources", [])), *map(str, rollback.get("sources", []))}


def runbook_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[Change, ...]:
    """Every semantic change from one runbook JSON dict to another (the generation date never counts)."""
    old_steps, new_steps = list(old.get("steps", [])), list(new.get("steps", []))
    pairs, removed, added = match_steps(old_steps, new_steps)
    moved = _moved(pairs)
    changes: list[Change] = []
    for j in added:
        step = new_steps[j]
        changes.append(Change(ChangeKind.STEP_ADDED, _subject(step), _support_text(step), tuple(_sources(step))))
    for i in removed:
        step = old_steps[i]
        detail = f"no longer recurs in the sources (was {_support_text(step)})"
        changes.append(Change(ChangeKind.STEP_REMOVED, _subject(step), detail, tuple(_sources(step))))
    for i, j in pairs:
        changes.extend(_step_changes(old_steps[i], new_steps[j], (i, j) in moved))
    changes.extend(_troubleshooting_changes(old.get("troubleshooting", []), new.get("troubleshooting", [])))
    gained = sorted(_all_sources(new) - _all_sources(old))
    lost = sorted(_all_sources(old) - _all_sources(new))
    if gained:
        changes.append(Change(ChangeKind.SOURCES_ADDED, "sources", f"{len(gained)} new file(s) mined", tuple(gained)))
    if lost:
        changes.append(
            Change(ChangeKind.SOURCES_REMOVED, "sources", f"{len(lost)} file(s) no longer used", tuple(lost))
        )
    return tuple(changes)


def _drift(
    name: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, changes: Sequence[Change]
) -> RunbookDrift:
    either = new or old or {}
    return RunbookDrift(
        name,
        str(either.get("operation_type", "")),
        str(either.get("scope", "")),
        int((old or {}).get("run_count", 0)),
        int((new or {}).get("run_count", 0)),
        tuple(changes),
    )


def diff_runbooks(old: Mapping[str, Any], new: Mapping[str, Any], name: str = "") -> DriftReport:
    """Two runbook JSON dicts (as `--format json` writes them), compared semantically."""
    label = name or runbook_name(str(new.get("operation_type", "runbook")), str(new.get("scope", "")))
    changes = runbook_changes(old, new)
    return DriftReport((_drift(label, old, new, changes),) if changes else (), 1)


def _added(name: str, new: Mapping[str, Any]) -> RunbookDrift:
    steps = len(new.get("steps", []))
    detail = f"new runbook: {steps} steps from {new.get('run_count', 0)} runs"
    change = Change(ChangeKind.RUNBOOK_ADDED, name, detail, tuple(sorted(_all_sources(new))))
    return _drift(name, None, new, [change])


def _removed(name: str, old: Mapping[str, Any], why: str) -> RunbookDrift:
    return _drift(name, old, None, [Change(ChangeKind.RUNBOOK_REMOVED, name, why, ())])


def diff_twins(
    old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]], today: date | None = None
) -> DriftReport:
    """Two libraries (name → runbook JSON) compared; with today, runbooks past their review date are drift."""
    found: list[RunbookDrift] = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            found.append(_added(name, new[name]))
            continue
        if name not in new:
            found.append(_removed(name, old[name], "no longer generated from the sources"))
            continue
        changes = [*runbook_changes(old[name], new[name]), *_stale(new[name], today)]
        if changes:
            found.append(_drift(name, old[name], new[name], changes))
    return DriftReport(tuple(found), len(set(old) | set(new)))


def _stale(runbook: Mapping[str, Any], today: date | None) -> list[Change]:
    if today is None:
        return []
    validated, frequency = str(runbook.get("last_validated", "")), str(runbook.get("review_frequency", ""))
    state = review(validated, frequency, today)
    if not state.stale:
        return []
    detail = f"last validated {validated}, reviewed {frequency.lower()}: {state.status}; record a fresh run"
    return [Change(ChangeKind.STALE, "review", detail, ())]


def load_twins(path: Path) -> dict[str, dict[str, Any]]:
    """A runbook JSON file, or a folder of them (a library's `.data/`), by runbook name."""
    if path.is_dir():
        return library_twins(path) if (path / DATA_FOLDER).is_dir() else twins_in(path)
    twin = read_twin(path)
    if twin is None:
        raise RunbookSynthError(f"{path}: not a runbook JSON file; pass one written by `--format json` or a twin")
    return {path.stem: twin}


def diff_paths(old: Path, new: Path, today: date | None = None) -> DriftReport:
    """Two runbook JSON files, or two library folders, compared (a file pair is one runbook, whatever its names)."""
    for path in (old, new):
        if not path.exists():
            raise RunbookSynthError(f"{path}: no such file or folder; pass runbook JSON files or library folders")
    before, after = load_twins(old), load_twins(new)
    if old.is_file() and new.is_file():
        name = next(iter(after))
        before = {name: next(iter(before.values()))}
    return diff_twins(before, after, today)


def library_drift(
    root: Path,
    settings: Settings,
    today: date,
    *,
    names: Sequence[str] = (),
    strict: bool = False,
) -> DriftReport:
    """What the current sources would generate, against the library's JSON twins on disk; nothing is written."""
    folder = library_folder(root, settings.sources)
    on_disk = library_twins(folder)
    mined = mine_corpus(root, settings, strict)
    chosen = choose_patterns(mined.patterns, names)
    current = {
        runbook_name(p.operation_type, p.scope): to_json_dict(mine_runbook(mined, p, settings, today)) for p in chosen
    }
    if names:
        on_disk = {name: twin for name, twin in on_disk.items() if name in current}
    report = diff_twins(on_disk, current, today)
    ready = {runbook_name(p.operation_type, p.scope): p for p in mined.patterns}
    adjusted = []
    for item in report.runbooks:
        change = item.changes[0] if item.changes else None
        if change is not None and change.kind == ChangeKind.RUNBOOK_REMOVED and item.name in ready:
            pattern = ready[item.name]
            why = f"the sources now hold {pattern.executions} of the {pattern.min_runs} runs it needs; kept as it is"
            item = _removed(item.name, on_disk[item.name], why)
        adjusted.append(item)
    return DriftReport(tuple(adjusted), report.compared)


# --- renderers ------------------------------------------------------------------------------------------------------


def drift_dict(report: DriftReport) -> dict[str, Any]:
    """The JSON shape of a drift report (`runbook diff --format json`): fields are added, never renamed."""
    return {
        "drift": report.has_drift,
        "compared": report.compared,
        "changes": report.change_count,
        "runbooks": [
            {
                "name": item.name,
                "operation_type": item.operation_type,
                "scope": item.scope,
                "runs_before": item.runs_before,
                "runs_after": item.runs_after,
                "changes": [
                    {"kind": str(c.kind), "subject": c.subject, "detail": c.detail, "evidence": list(c.evidence)}
                    for c in item.changes
                ],
            }
            for item in report.runbooks
        ],
    }


def render_drift_json(report: DriftReport) -> str:
    return json.dumps(drift_dict(report), indent=2, ensure_ascii=False) + "\n"


def render_drift_markdown(report: DriftReport, templates_dir: Path | None = None, evidence_shown: int = 5) -> str:
    """Markdown ready to paste into a pull request (the nightly job uses it as the PR body)."""
    return render_named(DRIFT_TEMPLATE, {"report": drift_dict(report), "evidence_shown": evidence_shown}, templates_dir)
