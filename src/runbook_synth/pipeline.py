"""The recipe, top to bottom: ingest (read, redact, parse) → classify → select → align → failures →
synthesize → render. Each stage is a function from records to records; only ingest and `write` touch the
outside world."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from runbook_synth.align import align_selection
from runbook_synth.classify import resolve_type
from runbook_synth.cluster import classifications, only_ready_scope, patterns, require_enough_runs, select
from runbook_synth.errors import ParameterError, RunbookSynthError
from runbook_synth.failures import failure_events
from runbook_synth.ingest.files import SOURCE_FOLDERS, check_root
from runbook_synth.ingest.local import load_corpus
from runbook_synth.models import (
    Classification,
    Corpus,
    OperationType,
    OutputFormat,
    Pattern,
    RollbackEvidence,
    Runbook,
)
from runbook_synth.output import (
    atomic_write,
    check_not_worse,
    output_folder,
    remove_stale_temporaries,
    run_lock,
    runbook_filename,
    safe_child,
)
from runbook_synth.render import render_json, render_markdown
from runbook_synth.settings import Settings
from runbook_synth.sources import cloudwatch_evidence, stored_observations
from runbook_synth.synthesize import synthesize

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class Generated:
    runbook: Runbook
    text: str
    corpus: Corpus
    filename: str


def generate(request: GenerateRequest) -> Generated:
    """Mine the runbook for (type, scope) under the root and render it; nothing is written."""
    operation_type, scope = _checked(request)
    corpus = ingest(request.root, request.settings, request.strict)
    runbook = mine(corpus, check_root(request.root), operation_type, scope, request.settings, request.today)
    text = render(runbook, request.output_format, request.templates_dir)
    filename = runbook_filename(request.today.isoformat(), operation_type, runbook.scope, request.output_format)
    return Generated(runbook, text, corpus, filename)


def mine(
    corpus: Corpus,
    root: Path,
    operation_type: str,
    scope: str,
    settings: Settings,
    today: date,
    found: dict[str, Classification] | None = None,
) -> Runbook:
    """The recipe from an ingested corpus to one runbook: classify → select → align → failures → synthesize."""
    found = classifications(corpus) if found is None else found
    scope = scope or only_ready_scope(patterns(corpus, found, settings.min_runs), operation_type)
    selection = select(corpus, found, operation_type, scope, settings.scope_threshold)
    require_enough_runs(selection, settings.min_runs)
    alignment = align_selection(selection)
    events = failure_events(selection, alignment)
    undo_type = OperationType.DEPLOYMENT if operation_type == OperationType.ROLLBACK else OperationType.ROLLBACK
    undo = select(corpus, found, undo_type, scope, settings.scope_threshold) if scope else None
    rollback = RollbackEvidence(undo, align_selection(undo)) if undo and undo.executions else None
    logs = cloudwatch_evidence(root, scope, today)
    skipped = [f"{skip.path} ({skip.reason})" for skip in corpus.skipped]
    return synthesize(selection, alignment, events, rollback, settings, today, skipped, logs)


def ingest(root: Path, settings: Settings, strict: bool = False) -> Corpus:
    """Every source under the root: files read, redacted and parsed (skips named), plus what earlier
    `runbook ingest` runs stored from CI and logs."""
    checked = check_root(root)
    corpus = load_corpus(checked, settings, strict)
    stored = stored_observations(checked)
    if not stored:
        return corpus
    merged = tuple(sorted((*corpus.observations, *stored), key=lambda item: item.sort_key))
    return replace(corpus, observations=merged)


def render(runbook: Runbook, output_format: OutputFormat, templates_dir: Path | None = None) -> str:
    if output_format == OutputFormat.JSON:
        return render_json(runbook)
    return render_markdown(runbook, templates_dir)


def _checked(request: GenerateRequest) -> tuple[str, str]:
    """The request's type and scope, or an error naming the parameter."""
    if request.templates_dir is not None and not request.templates_dir.is_dir():
        raise ParameterError("templates_dir", request.templates_dir, "no such directory")
    operation_type = resolve_type(request.operation_type)
    if not operation_type or "\x00" in operation_type or "/" in operation_type:
        raise RunbookSynthError(f"operation type {request.operation_type!r} is not a name")
    return operation_type, request.scope.replace("\x00", "").strip()


def generate_and_write(
    request: GenerateRequest, out: Path | None = None, force: bool = False
) -> tuple[Generated, Path]:
    """The whole writing run under the root's lock, taken before any source is read."""
    root = check_root(request.root)
    with run_lock(root):
        out_dir = output_folder(root, out, SOURCE_FOLDERS)
        remove_stale_temporaries(out_dir)
        generated = generate(request)
        return generated, write(generated, out_dir, force)


def write(generated: Generated, out_dir: Path, force: bool = False) -> Path:
    """Write atomically; never silently replace a better runbook. Callers hold the run lock."""
    target = safe_child(out_dir, generated.filename)
    check_not_worse(target, generated.runbook.run_count, force)
    atomic_write(target, generated.text)
    return target


def list_patterns(root: Path, settings: Settings, strict: bool = False) -> tuple[tuple[Pattern, ...], Corpus]:
    """Every (type, scope) pattern under the root, with the corpus it was found in."""
    corpus = ingest(root, settings, strict)
    found: dict[str, Classification] = classifications(corpus)
    return patterns(corpus, found, settings.min_runs), corpus
