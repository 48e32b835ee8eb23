"""Steps at the right grain (issue 10): a typo is not a failure episode, and one parameter with a few values is
one step, not a step per value."""

from __future__ import annotations

from runbook_synth.align import KeyIndex, align_sequences, misspelled, prepare_run
from runbook_synth.models import CommandRun, Provenance

SCALE = "kubectl scale deployment/shop-api -n shop --replicas=12"
TYPO = "kubectl scale deployment/shop-api -n shop --replica=12"
TYPO_ERROR = "error: unknown flag: --replica"
NODES = "eksctl scale nodegroup --cluster prod-eks --name ng-general --nodes 9 --nodes-max 20"
PATCH = 'kubectl patch hpa shop-api -n shop --type merge -p \'{"spec":{"minReplicas":12}}\''
CHECK = "kubectl get hpa shop-api -n shop"


def run_of(name: str, *items: str | tuple[str, int, str]) -> list[CommandRun]:
    """A run's commands: a bare string succeeded; (command, exit code, output) for anything else."""
    commands = []
    for line, item in enumerate(items, start=1):
        command, code, output = (item, 0, "") if isinstance(item, str) else item
        commands.append(CommandRun(command, Provenance(f"{name}.md", line), output=output, exit_code=code))
    return commands


# A typo before a step is not a failed attempt, and what follows it is not a fix.


def test_a_misspelled_flag_typed_steps_ahead_leaves_the_steps_in_between_in_the_procedure() -> None:
    keys = KeyIndex()
    commands = run_of("r", CHECK, (TYPO, 1, TYPO_ERROR), NODES, PATCH, SCALE, CHECK)
    prepared = prepare_run(0, commands, keys)
    assert [c.command for c in prepared.commands] == [CHECK, NODES, PATCH, SCALE, CHECK]
    assert prepared.episodes == ()
    assert [c.command for c in prepared.noise] == [TYPO]


def test_a_typo_retyped_at_once_is_not_a_retry_episode() -> None:
    keys = KeyIndex()
    prepared = prepare_run(0, run_of("r", CHECK, (TYPO, 1, TYPO_ERROR), SCALE, CHECK), keys)
    assert [c.command for c in prepared.commands] == [CHECK, SCALE, CHECK]
    assert prepared.episodes == () and prepared.unretried_failures == ()


def test_a_mistyped_program_retyped_at_once_is_noise_not_a_run_that_stopped() -> None:
    # Another program name is another key id, so this was an unretried failure (a run that stopped there).
    keys = KeyIndex()
    typo = ("kubeclt get pods -n shop -l app=shop-api", 127, "bash: kubeclt: command not found")
    prepared = prepare_run(0, run_of("r", typo, "kubectl get pods -n shop -l app=shop-api", CHECK), keys)
    assert prepared.unretried_failures == () and prepared.episodes == ()
    assert [c.command for c in prepared.commands] == ["kubectl get pods -n shop -l app=shop-api", CHECK]


def test_a_typo_before_a_real_failure_leaves_the_real_episode() -> None:
    keys = KeyIndex()
    denied = "Error: failed to scale nodegroup: desired capacity exceeds max size"
    fix = "aws autoscaling update-auto-scaling-group --auto-scaling-group-name eks-ng --max-size 20"
    typo = "eksctl scale nodegroup --cluster prod-eks --name ng-general --nodes 9 --node-max 20"
    commands = run_of("r", (typo, 1, "Error: unknown flag: --node-max"), (NODES, 1, denied), fix, NODES, SCALE)
    prepared = prepare_run(0, commands, keys)
    (episode,) = prepared.episodes
    assert episode.failed.output == denied and [f.command for f in episode.fixes] == [fix]
    assert [c.command for c in prepared.commands] == [NODES, SCALE]


def test_typos_ahead_of_a_step_keep_it_required_and_in_every_run() -> None:
    keys = KeyIndex()
    runs = []
    for index in range(6):
        items: list[str | tuple[str, int, str]] = [CHECK, NODES, PATCH, SCALE, "kubectl rollout status x", CHECK]
        if index in (1, 4):
            items.insert(1 if index == 1 else 0, (TYPO, 1, TYPO_ERROR))
        runs.append(prepare_run(index, run_of(f"r{index}", *items), keys))
    alignment = align_sequences(runs, keys)
    supports = [(alignment.keys[column.key_id].split()[1], len(column.runs)) for column in alignment.columns]
    assert supports == [("get", 6), ("scale", 6), ("patch", 6), ("scale", 6), ("rollout", 6), ("get", 6)]


def test_misspelled_is_a_slip_of_the_keys_not_another_way_of_running_the_step() -> None:
    assert misspelled("kubectl rollout stauts deployment/api", "kubectl rollout status deployment/api")
    assert misspelled("aws s3 sync build s3://b --delte", "aws s3 sync build s3://b --delete")
    # Another value, another option or a rewritten argument is another attempt at the step.
    assert not misspelled("aws ec2 run-instances --zone us-east-1a", "aws ec2 run-instances --zone us-east-1b")
    assert not misspelled("aws ec2 run-instances --zone=us-east-1a", "aws ec2 run-instances --zone=us-east-1b")
    assert not misspelled("date -d '-30 min' +%s000", "date -v-30M +%s000")
    assert not misspelled("fly deploy --app web", "fly deploy --app web")


def test_a_note_whose_output_opens_with_an_exception_class_reads_as_failed() -> None:
    # No exit code in a hand-written note: `sqlalchemy.exc.OperationalError: ...` is how Python says it failed.
    keys = KeyIndex()
    lock = "sqlalchemy.exc.OperationalError: (psycopg2.errors.LockNotAvailable) canceling statement"
    commands = [
        CommandRun("alembic upgrade head", Provenance("n.md", 3), output=lock),
        CommandRun("psql \"$DATABASE_URL\" -c 'select pg_terminate_backend(4242)'", Provenance("n.md", 5)),
        CommandRun("alembic upgrade head", Provenance("n.md", 7), output="INFO  [alembic] Running upgrade"),
        CommandRun("alembic current", Provenance("n.md", 9), output="retry_error_count: 0"),
    ]
    prepared = prepare_run(0, commands, keys)
    assert [c.provenance.line for c in prepared.commands] == [7, 9]
    (episode,) = prepared.episodes
    assert episode.failed.provenance.line == 3 and len(episode.fixes) == 1
