"""Does the team still follow its runbooks? Each recent execution is replayed against its runbook's steps:
followed, skipped, reordered, or added (a command no step explains), with an alignment fitness per run and
per runbook, as process mining defines it: 1 - cost of the alignment / cost of the worst alignment.

Costs are deliberately simple: an added command or a skipped required step costs 1 (a log move or a model
move), a step done out of order costs 2 (one of each), optional steps may be skipped for free. A runbook
whose recent runs stop fitting is flagged stale, with the steps people now do differently.

Honest limits: the runs scored may be the very runs the runbook was mined from (then they fit well by
construction); the signal is in runs recorded after the library was last regenerated.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from runbook_synth.align import KeyIndex, prepare_run, skeleton
from runbook_synth.cluster import select
from runbook_synth.drift import command_skeleton, in_order
from runbook_synth.errors import RunbookSynthError
from runbook_synth.library import library_folder, library_twins, mine_corpus
from runbook_synth.models import Observation
from runbook_synth.normalize import command_key
from runbook_synth.settings import Settings

STALE_FITNESS = 0.75
"""Below this log fitness (over at least MIN_RUNS recent runs) a runbook no longer describes what people do."""
MIN_RUNS = 2
FUZZY_MATCH = 85.0
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


@dataclass(frozen=True)
class RunConformance:
    """One execution replayed against a runbook."""

    source: str
    day: str
    followed: tuple[int, ...]
    skipped: tuple[int, ...]
    """Required steps the run did not do (optional steps are never counted as skipped)."""
    reordered: tuple[int, ...]
    added: tuple[str, ...]
    """Commands of the run that no step explains."""
    cost: int
    worst: int

    @property
    def fitness(self) -> float:
        return 1.0 if self.worst == 0 else max(0.0, 1.0 - self.cost / self.worst)


@dataclass(frozen=True)
class RunbookConformance:
    name: str
    operation_type: str
    scope: str
    runs: tuple[RunConformance, ...]
    stale: bool
    differences: tuple[str, ...]
    """What people now do differently: required steps most runs skip, commands most runs add."""

    @property
    def fitness(self) -> float | None:
        """Log fitness: 1 - total cost / total worst cost over the recent runs; None with no recent run."""
        worst = sum(run.worst for run in self.runs)
        if not self.runs:
            return None
        return 1.0 if worst == 0 else max(0.0, 1.0 - sum(run.cost for run in self.runs) / worst)


@dataclass(frozen=True)
class ConformanceReport:
    since: str
    runbooks: tuple[RunbookConformance, ...]

    @property
    def stale(self) -> tuple[RunbookConformance, ...]:
        return tuple(item for item in self.runbooks if item.stale)


def _normalized(command: str) -> str:
    return " ".join(command.replace("\\\n", " ").split())


def _pattern(template: str) -> re.Pattern[str]:
    """A command template as a regex: literal text exact (any spacing), each placeholder any non-empty text."""
    parts = _PLACEHOLDER.split(_normalized(template))
    literal = [r"\s+".join(re.escape(word) for word in part.split(" ")) for part in parts]
    return re.compile(".+?".join(literal))


def command_matches(command: str, template: str) -> bool:
    """Whether a command as run is an instance of a step's command template."""
    if _pattern(template).fullmatch(_normalized(command)):
        return True
    key, known = command_key(command), command_skeleton(template)
    return skeleton(key) == skeleton(known) and fuzz.ratio(key, known) >= FUZZY_MATCH


def replay(execution: Observation, steps: Sequence[Mapping[str, Any]]) -> RunConformance:
    """One run against a runbook's steps. The trace is what alignment mines: noise, failed attempts and the
    fixes of a retried command are lifted out (they are troubleshooting, not procedure)."""
    done: list[int] = []
    added: list[str] = []
    for run in prepare_run(0, execution.commands, KeyIndex()).commands:
        candidates = [
            int(step["number"])
            for step in steps
            if any(command_matches(run.command, str(template)) for template in step.get("commands", []))
        ]
        fresh = [number for number in candidates if number not in done]
        if fresh:
            done.append(fresh[0])
        elif not candidates:
            added.append(_normalized(run.command))
    kept = in_order(done)
    reordered = tuple(sorted(number for position, number in enumerate(done) if position not in kept))
    required = [int(step["number"]) for step in steps if not step.get("optional")]
    skipped = tuple(number for number in required if number not in done)
    cost = len(added) + len(skipped) + 2 * len(reordered)
    worst = len(done) + len(added) + len(required)
    return RunConformance(
        execution.path,
        execution.day.isoformat() if execution.day else "",
        tuple(sorted(done)),
        skipped,
        reordered,
        tuple(added),
        cost,
        worst,
    )


def score_runbook(name: str, twin: Mapping[str, Any], executions: Sequence[Observation]) -> RunbookConformance:
    steps = list(twin.get("steps", []))
    runs = tuple(replay(execution, steps) for execution in executions)
    titles = {int(step["number"]): " ".join(str(step.get("title", "")).split()) for step in steps}
    differences: list[str] = []
    half = len(runs) / 2
    skips = Counter(number for run in runs for number in run.skipped)
    for number, count in sorted(skips.items()):
        if count > half:
            differences.append(f"Step {number} ({titles.get(number, '')}) skipped in {count} of {len(runs)} runs")
    extra = Counter(command for run in runs for command in set(run.added))
    for command, count in sorted(extra.items()):
        if count > half and count >= MIN_RUNS:
            differences.append(f"`{command}` done in {count} of {len(runs)} runs, in no step")
    result = RunbookConformance(
        name, str(twin.get("operation_type", "")), str(twin.get("scope", "")), runs, False, tuple(differences)
    )
    fitness = result.fitness
    stale = len(runs) >= MIN_RUNS and fitness is not None and fitness < STALE_FITNESS
    return RunbookConformance(result.name, result.operation_type, result.scope, runs, stale, result.differences)


def conformance(
    root: Path, settings: Settings, today: date, since_days: int = 30, *, names: Sequence[str] = ()
) -> ConformanceReport:
    """Every runbook of the library scored against its executions of the last `since_days` days."""
    if since_days < 1:
        raise RunbookSynthError(f"--since {since_days}d: must be at least 1 day; e.g. --since 30d")
    twins = library_twins(library_folder(root, settings.sources))
    if names:
        twins = {name: twin for name, twin in twins.items() if name in names}
    if not twins:
        raise RunbookSynthError(f"{root / 'runbooks' / '.data'}: no runbooks to score; run `runbook regenerate` first")
    mined = mine_corpus(root, settings)
    since = today - timedelta(days=since_days)
    scored: list[RunbookConformance] = []
    for name, twin in sorted(twins.items()):
        selection = select(
            mined.corpus,
            mined.found,
            str(twin.get("operation_type", "")),
            str(twin.get("scope", "")),
            settings.scope_threshold,
        )
        recent = [obs for obs in selection.executions if obs.day is not None and since <= obs.day <= today]
        scored.append(score_runbook(name, twin, recent))
    return ConformanceReport(since.isoformat(), tuple(scored))


def conformance_summary(report: ConformanceReport) -> str:
    """The table the CLI prints: one line per runbook, then what stale runbooks' runs now do differently."""
    lines = [f"{'RUNBOOK':<36} {'RUNS':>4} {'FITNESS':>7}  VERDICT   (executions since {report.since})"]
    for item in report.runbooks:
        fitness = "-" if item.fitness is None else f"{item.fitness:.2f}"
        verdict = "stale" if item.stale else ("no runs" if not item.runs else "fits")
        lines.append(f"{item.name:<36} {len(item.runs):>4} {fitness:>7}  {verdict}")
        if item.stale:
            lines.extend(f"    {difference}" for difference in item.differences)
    return "\n".join(lines)
