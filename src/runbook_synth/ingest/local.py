"""The files of a repository (`.claude/observations`, `.claude/journals`) read into a Corpus.

Each file is read safely, redacted before anything parses it, then parsed; a file that fails is skipped
by name (or, in strict mode, stops the run).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

from runbook_synth.classify import ObservationFacts, OperationVotes, facts_of
from runbook_synth.codec import CODEC_VERSION, observation_from_json, observation_to_json
from runbook_synth.errors import RunbookSynthError, SourceError
from runbook_synth.ingest.files import SourceFile, discover, read_text, split_frontmatter
from runbook_synth.ingest.journals import parse_journal
from runbook_synth.ingest.observations import parse_observation
from runbook_synth.models import Classification, Corpus, Observation, RedactionFinding, SkippedSource
from runbook_synth.processes import cores, exit_with_parent, process_pools_allowed
from runbook_synth.redact import RedactionRules, redact_path, redact_text
from runbook_synth.settings import Settings
from runbook_synth.state import StateStore, store_exists

log = logging.getLogger(__name__)


def redaction_rules(settings: Settings) -> RedactionRules:
    return RedactionRules(extra_patterns=settings.redact_patterns, allowlist=settings.redact_allowlist)


def parse_source(relative: str, text: str, strict: bool = False) -> Observation:
    """One redacted text to an Observation; SourceError when its frontmatter is unusable."""
    document = split_frontmatter(text, relative, lenient=not strict)
    if "/journals/" in f"/{relative}" or relative.startswith("journals/"):
        return parse_journal(relative, document)
    return parse_observation(relative, document)


def load_corpus(root: Path, settings: Settings, strict: bool = False) -> Corpus:
    """Every source under `root`, redacted and parsed; skips are named, never silent."""
    rules = redaction_rules(settings)
    discovered, refused = discover(root, settings.sources)
    skipped = [SkippedSource(redact_path(path, rules), reason) for path, reason in refused]
    observations: list[Observation] = []
    findings: list[RedactionFinding] = []
    facts: dict[str, ObservationFacts] = {}
    shared: dict[tuple[object, ...], ObservationFacts] = {}  # runs of one procedure mostly have equal facts
    with _ParseCache.open(root, settings, strict) as cache:
        # A secret in a file name must not reach sources, warnings or errors: every path is shown redacted.
        sources = [SourceFile(source.location, cache.shown(source.relative, rules)) for source in discovered]
        for source, loaded in _load_all(sources, settings, rules, strict, cache):
            if isinstance(loaded, SourceError):
                if strict:
                    raise loaded
                skipped.append(SkippedSource(source.relative, loaded.problem))
                continue
            observations.append(loaded.observation)
            findings.extend(loaded.findings)
            facts[loaded.observation.path] = shared.setdefault(_facts_key(loaded.facts), loaded.facts)
    if strict and skipped:
        first = skipped[0]
        raise SourceError(first.path, first.reason)
    observations.sort(key=lambda item: item.sort_key)
    for skip in skipped:
        log.warning("skipped %s: %s", skip.path, skip.reason)
    return Corpus(tuple(observations), tuple(skipped), tuple(findings), facts)


class _ParseCache:
    """Parsed observations by content digest, in the state store when one exists (created by a run that
    writes: `generate`, `regenerate`, `ingest`); read-only runs never create it. The key covers everything
    that changes what parsing yields."""

    def __init__(self, store: StateStore | None, key: str) -> None:
        self.store = store
        self.key = key
        self.pending: list[tuple[str, str, str]] = []
        self._failed = False
        self._shown_before = store.shown_paths() if store is not None else {}
        self._shown: dict[str, str] = {}

    @classmethod
    @contextlib.contextmanager
    def open(cls, root: Path, settings: Settings, strict: bool) -> Iterator[_ParseCache]:
        key = (
            "|".join((CODEC_VERSION, repr(settings.redact_patterns), repr(settings.redact_allowlist), str(strict)))
            + f"|{settings.max_commands_per_source}|{_parser_digest()}"
        )
        if not store_exists(root):
            yield cls(None, key)
            return
        try:
            store = StateStore.open(root)
        except RunbookSynthError as error:
            log.warning("parse cache not used: %s", error)
            yield cls(None, key)
            return
        cache = cls(store, key)
        try:
            yield cache
            cache.flush()
        finally:
            store.close()

    def digest(self, path: str, text: str) -> str:
        return _cache_digest(self.key, path, text)

    def shown(self, relative: str, rules: RedactionRules) -> str:
        """The path as shown (redacted): remembered by a digest of the rules and the real path, never the
        real path itself, which may hold the secret."""
        key = hashlib.blake2b(f"{self.key}\0{relative}".encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()
        shown = self._shown_before.get(key)
        if shown is None:
            shown = redact_path(relative, rules)
        self._shown[key] = shown
        return shown

    def known(self) -> dict[str, str]:
        """The digest each cached path was parsed from, read in one query."""
        return self.store.parsed_digests() if self.store is not None else {}

    def get(self, path: str, digest: str) -> str | None:
        return self.store.parsed(path, digest) if self.store is not None else None

    def put(self, path: str, digest: str, payload: str) -> None:
        if self.store is not None:
            self.pending.append((path, digest, payload))
            if len(self.pending) >= self.BATCH:
                self._write(shown=False)

    BATCH = 1000
    """Parses written per transaction: a cold run of 50,000 files would otherwise hold every payload (150 MB)
    until the end. An entry is keyed by its content digest, so one written by a run that fails later is
    still right."""

    def flush(self) -> None:
        self._write(shown=True)

    def _write(self, shown: bool) -> None:
        paths = shown and self._shown != self._shown_before
        if self.store is None or self._failed or (not self.pending and not paths):
            self.pending.clear()
            return
        try:
            with self.store.transaction():
                for path, digest, payload in self.pending:
                    self.store.set_parsed(path, digest, payload)
                if paths:
                    self.store.set_shown_paths(self._shown)
        except RunbookSynthError as error:
            log.warning("parse cache not updated: %s", error)
            self._failed = True  # said once; the run goes on without the cache
        self.pending.clear()


def _cache_digest(key: str, path: str, text: str) -> str:
    return hashlib.blake2b(f"{key}\0{path}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()


@functools.cache
def _parser_digest() -> str:
    """The code that turns a file into an Observation, digested: a changed parser never reads a stale cache."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.blake2b(digest_size=16)
    for name in _PARSER_MODULES:
        with contextlib.suppress(OSError):
            digest.update((package / name).read_bytes())
    return digest.hexdigest()


_PARSER_MODULES = (
    "catalog.py",
    "classify.py",
    "codec.py",
    "credential_rules.py",
    "durations.py",
    "models.py",
    "redact.py",
    "shell.py",
    "ingest/files.py",
    "ingest/headings.py",
    "ingest/journals.py",
    "ingest/lessons.py",
    "ingest/local.py",
    "ingest/markdown.py",
    "ingest/observations.py",
    "memo.py",
)


@contextlib.contextmanager
def _warnings_of_parsing() -> Iterator[list[str]]:
    """The warnings parsing one source logs, kept so a cached parse says them again."""
    collected: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            collected.append(record.getMessage())

    handler = Collect(logging.WARNING)
    target = logging.getLogger("runbook_synth.ingest")
    level, propagate = target.level, target.propagate
    target.addHandler(handler)
    target.setLevel(logging.WARNING)  # collected whatever the user's level; said again below, at that level
    target.propagate = False
    try:
        yield collected
    finally:
        target.removeHandler(handler)
        target.setLevel(level)
        target.propagate = propagate


POOL_MIN = 200
"""With this many files to parse (cache misses) or more, they are parsed by a process pool on every core."""


class Parsed(NamedTuple):
    """One file's parse: the observation, what was masked in it, and what classification reads of it."""

    observation: Observation
    findings: tuple[RedactionFinding, ...]
    facts: ObservationFacts


_Loaded = Parsed | SourceError


def _load_all(
    sources: list[SourceFile], settings: Settings, rules: RedactionRules, strict: bool, cache: _ParseCache
) -> Iterator[tuple[SourceFile, _Loaded]]:
    """Each source with its observation (or the SourceError that skips it), in the order of `sources`.

    Files the cache answers are loaded in this process; the rest are parsed here one by one, or, when there
    are many and more than one core, by a process pool whose results come back in the same order, with
    the same warnings, as a serial run gives them. No text is kept between the two passes (memory stays
    what the observations need): a file to parse is read again by whoever parses it."""
    known = cache.known()
    plan: list[str | SourceError | None] = []  # the cached digest, why it is skipped, or None: to be parsed
    misses: list[SourceFile] = []
    for source in sources:
        try:
            text = read_text(source, settings.max_file_bytes)
        except SourceError as error:
            plan.append(error)
            continue
        digest = cache.digest(source.relative, text)
        if known.get(source.relative) == digest:
            plan.append(digest)
        else:
            plan.append(None)
            misses.append(source)
    workers = _workers(len(misses))
    task = functools.partial(_parse_file, settings=settings, rules=rules, strict=strict, key=cache.key)
    parsed = map(task, misses) if workers < 2 else _parse_in_pool(task, misses, workers)
    for source, item in zip(sources, plan, strict=True):
        if isinstance(item, SourceError):
            yield source, item
            continue
        hit = cache.get(source.relative, item) if item is not None else None
        if hit is not None:
            yield source, _from_cache(hit)
            continue
        digest, loaded, warnings = next(parsed) if item is None else task(source)
        for warning in warnings:
            log.warning("%s", warning)
        if not isinstance(loaded, SourceError):
            payload = observation_to_json(loaded.observation, loaded.findings, warnings, _plain_facts(loaded.facts))
            cache.put(source.relative, digest, payload)
        yield source, loaded


def _from_cache(hit: str) -> _Loaded:
    observation, found, warnings, facts = observation_from_json(hit)
    for warning in warnings:
        log.warning("%s", warning)
    return Parsed(observation, found, _facts_from_plain(facts) or facts_of(observation))


def _plain_facts(facts: ObservationFacts) -> dict[str, Any]:
    votes = facts.votes
    return {
        "classification": [facts.classification.operation_type, facts.classification.scope],
        "verbs": sorted(facts.verbs),
        "votes": {"tagged": votes.tagged, "stated": votes.stated, "commands": votes.commands},
    }


def _facts_from_plain(data: Any) -> ObservationFacts | None:
    """The kept facts, or None when the entry has none or they do not read (they are then worked out)."""
    try:
        operation_type, scope = data["classification"]
        votes = {key: {str(name): float(weight) for name, weight in data["votes"][key].items()} for key in _VOTES}
        return ObservationFacts(
            Classification(str(operation_type), str(scope)),
            frozenset(str(verb) for verb in data["verbs"]),
            OperationVotes(**votes),
        )
    except (TypeError, KeyError, ValueError, AttributeError):
        return None


_VOTES = ("tagged", "stated", "commands")


def _facts_key(facts: ObservationFacts) -> tuple[object, ...]:
    votes = facts.votes
    return (
        facts.classification,
        facts.verbs,
        *(tuple(sorted(part.items())) for part in (votes.tagged, votes.stated, votes.commands)),
    )


def _workers(files: int) -> int:
    if files < POOL_MIN or not process_pools_allowed():
        return 1
    return max(1, min(cores(), files // (POOL_MIN // 2)))


def _parse_file(
    source: SourceFile, settings: Settings, rules: RedactionRules, strict: bool, key: str
) -> tuple[str, _Loaded, list[str]]:
    """One file read and parsed (or its SourceError), with its cache digest and the warnings parsing it
    logged, which the caller says."""
    with _warnings_of_parsing() as warnings:
        try:
            text = read_text(source, settings.max_file_bytes)
            digest = _cache_digest(key, source.relative, text)
            loaded: _Loaded = _parse_one(source, text, settings, rules, strict)
        except SourceError as error:
            digest, loaded = "", error
    return digest, loaded, warnings


_Task = Callable[[SourceFile], tuple[str, _Loaded, list[str]]]


def _parse_in_pool(task: _Task, sources: list[SourceFile], workers: int) -> Iterator[tuple[str, _Loaded, list[str]]]:
    """`task` over the files in `workers` processes (spawned: the parent may hold threads and a database
    connection), in order. What else the workers log is said once here, in order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    chunk = max(1, min(64, len(sources) // (workers * 8)))
    said: set[tuple[str, int, str]] = set()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker) as pool:
        for digest, loaded, warnings, other in pool.map(
            _in_worker, [(task, source) for source in sources], chunksize=chunk
        ):
            for item in other:
                if item not in said:
                    said.add(item)
                    logging.getLogger(item[0]).log(item[1], "%s", item[2])
            yield digest, (SourceError(*loaded) if isinstance(loaded, list) else loaded), warnings


_worker_logs: list[tuple[str, int, str]] = []


def _start_worker() -> None:
    """In a pool worker: keep what runbook_synth logs, to be said by the parent (which owns stderr); end
    with the parent."""
    exit_with_parent()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            _worker_logs.append((record.name, record.levelno, record.getMessage()))

    top = logging.getLogger("runbook_synth")
    top.handlers[:] = [Collect(logging.WARNING)]
    top.setLevel(logging.WARNING)
    top.propagate = False


def _in_worker(
    job: tuple[_Task, SourceFile],
) -> tuple[str, Parsed | list[str], list[str], list[tuple[str, int, str]]]:
    """One file in a worker; a SourceError travels as [source, problem] (it does not pickle)."""
    task, source = job
    digest, loaded, warnings = task(source)
    other = list(_worker_logs)
    _worker_logs.clear()
    if isinstance(loaded, SourceError):
        return digest, [loaded.source, loaded.problem], warnings, other
    return digest, loaded, warnings, other


def _parse_one(source: SourceFile, text: str, settings: Settings, rules: RedactionRules, strict: bool) -> Parsed:
    redacted = redact_text(text, source.relative, rules)
    observation = parse_source(source.relative, redacted.text, strict)
    observation, late = _redact_rebuilt_text(observation, redacted.text, rules)
    observation = _capped(observation, settings.max_commands_per_source)
    return Parsed(observation, redacted.findings + late, facts_of(observation))


class _Verbatim:
    """Whether a string occurs verbatim in a source text, looked for first in the lines around where it was
    read (a command and its output sit within a few lines of the command's line), then anywhere: a note of
    100,000 commands would otherwise scan its whole text once per command."""

    SLACK = 40
    """Lines before and after a string's own lines that the first look covers (fences, "Output:" lines)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        self.starts.extend(match.end() for match in re.finditer("\n", text))

    def holds(self, value: str, line: int) -> bool:
        if line > 0:
            first = max(line - 1 - self.SLACK, 0)
            last = line + value.count("\n") + self.SLACK
            end = self.starts[last] if last < len(self.starts) else len(self.text)
            if value in self.text[self.starts[min(first, len(self.starts) - 1)] : end]:
                return True
        return value in self.text


def _redact_rebuilt_text(
    observation: Observation, text: str, rules: RedactionRules
) -> tuple[Observation, tuple[RedactionFinding, ...]]:
    """Text the parser rebuilt (commands joined from `\\` continuation lines, prose joined with `;`) did not
    exist as one line when the source was redacted: a `-p SECRET` on the next line is only a flag's value
    once joined. Every such string is redacted again; strings found verbatim in the source are not."""
    findings: list[RedactionFinding] = []
    verbatim = _Verbatim(text)

    def again(value: str, line: int) -> str:
        if not value or verbatim.holds(value, line):
            return value
        redacted = redact_text(value, observation.path, rules, first_line=line or 1)
        findings.extend(redacted.findings)
        return redacted.text

    commands = tuple(
        replace(run, command=again(run.command, run.provenance.line), output=again(run.output, run.provenance.line))
        for run in observation.commands
    )
    failure = observation.failure
    if failure is not None:
        failure = replace(
            failure,
            error_messages=tuple(again(item, 0) for item in failure.error_messages),
            symptoms=again(failure.symptoms, 0),
            failed_command=again(failure.failed_command, 0),
            root_cause=again(failure.root_cause, 0),
            fix_commands=tuple(again(item, 0) for item in failure.fix_commands),
            prevention=again(failure.prevention, 0),
        )
    rebuilt = replace(observation, commands=commands, failure=failure, title=again(observation.title, 0))
    rebuilt = replace(rebuilt, context=again(observation.context, 0))
    return (rebuilt, tuple(findings)) if findings else (observation, ())


def _capped(observation: Observation, limit: int) -> Observation:
    """One pathological note must not stall a run: past the limit, commands are dropped with a warning."""
    if len(observation.commands) <= limit:
        return observation
    log.warning(
        "%s: %d commands; only the first %d are used (raise max_commands_per_source to use more)",
        observation.path,
        len(observation.commands),
        limit,
    )
    return replace(observation, commands=observation.commands[:limit])
