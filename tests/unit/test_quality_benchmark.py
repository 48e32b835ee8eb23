"""The quality benchmark's generator is deterministic and varied; its scorer rewards the truth and only the truth."""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.corpus_generator import PROCEDURES, simulate_run, write_corpus
from benchmarks.quality import oracle_runbook, score_runbook

SOME = PROCEDURES[:3]


def _digest(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*.md"))
    }


def test_same_seed_writes_the_same_files(tmp_path: Path) -> None:
    write_corpus(tmp_path / "a", 12, seed=3, procedures=SOME)
    write_corpus(tmp_path / "b", 12, seed=3, procedures=SOME)
    write_corpus(tmp_path / "c", 12, seed=4, procedures=SOME)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_optional_steps_are_skipped_at_their_rate() -> None:
    rng = random.Random(11)
    procedure = PROCEDURES[0]
    runs = [simulate_run(procedure, index, rng, note=False) for index in range(400)]
    for step in procedure.steps:
        share = sum(step.key in run.steps_done for run in runs) / len(runs)
        assert abs(share - step.rate) < 0.08, (step.key, share)


def test_runs_vary_like_real_ones(tmp_path: Path) -> None:
    truth = write_corpus(tmp_path, 20, seed=5, procedures=SOME)
    texts = [path.read_text(encoding="utf-8") for path in (tmp_path / ".claude" / "observations").rglob("*.md")]
    notes = [text for text in texts if not text.startswith("---")]
    assert notes and all("```console" in text and "took about" in text for text in notes)
    assert any("mode: failure" in text for text in texts)
    assert list((tmp_path / ".claude" / "journals" / "error").glob("*.md"))
    assert any("doppler run --" in text for text in texts)
    assert any(" \\\n  --" in text for text in texts)
    assert len(truth.one_offs) == 3
    lambda_runs = [run for run in truth.runs if run.procedure == "deployment-lambda"]
    shas = {run.values["sha"] for run in lambda_runs}
    assert len(shas) == len(lambda_runs)
    commands = [call.command for run in lambda_runs for call in run.calls]
    assert any(command in ("ls -la", "pwd", "git status") for command in commands)


def _oracle() -> tuple[Any, dict[str, Any]]:
    truth = write_corpus_truth()
    return truth, oracle_runbook(truth)


def write_corpus_truth() -> Any:
    rng = random.Random(2)
    procedure = PROCEDURES[0]
    runs = [simulate_run(procedure, index, rng, note=False) for index in range(3)]
    from benchmarks.corpus_generator import ProcedureTruth, TruthFailure, TruthStep

    return ProcedureTruth(
        name=procedure.name,
        operation_type=procedure.operation_type,
        scope=procedure.scope,
        steps=tuple(TruthStep(s.key, s.command, s.optional, s.rate, s.mean_seconds) for s in procedure.steps),
        samples=tuple(run.values for run in runs),
        median_total_seconds=400.0,
        failures=tuple(TruthFailure(mode.key, mode.fixes, 3) for mode in procedure.failures),
        runs=3,
        notes=0,
    )


def test_the_perfect_answer_scores_one() -> None:
    truth, perfect = _oracle()
    score = score_runbook(truth, perfect)
    assert (score.recall, score.precision, score.tau, score.placeholders) == (1.0, 1.0, 1.0, 1.0)
    assert (score.optional, score.duration_error, score.troubleshooting) == (1.0, 0.0, 1.0)


def test_wrong_answers_score_less() -> None:
    truth, perfect = _oracle()
    steps = perfect["steps"]
    missing = {**perfect, "steps": [step for step in steps if step["commands"][0] != truth.steps[2].command]}
    assert score_runbook(truth, missing).recall < 1.0
    literal = [dict(step) for step in steps]
    literal[2] = {**literal[2], "commands": ["docker build -t telegram-api:abc1234 ."]}
    over = [dict(step) for step in steps]
    over[6] = {**over[6], "commands": ["aws lambda wait function-updated --function-name {function_name}"]}
    assert score_runbook(truth, {**perfect, "steps": literal}).placeholders < 1.0
    assert score_runbook(truth, {**perfect, "steps": over}).placeholders < 1.0
    swapped = [steps[0], steps[1], steps[3], steps[2], *steps[4:]]
    assert score_runbook(truth, {**perfect, "steps": swapped}).tau < 1.0
    extra = [*steps, {"commands": ["aws sts get-caller-identity"], "optional": False}]
    assert score_runbook(truth, {**perfect, "steps": extra}).precision < 1.0
    unflagged = [{**step, "optional": False} for step in steps]
    assert score_runbook(truth, {**perfect, "steps": unflagged}).optional == 0.0
    slow = {**perfect, "estimated_duration_seconds": 600.0}
    assert score_runbook(truth, slow).duration_error == 0.5
    no_fix = {**perfect, "troubleshooting": [{"solution": ["aws lambda get-function --function-name x"]}]}
    assert score_runbook(truth, no_fix).troubleshooting == 0.0
    rare = replace(truth, failures=tuple(replace(mode, occurrences=1) for mode in truth.failures))
    assert score_runbook(rare, no_fix).troubleshooting == 1.0
