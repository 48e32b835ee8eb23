"""Ingest: the /observe and /journal formats, loose notes, and files that must be skipped by name."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from runbook_synth.errors import RunbookSynthError, SourceError
from runbook_synth.ingest.files import check_root, split_frontmatter
from runbook_synth.ingest.local import load_corpus, parse_source
from runbook_synth.models import SourceKind
from runbook_synth.settings import Settings
from tests.support.corpus import Call, Run, execution_text, failure_text, write_error_journal, write_run

RUN = Run(
    "2026-09-01",
    "10:00:01",
    "deployed-lambda",
    "deployed report_worker",
    (
        Call("docker build -t api:abc1234 .", "Successfully built", "Build image", "1m 12s"),
        Call("docker push api:abc1234", "denied: token expired", "Push image", "3s", exit_code=1),
        Call("aws ecr get-login-password | docker login --password-stdin 1234.dkr", "Login Succeeded", "Log in"),
        Call("docker push api:abc1234", "pushed", "Push image", "31 seconds"),
    ),
    total="4m 12s",
)


def test_execution_tool_calls_become_commands_with_provenance_and_exit_codes() -> None:
    observation = parse_source(
        ".claude/observations/2026-09-01/execution-100001-deployed-lambda.md", execution_text(RUN)
    )
    assert observation.kind == SourceKind.EXECUTION
    assert observation.tags == ("deployment", "lambda")
    assert observation.context == "deployed report_worker"
    assert [c.command for c in observation.commands] == [
        "docker build -t api:abc1234 .",
        "docker push api:abc1234",
        "aws ecr get-login-password | docker login --password-stdin 1234.dkr",
        "docker push api:abc1234",
    ]
    assert [c.exit_code for c in observation.commands] == [0, 1, 0, 0]
    assert [c.duration_seconds for c in observation.commands] == [72.0, 3.0, None, 31.0]
    assert observation.commands[0].operation == "Build image"
    assert observation.total_duration_seconds == 252.0
    first = observation.commands[0].provenance
    lines = execution_text(RUN).split("\n")
    assert lines[first.line - 1] == "docker build -t api:abc1234 ."


def test_failure_observation_fields() -> None:
    text = failure_text(
        "2026-09-02", "ECR push failed", "denied: Your authorization token has expired.", "docker push api:1"
    )
    observation = parse_source(".claude/observations/2026-09-02/failure-090000-push.md", text)
    assert observation.kind == SourceKind.FAILURE
    assert observation.failure.error_messages == ("denied: Your authorization token has expired.",)
    assert observation.failure.failed_command == "docker push api:1"
    assert observation.environment == "production"


def test_error_journal_fields(tmp_path: Path) -> None:
    path = write_error_journal(
        tmp_path,
        "2026-09-03",
        "ecr-token",
        "ECR token expired",
        "denied: token expired",
        "The ECR login token lasts 12 hours.",
        "aws ecr get-login-password | docker login --password-stdin x\n# then\ndocker push x",
        "Log in right before pushing.",
    )
    observation = parse_source(path.relative_to(tmp_path).as_posix(), path.read_text())
    assert observation.kind == SourceKind.JOURNAL and observation.category == "error"
    assert observation.failure.root_cause == "The ECR login token lasts 12 hours."
    assert observation.failure.fix_commands == (
        "aws ecr get-login-password | docker login --password-stdin x",
        "docker push x",
    )
    assert observation.failure.prevention == "Log in right before pushing."
    assert observation.failure.error_messages == ("denied: token expired",)


def test_journal_without_frontmatter_uses_bold_date() -> None:
    text = "# Aurora pool exhausted\n\n**Date**: 2026-10-02\n**Stage**: prod\n\n## Root Cause\n\nToo many lambdas.\n"
    observation = parse_source(".claude/journals/architecture/pool.md", text)
    assert observation.day is not None and observation.day.isoformat() == "2026-10-02"
    assert observation.category == "architecture" and observation.title == "Aurora pool exhausted"


def test_loose_note_console_block_and_prose_duration() -> None:
    text = (
        "Deployed report_worker again, took about 7 minutes.\n\n```console\n$ docker push api:abc1234\npushed\n"
        "$ aws lambda update-function-code --function-name report_worker\n{}\n```\n"
    )
    observation = parse_source(".claude/observations/2026-10-14/deployed-lambda-notes.md", text)
    assert observation.kind == SourceKind.NOTE
    assert [c.command for c in observation.commands] == [
        "docker push api:abc1234",
        "aws lambda update-function-code --function-name report_worker",
    ]
    assert observation.commands[0].output == "pushed"
    assert observation.total_duration_seconds == 420.0
    assert observation.day is not None and observation.day.isoformat() == "2026-10-14"


def test_loose_note_terminal_sessions_in_text_fences() -> None:
    text = """# Restarted payments after the migration

```text
> az postgres flexible-server show --resource-group rg-data --name pg-prod --query state -o tsv
Ready
> flyway -configFiles=conf/prod.conf info
| Versioned | 277 | add invoice totals | Pending |
```

```text
ops@bastion:~$ kubectl -n payments rollout restart deploy/payments
deployment.apps/payments restarted
```

The state query, for the record:

```sql
> SELECT state FROM servers WHERE name = 'pg-prod';
> kubectl -n payments get pods
```

```text
kubectl -n payments get pods
NAME   READY
```
"""
    observation = parse_source(".claude/observations/2026-10-20/payments-restart.md", text)
    lines = text.split("\n")
    assert [(c.command, c.output, lines[c.provenance.line - 1]) for c in observation.commands] == [
        (
            "az postgres flexible-server show --resource-group rg-data --name pg-prod --query state -o tsv",
            "Ready",
            "> az postgres flexible-server show --resource-group rg-data --name pg-prod --query state -o tsv",
        ),
        (
            "flyway -configFiles=conf/prod.conf info",
            "| Versioned | 277 | add invoice totals | Pending |",
            "> flyway -configFiles=conf/prod.conf info",
        ),
        (
            "kubectl -n payments rollout restart deploy/payments",
            "deployment.apps/payments restarted",
            "ops@bastion:~$ kubectl -n payments rollout restart deploy/payments",
        ),
    ]


def test_inline_code_commands_in_prose() -> None:
    text = "Ran `docker push api:1` then `aws lambda wait function-updated --function-name x`; the name is `report_worker`."
    observation = parse_source(".claude/observations/note.md", text)
    assert [c.command for c in observation.commands] == [
        "docker push api:1",
        "aws lambda wait function-updated --function-name x",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("---\nmode: [unclosed\n---\nbody", "frontmatter is not valid YAML"),
        ("---\n- a\n- b\n---\nbody", "frontmatter is a list, not a mapping"),
        ("---\nmode: execution\nbody with no end", "never closed"),
    ],
)
def test_bad_frontmatter_is_a_named_source_error(text: str, problem: str) -> None:
    with pytest.raises(SourceError, match=problem) as caught:
        split_frontmatter(text, "obs/x.md")
    assert str(caught.value).startswith("obs/x.md: ")


def test_tags_that_are_not_a_list_and_dates_that_are_not_dates() -> None:
    text = "---\nmode: execution\ndate: not-a-date\ntags: {a: 1}\ncontext: [1, 2]\n---\n```bash\ndocker ps -a\n```\n"
    observation = parse_source(".claude/observations/2026-09-09/execution-1-x.md", text)
    assert observation.tags == () and observation.context == ""
    assert observation.day is not None and observation.day.isoformat() == "2026-09-09"


def test_load_corpus_skips_bad_files_by_name(tmp_path: Path) -> None:
    tmp_path = tmp_path / "root"
    write_run(tmp_path, RUN)
    folder = tmp_path / ".claude" / "observations" / "2026-09-05"
    folder.mkdir(parents=True)
    (folder / "execution-1-binary.md").write_bytes(b"\x00\x01\x02binary")
    (folder / "execution-2-latin1.md").write_bytes("caf\xe9".encode("latin-1"))
    (folder / "execution-3-bad-yaml.md").write_text("---\nmode: [\n---\n")
    (folder / "README.md").write_text("# not an observation")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.md"
    outside.write_text("secret")
    (folder / "execution-4-link.md").symlink_to(outside)
    corpus = load_corpus(tmp_path, Settings())
    assert [o.path for o in corpus.observations] == [
        ".claude/observations/2026-09-01/execution-100001-deployed-lambda.md"
    ]
    reasons = {skip.path.rsplit("/", 1)[-1]: skip.reason for skip in corpus.skipped}
    assert reasons == {
        "execution-1-binary.md": "binary file, not markdown text",
        "execution-2-latin1.md": "not UTF-8 text (invalid byte 0xe9 at offset 3)",
        "execution-3-bad-yaml.md": reasons["execution-3-bad-yaml.md"],
        "execution-4-link.md": "symlink points outside the root",
    }
    assert reasons["execution-3-bad-yaml.md"].startswith("frontmatter is not valid YAML")
    with pytest.raises(SourceError):
        load_corpus(tmp_path, Settings(), strict=True)


def test_large_file_is_skipped_with_its_size(tmp_path: Path) -> None:
    folder = tmp_path / ".claude" / "observations"
    folder.mkdir(parents=True)
    (folder / "huge.md").write_text("x" * (2 * 1_048_576))
    corpus = load_corpus(tmp_path, Settings(max_file_mb=1))
    assert corpus.skipped[0].reason.startswith("too large (2.0 MB; the limit is 1 MB")


def test_missing_root_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(RunbookSynthError, match="no such directory"):
        check_root(tmp_path / "nope")


def test_unquoted_colon_in_context_is_read_line_by_line(caplog: pytest.LogCaptureFixture) -> None:
    text = "---\nmode: execution\ndate: 2026-09-24\ncontext: incident response: API timeout - 504s\ntags: [incident, api-timeout]\n---\nbody\n"
    caplog.set_level(logging.WARNING, logger="runbook_synth")
    logger = logging.getLogger("runbook_synth.ingest.files")
    logger.addHandler(caplog.handler)
    try:
        document = split_frontmatter(text, "obs/x.md")
    finally:
        logger.removeHandler(caplog.handler)
    assert document.metadata == {
        "mode": "execution",
        "date": "2026-09-24",
        "context": "incident response: API timeout - 504s",
        "tags": ["incident", "api-timeout"],
    }
    assert "obs/x.md: frontmatter is not valid YAML at line 4" in caplog.text


def test_journal_solution_keeps_exports(tmp_path: Path) -> None:
    path = write_error_journal(
        tmp_path,
        "2026-09-03",
        "sso",
        "SSO expired",
        "ExpiredToken",
        "The SSO session expired.",
        "export AWS_PROFILE=prod-admin\naws sso login --profile prod-admin\nprint('not shell')",
        "Log in first.",
    )
    observation = parse_source(path.relative_to(tmp_path).as_posix(), path.read_text())
    assert observation.failure.fix_commands == ("export AWS_PROFILE=prod-admin", "aws sso login --profile prod-admin")


def test_strict_refuses_what_lenient_reads_line_by_line() -> None:
    text = "---\nmode: execution\ncontext: incident response: API timeout\n---\nbody\n"
    with pytest.raises(SourceError, match="frontmatter is not valid YAML at line 3"):
        split_frontmatter(text, "obs/x.md", lenient=False)
