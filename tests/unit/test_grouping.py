"""Runs are grouped by what they did, not only by what their notes were called (issue 10's defects)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from runbook_synth.cli import app
from runbook_synth.normalize import command_key, template_commands
from tests.support.corpus import Call, Run, write_run

DRAIN = (
    Call(
        "aws sqs get-queue-attributes --queue-url https://sqs.eu-west-1.amazonaws.com/1234/orders --attribute-names All"
    ),
    Call("aws lambda get-function-concurrency --function-name order-consumer"),
    Call("aws lambda put-function-concurrency --function-name order-consumer --reserved-concurrent-executions 50"),
    Call("aws logs tail /aws/lambda/order-consumer --since 10m"),
    Call(
        "aws sqs get-queue-attributes --queue-url https://sqs.eu-west-1.amazonaws.com/1234/orders --attribute-names All"
    ),
    Call("aws lambda put-function-concurrency --function-name order-consumer --reserved-concurrent-executions 10"),
)
CONTEXTS = [
    "Drain the orders queue backlog",
    "Paged: order-consumer falling behind",
    "Incident: orders not processed",
    "order-consumer lambda tweak",
    "bumped order-consumer",
    "lambda concurrency back to normal",
]


def _write(root: Path) -> None:
    for index in range(12):
        run = Run(f"2026-10-{index + 1:02d}", "03:10:00", f"run{index}", CONTEXTS[index % 6], DRAIN, tags=())
        write_run(root, run)


def test_runs_of_one_procedure_with_weak_metadata_are_one_pattern(tmp_path: Path) -> None:
    _write(tmp_path)
    result = CliRunner().invoke(app, ["list", "--root", str(tmp_path), "--format", "json"])
    patterns = [p for p in json.loads(result.stdout)["patterns"] if p["executions"]]
    assert [(p["operation_type"], p["executions"]) for p in patterns] == [("incident-response", 12)], patterns


def test_a_label_list_prints_selects_exactly_the_runs_it_counts(tmp_path: Path) -> None:
    _write(tmp_path)
    runner = CliRunner()
    listed = json.loads(runner.invoke(app, ["list", "--root", str(tmp_path), "--format", "json"]).stdout)
    pattern = next(p for p in listed["patterns"] if p["executions"])
    result = runner.invoke(
        app,
        [
            "generate",
            pattern["operation_type"],
            pattern["scope"],
            "--root",
            str(tmp_path),
            "--stdout",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["run_count"] == pattern["executions"]


def test_no_scope_and_no_ready_scope_never_merges_scopes(tmp_path: Path) -> None:
    for index, (scope, command) in enumerate(
        [("lambda", "aws lambda update-function-code"), ("frontend", "aws s3 sync")]
    ):
        write_run(tmp_path, Run(f"2026-10-0{index + 1}", "10:00:00", scope, f"deployed {scope}", (Call(command),)))
    result = CliRunner().invoke(app, ["deployment", "--root", str(tmp_path), "--min-runs", "2"])
    assert result.exit_code == 1
    assert "no scope of deployment has enough runs" in result.stderr and "closest:" in result.stderr


def test_the_same_step_in_two_environments_is_one_step_with_an_environment_parameter() -> None:
    dev = "terraform apply -var-file=terraform.dev.tfvars"
    staging = "terraform apply -var-file=terraform.staging.tfvars"
    assert command_key(dev) == command_key(staging)
    template = template_commands([(0, dev), (1, staging)])
    assert template.template == "terraform apply -var-file=terraform.{environment}.tfvars"
    assert command_key("docker push repo:prod") == command_key("docker push repo:staging")
    assert command_key("npm test") != command_key("npm run stage")
