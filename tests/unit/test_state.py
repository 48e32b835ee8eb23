"""The state store: round trips, windows and ordering, migration, bad files and the way out, concurrency."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbook_synth import state
from runbook_synth.errors import RunbookSynthError, SourceError
from runbook_synth.state import (
    SCHEMA_VERSION,
    Fingerprint,
    RunbookRecord,
    SourceRecord,
    StateError,
    StateStore,
    fingerprint_file,
)

# The v1 schema exactly as version 1 wrote it, kept literal so a change to the code cannot hide a broken migration.
V1_SCHEMA = [
    "CREATE TABLE fingerprints (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
    " digest TEXT NOT NULL)",
    "CREATE TABLE parsed (path TEXT PRIMARY KEY, digest TEXT NOT NULL, payload TEXT NOT NULL)",
    "CREATE TABLE runbooks (name TEXT PRIMARY KEY, operation_type TEXT NOT NULL, scope TEXT NOT NULL,"
    " sources_digest TEXT NOT NULL, sources TEXT NOT NULL, run_count INTEGER NOT NULL,"
    " step_count INTEGER NOT NULL, generated TEXT NOT NULL)",
]


def db_path(root: Path) -> Path:
    return root / ".runbook-synth" / "state.sqlite"


def rec(
    key: str, ts: int, scope: str = "/aws/lambda/api", source: str = "cloudwatch", payload: str = "{}"
) -> SourceRecord:
    return SourceRecord(source=source, key=key, scope=scope, timestamp_ms=ts, payload=payload)


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def make_v1_store(root: Path) -> Path:
    path = db_path(root)
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    for sql in V1_SCHEMA:
        conn.execute(sql)
    conn.execute("INSERT INTO fingerprints VALUES ('notes/a.md', 10, 123, 'abc')")
    conn.execute(
        "INSERT INTO runbooks VALUES ('deployment-lambda', 'deployment', 'lambda', 'd1', '[\"a.md\", \"b.md\"]', 8, 10, '2026-11-23')"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore.open(tmp_path) as opened:
        yield opened


# --- creation -------------------------------------------------------------------------------------------------------


def test_open_creates_the_folder_the_gitignore_and_a_current_wal_store(tmp_path: Path) -> None:
    with StateStore.open(tmp_path) as store:
        assert store.path == db_path(tmp_path)
    assert (tmp_path / ".runbook-synth" / ".gitignore").read_text() == "*\n"
    assert user_version(db_path(tmp_path)) == SCHEMA_VERSION
    conn = sqlite3.connect(db_path(tmp_path))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_an_existing_gitignore_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / ".runbook-synth").mkdir()
    (tmp_path / ".runbook-synth" / ".gitignore").write_text("# mine\n*\n")
    StateStore.open(tmp_path).close()
    assert (tmp_path / ".runbook-synth" / ".gitignore").read_text() == "# mine\n*\n"


@pytest.mark.parametrize(("umask", "file_mode", "dir_mode"), [(0o077, 0o600, 0o700), (0o002, 0o664, 0o775)])
def test_created_files_respect_the_umask(tmp_path: Path, umask: int, file_mode: int, dir_mode: int) -> None:
    old = os.umask(umask)
    try:
        StateStore.open(tmp_path).close()
    finally:
        os.umask(old)
    folder = tmp_path / ".runbook-synth"
    assert stat.S_IMODE(folder.stat().st_mode) == dir_mode
    assert stat.S_IMODE((folder / ".gitignore").stat().st_mode) == file_mode
    assert stat.S_IMODE(db_path(tmp_path).stat().st_mode) == file_mode


def test_opening_a_current_store_does_no_schema_work_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with StateStore.open(tmp_path) as store:
        store.put_records([rec("a", 1)])
    before = db_path(tmp_path).read_bytes()

    def refuse(conn: sqlite3.Connection) -> None:
        raise AssertionError("a migration ran on a current store")

    monkeypatch.setattr(state, "_MIGRATIONS", (refuse,) * SCHEMA_VERSION)
    with StateStore.open(tmp_path) as store:
        assert store.count_records("cloudwatch") == 1
    assert db_path(tmp_path).read_bytes() == before


# --- round trips ----------------------------------------------------------------------------------------------------


def test_put_records_upserts_by_source_and_key_and_counts_only_new_ones(store: StateStore) -> None:
    assert store.put_records([rec("g|1", 10), rec("g|2", 20)]) == 2
    assert store.put_records([rec("g|2", 25, payload='{"v": 2}'), rec("g|3", 30), rec("g|3", 31)]) == 1
    assert store.put_records([rec("g|1", 10, source="github")]) == 1  # same key, other source: a new record
    assert store.put_records([]) == 0
    assert list(store.records("cloudwatch")) == [rec("g|1", 10), rec("g|2", 25, payload='{"v": 2}'), rec("g|3", 31)]
    assert store.count_records("cloudwatch") == 3
    assert store.count_records("github") == 1


def test_records_are_ordered_by_time_then_key_and_windows_are_half_open(store: StateStore) -> None:
    store.put_records([rec("b", 200), rec("c", 100), rec("a", 200), rec("d", 300), rec("e", 50, scope="/aws/other")])
    assert [r.key for r in store.records("cloudwatch")] == ["e", "c", "a", "b", "d"]
    assert [r.key for r in store.records("cloudwatch", since_ms=100, until_ms=300)] == ["c", "a", "b"]
    assert [r.key for r in store.records("cloudwatch", since_ms=200)] == ["a", "b", "d"]
    assert [r.key for r in store.records("cloudwatch", until_ms=100)] == ["e"]
    assert [r.key for r in store.records("cloudwatch", scope="/aws/other")] == ["e"]
    assert [r.key for r in store.records("cloudwatch", scope="/aws/lambda/api", since_ms=150)] == ["a", "b", "d"]
    assert list(store.records("github")) == []


def test_records_stream_past_one_fetch_batch(store: StateStore) -> None:
    store.put_records(rec(f"k{i:05d}", i) for i in range(2500))
    assert [r.timestamp_ms for r in store.records("cloudwatch")] == list(range(2500))


def test_scopes_and_counts_per_scope(store: StateStore) -> None:
    store.put_records([rec("1", 1, scope="b/repo", source="github"), rec("2", 2, scope="a/repo", source="github")])
    store.put_records([rec("3", 3, scope="b/repo", source="github"), rec("4", 4, scope="z", source="cloudwatch")])
    assert store.scopes("github") == ("a/repo", "b/repo")
    assert store.scopes("cloudwatch") == ("z",)
    assert store.scopes("nothing") == ()
    assert store.count_records("github", "b/repo") == 2


def test_scopes_skip_scan_finds_every_distinct_scope_of_its_source_only(store: StateStore) -> None:
    scopes = ["", "a", "a/b", "b", "z" * 3, "é"]
    store.put_records(rec(f"k{i}", i, scope=scopes[i % len(scopes)], source="cloudwatch") for i in range(600))
    store.put_records(rec(f"g{i}", i, scope=f"other{i % 3}", source="github") for i in range(30))
    assert store.scopes("cloudwatch") == tuple(sorted(scopes))
    assert store.scopes("github") == ("other0", "other1", "other2")


def test_cursors_and_etags_round_trip_and_overwrite(store: StateStore) -> None:
    assert store.cursor("cloudwatch", "/aws/lambda/api") is None
    store.set_cursor("cloudwatch", "/aws/lambda/api", "token-1")
    store.set_cursor("cloudwatch", "/aws/lambda/api", "token-2")
    store.set_cursor("github", "/aws/lambda/api", "other")
    assert store.cursor("cloudwatch", "/aws/lambda/api") == "token-2"
    assert store.etag("https://api.github.com/x") is None
    store.set_etag("https://api.github.com/x", 'W/"1"', "[]")
    store.set_etag("https://api.github.com/x", 'W/"2"', '[{"id": 1}]')
    assert store.etag("https://api.github.com/x") == ('W/"2"', '[{"id": 1}]')


def test_set_fingerprints_replaces_the_whole_manifest(store: StateStore) -> None:
    store.set_fingerprints({"b.md": Fingerprint(1, 2, "x"), "a.md": Fingerprint(3, 4, "y")})
    assert list(store.fingerprints().items()) == [("a.md", Fingerprint(3, 4, "y")), ("b.md", Fingerprint(1, 2, "x"))]
    store.set_fingerprints({"c.md": Fingerprint(5, 6, "z")})
    assert store.fingerprints() == {"c.md": Fingerprint(5, 6, "z")}


def test_parsed_is_returned_only_for_the_same_digest_and_pruned(store: StateStore) -> None:
    store.set_parsed("a.md", "d1", '{"steps": 1}')
    store.set_parsed("b.md", "d2", "{}")
    assert store.parsed("a.md", "d1") == '{"steps": 1}'
    assert store.parsed("a.md", "other") is None
    store.set_parsed("a.md", "d3", '{"steps": 2}')
    assert store.parsed("a.md", "d1") is None
    assert store.parsed("a.md", "d3") == '{"steps": 2}'
    store.prune_parsed(["a.md", "never-cached.md"])
    assert store.parsed("b.md", "d2") is None
    assert store.parsed("a.md", "d3") == '{"steps": 2}'


def test_runbook_records_round_trip_in_name_order(store: StateStore) -> None:
    second = RunbookRecord("z-deploy", "deployment", "lambda", "d1", ("b.md", "a.md"), 8, 10, "2026-11-23")
    first = RunbookRecord("a-incident", "incident", "api", "d2", (), 3, 4, "2026-11-22")
    store.set_runbook_record(second)
    store.set_runbook_record(first)
    assert store.runbook_record("z-deploy") == second
    assert store.runbook_record("missing") is None
    assert store.runbook_records() == (first, second)
    store.set_runbook_record(RunbookRecord("z-deploy", "deployment", "lambda", "d9", ("c.md",), 9, 11, "2026-11-24"))
    assert store.runbook_record("z-deploy") == RunbookRecord(
        "z-deploy", "deployment", "lambda", "d9", ("c.md",), 9, 11, "2026-11-24"
    )


def test_data_survives_closing_and_reopening(tmp_path: Path) -> None:
    with StateStore.open(tmp_path) as store:
        store.put_records([rec("a", 1)])
        store.set_cursor("cloudwatch", "g", "t")
    with StateStore.open(tmp_path) as store:
        assert list(store.records("cloudwatch")) == [rec("a", 1)]
        assert store.cursor("cloudwatch", "g") == "t"


def test_a_transaction_is_all_or_nothing(store: StateStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.put_records([rec("a", 1)])
        store.set_cursor("cloudwatch", "g", "after-a")
        raise RuntimeError("fetch failed halfway")
    assert store.count_records("cloudwatch") == 0
    assert store.cursor("cloudwatch", "g") is None
    with store.transaction():
        store.put_records([rec("a", 1)])
        store.set_cursor("cloudwatch", "g", "after-a")
    assert store.count_records("cloudwatch") == 1
    assert store.cursor("cloudwatch", "g") == "after-a"


def test_fingerprint_file_hashes_the_content_with_blake2b(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_bytes(b"# deploy\nmake deploy\n")
    fingerprint = fingerprint_file(path)
    assert fingerprint == Fingerprint(
        size=21, mtime_ns=path.stat().st_mtime_ns, digest=hashlib.blake2b(b"# deploy\nmake deploy\n").hexdigest()
    )
    with pytest.raises(SourceError, match=r"missing\.md"):
        fingerprint_file(tmp_path / "missing.md")


# --- migration and versions -----------------------------------------------------------------------------------------


def test_a_v1_store_is_migrated_keeping_its_data(tmp_path: Path) -> None:
    path = make_v1_store(tmp_path)
    with StateStore.open(tmp_path) as store:
        assert store.fingerprints() == {"notes/a.md": Fingerprint(10, 123, "abc")}
        assert store.runbook_record("deployment-lambda") == RunbookRecord(
            "deployment-lambda", "deployment", "lambda", "d1", ("a.md", "b.md"), 8, 10, "2026-11-23"
        )
        assert store.put_records([rec("a", 1)]) == 1
        store.set_etag("u", "e", "b")
    assert user_version(path) == SCHEMA_VERSION


def test_a_failing_migration_leaves_the_store_at_its_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_v1_store(tmp_path)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(state, "_MIGRATIONS", (*state._MIGRATIONS[:1], broken))
    with pytest.raises(StateError, match="--rebuild-state"):
        StateStore.open(tmp_path)
    conn = sqlite3.connect(path)
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    conn.close()
    assert tables == ["fingerprints", "parsed", "runbooks"]
    assert user_version(path) == 1


def test_a_store_from_a_newer_version_is_refused_with_the_way_out(tmp_path: Path) -> None:
    StateStore.open(tmp_path).close()
    conn = sqlite3.connect(db_path(tmp_path))
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    expected = (
        f"{db_path(tmp_path)}: written by a newer runbook-synth (schema {SCHEMA_VERSION + 1} > {SCHEMA_VERSION});"
        " upgrade, or run with --rebuild-state"
    )
    for readonly in (False, True):
        with pytest.raises(StateError) as caught:
            StateStore.open(tmp_path, readonly=readonly)
        assert str(caught.value) == expected
    assert isinstance(caught.value, RunbookSynthError)


# --- bad files and --rebuild-state ----------------------------------------------------------------------------------


def write_random_store(root: Path) -> bytes:
    db_path(root).parent.mkdir(parents=True)
    junk = bytes(range(256)) * 20  # deterministic "random" bytes that are no SQLite header
    db_path(root).write_bytes(junk)
    return junk


def test_random_bytes_are_a_one_line_error_naming_the_file_and_the_way_out(tmp_path: Path) -> None:
    write_random_store(tmp_path)
    with pytest.raises(StateError) as caught:
        StateStore.open(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{db_path(tmp_path)}: ")
    assert "--rebuild-state" in message
    assert "\n" not in message


def test_a_truncated_store_is_an_error_with_the_way_out(tmp_path: Path) -> None:
    with StateStore.open(tmp_path) as store:
        store.put_records(rec(f"k{i}", i, payload="x" * 200) for i in range(3000))
    data = db_path(tmp_path).read_bytes()
    db_path(tmp_path).write_bytes(data[: len(data) // 2])
    # at open or at the first read, never a traceback
    with pytest.raises(StateError, match="--rebuild-state"), StateStore.open(tmp_path) as store:
        list(store.records("cloudwatch"))


def test_a_sqlite_file_that_is_not_a_state_store_is_refused(tmp_path: Path) -> None:
    db_path(tmp_path).parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path(tmp_path))
    conn.execute("CREATE TABLE something_else (x)")
    conn.close()
    with pytest.raises(StateError, match="not a runbook-synth state store"):
        StateStore.open(tmp_path)


def test_rebuild_moves_a_bad_store_aside_and_starts_fresh(tmp_path: Path) -> None:
    junk = write_random_store(tmp_path)
    with StateStore.open(tmp_path, rebuild=True) as store:
        assert store.count_records("cloudwatch") == 0
        store.put_records([rec("a", 1)])
    assert (tmp_path / ".runbook-synth" / "state.sqlite.corrupt-1").read_bytes() == junk
    write_random_store_again = db_path(tmp_path)
    write_random_store_again.write_bytes(b"not sqlite either" * 10)
    for suffix in ("-wal", "-shm"):
        db_path(tmp_path).with_name("state.sqlite" + suffix).unlink(missing_ok=True)
    StateStore.open(tmp_path, rebuild=True).close()
    assert (tmp_path / ".runbook-synth" / "state.sqlite.corrupt-2").read_bytes() == b"not sqlite either" * 10
    with StateStore.open(tmp_path) as store:
        assert store.count_records("cloudwatch") == 0


def test_rebuild_gets_past_a_newer_schema_and_keeps_a_healthy_store_aside(tmp_path: Path) -> None:
    StateStore.open(tmp_path).close()
    conn = sqlite3.connect(db_path(tmp_path))
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    StateStore.open(tmp_path, rebuild=True).close()
    assert user_version(tmp_path / ".runbook-synth" / "state.sqlite.corrupt-1") == SCHEMA_VERSION + 1
    with StateStore.open(tmp_path) as store:
        store.put_records([rec("a", 1)])
    with StateStore.open(tmp_path, rebuild=True) as store:
        assert store.count_records("cloudwatch") == 0
    kept = sqlite3.connect(tmp_path / ".runbook-synth" / "state.sqlite.bak-1")
    assert kept.execute("SELECT key FROM records").fetchall() == [("a",)]
    kept.close()


# --- read-only ------------------------------------------------------------------------------------------------------


def test_readonly_on_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    with StateStore.open(tmp_path, readonly=True) as store:
        assert store.count_records("cloudwatch") == 0
        assert store.fingerprints() == {}
        assert store.runbook_records() == ()
        with pytest.raises(StateError, match="read-only"):
            store.set_cursor("cloudwatch", "g", "t")
    assert list(tmp_path.iterdir()) == []


def test_readonly_reads_an_existing_store_without_touching_the_folder(tmp_path: Path) -> None:
    with StateStore.open(tmp_path) as store:
        store.put_records([rec("a", 1)])
    folder = tmp_path / ".runbook-synth"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with StateStore.open(tmp_path, readonly=True) as store:
        assert list(store.records("cloudwatch")) == [rec("a", 1)]
        with pytest.raises(StateError, match="read-only"):
            store.put_records([rec("b", 2)])
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_readonly_reads_an_old_store_without_migrating_the_file(tmp_path: Path) -> None:
    path = make_v1_store(tmp_path)
    before = path.read_bytes()
    with StateStore.open(tmp_path, readonly=True) as store:
        assert store.fingerprints() == {"notes/a.md": Fingerprint(10, 123, "abc")}
        assert store.count_records("cloudwatch") == 0
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.sqlite"]


def test_readonly_on_a_corrupt_store_is_an_error(tmp_path: Path) -> None:
    write_random_store(tmp_path)
    with pytest.raises(StateError, match="--rebuild-state"):
        StateStore.open(tmp_path, readonly=True)


# --- links ----------------------------------------------------------------------------------------------------------


def test_a_symlinked_state_folder_is_refused_and_never_followed(tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / ".runbook-synth").symlink_to(outside, target_is_directory=True)
    for readonly in (False, True):
        with pytest.raises(StateError, match="symbolic link"):
            StateStore.open(root, readonly=readonly)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("name", ["state.sqlite", "state.sqlite-wal"])
def test_a_symlinked_state_file_is_refused(tmp_path: Path, name: str) -> None:
    outside = tmp_path / "elsewhere.sqlite"
    root = tmp_path / "repo"
    (root / ".runbook-synth").mkdir(parents=True)
    (root / ".runbook-synth" / name).symlink_to(outside)
    with pytest.raises(StateError, match=f"{name}: is a symbolic link"):
        StateStore.open(root)
    assert not outside.exists()


# --- concurrency and speed ------------------------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from runbook_synth.state import SourceRecord, StateStore

    root, name = Path(sys.argv[1]), sys.argv[2]
    Path(sys.argv[3]).touch()
    while not Path(sys.argv[4]).exists():
        pass
    with StateStore.open(root) as store:
        for batch in range(40):
            with store.transaction():
                store.put_records(
                    SourceRecord("cloudwatch", f"{name}|{batch}|{i}", name, batch * 1000 + i, "{}") for i in range(250)
                )
                store.set_cursor("cloudwatch", name, str(batch))
    """
)


def test_two_processes_writing_at_once_both_succeed(tmp_path: Path) -> None:
    go = tmp_path / "go"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), name, str(tmp_path / f"ready-{name}"), str(go)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("first", "second")
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{n}").exists() for n in ("first", "second")) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    results = [(w.wait(timeout=120), w.stderr.read() if w.stderr else "") for w in writers]
    assert results == [(0, ""), (0, "")]
    with StateStore.open(tmp_path) as store:
        assert store.count_records("cloudwatch", "first") == 10_000
        assert store.count_records("cloudwatch", "second") == 10_000
        assert store.cursor("cloudwatch", "first") == store.cursor("cloudwatch", "second") == "39"


def test_bulk_inserts_run_in_one_transaction(store: StateStore) -> None:
    started = time.perf_counter()
    added = store.put_records(
        rec(f"/aws/lambda/fn|{i:09d}", i, payload='{"message": "REPORT"}') for i in range(100_000)
    )
    assert added == 100_000
    assert time.perf_counter() - started < 30  # about 2 s here; a commit per row would take minutes


def test_the_content_digest_sees_every_change_to_the_records_without_reading_them(store: StateStore) -> None:
    """The records' change counter and highest rowid are read (a million log events are neither streamed
    nor counted), so an update in place must still change the digest, and reading must not."""
    assert store.content_digest()[1] is False
    store.put_records([SourceRecord("cloudwatch", "a", "g", 1, '{"m": 1}')])
    first = store.content_digest()
    assert store.content_digest() == first and first[1] is True
    store.put_records([SourceRecord("cloudwatch", "a", "g", 1, '{"m": 2}')])  # same key: an update
    second = store.content_digest()
    assert second[1] is True and second[0] != first[0]
    store.put_records([SourceRecord("cloudwatch", "b", "g", 2, "{}")])
    assert store.content_digest()[0] != second[0]
