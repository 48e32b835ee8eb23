"""The recipe, top to bottom: ingest (read, redact, parse) → classify → select → align → failures →
synthesize. Each stage is a function from records to records; only ingest touches the outside world.
`generation.py` renders and writes what `mine` gives (or the last `regenerate`'s answer, without this module)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from runbook_synth.align import align_selection
from runbook_synth.classify import facts_of
from runbook_synth.cluster import Selections, classifications, only_ready_scope, patterns, require_enough_runs
from runbook_synth.errors import EmptyRunbookError, RunbookSynthError
from runbook_synth.failures import failure_events
from runbook_synth.ingest.files import check_root, unread_markdown_folders
from runbook_synth.ingest.local import load_corpus
from runbook_synth.models import (
    Classification,
    Corpus,
    OperationType,
    Pattern,
    RollbackEvidence,
    Runbook,
    Selection,
    SourceAccount,
    SourceKind,
)
from runbook_synth.settings import Settings
from runbook_synth.sources import cloudwatch_evidence, stored_observations
from runbook_synth.synthesize import synthesize


def mine(
    corpus: Corpus,
    root: Path,
    operation_type: str,
    scope: str,
    settings: Settings,
    today: date,
    found: dict[str, Classification] | None = None,
    selections: Selections | None = None,
) -> Runbook:
    """The recipe from an ingested corpus to one runbook: classify → select → align → failures → synthesize.
    `found` and `selections`, when given, are the corpus's (computed once for many runbooks)."""
    found = classifications(corpus) if found is None else found
    selections = Selections(corpus, found, settings.scope_threshold) if selections is None else selections
    scope = scope or only_ready_scope(patterns(corpus, found, settings.min_runs), operation_type)
    selection = selections(operation_type, scope)
    require_enough_runs(selection, settings.min_runs)
    alignment = align_selection(selection)
    events = failure_events(selection, alignment)
    undo_type = OperationType.DEPLOYMENT if operation_type == OperationType.ROLLBACK else OperationType.ROLLBACK
    undo = selections(undo_type, scope) if scope else None
    rollback = RollbackEvidence(undo, align_selection(undo)) if undo and undo.executions else None
    logs = cloudwatch_evidence(root, scope, today)
    skipped = [f"{skip.path} ({skip.reason})" for skip in corpus.skipped]
    runbook = synthesize(selection, alignment, events, rollback, settings, today, skipped, logs)
    if not runbook.steps:
        raise EmptyRunbookError(empty_reason(selection, settings))
    return runbook


def empty_reason(selection: Selection, settings: Settings) -> str:
    """Why runs gave no step, naming what was found: nothing empty passes as success."""
    count = len(selection.executions)
    files = ", ".join(obs.path for obs in selection.executions[:3]) + (" ..." if count > 3 else "")
    with_commands = sum(1 for obs in selection.executions if obs.commands)
    return (
        f"{count} notes matched {selection.operation_type} {selection.scope}".rstrip()
        + f" ({files}); {with_commands} recorded commands, but no command recurs in {settings.min_step_runs} or more "
        "of them, so there is no step to write. Record the procedure's commands in more runs (console or bash blocks)"
    )


def survey(
    corpus: Corpus,
    root: Path,
    settings: Settings,
    today: date,
    found: dict[str, Classification] | None = None,
    mine_steps: bool = True,
    selections: Selections | None = None,
) -> tuple[Pattern, ...]:
    """Every (type, scope) pattern, counted by the same selection `generate` mines, and mined when it has enough
    runs, so `list`, `generate` and `regenerate` agree on the run counts and on what is ready."""
    found = classifications(corpus) if found is None else found
    selections = Selections(corpus, found, settings.scope_threshold) if selections is None else selections
    surveyed: list[Pattern] = []
    for pattern in patterns(corpus, found, settings.min_runs):
        selection = selections(pattern.operation_type, pattern.scope)
        counted = replace(
            pattern,
            executions=len(selection.executions),
            failures=len(selection.failures),
            journals=len(selection.journals),
        )
        if mine_steps and counted.enough_runs:
            try:
                mined = mine(corpus, root, pattern.operation_type, pattern.scope, settings, today, found, selections)
                steps = len(mined.steps)
            except RunbookSynthError:
                steps = 0
            counted = replace(counted, steps=steps)
        surveyed.append(counted)
    return tuple(surveyed)


def ingest(root: Path, settings: Settings, strict: bool = False) -> Corpus:
    """Every source under the root: files read, redacted and parsed (skips named), plus what earlier
    `runbook ingest` runs stored from CI and logs."""
    checked = check_root(root)
    corpus = load_corpus(checked, settings, strict)
    stored = stored_observations(checked)
    if not stored:
        return corpus
    merged = tuple(sorted((*corpus.observations, *stored), key=lambda item: item.sort_key))
    return replace(corpus, observations=merged, facts={**corpus.facts, **{o.path: facts_of(o) for o in stored}})


def list_patterns(
    root: Path, settings: Settings, strict: bool = False, today: date | None = None
) -> tuple[tuple[Pattern, ...], Corpus, SourceAccount]:
    """Every (type, scope) pattern under the root, surveyed, with the corpus and an account of what was read."""
    corpus = ingest(root, settings, strict)
    checked = check_root(root)
    found = classifications(corpus)
    surveyed = survey(corpus, checked, settings, today or date.today(), found)
    return surveyed, corpus, account(corpus, surveyed, found, settings, checked)


def account(
    corpus: Corpus, surveyed: tuple[Pattern, ...], found: dict[str, Classification], settings: Settings, root: Path
) -> SourceAccount:
    """What was read, and what contributed nothing, by reason."""
    observations = corpus.observations
    with_runs = {(p.operation_type, p.scope) for p in surveyed if p.executions}
    lessons = [obs for obs in observations if obs.kind in (SourceKind.JOURNAL, SourceKind.FAILURE)]
    return SourceAccount(
        read=len(observations),
        executions=sum(1 for obs in observations if obs.is_execution),
        failures=sum(1 for obs in observations if obs.kind == SourceKind.FAILURE),
        journals=sum(1 for obs in observations if obs.kind == SourceKind.JOURNAL),
        without_commands=tuple(
            obs.path for obs in observations if obs.kind in (SourceKind.EXECUTION, SourceKind.NOTE) and not obs.commands
        ),
        unmatched=tuple(
            obs.path for obs in lessons if (found[obs.path].operation_type, found[obs.path].scope) not in with_runs
        ),
        skipped=len(corpus.skipped),
        unread_folders=tuple(unread_markdown_folders(root, settings.sources)),
    )
