"""Alignment: consensus order, support, optional steps, noise, retries, reordering, repeated checks."""

from __future__ import annotations

from runbook_synth.align import KeyIndex, align_sequences, group_columns, prepare_run
from runbook_synth.models import CommandRun, Provenance


def runs_of(*sequences: list[str | tuple[str, int]]) -> list[list[CommandRun]]:
    result = []
    for index, sequence in enumerate(sequences):
        commands = []
        for position, item in enumerate(sequence):
            command, code = (item, 0) if isinstance(item, str) else item
            commands.append(CommandRun(command, Provenance(f"run{index}.md", position + 1), exit_code=code))
        result.append(commands)
    return result


def consensus(*sequences: list[str | tuple[str, int]]) -> list[tuple[str, int]]:
    keys = KeyIndex()
    prepared = [prepare_run(i, commands, keys) for i, commands in enumerate(runs_of(*sequences))]
    alignment = align_sequences(prepared, keys)
    return [(alignment.keys[column.key_id], len(column.runs)) for column in alignment.columns]


def test_identical_runs_give_their_sequence_with_full_support() -> None:
    run = ["make test", "docker build -t api:abc1234 .", "docker push api:abc1234"]
    assert consensus(run, run, run) == [
        ("make test", 3),
        ("docker build -t api:<git_sha> .", 3),
        ("docker push api:<git_sha>", 3),
    ]


def test_optional_step_keeps_its_place_and_count() -> None:
    result = consensus(["a x", "b x", "c x"], ["a x", "c x"], ["a x", "b x", "c x"], ["a x", "c x"])
    assert result == [("a x", 4), ("b x", 2), ("c x", 4)]


def test_noise_is_lifted_out() -> None:
    result = consensus(["a x", "ls -la", "b x"], ["pwd", "a x", "b x", "git status"])
    assert result == [("a x", 2), ("b x", 2)]


def test_failed_then_retried_command_becomes_an_episode_not_a_step() -> None:
    keys = KeyIndex()
    (commands,) = runs_of(["build x", ("push x", 1), "login y", ("typo z", 2), "push x", "deploy x"])
    prepared = prepare_run(0, commands, keys)
    assert [c.command for c in prepared.commands] == ["build x", "push x", "deploy x"]
    (episode,) = prepared.episodes
    assert episode.failed.command == "push x" and [f.command for f in episode.fixes] == ["login y", "typo z"]
    assert episode.retry.provenance.line == 5


def test_unretried_failure_is_kept_aside() -> None:
    keys = KeyIndex()
    (commands,) = runs_of(["build x", ("aws lamdba update", 2), "deploy x"])
    prepared = prepare_run(0, commands, keys)
    assert [c.command for c in prepared.commands] == ["build x", "deploy x"]
    assert [c.command for c in prepared.unretried_failures] == ["aws lamdba update"]


def test_swapped_independent_steps_merge_into_one_column_each() -> None:
    majority = ["a x", "b x", "c x", "d x"]
    result = consensus(majority, majority, ["a x", "c x", "b x", "d x"])
    assert sorted(result) == [("a x", 3), ("b x", 3), ("c x", 3), ("d x", 3)]
    assert result[0] == ("a x", 3) and result[-1] == ("d x", 3)


def test_check_before_and_after_stays_two_columns() -> None:
    run = [
        "aws lambda get-function --function-name f",
        "aws lambda update-function-code --function-name f",
        "aws lambda get-function --function-name f",
    ]
    result = consensus(run, run)
    assert [count for _, count in result] == [2, 2, 2]
    assert result[0][0] == result[2][0]


def test_commands_of_one_tool_call_share_a_step() -> None:
    keys = KeyIndex()
    runs = []
    for index in range(2):
        commands = [
            CommandRun("build x", Provenance("r.md", 1), operation="Build"),
            CommandRun("update x", Provenance(f"r{index}.md", 5), operation="Deploy"),
            CommandRun("wait x", Provenance(f"r{index}.md", 6), operation="Deploy"),
            CommandRun("curl y", Provenance(f"r{index}.md", 9), operation="Check"),
        ]
        runs.append(prepare_run(index, commands, keys))
    groups = group_columns(align_sequences(runs, keys).columns)
    assert [[keys.keys[c.key_id] for c in group] for group in groups] == [
        ["build x"],
        ["update x", "wait x"],
        ["curl y"],
    ]


def test_alignment_is_deterministic() -> None:
    sequences = [
        ["a x", "b x", "c x"],
        ["b x", "a x", "c x", "e x"],
        ["a x", "c x"],
        ["a x", "b x", "e x", "c x"],
    ]
    assert consensus(*sequences) == consensus(*sequences)


# Hard cases the quality benchmark taught (benchmarks/quality.py).


def test_commands_with_different_subcommands_are_different_steps() -> None:
    plan = "terraform -chdir=infra/prod plan -input=false -out=tfplan-abc1234"
    apply = "terraform -chdir=infra/prod apply -input=false tfplan-abc1234"
    assert [count for _, count in consensus([plan, apply], [plan, apply])] == [2, 2]


def test_a_typo_in_a_note_is_its_own_rare_column() -> None:
    result = consensus(
        ["npm ci", "npm run build"], ["npm ci", "npm run biuld", "npm run build"], ["npm ci", "npm run build"]
    )
    assert ("npm run build", 3) in result and ("npm run biuld", 1) in result


def test_note_without_exit_codes_still_yields_a_retry_episode() -> None:
    keys = KeyIndex()
    commands = [
        CommandRun(
            "docker push repo:abc1234", Provenance("n.md", 3), output="denied: Your authorization token has expired."
        ),
        CommandRun("aws ecr get-login-password | docker login --password-stdin x", Provenance("n.md", 5)),
        CommandRun("docker push repo:abc1234", Provenance("n.md", 7), output="abc1234: digest: sha256:1 size: 1"),
    ]
    prepared = prepare_run(0, commands, keys)
    assert [c.provenance.line for c in prepared.commands] == [7]
    assert len(prepared.episodes) == 1 and prepared.episodes[0].failed.provenance.line == 3


def test_a_command_typed_at_random_points_is_noise() -> None:
    steps = ["a x", "b x", "c x", "d x", "e x"]
    runs = []
    for index in range(6):
        run: list[str | tuple[str, int]] = list(steps)
        if index % 3:
            run.insert(index, "aws sts get-caller-identity")
        runs.append(run)
    assert [key for key, _ in consensus(*runs)] == steps


def test_reordered_block_far_apart_still_merges() -> None:
    majority = ["login x", "build x", "tag x", "push x", "deploy x"]
    swapped = ["build x", "tag x", "login x", "push x", "deploy x"]
    rare = ["build x", "rare1 y", "rare2 y", "rare3 y", "rare4 y", "rare5 y", "tag x", "login x", "push x", "deploy x"]
    result = consensus(majority, majority, majority, swapped, rare)
    assert sorted(count for key, count in result if key.endswith(" x")) == [5, 5, 5, 5, 5]


def test_typo_in_a_note_with_an_error_output_is_not_a_step() -> None:
    keys = KeyIndex()
    commands = [
        CommandRun(
            "alembic upgarde head", Provenance("n.md", 3), output="alembic: error: argument: invalid choice: 'upgarde'"
        ),
        CommandRun("npm run biuld", Provenance("n.md", 5), output='npm ERR! Missing script: "biuld"'),
        CommandRun(
            "alembic upgrade head", Provenance("n.md", 7), output="INFO  [alembic.runtime.migration] Running upgrade"
        ),
    ]
    prepared = prepare_run(0, commands, keys)
    assert [c.command for c in prepared.commands] == ["alembic upgrade head"]
    assert [c.provenance.line for c in prepared.unretried_failures] == [3, 5]
