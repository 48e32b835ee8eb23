"""`runbook lint` as a library: one broken runbook per rule, a long messy real-world guide, the formatters."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from runbook_synth.errors import RunbookSynthError
from runbook_synth.lint import (
    Finding,
    LintReport,
    Severity,
    exit_code,
    format_github,
    format_json,
    format_text,
    lint_markdown,
    lint_paths,
)
from runbook_synth.lint_rules import RULES, rules_markdown_table

DATA = Path(__file__).resolve().parents[1] / "data" / "lint"
REPO = DATA / "repo"
TODAY = date(2026, 11, 23)


def lint_one(path: Path, disabled: frozenset[str] = frozenset()) -> LintReport:
    return lint_paths([path], repo_root=REPO, today=TODAY, disabled=disabled)


def rule_ids(report: LintReport) -> list[str]:
    return [f.rule_id for f in report.findings]


# Each broken file is good.md with one thing taken away; the ids are everything it must produce.
BROKEN = {
    "RB001-missing-title.md": ["RB001"],
    "RB002-missing-owner.md": ["RB002"],
    "RB003-missing-last-updated.md": ["RB003"],
    "RB004-missing-risk-level.md": ["RB004"],
    "RB005-missing-scope.md": ["RB005"],
    "RB006-missing-out-of-scope.md": ["RB006"],
    "RB007-missing-prerequisites.md": ["RB007"],
    "RB008-missing-preflight.md": ["RB008"],
    "RB009-missing-procedure.md": ["RB009"],
    "RB010-missing-verification.md": ["RB010"],
    "RB011-missing-rollback.md": ["RB011"],
    "RB011-rollback-todo.md": ["RB011"],
    "RB012-missing-troubleshooting.md": ["RB012"],
    "RB013-missing-escalation.md": ["RB013"],
    "RB014-incomplete-escalation.md": ["RB014"],
    "RB015-missing-post-execution.md": ["RB015"],
    "RB016-missing-approval-gate.md": ["RB016"],
    "RB020-step-without-command.md": ["RB020"],
    "RB021-step-without-expected-output.md": ["RB021"],
    "RB022-step-without-verification.md": ["RB020", "RB022"],
    "RB023-vague-step.md": ["RB020", "RB023"],
    "RB024-too-many-steps.md": ["RB024"],
    "RB030-unexplained-placeholder.md": ["RB030"],
    "RB031-missing-file.md": ["RB031"],
    "RB032-stale-runbook.md": ["RB032"],
    "RB033-missing-review-frequency.md": ["RB033"],
    "RB090-unreadable-file.md": ["RB090"],
    "RB091-bad-disable-comment.md": ["RB091"],
}


def test_the_complete_runbook_passes_every_rule() -> None:
    assert lint_one(DATA / "good.md").findings == ()


@pytest.mark.parametrize(("name", "expected"), sorted(BROKEN.items()))
def test_each_broken_runbook_trips_exactly_its_rule(name: str, expected: list[str]) -> None:
    assert rule_ids(lint_one(DATA / name)) == expected


def test_every_rule_has_a_file_that_breaks_it() -> None:
    covered = {rule_id for ids in BROKEN.values() for rule_id in ids}
    assert covered == {rule.id for rule in RULES}
    for rule in RULES:
        assert any(name.startswith(rule.id) for name in BROKEN), rule.id


def test_findings_name_the_line_and_carry_the_fix() -> None:
    [finding] = lint_one(DATA / "RB030-unexplained-placeholder.md").findings
    assert (finding.line, finding.slug, finding.severity) == (41, "unexplained-placeholder", Severity.WARNING)
    assert "`{cert_arn}`" in finding.message
    assert finding.fix.startswith("List it in a Parameters table")


def test_a_todo_section_is_a_warning_not_an_error() -> None:
    [todo] = lint_one(DATA / "RB011-rollback-todo.md").findings
    [missing] = lint_one(DATA / "RB011-missing-rollback.md").findings
    assert (todo.severity, missing.severity) == (Severity.WARNING, Severity.ERROR)
    assert todo.line == 54 and "TODO" in todo.message


@pytest.mark.parametrize(
    "body",
    [
        "_TODO: no rollback was recorded for this scope._",
        "TODO: write the rollback",
        "No rollback was observed for this scope. Record one with `/observe execution` next time.",
    ],
)
def test_todo_shapes_that_generated_runbooks_write(body: str) -> None:
    text = (DATA / "good.md").read_text()
    start = text.index("## Rollback\n") + len("## Rollback\n\n")
    end = text.index("## Troubleshooting")
    findings = lint_markdown(text[:start] + body + "\n\n" + text[end:], path=Path("x.md"), repo_root=REPO, today=TODAY)
    assert [(f.rule_id, f.severity) for f in findings] == [("RB011", Severity.WARNING)]


def test_stale_uses_the_review_frequency_and_the_clock_passed_in() -> None:
    text = (DATA / "good.md").read_text().replace("Quarterly", "Weekly")
    on_time = lint_markdown(text, path=Path("x.md"), repo_root=REPO, today=date(2026, 11, 8))
    late = lint_markdown(text, path=Path("x.md"), repo_root=REPO, today=date(2026, 11, 9))
    assert on_time == ()
    assert [(f.rule_id, f.message) for f in late] == [
        ("RB032", "Last Updated 2026-11-01 is 8 days old; Review Frequency 'Weekly' allows 7")
    ]


# --------------------------------------------------------------------------------------------------
# A real team's guide: box-drawing and ASCII diagrams, mermaid, tables, console blocks with output,
# nested lists, numbered headings, front matter, a FAQ and a changelog. Only the gaps put in it show up.


def test_long_messy_guide_reports_only_its_real_gaps() -> None:
    path = DATA / "messy-deployment-guide.md"
    assert len(path.read_text().splitlines()) >= 600
    found = [(f.line, f.rule_id) for f in lint_one(path).findings]
    assert found == [
        (17, "RB032"),  # Last reviewed 1 Sep 2026, Monthly cadence
        (300, "RB021"),  # 4.8 Warm the caches: no expected output
        (303, "RB031"),  # ./scripts/warm-cache.sh is not in the repository
        (323, "RB030"),  # <release-tag> is never explained
        (459, "RB023"),  # "Then investigate the issue."
        (472, "RB014"),  # escalation: when and who, but not what to provide
    ]


# --------------------------------------------------------------------------------------------------
# Disabling


def test_a_comment_disables_rules_by_id_or_slug_for_that_file(tmp_path: Path) -> None:
    text = (DATA / "RB011-missing-rollback.md").read_text()
    (tmp_path / "a.md").write_text(text + "\n<!-- runbook-lint: disable=RB004, missing-rollback -->\n")
    (tmp_path / "b.md").write_text(text)
    report = lint_paths([tmp_path], repo_root=REPO, today=TODAY)
    assert [(f.path.name, f.rule_id) for f in report.findings] == [("b.md", "RB011")]


def test_a_disable_comment_inside_a_code_block_is_only_an_example(tmp_path: Path) -> None:
    text = (DATA / "RB011-missing-rollback.md").read_text()
    (tmp_path / "a.md").write_text(text + "\n```markdown\n<!-- runbook-lint: disable=RB011 -->\n```\n")
    assert rule_ids(lint_paths([tmp_path], repo_root=REPO, today=TODAY)) == ["RB011"]


def test_disabled_globally_by_slug_or_id() -> None:
    path = DATA / "RB022-step-without-verification.md"
    assert rule_ids(lint_one(path, disabled=frozenset({"step-without-command"}))) == ["RB022"]
    assert rule_ids(lint_one(path, disabled=frozenset({"RB020", "rb022"}))) == []


def test_an_unknown_disabled_rule_raises_with_did_you_mean() -> None:
    with pytest.raises(
        RunbookSynthError, match=r"unknown lint rule 'missing-rolback'; did you mean 'missing-rollback'"
    ):
        lint_one(DATA / "good.md", disabled=frozenset({"missing-rolback"}))


# --------------------------------------------------------------------------------------------------
# Files and folders


def test_folder_walk_skips_indexes_and_tool_folders(tmp_path: Path) -> None:
    good = (DATA / "good.md").read_text()
    for relative in ("runbooks/a.md", "runbooks/deep/b.md", "runbooks/index.md", "runbooks/README.md"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(good)
    for skipped in (".git", ".venv", "node_modules"):
        (tmp_path / "runbooks" / skipped).mkdir()
        (tmp_path / "runbooks" / skipped / "c.md").write_text("not a runbook")
    (tmp_path / "runbooks" / "notes.txt").write_text("not markdown")
    report = lint_paths([tmp_path / "runbooks"], repo_root=REPO, today=TODAY)
    assert [p.relative_to(tmp_path).as_posix() for p in report.files] == ["runbooks/a.md", "runbooks/deep/b.md"]
    explicit = lint_paths([tmp_path / "runbooks" / "index.md"], repo_root=REPO, today=TODAY)
    assert len(explicit.files) == 1


def test_a_missing_path_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(RunbookSynthError, match=r"nope\.md: no such file or folder"):
        lint_paths([tmp_path / "nope.md"], repo_root=REPO, today=TODAY)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"# Caf\xe9\n", "is not UTF-8 (byte 0xe9 at offset 5); save it as UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "is a binary file, not markdown"),
    ],
)
def test_unreadable_files_are_findings_not_tracebacks(tmp_path: Path, data: bytes, message: str) -> None:
    (tmp_path / "x.md").write_bytes(data)
    [finding] = lint_paths([tmp_path / "x.md"], repo_root=REPO, today=TODAY).findings
    assert (finding.rule_id, finding.message) == ("RB090", message)


def test_crlf_and_bom_read_like_plain_text(tmp_path: Path) -> None:
    text = (DATA / "good.md").read_text()
    (tmp_path / "x.md").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    assert lint_paths([tmp_path / "x.md"], repo_root=REPO, today=TODAY).findings == ()


# --------------------------------------------------------------------------------------------------
# Output


def _report() -> LintReport:
    finding = Finding(
        path=Path("runbooks/deploy.md"),
        line=1,
        rule_id="RB011",
        slug="missing-rollback",
        severity=Severity.ERROR,
        message="no rollback section",
        fix="Add a `## Rollback` section, or state why rollback is not applicable.",
    )
    note = Finding(Path("runbooks/deploy.md"), 4, "RB033", "missing-review-frequency", Severity.INFO, "a, b", "fix")
    return LintReport(files=(Path("runbooks/deploy.md"),), findings=(finding, note))


def test_format_text() -> None:
    assert format_text(_report()) == (
        "runbooks/deploy.md:1: error RB011 missing-rollback: no rollback section\n"
        "    fix: Add a `## Rollback` section, or state why rollback is not applicable.\n"
        "runbooks/deploy.md:4: info RB033 missing-review-frequency: a, b\n"
        "    fix: fix\n"
        "1 file linted: 1 error, 0 warnings, 1 info\n"
    )


def test_format_json() -> None:
    document = json.loads(format_json(_report()))
    assert document["summary"] == {"error": 1, "warning": 0, "info": 1}
    assert document["findings"][0] == {
        "rule": "RB011",
        "slug": "missing-rollback",
        "severity": "error",
        "path": "runbooks/deploy.md",
        "line": 1,
        "message": "no rollback section",
        "fix": "Add a `## Rollback` section, or state why rollback is not applicable.",
    }


def test_format_github_annotations() -> None:
    assert format_github(_report()).splitlines() == [
        "::error file=runbooks/deploy.md,line=1,title=RB011 missing-rollback::no rollback section. "
        "Fix: Add a `## Rollback` section, or state why rollback is not applicable.",
        "::notice file=runbooks/deploy.md,line=4,title=RB033 missing-review-frequency::a, b. Fix: fix",
    ]


@pytest.mark.parametrize(("fail_on", "code"), [(Severity.ERROR, 1), (Severity.WARNING, 1), (Severity.INFO, 1)])
def test_exit_code_with_an_error(fail_on: Severity, code: int) -> None:
    assert exit_code(_report(), fail_on) == code


def test_exit_code_counts_only_findings_at_or_above_fail_on() -> None:
    report = lint_one(DATA / "RB004-missing-risk-level.md")  # one warning
    assert exit_code(report) == 0
    assert exit_code(report, Severity.WARNING) == 1
    assert exit_code(lint_one(DATA / "good.md"), Severity.INFO) == 0


def test_findings_are_sorted_by_path_then_line() -> None:
    report = lint_paths([DATA], repo_root=REPO, today=TODAY)
    keys = [(str(f.path), f.line, f.rule_id) for f in report.findings]
    assert keys == sorted(keys)


# --------------------------------------------------------------------------------------------------
# The rules table


def test_rules_are_unique_and_the_table_lists_every_one() -> None:
    assert len({r.id for r in RULES}) == len({r.slug for r in RULES}) == len(RULES)
    table = rules_markdown_table()
    rows = table.splitlines()[2:]
    assert [row.split(" | ")[0].lstrip("| ") for row in rows] == [rule.id for rule in RULES]
    assert "| RB011 | `missing-rollback` | error | No rollback procedure. |" in table


def test_a_parameter_table_explains_placeholders_wherever_it_sits() -> None:
    text = (DATA / "good.md").read_text().replace("## Parameters", "## Reference")
    assert lint_markdown(text, path=Path("x.md"), repo_root=REPO, today=TODAY) == ()
    no_header = text.replace("| Parameter | Meaning |", "| Thing | Note |")
    assert [f.rule_id for f in lint_markdown(no_header, path=Path("x.md"), repo_root=REPO, today=TODAY)] == [
        "RB030",
        "RB030",
    ]


def test_a_troubleshooting_entry_about_rollback_is_not_the_rollback_section() -> None:
    text = (DATA / "RB011-missing-rollback.md").read_text()
    text = text.replace(
        "## Troubleshooting\n", "## Troubleshooting\n\n### Rollback failed after deploy\n\nSee above.\n"
    )
    findings = lint_markdown(text, path=Path("x.md"), repo_root=REPO, today=TODAY)
    assert [f.rule_id for f in findings] == ["RB011"]
