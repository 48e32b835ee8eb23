"""`runbook init`: the slash command works when a shell runs it, the workflow parses and handles exit 3,
nothing is overwritten without force, and hostile slash-command arguments are refused."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runbook_synth.errors import RunbookSynthError
from runbook_synth.scaffold import GITIGNORE, SLASH_COMMAND, WORKFLOW, Action, check_cli_argument, init_files
from tests.support.scenarios import write_deployment_history

BIN = Path(sys.executable).parent


def _frontmatter(text: str) -> dict[str, str]:
    _, head, _ = text.split("---\n", 2)
    loaded = yaml.safe_load(head)
    assert isinstance(loaded, dict)
    return loaded


def _bang_line(text: str) -> str:
    """The shell command of the `!` line, as Claude Code finds it."""
    (command,) = re.findall(r"^!`([^`]+)`$", text, re.MULTILINE)
    return command


def _run_slash(root: Path, arguments: str) -> subprocess.CompletedProcess[str]:
    """What Claude Code does: substitute $ARGUMENTS as plain text, run the line with a shell."""
    line = _bang_line((root / SLASH_COMMAND).read_text()).replace("$ARGUMENTS", arguments)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["bash", "-c", line], cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_init_writes_three_files_and_never_overwrites_without_force(tmp_path: Path) -> None:
    assert init_files(tmp_path) == [
        (SLASH_COMMAND, Action.CREATED),
        (WORKFLOW, Action.CREATED),
        (GITIGNORE, Action.CREATED),
    ]
    (tmp_path / SLASH_COMMAND).write_text("mine")
    assert init_files(tmp_path) == [(SLASH_COMMAND, Action.KEPT), (WORKFLOW, Action.KEPT), (GITIGNORE, Action.KEPT)]
    assert (tmp_path / SLASH_COMMAND).read_text() == "mine"
    assert init_files(tmp_path, force=True)[0] == (SLASH_COMMAND, Action.OVERWRITTEN)
    assert (tmp_path / GITIGNORE).read_text() == ".runbook-synth/\n"


def test_the_gitignore_entry_is_appended_once(tmp_path: Path) -> None:
    (tmp_path / GITIGNORE).write_text("node_modules/")
    init_files(tmp_path)
    init_files(tmp_path, force=True)
    assert (tmp_path / GITIGNORE).read_text() == "node_modules/\n.runbook-synth/\n"


def test_the_slash_command_has_its_frontmatter_and_instructions(tmp_path: Path) -> None:
    init_files(tmp_path)
    text = (tmp_path / SLASH_COMMAND).read_text()
    front = _frontmatter(text)
    assert front["allowed-tools"] == "Bash(runbook *)"
    assert front["description"] and front["argument-hint"].startswith("<type> [scope]")
    assert _bang_line(text) == "runbook $ARGUMENTS --stdout"
    assert "Do not invent steps" in text and "Do not run deployment" in text


def test_the_slash_command_line_produces_the_runbook_in_a_shell(tmp_path: Path) -> None:
    write_deployment_history(tmp_path)
    init_files(tmp_path)
    result = _run_slash(tmp_path, "deployment lambda")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Runbook: Deployment - lambda\n")
    assert not (tmp_path / "runbooks").exists()  # --stdout: nothing written


def test_a_hostile_argument_reaching_the_cli_is_refused(tmp_path: Path) -> None:
    """Quoted metacharacters survive the shell and reach the CLI as text; it must refuse them, not mine them.
    (Needs check_cli_argument wired into the generating commands.)"""
    write_deployment_history(tmp_path)
    init_files(tmp_path)
    result = _run_slash(tmp_path, "deployment 'lambda$(touch pwned)'")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and "plain word or phrase" in result.stderr
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    "text",
    [
        "lambda$(id)",
        "lambda`id`",
        "a;b",
        "a|b",
        "a&b",
        "a>b",
        "a<b",
        "${HOME}",
        "a\nb",
        "'x'",
        '"x"',
        "--root=/",
        "a\\b",
    ],
)
def test_check_cli_argument_refuses_shell_syntax(text: str) -> None:
    with pytest.raises(RunbookSynthError, match=r"plain word or phrase") as caught:
        check_cli_argument(text, "scope")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "text", ["lambda", "API timeout", "aurora schema-change", "db/primary", "v1.2", "us-east-1:prod"]
)
def test_check_cli_argument_accepts_plain_words_and_phrases(text: str) -> None:
    assert check_cli_argument(text) == text


def _workflow(tmp_path: Path) -> dict[object, object]:
    init_files(tmp_path)
    loaded = yaml.safe_load((tmp_path / WORKFLOW).read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_workflow_is_scheduled_at_an_odd_minute_with_the_permissions_it_needs(tmp_path: Path) -> None:
    workflow = _workflow(tmp_path)
    triggers = workflow[True]  # PyYAML reads the key `on:` as the boolean True
    assert isinstance(triggers, dict) and "workflow_dispatch" in triggers
    (schedule,) = triggers["schedule"]
    minute = int(schedule["cron"].split()[0])
    assert minute % 2 == 1
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}
    steps = workflow["jobs"]["regenerate"]["steps"]  # type: ignore[index]
    runs = " ".join(str(step.get("run", "")) for step in steps)
    assert "pip install" in runs and "runbook regenerate" in runs and "runbook diff" in runs
    (pull_request,) = [
        step for step in steps if str(step.get("uses", "")).startswith("peter-evans/create-pull-request@")
    ]
    assert pull_request["with"]["body-path"] == "drift.md"
    assert pull_request["if"] == "steps.drift.outputs.drift == 'true'"


@pytest.mark.parametrize(("code", "drift", "job_fails"), [(0, False, False), (3, True, False), (1, False, True)])
def test_the_drift_step_opens_a_pr_on_3_and_fails_the_job_on_errors(
    tmp_path: Path, code: int, drift: bool, job_fails: bool
) -> None:
    """The step's script run as Actions runs it (`bash -e`), with a stand-in `runbook` that exits `code`."""
    workflow = _workflow(tmp_path)
    (step,) = [s for s in workflow["jobs"]["regenerate"]["steps"] if s.get("id") == "drift"]  # type: ignore[index]
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "runbook").write_text(f"#!/bin/sh\necho '## Runbook drift' > drift.md\nexit {code}\n")
    (fake / "runbook").chmod(0o755)
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    env = {
        **os.environ,
        "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}",
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
    }
    result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert (result.returncode != 0) == job_fails
    assert (output.exists() and "drift=true" in output.read_text()) == drift
    assert (summary.exists() and "## Runbook drift" in summary.read_text()) == drift
