"""Secrets planted in every kind of source never reach a runbook, JSON, stdout, stderr or an error message."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from runbook_synth.cli import app
from tests.support.corpus import Call, Run, fence, write_error_journal, write_run
from tests.support.scenarios import deployment_run

# Fake values in the real formats (built by concatenation so no scanner mistakes this file for a leak).
SECRETS = {
    "aws_access_key_id": "AKIA" + "IOSFODNN7EXAMPLQ",
    "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY",
    "github_classic": "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
    "github_fine_grained": "github_pat_"
    + "11ABCDEFG0123456789_"
    + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab",
    "gitlab": "glpat-" + "xY7zQ2mN9pR4sT6vW8yA",
    "slack_token": "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "slack_webhook": "T0ABC1234/B0DEF5678/" + "abcdefghijklmnopqrstuvwx",
    "jwt": "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "private_key_body": "MIIEowIBAAKCAQEA7" + "bq98s6ZxJ2hA9kYmWq3VxT0eHq9L",
    "url_password": "hunter2" + "Zebra",
    "bearer": "abcdef0123456789" + "abcdef0123456789",
    "password_flag": "S3cret" + "Flag!x",
    "mysql_p": "MyS3cret" + "Pw",
    "env_password": "correct" + "horsebattery",
    "connection_string": "Sup3r" + "S3cretConn",
}


def _commands() -> list[str]:
    s = SECRETS
    return [
        f"export AWS_ACCESS_KEY_ID={s['aws_access_key_id']}",
        f"export AWS_SECRET_ACCESS_KEY={s['aws_secret_access_key']}",
        f"curl -H 'Authorization: Bearer {s['bearer']}' https://api.example.com/deploy",
        f"psql postgres://app:{s['url_password']}@db.internal:5432/app -c 'select 1'",
        f"mysql -u root -p{s['mysql_p']} app -e 'select 1'",
        f"deploy-tool --password {s['password_flag']} --token {s['github_classic']}",
        f"DB_PASSWORD={s['env_password']} alembic upgrade head",
    ]


def _output() -> str:
    s = SECRETS
    return "\n".join(
        [
            f"token={s['github_fine_grained']}",
            f"gitlab: {s['gitlab']}",
            f"slack {s['slack_token']} https://hooks.slack.com/services/{s['slack_webhook']}",
            f"session {s['jwt']}",
            "-----BEGIN RSA PRIVATE KEY-----",
            s["private_key_body"],
            "-----END RSA PRIVATE KEY-----",
            f"Server=db;User Id=app;Password={s['connection_string']};",
        ]
    )


@pytest.fixture
def leaky_root(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for index in range(3):
        run = deployment_run(index)
        planted = tuple(Call(command, _output(), "Set up credentials", "1s") for command in _commands())
        write_run(root, Run(run.day, run.clock, run.slug, run.context, planted + run.calls))
    failure_dir = root / ".claude" / "observations" / "2026-09-08"
    failure_dir.mkdir(parents=True)
    (failure_dir / "failure-090000-auth.md").write_text(
        "---\nmode: failure\ndate: 2026-09-08\ncontext: deploy auth failed\ntags: [deployment, lambda]\n---\n"
        f"## Error Messages\n\n{fence('denied: ' + _output())}\n\n## Input State\n\n**What was attempted**:\n"
        f"{fence(_commands()[2])}\n"
    )
    write_error_journal(
        root,
        "2026-09-09",
        "auth",
        "Auth failed",
        "denied: " + _output(),
        f"Token {SECRETS['jwt']} expired.",
        "\n".join(_commands()),
        f"Rotate {SECRETS['github_classic']} monthly.",
    )
    (root / ".claude" / "observations" / "2026-09-10").mkdir()
    (root / ".claude" / "observations" / "2026-09-10" / "deploy-notes.md").write_text(
        "Deployed again, took about 5 minutes.\n\n```console\n"
        + "\n".join(f"$ {command}\n{_output()}" for command in _commands())
        + "\n```\n"
    )
    return root


def assert_clean(text: str, where: str) -> None:
    for kind, value in SECRETS.items():
        assert value not in text, f"{kind} leaked into {where}"


def test_no_secret_reaches_any_output(runner: CliRunner, leaky_root: Path) -> None:
    outputs: list[tuple[str, str]] = []
    for args in (
        ["deployment", "lambda", "--root", str(leaky_root), "--redaction-report"],
        ["deployment", "lambda", "--root", str(leaky_root), "--format", "json", "--force"],
        ["deployment", "lambda", "--root", str(leaky_root), "--stdout"],
        ["generate", "deployment", "lambda", "--root", str(leaky_root), "--stdout", "--format", "json"],
        ["list", "--root", str(leaky_root)],
        ["deployment", "lambda", "--root", str(leaky_root), "--min-runs", "50"],
        ["incident-response", "auth", "--root", str(leaky_root), "--stdout", "--min-runs", "1"],
    ):
        result = runner.invoke(app, args)
        outputs += [(f"stdout of {args[0]}", result.stdout), (f"stderr of {args[0]}", result.stderr)]
    for path in (leaky_root / "runbooks").iterdir():
        outputs.append((path.name, path.read_text()))
    assert any("{aws_secret_access_key}" in text for _, text in outputs)
    for where, text in outputs:
        assert_clean(text, where)


def test_redaction_report_names_place_and_kind_only(runner: CliRunner, leaky_root: Path) -> None:
    result = runner.invoke(app, ["deployment", "lambda", "--root", str(leaky_root), "--stdout", "--redaction-report"])
    report = [line for line in result.stderr.splitlines() if line.startswith("  .claude/")]
    assert result.stderr.splitlines()[0].startswith("Redaction report: ")
    assert any(line.endswith(": aws_access_key_id") for line in report)
    assert report and all(line.split(":")[1].isdigit() and int(line.split(":")[1]) > 0 for line in report)
    assert_clean(result.stderr, "redaction report")


def test_redacted_commands_keep_their_shape(runner: CliRunner, leaky_root: Path) -> None:
    result = runner.invoke(app, ["deployment", "lambda", "--root", str(leaky_root), "--stdout"])
    assert "export AWS_SECRET_ACCESS_KEY={aws_secret_access_key}" in result.stdout
    assert "psql postgres://app:{password}@db.internal:5432/app" in result.stdout
