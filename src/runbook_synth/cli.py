"""The typer app: parse, call one library function, print, exit. Exit codes: 0 ok, 1 user-fixable
error, 2 usage (typer's own), 3 drift found."""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from runbook_synth.errors import RunbookSynthError
from runbook_synth.models import OperationType
from runbook_synth.pipeline import Generated, GenerateRequest, generate, list_patterns, write
from runbook_synth.settings import load_settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Mine recorded operations (.claude/observations, .claude/journals) into runbooks.",
    pretty_exceptions_enable=False,
)

RootOption = Annotated[
    Path, typer.Option("--root", help="Repository holding .claude/observations and .claude/journals.")
]
OutOption = Annotated[Path | None, typer.Option("--out", help="Output folder. Default: <root>/runbooks.")]
FormatOption = Annotated[str, typer.Option("--format", help="md (the /runbook template) or json.")]
StdoutOption = Annotated[bool, typer.Option("--stdout", help="Print the runbook instead of writing it.")]
MinRunsOption = Annotated[
    int | None,
    typer.Option("--min-runs", min=1, help="Fewest matching executions for a pattern (default 2)."),
]
TemplatesOption = Annotated[
    Path | None, typer.Option("--templates-dir", help="Your templates, searched before the packaged ones.")
]
StrictOption = Annotated[bool, typer.Option("--strict", help="A source that cannot be parsed is an error.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only.")]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Replace an existing runbook even if it was mined from more runs.")
]
ReportOption = Annotated[
    bool, typer.Option("--redaction-report", help="List what was masked (file, line, kind; never the value).")
]


def today() -> date:
    """The generation date; SOURCE_DATE_EPOCH pins it for reproducible builds and golden tests."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC).date()
    return date.today()


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    root = logging.getLogger("runbook_synth")
    root.handlers[:] = [handler]
    root.setLevel(logging.ERROR if quiet else logging.WARNING)
    root.propagate = False


def _fail(error: Exception) -> typer.Exit:
    typer.echo(f"Error: {error}", err=True)
    return typer.Exit(1)


def _report_redactions(generated: Generated) -> None:
    findings = generated.corpus.redactions
    typer.echo(f"Redaction report: {len(findings)} value(s) masked", err=True)
    for finding in sorted(findings, key=lambda item: (item.path, item.line, item.kind)):
        typer.echo(f"  {finding.path}:{finding.line}: {finding.kind}", err=True)


def run_generate(
    operation_type: str,
    scope: str,
    root: Path,
    out: Path | None,
    output_format: str,
    stdout: bool,
    min_runs: int | None,
    templates_dir: Path | None,
    strict: bool,
    quiet: bool,
    force: bool,
    redaction_report: bool,
) -> None:
    _setup_logging(quiet)
    try:
        settings = load_settings(root if root.is_dir() else Path.cwd(), {"min_runs": min_runs})
        request = GenerateRequest(root, operation_type, scope, today(), settings, output_format, templates_dir, strict)
        generated = generate(request)
        if redaction_report:
            _report_redactions(generated)
        if stdout:
            sys.stdout.write(generated.text)
            return
        target = write(generated, out if out is not None else root / "runbooks", force)
    except RunbookSynthError as error:
        raise _fail(error) from None
    except OSError as error:
        raise _fail(RunbookSynthError(f"{error.filename or ''}: {error.strerror or error}")) from None
    if not quiet:
        book = generated.runbook
        typer.echo(
            f"Wrote {target} ({len(book.steps)} steps from {book.run_count} runs, "
            f"{len(book.troubleshooting)} troubleshooting entries)"
        )


def _type_command(operation: OperationType) -> None:
    def command(
        scope: Annotated[str, typer.Argument(help="Component (lambda, frontend, ...) or free text.")] = "",
        root: RootOption = Path("."),
        out: OutOption = None,
        output_format: FormatOption = "md",
        stdout: StdoutOption = False,
        min_runs: MinRunsOption = None,
        templates_dir: TemplatesOption = None,
        strict: StrictOption = False,
        quiet: QuietOption = False,
        force: ForceOption = False,
        redaction_report: ReportOption = False,
    ) -> None:
        run_generate(
            operation.value,
            scope,
            root,
            out,
            output_format,
            stdout,
            min_runs,
            templates_dir,
            strict,
            quiet,
            force,
            redaction_report,
        )

    command.__doc__ = f"Generate the {operation.value} runbook for SCOPE."
    app.command(operation.value)(command)


for _operation in (
    OperationType.DEPLOYMENT,
    OperationType.ROLLBACK,
    OperationType.INCIDENT_RESPONSE,
    OperationType.MIGRATION,
    OperationType.SCALING,
):
    _type_command(_operation)


@app.command("generate")
def generate_command(
    operation_type: Annotated[str, typer.Argument(help="Any operation type, e.g. deployment or backup.")],
    scope: Annotated[str, typer.Argument(help="Component or free text.")] = "",
    root: RootOption = Path("."),
    out: OutOption = None,
    output_format: FormatOption = "md",
    stdout: StdoutOption = False,
    min_runs: MinRunsOption = None,
    templates_dir: TemplatesOption = None,
    strict: StrictOption = False,
    quiet: QuietOption = False,
    force: ForceOption = False,
    redaction_report: ReportOption = False,
) -> None:
    """Generate a runbook for any operation TYPE and SCOPE."""
    run_generate(
        operation_type,
        scope,
        root,
        out,
        output_format,
        stdout,
        min_runs,
        templates_dir,
        strict,
        quiet,
        force,
        redaction_report,
    )


@app.command("list")
def list_command(
    root: RootOption = Path("."),
    min_runs: MinRunsOption = None,
    strict: StrictOption = False,
    quiet: QuietOption = False,
) -> None:
    """Every (type, scope) pattern found, with its counts and whether it has enough runs."""
    _setup_logging(quiet)
    try:
        settings = load_settings(root if root.is_dir() else Path.cwd(), {"min_runs": min_runs})
        found, corpus = list_patterns(root, settings, strict)
    except RunbookSynthError as error:
        raise _fail(error) from None
    header = f"{'TYPE':<20} {'SCOPE':<28} {'EXECUTIONS':>10} {'FAILURES':>8} {'JOURNALS':>8}  RUNBOOK"
    typer.echo(header)
    for pattern in found:
        verdict = "ready" if pattern.enough_runs else f"needs {pattern.min_runs - pattern.executions} more run(s)"
        typer.echo(
            f"{pattern.operation_type:<20} {pattern.scope[:28]:<28} {pattern.executions:>10} "
            f"{pattern.failures:>8} {pattern.journals:>8}  {verdict}"
        )
    if not found:
        typer.echo("(no patterns: no observations found under .claude/observations or .claude/journals)")
    if corpus.skipped and not quiet:
        typer.echo(f"{len(corpus.skipped)} file(s) skipped (see warnings above)", err=True)


def main() -> None:
    app()
