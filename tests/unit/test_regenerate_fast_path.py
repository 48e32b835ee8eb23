"""The fast path of `regenerate`: an unchanged library is recognised from the store's record (sizes, mtimes and
digests of every input, digests of every output) without parsing anything; any change takes the full path and
gives what the full path always gave."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from runbook_synth import library, load_settings, snapshot
from runbook_synth.errors import EmptyRunbookError, RunbookSynthError
from runbook_synth.library import Outcome, regenerate
from runbook_synth.settings import Settings
from runbook_synth.state import STATE_DIR, STATE_FILE, StateStore
from tests.support.corpus import write_run
from tests.support.scenarios import write_deployment_history
from tests.unit.test_library import _rollback_run

DAY = date(2026, 11, 23)
LATER = date(2026, 11, 30)
UP_TO_DATE = "runbooks/: up to date, nothing written: 2 unchanged"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_deployment_history(tmp_path)
    for index in (0, 1):
        write_run(tmp_path, _rollback_run(index))
    return tmp_path


@pytest.fixture
def settings(root: Path) -> Settings:
    return load_settings(root)


@pytest.fixture
def mined(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """Every time regeneration ingests the sources (the full path), the root it read."""
    calls: list[Path] = []
    real = library.mine_corpus

    def counting(root: Path, settings: Settings, strict: bool = False) -> library.MinedCorpus:
        calls.append(root)
        return real(root, settings, strict)

    monkeypatch.setattr(library, "mine_corpus", counting)
    yield calls


def _library(root: Path) -> dict[str, bytes]:
    folder = root / "runbooks"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _age_sources(root: Path, seconds: int = 3600) -> None:
    """Sources written an hour ago, as in a real repository: their size and mtime are then trusted."""
    for path in (root / ".claude").rglob("*.md"):
        info = path.stat()
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns - seconds * 1_000_000_000))


def _first_deployment(root: Path) -> Path:
    runs = sorted(p for p in (root / ".claude/observations").rglob("*.md") if "deploy" in p.read_text())
    return runs[0]


def test_an_unchanged_library_is_reported_up_to_date_without_ingesting(
    root: Path, settings: Settings, mined: list[Path]
) -> None:
    _age_sources(root)
    regenerate(root, settings, today=DAY)
    assert len(mined) == 1
    before = _library(root)
    store = (root / STATE_DIR / STATE_FILE).read_bytes()
    report = regenerate(root, settings, today=LATER)
    assert len(mined) == 1  # nothing was ingested the second time
    assert not report.changed
    assert report.summary == UP_TO_DATE
    assert [(r.name, r.outcome) for r in report.results] == [
        ("deployment-lambda", Outcome.UNCHANGED),
        ("rollback-lambda", Outcome.UNCHANGED),
    ]
    assert _library(root) == before
    assert (root / STATE_DIR / STATE_FILE).read_bytes() == store


def test_the_fast_report_is_the_full_paths_report(root: Path, settings: Settings, mined: list[Path]) -> None:
    regenerate(root, settings, today=DAY)
    full = regenerate(root, settings, today=DAY, force=True)  # --force always takes the full path
    fast = regenerate(root, settings, today=DAY)
    assert len(mined) == 2
    assert fast == full
    assert regenerate(root, settings, today=DAY, check=True) == library.RegenerateReport(
        full.results, full.index, True, full.folder
    )
    assert len(mined) == 2


def test_an_edited_source_takes_the_full_path_and_changes_its_runbook(
    root: Path, settings: Settings, mined: list[Path]
) -> None:
    _age_sources(root)
    regenerate(root, settings, today=DAY)
    rollback = (root / "runbooks/rollback-lambda.md").read_bytes()
    write_run(root, _rollback_run(2))
    report = regenerate(root, settings, today=LATER)
    assert len(mined) == 2
    outcomes = {r.name: r.outcome for r in report.results}
    assert outcomes["rollback-lambda"] == Outcome.UPDATED
    assert (root / "runbooks/rollback-lambda.md").read_bytes() != rollback
    assert regenerate(root, settings, today=LATER).summary == UP_TO_DATE
    assert len(mined) == 2


def test_a_file_rewritten_to_the_same_size_within_its_mtime_tick_is_read_again(
    root: Path, settings: Settings, mined: list[Path]
) -> None:
    """Size and mtime are trusted only for files that were not modified just before they were looked at."""
    path = _first_deployment(root)
    regenerate(root, settings, today=DAY)  # the fixture wrote the sources a moment ago: they are racy
    before = (root / "runbooks/deployment-lambda.md").read_text()
    info = path.stat()
    text = path.read_text()
    changed = text.replace("report_worker", "report_wurker", 1)
    assert len(changed) == len(text) and changed != text
    path.write_text(changed)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))  # same size, same mtime
    regenerate(root, settings, today=DAY)
    assert len(mined) == 2
    assert (root / "runbooks/deployment-lambda.md").read_text() != before


def test_a_touched_but_unchanged_file_keeps_the_fast_path(root: Path, settings: Settings, mined: list[Path]) -> None:
    _age_sources(root)
    regenerate(root, settings, today=DAY)
    path = _first_deployment(root)
    path.write_bytes(path.read_bytes())  # a checkout: new mtime, same content
    _age_sources(root, 60)
    assert regenerate(root, settings, today=DAY).summary == UP_TO_DATE
    assert regenerate(root, settings, today=DAY).summary == UP_TO_DATE
    assert len(mined) == 1


def test_a_changed_template_takes_the_full_path(root: Path, settings: Settings, tmp_path: Path) -> None:
    templates = tmp_path / "my-templates"
    templates.mkdir()
    regenerate(root, settings, today=DAY, templates_dir=templates)
    (templates / "runbook.md.j2").write_text("# {{ runbook.operation_type }} {{ runbook.scope }}\n")
    report = regenerate(root, settings, today=DAY, templates_dir=templates)
    assert {r.outcome for r in report.results} == {Outcome.UPDATED}
    assert (root / "runbooks/deployment-lambda.md").read_text() == "# deployment lambda\n"


def test_changed_settings_take_the_full_path(root: Path, settings: Settings) -> None:
    regenerate(root, settings, today=DAY)
    report = regenerate(root, Settings(owner="platform-team"), today=DAY)
    assert report.changed
    assert "platform-team" in (root / "runbooks/deployment-lambda.md").read_text()


def test_a_runbook_edited_or_deleted_by_hand_takes_the_full_path(
    root: Path, settings: Settings, mined: list[Path]
) -> None:
    regenerate(root, settings, today=DAY)
    generated = _library(root)
    markdown = root / "runbooks/deployment-lambda.md"
    markdown.write_text(markdown.read_text() + "\nA note added by hand.\n")
    report = regenerate(root, settings, today=DAY)
    assert len(mined) == 2  # the full path, which keeps a hand edit of an unchanged runbook, as it always did
    assert report.summary == UP_TO_DATE
    (root / "runbooks/.data/rollback-lambda.json").unlink()
    markdown.unlink()
    report = regenerate(root, settings, today=DAY)
    assert len(mined) == 3
    assert {r.name: r.outcome for r in report.results} == {
        "deployment-lambda": Outcome.CREATED,
        "rollback-lambda": Outcome.CREATED,  # its twin is created again; its markdown was already right
    }
    assert _library(root) == generated


def test_a_runbook_falling_due_for_review_updates_the_index(root: Path, settings: Settings, mined: list[Path]) -> None:
    regenerate(root, settings, today=date(2026, 10, 1))
    assert regenerate(root, settings, today=date(2026, 10, 4)).summary == UP_TO_DATE
    assert len(mined) == 1
    report = regenerate(root, settings, today=date(2026, 10, 10))  # deployment-lambda was due on 2026-10-05
    assert len(mined) == 2
    assert report.index == Outcome.UPDATED
    assert "**overdue since 2026-10-05**" in (root / "runbooks/index.md").read_text()


def test_code_or_a_stored_record_that_differs_takes_the_full_path(
    root: Path, settings: Settings, mined: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    regenerate(root, settings, today=DAY)
    monkeypatch.setattr(snapshot, "code_digest", lambda: "another version")
    assert regenerate(root, settings, today=DAY).summary == UP_TO_DATE
    assert len(mined) == 2
    with StateStore.open(root) as store:
        record = store.runbook_record("rollback-lambda")
        assert record is not None
        with store.transaction():
            store.set_runbook_record(record.__class__(**{**record.__dict__, "sources_digest": "edited"}))
    regenerate(root, settings, today=DAY)
    assert len(mined) == 3


def test_warnings_are_said_again_and_a_quiet_record_does_not_hide_them(
    root: Path, settings: Settings, mined: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    (root / ".claude/observations/broken.md").write_bytes(b"\xff\xfe not text")
    logger = logging.getLogger("runbook_synth")
    previous = logger.level
    logger.setLevel(logging.ERROR)  # --quiet
    try:
        regenerate(root, settings, today=DAY)
    finally:
        logger.setLevel(previous)
    assert len(mined) == 1
    with caplog.at_level(logging.WARNING, logger="runbook_synth"):
        regenerate(root, settings, today=DAY)  # warnings shown now: the quiet record cannot say them
        assert len(mined) == 2
        full = [r.getMessage() for r in caplog.records if "broken.md" in r.getMessage()]
        caplog.clear()
        regenerate(root, settings, today=DAY)
        assert len(mined) == 2
        fast = [r.getMessage() for r in caplog.records if "broken.md" in r.getMessage()]
    assert full and fast == full


def test_a_store_of_the_previous_schema_opens_and_gets_the_record_table(tmp_path: Path) -> None:
    from runbook_synth import state

    folder = tmp_path / STATE_DIR
    folder.mkdir()
    conn = sqlite3.connect(folder / STATE_FILE)
    for step in state._MIGRATIONS[:2]:
        step(conn)
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with StateStore.open(tmp_path) as store:
        assert store.regeneration("library") is None
        store.set_regeneration("library", "{}")
        assert store.regeneration("library") == "{}"
    with sqlite3.connect(folder / STATE_FILE) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == state.SCHEMA_VERSION == 5


def _record(root: Path, name: str = "library") -> Any:
    import json

    with StateStore.open(root, readonly=True) as store:
        raw = store.regeneration(name)
    assert raw is not None
    return json.loads(raw)


def test_the_record_keeps_no_source_path_in_clear(root: Path, settings: Settings) -> None:
    secret = root / ".claude/observations/2026-09-01/ghp_abcdefghijklmnopqrstuvwxyz0123456789.md"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text("---\nmode: execution\n---\n\n# x\n")
    regenerate(root, settings, today=DAY)
    assert "ghp_" not in str(_record(root)) and "ghp_" not in str(_record(root, "library/files"))
    assert len(_record(root, "library/files")) == len(list((root / ".claude").rglob("*.md")))


# --- the cold parse on every core -----------------------------------------------------------------------------------


def _corpus_of(root: Path, settings: Settings) -> Any:
    from runbook_synth.ingest.local import load_corpus

    return load_corpus(root, settings)


def test_the_process_pool_gives_what_one_process_gives(
    root: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from runbook_synth.ingest import local

    (root / ".claude/observations/broken.md").write_bytes(b"\xff\xfe not text")
    (root / ".claude/observations/loose.md").write_text(
        "---\nmode: execution\ntitle: deploy: lambda\n---\n\n# loose\n\n    $ ls\n"
    )
    with caplog.at_level(logging.WARNING, logger="runbook_synth"):
        serial = _corpus_of(root, settings)
        said_serially = [r.getMessage() for r in caplog.records]
        caplog.clear()
        calls: list[int] = []
        monkeypatch.setattr(local, "_workers", lambda files: calls.append(files) or 2)
        pooled = _corpus_of(root, settings)
        said_by_pool = [r.getMessage() for r in caplog.records]
    assert calls and calls[0] > 2
    assert pooled == serial
    assert said_by_pool == said_serially
    assert any("loose.md" in m and "line by line" in m for m in said_by_pool)  # said by the parser, in a worker


def test_pooled_parses_fill_the_cache_that_the_next_run_reads(
    root: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runbook_synth.ingest import local

    StateStore.open(root).close()
    monkeypatch.setattr(local, "_workers", lambda files: 2)
    first = _corpus_of(root, settings)
    with StateStore.open(root, readonly=True) as store:
        assert len(store.parsed_digests()) == len(first.observations)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("parsed a file the cache holds")

    monkeypatch.setattr(local, "_parse_file", refuse)  # a second run must not parse anything
    monkeypatch.setattr(local, "_workers", lambda files: 1 if files == 0 else 1 // 0)
    assert _corpus_of(root, settings) == first


def test_a_changed_parser_never_reads_the_parse_cache(
    root: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runbook_synth.ingest import local

    StateStore.open(root).close()
    _corpus_of(root, settings)
    parsed: list[str] = []
    real = local._parse_file

    def counting(source: Any, **kwargs: Any) -> Any:
        parsed.append(source.relative)
        return real(source, **kwargs)

    monkeypatch.setattr(local, "_parse_file", counting)
    _corpus_of(root, settings)
    assert parsed == []
    local._parser_digest.cache_clear()
    monkeypatch.setattr(local, "_PARSER_MODULES", ("codec.py",))  # another parser
    try:
        _corpus_of(root, settings)
    finally:
        local._parser_digest.cache_clear()
    assert parsed


def test_library_callers_parse_in_this_process_and_the_cli_may_use_a_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """A script calling the library may lack an `if __name__ == "__main__"` guard, and a spawned worker would
    re-run it from the top: only the CLI turns the pool on, and a worker never starts one of its own."""
    from runbook_synth import cli, processes
    from runbook_synth.ingest import local

    monkeypatch.setitem(processes._ALLOWED, "pools", False)
    assert local._workers(10_000) == 1
    monkeypatch.setattr(cli, "app", lambda: None)
    cli.main()
    assert processes.process_pools_allowed()
    assert local._workers(10_000) == min(len(os.sched_getaffinity(0)), 10_000 // (local.POOL_MIN // 2))


def _square_saying_pid(item: int) -> int:
    logging.getLogger("runbook_synth.test").warning("item %d in %d", item, os.getpid())
    if item == 3:
        raise EmptyRunbookError("item 3 has no step")
    return item * item


def test_forked_map_keeps_item_order_says_what_children_logged_in_order_and_re_raises(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from runbook_synth import processes

    with caplog.at_level(logging.WARNING, logger="runbook_synth"):
        assert processes.forked_map(_square_saying_pid, [5, 1, 4, 2], workers=2) == [25, 1, 16, 4]
    said = [r.getMessage() for r in caplog.records]
    assert [m.split(" in ")[0] for m in said] == ["item 5", "item 1", "item 4", "item 2"]
    assert str(os.getpid()) not in {m.split(" in ")[1] for m in said}  # computed in the children
    with pytest.raises(RunbookSynthError, match="item 3 has no step"):
        processes.forked_map(_square_saying_pid, [1, 3, 2], workers=2)


def test_runbooks_mined_in_forked_processes_are_those_one_process_mines(
    root: Path,
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The CLI mines many big patterns in forks: the same bytes, the same report, the same warnings, in order."""
    import shutil

    from runbook_synth import processes

    other = tmp_path_factory.mktemp("forked")
    shutil.copytree(root, other, dirs_exist_ok=True)
    real = library.mine_runbook

    def saying(mined: Any, pattern: Any, settings: Settings, today: date) -> Any:
        logging.getLogger("runbook_synth.test").warning(
            "mining %s %s in %d", pattern.operation_type, pattern.scope, os.getpid()
        )
        return real(mined, pattern, settings, today)

    def said() -> list[tuple[str, str]]:
        found = [r.getMessage().rpartition(" in ") for r in caplog.records if r.getMessage().startswith("mining ")]
        caplog.clear()
        return [(text, pid) for text, _, pid in found]

    monkeypatch.setattr(library, "mine_runbook", saying)
    with caplog.at_level(logging.WARNING, logger="runbook_synth"):
        serial_report = regenerate(root, settings, today=DAY)
        serially = said()
        used: list[int] = []
        real_map = processes.forked_map

        def counting(function: Any, items: Any, workers: int, done: Any = None) -> Any:
            used.append(workers)
            return real_map(function, items, workers, done)

        monkeypatch.setitem(processes._ALLOWED, "pools", True)
        monkeypatch.setattr(processes, "cores", lambda: 2)
        monkeypatch.setattr(library, "FORK_MIN_RUNS", 0)
        monkeypatch.setattr(processes, "forked_map", counting)
        forked_report = regenerate(other, load_settings(other), today=DAY)
        in_forks = said()
    assert used == [2]
    assert len(serially) == 2 and {pid for _, pid in serially} == {str(os.getpid())}
    assert [text for text, _ in in_forks] == [text for text, _ in serially]  # said in the same order
    assert str(os.getpid()) not in {pid for _, pid in in_forks}  # but mined in the children
    assert forked_report == serial_report
    assert _library(other) == _library(root)


def test_only_runbooks_whose_sources_parse_differently_are_mined_again(
    root: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sources digest follows what parsing gave each file: bytes the parse does not see (blank lines at
    the end) mine nothing again; a new line of notes in a deployment run mines its runbook again."""
    regenerate(root, settings, today=DAY)
    mined_patterns: list[str] = []
    real = library.mine_runbook

    def counting(mined: library.MinedCorpus, pattern: Any, settings: Settings, today: date) -> Any:
        mined_patterns.append(f"{pattern.operation_type} {pattern.scope}")
        return real(mined, pattern, settings, today)

    monkeypatch.setattr(library, "mine_runbook", counting)
    path = _first_deployment(root)
    text = path.read_text()
    path.write_text(text + "\n\n\n")
    report = regenerate(root, settings, today=DAY)
    assert {r.outcome for r in report.results} == {Outcome.UNCHANGED}
    assert mined_patterns == []
    path.write_text(text.replace("## Tool Calls", "Checked the dashboard first.\n\n## Tool Calls", 1))
    report = regenerate(root, settings, today=DAY)
    assert "deployment lambda" in mined_patterns
