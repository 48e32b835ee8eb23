"""Runbook quality benchmark: corpora written from known procedures, the pipeline's runbooks scored against the truth.

Run from the repository root with ``python -m benchmarks.quality`` (``make bench-quality``), or ``--quick`` for a
smoke run of about a minute. Three vocabulary tiers are measured side by side: ``tuned`` (the vocabularies the
code has been developed against), ``heldout`` (other stacks, noise, wrappers, typo habits and note wording, read
from ``benchmarks/vocab/heldout/``; ``src/`` must never be tuned on them, but its developers read it while
debugging on 2026-12-02, so it is no longer blind) and ``fresh`` (``benchmarks/vocab/fresh/``, written on
2026-12-02 by someone who did not work on ``src/``, with stacks, noise, wrappers, typos and wording that neither
other tier uses; nobody working on ``src/`` should read it). Each tier runs at 6, 12, 60 and 200 runs per
procedure, in three metadata tiers (full tags, no tags, misleading contexts). The pipeline generates
every procedure's runbook in process (the JSON of ``runbook generate TYPE SCOPE --format json --stdout``), one
generate call per worker process at a time.

Metrics, per procedure (averaged over procedures unless said otherwise):

- recall: required truth steps found among the generated commands;
- precision: generated commands that are a truth step (a duplicated or stray command counts against it);
- tau: Kendall tau between truth order and generated order of the matched commands; a step the generator
  swaps with the next one in some runs (``swap_next``: the two are independent) may come in either order;
- placeholders: token-level exactness of matched commands (a position that varied across the corpus's runs is
  a ``{...}`` placeholder, a position that did not is the literal value);
- optional: optional truth steps shown optional (the step's flag, or its own ``command_support`` below 90 % of
  the runs), divided by optional truth steps plus required steps wrongly shown optional;
- selection recall/precision: the runs listed in the runbook's ``sources`` against the procedure's true runs;
- step duration error: |generated step median - true step median| / true, pooled over all matched steps of the
  tier; the target applies to the median, the p90 is reported beside it;
- failure ARI: adjusted Rand index between the true failure modes of the recorded failure events (a failed
  call in a run together with the failure note written about it, or a journal) and the troubleshooting
  entries whose ``sources`` cite them (an uncited event is a cluster of its own), pooled over the corpus's
  procedures (labels are per procedure, so one procedure with one mode is not degenerate); modes seen in
  fewer than two runs are left out;
- if-failed: failure modes whose advice sits on the step that failed, over modes plus misplaced advice lines;
- secondary: fixes (the mode's fix commands in the entry holding its failures) and total duration error (the
  runbook's estimate against the run totals the generator wrote, which the parser only reads back).

One-off operations (a single run each) must be refused: generate raises (the CLI's exit code 1, checked once).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz
from scipy.optimize import linear_sum_assignment

from benchmarks.corpus_generator import (
    CorpusTruth,
    FailureItem,
    Metadata,
    ProcedureTruth,
    render,
    vocabulary,
    write_corpus,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_PATH = REPO_ROOT / "benchmarks" / "results" / "quality.json"
QUICK_RESULTS_PATH = REPO_ROOT / "benchmarks" / "results" / "quality-quick.json"
WORK_DIR = REPO_ROOT / "benchmarks" / ".work"
VOCABULARIES = ("tuned", "heldout", "fresh")
"""Every vocabulary tier, in the order of the cells of the table (``tuned / held-out / fresh``)."""
TIER_LABELS = {"tuned": "tuned", "heldout": "held-out", "fresh": "fresh"}
RUN_COUNTS = (6, 12, 60, 200)
SUBSETS: dict[int, tuple[int, ...]] = {6: (0, 2, 4, 5, 7, 9), 12: (0, 2, 4, 5, 7, 9), 60: (0, 4, 5, 7), 200: (0, 5)}
"""Procedures (indices into each vocabulary's list) per run count, so the full run fits in ~10 minutes on 2
cores: generate re-reads the whole corpus each call, so cost grows with runs x procedures^2. At 6 and 12 runs
the six cover all five operation types; 60 and 200 keep a deployment, an incident (and a rollback and a
migration at 60)."""
QUICK_RUNS = (6, 12)
QUICK_SUBSET = (0, 5, 7)
REFUSAL_RUNS = (12,)
"""One-off refusal is checked on the small corpora only (each check re-reads the corpus)."""
SEED = 20261123
TODAY = date(2026, 12, 1)
MATCH_THRESHOLD = 75.0
OPTIONAL_SHARE = 0.9
"""A command whose own support is below this share of the runs is shown optional."""
TARGETS: dict[str, tuple[str, float]] = {
    "recall": (">=", 0.97),
    "precision": (">=", 0.95),
    "tau": (">=", 0.97),
    "placeholders": (">=", 0.95),
    "optional": (">=", 0.90),
    "selection_recall": (">=", 0.97),
    "selection_precision": (">=", 0.97),
    "duration_median": ("<=", 0.15),
    "failure_ari": (">=", 0.90),
}
REPORTED = ("duration_p90", "if_failed", "fixes", "total_duration_error")
"""Shown beside the targets, without one of their own."""

_TRUTH_VAR = re.compile(r"\{[a-z_][a-z0-9_]*\}")
_OUT_VAR = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}|<[A-Za-z_][\w-]*>")
_WORD = re.compile(r"""(?:'[^']*'|"(?:\\.|[^"\\])*"|\\.|[^\s'"\\])+""")
_PREFIXES = re.compile(r"^(?:(?:[A-Z_][A-Z0-9_]*=\S+\s+)|(?:sudo\s+)|(?:time\s+))+")
_LINE = re.compile(r"^(.*):(\d+)$")


def _known_wrappers() -> tuple[tuple[str, str], ...]:
    """(prefix, suffix) of every wrapper of every tier: the benchmark may know them, ``src/`` may not."""
    pairs = []
    for name in VOCABULARIES:
        for template in vocabulary(name).wrappers:
            prefix, _, suffix = template.partition("{command}")
            pairs.append((" ".join(prefix.split()) + (" " if prefix.endswith(" ") else ""), suffix.strip()))
    return tuple(sorted(set(pairs), key=lambda pair: -len(pair[0])))


WRAPPERS = _known_wrappers()


# ---------------------------------------------------------------- text helpers


def unwrap(command: str) -> str:
    """The command without its wrapper (`op run --env-file=prod.env -- `, `sudo`, `KEY=value`), spaces folded."""
    folded = " ".join(command.replace("\\\n", " ").split())
    for prefix, suffix in WRAPPERS:
        if prefix and folded.startswith(prefix) and folded.endswith(suffix) and len(folded) > len(prefix + suffix):
            folded = folded[len(prefix) : len(folded) - len(suffix)].strip()
            break
    return _PREFIXES.sub("", folded)


def tokens(command: str) -> list[str]:
    return _WORD.findall(unwrap(command))


def masked(command: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub("<*>", unwrap(command))


def similarity(truth: str, generated: str) -> float:
    """0-100: how alike a truth template and a generated command are, placeholders masked on both sides."""
    truth_tokens, generated_tokens = tokens(truth), tokens(generated)
    if not truth_tokens or not generated_tokens or truth_tokens[0] != generated_tokens[0]:
        return 0.0
    return float(fuzz.ratio(masked(truth, _TRUTH_VAR), masked(generated, _OUT_VAR)))


def _literal_length(token: str, pattern: re.Pattern[str]) -> int:
    return len(pattern.sub("", token))


def _token_regex(token: str) -> re.Pattern[str]:
    parts: list[str] = []
    last = 0
    for match in _OUT_VAR.finditer(token):
        parts.append(re.escape(token[last : match.start()]))
        parts.append(".+")
        last = match.end()
    parts.append(re.escape(token[last:]))
    return re.compile("".join(parts), re.DOTALL)


def token_correct(truth: str, generated: str, samples: Sequence[dict[str, str]]) -> bool:
    """A constant token must be literal and equal; a varying token must hold a placeholder exactly where
    the truth varies (same literal text around it)."""
    if not _TRUTH_VAR.search(truth):
        return truth == generated
    if not _OUT_VAR.search(generated):
        return False
    if _literal_length(truth, _TRUTH_VAR) != _literal_length(generated, _OUT_VAR):
        return False
    pattern = _token_regex(generated)
    return all(pattern.fullmatch(render(truth, values)) for values in samples)


def placeholder_score(truth: str, generated: str, samples: Sequence[dict[str, str]]) -> tuple[int, int]:
    """(correct tokens, truth tokens) for one matched command; tokens are aligned by their masked shape."""
    truth_tokens, generated_tokens = tokens(truth), tokens(generated)
    shapes_t = [_TRUTH_VAR.sub("<*>", token) for token in truth_tokens]
    shapes_g = [_OUT_VAR.sub("<*>", token) for token in generated_tokens]
    if len(truth_tokens) == len(generated_tokens):
        pairs = list(zip(range(len(truth_tokens)), range(len(generated_tokens)), strict=True))
    else:
        matcher = SequenceMatcher(a=shapes_t, b=shapes_g, autojunk=False)
        pairs = []
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag in ("equal", "replace") and i2 - i1 == j2 - j1:
                pairs.extend(zip(range(i1, i2), range(j1, j2), strict=True))
    correct = sum(token_correct(truth_tokens[i], generated_tokens[j], samples) for i, j in pairs)
    return correct, len(truth_tokens)


def kendall_tau(order: Sequence[int], either_way: frozenset[tuple[int, int]] = frozenset()) -> float:
    """Kendall tau between 0..n-1 and `order` (the generated positions of truth steps in truth order); a pair
    (i, j) in ``either_way`` (independent steps, i before j) is concordant in either order."""
    n = len(order)
    if n < 2:
        return 1.0
    concordant = discordant = 0
    for i in range(n):
        for j in range(i + 1, n):
            if order[i] < order[j] or ((i, j) in either_way and order[i] != order[j]):
                concordant += 1
            elif order[i] > order[j]:
                discordant += 1
    return (concordant - discordant) / (n * (n - 1) / 2)


def adjusted_rand_index(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """ARI of two labelings of the same items (Hubert and Arabie); 1.0 when both are the same partition."""
    n = len(truth)
    if n != len(predicted):
        raise ValueError("labelings differ in length")
    pairs = Counter(zip(truth, predicted, strict=True))
    index = sum(math.comb(count, 2) for count in pairs.values())
    rows = sum(math.comb(count, 2) for count in Counter(truth).values())
    cols = sum(math.comb(count, 2) for count in Counter(predicted).values())
    total = math.comb(n, 2)
    if total == 0:
        return 1.0
    expected = rows * cols / total
    maximum = (rows + cols) / 2
    if maximum == expected:
        return 1.0 if rows == cols == index else 0.0
    return (index - expected) / (maximum - expected)


def fix_present(fix: str, solution: Sequence[str]) -> bool:
    """A fix template is in a solution when some command has the same constants (variables match anything)."""
    wanted = tokens(fix)
    for command in solution:
        got = tokens(command)
        if len(got) != len(wanted):
            continue
        if all(_token_matches(truth, token) for truth, token in zip(wanted, got, strict=True)):
            return True
    return False


def _token_matches(truth: str, token: str) -> bool:
    if not _TRUTH_VAR.search(truth):
        return truth == token
    parts = [part for part in re.split(r"(\{[a-z_][a-z0-9_]*\})", truth) if part]
    regex = "".join(".+" if part.startswith("{") else re.escape(part) for part in parts)
    return bool(re.fullmatch(regex, token, re.DOTALL)) or bool(_OUT_VAR.search(token))


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _quantile(values: Sequence[float], share: float) -> float:
    """Nearest-rank quantile (no interpolation: a p90 of ten errors is the ninth)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


# ---------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Score:
    """One procedure's runbook against its truth; ``None`` where the corpus gives nothing to measure."""

    procedure: str
    recall: float
    precision: float
    tau: float
    placeholders: float
    optional: float
    selection_recall: float
    selection_precision: float
    step_duration_errors: tuple[float, ...]
    failure_ari: float | None
    """Within this procedure; ``None`` unless two failure modes recur (one true cluster makes ARI degenerate)."""
    failure_pairs: tuple[tuple[str, str], ...]
    """(true mode, citing entry) per recorded failure event, for the ARI pooled over a corpus's procedures."""
    if_failed: float | None
    fixes: float | None
    total_duration_error: float
    generated_steps: int
    generated_commands: int
    truth_steps: int
    matched: int
    merged_steps: int
    """Generated steps holding more than one truth step."""
    error: str = ""
    details: tuple[str, ...] = ()

    @property
    def duration_median(self) -> float:
        return _median(self.step_duration_errors) if self.step_duration_errors else 1.0

    @property
    def duration_p90(self) -> float:
        return _quantile(self.step_duration_errors, 0.9) if self.step_duration_errors else 1.0


def _units(runbook: dict[str, Any]) -> list[tuple[int, int, str]]:
    return [
        (step_index, command_index, command)
        for step_index, step in enumerate(runbook.get("steps", []))
        for command_index, command in enumerate(step.get("commands", []))
    ]


def shown_optional(step: dict[str, Any], command_index: int) -> bool:
    """What the reader sees: the step flagged optional, or this command's own support below 90 % of runs."""
    if step.get("optional"):
        return True
    support = step.get("command_support") or []
    if command_index < len(support) and support[command_index].get("of"):
        own = support[command_index]
        return bool(own["runs"] / own["of"] < OPTIONAL_SHARE)
    return False


def match_steps(truth: ProcedureTruth, runbook: dict[str, Any]) -> list[tuple[int, int]]:
    """(truth step index, unit index) pairs: a one-to-one assignment maximising similarity, without any
    order constraint (so order is measured, not assumed); near-ties go to the closer relative position."""
    units = _units(runbook)
    if not units or not truth.steps:
        return []
    big = 1e6
    cost = [[big] * len(units) for _ in truth.steps]
    for i, step in enumerate(truth.steps):
        for j, (_, _, command) in enumerate(units):
            score = similarity(step.command, command)
            if score >= MATCH_THRESHOLD:
                distance = abs(i / len(truth.steps) - j / len(units))
                cost[i][j] = (100.0 - score) + 0.5 * distance
    rows, cols = linear_sum_assignment(cost)
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if cost[i][j] < big]


def _step_durations(
    truth: ProcedureTruth, runbook: dict[str, Any], keys_by_step: dict[int, list[str]], details: list[str]
) -> list[float]:
    """Per generated step with matched truth steps: relative error of its median against the truth's median
    (over runs, of the summed seconds of the truth steps it holds)."""
    errors = []
    for step_index, keys in sorted(keys_by_step.items()):
        sums = [
            sum(seconds[key] for key in keys if key in seconds)
            for seconds in truth.step_seconds
            if any(key in seconds for key in keys)
        ]
        if not sums:
            continue
        true_median = _median(sums)
        shown = runbook["steps"][step_index].get("duration_seconds") or {}
        if not shown or not true_median:
            errors.append(1.0)
            details.append(f"no duration on step {step_index + 1} ({', '.join(keys)})")
            continue
        error = abs(float(shown["median"]) - true_median) / true_median
        errors.append(error)
        if error > TARGETS["duration_median"][1]:
            details.append(
                f"duration step {step_index + 1} ({', '.join(keys)}): truth {true_median:.1f}s got {shown['median']}s"
            )
    return errors


def source_items(truth: ProcedureTruth, source: str) -> list[FailureItem]:
    """The recorded failures a ``path`` or ``path:line`` source points at (a line anywhere in the episode:
    the failed call, its fixes, or the retry)."""
    found = _LINE.match(source)
    path, line = (found.group(1), int(found.group(2))) if found else (source, 0)
    items = [item for item in truth.failure_items if item.path == path]
    if not items or not line or not any(item.call >= 0 for item in items):
        return items
    calls = {call for first, last, call in truth.spans.get(path, ()) if first <= line <= last}
    return [item for item in items if any(item.call <= call <= max(item.call, item.through) for call in calls)]


def _failures(
    truth: ProcedureTruth, runbook: dict[str, Any], matched_truth: dict[int, int], units: list[tuple[int, int, str]]
) -> tuple[float | None, tuple[tuple[str, str], ...], float | None, float | None, list[str]]:
    """(ARI, event pairs, if-failed, fixes, details) of the troubleshooting entries against the true modes."""
    details: list[str] = []
    entries = runbook.get("troubleshooting", [])
    label: dict[FailureItem, int] = {}
    """Troubleshooting entry (index) citing each recorded failure."""
    for number, entry in enumerate(entries):
        for source in entry.get("sources", []):
            for item in source_items(truth, source):
                label.setdefault(item, number)
    scored = {mode.key for mode in truth.failures if mode.occurrences >= 2}
    items = [item for item in truth.failure_items if item.mode in scored]
    pairs = failure_pairs(truth, label)
    uncited = [event for event, (_, entry) in pairs.items() if entry.startswith("alone:")]
    if uncited:
        shown = ", ".join(Path(event).name for event in uncited[:3])
        details.append(f"{len(uncited)} of {len(pairs)} failure events cited by no entry, e.g. {shown}")
    ari = None
    if len({mode for mode, _ in pairs.values()}) >= 2:
        ari = adjusted_rand_index([mode for mode, _ in pairs.values()], [entry for _, entry in pairs.values()])
    modes_of_entry: dict[int, str] = {}
    for number in range(len(entries)):
        held = Counter(item.mode for item, entry in label.items() if entry == number)
        if held:
            modes_of_entry[number] = held.most_common(1)[0][0]
        if len(held) > 1:
            details.append(f"entry {entries[number].get('title', number)!r} mixes modes {dict(held)}")
    step_of_key = {step.key: i for i, step in enumerate(truth.steps)}
    keys_in_step: dict[int, set[str]] = {}
    for i, j in matched_truth.items():
        keys_in_step.setdefault(units[j][0], set()).add(truth.steps[i].key)
    right = misplaced = covered = 0
    steps = runbook.get("steps", [])
    for mode in (mode for mode in truth.failures if mode.key in scored):
        citing = Counter(label[item] for item in items if item.mode == mode.key and item in label)
        entry = citing.most_common(1)[0][0] if citing else None
        if entry is None:
            details.append(f"failure mode {mode.key} (seen {mode.occurrences}x) in no troubleshooting entry")
            continue
        if all(fix_present(fix, entries[entry].get("solution", [])) for fix in mode.fixes):
            covered += 1
        else:
            details.append(f"fix of {mode.key} missing from its entry: truth {list(mode.fixes)}")
        index = matched_truth.get(step_of_key[mode.step])
        advice = steps[units[index][0]].get("if_failed", []) if index is not None else []
        title = entries[entry].get("title", "")
        if any((title and title in line) or any(fix_present(fix, [line]) for fix in mode.fixes) for line in advice):
            right += 1
        else:
            details.append(f"no if-failed advice for {mode.key} on its step {mode.step}")
    for number, step in enumerate(steps):
        for line in step.get("if_failed", []):
            for entry, key in modes_of_entry.items():
                title = entries[entry].get("title", "")
                mode_step = next((mode.step for mode in truth.failures if mode.key == key), "")
                if title and title in line and mode_step not in keys_in_step.get(number, set()):
                    misplaced += 1
                    details.append(f"if-failed advice for {key} on step {number + 1}, not on {mode_step}")
    if_failed = right / (len(scored) + misplaced) if scored or misplaced else None
    fixes = covered / len(scored) if scored else None
    return ari, tuple(pairs.values()), if_failed, fixes, details


def failure_pairs(truth: ProcedureTruth, label: dict[FailureItem, int]) -> dict[str, tuple[str, str]]:
    """Per failure event of a recurring mode: (procedure:mode, procedure:entry), the entry being the first
    that cites any record of the event (the failed call, or the failure note about it); uncited events
    stand alone."""
    scored = {mode.key for mode in truth.failures if mode.occurrences >= 2}
    pairs: dict[str, tuple[str, str]] = {}
    for item in truth.failure_items:
        if item.mode not in scored:
            continue
        _, entry = pairs.get(item.event, ("", f"alone:{item.event}"))
        if item in label and (entry.startswith("alone:") or label[item] < int(entry.rsplit(":", 1)[1])):
            entry = f"{truth.name}:{label[item]}"
        pairs[item.event] = (f"{truth.name}:{item.mode}", entry)
    return pairs


def score_runbook(truth: ProcedureTruth, runbook: dict[str, Any], corpus_runs: frozenset[str] | None = None) -> Score:
    """Score what the runbook shows. ``corpus_runs`` (every run file of the corpus) tells runs apart from
    failure notes and journals in ``sources``; without it, every source that is not a failure record counts."""
    units = _units(runbook)
    steps = runbook.get("steps", [])
    pairs = match_steps(truth, runbook)
    matched_truth = dict(pairs)
    required = [i for i, step in enumerate(truth.steps) if not step.optional]
    # Optional steps the runs can show as optional: done at least twice (once is noise), and not in every run.
    seen = [sum(step.key in seconds for seconds in truth.step_seconds) for step in truth.steps]
    runs = len(truth.step_seconds)
    optional_steps = [i for i, step in enumerate(truth.steps) if step.optional and 2 <= seen[i] < runs]
    recall = sum(i in matched_truth for i in required) / len(required) if required else 1.0
    precision = len(pairs) / len(units) if units else 0.0
    ranked = sorted(matched_truth)
    order = [units[matched_truth[i]][0] * 1000 + units[matched_truth[i]][1] for i in ranked]
    # Steps the generator trades places (swap_next) are independent: either order is the procedure.
    swappable = {i for i, step in enumerate(truth.steps) if step.swap_next > 0}
    either_way = frozenset(
        (a, a + 1) for a in range(len(ranked) - 1) if ranked[a + 1] == ranked[a] + 1 and ranked[a] in swappable
    )
    tau = kendall_tau(order, either_way)
    correct = total = 0
    details: list[str] = []
    for i, j in pairs:
        good, count = placeholder_score(truth.steps[i].command, units[j][2], truth.samples)
        correct += good
        total += count
        if good < count:
            details.append(f"placeholders {truth.steps[i].key}: truth `{truth.steps[i].command}` got `{units[j][2]}`")
    placeholders = correct / total if total else 0.0

    def flagged(i: int) -> bool:
        step_index, command_index, _ = units[matched_truth[i]]
        return shown_optional(steps[step_index], command_index)

    right_flags = sum(i in matched_truth and flagged(i) for i in optional_steps)
    wrong_flags = sum(i in matched_truth and flagged(i) for i in required)
    wanted = len(optional_steps) + wrong_flags
    optional = right_flags / wanted if wanted else 1.0
    details += [
        f"optional step not shown optional: {truth.steps[i].key}"
        for i in optional_steps
        if i in matched_truth and not flagged(i)
    ]
    details += [
        f"required step shown optional: {truth.steps[i].key}" for i in required if i in matched_truth and flagged(i)
    ]

    failure_paths = {item.path for item in truth.failure_items if item.call < 0}
    sources = set(runbook.get("sources", []))
    listed = {s for s in sources if (s in corpus_runs if corpus_runs is not None else s not in failure_paths)}
    true_runs = set(truth.run_paths)
    selection_recall = len(listed & true_runs) / len(true_runs) if true_runs else 1.0
    selection_precision = len(listed & true_runs) / len(listed) if listed else 0.0
    if listed - true_runs:
        details.append(
            f"{len(listed - true_runs)} runs of other operations selected, e.g. {sorted(listed - true_runs)[0]}"
        )
    if true_runs - listed:
        details.append(f"{len(true_runs - listed)} true runs not selected, e.g. {sorted(true_runs - listed)[0]}")

    keys_by_step: dict[int, list[str]] = {}
    for i, j in sorted(pairs):
        keys_by_step.setdefault(units[j][0], []).append(truth.steps[i].key)
    durations = _step_durations(truth, runbook, keys_by_step, details)
    merged = sum(len(keys) > 1 for keys in keys_by_step.values())
    details += [
        f"step {index + 1} holds {len(keys)} truth steps: {', '.join(keys)}"
        for index, keys in sorted(keys_by_step.items())
        if len(keys) > 1
    ]
    ari, pairs_of_events, if_failed, fixes, failure_details = _failures(truth, runbook, matched_truth, units)
    details += failure_details
    estimate = runbook.get("estimated_duration_seconds")
    total_error = abs(float(estimate) - truth.median_total_seconds) / truth.median_total_seconds if estimate else 1.0

    details += [f"missing required: {truth.steps[i].key}" for i in required if i not in matched_truth]
    details += [
        f"missing optional: {truth.steps[i].key} (done in {seen[i]} runs)"
        for i in optional_steps
        if i not in matched_truth
    ]
    matched_units = {j for _, j in pairs}
    details += [
        f"unmatched generated command (step {units[j][0] + 1}): {units[j][2][:120]}"
        for j in range(len(units))
        if j not in matched_units
    ]
    return Score(
        procedure=truth.name,
        recall=recall,
        precision=precision,
        tau=tau,
        placeholders=placeholders,
        optional=optional,
        selection_recall=selection_recall,
        selection_precision=selection_precision,
        step_duration_errors=tuple(durations),
        failure_ari=ari,
        failure_pairs=pairs_of_events,
        if_failed=if_failed,
        fixes=fixes,
        total_duration_error=total_error,
        generated_steps=len(steps),
        generated_commands=len(units),
        truth_steps=len(truth.steps),
        matched=len(pairs),
        merged_steps=merged,
        details=tuple(details),
    )


def failed_score(truth: ProcedureTruth, error: str) -> Score:
    """A procedure whose runbook could not be generated: zero everywhere, the error kept."""
    misses = (1.0,) * len(truth.steps)
    pairs = tuple(failure_pairs(truth, {}).values())
    failing = 0.0 if any(mode.occurrences >= 2 for mode in truth.failures) else None
    return Score(
        truth.name, 0, 0, 0, 0, 0, 0, 0, misses, None, pairs, failing, failing, 1.0, 0, 0, len(truth.steps), 0, 0, error
    )


def oracle_runbook(truth: ProcedureTruth) -> dict[str, Any]:
    """The perfect answer, shaped like the JSON output (used to check the scorer)."""
    steps = []
    for step in truth.steps:
        medians = [seconds[step.key] for seconds in truth.step_seconds if step.key in seconds]
        advice = [f"see Troubleshooting: {mode.title}" for mode in truth.failures if mode.step == step.key]
        steps.append(
            {
                "commands": [step.command],
                "optional": step.optional,
                "duration_seconds": {"median": _median(medians), "p90": max(medians)} if medians else None,
                "if_failed": advice,
            }
        )
    entries = [
        {
            "title": mode.title,
            "solution": list(mode.fixes),
            "sources": sorted(
                {
                    item.path if item.call < 0 else citation(truth, item)
                    for item in truth.failure_items
                    if item.mode == mode.key
                }
            ),
        }
        for mode in truth.failures
    ]
    return {
        "sources": sorted(set(truth.run_paths) | {item.path for item in truth.failure_items}),
        "steps": steps,
        "estimated_duration_seconds": truth.median_total_seconds,
        "troubleshooting": entries,
    }


def citation(truth: ProcedureTruth, item: FailureItem) -> str:
    """How a runbook cites a failed call: the run file and the first line showing it."""
    line = next(first for first, _, call in truth.spans.get(item.path, ()) if call == item.call)
    return f"{item.path}:{line}"


# ---------------------------------------------------------------- running


@dataclass(frozen=True)
class Case:
    """One corpus: a vocabulary tier, a metadata tier and a number of runs per procedure."""

    vocabulary: str
    metadata: Metadata
    runs: int
    subset: tuple[int, ...] | None = None

    @property
    def name(self) -> str:
        return f"{self.vocabulary}-{self.metadata}-{self.runs}"


@dataclass(frozen=True)
class Task:
    """One generate call, run in a worker process."""

    case: str
    root: Path
    operation_type: str
    scope: str
    procedure: str
    weight: int
    """Run files in the corpus: what the call costs, for scheduling the largest first."""
    one_off: bool = False
    cli: bool = False


@dataclass(frozen=True)
class Outcome:
    task: Task
    runbook: dict[str, Any] | None
    error: str
    exit_code: int | None = None
    seconds: float = 0.0


def run_task(task: Task) -> Outcome:
    """Generate one runbook in process (or, for ``cli``, ask the CLI and keep its exit code)."""
    logging.getLogger("runbook_synth").setLevel(logging.ERROR)
    started = time.perf_counter()
    if task.cli:
        program = shutil.which("runbook", path=str(Path(sys.executable).parent)) or "runbook"
        command = [program, "generate", task.operation_type, task.scope, "--root", str(task.root)]
        completed = subprocess.run(
            [*command, "--format", "json", "--stdout", "-q"], capture_output=True, text=True, check=False
        )
        return Outcome(task, None, completed.stderr.strip()[:300], completed.returncode, time.perf_counter() - started)
    from runbook_synth.errors import RunbookSynthError
    from runbook_synth.generation import generate
    from runbook_synth.models import GenerateRequest

    request = GenerateRequest(
        root=task.root, operation_type=task.operation_type, scope=task.scope, today=TODAY, output_format="json"
    )
    try:
        runbook: dict[str, Any] = json.loads(generate(request).text)
    except RunbookSynthError as error:
        return Outcome(task, None, str(error)[:300], None, time.perf_counter() - started)
    return Outcome(task, runbook, "", None, time.perf_counter() - started)


def build_case(case: Case) -> tuple[CorpusTruth, list[Task]]:
    root = WORK_DIR / case.name
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    vocab = vocabulary(case.vocabulary)
    chosen = vocab.procedures if case.subset is None else tuple(vocab.procedures[i] for i in case.subset)
    truth = write_corpus(root, case.runs, SEED + case.runs, chosen, vocab=vocab, metadata=case.metadata)
    weight = len(truth.run_paths)
    tasks = [Task(case.name, root, p.operation_type, p.scope, p.name, weight) for p in truth.procedures]
    if case.runs in REFUSAL_RUNS:
        tasks += [
            Task(case.name, root, one.operation_type, one.scope, f"one-off {one.scope}", weight, one_off=True)
            for one in truth.one_offs
        ]
    return truth, tasks


@dataclass
class CaseResult:
    """Scores of one corpus; the tier figures are computed from them."""

    case: Case
    truth: CorpusTruth
    scores: list[Score] = field(default_factory=list)
    refusals: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def figures(self) -> dict[str, float | None]:
        """Averages over procedures; step duration errors pooled over every matched step."""

        def mean(values: list[float | None]) -> float | None:
            kept = [value for value in values if value is not None]
            return sum(kept) / len(kept) if kept else None

        pooled = [error for score in self.scores for error in score.step_duration_errors]
        result: dict[str, float | None] = {
            key: mean([getattr(score, key) for score in self.scores])
            for key in (
                "recall",
                "precision",
                "tau",
                "placeholders",
                "optional",
                "selection_recall",
                "selection_precision",
                "if_failed",
                "fixes",
                "total_duration_error",
            )
        }
        events = [pair for score in self.scores for pair in score.failure_pairs]
        result["failure_ari"] = (
            adjusted_rand_index([mode for mode, _ in events], [entry for _, entry in events]) if events else None
        )
        result["duration_median"] = _median(pooled) if pooled else None
        result["duration_p90"] = _quantile(pooled, 0.9) if pooled else None
        return result


def meets(key: str, value: float | None) -> bool:
    if key not in TARGETS or value is None:
        return True
    relation, target = TARGETS[key]
    return value >= target - 1e-9 if relation == ">=" else value <= target + 1e-9


def run_cases(cases: Sequence[Case], workers: int, cli_check: bool, dump: Path | None = None) -> list[CaseResult]:
    results: dict[str, CaseResult] = {}
    tasks: list[Task] = []
    for case in cases:
        truth, case_tasks = build_case(case)
        results[case.name] = CaseResult(case, truth)
        tasks += case_tasks
    if cli_check:
        first = next(iter(results.values()))
        tasks += [
            Task(first.case.name, first.truth.root, one.operation_type, one.scope, f"cli {one.scope}", 0, cli=True)
            for one in first.truth.one_offs
        ]
    tasks.sort(key=lambda task: -task.weight)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(run_task, tasks))
    for outcome in outcomes:
        result = results[outcome.task.case]
        result.seconds += outcome.seconds
        task = outcome.task
        if task.one_off or task.cli:
            result.refusals.append(
                {
                    "operation_type": task.operation_type,
                    "scope": task.scope,
                    "via": "cli" if task.cli else "generate",
                    "refused": outcome.exit_code == 1 if task.cli else outcome.runbook is None,
                    "exit_code": outcome.exit_code,
                }
            )
            continue
        procedure = next(p for p in result.truth.procedures if p.name == task.procedure)
        if dump is not None and outcome.runbook is not None:
            dump.mkdir(parents=True, exist_ok=True)
            (dump / f"{task.case}-{task.procedure}.json").write_text(json.dumps(outcome.runbook, indent=1) + "\n")
        if outcome.runbook is None:
            result.scores.append(failed_score(procedure, outcome.error))
        else:
            result.scores.append(score_runbook(procedure, outcome.runbook, result.truth.run_paths))
    for result in results.values():
        order = [p.name for p in result.truth.procedures]
        result.scores.sort(key=lambda score: order.index(score.procedure))
    return list(results.values())


# ---------------------------------------------------------------- reporting

COLUMNS = (
    ("recall", "recall"),
    ("precision", "prec"),
    ("tau", "tau"),
    ("placeholders", "placeh"),
    ("optional", "optional"),
    ("selection_recall", "sel.rec"),
    ("selection_precision", "sel.prec"),
    ("duration_median", "dur.med"),
    ("duration_p90", "dur.p90"),
    ("failure_ari", "ARI"),
    ("if_failed", "if-failed"),
    ("fixes", "fixes"),
    ("total_duration_error", "total dur"),
)


def _cell(key: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" + ("" if meets(key, value) else "✗")


def _target(key: str) -> str:
    if key not in TARGETS:
        return "(info)"
    relation, value = TARGETS[key]
    return f"{'≥' if relation == '>=' else '≤'} {value:.2f}"


def table(results: Sequence[CaseResult]) -> str:
    """One row per metadata tier and run count; each cell is ``tuned / held-out / fresh`` (``-``: tier not run)."""
    by_key = {(r.case.vocabulary, r.case.metadata, r.case.runs): r for r in results}
    header = "| metadata | runs | procs | " + " | ".join(label for _, label in COLUMNS) + " | one-offs refused |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 4)]
    lines.append("| **target** | | | " + " | ".join(_target(key) for key, _ in COLUMNS) + " | all |")
    metadata_tiers = sorted({r.case.metadata for r in results}, key=list(Metadata).index)
    for metadata in metadata_tiers:
        for runs in sorted({r.case.runs for r in results}):
            tiers = [by_key.get((name, metadata, runs)) for name in VOCABULARIES]
            figures = [result.figures() if result else {} for result in tiers]
            cells = [" / ".join(_cell(key, f.get(key)) if f else "-" for f in figures) for key, _ in COLUMNS]
            refused = " / ".join(
                f"{sum(item['refused'] for item in r.refusals)}/{len(r.refusals)}" if r and r.refusals else "-"
                for r in tiers
            )
            procs = " / ".join(str(len(r.scores)) if r else "-" for r in tiers)
            lines.append(f"| {metadata} | {runs} | {procs} | " + " | ".join(cells) + f" | {refused} |")
    return "\n".join(lines)


def procedure_table(result: CaseResult) -> str:
    keys = dict(COLUMNS[:7])
    lines = [f"{result.case.name}:"]
    for score in result.scores:
        cells = " ".join(f"{label}={getattr(score, key):.2f}" for key, label in keys.items())
        ari = "-" if score.failure_ari is None else f"{score.failure_ari:.2f}"
        lines.append(f"  {score.procedure}: {cells} dur.med={score.duration_median:.2f} ari={ari}")
        for detail in (score.error, *score.details):
            if detail:
                lines.append(f"      {detail}")
    return "\n".join(lines)


def _payload(results: Sequence[CaseResult], seconds: float, quick: bool) -> dict[str, Any]:
    cases = []
    for result in results:
        figures = result.figures()
        cases.append(
            {
                "vocabulary": result.case.vocabulary,
                "metadata": str(result.case.metadata),
                "runs_per_procedure": result.case.runs,
                "procedures": [
                    {**asdict(score), "duration_median": score.duration_median, "duration_p90": score.duration_p90}
                    for score in result.scores
                ],
                "figures": figures,
                "targets_met": {key: meets(key, figures.get(key)) for key in TARGETS},
                "one_offs": result.refusals,
                "generate_seconds": round(result.seconds, 1),
            }
        )
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "seed": SEED,
        "vocabularies": list(VOCABULARIES),
        "subsets": {str(runs): list(subset) for runs, subset in SUBSETS.items()},
        "targets": {key: {"relation": relation, "value": value} for key, (relation, value) in TARGETS.items()},
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "seconds": round(seconds, 1),
        "cases": cases,
        "all_targets_met": all(
            all(meets(key, result.figures().get(key)) for key in TARGETS)
            and all(item["refused"] for item in result.refusals)
            for result in results
        ),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="6 and 12 runs, three procedures per corpus")
    parser.add_argument("--runs", help="comma-separated run counts (default 6,12,60,200)")
    parser.add_argument("--vocab", help="comma-separated vocabulary tiers (default tuned,heldout,fresh)")
    parser.add_argument("--metadata", help="comma-separated metadata tiers (default all)")
    parser.add_argument("--procedures", help="comma-separated procedure indices for every corpus")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--dump", type=Path, help="write every generated runbook's JSON into this folder")
    parser.add_argument("-v", "--verbose", action="store_true", help="per-procedure scores and what went wrong")
    return parser.parse_args(argv)


def plan(args: argparse.Namespace) -> list[Case]:
    runs = (
        tuple(int(item) for item in args.runs.split(",")) if args.runs else (QUICK_RUNS if args.quick else RUN_COUNTS)
    )
    names = tuple(args.vocab.split(",")) if args.vocab else VOCABULARIES
    tiers = tuple(Metadata(item) for item in args.metadata.split(",")) if args.metadata else tuple(Metadata)
    forced = tuple(int(item) for item in args.procedures.split(",")) if args.procedures else None
    cases = []
    for name in names:
        for metadata in tiers:
            for count in runs:
                subset = forced or (QUICK_SUBSET if args.quick else SUBSETS.get(count))
                cases.append(Case(name, metadata, count, subset))
    return cases


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    results = run_cases(plan(args), args.workers, cli_check=not (args.quick or args.procedures), dump=args.dump)
    total = time.perf_counter() - started
    print("cells are " + " / ".join(TIER_LABELS[name] for name in VOCABULARIES) + "; ✗ misses the target\n")
    print(table(results))
    counts = sorted({(r.case.runs, len(r.scores)) for r in results})
    print("\nprocedures per corpus: " + ", ".join(f"{procs} at {runs} runs" for runs, procs in counts))
    if args.verbose:
        for result in results:
            print(procedure_table(result))
    print(f"total {total:.1f}s")
    payload = _payload(results, total, args.quick)
    path = (
        QUICK_RESULTS_PATH
        if args.quick or args.runs or args.vocab or args.metadata or args.procedures
        else RESULTS_PATH
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
