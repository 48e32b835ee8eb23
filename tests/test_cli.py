"""The CLI: every command, option and exit code, on a literal deployment history in a temporary root."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runbook_synth.cli import app
from tests.support.corpus import Call, Run, write_run
from tests.support.scenarios import deployment_run, write_deployment_history

GENERATED = "2026-11-23"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_deployment_history(tmp_path)
    return tmp_path


def invoke(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_deployment_writes_the_runbook_under_root(runner: CliRunner, root: Path) -> None:
    code, out, err = invoke(runner, "deployment", "lambda", "--root", str(root))
    target = root / "runbooks" / f"{GENERATED}-deployment-lambda.md"
    assert code == 0, err
    assert out == f"Wrote {target} (7 steps from 4 runs, 1 troubleshooting entries)\n"
    text = target.read_text()
    assert text.startswith("# Runbook: Deployment - lambda\n")
    assert "### Step 3: Push image" in text


def test_stdout_prints_instead_of_writing(runner: CliRunner, root: Path) -> None:
    code, out, _ = invoke(runner, "deployment", "lambda", "--root", str(root), "--stdout")
    assert code == 0 and out.startswith("# Runbook: Deployment - lambda")
    assert not (root / "runbooks").exists()


def test_json_format_has_the_public_fields(runner: CliRunner, root: Path) -> None:
    code, out, _ = invoke(
        runner, "generate", "deployment", "lambda", "--root", str(root), "--format", "json", "--stdout"
    )
    assert code == 0
    data = json.loads(out)
    for key in (
        "operation_type",
        "scope",
        "generated",
        "last_validated",
        "estimated_duration_seconds",
        "sources",
        "steps",
        "troubleshooting",
        "rollback",
        "warnings",
    ):
        assert key in data
    step = data["steps"][2]
    assert set(step) >= {
        "number",
        "title",
        "commands",
        "parameters",
        "expected_output",
        "duration_seconds",
        "support",
        "optional",
        "verification",
        "if_failed",
        "sources",
    }
    assert step["support"] == {"runs": 4, "of": 4} and set(step["duration_seconds"]) == {"median", "p90"}
    issue = data["troubleshooting"][0]
    assert set(issue) >= {
        "title",
        "symptoms",
        "cause",
        "solution",
        "prevention",
        "occurrences",
        "last_seen",
        "sources",
    }


def test_out_and_json_file_name(runner: CliRunner, root: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "elsewhere"
    code, _, _ = invoke(runner, "deployment", "lambda", "--root", str(root), "--out", str(out_dir), "--format", "json")
    assert code == 0
    assert json.loads((out_dir / f"{GENERATED}-deployment-lambda.json").read_text())["run_count"] == 4


def test_same_input_gives_byte_identical_output(runner: CliRunner, root: Path) -> None:
    first = invoke(runner, "deployment", "lambda", "--root", str(root), "--stdout")[1]
    second = invoke(runner, "deployment", "lambda", "--root", str(root), "--stdout")[1]
    assert first == second


def test_min_runs_refuses_with_exit_1(runner: CliRunner, root: Path) -> None:
    code, out, err = invoke(runner, "deployment", "lambda", "--root", str(root), "--min-runs", "9")
    assert code == 1 and out == ""
    assert err.startswith("Error: found 4 recorded executions of deployment lambda")
    assert "Traceback" not in err and err.count("\n") == 1


def test_other_type_commands_and_no_pattern(runner: CliRunner, root: Path) -> None:
    for command in ("rollback", "incident-response", "migration", "scaling"):
        code, _, err = invoke(runner, command, "lambda", "--root", str(root))
        assert code == 1 and f"found 0 recorded executions of {command} lambda" in err
        assert "Matching executions of other types: 4 deployment." in err


def test_free_text_type_with_generate(runner: CliRunner, root: Path) -> None:
    code, _, err = invoke(runner, "generate", "backup", "--root", str(root))
    assert code == 1 and "found 0 recorded executions of backup" in err


def test_list_shows_patterns(runner: CliRunner, root: Path) -> None:
    code, out, _ = invoke(runner, "list", "--root", str(root))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["TYPE", "SCOPE", "EXECUTIONS", "FAILURES", "JOURNALS", "RUNBOOK"]
    assert lines[1].split() == ["deployment", "lambda", "4", "1", "1", "ready", "(7", "steps)"]
    assert "Read 6 source(s): 4 execution(s) with commands, 1 failure note(s), 1 journal(s)." in lines
    code, out, _ = invoke(runner, "list", "--root", str(root), "--min-runs", "6")
    assert out.splitlines()[1].endswith("needs 2 more run(s)")


def test_runs_that_recorded_no_recurring_command_are_not_ready(runner: CliRunner, tmp_path: Path) -> None:
    for index, command in enumerate(
        ["terraform apply", "helm upgrade api ./chart", "kubectl rollout restart deploy/api"]
    ):
        write_run(
            tmp_path, Run(f"2026-10-0{index + 1}", "10:00:00", f"api{index}", "deployed the api", [Call(command, "ok")])
        )
    code, out, _ = invoke(runner, "list", "--root", str(tmp_path))
    assert code == 0 and "no recurring command" in out and "ready" not in out
    code, _, err = invoke(runner, "deployment", "--root", str(tmp_path))
    assert code == 1 and "3 notes matched deployment" in err and "no command recurs in 2 or more" in err
    assert not (tmp_path / "runbooks").exists() or not list((tmp_path / "runbooks").glob("*.md"))


def test_templates_dir_overrides_by_block(runner: CliRunner, root: Path, tmp_path: Path) -> None:
    custom = tmp_path / "tpl"
    custom.mkdir()
    (custom / "runbook.md.j2").write_text(
        '{% extends "base.md.j2" %}\n{% block monitoring %}## Monitoring\n\nSee Grafana.\n{% endblock %}\n'
    )
    code, out, _ = invoke(
        runner, "deployment", "lambda", "--root", str(root), "--stdout", "--templates-dir", str(custom)
    )
    assert code == 0 and "See Grafana." in out and "### Step 1: Run tests" in out


def test_bad_template_is_a_one_line_error(runner: CliRunner, root: Path, tmp_path: Path) -> None:
    custom = tmp_path / "tpl"
    custom.mkdir()
    (custom / "runbook.md.j2").write_text("{% block x %}\n")
    code, _, err = invoke(
        runner, "deployment", "lambda", "--root", str(root), "--stdout", "--templates-dir", str(custom)
    )
    assert code == 1 and err.startswith("Error: ") and "template syntax error" in err


def test_strict_makes_skips_fatal(runner: CliRunner, root: Path) -> None:
    bad = root / ".claude" / "observations" / "2026-09-09"
    bad.mkdir()
    (bad / "execution-1-broken.md").write_text("---\nmode: [\n---\n")
    code, _, err = invoke(runner, "deployment", "lambda", "--root", str(root), "--stdout")
    assert code == 0 and "warning: skipped .claude/observations/2026-09-09/execution-1-broken.md: frontmatter" in err
    code, _, err = invoke(runner, "deployment", "lambda", "--root", str(root), "--stdout", "--strict")
    assert code == 1 and err.startswith("Error: .claude/observations/2026-09-09/execution-1-broken.md: frontmatter")
    code, _, err = invoke(runner, "deployment", "lambda", "--root", str(root), "--stdout", "--quiet")
    assert code == 0 and err == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--root", "/nonexistent/path"], "Error: --root /nonexistent/path: no such directory\n"),
        (
            ["--templates-dir", "/nonexistent/tpl"],
            "Error: --templates-dir /nonexistent/tpl: no such directory\n",
        ),
    ],
)
def test_user_errors_exit_1_with_one_line(runner: CliRunner, root: Path, args: list[str], message: str) -> None:
    full = ["deployment", "lambda", *(["--root", str(root)] if "--root" not in args else []), *args]
    code, _, err = invoke(runner, *full)
    assert (code, err) == (1, message)


def test_usage_errors_exit_2(runner: CliRunner) -> None:
    assert runner.invoke(app, ["deployment", "--no-such-option"]).exit_code == 2
    assert runner.invoke(app, ["generate"]).exit_code == 2
    assert runner.invoke(app, ["deployment", "lambda", "--min-runs", "0"]).exit_code == 2
    bad_format = runner.invoke(app, ["deployment", "lambda", "--format", "xml"])
    assert bad_format.exit_code == 2 and "'xml' is not one of 'md', 'json'" in bad_format.stderr
    assert runner.invoke(app, ["list", "--format", "yaml"]).exit_code == 2


def test_help_shows_the_real_defaults(runner: CliRunner) -> None:
    text = re.sub(r"[│\s]+", " ", runner.invoke(app, ["deployment", "--help"]).stdout)
    assert "(default 2, or min_runs in configuration)" in text
    assert "[default: md]" in text


def test_one_option_list_for_every_generating_command(runner: CliRunner) -> None:
    def options(*command: str) -> list[str]:
        text = runner.invoke(app, [*command, "--help"]).stdout
        return sorted(set(re.findall(r"--[a-z][a-z-]+", text)))

    shared = options("generate")
    for command in ("deployment", "rollback", "incident-response", "migration", "scaling"):
        assert options(command) == shared


def test_missing_root_is_named_before_configuration_is_read(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "runbook-synth.toml").write_text("no_such_key = 1\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke(runner, "deployment", "lambda", "--root", str(tmp_path / "missing"))
    assert (code, err) == (1, f"Error: --root {tmp_path / 'missing'}: no such directory\n")


def test_os_error_without_a_file_name_still_says_what_failed() -> None:
    from runbook_synth.cli import _describe_os_error

    assert _describe_os_error(BrokenPipeError(32, "Broken pipe")) == "Broken pipe"
    assert _describe_os_error(OSError(28, "No space left on device", "/x/runbooks/a.md")) == (
        "/x/runbooks/a.md: No space left on device"
    )


def test_list_json_gives_the_same_patterns_as_the_table(runner: CliRunner, root: Path) -> None:
    table = runner.invoke(app, ["list", "--root", str(root)]).stdout.splitlines()[1:]
    data = json.loads(runner.invoke(app, ["list", "--root", str(root), "--format", "json"]).stdout)
    rows = [(p["operation_type"], p["scope"], p["executions"], p["ready"]) for p in data["patterns"]]
    fields = [re.match(r"^(\S+)\s+(.*?)\s+(\d+)\s+\d+\s+\d+\s+(.*)$", line) for line in table]
    parsed = [(m.group(1), m.group(2), int(m.group(3)), m.group(4).startswith("ready")) for m in fields if m]
    assert rows == parsed and rows


def test_scope_cannot_escape_the_output_folder(runner: CliRunner, root: Path) -> None:
    for index in range(2):
        write_run(
            root,
            Run(
                f"2026-10-0{index + 1}",
                "11:00:00",
                "etc",
                "etc maintenance",
                deployment_run(index).calls,
                tags=("deployment", "etc"),
            ),
        )
    code, _, err = invoke(runner, "deployment", "../../etc", "--root", str(root))
    written = sorted(p.name for p in (root / "runbooks").iterdir() if not p.name.startswith("."))
    assert code == 0, err
    assert written == [f"{GENERATED}-deployment-etc.md"]


def test_worse_runbook_does_not_silently_replace_a_better_one(runner: CliRunner, root: Path) -> None:
    assert invoke(runner, "deployment", "lambda", "--root", str(root))[0] == 0
    target = root / "runbooks" / f"{GENERATED}-deployment-lambda.md"
    before = target.read_text()
    for path in sorted((root / ".claude" / "observations").glob("2026-09-0[12]/execution-*.md")):
        path.unlink()
    code, _, err = invoke(runner, "deployment", "lambda", "--root", str(root))
    assert code == 1 and "mined from 4 runs and the new one from only 2" in err
    assert target.read_text() == before
    assert invoke(runner, "deployment", "lambda", "--root", str(root), "--force")[0] == 0
    assert "**Mined from**: 2 recorded runs" in target.read_text()


def test_observation_text_is_data_not_template_code(runner: CliRunner, tmp_path: Path) -> None:
    for index in range(2):
        run = deployment_run(index)
        calls = (
            *run.calls[:-1],
            run.calls[-1].__class__(
                "curl -s https://api.example.com/health",
                "{{ lipsum.__globals__ }} {% raw %}",
                "Check health",
                "1s",
            ),
        )
        write_run(tmp_path, Run(run.day, run.clock, run.slug, run.context, calls))
    code, out, _ = invoke(runner, "deployment", "lambda", "--root", str(tmp_path), "--stdout")
    assert code == 0 and "{{ lipsum.__globals__ }} {% raw %}" in out


def test_python_dash_m_entry_point() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "runbook_synth", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and "deployment" in result.stdout and "list" in result.stdout


def test_sandbox_refuses_unsafe_template_code(runner: CliRunner, root: Path, tmp_path: Path) -> None:
    custom = tmp_path / "tpl"
    custom.mkdir()
    (custom / "runbook.md.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    code, out, err = invoke(
        runner, "deployment", "lambda", "--root", str(root), "--stdout", "--templates-dir", str(custom)
    )
    assert code == 1 and out == ""
    assert err.startswith("Error: template runbook.md.j2: refused by the sandbox")


def test_configuration_in_the_root_applies(runner: CliRunner, root: Path) -> None:
    (root / "runbook-synth.toml").write_text('owner = "payments-oncall"\nmin_runs = 5\n')
    code, _, err = invoke(runner, "deployment", "lambda", "--root", str(root), "--stdout")
    assert code == 1 and "at least 5" in err
    code, out, _ = invoke(runner, "deployment", "lambda", "--root", str(root), "--stdout", "--min-runs", "2")
    assert code == 0 and "**Runbook Owner**: payments-oncall" in out
    (root / "runbook-synth.toml").write_text("ownr = 1\n")
    code, _, err = invoke(runner, "list", "--root", str(root))
    assert code == 1 and "did you mean 'owner'?" in err


def test_extra_redaction_pattern_from_configuration(runner: CliRunner, root: Path) -> None:
    run = deployment_run(0)
    marked = (
        *run.calls[:-1],
        run.calls[-1].__class__("curl -s https://api.example.com/health?key=itk_abcdefgh", "ok", "Check health", "1s"),
    )
    for index in range(2):
        write_run(root, Run(f"2026-10-1{index}", "09:00:00", "deployed-lambda", "deployed", marked))
    (root / "runbook-synth.toml").write_text('[redact_patterns]\ninternal_token = "itk_[a-z]{8}"\n')
    code, out, _ = invoke(runner, "deployment", "lambda", "--root", str(root), "--stdout")
    assert code == 0 and "itk_abcdefgh" not in out and "{internal_token}" in out


def test_no_scope_uses_the_only_scope_and_asks_when_there_are_several(runner: CliRunner, root: Path) -> None:
    code, out, _ = invoke(runner, "deployment", "--root", str(root), "--stdout")
    assert code == 0 and out.startswith("# Runbook: Deployment - lambda\n")
    for index in range(2):
        write_run(
            root,
            Run(
                f"2026-10-2{index}",
                "09:00:00",
                "deployed-frontend",
                "deployed the frontend",
                (
                    Call("npm ci", "added 1200 packages", "Install"),
                    Call("aws s3 sync dist/ s3://site --delete", "upload", "Sync"),
                ),
                tags=("deployment", "frontend"),
            ),
        )
    code, _, err = invoke(runner, "deployment", "--root", str(root))
    assert code == 1
    assert err == (
        "Error: deployment has runs for 2 scopes: frontend (2 runs), lambda (4 runs); name one, "
        "e.g. `runbook deployment frontend`\n"
    )


def test_the_public_api_is_not_shadowed_by_submodules() -> None:
    """`import runbook_synth.lint` sets the package attribute `lint` to the module: no public function may
    share a submodule's name, or the CLI would call a module."""
    import importlib
    import pkgutil

    import runbook_synth

    names = {module.name for module in pkgutil.iter_modules(runbook_synth.__path__) if not module.name.startswith("_")}
    for name in names:
        importlib.import_module(f"runbook_synth.{name}")
    assert not names & set(runbook_synth.__all__)
    for name in runbook_synth.__all__:
        assert callable(getattr(runbook_synth, name)) or isinstance(getattr(runbook_synth, name), type)


def test_list_and_generate_say_the_same_after_a_regeneration(runner: CliRunner, root: Path) -> None:
    """After `regenerate`, `list` and one `generate` answer from the state store; what they print is what
    the full path printed before it, and `--redaction-report` still parses (it needs every finding)."""
    before = [
        invoke(runner, "list", "--root", str(root)),
        invoke(runner, "list", "--root", str(root), "--format", "json"),
        invoke(runner, "deployment", "lambda", "--root", str(root), "--stdout"),
        invoke(runner, "deployment", "lambda", "--root", str(root), "--stdout", "--format", "json"),
    ]
    assert invoke(runner, "regenerate", "--root", str(root))[0] == 0
    after = [
        invoke(runner, "list", "--root", str(root)),
        invoke(runner, "list", "--root", str(root), "--format", "json"),
        invoke(runner, "deployment", "lambda", "--root", str(root), "--stdout"),
        invoke(runner, "deployment", "lambda", "--root", str(root), "--stdout", "--format", "json"),
    ]
    assert after == before
    code, _, err = invoke(runner, "deployment", "lambda", "--root", str(root), "--stdout", "--redaction-report")
    assert code == 0 and "Redaction report:" in err


def test_help_imports_no_markdown_renderer_or_pydantic() -> None:
    """`runbook --help` is the first thing a newcomer runs: typer's rich help imported rich.markdown and
    markdown-it (0.2 s) and typer 0.29 pydantic (0.2 s) before printing a screen of text."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "sys.argv = ['runbook', '--help']\n"
        "from runbook_synth.cli import main\n"
        "try:\n    main()\nexcept SystemExit as done:\n    assert not done.code, done.code\n"
        "print(sorted(m for m in ('markdown_it', 'rich.markdown', 'pydantic') if m in sys.modules), file=sys.stderr)\n"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "Commands:" in shown.stdout and "incident-response" in shown.stdout
    assert shown.stderr.splitlines()[-1] == "[]", shown.stderr
