"""The files of a repository (`.claude/observations`, `.claude/journals`) read into a Corpus.

Each file is read safely, redacted before anything parses it, then parsed; a file that fails is skipped
by name (or, in strict mode, stops the run).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from runbook_synth.errors import SourceError
from runbook_synth.ingest.files import SourceFile, discover, read_text, split_frontmatter
from runbook_synth.ingest.journals import parse_journal
from runbook_synth.ingest.observations import parse_observation
from runbook_synth.models import CommandRun, Corpus, Observation, RedactionFinding, SkippedSource
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
    observation = parse_source(source.relative, redacted.text, strict)
    observation, late = _redact_rebuilt_commands(observation, redacted.text, rules)
    return _capped(observation, settings.max_commands_per_source), redacted.findings + late


def _redact_rebuilt_commands(
    observation: Observation, text: str, rules: RedactionRules
) -> tuple[Observation, tuple[RedactionFinding, ...]]:
    """Commands joined from `\\` continuation lines did not exist as one line when the source was redacted:
    a `-p SECRET` on the next line is only a flag's value once joined. Redact those again."""
    findings: list[RedactionFinding] = []
    commands: list[CommandRun] = []
    for run in observation.commands:
        if run.command in text:
            commands.append(run)
            continue
        again = redact_text(run.command, observation.path, rules, first_line=run.provenance.line or 1)
        findings.extend(again.findings)
        commands.append(replace(run, command=again.text))
    if not findings:
        return observation, ()
    return replace(observation, commands=tuple(commands)), tuple(findings)


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
