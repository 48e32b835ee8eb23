"""Golden files: the runbooks rendered from sample_observations/, compared whole.

Regenerate deliberately with `pytest tests/test_golden.py --update-golden` (or `make golden`) and review
the diff like code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runbook_synth.cli import app

GOLDEN = Path(__file__).parent / "golden"
CASES = [
    ("deployment", "lambda", "md"),
    ("deployment", "lambda", "json"),
    ("deployment", "frontend", "md"),
    ("rollback", "lambda", "md"),
    ("incident-response", "API timeout", "md"),
    ("migration", "Aurora schema change", "md"),
    ("scaling", "database", "md"),
]


def golden_name(operation: str, scope: str, fmt: str) -> str:
    return f"{operation}-{scope.lower().replace(' ', '-')}.{fmt}"


@pytest.mark.parametrize(("operation", "scope", "fmt"), CASES, ids=[golden_name(*case) for case in CASES])
def test_sample_runbooks_match_golden(
    runner: CliRunner, sample_root: Path, update_golden: bool, operation: str, scope: str, fmt: str
) -> None:
    result = runner.invoke(app, [operation, scope, "--root", str(sample_root), "--stdout", "--format", fmt, "-q"])
    assert result.exit_code == 0, result.stderr
    path = GOLDEN / golden_name(operation, scope, fmt)
    if update_golden:
        path.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == path.read_text(encoding="utf-8")


def test_planted_secrets_never_reach_a_runbook(runner: CliRunner, sample_root: Path) -> None:
    for operation, scope, fmt in CASES:
        result = runner.invoke(app, [operation, scope, "--root", str(sample_root), "--stdout", "--format", fmt])
        assert "hunter2" not in result.output and "wJalrXUtnFEMI" not in result.output


def test_sample_list(runner: CliRunner, sample_root: Path) -> None:
    result = runner.invoke(app, ["list", "--root", str(sample_root), "-q"])
    rows = {tuple(line.split()[:2]) for line in result.stdout.splitlines()[1:]}
    assert {
        ("deployment", "lambda"),
        ("deployment", "frontend"),
        ("rollback", "lambda"),
        ("migration", "database"),
        ("scaling", "database"),
        ("incident-response", "api"),
    } <= rows


def test_generated_runbooks_pass_lint_at_the_default_level(runner: CliRunner, sample_root: Path) -> None:
    """Where a section cannot be mined the generator writes a TODO the linter reads as a warning, not silence."""
    goldens = sorted(str(path) for path in GOLDEN.glob("*.md"))
    result = runner.invoke(app, ["lint", *goldens, "--repo-root", str(sample_root), "--format", "json"])
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["summary"]["error"] == 0
