"""Hostile and broken input: `runbook list` and `runbook deployment lambda` finish, name every skip, and
produce what the good files support."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runbook_synth.cli import app

HOSTILE = Path(__file__).parent / "data" / "hostile"


@pytest.fixture
def hostile_root(tmp_path: Path) -> Path:
    """The committed hostile corpus plus what git cannot hold: a 100 MB file, symlinks, a FIFO, no-permission."""
    root = tmp_path / "repo"
    shutil.copytree(HOSTILE, root, symlinks=True)
    folder = root / ".claude" / "observations" / "2026-09-01"
    with (folder / "execution-120000-huge.md").open("wb") as handle:
        handle.truncate(100 * 1_048_576)
    secret = tmp_path / "outside-secret.md"
    secret.write_text("---\nmode: execution\n---\n```bash\ncat /etc/shadow\n```\n")
    (folder / "execution-120001-outside.md").symlink_to(secret)
    (folder / "execution-120002-loop.md").symlink_to(folder / "execution-120002-loop.md")
    (folder / "loop-dir").symlink_to(folder, target_is_directory=True)
    os.mkfifo(folder / "execution-120003-fifo.md")
    unreadable = folder / "execution-120004-unreadable.md"
    unreadable.write_text("---\nmode: execution\n---\n")
    unreadable.chmod(0)
    return root


def test_list_finishes_and_names_every_skip(runner: CliRunner, hostile_root: Path) -> None:
    result = runner.invoke(app, ["list", "--root", str(hostile_root)])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1].split()[:6] == ["deployment", "lambda", "3", "0", "0", "ready"]
    expected = {
        "execution-110000-binary.md: binary file, not markdown text",
        "execution-110001-latin1.md: not UTF-8 text (invalid byte 0xe9 at offset 32)",
        "execution-110008-unclosed-frontmatter.md: frontmatter starts with '---' but is never closed",
        "execution-120000-huge.md: too large (100.0 MB; the limit is 20 MB, set max_file_mb to raise it)",
        "execution-120001-outside.md: symlink points outside the root",
        "execution-120002-loop.md: symlink is broken or loops",
        "loop-dir: symlinked folder not followed",
        "execution-120003-fifo.md: not a regular file",
    }
    for message in expected:
        assert message in result.stderr
    assert "Traceback" not in result.stderr
    if os.geteuid() != 0:
        assert "execution-120004-unreadable.md: cannot be read (Permission denied)" in result.stderr


def test_generate_uses_the_good_files(runner: CliRunner, hostile_root: Path) -> None:
    result = runner.invoke(app, ["deployment", "lambda", "--root", str(hostile_root), "--stdout"])
    assert result.exit_code == 0, result.stderr
    assert "**Mined from**: 3 recorded runs" in result.stdout
    assert "/etc/shadow" not in result.stdout
    assert "source file(s) were skipped" in result.stdout


def test_strict_stops_at_the_first_bad_file(runner: CliRunner, hostile_root: Path) -> None:
    result = runner.invoke(app, ["list", "--root", str(hostile_root), "--strict"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1


def test_empty_root_and_empty_folders(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / ".claude" / "observations").mkdir(parents=True)
    (tmp_path / ".claude" / "journals").mkdir(parents=True)
    result = runner.invoke(app, ["list", "--root", str(tmp_path)])
    assert result.exit_code == 0 and "no patterns" in result.stdout
    result = runner.invoke(app, ["deployment", "lambda", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: found 0 recorded executions of deployment lambda")


def test_root_that_is_a_file(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    result = runner.invoke(app, ["list", "--root", str(target)])
    assert (result.exit_code, result.stderr) == (1, f"Error: --root {target}: not a directory\n")


@pytest.mark.parametrize("scope", ["../../lambda", "lambda/../../..", "./../lambda", "lambda\x00"])
def test_user_names_never_escape_the_output_folder(runner: CliRunner, hostile_root: Path, scope: str) -> None:
    """Each hostile scope still matches the lambda runs, so a runbook IS written: it must land in --out."""
    out = hostile_root / "out"
    result = runner.invoke(
        app, ["generate", "deployment", scope, "--root", str(hostile_root), "--out", str(out), "--min-runs", "1"]
    )
    assert result.exit_code == 0, result.output
    written = [
        Path(folder) / name
        for folder, _, names in os.walk(hostile_root.parent)
        for name in names
        if name.endswith(".md")
        and (Path(folder) / name).is_file()
        and not (Path(folder) / name).is_symlink()
        and os.access(Path(folder) / name, os.R_OK)
        and (Path(folder) / name).stat().st_size < 1_000_000
        and (Path(folder) / name).read_text(errors="replace").startswith("# Runbook")
    ]
    assert len(written) == 1 and written[0].parent == out


def test_type_with_slashes_is_refused(runner: CliRunner, hostile_root: Path) -> None:
    result = runner.invoke(app, ["generate", "../x", "lambda", "--root", str(hostile_root)])
    assert result.exit_code == 1 and "is not a name" in result.stderr
