"""The quality benchmark's generator is deterministic and varied; its scorer rewards the truth and only the truth."""

from __future__ import annotations

import copy
import hashlib
import random
from pathlib import Path
from typing import Any

import pytest
from benchmarks.corpus_generator import (
    PROCEDURES,
    Metadata,
    ProcedureTruth,
    TypoHabit,
    Vocabulary,
    simulate_run,
    typo_of,
    variables_of,
    vocabulary,
    write_corpus,
)
from benchmarks.quality import VOCABULARIES, adjusted_rand_index, citation, oracle_runbook, score_runbook, unwrap

SOME = PROCEDURES[:3]
HELDOUT = vocabulary("heldout")
FRESH = vocabulary("fresh")
"""Nobody working on ``src/`` reads it: the tests below name none of its words, they compare it with the others."""
SRC = Path(__file__).resolve().parents[2] / "src"


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
    assert len({run.values["sha"] for run in lambda_runs}) == len(lambda_runs)
    commands = [call.command for run in lambda_runs for call in run.calls]
    assert any(command in ("ls -la", "pwd", "git status") for command in commands)


def test_the_heldout_tier_shares_no_vocabulary_with_the_tuned_one(tmp_path: Path) -> None:
    tuned = vocabulary("tuned")
    assert not {command for command, _ in tuned.noise} & {command for command, _ in HELDOUT.noise}
    assert not set(tuned.wrappers) & set(HELDOUT.wrappers)
    assert not {p.scope for p in tuned.procedures} & {p.scope for p in HELDOUT.procedures}
    assert not {p.tags for p in tuned.procedures} & {p.tags for p in HELDOUT.procedures}
    truth = write_corpus(tmp_path, 12, seed=2, procedures=HELDOUT.procedures[:2], vocab=HELDOUT)
    text = "\n".join(path.read_text(encoding="utf-8") for path in tmp_path.rglob("*.md"))
    assert "doppler" not in text and "Did it by hand" not in text
    assert truth.vocabulary == "heldout"


def test_src_never_reads_the_vocabulary_files() -> None:
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "benchmarks" not in text and "vocab/" not in text, path


def test_metadata_tiers_change_words_not_commands(tmp_path: Path) -> None:
    full = write_corpus(tmp_path / "full", 6, seed=9, procedures=SOME, metadata=Metadata.FULL)
    bare = write_corpus(tmp_path / "bare", 6, seed=9, procedures=SOME, metadata=Metadata.NO_TAGS)
    odd = write_corpus(tmp_path / "odd", 6, seed=9, procedures=SOME, metadata=Metadata.MISLEADING)
    commands = [[[call.command for call in run.calls] for run in truth.runs] for truth in (full, bare, odd)]
    assert commands[0] == commands[1] == commands[2]
    bare_text = "\n".join(path.read_text(encoding="utf-8") for path in (tmp_path / "bare").rglob("*.md"))
    assert "tags: [deployment" not in bare_text and "tags: []" in bare_text
    odd_contexts = {run.context for run in odd.runs if run.procedure == "deployment-lambda"}
    assert any("timeout" in context or "alarm" in context for context in odd_contexts)


def _programs(vocab: Vocabulary) -> set[str]:
    """The programs a tier's steps, fixes and one-offs run (shell builtins and ``sudo`` aside)."""
    commands = [step.command for p in vocab.procedures for step in p.steps]
    commands += [fix for p in vocab.procedures for mode in p.failures for fix in mode.fixes]
    commands += [command for one in vocab.one_offs for command, _ in one.commands]
    words = [next(w for w in c.split() if "=" not in w and w != "sudo") for c in commands]
    return set(words) - {"echo", "export", "sleep", "cd"}


def test_the_fresh_tier_shares_no_vocabulary_with_the_other_two(tmp_path: Path) -> None:
    for other in (vocabulary("tuned"), HELDOUT):
        assert not {command for command, _ in other.noise} & {command for command, _ in FRESH.noise}
        assert not set(other.wrappers) & set(FRESH.wrappers)
        assert not {p.scope for p in other.procedures} & {p.scope for p in FRESH.procedures}
        assert not {p.tags for p in other.procedures} & {p.tags for p in FRESH.procedures}
        assert not {o.scope for o in other.one_offs} & {o.scope for o in FRESH.one_offs}
        assert not _programs(other) & _programs(FRESH), _programs(other) & _programs(FRESH)
        assert not {h.error for h in other.typos if h.error} & {h.error for h in FRESH.typos}
        assert not {p.typo[0] for p in other.procedures if p.typo[0]} & {p.typo[0] for p in FRESH.procedures}
        ours, theirs = FRESH.phrasings, other.phrasings
        for name in ("note_intros", "note_between", "note_after_failure", "note_closings", "note_prompts", "comments"):
            assert not set(getattr(ours, name)) & set(getattr(theirs, name)), name
        assert not set(ours.note_fences) & set(theirs.note_fences)
        assert ours.noise_operation != theirs.noise_operation and ours.fix_operation != theirs.fix_operation
    truth = write_corpus(tmp_path, 12, seed=2, procedures=FRESH.procedures[:2], vocab=FRESH)
    text = "\n".join(path.read_text(encoding="utf-8") for path in tmp_path.rglob("*.md"))
    for other in (vocabulary("tuned"), HELDOUT):
        assert not any(wrapper.partition("{command}")[0] in text for wrapper in other.wrappers)
        assert not any(intro.split("{")[0] in text for intro in other.phrasings.note_intros)
    assert truth.vocabulary == "fresh"


def test_the_fresh_tier_exercises_what_the_generator_supports() -> None:
    """Every kind of structure the other tiers have: the five types, optional and swapping steps, wrapped and
    continued commands, failures (with and without journals), misleading contexts, every typo habit."""
    procedures = FRESH.procedures
    assert {p.operation_type for p in procedures} >= {
        "deployment",
        "rollback",
        "incident-response",
        "migration",
        "scaling",
    }
    subsets = {6: (0, 2, 4, 5, 7, 9), 60: (0, 4, 5, 7), 200: (0, 5)}
    assert {procedures[i].operation_type for i in subsets[6]} == {p.operation_type for p in HELDOUT.procedures}
    assert [procedures[i].operation_type for i in subsets[200]] == ["deployment", "incident-response"]
    steps = [step for p in procedures for step in p.steps]
    assert any(step.optional for step in steps) and any(step.swap_next for step in steps)
    assert any(step.wrapper for step in steps) and any(step.continuation for step in steps)
    assert all(p.failures and len(p.misleading) == 3 and p.typo[0] and p.typo[1] for p in procedures)
    assert len({p.name for p in procedures}) == len(procedures)
    for p in procedures:
        keys = [step.key for step in p.steps]
        assert len(set(keys)) == len(keys) and all(mode.step in keys for mode in p.failures), p.name
        assert len({mode.step for mode in p.failures}) == len(p.failures), f"{p.name}: one mode per step"
        assert p.typo[0] not in {step.command for step in p.steps}
        variables = set(p.variables)
        for step in p.steps:
            assert set(variables_of(step.command)) <= variables, (p.name, step.key)
    modes = [mode for p in procedures for mode in p.failures]
    assert any(mode.journals == 0 for mode in modes) and any(mode.journals for mode in modes)
    assert {habit.kind for habit in FRESH.typos} == {
        "literal",
        "program_transpose",
        "program_drop",
        "subcommand_transpose",
        "flag_drop",
        "truncated",
    }
    assert all("{command}" in wrapper for wrapper in FRESH.wrappers)


def test_src_special_cases_none_of_the_fresh_wrappers_or_commands() -> None:
    """A guard for the tier's blindness: no wrapper prefix and no step command of it is written into ``src/``."""
    text = "\n".join(path.read_text(encoding="utf-8") for path in SRC.rglob("*.py"))
    for wrapper in FRESH.wrappers:
        prefix = wrapper.partition("{command}")[0].strip()
        assert prefix not in text
    for p in FRESH.procedures:
        for step in p.steps:
            constant = step.command.split("{")[0].strip()
            if len(constant) >= 20:
                assert constant not in text, (p.name, step.key)


@pytest.mark.parametrize(
    "habit",
    [habit for habit in (*HELDOUT.typos, *FRESH.typos) if habit.kind != "literal"],
    ids=lambda habit: habit.kind,
)
def test_typo_habits_change_the_command(habit: TypoHabit) -> None:
    command = "kubectl rollout status deployment/payments -n payments --timeout=180s"
    typed, error = typo_of(command, habit, random.Random(1))
    assert typed != command and error


def test_unwrap_strips_the_wrappers_of_every_tier() -> None:
    assert unwrap("op run --env-file=prod.env -- flyway migrate") == "flyway migrate"
    assert unwrap("sops exec-env secrets.enc.env 'fly status -a x'") == "fly status -a x"
    assert unwrap("ENV=prod doppler run -- alembic current") == "alembic current"
    assert VOCABULARIES == ("tuned", "heldout", "fresh")
    for name in VOCABULARIES:
        for wrapper in vocabulary(name).wrappers:
            assert unwrap(wrapper.replace("{command}", "sometool apply --flag value")) == "sometool apply --flag value"


# ---------------------------------------------------------------- scorer on literal answers


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> ProcedureTruth:
    """A small corpus whose first procedure has two failure modes that both recur."""
    root = tmp_path_factory.mktemp("corpus")
    truth = write_corpus(root, 40, seed=4, procedures=PROCEDURES[:1], one_offs=())
    procedure = truth.procedures[0]
    assert sum(mode.occurrences >= 2 for mode in procedure.failures) == 2
    return procedure


def _perfect(truth: ProcedureTruth) -> dict[str, Any]:
    return copy.deepcopy(oracle_runbook(truth))


def test_the_perfect_answer_scores_one(corpus: ProcedureTruth) -> None:
    score = score_runbook(corpus, _perfect(corpus))
    assert (score.recall, score.precision, score.tau, score.placeholders, score.optional) == (1, 1, 1, 1, 1)
    assert (score.selection_recall, score.selection_precision) == (1.0, 1.0)
    assert (score.failure_ari, score.if_failed, score.fixes) == (1.0, 1.0, 1.0)
    assert score.duration_median == 0.0 and score.duration_p90 == 0.0
    assert score.total_duration_error == 0.0


def test_wrong_steps_score_less(corpus: ProcedureTruth) -> None:
    perfect = _perfect(corpus)
    steps = perfect["steps"]
    missing = {**perfect, "steps": [step for step in steps if step["commands"][0] != corpus.steps[2].command]}
    assert score_runbook(corpus, missing).recall < 1.0
    literal = copy.deepcopy(steps)
    literal[2]["commands"] = ["docker build -t telegram-api:abc1234 ."]
    over = copy.deepcopy(steps)
    over[6]["commands"] = ["aws lambda wait function-updated --function-name {function_name}"]
    assert score_runbook(corpus, {**perfect, "steps": literal}).placeholders < 1.0
    assert score_runbook(corpus, {**perfect, "steps": over}).placeholders < 1.0
    swapped = [steps[0], steps[1], steps[3], steps[2], *steps[4:]]
    assert score_runbook(corpus, {**perfect, "steps": swapped}).tau < 1.0
    # Steps 1 and 2 are independent (the generator trades their places in some runs): either order is right,
    # but trading either with a third step is not.
    assert corpus.steps[1].swap_next > 0 and not corpus.steps[0].swap_next
    independent = [steps[0], steps[2], steps[1], *steps[3:]]
    assert score_runbook(corpus, {**perfect, "steps": independent}).tau == 1.0
    assert score_runbook(corpus, {**perfect, "steps": [steps[1], steps[0], *steps[2:]]}).tau < 1.0
    assert score_runbook(corpus, {**perfect, "steps": [steps[0], steps[3], steps[2], steps[1], *steps[4:]]}).tau < 1.0
    extra = [*steps, {"commands": ["aws sts get-caller-identity"], "optional": False}]
    assert score_runbook(corpus, {**perfect, "steps": extra}).precision < 1.0
    twice = copy.deepcopy(steps)
    twice[5]["commands"] = [*twice[5]["commands"], twice[5]["commands"][0]]
    assert score_runbook(corpus, {**perfect, "steps": twice}).precision < 1.0


def test_optional_flags_count_per_command_and_wrong_flags_cost(corpus: ProcedureTruth) -> None:
    perfect = _perfect(corpus)
    unflagged = [{**step, "optional": False} for step in perfect["steps"]]
    assert score_runbook(corpus, {**perfect, "steps": unflagged}).optional == 0.0
    everything = [{**step, "optional": True} for step in perfect["steps"]]
    assert score_runbook(corpus, {**perfect, "steps": everything}).optional < 0.5
    # One step with all commands; per-command support marks the optional ones.
    commands = [step["commands"][0] for step in perfect["steps"]]
    support = [{"runs": 5 if step.optional else 40, "of": 40} for step in corpus.steps]
    merged = {**perfect, "steps": [{"commands": commands, "optional": False, "command_support": support}]}
    assert score_runbook(corpus, merged).optional == 1.0
    assert score_runbook(corpus, merged).recall == 1.0


def test_step_durations_are_scored_against_the_real_step_times(corpus: ProcedureTruth) -> None:
    perfect = _perfect(corpus)
    slow = copy.deepcopy(perfect)
    for step in slow["steps"]:
        step["duration_seconds"] = {"median": step["duration_seconds"]["median"] * 1.5, "p90": 0.0}
    assert score_runbook(corpus, slow).duration_median == pytest.approx(0.5)
    none = copy.deepcopy(perfect)
    none["steps"][0]["duration_seconds"] = None
    assert score_runbook(corpus, none).duration_p90 == 1.0


def test_adjusted_rand_index_on_known_partitions() -> None:
    assert adjusted_rand_index("aabb", "xxyy") == 1.0
    assert adjusted_rand_index("aabb", "yyxx") == 1.0
    assert adjusted_rand_index("aaabbb", "xxxxxx") == 0.0
    assert adjusted_rand_index("aaabbb", "uvwxyz") == 0.0
    assert adjusted_rand_index("aabbcc", "aabbcd") == pytest.approx(0.7619047619047619)  # sklearn's value
    assert adjusted_rand_index("aaaa", "xxxx") == 1.0


def test_one_entry_listing_every_fix_does_not_score_one(corpus: ProcedureTruth) -> None:
    perfect = _perfect(corpus)
    entries = perfect["troubleshooting"]
    lump = {
        "title": "Something failed",
        "solution": [command for entry in entries for command in entry["solution"]],
        "sources": sorted({source for entry in entries for source in entry["sources"]}),
    }
    score = score_runbook(corpus, {**perfect, "troubleshooting": [lump]})
    assert score.failure_ari is not None and score.failure_ari < 0.5
    assert score.if_failed is not None and score.if_failed < 1.0


def test_failures_in_no_entry_or_advice_on_the_wrong_step_score_less(corpus: ProcedureTruth) -> None:
    perfect = _perfect(corpus)
    uncited = copy.deepcopy(perfect)
    uncited["troubleshooting"][0]["sources"] = uncited["troubleshooting"][0]["sources"][:1]
    assert (score_runbook(corpus, uncited).failure_ari or 0.0) < 1.0
    moved = copy.deepcopy(perfect)
    advice = [step["if_failed"] for step in moved["steps"]]
    moved["steps"][0]["if_failed"] = [line for lines in advice for line in lines]
    for step in moved["steps"][1:]:
        step["if_failed"] = []
    assert (score_runbook(corpus, moved).if_failed or 0.0) < 0.5


def test_selecting_other_runs_or_missing_runs_scores_less(corpus: ProcedureTruth) -> None:
    perfect = _perfect(corpus)
    half = {**perfect, "sources": sorted(corpus.run_paths)[: len(corpus.run_paths) // 2]}
    assert score_runbook(corpus, half).selection_recall == pytest.approx(0.5, abs=0.03)
    foreign = ".claude/observations/2026-01-01/execution-000000-other.md"
    extra = {**perfect, "sources": [*perfect["sources"], foreign]}
    runs = frozenset(corpus.run_paths) | {foreign}
    assert score_runbook(corpus, extra, runs).selection_precision < 1.0
    assert score_runbook(corpus, extra, runs).selection_recall == 1.0


def test_a_failed_call_and_its_failure_note_are_one_event(corpus: ProcedureTruth) -> None:
    """An entry may cite the failure note instead of the run it came from: the event is still cited."""
    perfect = _perfect(corpus)
    noted = {item.event for item in corpus.failure_items if item.call < 0 and item.occurrence}
    for entry, mode in zip(perfect["troubleshooting"], corpus.failures, strict=True):
        records = [item for item in corpus.failure_items if item.mode == mode.key]
        entry["sources"] = sorted(
            item.path if item.call < 0 else citation(corpus, item)
            for item in records
            if item.call < 0 or item.event not in noted
        )
    assert score_runbook(corpus, perfect).failure_ari == 1.0
    assert any(":" not in source for entry in perfect["troubleshooting"] for source in entry["sources"])
