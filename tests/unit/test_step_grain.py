"""Steps at the right grain (issue 10): a typo is not a failure episode, and one parameter with a few values is
one step, not a step per value."""

from __future__ import annotations

from collections.abc import Sequence

from runbook_synth.align import KeyIndex, align_sequences, one_value_apart, prepare_run
from runbook_synth.models import CommandRun, PreparedRun, Provenance
from runbook_synth.normalize import PlaceholderNames, misspelled, template_commands
from runbook_synth.settings import Settings
from runbook_synth.steps import build_steps

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


# One parameter with a few values is one step, not a step per value.

SIZES = ("shared-cpu-2x", "performance-2x")


def prepare_all(keys: KeyIndex, sequences: Sequence[Sequence[str]]) -> list[PreparedRun]:
    return [prepare_run(index, run_of(f"r{index}", *sequence), keys) for index, sequence in enumerate(sequences)]


def columns_of(sequences: Sequence[Sequence[str]]) -> list[tuple[str, int]]:
    keys = KeyIndex()
    alignment = align_sequences(prepare_all(keys, sequences), keys)
    return [(alignment.keys[column.key_id], len(column.runs)) for column in alignment.columns]


def test_a_value_chosen_in_half_the_runs_is_one_step_with_a_parameter() -> None:
    keys = KeyIndex()
    runs = prepare_all(
        keys, [["git pull", "fly deploy --app web", f"fly scale vm {SIZES[i % 2]} --app web"] for i in range(12)]
    )
    alignment = align_sequences(runs, keys)
    assert [len(column.runs) for column in alignment.columns] == [12, 12, 12]
    steps, _ = build_steps(alignment, Settings(), PlaceholderNames())
    assert steps[-1].commands == ("fly scale vm {value}-2x --app web",) and not steps[-1].optional
    built = template_commands([(m.run, m.command.command) for m in alignment.columns[-1].members])
    assert {value for _, value in built.parameters[0].values} == {"shared-cpu", "performance"}


def test_a_value_chosen_in_a_minority_of_runs_is_still_a_parameter() -> None:
    instances = [(run, f"fly scale vm {SIZES[run >= 7]} --app web") for run in range(12)]
    built = template_commands(instances)
    assert built.template == "fly scale vm {value}-2x --app web"
    assert sorted({value for _, value in built.parameters[0].values}) == ["performance", "shared-cpu"]


def test_a_spelling_seen_in_one_run_does_not_make_a_placeholder() -> None:
    instances = [(run, f"fly scale vm {SIZES[run == 11]} --app web") for run in range(12)]
    assert template_commands(instances).template == "fly scale vm shared-cpu-2x --app web"


def test_a_misspelled_flag_that_still_ran_in_two_runs_does_not_make_a_placeholder() -> None:
    # Nothing said the typo failed (a note without exit codes): it is a spelling, not a value chosen.
    instances = [(run, SCALE if run < 10 else TYPO) for run in range(12)]
    assert template_commands(instances).template == SCALE


def test_distinct_subcommands_at_the_same_place_stay_distinct_steps() -> None:
    for first, second in [
        ("kubectl get pods -n shop", "kubectl get ns -n shop"),
        ("git push origin main", "git pull origin main"),
    ]:
        sequences = [["make build", first if index % 2 else second, "make check"] for index in range(8)]
        assert sorted(count for _, count in columns_of(sequences)) == [4, 4, 8, 8], (first, second)


def test_two_values_at_different_places_stay_two_steps() -> None:
    early = [["fly scale vm shared-cpu-2x --app web", "a x", "b x", "c x"] for _ in range(4)]
    late = [["a x", "b x", "c x", "fly scale vm performance-2x --app web"] for _ in range(4)]
    assert sorted(count for _, count in columns_of(early + late)) == [4, 4, 8, 8, 8]


def test_each_value_of_a_merged_step_leads_to_it_for_if_failed_advice() -> None:
    keys = KeyIndex()
    runs = prepare_all(keys, [["git pull", f"fly scale vm {SIZES[i % 2]} --app web"] for i in range(6)])
    alignment = align_sequences(runs, keys)
    _, step_of_key = build_steps(alignment, Settings(), PlaceholderNames())
    index = KeyIndex.of(alignment)
    assert step_of_key[index.id_of(f"fly scale vm {SIZES[0]} --app web")] == [2]
    assert step_of_key[index.id_of(f"fly scale vm {SIZES[1]} --app web")] == [2]


def test_one_value_apart_is_a_value_not_a_command_word_or_another_option() -> None:
    assert one_value_apart("fly scale vm shared-cpu-2x --app web", "fly scale vm performance-2x --app web")
    assert one_value_apart(
        "kubectl rollout restart deployment/api -n shop", "kubectl rollout restart deployment/web -n shop"
    )
    assert one_value_apart("kubectl apply -f x --dry-run=client", "kubectl apply -f x --dry-run=server")
    assert one_value_apart(
        "aws ec2 run-instances --instance-type t3.large", "aws ec2 run-instances --instance-type m5.large"
    )
    assert one_value_apart("fly scale vm shared-cpu-2x --app web", "fly scale vm shared-cpu-2x --app api")
    assert not one_value_apart("kubectl get pods -n shop", "kubectl get ns -n shop")
    assert not one_value_apart("kubectl -n shop get pods", "kubectl -n shop get ns")
    assert not one_value_apart("git --no-pager log -5", "git --no-pager show -5")
    assert not one_value_apart("fly deploy --app web", "fly deploy --app api")
    assert not one_value_apart("git push origin main", "git pull origin main")
    assert not one_value_apart("docker compose -f a.yml up -d", "docker compose -f a.yml down -d")
    assert not one_value_apart("kubectl apply -f x --force", "kubectl apply -f x --prune")
    assert not one_value_apart("fly scale vm shared-cpu-2x --app web", "fly scale vm performance-2x --app api")
