"""The last regeneration, kept in the state store, so commands over an unchanged library read no source.

After a successful `regenerate` the store keeps what it saw (every source file's size, mtime and content
digest; one digest of the code, settings, configuration, templates and stored records) and what it found (the
survey `runbook list` prints, with the warnings reading the sources gave, and every runbook it mined, as its
JSON and as its undated markdown in the packaged /runbook template). A command whose inputs all match the
record answers from it: `regenerate` (nothing to do), `list`, and one `generate` of a pattern the record holds
(the slash command's markdown is then the kept text dated today; nothing is decoded or rendered). Any doubt
(no record, a file touched or added, other settings, a newer package, records ingested since) takes the full
path, which gives the same answer the slow way.

Only sizes and mtimes are compared (one digest of them all when no file was racy as the record was taken),
and a file modified within RACY_NS of the scan that recorded it is digested again: a file changed within the
same mtime tick is never trusted.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from runbook_synth.errors import RunbookSynthError
from runbook_synth.ingest.files import discover
from runbook_synth.models import Corpus, Pattern, Runbook, RunbookSummary, SkippedSource, SourceAccount
from runbook_synth.settings import Settings, find_config
from runbook_synth.state import StateStore, fingerprint_file, store_exists

log = logging.getLogger(__name__)

RECORD = "library"
FILES_RECORD = "library/files"
"""The record's list of source files ([key, size, mtime_ns, digest] each), kept apart: a command that finds
every file's size and mtime as recorded (the record's `stats`) never reads it."""
VERSION = "fast-4"
"""Bump when the record's shape or what it covers changes: every older record then misses."""
RUNBOOK_PREFIX = "runbook/"
"""Mined runbooks are kept under this name prefix and their sources digest (one row each)."""
RENDERED_PREFIX = "rendered/"
"""Beside each, its markdown in the packaged /runbook template with the date left out (`DATE_MARK`), when the
regeneration rendered it so: the slash command's answer is then that text dated today, with nothing decoded."""
DATE_MARK = "@@runbook-synth:generated-date@@"
"""Rendered where the date goes. A text is dated by replacing it only when it occurs exactly once: the packaged
template prints the date once, so a source that happens to hold the mark makes the text be rendered anew."""
RACY_NS = 2_000_000_000
"""A file modified this close to when it was fingerprinted may change again within the same mtime tick: its
content is digested again next time rather than trusted by size and mtime."""
CODE_VERSION = "library-4"
"""Part of every digest of what a runbook depends on; bump when that changes shape."""


@dataclass(frozen=True)
class Scan:
    """The inputs a command can see without reading a source: the source files' sizes and mtimes, and digests
    of everything else that is not in the store."""

    files: tuple[tuple[str, str, int, int], ...]
    """(relative path, location, size, mtime_ns) per source file, in path order. Never stored: a file's
    name may hold a secret; the store keeps `path_key`s and `paths`."""
    paths: str
    """One digest of every relative path, in order: the same list of files, checked in one comparison."""
    core: str
    """Code, settings, strictness, configuration and refused files: what mining depends on."""
    static: str
    """`core` plus the templates and the runbooks asked for: what a regeneration's output depends on."""
    taken_ns: int
    """When the files were looked at: an mtime this close to it is not trusted next time (see RACY_NS)."""


@dataclass(frozen=True)
class Survey:
    """What `runbook list` shows: every pattern with its counts and steps, what was read, what was skipped."""

    patterns: tuple[Pattern, ...]
    account: SourceAccount
    skipped: tuple[SkippedSource, ...]


def scan(root: Path, settings: Settings, names: Sequence[str], strict: bool, templates_dir: Path | None) -> Scan:
    from runbook_synth.resources import packaged_templates

    taken = time.time_ns()
    discovered, refused = discover(root, settings.sources)
    files: list[tuple[str, str, int, int]] = []
    for source in discovered:
        try:
            info = os.stat(source.location)
            size, mtime = info.st_size, info.st_mtime_ns
        except OSError:
            size, mtime = -1, -1
        files.append((source.relative, source.location, size, mtime))
    core = Digest()
    core.feed(VERSION, CODE_VERSION, code_digest(), repr(settings), str(strict))
    for path, reason in refused:
        core.feed("refused", path, reason)
    found = find_config(root.resolve())
    if found is not None:
        core.feed("config", str(found[0]), file_digest(found[0]))
    static = Digest()
    static.feed(core.hexdigest(), repr(tuple(names)))
    for label, folder in (("user", templates_dir), ("packaged", packaged_templates())):
        static.feed("templates", label, str(folder))
        if folder is not None:
            static.feed(*folder_digest(folder))
    listing = hashlib.blake2b(digest_size=20)
    for relative, _, _, _ in files:
        listing.update(relative.encode("utf-8", "surrogatepass") + b"\x00")
    return Scan(tuple(files), listing.hexdigest(), core.hexdigest(), static.hexdigest(), taken)


class Digest:
    """blake2b over NUL-separated text parts: what each digest of inputs here is fed."""

    def __init__(self) -> None:
        self._digest = hashlib.blake2b(digest_size=20)

    def feed(self, *parts: str) -> None:
        for part in parts:
            self._digest.update(part.encode("utf-8", "surrogatepass"))
            self._digest.update(b"\x00")

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def path_key(relative: str) -> str:
    """A relative path as the store keeps it: digested, since a file's name may hold a secret."""
    return hashlib.blake2b(relative.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def file_digest(path: Path) -> str:
    try:
        return fingerprint_file(path).digest
    except RunbookSynthError:
        return "unreadable"


def folder_digest(folder: Path) -> list[str]:
    """Name and content digest of every file under a folder (a template may include any of them)."""
    if not folder.is_dir():
        return ["missing"]
    parts: list[str] = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() or path.is_symlink():
            kind = "link" if path.is_symlink() else "file"
            parts += [path.relative_to(folder).as_posix(), kind, file_digest(path)]
    return parts


def package_version() -> str:
    import importlib.metadata  # 23 ms to import: only a regeneration's runbook records need it

    try:
        return importlib.metadata.version("runbook-synth")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def code_digest() -> str:
    """Every module of the package and the Python running it, digested: changed code never trusts an old
    record. (Not the package's version: the modules say what it would, and finding it costs a warm answer
    40 ms of `importlib.metadata`.)"""
    package = Path(__file__).resolve().parent
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{sys.version}\x00".encode())
    for path in sorted(package.rglob("*.py")):
        with contextlib.suppress(OSError):
            digest.update(path.relative_to(package).as_posix().encode() + b"\x00" + path.read_bytes() + b"\x00")
    return digest.hexdigest()


def store_digest(store: StateStore, today: date) -> str:
    """Stored records and runbook records; today's date too when there are remote records, whose evidence
    window ends today."""
    content, remote = store.content_digest()
    return f"{content}:{today.isoformat() if remote else ''}"


def recorded(store: StateStore) -> dict[str, Any] | None:
    raw = store.regeneration(RECORD)
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("version") == VERSION else None


def recorded_files(store: StateStore) -> list[list[Any]]:
    raw = store.regeneration(FILES_RECORD)
    try:
        files = json.loads(raw) if raw is not None else []
    except ValueError:
        return []
    return files if isinstance(files, list) else []


def stat_digest(found: Scan) -> str:
    """Every source file's path, size and mtime in one digest."""
    parts = (f"{relative}\x00{size}\x00{mtime}\x00" for relative, _, size, mtime in found.files)
    return hashlib.blake2b("".join(parts).encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


def settled(found: Scan) -> bool:
    """No file was modified within RACY_NS of the scan: its size and mtime can be trusted next time."""
    return all(mtime < found.taken_ns - RACY_NS for _, _, _, mtime in found.files)


def same_stats(record: Mapping[str, Any], found: Scan) -> bool:
    """Every source file has the size and mtime the record saw, and none was racy then: unchanged, known by
    one digest without reading the record's file list."""
    return record.get("settled") is True and record.get("stats") == stat_digest(found)


def files_unchanged(record: Mapping[str, Any], store: StateStore, found: Scan) -> bool:
    """Whether every source file is as the record saw it: by `same_stats`, else file by file
    (`unchanged_files`)."""
    return same_stats(record, found) or unchanged_files(record, recorded_files(store), found) is not None


def manifest(found: Scan, previous: Mapping[str, Any] | None, files: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """[key, size, mtime_ns, digest] per source file, taken before the sources are read (a file changed while
    they are read then differs next time); digests of files whose size and mtime match the previous record's
    `files` (and were not racy then) are reused."""
    known = {}
    taken = 0
    if previous is not None:
        known = {item[0]: item for item in files}
        taken = int(previous.get("taken_ns", 0))
    listed: list[list[Any]] = []
    for relative, path, size, mtime in found.files:
        key = path_key(relative)
        old = known.get(key)
        if old is not None and old[1] == size and old[2] == mtime and mtime < taken - RACY_NS:
            listed.append([key, size, mtime, old[3]])
        else:
            listed.append([key, size, mtime, file_digest(Path(path))])
    return listed


def unchanged_files(record: Mapping[str, Any], files: Sequence[Sequence[Any]], found: Scan) -> list[list[Any]] | None:
    """The record's file list with the mtimes of touched-but-unchanged files brought up to date, or None when
    a source file was added, removed or changed since the record was taken."""
    if record.get("paths") != found.paths or len(files) != len(found.files):
        return None
    taken = int(record.get("taken_ns", 0))
    refreshed: list[list[Any]] = []
    for item, (_, path, size, mtime) in zip(files, found.files, strict=True):
        if item[1] != size:
            return None
        if (item[2] != mtime or mtime >= taken - RACY_NS) and file_digest(Path(path)) != item[3]:
            return None
        refreshed.append([item[0], size, mtime, item[3]])
    return refreshed


def mining_inputs(found: Scan, store: StateStore, today: date) -> str:
    return f"{found.core}:{store_digest(store, today)}"


def output_inputs(found: Scan, store: StateStore, today: date) -> str:
    return f"{found.static}:{store_digest(store, today)}"


# --- what the record holds besides its inputs -----------------------------------------------------------------------


def survey_payload(survey: Survey, warnings: Iterable[tuple[str, int, str]] | None) -> dict[str, Any]:
    return {
        "patterns": [asdict(pattern) for pattern in survey.patterns],
        "account": asdict(survey.account),
        "skipped": [[skip.path, skip.reason] for skip in survey.skipped],
        "warnings": [list(item) for item in warnings] if warnings is not None else None,
    }


def runbook_row(sources_digest: str) -> str:
    return f"{RUNBOOK_PREFIX}{sources_digest}"


def rendered_row(sources_digest: str) -> str:
    return f"{RENDERED_PREFIX}{sources_digest}"


def rendered_payload(undated: str, summary: RunbookSummary) -> str | None:
    """The row kept for a runbook's undated markdown, or None when the text cannot be dated by replacing the
    mark (a template that prints the date other than once)."""
    if undated.count(DATE_MARK) != 1:
        return None
    return json.dumps({"text": undated, "summary": asdict(summary)}, ensure_ascii=False, sort_keys=True)


def dated(undated: str, day: str) -> str:
    return undated.replace(DATE_MARK, day)


# --- answering from the record --------------------------------------------------------------------------------------


def _warm_record(root: Path, settings: Settings, strict: bool, today: date) -> tuple[dict[str, Any], StateStore] | None:
    """The record and the open (read-only) store when nothing mining reads has changed since; else None."""
    if not store_exists(root):
        return None
    try:
        store = StateStore.open(root, readonly=True)
    except RunbookSynthError:
        return None  # the full path says what is wrong with the store
    try:
        record = recorded(store)
        if record is None or record.get("survey") is None:
            store.close()
            return None
        found = scan(root, settings, (), strict, None)
        if record.get("core") != mining_inputs(found, store, today) or not files_unchanged(record, store, found):
            store.close()
            return None
    except (RunbookSynthError, OSError, ValueError, KeyError, TypeError):
        store.close()
        return None
    return record, store


def _replay(warnings: Any) -> bool:
    """Say the warnings reading the sources gave when they were recorded; False when they were not recorded
    (a quiet run) and this run must show them: the full path then says them."""
    if warnings is None:
        return not logging.getLogger("runbook_synth").isEnabledFor(logging.WARNING)
    for name, level, message in warnings:
        logging.getLogger(str(name)).log(int(level), "%s", message)
    return True


def survey_library(root: Path, settings: Settings, strict: bool = False, today: date | None = None) -> Survey:
    """What `runbook list` shows: from the last `regenerate` when nothing it read has changed, else surveyed
    (the pipeline is imported only then)."""
    from runbook_synth.ingest.files import check_root

    checked = check_root(root)
    day = today or date.today()
    known = warm_survey(checked, settings, strict, day)
    if known is not None:
        return known
    from runbook_synth.pipeline import list_patterns

    surveyed, corpus, found = list_patterns(checked, settings, strict, day)
    return Survey(surveyed, found, corpus.skipped)


def warm_survey(root: Path, settings: Settings, strict: bool, today: date) -> Survey | None:
    """The survey of the last regeneration, when nothing it read has changed since."""
    from runbook_synth.codec import account_from_json, pattern_from_json

    warm = _warm_record(root, settings, strict, today)
    if warm is None:
        return None
    record, store = warm
    store.close()
    payload = record["survey"]
    try:
        survey = Survey(
            tuple(pattern_from_json(item) for item in payload["patterns"]),
            account_from_json(payload["account"]),
            tuple(SkippedSource(str(path), str(reason)) for path, reason in payload["skipped"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
    return survey if _replay(payload.get("warnings")) else None


@dataclass(frozen=True)
class WarmRunbook:
    """What the last regeneration mined for a type and scope, answered without parsing a source."""

    load: Callable[[], Runbook]
    """Decodes the runbook, dated today."""
    corpus: Corpus
    """Only what was skipped."""
    markdown: str | None = None
    """Its markdown in the packaged /runbook template, dated today, when the regeneration kept it."""
    summary: RunbookSummary | None = None


def warm_runbook(
    root: Path, settings: Settings, strict: bool, today: date, operation_type: str, scope: str
) -> WarmRunbook | None:
    """The runbook the last regeneration mined for exactly this type and scope label (dated today, decoded
    when asked for if its markdown was kept), and a corpus holding only what was skipped, when nothing it read
    has changed since; else None."""
    from runbook_synth.codec import runbook_from_json

    warm = _warm_record(root, settings, strict, today)
    if warm is None:
        return None
    record, store = warm
    try:
        digest = record.get("runbooks", {}).get(f"{operation_type}\x00{scope}")
        raw = store.regeneration(runbook_row(digest)) if isinstance(digest, str) else None
        rendered = store.regeneration(rendered_row(digest)) if raw is not None and isinstance(digest, str) else None
    except RunbookSynthError:
        raw = None
    finally:
        store.close()
    if raw is None:
        return None
    payload = record["survey"]
    try:
        skipped = tuple(SkippedSource(str(path), str(reason)) for path, reason in payload["skipped"])
    except (ValueError, KeyError, TypeError):
        return None
    markdown, summary = _dated_markdown(rendered, today)
    if not _replay(payload.get("warnings")):
        return None
    stored = raw

    def load() -> Runbook:
        try:
            return replace(runbook_from_json(json.loads(stored)), generated=today.isoformat())
        except (ValueError, KeyError, TypeError) as error:
            raise RunbookSynthError(f"the stored runbook is unreadable ({error}); run `runbook regenerate`") from None

    if markdown is not None:
        return WarmRunbook(load, Corpus((), skipped, ()), markdown, summary)
    try:
        runbook = load()  # decoded now: one that cannot be decoded sends the request down the full path
    except RunbookSynthError:
        return None
    return WarmRunbook(lambda: runbook, Corpus((), skipped, ()))


def _dated_markdown(rendered: str | None, today: date) -> tuple[str | None, RunbookSummary | None]:
    """The kept text dated today and what it says of the runbook; (None, None) when there is none or it is
    unreadable: the text is then rendered from the runbook."""
    try:
        payload = json.loads(rendered) if rendered is not None else None
        if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
            return None, None
        summary = RunbookSummary(**{key: int(value) for key, value in payload["summary"].items()})
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, None
    undated: str = payload["text"]
    if undated.count(DATE_MARK) != 1:
        return None, None
    return dated(undated, today.isoformat()), summary
