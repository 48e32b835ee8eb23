"""The recipe, top to bottom: ingest → redact → classify → cluster → align → synthesize → render → write."""

from __future__ import annotations

import logging
import shlex
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from runbook_synth.classify import resolve_type
from runbook_synth.cluster import classifications, patterns, select
from runbook_synth.errors import RunbookSynthError
from runbook_synth.ingest.files import check_root
from runbook_synth.ingest.local import load_corpus
from runbook_synth.models import Classification, Corpus, OperationType, Pattern, Runbook
from runbook_synth.output import atomic_write, check_not_worse, output_lock, runbook_filename, safe_child
from runbook_synth.render import render_json, render_markdown
from runbook_synth.settings import Settings
from runbook_synth.synthesize import synthesize

log = logging.getLogger(__name__)
FORMATS = ("md", "json")
_TYPE_COMMANDS = {operation.value for operation in OperationType if operation != OperationType.OTHER}


@dataclass(frozen=True)
class GenerateRequest:
    root: Path
    operation_type: str
    scope: str
    today: date
    settings: Settings = field(default_factory=Settings)
    output_format: str = "md"
    templates_dir: Path | None = None
    strict: bool = False


@dataclass(frozen=True)
class Generated:
    runbook: Runbook
    text: str
    corpus: Corpus
    filename: str


def load(root: Path, settings: Settings, strict: bool) -> Corpus:
    return load_corpus(check_root(root), settings, strict)


def generate(request: GenerateRequest) -> Generated:
    """Mine the runbook for (type, scope) under the root and render it; nothing is written."""
    if request.output_format not in FORMATS:
        raise RunbookSynthError(f"--format {request.output_format!r}: choose md or json")
    if request.templates_dir is not None and not request.templates_dir.is_dir():
        raise RunbookSynthError(f"--templates-dir {request.templates_dir}: no such directory")
    operation_type = resolve_type(request.operation_type)
    if not operation_type or "\x00" in operation_type or "/" in operation_type:
        raise RunbookSynthError(f"operation type {request.operation_type!r} is not a name")
    scope = request.scope.replace("\x00", "").strip()
    corpus = load(request.root, request.settings, request.strict)
    found = classifications(corpus)
    if not scope:
        scope = _only_scope(corpus, found, operation_type, request.settings.min_runs)
    selection = select(corpus, found, operation_type, scope, request.settings.scope_threshold)
    rollback = None
    if operation_type != OperationType.ROLLBACK.value:
        rollback = select(corpus, found, OperationType.ROLLBACK.value, scope, request.settings.scope_threshold)
        if not scope:
            rollback = None
    skipped = [f"{skip.path} ({skip.reason})" for skip in corpus.skipped]
    runbook = synthesize(selection, rollback, request.settings, request.today, skipped)
    if request.output_format == "json":
        text = render_json(runbook)
    else:
        text = render_markdown(runbook, request.settings, request.templates_dir)
    filename = runbook_filename(request.today.isoformat(), operation_type, scope, request.output_format)
    return Generated(runbook, text, corpus, filename)


def _only_scope(corpus: Corpus, found: dict[str, Classification], operation_type: str, min_runs: int) -> str:
    """With no scope given, the one scope of this type that has enough runs; several is a question to ask."""
    ready = [p for p in patterns(corpus, found, min_runs) if p.operation_type == operation_type and p.enough_runs]
    if len(ready) > 1:
        choices = ", ".join(f"{p.scope} ({p.executions} runs)" for p in ready)
        command = operation_type if operation_type in _TYPE_COMMANDS else f"generate {operation_type}"
        raise RunbookSynthError(
            f"{operation_type} has runs for {len(ready)} scopes: {choices}; name one, "
            f"e.g. `runbook {command} {shlex.quote(ready[0].scope)}`"
        )
    return ready[0].scope if ready else ""


def write(generated: Generated, out_dir: Path, force: bool = False) -> Path:
    """Write atomically under the output folder's lock; never silently replace a better runbook."""
    with output_lock(out_dir):
        target = safe_child(out_dir, generated.filename)
        check_not_worse(target, generated.runbook.run_count, force)
        atomic_write(target, generated.text)
    return target


def list_patterns(root: Path, settings: Settings, strict: bool = False) -> tuple[tuple[Pattern, ...], Corpus]:
    corpus = load(root, settings, strict)
    return patterns(corpus, classifications(corpus), settings.min_runs), corpus
