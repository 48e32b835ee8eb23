"""The typer app: parse, call one library function, print, exit.

Exit codes: 0 ok, 1 user-fixable error, 2 usage (typer's own), 3 drift found. Errors are converted in one
place (`_errors`). No `from __future__ import annotations` here: typer reads the annotations at runtime, and
the generation options are declared once (on `generate`) and shared by the five type commands.
"""

import contextlib
import dataclasses
import enum
import inspect
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

import runbook_synth as library
from runbook_synth.display import printable
from runbook_synth.errors import ParameterError, RunbookSynthError
from runbook_synth.models import OperationType, OutputFormat, Shape

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Mine recorded operations (.claude/observations, .claude/journals) into runbooks.",
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich's help renderer imports rich.markdown and markdown-it, 0.2 s
)


class ListFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


FLAGS = {
    "shape": "--template",
    "root": "--root",
    "templates_dir": "--templates-dir",
    "out": "--out",
    "min_runs": "--min-runs",
}
"""Library parameter names → the flags that set them, for error messages."""

RootOption = Annotated[
    Path, typer.Option("--root", help="Repository holding .claude/observations and .claude/journals.")
]
MinRunsOption = Annotated[
    int | None,
    typer.Option(
        "--min-runs", min=1, help="Fewest matching executions for a pattern (default 2, or min_runs in configuration)."
    ),
]
StrictOption = Annotated[bool, typer.Option("--strict", help="A source that cannot be parsed is an error.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only.")]
ScopeArgument = Annotated[str, typer.Argument(help="Component (lambda, frontend, ...) or free text.")]


def today() -> date:
    """The generation date; SOURCE_DATE_EPOCH pins it for reproducible builds and golden tests."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit() and len(epoch) <= 11:
        with contextlib.suppress(OverflowError, OSError, ValueError):
            return datetime.fromtimestamp(int(epoch), UTC).date()
    return date.today()


class _OneLineFormatter(logging.Formatter):
    """Warnings are one line each, with control characters from file names shown as escapes."""

    def format(self, record: logging.LogRecord) -> str:
        return _line(super().format(record))


def _line(text: str) -> str:
    return printable(text).replace("\n", "\\n")


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter("warning: %(message)s"))
    root = logging.getLogger("runbook_synth")
    root.handlers[:] = [handler]
    root.setLevel(logging.ERROR if quiet else logging.WARNING)
    root.propagate = False


def _describe_os_error(error: OSError) -> str:
    where = error.filename or ""
    what = error.strerror or str(error) or type(error).__name__
    return f"{where}: {what}" if where else what


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """The one place where our errors become `Error: ...` on stderr and exit code 1."""
    try:
        yield
    except ParameterError as error:
        typer.echo(_line(f"Error: {error.phrased(FLAGS.get(error.parameter, error.parameter))}"), err=True)
        raise typer.Exit(1) from None
    except RunbookSynthError as error:
        typer.echo(_line(f"Error: {error}"), err=True)
        raise typer.Exit(1) from None
    except OSError as error:
        typer.echo(_line(f"Error: {_describe_os_error(error)}"), err=True)
        raise typer.Exit(1) from None


def _settings(root: Path, min_runs: int | None) -> library.Settings:
    """The root is checked before configuration is read from it."""
    return library.load_settings(library.check_root(root), {"min_runs": min_runs})


@app.command("generate")
def generate_command(
    operation_type: Annotated[str, typer.Argument(help="Any operation type, e.g. deployment or backup.")],
    scope: ScopeArgument = "",
    root: RootOption = Path("."),
    out: Annotated[Path | None, typer.Option("--out", help="Output folder (default <root>/runbooks).")] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="md (the /runbook template) or json.")
    ] = OutputFormat.MD,
    stdout: Annotated[bool, typer.Option("--stdout", help="Print the runbook instead of writing it.")] = False,
    min_runs: MinRunsOption = None,
    templates_dir: Annotated[
        Path | None, typer.Option("--templates-dir", help="Your templates, searched before the packaged ones.")
    ] = None,
    strict: StrictOption = False,
    quiet: QuietOption = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing runbook even if it was mined from more runs.")
    ] = False,
    redaction_report: Annotated[
        bool, typer.Option("--redaction-report", help="List what was masked (file, line, kind; never the value).")
    ] = False,
    shape: Annotated[
        Shape, typer.Option("--template", help="The markdown shape: runbook, run-entry (RUN-XXX) or service.")
    ] = Shape.RUNBOOK,
) -> None:
    """Generate a runbook for any operation TYPE and SCOPE."""
    _setup_logging(quiet)
    with _errors():
        operation_type = library.check_cli_argument(operation_type, "type")
        scope = library.check_cli_argument(scope, "scope") if scope else scope
        settings = _settings(root, min_runs)
        request = library.GenerateRequest(
            root,
            operation_type,
            scope,
            today(),
            settings,
            output_format,
            templates_dir,
            strict,
            shape,
            reuse_snapshot=not redaction_report,  # the report needs every finding, which only parsing gives
        )
        if stdout:
            generated = library.generate(request)
            if redaction_report:
                _report_redactions(generated)
            sys.stdout.write(generated.text)
            return
        generated, target = library.generate_and_write(request, out, force)
        if redaction_report:
            _report_redactions(generated)
    if not quiet:
        counts = generated.counts
        typer.echo(
            _line(
                f"Wrote {target} ({counts.steps} steps from {counts.run_count} runs, "
                f"{counts.troubleshooting} troubleshooting entries)"
            )
        )


def _report_redactions(generated: library.Generated) -> None:
    findings = generated.corpus.redactions
    typer.echo(f"Redaction report: {len(findings)} value(s) masked", err=True)
    for finding in sorted(findings, key=lambda item: (item.path, item.line, item.kind)):
        typer.echo(_line(f"  {finding.path}:{finding.line}: {finding.kind}"), err=True)


def _type_command(operation: OperationType) -> Callable[..., None]:
    """`runbook deployment SCOPE …`: `generate` with the type filled in, sharing its options."""

    def command(**options: Any) -> None:
        generate_command(operation.value, **options)

    parameters = list(inspect.signature(generate_command).parameters.values())[1:]
    command.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = f"Generate the {operation.value} runbook for SCOPE."
    return command


for _operation in OperationType.commands():
    app.command(_operation.value)(_type_command(_operation))


@app.command("list")
def list_command(
    root: RootOption = Path("."),
    min_runs: MinRunsOption = None,
    strict: StrictOption = False,
    quiet: QuietOption = False,
    output_format: Annotated[
        ListFormat, typer.Option("--format", help="table (for people) or json (for scripts).")
    ] = ListFormat.TABLE,
) -> None:
    """Every (type, scope) pattern found, with its counts and whether it has enough runs."""
    _setup_logging(quiet)
    with _errors():
        surveyed = library.survey_library(root, _settings(root, min_runs), strict, today())
    found, account = surveyed.patterns, surveyed.account
    if output_format == ListFormat.JSON:
        rows = [library.pattern_dict(pattern) for pattern in found]
        document = {"patterns": rows, "skipped": len(surveyed.skipped), "account": dataclasses.asdict(account)}
        typer.echo(printable(json.dumps(document, indent=2)))
        return
    header = f"{'TYPE':<20} {'SCOPE':<28} {'EXECUTIONS':>10} {'FAILURES':>8} {'JOURNALS':>8}  RUNBOOK"
    typer.echo(header)
    for pattern in found:
        if pattern.ready:
            verdict = f"ready ({pattern.steps} steps)"
        elif pattern.enough_runs:
            verdict = "no recurring command"
        else:
            verdict = f"needs {pattern.min_runs - pattern.executions} more run(s)"
        typer.echo(
            _line(
                f"{pattern.operation_type:<20} {pattern.scope:<28} {pattern.executions:>10} "
                f"{pattern.failures:>8} {pattern.journals:>8}  {verdict}"
            )
        )
    if not found:
        typer.echo("(no patterns: no recorded execution with commands was found)")
    for line in library.account_lines(account):
        typer.echo(_line(line))


ingest_app = typer.Typer(
    help="Fetch a source (GitHub Actions, CloudWatch) into the local state store.", rich_markup_mode=None
)
app.add_typer(ingest_app, name="ingest")
RebuildOption = Annotated[
    bool, typer.Option("--rebuild-state", help="Move a corrupt or newer-schema state store aside and start fresh.")
]


@ingest_app.command("github")
def ingest_github_command(
    root: RootOption = Path("."),
    repo: Annotated[
        list[str] | None, typer.Option("--repo", help="OWNER/NAME; repeat for more. [config: repos]")
    ] = None,
    workflow: Annotated[
        list[str] | None, typer.Option("--workflow", help="Workflow file, e.g. deploy-lambda.yml; repeat for more.")
    ] = None,
    since: Annotated[str, typer.Option("--since", help="How far back the first ingest reads, e.g. 30d.")] = "",
    api_url: Annotated[str, typer.Option("--api-url", help="GitHub API URL (GitHub Enterprise, a stand-in).")] = "",
    rebuild_state: RebuildOption = False,
    quiet: QuietOption = False,
) -> None:
    """Fetch GitHub Actions runs, jobs and failed logs (redacted) into <root>/.runbook-synth/state.sqlite."""
    _setup_logging(quiet)
    with _errors():
        line = library.ingest_github(
            root,
            repos=repo or (),
            workflows=workflow or (),
            since=since,
            api_url=api_url,
            now=datetime.now(UTC),
            rebuild_state=rebuild_state,
        )
    if not quiet:
        typer.echo(_line(line))


@ingest_app.command("cloudwatch")
def ingest_cloudwatch_command(
    root: RootOption = Path("."),
    log_group: Annotated[
        list[str] | None, typer.Option("--log-group", help="Log group, e.g. /aws/lambda/NAME; repeat for more.")
    ] = None,
    since: Annotated[str, typer.Option("--since", help="Start: a duration ago (7d, 12h) or a UTC date.")] = "",
    until: Annotated[str, typer.Option("--until", help="End: a duration ago or a UTC date (default now).")] = "",
    region: Annotated[str, typer.Option("--region", help="AWS region (default: boto3's chain).")] = "",
    profile: Annotated[str, typer.Option("--profile", help="Named AWS profile.")] = "",
    endpoint_url: Annotated[str, typer.Option("--endpoint-url", help="A local endpoint (moto) instead of AWS.")] = "",
    insights: Annotated[
        bool,
        typer.Option("--insights", help="Aggregate with Logs Insights instead of pulling raw events (busy groups)."),
    ] = False,
    rebuild_state: RebuildOption = False,
    quiet: QuietOption = False,
) -> None:
    """Fetch CloudWatch log events and alarms (redacted) into <root>/.runbook-synth/state.sqlite."""
    _setup_logging(quiet)
    with _errors():
        line = library.ingest_cloudwatch(
            root,
            log_groups=log_group or (),
            since=since,
            until=until,
            region=region,
            profile=profile,
            endpoint_url=endpoint_url,
            now=datetime.now(UTC),
            rebuild_state=rebuild_state,
            insights=insights,
        )
    if not quiet:
        typer.echo(_line(line))


class LintFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"


@app.command("lint")
def lint_command(
    paths: Annotated[list[Path], typer.Argument(help="Runbook files or folders.")],
    repo_root: Annotated[
        Path, typer.Option("--repo-root", help="Repository the runbooks refer to (for file references).")
    ] = Path("."),
    output_format: Annotated[LintFormat, typer.Option("--format", help="text, json or github.")] = LintFormat.TEXT,
    fail_on: Annotated[
        library.Severity, typer.Option("--fail-on", help="Exit 1 when a finding is at or above this severity.")
    ] = library.Severity.ERROR,
    disable: Annotated[
        list[str] | None, typer.Option("--disable", help="Rule id or slug to turn off; repeat for more.")
    ] = None,
) -> None:
    """Check runbooks (generated or hand-written) against the quality checklist."""
    with _errors():
        report = library.lint_runbooks(paths, repo_root=repo_root, today=today(), disabled=disable or ())
    formatter = {
        LintFormat.TEXT: library.format_text,
        LintFormat.JSON: library.format_json,
        LintFormat.GITHUB: library.format_github,
    }[output_format]
    typer.echo(printable(formatter(report)), nl=False)
    raise typer.Exit(library.exit_code(report, fail_on))


@app.command("regenerate")
def regenerate_command(
    names: Annotated[list[str] | None, typer.Argument(help="Runbooks to regenerate (e.g. deployment-lambda).")] = None,
    root: RootOption = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Write a runbook even if it lost most of its steps or sources.")
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 3 when regeneration would change the library.")
    ] = False,
    templates_dir: Annotated[
        Path | None, typer.Option("--templates-dir", help="Your templates, searched before the packaged ones.")
    ] = None,
    strict: StrictOption = False,
    min_runs: MinRunsOption = None,
    rebuild_state: RebuildOption = False,
    quiet: QuietOption = False,
) -> None:
    """Regenerate every ready runbook into <root>/runbooks/ (stable names, JSON twins, index.md)."""
    _setup_logging(quiet)
    with _errors(), _progress(quiet) as progress:
        report = library.regenerate(
            root,
            _settings(root, min_runs),
            today=today(),
            names=tuple(names or ()),
            force=force,
            check=check,
            templates_dir=templates_dir,
            strict=strict,
            rebuild_state=rebuild_state,
            progress=progress,
        )
    if not quiet:
        typer.echo(_line(report.summary))
    if check and report.changed:
        raise typer.Exit(3)


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[int, int, str], None] | None]:
    """A progress bar on stderr when it is a terminal; nothing in CI, when piped, or with --quiet."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("regenerating", total=None)

        def update(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=printable(name))

        yield update


class DiffFormat(enum.StrEnum):
    MD = "md"
    JSON = "json"


@app.command("diff")
def diff_command(
    old: Annotated[Path | None, typer.Argument(help="A runbook JSON twin, or a folder of them.")] = None,
    new: Annotated[Path | None, typer.Argument(help="The JSON twin (or folder) to compare it with.")] = None,
    root: RootOption = Path("."),
    output_format: Annotated[
        DiffFormat, typer.Option("--format", help="md (for a pull request) or json.")
    ] = DiffFormat.MD,
    output: Annotated[Path | None, typer.Option("--output", help="Write the report here instead of stdout.")] = None,
    templates_dir: Annotated[
        Path | None, typer.Option("--templates-dir", help="Your templates, searched before the packaged ones.")
    ] = None,
    strict: StrictOption = False,
    min_runs: MinRunsOption = None,
    quiet: QuietOption = False,
) -> None:
    """What the current sources would change in the library (or between two JSON twins); exit 3 on drift."""
    _setup_logging(quiet)
    with _errors():
        if (old is None) != (new is None):
            raise library.ParameterError("new", "(missing)", "give both OLD and NEW, or neither")
        if old is not None and new is not None:
            report = library.diff_paths(old, new, today())
        else:
            report = library.library_drift(root, _settings(root, min_runs), today(), strict=strict)
        if output_format == DiffFormat.JSON:
            text = library.render_drift_json(report)
        else:
            text = library.render_drift_markdown(report, templates_dir)
        if output is not None:
            library.atomic_write(output, text)
        else:
            sys.stdout.write(printable(text))
    raise typer.Exit(3 if report.has_drift else 0)


@app.command("conformance")
def conformance_command(
    root: RootOption = Path("."),
    since: Annotated[str, typer.Option("--since", help="How far back to look, in days (30d).")] = "30d",
    min_runs: MinRunsOption = None,
    quiet: QuietOption = False,
) -> None:
    """Does the team still follow its runbooks? Each recent run scored step by step."""
    _setup_logging(quiet)
    with _errors():
        days = since.strip().removesuffix("d")
        if not days.isdigit():
            raise library.ParameterError("since", since, "give a number of days, e.g. 30d")
        report = library.check_conformance(root, _settings(root, min_runs), today(), since_days=int(days))
    typer.echo(printable(library.conformance_summary(report)))


@app.command("init")
def init_command(
    root: RootOption = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that already exist.")] = False,
) -> None:
    """Write the /runbook slash command, the nightly workflow and a .gitignore entry into the repository."""
    with _errors():
        written = library.init_files(library.check_root(root), force)
    for path, action in written:
        typer.echo(_line(f"{action} {path}"))


def main() -> None:
    from runbook_synth.processes import allow_process_pools

    allow_process_pools()  # the console script and `python -m runbook_synth` are safe to spawn workers from
    app()
