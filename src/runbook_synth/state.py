"""The local state store: one SQLite file at ``<root>/.runbook-synth/state.sqlite``.

It remembers what is expensive or impossible to get again: the fingerprints of the sources (so unchanged
patterns are skipped), parse results keyed by content digest, what each runbook was mined from, what the last
`regenerate` saw and left (so an unchanged library is recognised without parsing), and the redacted records
fetched from CloudWatch and GitHub with their cursors and ETags. Nothing secret is stored: callers redact
before they write. A store we cannot read (corrupt, not SQLite, written by a newer version)
is a one-line StateError whose way out is ``--rebuild-state``, which moves the bad file aside.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import stat
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from runbook_synth.errors import RunbookSynthError, SourceError

logger = logging.getLogger(__name__)

STATE_DIR = ".runbook-synth"
STATE_FILE = "state.sqlite"
BUSY_TIMEOUT_MS = 30_000  # a second writer waits this long for the first to commit before giving up
_READ_BATCH = 1000
_REBUILD_HINT = "run with --rebuild-state to move it aside and start fresh"


class StateError(RunbookSynthError):
    """The state store cannot be used; the message names the file and the way out."""


@dataclass(frozen=True)
class SourceRecord:
    """One redacted event fetched from a remote source, kept so the next run only fetches what is new."""

    source: str  # "cloudwatch" | "github" | ... (callers pass a StrEnum value)
    key: str  # unique within source, e.g. "<log group>|<event id>"
    scope: str  # grouping key, e.g. the log group or "owner/repo"
    timestamp_ms: int  # event time, for windows and ordering
    payload: str  # JSON text, already redacted by the caller


@dataclass(frozen=True)
class Fingerprint:
    """What a source file looked like when it was last read; a changed digest means it must be read again."""

    size: int
    mtime_ns: int
    digest: str


@dataclass(frozen=True)
class RunbookRecord:
    """What a runbook was generated from, so regeneration can skip it or refuse a downgrade without parsing it."""

    name: str
    operation_type: str
    scope: str
    sources_digest: str
    sources: tuple[str, ...]
    run_count: int
    step_count: int
    generated: str


def fingerprint_file(path: Path) -> Fingerprint:
    """Size, mtime and a blake2b digest of the content, taken from one open file so they agree."""
    digest = hashlib.blake2b()
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise SourceError(str(path), f"cannot be read ({exc.strerror}); check that it exists and is readable") from exc
    return Fingerprint(size=info.st_size, mtime_ns=info.st_mtime_ns, digest=digest.hexdigest())


# --- schema ---------------------------------------------------------------------------------------------------------
# _MIGRATIONS[n - 1] brings a store from version n - 1 to version n. Append, never edit: users have files
# written by every version. Statements run one by one (executescript would commit halfway).


def _migrate_to_v1(conn: sqlite3.Connection) -> None:
    """The local library: source fingerprints, parse cache, and what each runbook was mined from."""
    conn.execute(
        "CREATE TABLE fingerprints (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
        " digest TEXT NOT NULL)"
    )
    conn.execute("CREATE TABLE parsed (path TEXT PRIMARY KEY, digest TEXT NOT NULL, payload TEXT NOT NULL)")
    conn.execute(
        "CREATE TABLE runbooks (name TEXT PRIMARY KEY, operation_type TEXT NOT NULL, scope TEXT NOT NULL,"
        " sources_digest TEXT NOT NULL, sources TEXT NOT NULL, run_count INTEGER NOT NULL,"
        " step_count INTEGER NOT NULL, generated TEXT NOT NULL)"
    )


def _migrate_to_v2(conn: sqlite3.Connection) -> None:
    """Remote sources: redacted records, their fetch cursors, and HTTP ETags for conditional requests."""
    conn.execute(
        "CREATE TABLE records (source TEXT NOT NULL, key TEXT NOT NULL, scope TEXT NOT NULL,"
        " timestamp_ms INTEGER NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (source, key))"
    )
    conn.execute("CREATE INDEX records_by_time ON records (source, timestamp_ms, key)")
    conn.execute("CREATE INDEX records_by_scope ON records (source, scope, timestamp_ms, key)")
    conn.execute(
        "CREATE TABLE cursors (source TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,"
        " PRIMARY KEY (source, name))"
    )
    conn.execute("CREATE TABLE etags (url TEXT PRIMARY KEY, etag TEXT NOT NULL, body TEXT NOT NULL)")


def _migrate_to_v3(conn: sqlite3.Connection) -> None:
    """What the last successful `regenerate` saw and left (inputs, outputs, report), so an unchanged library
    is recognised without parsing anything."""
    conn.execute("CREATE TABLE regenerations (name TEXT PRIMARY KEY, payload TEXT NOT NULL)")


def _migrate_to_v4(conn: sqlite3.Connection) -> None:
    """How each source path is shown (redacted), keyed by a digest of the redaction rules and the real path:
    redacting ten thousand paths on every run cost more than reading the cached parses."""
    conn.execute("CREATE TABLE shown_paths (key TEXT PRIMARY KEY, shown TEXT NOT NULL)")


def _migrate_to_v5(conn: sqlite3.Connection) -> None:
    """A change counter for the remote records, bumped by triggers on every insert, update and delete, so a
    command can tell that nothing changed without reading a million log events."""
    conn.execute("CREATE TABLE changes (name TEXT PRIMARY KEY, counter INTEGER NOT NULL)")
    conn.execute("INSERT INTO changes (name, counter) VALUES ('records', 0)")
    for event in ("INSERT", "UPDATE", "DELETE"):
        conn.execute(
            f"CREATE TRIGGER records_{event.lower()} AFTER {event} ON records"
            " BEGIN UPDATE changes SET counter = counter + 1 WHERE name = 'records'; END"
        )


_MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _migrate_to_v1,
    _migrate_to_v2,
    _migrate_to_v3,
    _migrate_to_v4,
    _migrate_to_v5,
)
SCHEMA_VERSION: int = len(_MIGRATIONS)


# --- opening --------------------------------------------------------------------------------------------------------


def _refuse_link(path: Path) -> None:
    """A planted symlink would make us read or write outside the root, so links are never followed."""
    if path.is_symlink():
        raise StateError(
            f"{path}: is a symbolic link, which runbook-synth never follows;"
            " replace it with a real file or folder, or delete it"
        )


def _is_unusable(exc: sqlite3.Error) -> bool:
    """Busy and locked are transient; everything else from SQLite means the file cannot be trusted."""
    return not (isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc))


_DISTINCT_SCOPES = """
WITH RECURSIVE seen(scope) AS (
    SELECT MIN(scope) FROM records WHERE source = ?1
    UNION ALL
    SELECT (SELECT MIN(scope) FROM records WHERE source = ?1 AND scope > seen.scope) FROM seen
    WHERE seen.scope IS NOT NULL
)
SELECT scope FROM seen WHERE scope IS NOT NULL
"""


class StateStore:
    """The one SQLite connection to the state store; every method is one statement or one transaction."""

    def __init__(self, path: Path, conn: sqlite3.Connection, *, readonly: bool) -> None:
        self.path = path
        self.readonly = readonly
        self._conn = conn
        self._depth = 0

    @classmethod
    def open(cls, root: Path, *, rebuild: bool = False, readonly: bool = False) -> StateStore:
        """<root>/.runbook-synth/state.sqlite, created (folder too) when missing unless readonly
        (readonly on a missing store: an empty in-memory store, so read-only commands never create files)."""
        if rebuild and readonly:
            raise ValueError("a read-only store cannot be rebuilt")
        folder = root / STATE_DIR
        path = folder / STATE_FILE
        _refuse_link(folder)
        if folder.exists() and not folder.is_dir():
            raise StateError(f"{folder}: is not a folder; move it away so runbook-synth can keep its state there")
        for name in (STATE_FILE, STATE_FILE + "-wal", STATE_FILE + "-shm"):
            _refuse_link(folder / name)
        if path.exists() and not stat.S_ISREG(path.stat().st_mode):
            raise StateError(f"{path}: is not a regular file; move it away, or {_REBUILD_HINT}")
        if readonly:
            if not path.exists():
                conn = sqlite3.connect(":memory:", isolation_level=None)
                store = cls(path, conn, readonly=True)
                store._migrate(0)
                return store
            return cls._open_readonly(path)
        _prepare_folder(folder)
        if rebuild and path.exists():
            try:
                cls._open_file(path).close()
            except StateError as exc:
                _move_aside(path, "corrupt", str(exc.__cause__ or exc))
            else:
                _move_aside(path, "bak", "rebuild requested")
        return cls._open_file(path)

    @classmethod
    def _open_file(cls, path: Path) -> StateStore:
        """Open for writing, creating the file with the umask's permissions, and migrate an older schema."""
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666))
        try:
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise StateError(f"{path}: cannot be opened ({exc}); {_REBUILD_HINT}") from exc
        store = cls(path, conn, readonly=False)
        try:
            with store._guard():
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                version = store._check_header()
                if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    _switch_to_wal(conn)
                conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: never corrupt, at most the last commit lost
                if version < SCHEMA_VERSION:
                    store._migrate(version)
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def _open_readonly(cls, path: Path) -> StateStore:
        """Open without writing anything; an older schema is migrated in a private in-memory copy.

        With no WAL file nobody is writing, and `immutable` reads the file without creating `-wal`/`-shm`
        beside it (a plain read-only WAL connection would leave both behind). Should a writer check-point
        under us at that moment, the open fails and we fall back to an ordinary read-only connection.
        """
        if not path.with_name(path.name + "-wal").exists():
            with contextlib.suppress(StateError):
                return cls._connect_readonly(path, immutable=True)
        return cls._connect_readonly(path, immutable=False)

    @classmethod
    def _connect_readonly(cls, path: Path, *, immutable: bool) -> StateStore:
        uri = "file:" + urllib.parse.quote(str(path.absolute())) + ("?mode=ro&immutable=1" if immutable else "?mode=ro")
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise StateError(f"{path}: cannot be opened ({exc}); {_REBUILD_HINT}") from exc
        store = cls(path, conn, readonly=True)
        try:
            with store._guard():
                version = store._check_header()
                if version < SCHEMA_VERSION:
                    memory = sqlite3.connect(":memory:", isolation_level=None)
                    conn.backup(memory)
                    conn.close()
                    store._conn = conn = memory
                    store._migrate(version)
        except BaseException:
            conn.close()
            raise
        return store

    def _check_header(self) -> int:
        """The schema version, after refusing what we must not touch; cheap: reads page 1 and a stat."""
        conn = self._conn
        # one statement, one snapshot: a process migrating a fresh store must not commit between the two reads
        row = conn.execute(
            "SELECT (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_master)"
        ).fetchone()
        version, tables = int(row[0]), int(row[1])
        if version > SCHEMA_VERSION:
            raise StateError(
                f"{self.path}: written by a newer runbook-synth (schema {version} > {SCHEMA_VERSION});"
                " upgrade, or run with --rebuild-state"
            )
        if version == 0 and tables:
            raise StateError(f"{self.path}: is a SQLite database but not a runbook-synth state store; {_REBUILD_HINT}")
        # page_count first, then the WAL: pages that live only in the WAL are still there when we look (a WAL is
        # removed or reset only after a full checkpoint), so a main file shorter than the count is truncated
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        wal = self.path.with_name(self.path.name + "-wal")
        if not (wal.exists() and wal.stat().st_size) and pages * page_size > self.path.stat().st_size:
            raise StateError(
                f"{self.path}: is truncated ({self.path.stat().st_size} of {pages * page_size} bytes); {_REBUILD_HINT}"
            )
        return version

    def _migrate(self, version: int) -> None:
        """Every step from `version` to SCHEMA_VERSION in one transaction: a store is never half-migrated."""
        with self._write():
            current = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            if current > version:  # another process migrated while we waited for the write lock
                version = current
            for step in _MIGRATIONS[version:]:
                step(self._conn)
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        if version < SCHEMA_VERSION and self.path.exists():
            logger.info("%s: migrated state schema %d -> %d", self.path, version, SCHEMA_VERSION)

    # --- plumbing ---------------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection; the last one out checkpoints the WAL and removes it."""
        self._conn.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """SQLite errors become one-line StateErrors naming the file, never a traceback."""
        try:
            yield
        except sqlite3.Error as exc:
            if _is_unusable(exc):
                raise StateError(f"{self.path}: state store is unreadable ({exc}); {_REBUILD_HINT}") from exc
            raise StateError(
                f"{self.path}: busy ({exc}): another runbook-synth is writing; retry when it finishes"
            ) from exc

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        """BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        with self._guard():
            self._conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            with self._guard():
                self._conn.execute("ROLLBACK")
            raise
        self._depth = 0
        with self._guard():
            self._conn.execute("COMMIT")

    def _writing(self) -> AbstractContextManager[None]:
        """A write from a caller: refused on a read-only store, so a read-only command cannot lose work silently."""
        if self.readonly:
            raise StateError(f"{self.path}: opened read-only; run a command that writes state")
        return self._write()

    def transaction(self) -> AbstractContextManager[None]:
        """One atomic batch of writes: all of them, or (on an exception) none."""
        return self._writing()

    def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._guard():
            return list(self._conn.execute(sql, params).fetchall())

    # --- source records ---------------------------------------------------------------------------------------------

    def put_records(self, records: Iterable[SourceRecord]) -> int:
        """Upsert by (source, key) in one transaction; returns how many records were new."""
        rows = ((r.source, r.key, r.scope, r.timestamp_ms, r.payload) for r in records)
        with self._writing(), self._guard():
            before = self._conn.execute("SELECT count(*) FROM records").fetchone()[0]
            self._conn.executemany(
                "INSERT INTO records (source, key, scope, timestamp_ms, payload) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (source, key) DO UPDATE SET scope = excluded.scope,"
                " timestamp_ms = excluded.timestamp_ms, payload = excluded.payload",
                rows,
            )
            after = self._conn.execute("SELECT count(*) FROM records").fetchone()[0]
        return int(after - before)

    def records(
        self, source: str, scope: str | None = None, since_ms: int | None = None, until_ms: int | None = None
    ) -> Iterator[SourceRecord]:
        """Records of one source, since_ms <= timestamp_ms < until_ms, ORDER BY timestamp_ms, key; streamed."""
        sql = "SELECT source, key, scope, timestamp_ms, payload FROM records WHERE source = ?"
        params: list[object] = [source]
        if scope is not None:
            sql += " AND scope = ?"
            params.append(scope)
        if since_ms is not None:
            sql += " AND timestamp_ms >= ?"
            params.append(since_ms)
        if until_ms is not None:
            sql += " AND timestamp_ms < ?"
            params.append(until_ms)
        sql += " ORDER BY timestamp_ms, key"
        with self._guard():
            cursor = self._conn.execute(sql, params)
            while batch := cursor.fetchmany(_READ_BATCH):
                for row in batch:
                    yield SourceRecord(*row)

    def count_records(self, source: str, scope: str | None = None) -> int:
        """How many records a source (or one of its scopes) holds."""
        if scope is None:
            rows = self._rows("SELECT count(*) FROM records WHERE source = ?", (source,))
        else:
            rows = self._rows("SELECT count(*) FROM records WHERE source = ? AND scope = ?", (source, scope))
        return int(str(rows[0][0]))

    def scopes(self, source: str) -> tuple[str, ...]:
        """The distinct scopes of a source, sorted.

        A skip scan down the (source, scope, ...) index: one seek per distinct scope, not a walk over every
        record (SELECT DISTINCT read all 1,000,000 events of four log groups, 0.09 s a call)."""
        return tuple(str(row[0]) for row in self._rows(_DISTINCT_SCOPES, (source,)))

    def cursor(self, source: str, name: str) -> str | None:
        """Where fetching a source stopped last time (a token, a timestamp), or None to start from scratch."""
        rows = self._rows("SELECT value FROM cursors WHERE source = ? AND name = ?", (source, name))
        return str(rows[0][0]) if rows else None

    def set_cursor(self, source: str, name: str, value: str) -> None:
        """Write it in the same transaction() as the records it follows, so a crash never skips records."""
        with self._writing(), self._guard():
            self._conn.execute(
                "INSERT INTO cursors (source, name, value) VALUES (?, ?, ?)"
                " ON CONFLICT (source, name) DO UPDATE SET value = excluded.value",
                (source, name, value),
            )

    def etag(self, url: str) -> tuple[str, str] | None:
        """(etag, body) of the last 200 for this URL, so a 304 can reuse the body without spending rate limit."""
        rows = self._rows("SELECT etag, body FROM etags WHERE url = ?", (url,))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def set_etag(self, url: str, etag: str, body: str) -> None:
        """Remember a response's ETag and (redacted) body."""
        with self._writing(), self._guard():
            self._conn.execute(
                "INSERT INTO etags (url, etag, body) VALUES (?, ?, ?)"
                " ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, body = excluded.body",
                (url, etag, body),
            )

    # --- local sources and runbooks ---------------------------------------------------------------------------------

    def fingerprints(self) -> dict[str, Fingerprint]:
        """The manifest of source files as last read: path -> Fingerprint, in path order."""
        rows = self._rows("SELECT path, size, mtime_ns, digest FROM fingerprints ORDER BY path")
        return {str(p): Fingerprint(int(str(s)), int(str(m)), str(d)) for p, s, m, d in rows}

    def set_fingerprints(self, items: Mapping[str, Fingerprint]) -> None:
        """Replace the whole manifest: a file that is gone must not keep its old fingerprint."""
        with self._writing(), self._guard():
            self._conn.execute("DELETE FROM fingerprints")
            self._conn.executemany(
                "INSERT INTO fingerprints (path, size, mtime_ns, digest) VALUES (?, ?, ?, ?)",
                ((p, f.size, f.mtime_ns, f.digest) for p, f in sorted(items.items())),
            )

    def parsed(self, path: str, digest: str) -> str | None:
        """The cached parse payload (JSON) of a file, only if it was parsed from content with this digest."""
        rows = self._rows("SELECT payload FROM parsed WHERE path = ? AND digest = ?", (path, digest))
        return str(rows[0][0]) if rows else None

    def parsed_digests(self) -> dict[str, str]:
        """path -> the content digest its cached parse is for, in one query (payloads are not read)."""
        return {str(p): str(d) for p, d in self._rows("SELECT path, digest FROM parsed")}

    def set_parsed(self, path: str, digest: str, payload: str) -> None:
        """Cache a file's parse result against its content digest."""
        with self._writing(), self._guard():
            self._conn.execute(
                "INSERT INTO parsed (path, digest, payload) VALUES (?, ?, ?)"
                " ON CONFLICT (path) DO UPDATE SET digest = excluded.digest, payload = excluded.payload",
                (path, digest, payload),
            )

    def shown_paths(self) -> dict[str, str]:
        """Digest of (redaction rules, real path) -> the path as shown, redacted."""
        return {str(key): str(shown) for key, shown in self._rows("SELECT key, shown FROM shown_paths")}

    def set_shown_paths(self, items: Mapping[str, str]) -> None:
        """Replace every shown path (a path that is gone, or other rules, leaves nothing behind)."""
        with self._writing(), self._guard():
            self._conn.execute("DELETE FROM shown_paths")
            self._conn.executemany("INSERT INTO shown_paths (key, shown) VALUES (?, ?)", sorted(items.items()))

    def prune_parsed(self, keep: Iterable[str]) -> None:
        """Forget parse results of files that no longer exist, so the cache does not grow forever."""
        wanted = set(keep)
        with self._writing(), self._guard():
            stale = [(p,) for (p,) in self._conn.execute("SELECT path FROM parsed ORDER BY path") if p not in wanted]
            self._conn.executemany("DELETE FROM parsed WHERE path = ?", stale)

    def runbook_record(self, name: str) -> RunbookRecord | None:
        """What the runbook `name` was last generated from, or None if it never was."""
        rows = self._rows(f"SELECT {_RUNBOOK_COLUMNS} FROM runbooks WHERE name = ?", (name,))
        return _runbook_from_row(rows[0]) if rows else None

    def set_runbook_record(self, record: RunbookRecord) -> None:
        """Record (or replace) what a runbook was generated from."""
        with self._writing(), self._guard():
            self._conn.execute(
                f"INSERT OR REPLACE INTO runbooks ({_RUNBOOK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.name,
                    record.operation_type,
                    record.scope,
                    record.sources_digest,
                    json.dumps(list(record.sources)),
                    record.run_count,
                    record.step_count,
                    record.generated,
                ),
            )

    def runbook_records(self) -> tuple[RunbookRecord, ...]:
        """Every runbook's record, by name."""
        return tuple(
            _runbook_from_row(row) for row in self._rows(f"SELECT {_RUNBOOK_COLUMNS} FROM runbooks ORDER BY name")
        )

    def regeneration(self, name: str) -> str | None:
        """The payload (JSON) recorded by the last successful regeneration of this name, or None."""
        rows = self._rows("SELECT payload FROM regenerations WHERE name = ?", (name,))
        return str(rows[0][0]) if rows else None

    def set_regeneration(self, name: str, payload: str) -> None:
        """Record what a successful regeneration saw and left (replacing the previous record)."""
        with self._writing(), self._guard():
            self._conn.execute(
                "INSERT INTO regenerations (name, payload) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET payload = excluded.payload",
                (name, payload),
            )

    def regeneration_names(self, prefix: str) -> tuple[str, ...]:
        """The names of recorded payloads that start with `prefix`, sorted."""
        rows = self._rows(
            "SELECT name FROM regenerations WHERE substr(name, 1, ?) = ? ORDER BY name", (len(prefix), prefix)
        )
        return tuple(str(row[0]) for row in rows)

    def set_regenerations(self, payloads: Mapping[str, str | None]) -> None:
        """Record (or, for None, forget) several payloads in one transaction."""
        with self._writing(), self._guard():
            for name, payload in sorted(payloads.items()):
                if payload is None:
                    self._conn.execute("DELETE FROM regenerations WHERE name = ?", (name,))
                else:
                    self._conn.execute(
                        "INSERT INTO regenerations (name, payload) VALUES (?, ?)"
                        " ON CONFLICT (name) DO UPDATE SET payload = excluded.payload",
                        (name, payload),
                    )

    def content_digest(self) -> tuple[str, bool]:
        """A digest of what generation reads from the store besides the parse cache (the remote records, by
        their change counter and highest rowid; the runbook records, by content), and whether there are
        remote records. Cheap with a million records: none is read, nor counted (a count scans them all,
        30 ms at a million, half a second from a cold disk cache)."""
        digest = hashlib.blake2b(digest_size=20)
        with self._guard():
            counter = self._conn.execute("SELECT counter FROM changes WHERE name = 'records'").fetchone()[0]
            highest = self._conn.execute("SELECT max(rowid) FROM records").fetchone()[0]
            digest.update(f"records {counter} {highest}\x00".encode())
            cursor = self._conn.execute(f"SELECT {_RUNBOOK_COLUMNS} FROM runbooks ORDER BY name")
            while batch := cursor.fetchmany(_READ_BATCH):
                for row in batch:
                    digest.update(json.dumps(row, ensure_ascii=False).encode("utf-8", "surrogatepass"))
                    digest.update(b"\x00")
        return digest.hexdigest(), highest is not None


_RUNBOOK_COLUMNS = "name, operation_type, scope, sources_digest, sources, run_count, step_count, generated"


def _runbook_from_row(row: tuple[object, ...]) -> RunbookRecord:
    name, operation_type, scope, sources_digest, sources, run_count, step_count, generated = row
    return RunbookRecord(
        name=str(name),
        operation_type=str(operation_type),
        scope=str(scope),
        sources_digest=str(sources_digest),
        sources=tuple(str(s) for s in json.loads(str(sources))),
        run_count=int(str(run_count)),
        step_count=int(str(step_count)),
        generated=str(generated),
    )


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """Two processes creating the store at once: the journal-mode switch skips the busy handler, so retry it."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if _is_unusable(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def store_exists(root: Path) -> bool:
    """Whether a command that writes has created the store (read-only commands never do)."""
    return (root / STATE_DIR / STATE_FILE).is_file()


def keep_state(root: Path) -> None:
    """A run that writes (a runbook, the library, ingested records) keeps what it parses: the state store is
    created when missing, so the next run re-parses only the files that changed. Read-only runs (`list`,
    `--stdout`, `--check`) never create it; a store that cannot be made only costs the cache, said once."""
    if store_exists(root):
        return
    try:
        StateStore.open(root).close()
    except (RunbookSynthError, OSError) as error:
        logger.warning("parse cache not kept: %s", error)


def state_folder(root: Path) -> Path:
    """`<root>/.runbook-synth/`, created with its `.gitignore` when missing; never a symlink."""
    folder = root / STATE_DIR
    _refuse_link(folder)
    _prepare_folder(folder)
    return folder


def _prepare_folder(folder: Path) -> None:
    """Create `.runbook-synth/` (umask permissions) with a `.gitignore` of `*`, so state is never committed."""
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o777)
    _refuse_link(folder)  # lost a race with someone planting a link
    ignore = folder / ".gitignore"
    try:
        fd = os.open(ignore, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    except FileExistsError:
        return
    except OSError as exc:
        raise StateError(f"{ignore}: cannot be written ({exc.strerror}); check the folder's permissions") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("*\n")


def _move_aside(path: Path, label: str, why: str) -> Path:
    """Keep the old store (and its WAL) as `state.sqlite.<label>-<n>` rather than deleting what may be unrecoverable."""
    n = 1
    while path.with_name(f"{path.name}.{label}-{n}").exists():
        n += 1
    target = path.with_name(f"{path.name}.{label}-{n}")
    os.replace(path, target)
    wal = path.with_name(path.name + "-wal")
    if wal.exists():  # a stale WAL must never be replayed into the fresh store
        os.replace(wal, target.with_name(target.name + "-wal"))
    path.with_name(path.name + "-shm").unlink(missing_ok=True)
    logger.warning("%s: moved aside to %s (%s); starting a fresh state store", path, target.name, why)
    return target
