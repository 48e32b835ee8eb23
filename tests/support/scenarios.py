"""A small, literal deployment history used by synthesis and CLI tests (independent of sample_observations/)."""

from __future__ import annotations

from pathlib import Path

from tests.support.corpus import Call, Run, write_error_journal, write_failure, write_run

SHAS = ["abc1234", "9f8e7d6", "1a2b3c4", "77ee0f1"]
DIGESTS = ["sha256:" + str(index) * 64 for index in range(1, 5)]
EXPIRED = "denied: Your authorization token has expired. Reauthenticate and try again."


def deployment_run(index: int, retry: bool = False, with_logs: bool = False, noise: bool = False) -> Run:
    sha, digest = SHAS[index], DIGESTS[index]
    calls = [Call("pytest -q", f"{40 + index} passed in 3.{index}s", "Run tests", f"{20 + index}s")]
    if noise:
        calls.append(Call("ls -la", "total 8", "Look around", "1s"))
    calls.append(
        Call(
            f"docker build -t telegram-api:{sha} .",
            f"Successfully built {sha}",
            "Build image",
            f"1m {10 + index}s",
        )
    )
    if retry:
        calls += [
            Call(
                f"docker push 1234.dkr.ecr.us-east-1.amazonaws.com/telegram-api:{sha}",
                EXPIRED,
                "Push image",
                "2s",
                1,
            ),
            Call(
                "aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin 1234.dkr.ecr.us-east-1.amazonaws.com",
                "Login Succeeded",
                "Log in to ECR",
                "3s",
            ),
        ]
    calls += [
        Call(
            f"docker push 1234.dkr.ecr.us-east-1.amazonaws.com/telegram-api:{sha}",
            f"{sha}: digest: {digest} size: 2203",
            "Push image",
            f"{30 + index}s",
        ),
        Call(
            "ENV=prod doppler run -- aws lambda update-function-code --function-name report_worker \\\n"
            f"  --image-uri 1234.dkr.ecr.us-east-1.amazonaws.com/telegram-api@{digest}",
            '{"LastUpdateStatus": "InProgress"}',
            "Update the function",
            "4s",
        ),
        Call(
            "aws lambda wait function-updated --function-name report_worker",
            "",
            "Wait for the update",
            f"{40 + index}s",
        ),
    ]
    if with_logs:
        calls.append(Call("aws logs tail /aws/lambda/report_worker --since 5m", "START RequestId", "Tail logs", "5s"))
    calls.append(Call("curl -s https://api.example.com/health", '{"status": "healthy"}', "Check health", "1s"))
    return Run(
        f"2026-09-0{index + 1}",
        f"10:00:0{index}",
        "deployed-lambda",
        "deployed report_worker lambda",
        tuple(calls),
        total=f"4m {index}s",
    )


def write_deployment_history(root: Path) -> None:
    """Four deployments (one retried push, two with logs, one with noise), a failure note, an error journal."""
    write_run(root, deployment_run(0, with_logs=True))
    write_run(root, deployment_run(1, retry=True, noise=True))
    write_run(root, deployment_run(2, with_logs=True))
    write_run(root, deployment_run(3))
    write_failure(
        root,
        "2026-09-06",
        "ecr-push",
        "ECR push failed during lambda deploy",
        EXPIRED.replace("Reauth", "Please reauth"),
        f"docker push 1234.dkr.ecr.us-east-1.amazonaws.com/telegram-api:{SHAS[0]}",
    )
    write_error_journal(
        root,
        "2026-09-07",
        "ecr-token-expired",
        "ECR authorization token expired",
        EXPIRED,
        "ECR login tokens are valid for 12 hours; the session had logged in the day before.",
        "aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin 1234.dkr.ecr.us-east-1.amazonaws.com",
        "Log in to ECR at the start of every deployment.",
    )
