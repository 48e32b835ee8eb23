"""runbook-synth: mine recorded operations into runbooks.

The public API: everything the CLI does is one call here.

    settings = load_settings(check_root(root))
    generated = generate(GenerateRequest(root, "deployment", "lambda", date.today(), settings))
    write(generated, root / "runbooks")
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook_synth.errors import ParameterError, RunbookSynthError
from runbook_synth.models import Generated, GenerateRequest, Pattern, SourceAccount

if TYPE_CHECKING:
    from runbook_synth.conformance import conformance as check_conformance
    from runbook_synth.conformance import conformance_summary
    from runbook_synth.drift import diff_paths, diff_runbooks, library_drift, render_drift_json, render_drift_markdown
    from runbook_synth.generation import generate, generate_and_write, write
    from runbook_synth.generation import render as render_runbook
    from runbook_synth.ingest.files import check_root
    from runbook_synth.library import RegenerateReport, regenerate
    from runbook_synth.lint import LintReport, exit_code, format_github, format_json, format_text
    from runbook_synth.lint_rules import Severity
    from runbook_synth.output import atomic_write
    from runbook_synth.pipeline import ingest as ingest_sources
    from runbook_synth.pipeline import list_patterns
    from runbook_synth.scaffold import check_cli_argument, init_files
    from runbook_synth.settings import Settings, load_settings
    from runbook_synth.snapshot import survey_library
    from runbook_synth.sources import ingest_cloudwatch, ingest_github

_LAZY = {
    "check_conformance": "runbook_synth.conformance:conformance",
    "conformance_summary": "runbook_synth.conformance",
    "diff_paths": "runbook_synth.drift",
    "diff_runbooks": "runbook_synth.drift",
    "library_drift": "runbook_synth.drift",
    "render_drift_json": "runbook_synth.drift",
    "render_drift_markdown": "runbook_synth.drift",
    "check_root": "runbook_synth.ingest.files",
    "RegenerateReport": "runbook_synth.library",
    "regenerate": "runbook_synth.library",
    "LintReport": "runbook_synth.lint",
    "exit_code": "runbook_synth.lint",
    "format_github": "runbook_synth.lint",
    "format_json": "runbook_synth.lint",
    "format_text": "runbook_synth.lint",
    "Severity": "runbook_synth.lint_rules",
    "atomic_write": "runbook_synth.output",
    "generate": "runbook_synth.generation",
    "generate_and_write": "runbook_synth.generation",
    "ingest_sources": "runbook_synth.pipeline:ingest",
    "list_patterns": "runbook_synth.pipeline",
    "survey_library": "runbook_synth.snapshot",
    "render_runbook": "runbook_synth.generation:render",
    "write": "runbook_synth.generation",
    "check_cli_argument": "runbook_synth.scaffold",
    "init_files": "runbook_synth.scaffold",
    "Settings": "runbook_synth.settings",
    "load_settings": "runbook_synth.settings",
    "ingest_cloudwatch": "runbook_synth.sources",
    "ingest_github": "runbook_synth.sources",
}
"""Imported on first use, so `runbook --help` does not load the whole pipeline. (`module:attribute` where the
public name differs: a submodule of the same name would shadow `conformance`, `ingest` or `render`.)"""


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'runbook_synth' has no attribute {name!r}")
    module, _, attribute = target.partition(":")
    value = getattr(importlib.import_module(module), attribute or name)
    globals()[name] = value
    return value


def lint_runbooks(paths: Sequence[Path], *, repo_root: Path, today: date, disabled: Sequence[str] = ()) -> LintReport:
    """Lint runbooks, with rules turned off by `lint_disable` in configuration and by `disabled`."""
    from runbook_synth.ingest.files import check_root
    from runbook_synth.lint import lint_paths
    from runbook_synth.settings import load_settings

    settings = load_settings(check_root(repo_root))
    disabled_rules = frozenset((*settings.lint_disable, *disabled))
    return lint_paths(paths, repo_root=repo_root, today=today, disabled=disabled_rules)


def account_lines(account: SourceAccount) -> list[str]:
    """The short account `runbook list` ends with: what was read, and what contributed nothing, by reason."""
    lines = [
        f"Read {account.read} source(s): {account.executions} execution(s) with commands, "
        f"{account.failures} failure note(s), {account.journals} journal(s)"
        + (f"; {account.skipped} skipped (see the warnings)" if account.skipped else "")
        + "."
    ]
    if account.without_commands:
        lines.append(f"{len(account.without_commands)} note(s) had no commands, e.g. {account.without_commands[0]}")
    if account.unmatched:
        lines.append(
            f"{len(account.unmatched)} journal(s) and failure note(s) matched no pattern with runs, "
            f"e.g. {account.unmatched[0]}"
        )
    for folder, count in account.unread_folders:
        lines.append(
            f"{folder}/ holds {count} markdown file(s) that are not read; add it to `sources` in "
            f'[tool.runbook-synth] (sources = [".claude/observations", ".claude/journals", "{folder}"])'
        )
    return lines


def pattern_dict(pattern: Pattern) -> dict[str, Any]:
    """A pattern as `runbook list --format json` shows it (same facts as the table)."""
    return {**asdict(pattern), "ready": pattern.ready}


__all__ = [
    "GenerateRequest",
    "Generated",
    "ParameterError",
    "RegenerateReport",
    "RunbookSynthError",
    "Settings",
    "Severity",
    "account_lines",
    "atomic_write",
    "check_cli_argument",
    "check_conformance",
    "check_root",
    "conformance_summary",
    "diff_paths",
    "diff_runbooks",
    "exit_code",
    "format_github",
    "format_json",
    "format_text",
    "generate",
    "generate_and_write",
    "ingest_cloudwatch",
    "ingest_github",
    "ingest_sources",
    "init_files",
    "library_drift",
    "lint_runbooks",
    "list_patterns",
    "load_settings",
    "pattern_dict",
    "regenerate",
    "render_drift_json",
    "render_drift_markdown",
    "render_runbook",
    "survey_library",
    "write",
]
