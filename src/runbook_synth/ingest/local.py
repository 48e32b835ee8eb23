"""The files of a repository (`.claude/observations`, `.claude/journals`) read into a Corpus.

Each file is read safely, redacted before anything parses it, then parsed; a file that fails is skipped
by name (or, in strict mode, stops the run).
"""

from __future__ import annotations

import logging
from pathlib import Path

from runbook_synth.errors import SourceError
from runbook_synth.ingest.files import SourceFile, discover, read_text, split_frontmatter
from runbook_synth.ingest.journals import parse_journal
from runbook_synth.ingest.observations import parse_observation
from runbook_synth.models import Corpus, Observation, RedactionFinding, SkippedSource
from runbook_synth.redact import RedactionRules, redact_text
from runbook_synth.settings import Settings

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
    sources, refused = discover(root)
    skipped = [SkippedSource(path, reason) for path, reason in refused]
    observations: list[Observation] = []
    findings: list[RedactionFinding] = []
    rules = redaction_rules(settings)
    for source in sources:
        try:
            observation, found = _load_one(source, settings, rules, strict)
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


def _load_one(
    source: SourceFile, settings: Settings, rules: RedactionRules, strict: bool
) -> tuple[Observation, tuple[RedactionFinding, ...]]:
    text = read_text(source, settings.max_file_bytes)
    redacted = redact_text(text, source.relative, rules)
    return parse_source(source.relative, redacted.text, strict), redacted.findings
