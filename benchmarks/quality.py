"""Runbook quality benchmark: generated corpora from known procedures, the pipeline's runbooks scored against the truth.

Run from the repository root with ``python -m benchmarks.quality`` (``make bench-quality``). For each corpus
size (12 and 100 runs per procedure) it writes a corpus under ``benchmarks/.work/`` with
``benchmarks.corpus_generator``, asks the pipeline (in process, same JSON as
``runbook generate TYPE SCOPE --format json --stdout``) for every procedure's runbook, scores it, checks that
the CLI refuses one-off operations (exit code 1), prints a table and writes ``benchmarks/results/quality.json``.

Metrics, per procedure:

- recall: required truth steps found among the generated steps;
- precision: generated steps that are a truth step;
- tau: Kendall tau between truth order and generated order of the matched steps;
- placeholders: token-level exactness of matched commands (a varying position is a ``{...}`` placeholder,
  a constant position is the literal constant);
- optional: optional truth steps present and flagged optional;
- duration error: |estimated_duration_seconds - median true run total| / median true run total;
- troubleshooting: failure modes seen at least twice whose real fix is in some entry's solution.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz
from scipy.optimize import linear_sum_assignment

from benchmarks.corpus_generator import (
    HARD,
    PROCEDURES,
    STANDARD,
    CorpusTruth,
    Hardness,
    ProcedureTruth,
    render,
    write_corpus,
)
from runbook_synth.errors import RunbookSynthError
from runbook_synth.pipeline import GenerateRequest, generate

logging.getLogger("runbook_synth").setLevel(logging.ERROR)

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_PATH = REPO_ROOT / "benchmarks" / "results" / "quality.json"
WORK_DIR = REPO_ROOT / "benchmarks" / ".work"
SIZES = (12, 100)
HARD_RUNS = 6
SEED = 20261123
TODAY = date(2026, 12, 1)
MATCH_THRESHOLD = 75.0
TARGETS: dict[str, tuple[str, float]] = {
    "recall": (">=", 0.97),
    "precision": (">=", 0.95),
    "tau": (">=", 0.97),
    "placeholders": (">=", 0.95),
    "optional": (">=", 0.90),
    "duration_error": ("<=", 0.20),
    "troubleshooting": (">=", 0.90),
}

_TRUTH_VAR = re.compile(r"\{[a-z_][a-z0-9_]*\}")
_OUT_VAR = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}|<[A-Za-z_][\w-]*>")
_WORD = re.compile(r"""(?:'[^']*'|"(?:\\.|[^"\\])*"|\\.|[^\s'"\\])+""")
_WRAPPERS = re.compile(r"^(?:(?:[A-Z_][A-Z0-9_]*=\S+\s+)|(?:doppler\s+run\s+--\s+)|(?:sudo\s+)|(?:time\s+))+")


# ---------------------------------------------------------------- text helpers


def unwrap(command: str) -> str:
    """The command without `ENV=prod doppler run -- `, `sudo`, `time` prefixes, spaces folded."""
    folded = " ".join(command.replace("\\\n", " ").split())
    return _WRAPPERS.sub("", folded)


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
    from difflib import SequenceMatcher

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


def kendall_tau(order: Sequence[int]) -> float:
    """Kendall tau between 0..n-1 and `order` (the generated positions of truth steps in truth order)."""
    n = len(order)
    if n < 2:
        return 1.0
    concordant = discordant = 0
    for i in range(n):
        for j in range(i + 1, n):
            if order[i] < order[j]:
                concordant += 1
            elif order[i] > order[j]:
                discordant += 1
    return (concordant - discordant) / (n * (n - 1) / 2)


def fix_present(fix: str, solution: Sequence[str]) -> bool:
    """A fix template is in a solution when some command has the same constants (variables match anything)."""
    wanted = tokens(fix)
    for command in solution:
        got = tokens(command)
        if len(got) != len(wanted):
            continue
        ok = True
        for truth, token in zip(wanted, got, strict=True):
            if _TRUTH_VAR.search(truth):
                regex = "".join(".+" if part.startswith("{") else re.escape(part) for part in _split_vars(truth))
                if not re.fullmatch(regex, token, re.DOTALL):
                    ok = False
                    break
            elif truth != token:
                ok = False
                break
        if ok:
            return True
    return False


def _split_vars(token: str) -> list[str]:
    return [part for part in re.split(r"(\{[a-z_][a-z0-9_]*\})", token) if part]


# ---------------------------------------------------------------- scoring


@dataclass
class Score:
    procedure: str
    recall: float
    precision: float
    tau: float
    placeholders: float
    optional: float
    duration_error: float
    troubleshooting: float
    generated_steps: int
    truth_steps: int
    matched: int
    modes_scored: int
    required_flagged_optional: int
    error: str = ""
    details: tuple[str, ...] = ()


def _units(runbook: dict[str, Any]) -> list[tuple[int, int, str]]:
    return [
        (step_index, command_index, command)
        for step_index, step in enumerate(runbook.get("steps", []))
        for command_index, command in enumerate(step.get("commands", []))
    ]


def _flagged(steps: Sequence[dict[str, Any]], units: Sequence[tuple[int, int, str]], unit: int) -> bool:
    return bool(steps[units[unit][0]].get("optional"))


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


def score_runbook(truth: ProcedureTruth, runbook: dict[str, Any]) -> Score:
    units = _units(runbook)
    steps = runbook.get("steps", [])
    pairs = match_steps(truth, runbook)
    matched_truth = {i: j for i, j in pairs}
    required = [i for i, step in enumerate(truth.steps) if not step.optional]
    recall = sum(i in matched_truth for i in required) / len(required) if required else 1.0
    matched_steps = {units[j][0] for _, j in pairs}
    precision = len(matched_steps) / len(steps) if steps else 0.0
    order = [units[matched_truth[i]][0] * 100 + units[matched_truth[i]][1] for i in sorted(matched_truth)]
    tau = kendall_tau(order)
    correct = total = 0
    for i, j in pairs:
        good, count = placeholder_score(truth.steps[i].command, units[j][2], truth.samples)
        correct += good
        total += count
    placeholders = correct / total if total else 0.0
    optional_steps = [i for i, step in enumerate(truth.steps) if step.optional]
    flagged = sum(i in matched_truth and _flagged(steps, units, matched_truth[i]) for i in optional_steps)
    optional = flagged / len(optional_steps) if optional_steps else 1.0
    wrongly = sum(i in matched_truth and _flagged(steps, units, matched_truth[i]) for i in required)
    estimate = runbook.get("estimated_duration_seconds")
    duration_error = abs(float(estimate) - truth.median_total_seconds) / truth.median_total_seconds if estimate else 1.0
    scored = [mode for mode in truth.failures if mode.occurrences >= 2]
    solutions = [entry.get("solution", []) for entry in runbook.get("troubleshooting", [])]
    covered = [mode for mode in scored if any(all(fix_present(fix, s) for fix in mode.fixes) for s in solutions)]
    troubleshooting = len(covered) / len(scored) if scored else 1.0
    details = [f"missing required: {truth.steps[i].key}" for i in required if i not in matched_truth]
    details += [f"missing optional: {truth.steps[i].key}" for i in optional_steps if i not in matched_truth]
    details += [
        f"unmatched generated step {index + 1}: {step.get('commands', [''])[0][:120]}"
        for index, step in enumerate(steps)
        if index not in matched_steps
    ]
    details += [
        f"uncovered failure mode: {mode.key} (seen {mode.occurrences}x)" for mode in scored if mode not in covered
    ]
    for i, j in pairs:
        good, count = placeholder_score(truth.steps[i].command, units[j][2], truth.samples)
        if good < count:
            details.append(f"placeholders {truth.steps[i].key}: truth `{truth.steps[i].command}` got `{units[j][2]}`")
    details += [
        f"optional step not flagged: {truth.steps[i].key}"
        for i in optional_steps
        if i in matched_truth and not steps[units[matched_truth[i]][0]].get("optional")
    ]
    details += [
        f"required step flagged optional: {truth.steps[i].key}"
        for i in required
        if i in matched_truth and steps[units[matched_truth[i]][0]].get("optional")
    ]
    return Score(
        truth.name,
        recall,
        precision,
        tau,
        placeholders,
        optional,
        duration_error,
        troubleshooting,
        len(steps),
        len(truth.steps),
        len(pairs),
        len(scored),
        wrongly,
        details=tuple(details),
    )


def failed_score(truth: ProcedureTruth, error: str) -> Score:
    return Score(truth.name, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0, len(truth.steps), 0, 0, 0, error=error)


def oracle_runbook(truth: ProcedureTruth) -> dict[str, Any]:
    """The perfect answer, shaped like the JSON output (used to check the scorer)."""
    return {
        "steps": [{"commands": [step.command], "optional": step.optional} for step in truth.steps],
        "estimated_duration_seconds": truth.median_total_seconds,
        "troubleshooting": [{"solution": list(mode.fixes)} for mode in truth.failures],
    }


# ---------------------------------------------------------------- running


def runbook_for(root: Path, truth: ProcedureTruth) -> dict[str, Any]:
    request = GenerateRequest(
        root=root, operation_type=truth.operation_type, scope=truth.scope, today=TODAY, output_format="json"
    )
    result: dict[str, Any] = json.loads(generate(request).text)
    return result


def cli_refuses(root: Path, operation_type: str, scope: str) -> tuple[bool, int]:
    runbook = shutil.which("runbook", path=str(Path(sys.executable).parent)) or "runbook"
    completed = subprocess.run(
        [runbook, "generate", operation_type, scope, "--root", str(root), "--format", "json", "--stdout", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.returncode == 1, completed.returncode


def run_size(runs: int, seed: int = SEED, hard: bool = False) -> dict[str, Any]:
    root = WORK_DIR / f"corpus-{runs}{'-hard' if hard else ''}"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    started = time.perf_counter()
    hardness: Hardness = HARD if hard else STANDARD
    truth: CorpusTruth = write_corpus(root, runs, seed, note_share=0.35 if hard else 0.2, hardness=hardness)
    written = time.perf_counter() - started
    scores: list[Score] = []
    for procedure in truth.procedures:
        try:
            scores.append(score_runbook(procedure, runbook_for(root, procedure)))
        except RunbookSynthError as error:
            scores.append(failed_score(procedure, str(error)))
    refusals = []
    for one_off in truth.one_offs:
        refused, code = cli_refuses(root, one_off.operation_type, one_off.scope)
        refusals.append(
            {"operation_type": one_off.operation_type, "scope": one_off.scope, "exit_code": code, "refused": refused}
        )
    elapsed = time.perf_counter() - started
    average = {key: sum(getattr(score, key) for score in scores) / len(scores) for key in TARGETS}
    files = sum(1 for _ in root.rglob("*.md"))
    return {
        "runs_per_procedure": runs,
        "profile": "hard" if hard else "standard",
        "files": files,
        "seconds": round(elapsed, 1),
        "seconds_writing": round(written, 1),
        "procedures": [asdict(score) for score in scores],
        "average": average,
        "one_offs": refusals,
        "one_offs_refused": all(item["refused"] for item in refusals),
        "targets_met": {key: _meets(key, value) for key, value in average.items()},
    }


def _meets(key: str, value: float) -> bool:
    relation, target = TARGETS[key]
    return value >= target if relation == ">=" else value <= target


COLUMNS = (
    ("recall", "recall"),
    ("precision", "prec"),
    ("tau", "tau"),
    ("placeholders", "placeh"),
    ("optional", "optional"),
    ("duration_error", "dur.err"),
    ("troubleshooting", "trouble"),
)


def table(result: dict[str, Any]) -> str:
    profile = ", hard" if result.get("profile") == "hard" else ""
    header = (
        f"| procedure ({result['runs_per_procedure']} runs{profile}) | "
        + " | ".join(label for _, label in COLUMNS)
        + " |"
    )
    lines = [header, "|" + "---|" * (len(COLUMNS) + 1)]
    for score in result["procedures"]:
        cells = " | ".join(f"{score[key]:.2f}" for key, _ in COLUMNS)
        lines.append(f"| {score['procedure']}{' (error)' if score['error'] else ''} | {cells} |")
    cells = " | ".join(
        f"**{result['average'][key]:.2f}**" + ("" if result["targets_met"][key] else " ✗") for key, _ in COLUMNS
    )
    lines.append(f"| **average** | {cells} |")
    refused = sum(item["refused"] for item in result["one_offs"])
    lines.append(
        f"\none-off operations refused (exit 1): {refused}/{len(result['one_offs'])}; "
        f"{result['files']} files, {result['seconds']}s"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in args
    sizes = tuple(int(arg) for arg in args if arg.isdigit()) or SIZES
    started = time.perf_counter()
    results = [run_size(size) for size in sizes]
    if "--no-hard" not in args:
        # The targets were met on the standard corpora, so a harder one runs too: fewer runs (6), more than
        # twice the noise, three times the typos, swaps 2.5x as often, 35 % notes. Reported, not a target.
        results.append(run_size(HARD_RUNS, hard=True))
    total = time.perf_counter() - started
    targets = " ".join(f"{key} {relation} {value}" for key, (relation, value) in TARGETS.items())
    print(f"targets: {targets}; one-offs refused: all\n")
    for result in results:
        print(table(result))
        if verbose:
            for score in result["procedures"]:
                for detail in (score["error"], *score["details"]):
                    if detail:
                        print(f"  {score['procedure']}: {detail}")
        print()
    print(f"total {total:.1f}s")
    payload = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": SEED,
        "procedures": [procedure.name for procedure in PROCEDURES],
        "targets": {key: {"relation": relation, "value": value} for key, (relation, value) in TARGETS.items()},
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "seconds": round(total, 1),
        "sizes": results,
        "all_targets_met": all(
            all(r["targets_met"].values()) and r["one_offs_refused"] for r in results if r["profile"] == "standard"
        ),
    }
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
