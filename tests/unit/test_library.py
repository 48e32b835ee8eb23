"""The runbook library: stable names, idempotent regeneration, the downgrade guard, a library that survives
bad sources and stores, and the index."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from runbook_synth import GenerateRequest, generate, load_settings
from runbook_synth.errors import RunbookSynthError
from runbook_synth.library import Outcome, regenerate, review
from runbook_synth.models import OutputFormat
from runbook_synth.settings import Settings
from runbook_synth.state import StateError
from tests.support.corpus import Call, Run, write_run
from tests.support.scenarios import write_deployment_history

DAY = date(2026, 11, 23)
LATER = date(2026, 11, 30)


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtimes of everything regeneration may touch: the library and the state folder."""
    found: dict[str, tuple[bytes, int]] = {}
    for folder in (root / "runbooks", root / ".runbook-synth"):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                # the lock holds its holder's pid only while held: idle, it is empty, so runs from different
                # processes leave the same bytes (its mtime still moves: it is written on every run)
                if path.name == "lock":
                    assert path.read_bytes() == b""
                mtime = 0 if path.name == "lock" else path.stat().st_mtime_ns
                found[path.relative_to(root).as_posix()] = (path.read_bytes(), mtime)
    return found


def _library(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "runbooks").rglob("*")) if p.is_file()
    }


def _rollback_run(index: int) -> Run:
    calls = (
        Call("aws lambda list-versions-by-function --function-name report_worker", '{"Versions": []}', "List versions"),
        Call(
            f"aws lambda update-alias --function-name report_worker --name live --function-version {10 + index}",
            '{"AliasArn": "arn"}',
            "Point the alias back",
        ),
        Call("curl -s https://api.example.com/health", '{"status": "healthy"}', "Check health"),
    )
    return Run(
        f"2026-09-2{index}",
        f"11:00:0{index}",
        "rollback-lambda",
        "rolled back report_worker",
        calls,
        ("rollback", "lambda"),
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_deployment_history(tmp_path)
    return tmp_path


@pytest.fixture
def settings(root: Path) -> Settings:
    return load_settings(root)


def test_names_are_stable_and_every_runbook_has_a_json_twin(root: Path, settings: Settings) -> None:
    report = regenerate(root, settings, today=DAY)
    assert [(r.name, r.outcome) for r in report.results] == [("deployment-lambda", Outcome.CREATED)]
    assert sorted(_library(root)) == [
        "runbooks/.data/deployment-lambda.json",
        "runbooks/deployment-lambda.md",
        "runbooks/index.md",
    ]
    assert "**Generated**: 2026-11-23" in (root / "runbooks/deployment-lambda.md").read_text()


def test_regenerating_twice_changes_nothing_byte_for_byte(root: Path, settings: Settings) -> None:
    regenerate(root, settings, today=DAY)
    before = _snapshot(root)
    report = regenerate(root, settings, today=LATER)
    assert not report.changed
    assert report.summary == "runbooks/: up to date, nothing written: 1 unchanged"
    assert _snapshot(root) == before  # the library, the store, the lock's bytes
    assert "**Generated**: 2026-11-23" in (root / "runbooks/deployment-lambda.md").read_text()


def test_without_the_store_an_unchanged_runbook_keeps_its_date_and_bytes(root: Path, settings: Settings) -> None:
    """A nightly job starts from a fresh clone: no state store, yet nothing may be rewritten."""
    regenerate(root, settings, today=DAY)
    before = _library(root)
    shutil.rmtree(root / ".runbook-synth")
    report = regenerate(root, settings, today=LATER)
    assert not report.changed
    assert _library(root) == before


def test_the_twin_is_what_generate_writes_as_json(root: Path, settings: Settings) -> None:
    regenerate(root, settings, today=DAY)
    twin = json.loads((root / "runbooks/.data/deployment-lambda.json").read_text())
    generated = generate(GenerateRequest(root, "deployment", "lambda", DAY, settings, OutputFormat.JSON))
    assert twin == json.loads(generated.text)


def test_a_changed_source_regenerates_only_its_runbook(root: Path, settings: Settings) -> None:
    for index in (0, 1):
        write_run(root, _rollback_run(index))
    regenerate(root, settings, today=DAY)
    rollback_before = (root / "runbooks/rollback-lambda.md").read_bytes()
    extra = _rollback_run(2)
    write_run(root, extra)
    report = regenerate(root, settings, today=LATER)
    outcomes = {r.name: r.outcome for r in report.results}
    assert outcomes["rollback-lambda"] == Outcome.UPDATED
    # the deployment runbook mines the rollback runs for its rollback section, so it changes too
    assert outcomes["deployment-lambda"] == Outcome.UPDATED
    assert (root / "runbooks/rollback-lambda.md").read_bytes() != rollback_before
    assert "**Generated**: 2026-11-30" in (root / "runbooks/rollback-lambda.md").read_text()


def test_check_writes_nothing_and_says_what_would_change(root: Path, settings: Settings) -> None:
    report = regenerate(root, settings, today=DAY, check=True)
    assert report.changed
    assert report.summary == "runbooks/: would write 1 (deployment-lambda), 0 unchanged, index.md would be created"
    assert not (root / "runbooks").exists()
    assert not (root / ".runbook-synth/state.sqlite").exists()


def _gut_sources(root: Path) -> None:
    """What a bad merge or a broken recorder looks like: most runs unreadable, the last one nearly empty."""
    runs = sorted((root / ".claude/observations").rglob("execution-*.md"))
    for path in runs[1:]:
        path.write_bytes(b"\xff\xfe\x00 not text")
    runs[0].write_text(
        "---\nmode: execution\ndate: 2026-09-01\ntags: [deployment, lambda]\n---\n\n# x\n\n```bash\n$ pytest -q\n```\n"
    )


@pytest.mark.parametrize("override", [False, True], ids=["packaged-template", "template-overriding-every-block"])
def test_the_downgrade_guard_reads_the_twin_not_the_prose(root: Path, tmp_path: Path, override: bool) -> None:
    templates = None
    if override:
        templates = tmp_path / "my-templates"
        templates.mkdir()
        blocks = ["header", "overview", "prerequisites", "procedure", "verification", "rollback"]
        blocks += ["monitoring", "troubleshooting", "references"]
        body = "".join(f"{{% block {name} %}}{name} is ours\n{{% endblock %}}" for name in blocks)
        (templates / "runbook.md.j2").write_text('{% extends "base.md.j2" %}' + body)
    settings = load_settings(root, {"min_runs": 1})
    regenerate(root, settings, today=DAY, templates_dir=templates)
    if override:
        assert "Mined from" not in (root / "runbooks/deployment-lambda.md").read_text()
    before = _library(root)
    _gut_sources(root)
    report = regenerate(root, settings, today=LATER, templates_dir=templates)
    (result,) = report.results
    assert result.outcome == Outcome.REFUSED
    assert result.reason == "would lose 6 of its 7 steps; --force replaces it"
    assert report.summary == (
        "runbooks/: up to date, nothing written: 0 unchanged, "
        "1 refused (deployment-lambda: would lose 6 of its 7 steps; --force replaces it)"
    )
    assert _library(root) == before
    forced = regenerate(root, settings, today=LATER, templates_dir=templates, force=True)
    assert forced.results[0].outcome == Outcome.UPDATED
    assert json.loads((root / "runbooks/.data/deployment-lambda.json").read_text())["run_count"] == 1


def test_a_corrupt_store_stops_before_writing_and_rebuild_recovers(root: Path, settings: Settings) -> None:
    regenerate(root, settings, today=DAY)
    before = _library(root)
    (root / ".runbook-synth/state.sqlite").write_bytes(b"this is not sqlite" * 100)
    write_run(root, _rollback_run(0))
    write_run(root, _rollback_run(1))
    with pytest.raises(StateError, match="--rebuild-state"):
        regenerate(root, settings, today=LATER)
    assert _library(root) == before
    report = regenerate(root, settings, today=LATER, rebuild_state=True)
    assert {r.name for r in report.results if r.outcome.writes} == {"deployment-lambda", "rollback-lambda"}


def test_a_failure_halfway_leaves_the_previous_library(root: Path, settings: Settings, tmp_path: Path) -> None:
    regenerate(root, settings, today=DAY)
    before = _library(root)
    write_run(root, _rollback_run(0))
    write_run(root, _rollback_run(1))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "index.md.j2").write_text("{% for x in %}")
    with pytest.raises(RunbookSynthError, match=r"index\.md\.j2:1: template syntax error"):
        regenerate(root, settings, today=LATER, templates_dir=broken)
    assert _library(root) == before


def test_a_corrupt_twin_is_regenerated_not_trusted(root: Path, settings: Settings) -> None:
    regenerate(root, settings, today=DAY)
    twin = root / "runbooks/.data/deployment-lambda.json"
    twin.write_text("{ not json")
    report = regenerate(root, settings, today=LATER)
    assert report.results[0].outcome == Outcome.UPDATED
    assert json.loads(twin.read_text())["run_count"] == 4


def test_named_patterns_and_unknown_names(root: Path, settings: Settings) -> None:
    write_run(root, _rollback_run(0))
    write_run(root, _rollback_run(1))
    report = regenerate(root, settings, today=DAY, names=["rollback-lambda"])
    assert [r.name for r in report.results] == ["rollback-lambda"]
    assert not (root / "runbooks/deployment-lambda.md").exists()
    with pytest.raises(RunbookSynthError, match=r"no pattern of that name .* ready ones: deployment-lambda, rollback"):
        regenerate(root, settings, today=DAY, names=["deploy-lamda"])


def test_progress_is_reported_per_pattern(root: Path, settings: Settings) -> None:
    seen: list[tuple[int, int, str]] = []
    regenerate(root, settings, today=DAY, progress=lambda done, total, name: seen.append((done, total, name)))
    assert seen == [(0, 1, "deployment-lambda"), (1, 1, "index.md")]


def test_the_index_lists_every_runbook_with_staleness_and_scenarios(root: Path, settings: Settings) -> None:
    for index in (0, 1):
        write_run(root, _rollback_run(index))
    regenerate(root, settings, today=date(2026, 10, 10))
    index = (root / "runbooks/index.md").read_text()
    assert "| [deployment-lambda](deployment-lambda.md) | deployment | lambda | 7 | 4 | 2026-09-04 | Monthly |" in index
    assert (
        "| [rollback-lambda](rollback-lambda.md) | rollback | lambda | 3 | 2 | 2026-09-21 | Monthly | due 2026-10-22 |"
        in index
    )
    assert "**overdue since 2026-10-05**" in index
    assert "- ECR authorization token expired → [deployment-lambda](deployment-lambda.md)" in index


def test_the_index_keeps_runbooks_that_were_not_regenerated(root: Path, settings: Settings) -> None:
    for index in (0, 1):
        write_run(root, _rollback_run(index))
    regenerate(root, settings, today=DAY)
    regenerate(root, settings, today=DAY, names=["deployment-lambda"])
    index = (root / "runbooks/index.md").read_text()
    assert "[rollback-lambda](rollback-lambda.md)" in index and "[deployment-lambda](deployment-lambda.md)" in index


def test_review_due_dates() -> None:
    assert review("2026-09-04", "Monthly", date(2026, 10, 5)).status == "due 2026-10-05"
    assert review("2026-09-04", "Monthly", date(2026, 10, 6)).stale
    assert review("2026-09-04", "Quarterly", date(2026, 10, 6)).status == "due 2026-12-05"
    assert review("", "Monthly", date(2026, 10, 6)).status == "unknown"
    assert review("2026-09-04", "when it breaks", date(2030, 1, 1)) == replace(review("", "", DAY))


def test_a_regeneration_selects_each_pattern_once(
    root: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The survey, the sources digest and mining ask for the same selections; each is made once (a pattern of
    thousands of runs takes a tenth of a second to select)."""
    from runbook_synth import cluster

    for index in (0, 1):
        write_run(root, _rollback_run(index))
    asked: list[tuple[str, str]] = []
    real = cluster.select

    def counting(*args: Any) -> Any:
        asked.append((args[2], args[3]))
        return real(*args)

    monkeypatch.setattr(cluster, "select", counting)
    report = regenerate(root, settings, today=DAY)
    assert {r.name for r in report.results if r.outcome == Outcome.CREATED} == {"deployment-lambda", "rollback-lambda"}
    assert ("deployment", "lambda") in asked and ("rollback", "lambda") in asked
    assert len(asked) == len(set(asked))
