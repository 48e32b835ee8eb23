"""The files of a repository (`.claude/observations`, `.claude/journals`) read into a Corpus.

Each file is read safely, redacted before anything parses it, then parsed; a file that fails is skipped
by name (or, in strict mode, stops the run).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from runbook_synth.codec import CODEC_VERSION, observation_from_json, observation_to_json
from runbook_synth.errors import RunbookSynthError, SourceError
from runbook_synth.ingest.files import SourceFile, discover, read_text, split_frontmatter
from runbook_synth.ingest.journals import parse_journal
from runbook_synth.ingest.observations import parse_observation
from runbook_synth.models import Corpus, Observation, RedactionFinding, SkippedSource
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
    # A secret in a file name must not reach sources, warnings or errors: every path is shown redacted.
    sources = [SourceFile(source.path, redact_path(source.relative, rules)) for source in discovered]
    skipped = [SkippedSource(redact_path(path, rules), reason) for path, reason in refused]
    observations: list[Observation] = []
    findings: list[RedactionFinding] = []
    with _ParseCache.open(root, settings, strict) as cache:
        for source in sources:
            try:
                observation, found = _load_one(source, settings, rules, strict, cache)
            except SourceError as error:
                if strict:
                    raise
                skipped.append(SkippedSource(source.relative, error.problem))
                continue
            observations.append(observation)
            findings.extend(found)
    if strict and skipped:
        first = skipped[0]
        raise SourceError(first.path, first.reason)
    observations.sort(key=lambda item: item.sort_key)
    for skip in skipped:
        log.warning("skipped %s: %s", skip.path, skip.reason)
    return Corpus(tuple(observations), tuple(skipped), tuple(findings))


class _ParseCache:
    """Parsed observations by content digest, in the state store when one exists (created by `regenerate` or
    `ingest`); read-only runs never create it. The key covers everything that changes what parsing yields."""

    def __init__(self, store: StateStore | None, key: str) -> None:
        self.store = store
        self.key = key
        self.pending: list[tuple[str, str, str]] = []

    @classmethod
    @contextlib.contextmanager
    def open(cls, root: Path, settings: Settings, strict: bool) -> Iterator[_ParseCache]:
        key = (
            "|".join((CODEC_VERSION, repr(settings.redact_patterns), repr(settings.redact_allowlist), str(strict)))
            + f"|{settings.max_commands_per_source}"
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
        return hashlib.blake2b(f"{self.key}\0{path}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, path: str, digest: str) -> str | None:
        return self.store.parsed(path, digest) if self.store is not None else None

    def put(self, path: str, digest: str, payload: str) -> None:
        if self.store is not None:
            self.pending.append((path, digest, payload))

    def flush(self) -> None:
        if self.store is None or not self.pending:
            return
        try:
            with self.store.transaction():
                for path, digest, payload in self.pending:
                    self.store.set_parsed(path, digest, payload)
        except RunbookSynthError as error:
            log.warning("parse cache not updated: %s", error)


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


def _load_one(
    source: SourceFile, settings: Settings, rules: RedactionRules, strict: bool, cache: _ParseCache
) -> tuple[Observation, tuple[RedactionFinding, ...]]:
    text = read_text(source, settings.max_file_bytes)
    digest = cache.digest(source.relative, text)
    hit = cache.get(source.relative, digest)
    if hit is not None:
        observation, found, warnings = observation_from_json(hit)
        for warning in warnings:
            log.warning("%s", warning)
        return observation, found
    with _warnings_of_parsing() as warnings:
        observation, found = _parse_one(source, text, settings, rules, strict)
    for warning in warnings:
        log.warning("%s", warning)
    cache.put(source.relative, digest, observation_to_json(observation, found, warnings))
    return observation, found


def _parse_one(
    source: SourceFile, text: str, settings: Settings, rules: RedactionRules, strict: bool
) -> tuple[Observation, tuple[RedactionFinding, ...]]:
    redacted = redact_text(text, source.relative, rules)
    observation = parse_source(source.relative, redacted.text, strict)
    observation, late = _redact_rebuilt_text(observation, redacted.text, rules)
    return _capped(observation, settings.max_commands_per_source), redacted.findings + late


def _redact_rebuilt_text(
    observation: Observation, text: str, rules: RedactionRules
) -> tuple[Observation, tuple[RedactionFinding, ...]]:
    """Text the parser rebuilt (commands joined from `\\` continuation lines, prose joined with `;`) did not
    exist as one line when the source was redacted: a `-p SECRET` on the next line is only a flag's value
    once joined. Every such string is redacted again; strings found verbatim in the source are not."""
    findings: list[RedactionFinding] = []

    def again(value: str, line: int) -> str:
        if not value or value in text:
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
