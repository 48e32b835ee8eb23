"""Hardening: no write outside the root, a lock that locks, one-line errors for hostile templates, escaped
control characters, redaction of joined continuation lines, and a bounded cost for one pathological note."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runbook_synth.cli import app
from runbook_synth.generation import generate
from runbook_synth.models import GenerateRequest
from runbook_synth.output import run_lock
from tests.support.corpus import Call, Run, write_run
from tests.support.scenarios import deployment_run, write_deployment_history


def invoke(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def root(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    write_deployment_history(repo)
    return repo


def test_lock_lives_in_the_state_folder_and_never_follows_a_link(runner: CliRunner, root: Path) -> None:
    victim = root.parent / "victim.txt"
    victim.write_text("precious")
    state = root / ".runbook-synth"
    state.mkdir()
    (state / "lock").symlink_to(victim)
    code, _, err = invoke(runner, "deployment", "lambda", "--root", str(root))
    assert code == 1 and "cannot open the lock" in err and "Traceback" not in err
    assert victim.read_text() == "precious"
    (state / "lock").unlink()
    (state / "lock").symlink_to(root.parent / "dangling-target")
    assert invoke(runner, "deployment", "lambda", "--root", str(root))[0] == 1
    assert not (root.parent / "dangling-target").exists()


def test_old_lock_location_in_runbooks_is_left_alone(runner: CliRunner, root: Path) -> None:
    victim = root.parent / "victim.txt"
    victim.write_text("precious")
    (root / "runbooks").mkdir()
    (root / "runbooks" / ".runbook-synth.lock").symlink_to(victim)
    assert invoke(runner, "deployment", "lambda", "--root", str(root))[0] == 0
    assert victim.read_text() == "precious"
    assert (root / ".runbook-synth" / ".gitignore").read_text() == "*\n"


def test_lock_is_held_for_the_whole_run_and_names_its_holder(runner: CliRunner, root: Path) -> None:
    with run_lock(root):
        code, _, err = invoke(runner, "deployment", "lambda", "--root", str(root))
    assert code == 1 and f"(pid {os.getpid()})" in err
    assert not (root / "runbooks").exists(), "the loser must stop before it reads or writes anything"


def test_symlinked_runbooks_folder_pointing_outside_is_refused(runner: CliRunner, root: Path) -> None:
    outside = root.parent / "elsewhere"
    outside.mkdir()
    (root / "runbooks").symlink_to(outside)
    code, stdout, err = invoke(runner, "deployment", "lambda", "--root", str(root))
    assert code == 1 and "outside the root" in err and not stdout
    assert list(outside.iterdir()) == []
    code, stdout, _ = invoke(runner, "deployment", "lambda", "--root", str(root), "--out", str(outside))
    assert code == 0 and len(list(outside.glob("*.md"))) == 1


def test_output_inside_an_ingested_folder_is_refused(runner: CliRunner, root: Path) -> None:
    inside = root / ".claude" / "observations" / "generated"
    code, _, err = invoke(runner, "deployment", "lambda", "--root", str(root), "--out", str(inside))
    assert code == 1 and "read as a source" in err
    assert not inside.exists()


def test_stale_temporary_files_are_cleaned_on_the_next_run(runner: CliRunner, root: Path) -> None:
    out = root / "runbooks"
    out.mkdir()
    stale = out / ".2026-11-23-deployment-lambda.md.abc123.tmp"
    stale.write_text("half a runbook")
    assert invoke(runner, "deployment", "lambda", "--root", str(root))[0] == 0
    assert not stale.exists()


def test_written_files_respect_the_umask(runner: CliRunner, root: Path) -> None:
    previous = os.umask(0o022)
    try:
        assert invoke(runner, "deployment", "lambda", "--root", str(root))[0] == 0
    finally:
        os.umask(previous)
    (written,) = (root / "runbooks").glob("*.md")
    assert stat.S_IMODE(written.stat().st_mode) == 0o644


def test_template_include_cannot_follow_a_symlink_out(runner: CliRunner, root: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside-secret.txt"
    secret.write_text("root:x:0:0:TOP-SECRET")
    templates = tmp_path / "tpl"
    templates.mkdir()
    (templates / "leak.j2").symlink_to(secret)
    (templates / "runbook.md.j2").write_text("{% include 'leak.j2' %}\n")
    code, stdout, err = invoke(
        runner, "deployment", "lambda", "--root", str(root), "--templates-dir", str(templates), "--stdout"
    )
    assert code == 1 and "outside the templates folder" in err
    assert "TOP-SECRET" not in stdout + err


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ runbook.steps + 1 }}", "TypeError"),
        ('{% extends "runbook.md.j2" %}', "recursion"),
        ("{% for i in range(10**9) %}{% endfor %}", "larger than MAX_RANGE"),
        (
            "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
            "rendering took longer than 0.5",
        ),
        (None, "not UTF-8"),
    ],
)
def test_a_template_that_fails_is_a_one_line_error(
    runner: CliRunner, root: Path, tmp_path: Path, body: str | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("runbook_synth.render.RENDER_SECONDS", 0.5)
    templates = tmp_path / "tpl"
    templates.mkdir()
    target = templates / "runbook.md.j2"
    if body is None:
        target.write_bytes(b"# Runbook \xff\xfe\n")
    else:
        target.write_text(body)
    code, _, err = invoke(
        runner, "deployment", "lambda", "--root", str(root), "--templates-dir", str(templates), "--stdout"
    )
    assert code == 1, err
    assert err.startswith("Error: ") and expected in err and err.count("\n") == 1 and "Traceback" not in err


def test_control_characters_are_escaped_in_warnings_and_titles(runner: CliRunner, root: Path) -> None:
    evil = root / ".claude" / "observations" / "execution-1-\x1b[31mred\x1b[0m.md"
    evil.write_bytes(b"\x00\x01binary")
    code, _, err = invoke(runner, "deployment", "lambda", "--root", str(root), "--stdout")
    assert code == 0
    assert "\x1b" not in err and "\\x1b[31mred" in err
    code, _, err = invoke(runner, "generate", "deployment", "lambda\n# Injected\u202e", "--root", str(root), "--stdout")
    assert code == 1 and err.startswith("Error: scope") and "\n# Injected" not in err
    generated = generate(GenerateRequest(root, "deployment", "lambda\n# Injected\u202e", date(2026, 11, 23)))
    title = generated.text.splitlines()[0]
    assert "\n# Injected" not in generated.text and "\u202e" not in generated.text
    assert title.startswith("# Runbook: Deployment - lambda # Injected")


def test_secret_on_a_continuation_line_is_redacted_after_joining(runner: CliRunner, root: Path) -> None:
    secret = "Xq7vR2mP9sLw4Tz8"
    for index in range(2):
        run = deployment_run(index)
        login = Call(f"mysql -h db.internal -u admin \\\n  -p{secret} -e 'select 1'", "1", "Check the database", "1s")
        write_run(root, Run(run.day, "09:00:00", f"cont{index}", run.context, [login, *run.calls], total=run.total))
    for fmt in ("md", "json"):
        code, stdout, err = invoke(runner, "deployment", "lambda", "--root", str(root), "--stdout", "--format", fmt)
        assert code == 0
        assert secret not in stdout + err and secret[:8] not in stdout and secret[-8:] not in stdout


def test_one_pathological_note_is_capped_with_a_warning(runner: CliRunner, root: Path) -> None:
    huge = root / ".claude" / "observations" / "execution-2-huge.md"
    lines = "\n".join(f"aws s3 cp s3://bucket/file{index} ." for index in range(20_000))
    huge.write_text(f"# Copy everything\n\n```bash\n{lines}\n```\n")
    code, _, err = invoke(runner, "list", "--root", str(root))
    assert code == 0
    assert "execution-2-huge.md: 20000 commands; only the first 5000 are used" in err


def test_paths_longer_than_path_max_and_huge_epochs_are_one_line_errors(
    runner: CliRunner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = invoke(runner, "list", "--root", "/" + "x" * 5000)
    assert code == 1 and err.startswith("Error: --root /xxx") and err.count("\n") == 1
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "9" * 40)
    assert invoke(runner, "deployment", "lambda", "--root", str(root), "--stdout")[0] == 0
