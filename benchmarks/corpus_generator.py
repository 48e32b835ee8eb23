"""Observation corpora written from known procedures, so the quality benchmark can score against the truth.

Each procedure is an operation type, a scope, and 5-10 steps (command templates with named ``{variables}``,
some optional, some repeated). Every run draws fresh values for the variables (digests, shas, versions, ids,
times) while constants stay literal; skips optional steps at their rate; sometimes swaps independent steps;
types noise and typos between steps; fails a step now and then, runs the fix and retries; adds wrappers
(``ENV=prod doppler run --``), line continuations and comments. A fifth of the runs are hand-written notes
without frontmatter. Failure observations and error journals record failure modes at their own frequencies,
and a few one-off operations sit in the same corpus. Everything is drawn from one seeded ``random.Random``.
"""

from __future__ import annotations

import random
import re
import string
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

_VAR = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
WRAPPER = "ENV=prod doppler run -- "
START_DAY = date(2026, 1, 5)
SPAN_DAYS = 320


# ---------------------------------------------------------------- value generators


def _hex(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


def _git_sha(rng: random.Random) -> str:
    while True:
        value = _hex(rng, 7)
        if re.search(r"[a-f]", value) and re.search(r"\d", value):
            return value


def _uuid(rng: random.Random) -> str:
    return f"{_hex(rng, 8)}-{_hex(rng, 4)}-4{_hex(rng, 3)}-a{_hex(rng, 3)}-{_hex(rng, 12)}"


def _upper_id(rng: random.Random, first: str, length: int) -> str:
    alphabet = string.ascii_uppercase + string.digits
    while True:
        value = first + "".join(rng.choice(alphabet) for _ in range(length - 1))
        if re.search(r"\d", value):
            return value


def _stamp(rng: random.Random) -> str:
    moment = datetime.combine(START_DAY, time(0)) + timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _value(kind: str, rng: random.Random) -> str:
    if kind.startswith("int:"):
        low, high = (int(part) for part in kind.split(":")[1:3])
        return str(rng.randint(low, high))
    if kind.startswith("choice:"):
        return rng.choice(kind.split(":", 1)[1].split("|"))
    generators = {
        "git_sha": lambda: _git_sha(rng),
        "digest": lambda: "sha256:" + _hex(rng, 64),
        "hex64": lambda: _hex(rng, 64),
        "hex12": lambda: _hex(rng, 12),
        "semver": lambda: f"{rng.randint(1, 3)}.{rng.randint(0, 30)}.{rng.randint(0, 12)}",
        "uuid": lambda: _uuid(rng),
        "timestamp": lambda: _stamp(rng),
        "date": lambda: (START_DAY + timedelta(days=rng.randrange(SPAN_DAYS))).isoformat(),
        "epoch_ms": lambda: str(1767225600000 + rng.randrange(SPAN_DAYS * 86400) * 1000),
        "inval_id": lambda: _upper_id(rng, "I", 14),
        "request_id": lambda: _upper_id(rng, "R", 16),
        "alembic_rev": lambda: _hex(rng, 12),
        "user": lambda: (
            rng.choice(["ana", "bo", "chen", "dara", "eli", "fay", "gus", "hana"]) + str(rng.randint(1, 99))
        ),
    }
    return generators[kind]()


def render(template: str, values: dict[str, str]) -> str:
    """Fill ``{name}`` variables; other braces (JSON, jsonpath) stay as written."""
    return _VAR.sub(lambda match: values.get(match.group(1), match.group(0)), template)


def variables_of(template: str) -> list[str]:
    return _VAR.findall(template)


# ---------------------------------------------------------------- procedures


@dataclass(frozen=True)
class StepSpec:
    key: str
    operation: str
    command: str
    """Template: ``{name}`` is a variable (fresh value per run); everything else is a constant."""
    output: str
    mean_seconds: float
    rate: float = 1.0
    """Share of runs doing this step; below 1.0 the step is optional."""
    swap_next: float = 0.0
    """Chance this step and the next trade places in a run (independent steps)."""
    wrapper: float = 0.0
    continuation: float = 0.0

    @property
    def optional(self) -> bool:
        return self.rate < 1.0


@dataclass(frozen=True)
class FailureMode:
    key: str
    step: str
    rate: float
    error: str
    fixes: tuple[str, ...]
    title: str
    cause: str
    exit_code: int = 1
    observation_rate: float = 0.5
    journals: int = 1


@dataclass(frozen=True)
class Procedure:
    name: str
    operation_type: str
    scope: str
    tags: tuple[str, ...]
    slug: str
    context: str
    note_title: str
    variables: dict[str, str]
    steps: tuple[StepSpec, ...]
    failures: tuple[FailureMode, ...] = ()
    typo: tuple[str, str] = ("", "")
    """A typed-wrong command and the error it prints (the typo noise of this procedure)."""


ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
K8S_CONTEXT = "arn:aws:eks:eu-west-1:123456789012:cluster/prod-eks"
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/orders-queue"
OPENSSL_CHECK = (
    "echo | openssl s_client -connect api.example.com:443 -servername api.example.com 2>/dev/null"
    " | openssl x509 -noout -enddate"
)

PROCEDURES: tuple[Procedure, ...] = (
    Procedure(
        name="deployment-lambda",
        operation_type="deployment",
        scope="lambda",
        tags=("deployment", "lambda", "aws"),
        slug="deployed-lambda",
        context="deployed Lambda report_worker to prod ({version})",
        note_title="Deployed report_worker lambda ({version})",
        variables={
            "sha": "git_sha",
            "version": "semver",
            "digest": "digest",
            "tests": "int:180:260",
            "req": "uuid",
            "layer": "hex12",
        },
        steps=(
            StepSpec("test", "Run unit tests", "pytest -q tests/unit", "{tests} passed in 41.2s", 45, rate=0.45),
            StepSpec(
                "login",
                "Log in to ECR",
                f"aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin {ECR}",
                "Login Succeeded",
                2.0,
                swap_next=0.25,
            ),
            StepSpec(
                "build",
                "Build image",
                "docker build -t telegram-api:{sha} .",
                "[+] Building 58.1s (13/13) FINISHED\n => naming to docker.io/library/telegram-api:{sha}",
                70,
            ),
            StepSpec(
                "tag", "Tag image for ECR", f"docker tag telegram-api:{{sha}} {ECR}/telegram-api:{{sha}}", "", 0.3
            ),
            StepSpec(
                "push",
                "Push image",
                f"docker push {ECR}/telegram-api:{{sha}}",
                f"The push refers to repository [{ECR}/telegram-api]\n{{layer}}: Pushed\n"
                "{sha}: digest: {digest} size: 2710",
                35,
            ),
            StepSpec(
                "update",
                "Point the function at the new image",
                f"aws lambda update-function-code --function-name report_worker --image-uri "
                f"{ECR}/telegram-api@{{digest}}",
                '{\n    "FunctionName": "report_worker",\n    "LastUpdateStatus": "InProgress",\n'
                '    "RevisionId": "{req}"\n}',
                2.0,
                wrapper=0.5,
                continuation=0.3,
            ),
            StepSpec(
                "wait", "Wait for the update", "aws lambda wait function-updated --function-name report_worker", "", 40
            ),
            StepSpec(
                "health",
                "Check health",
                "curl -s https://api.example.com/health",
                '{"status": "healthy", "version": "{version}", "commit": "{sha}"}',
                1.0,
            ),
            StepSpec(
                "logs",
                "Tail recent logs",
                "aws logs tail /aws/lambda/report_worker --since 5m",
                "START RequestId: {req} Version: $LATEST",
                5,
                rate=0.4,
            ),
        ),
        failures=(
            FailureMode(
                "ecr-token-expired",
                "push",
                0.2,
                "denied: Your authorization token has expired. Reauthenticate and try again.",
                (
                    f"aws ecr get-login-password --region us-east-1 | docker login --username AWS "
                    f"--password-stdin {ECR}",
                ),
                "docker push denied - ECR token expired",
                "ECR tokens last 12 hours; the login was from the morning.",
            ),
            FailureMode(
                "lambda-conflict",
                "update",
                0.15,
                "An error occurred (ResourceConflictException) when calling the UpdateFunctionCode "
                "operation: The operation cannot be performed at this time. An update is in progress for "
                "resource: arn:aws:lambda:us-east-1:123456789012:function:report_worker (RequestId: {req})",
                ("aws lambda wait function-updated --function-name report_worker",),
                "UpdateFunctionCode rejected with ResourceConflictException",
                "A configuration update from CI was still in progress.",
                exit_code=254,
            ),
        ),
        typo=(
            "aws lamdba wait function-updated --function-name report_worker",
            "aws: error: argument command: Invalid choice: 'lamdba', maybe you meant: lambda",
        ),
    ),
    Procedure(
        name="deployment-kubernetes",
        operation_type="deployment",
        scope="kubernetes",
        tags=("deployment", "kubernetes", "eks"),
        slug="deployed-shop-api-kubernetes",
        context="deployed shop-api {version} to the prod kubernetes cluster",
        note_title="Deployed shop-api {version} to kubernetes",
        variables={"version": "semver", "sha": "git_sha", "pod": "hex12", "rev": "int:20:400"},
        steps=(
            StepSpec(
                "context",
                "Switch kube context",
                f"kubectl config use-context {K8S_CONTEXT}",
                f'Switched to context "{K8S_CONTEXT}".',
                0.5,
            ),
            StepSpec(
                "pods-before",
                "Check pods",
                "kubectl get pods -n shop -l app=shop-api",
                "NAME                        READY   STATUS    RESTARTS   AGE\nshop-api-{pod}   1/1     Running"
                "   0          3d",
                1.2,
            ),
            StepSpec(
                "image",
                "Build and push the image",
                "docker buildx build --platform linux/amd64 -t ghcr.io/acme/shop-api:{version} --push .",
                "#12 pushing ghcr.io/acme/shop-api:{version} with docker\n#12 DONE 14.2s",
                120,
                continuation=0.4,
            ),
            StepSpec(
                "helm",
                "Upgrade the release",
                "helm upgrade shop-api ./charts/shop-api -n shop --reuse-values --set image.tag={version} "
                "--wait --timeout 10m",
                'Release "shop-api" has been upgraded. Happy Helming!\nREVISION: {rev}',
                90,
                continuation=0.4,
            ),
            StepSpec(
                "rollout",
                "Watch the rollout",
                "kubectl rollout status deployment/shop-api -n shop --timeout=300s",
                'deployment "shop-api" successfully rolled out',
                45,
            ),
            StepSpec(
                "pods-after",
                "Check pods",
                "kubectl get pods -n shop -l app=shop-api",
                "NAME                        READY   STATUS    RESTARTS   AGE\nshop-api-{pod}   1/1     Running"
                "   0          40s",
                1.2,
            ),
            StepSpec(
                "annotate",
                "Record the change cause",
                'kubectl annotate deployment/shop-api -n shop kubernetes.io/change-cause="release {version}" '
                "--overwrite",
                "deployment.apps/shop-api annotated",
                0.8,
                rate=0.5,
            ),
            StepSpec(
                "logs",
                "Check recent logs",
                "kubectl logs deployment/shop-api -n shop --since=10m --tail=50",
                "INFO started shop-api {version} ({sha})",
                3,
                rate=0.35,
            ),
        ),
        failures=(
            FailureMode(
                "helm-pending",
                "helm",
                0.2,
                "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress",
                ("helm history shop-api -n shop --max 5", "helm rollback shop-api {rev} -n shop"),
                "helm upgrade blocked by a pending release",
                "A previous upgrade was interrupted and left the release pending-upgrade.",
            ),
            FailureMode(
                "progress-deadline",
                "rollout",
                0.1,
                'error: deployment "shop-api" exceeded its progress deadline',
                (
                    "kubectl describe pods -n shop -l app=shop-api",
                    "kubectl rollout restart deployment/shop-api -n shop",
                ),
                "rollout exceeded its progress deadline",
                "New pods stuck pulling the image while the node was under disk pressure.",
                journals=0,
            ),
        ),
        typo=("kubeclt get pods -n shop -l app=shop-api", "bash: kubeclt: command not found"),
    ),
    Procedure(
        name="deployment-frontend",
        operation_type="deployment",
        scope="frontend",
        tags=("deployment", "frontend", "cloudfront"),
        slug="deployed-frontend",
        context="deployed frontend www.example.com ({sha})",
        note_title="Deployed the frontend static site ({sha})",
        variables={"sha": "git_sha", "inval": "inval_id", "files": "int:40:300"},
        steps=(
            StepSpec("install", "Install dependencies", "npm ci", "added 1432 packages in 38s", 40),
            StepSpec("lint", "Lint", "npm run lint", "> web@0.0.0 lint\n> eslint src", 15, rate=0.45, swap_next=0.4),
            StepSpec(
                "build",
                "Build the site",
                "npm run build",
                "vite v5.4.2 building for production...\ndist/index.html  0.46 kB",
                60,
            ),
            StepSpec(
                "sync",
                "Sync assets to S3",
                "aws s3 sync dist/ s3://www-example-com-site --delete --cache-control max-age=31536000",
                "upload: dist/assets/index-{sha}.js to s3://www-example-com-site/assets/index-{sha}.js",
                20,
                wrapper=0.3,
                continuation=0.3,
            ),
            StepSpec(
                "index",
                "Upload index.html without caching",
                "aws s3 cp dist/index.html s3://www-example-com-site/index.html --cache-control no-cache",
                "upload: dist/index.html to s3://www-example-com-site/index.html",
                2,
            ),
            StepSpec(
                "invalidate",
                "Invalidate CloudFront",
                "aws cloudfront create-invalidation --distribution-id E2QWRTYX5ABCDE --paths '/*'",
                '{\n    "Invalidation": {\n        "Id": "{inval}",\n        "Status": "InProgress"\n    }\n}',
                2,
            ),
            StepSpec(
                "wait",
                "Wait for the invalidation",
                "aws cloudfront wait invalidation-completed --distribution-id E2QWRTYX5ABCDE --id {inval}",
                "",
                60,
            ),
            StepSpec(
                "check",
                "Check the site",
                "curl -sI https://www.example.com/",
                "HTTP/2 200\ncontent-type: text/html\nx-cache: Miss from cloudfront",
                1,
            ),
        ),
        failures=(
            FailureMode(
                "s3-expired-token",
                "sync",
                0.2,
                "fatal error: An error occurred (ExpiredToken) when calling the ListObjectsV2 operation: "
                "The provided token has expired.",
                ("aws sso login --profile prod",),
                "aws s3 sync fails with ExpiredToken",
                "The SSO session had expired.",
            ),
            FailureMode(
                "heap",
                "build",
                0.12,
                "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
                ("export NODE_OPTIONS=--max-old-space-size=4096",),
                "vite build runs out of heap",
                "The default Node heap is too small for the build.",
            ),
        ),
        typo=("npm run biuld", 'npm ERR! Missing script: "biuld"'),
    ),
    Procedure(
        name="deployment-infrastructure",
        operation_type="deployment",
        scope="infrastructure",
        tags=("deployment", "infrastructure", "terraform"),
        slug="deployed-infrastructure-terraform",
        context="applied terraform for the prod infrastructure ({sha})",
        note_title="Deployed infrastructure changes with terraform ({sha})",
        variables={"sha": "git_sha", "lock": "uuid", "adds": "int:1:9"},
        steps=(
            StepSpec(
                "init",
                "Initialise",
                "terraform -chdir=infra/prod init -input=false",
                "Terraform has been successfully initialized!",
                15,
            ),
            StepSpec(
                "workspace", "Select workspace", "terraform -chdir=infra/prod workspace select prod", "", 2, rate=0.5
            ),
            StepSpec(
                "validate",
                "Validate",
                "terraform -chdir=infra/prod validate",
                "Success! The configuration is valid.",
                3,
                rate=0.4,
            ),
            StepSpec(
                "plan",
                "Plan",
                "terraform -chdir=infra/prod plan -input=false -out=tfplan-{sha}",
                "Plan: {adds} to add, 2 to change, 0 to destroy.",
                40,
                wrapper=0.4,
            ),
            StepSpec(
                "show",
                "Review the plan",
                "terraform -chdir=infra/prod show -no-color tfplan-{sha}",
                "Plan: {adds} to add, 2 to change, 0 to destroy.",
                3,
                rate=0.35,
            ),
            StepSpec(
                "apply",
                "Apply",
                "terraform -chdir=infra/prod apply -input=false tfplan-{sha}",
                "Apply complete! Resources: {adds} added, 2 changed, 0 destroyed.",
                150,
                wrapper=0.4,
            ),
            StepSpec(
                "output",
                "Read outputs",
                "terraform -chdir=infra/prod output -json",
                '{\n  "vpc_id": {"value": "vpc-0a1b2c3d4e5f67890"}\n}',
                3,
            ),
        ),
        failures=(
            FailureMode(
                "state-lock",
                "plan",
                0.2,
                "Error: Error acquiring the state lock\n\nLock Info:\n  ID:        {lock}\n"
                "  Path:      acme-tfstate/prod/terraform.tfstate",
                ("terraform -chdir=infra/prod force-unlock -force {lock}",),
                "terraform state lock held",
                "A cancelled CI job left the DynamoDB lock behind.",
            ),
            FailureMode(
                "throttled",
                "apply",
                0.1,
                "Error: creating EC2 Security Group Rule: RequestLimitExceeded: Request limit exceeded.",
                ("sleep 60",),
                "apply throttled by EC2 API",
                "Too many concurrent API calls.",
                journals=0,
            ),
        ),
        typo=("terrafrom -chdir=infra/prod plan", "bash: terrafrom: command not found"),
    ),
    Procedure(
        name="rollback-kubernetes",
        operation_type="rollback",
        scope="kubernetes",
        tags=("rollback", "kubernetes", "eks"),
        slug="rollback-shop-api-kubernetes",
        context="rolled back shop-api on kubernetes to revision {rev}",
        note_title="Rolled back shop-api on kubernetes (revision {rev})",
        variables={"rev": "int:20:400", "version": "semver", "pod": "hex12"},
        steps=(
            StepSpec(
                "context",
                "Switch kube context",
                f"kubectl config use-context {K8S_CONTEXT}",
                f'Switched to context "{K8S_CONTEXT}".',
                0.5,
            ),
            StepSpec(
                "history",
                "List revisions",
                "kubectl rollout history deployment/shop-api -n shop",
                "REVISION  CHANGE-CAUSE\n{rev}       release {version}",
                1.5,
            ),
            StepSpec(
                "image",
                "Check the running image",
                "kubectl get deployment shop-api -n shop -o jsonpath='{.spec.template.spec.containers[0].image}'",
                "ghcr.io/acme/shop-api:{version}",
                1.0,
                rate=0.5,
            ),
            StepSpec(
                "undo",
                "Undo to the previous revision",
                "kubectl rollout undo deployment/shop-api -n shop --to-revision={rev}",
                "deployment.apps/shop-api rolled back",
                2,
            ),
            StepSpec(
                "status",
                "Watch the rollout",
                "kubectl rollout status deployment/shop-api -n shop --timeout=300s",
                'deployment "shop-api" successfully rolled out',
                50,
            ),
            StepSpec(
                "pods",
                "Check pods",
                "kubectl get pods -n shop -l app=shop-api",
                "shop-api-{pod}   1/1     Running   0          30s",
                1.2,
            ),
            StepSpec("smoke", "Smoke check", "curl -s https://shop.example.com/healthz", '{"ok": true}', 1),
        ),
        failures=(
            FailureMode(
                "no-revision",
                "undo",
                0.15,
                "error: unable to find specified revision {rev} in history",
                ("kubectl rollout history deployment/shop-api -n shop",),
                "rollout undo cannot find the revision",
                "revisionHistoryLimit is 10; the revision was garbage-collected.",
            ),
        ),
        typo=("kubectl rollout stauts deployment/shop-api -n shop", 'error: unknown command "stauts"'),
    ),
    Procedure(
        name="incident-queue-backlog",
        operation_type="incident-response",
        scope="queue backlog",
        tags=("incident", "sqs", "queue-backlog"),
        slug="incident-queue-backlog",
        context="orders queue backlog alarm - {depth} messages waiting",
        note_title="Incident: orders queue backlog ({depth} messages)",
        variables={
            "depth": "int:5000:90000",
            "epoch": "epoch_ms",
            "count": "int:6:24",
            "req": "uuid",
            "user": "user",
            "age": "int:300:4000",
        },
        steps=(
            StepSpec(
                "depth",
                "Check queue depth",
                f"aws sqs get-queue-attributes --queue-url {QUEUE} --attribute-names "
                "ApproximateNumberOfMessages ApproximateAgeOfOldestMessage",
                '{\n    "Attributes": {\n        "ApproximateNumberOfMessages": "{depth}",\n'
                '        "ApproximateAgeOfOldestMessage": "{age}"\n    }\n}',
                1.5,
                continuation=0.3,
            ),
            StepSpec(
                "service",
                "Check the worker service",
                "aws ecs describe-services --cluster prod --services orders-worker "
                "--query 'services[0].[runningCount,desiredCount]'",
                "[\n    4,\n    4\n]",
                1.5,
                swap_next=0.3,
            ),
            StepSpec(
                "errors",
                "Search worker errors",
                "aws logs filter-log-events --log-group-name /ecs/orders-worker --start-time {epoch} "
                "--filter-pattern ERROR --max-items 50",
                '{\n    "events": [],\n    "searchedLogStreams": []\n}',
                6,
            ),
            StepSpec(
                "scale",
                "Scale out the workers",
                "aws ecs update-service --cluster prod --service orders-worker --desired-count {count}",
                '{\n    "service": {\n        "desiredCount": {count}\n    }\n}',
                2,
                wrapper=0.3,
            ),
            StepSpec(
                "stable",
                "Wait for the service to settle",
                "aws ecs wait services-stable --cluster prod --services orders-worker",
                "",
                150,
            ),
            StepSpec(
                "redrive",
                "Redrive the dead-letter queue",
                "aws sqs start-message-move-task --source-arn arn:aws:sqs:us-east-1:123456789012:orders-dlq",
                '{\n    "TaskHandle": "{req}"\n}',
                2,
                rate=0.35,
            ),
            StepSpec(
                "depth-after",
                "Check queue depth",
                f"aws sqs get-queue-attributes --queue-url {QUEUE} --attribute-names "
                "ApproximateNumberOfMessages ApproximateAgeOfOldestMessage",
                '{\n    "Attributes": {\n        "ApproximateNumberOfMessages": "12"\n    }\n}',
                1.5,
                continuation=0.3,
            ),
        ),
        failures=(
            FailureMode(
                "ecs-denied",
                "scale",
                0.15,
                "An error occurred (AccessDeniedException) when calling the UpdateService operation: User: "
                "arn:aws:sts::123456789012:assumed-role/oncall-readonly/{user} is not authorized to perform: "
                "ecs:UpdateService",
                ("aws sso login --profile prod-admin", "export AWS_PROFILE=prod-admin"),
                "UpdateService denied for the read-only on-call role",
                "The on-call shell used the read-only profile.",
                exit_code=254,
            ),
            FailureMode(
                "stable-timeout",
                "stable",
                0.15,
                "Waiter ServicesStable failed: Max attempts exceeded",
                ("aws ecs describe-services --cluster prod --services orders-worker --query 'services[0].events[:5]'",),
                "services-stable waiter gives up",
                "New tasks waited for ENIs in a full subnet.",
                exit_code=255,
            ),
        ),
        typo=(
            "aws sqs get-queue-atributes --queue-url " + QUEUE,
            "aws: error: argument operation: Invalid choice: 'get-queue-atributes'",
        ),
    ),
    Procedure(
        name="incident-certificate",
        operation_type="incident-response",
        scope="certificate renewal",
        tags=("incident", "tls", "certificate-renewal"),
        slug="incident-certificate-renewal",
        context="TLS certificate renewal for api.example.com - expires in {days} days",
        note_title="Incident: certificate renewal for api.example.com ({days} days left)",
        variables={"days": "int:1:9", "stamp": "timestamp", "serial": "hex12"},
        steps=(
            StepSpec("expiry", "Check the expiry date", OPENSSL_CHECK, "notAfter={stamp}", 1.0),
            StepSpec(
                "dry-run",
                "Dry run",
                "sudo certbot renew --cert-name api.example.com --dry-run",
                "Congratulations, all simulated renewals succeeded",
                25,
                rate=0.5,
            ),
            StepSpec(
                "renew",
                "Renew",
                "sudo certbot renew --cert-name api.example.com --force-renewal",
                "Congratulations, all renewals succeeded: /etc/letsencrypt/live/api.example.com/fullchain.pem",
                30,
            ),
            StepSpec(
                "nginx-test",
                "Test the nginx configuration",
                "sudo nginx -t",
                "nginx: configuration file /etc/nginx/nginx.conf test is successful",
                0.5,
            ),
            StepSpec("reload", "Reload nginx", "sudo systemctl reload nginx", "", 1.0),
            StepSpec("expiry-after", "Check the expiry date", OPENSSL_CHECK, "notAfter={stamp}", 1.0),
            StepSpec(
                "curl",
                "Check the served certificate",
                "curl -svo /dev/null https://api.example.com/ 2>&1 | grep -i 'expire date'",
                "*  expire date: {stamp}",
                1.0,
                rate=0.4,
            ),
        ),
        failures=(
            FailureMode(
                "challenge",
                "renew",
                0.2,
                "Challenge failed for domain api.example.com\nDetail: 203.0.113.7: Timeout during connect "
                "(likely firewall problem)",
                ("sudo ufw allow 80/tcp",),
                "certbot HTTP-01 challenge times out",
                "Port 80 was closed by the hardening playbook.",
            ),
        ),
        typo=("sudo certbot renwe --cert-name api.example.com", "certbot: error: unrecognized arguments: renwe"),
    ),
    Procedure(
        name="migration-database",
        operation_type="migration",
        scope="database",
        tags=("migration", "database", "aurora", "alembic"),
        slug="migration-aurora-schema",
        context="alembic schema migration on app-aurora prod ({rev})",
        note_title="Ran the database schema migration ({rev})",
        variables={
            "date": "date",
            "rev": "alembic_rev",
            "pid": "int:1000:65000",
            "rows": "int:1000:900000",
            "pct": "int:10:90",
        },
        steps=(
            StepSpec(
                "snapshot",
                "Snapshot the cluster",
                "aws rds create-db-cluster-snapshot --db-cluster-identifier app-aurora "
                "--db-cluster-snapshot-identifier pre-migration-{date}",
                '{\n    "DBClusterSnapshot": {\n        "Status": "creating"\n    }\n}',
                3,
                continuation=0.4,
            ),
            StepSpec(
                "snapshot-wait",
                "Wait for the snapshot",
                "aws rds wait db-cluster-snapshot-available --db-cluster-snapshot-identifier pre-migration-{date}",
                "",
                240,
            ),
            StepSpec("current", "Current revision", "alembic current", "{rev} (head)", 3, wrapper=0.5),
            StepSpec(
                "history",
                "Show pending revisions",
                "alembic history -r current:head",
                "{rev} -> head, add reports.sector",
                2,
                rate=0.4,
                wrapper=0.5,
            ),
            StepSpec(
                "upgrade",
                "Upgrade",
                "alembic upgrade head",
                "INFO  [alembic.runtime.migration] Running upgrade -> {rev}",
                45,
                wrapper=0.5,
            ),
            StepSpec("current-after", "Current revision", "alembic current", "{rev} (head)", 3, wrapper=0.5),
            StepSpec(
                "sanity",
                "Sanity query",
                "psql \"$DATABASE_URL\" -c 'select count(*) from reports'",
                " count\n-------\n {rows}\n(1 row)",
                2,
                rate=0.45,
            ),
        ),
        failures=(
            FailureMode(
                "lock-timeout",
                "upgrade",
                0.2,
                "sqlalchemy.exc.OperationalError: (psycopg2.errors.LockNotAvailable) canceling statement "
                "due to lock timeout",
                (
                    'psql "$DATABASE_URL" -c "select pid, state, query from pg_stat_activity where '
                    "wait_event_type = 'Lock'\"",
                    "psql \"$DATABASE_URL\" -c 'select pg_terminate_backend({pid})'",
                ),
                "alembic upgrade hits lock timeout",
                "A long analytics query held a lock on reports.",
            ),
            FailureMode(
                "snapshot-wait",
                "snapshot-wait",
                0.12,
                "Waiter DBClusterSnapshotAvailable failed: Max attempts exceeded",
                (
                    "aws rds describe-db-cluster-snapshots --db-cluster-snapshot-identifier pre-migration-{date} "
                    "--query 'DBClusterSnapshots[0].PercentProgress'",
                ),
                "snapshot waiter gives up",
                "Large cluster snapshots take longer than the waiter allows.",
                exit_code=255,
            ),
        ),
        typo=("alembic upgarde head", "alembic: error: argument {upgrade,...}: invalid choice: 'upgarde'"),
    ),
    Procedure(
        name="scaling-database",
        operation_type="scaling",
        scope="database",
        tags=("scaling", "database", "aurora"),
        slug="scaling-aurora-reader",
        context="added Aurora reader app-aurora-reader-{n} for read load",
        note_title="Scaling: added an Aurora reader to the database (reader {n})",
        variables={"n": "int:2:60", "start": "timestamp", "end": "timestamp", "cpu": "int:55:97"},
        steps=(
            StepSpec(
                "members",
                "List cluster members",
                "aws rds describe-db-clusters --db-cluster-identifier app-aurora "
                "--query 'DBClusters[0].DBClusterMembers'",
                '[\n    {\n        "DBInstanceIdentifier": "app-aurora-writer",\n        "IsClusterWriter": true\n'
                "    }\n]",
                1.5,
            ),
            StepSpec(
                "cpu",
                "Check reader CPU",
                "aws cloudwatch get-metric-statistics --namespace AWS/RDS --metric-name CPUUtilization "
                "--dimensions Name=DBClusterIdentifier,Value=app-aurora --start-time {start} --end-time {end} "
                "--period 300 --statistics Average",
                '{\n    "Datapoints": [\n        {\n            "Average": {cpu}.4\n        }\n    ]\n}',
                2,
                rate=0.5,
                continuation=0.5,
            ),
            StepSpec(
                "create",
                "Create the reader",
                "aws rds create-db-instance --db-instance-identifier app-aurora-reader-{n} "
                "--db-cluster-identifier app-aurora --engine aurora-postgresql --db-instance-class db.r6g.large",
                '{\n    "DBInstance": {\n        "DBInstanceStatus": "creating"\n    }\n}',
                3,
                continuation=0.5,
            ),
            StepSpec(
                "wait",
                "Wait until available",
                "aws rds wait db-instance-available --db-instance-identifier app-aurora-reader-{n}",
                "",
                540,
            ),
            StepSpec(
                "verify",
                "Verify the reader",
                "aws rds describe-db-instances --db-instance-identifier app-aurora-reader-{n} "
                "--query 'DBInstances[0].DBInstanceStatus'",
                '"available"',
                1.5,
            ),
            StepSpec(
                "members-after",
                "List cluster members",
                "aws rds describe-db-clusters --db-cluster-identifier app-aurora "
                "--query 'DBClusters[0].DBClusterMembers'",
                '[\n    {\n        "DBInstanceIdentifier": "app-aurora-reader-{n}",\n'
                '        "IsClusterWriter": false\n    }\n]',
                1.5,
            ),
        ),
        failures=(
            FailureMode(
                "instance-wait",
                "wait",
                0.2,
                "Waiter DBInstanceAvailable failed: Max attempts exceeded",
                (
                    "aws rds describe-events --source-type db-instance --source-identifier app-aurora-reader-{n} "
                    "--duration 60",
                ),
                "db-instance-available waiter gives up",
                "New readers in a busy AZ take more than 20 minutes.",
                exit_code=255,
            ),
        ),
        typo=("aws rds wiat db-instance-available", "aws: error: argument operation: Invalid choice: 'wiat'"),
    ),
    Procedure(
        name="scaling-kubernetes",
        operation_type="scaling",
        scope="kubernetes",
        tags=("scaling", "kubernetes", "eks"),
        slug="scaling-shop-api-kubernetes",
        context="scaled shop-api on kubernetes to {replicas} replicas for the sale",
        note_title="Scaling shop-api on kubernetes ({replicas} replicas)",
        variables={"replicas": "int:6:30", "nodes": "int:4:16", "asg": "hex12", "cpu": "int:50:95"},
        steps=(
            StepSpec(
                "hpa",
                "Check the autoscaler",
                "kubectl get hpa shop-api -n shop",
                "NAME       REFERENCE             TARGETS   MINPODS   MAXPODS   REPLICAS\n"
                "shop-api   Deployment/shop-api   {cpu}%/70%   3         30        4",
                1.0,
            ),
            StepSpec(
                "top",
                "Check pod load",
                "kubectl top pods -n shop -l app=shop-api",
                "NAME                        CPU(cores)   MEMORY(bytes)\nshop-api-7c9f   {cpu}0m   412Mi",
                2,
                rate=0.5,
            ),
            StepSpec(
                "nodes",
                "Scale the node group",
                "eksctl scale nodegroup --cluster prod-eks --name ng-general --nodes {nodes} --nodes-max 20",
                '[ℹ]  scaling nodegroup "ng-general" in cluster prod-eks\n[✔]  nodegroup successfully scaled',
                180,
                continuation=0.3,
            ),
            StepSpec(
                "patch",
                "Raise the autoscaler floor",
                'kubectl patch hpa shop-api -n shop --type merge -p \'{"spec":{"minReplicas":{replicas}}}\'',
                "horizontalpodautoscaler.autoscaling/shop-api patched",
                1.0,
            ),
            StepSpec(
                "scale",
                "Scale the deployment",
                "kubectl scale deployment/shop-api -n shop --replicas={replicas}",
                "deployment.apps/shop-api scaled",
                1.5,
            ),
            StepSpec(
                "rollout",
                "Watch the rollout",
                "kubectl rollout status deployment/shop-api -n shop --timeout=300s",
                'deployment "shop-api" successfully rolled out',
                40,
            ),
            StepSpec(
                "hpa-after",
                "Check the autoscaler",
                "kubectl get hpa shop-api -n shop",
                "NAME       REFERENCE             TARGETS   MINPODS   MAXPODS   REPLICAS\n"
                "shop-api   Deployment/shop-api   41%/70%   {replicas}         30        {replicas}",
                1.0,
            ),
        ),
        failures=(
            FailureMode(
                "asg-max",
                "nodes",
                0.15,
                'Error: failed to scale nodegroup for cluster "prod-eks", error: operation error '
                "Auto Scaling: UpdateAutoScalingGroup, desired capacity exceeds max size",
                (
                    "aws autoscaling update-auto-scaling-group --auto-scaling-group-name "
                    "eks-ng-general-{asg} --max-size 20",
                ),
                "eksctl scale refused - desired capacity over max",
                "The ASG max size was lower than the nodegroup max.",
            ),
        ),
        typo=("kubectl scale deployment/shop-api -n shop --replica=8", "error: unknown flag: --replica"),
    ),
)


@dataclass(frozen=True)
class OneOff:
    operation_type: str
    scope: str
    tags: tuple[str, ...]
    slug: str
    context: str
    commands: tuple[tuple[str, str], ...]


ONE_OFFS: tuple[OneOff, ...] = (
    OneOff(
        "rollback",
        "lambda",
        ("rollback", "lambda", "aws"),
        "rollback-lambda",
        "rolled back Lambda report_worker to the previous image",
        (
            (
                f"aws lambda update-function-code --function-name report_worker --image-uri "
                f"{ECR}/telegram-api@sha256:{'4e' * 32}",
                '{"LastUpdateStatus": "InProgress"}',
            ),
            ("aws lambda wait function-updated --function-name report_worker", ""),
            ("curl -s https://api.example.com/health", '{"status": "healthy"}'),
        ),
    ),
    OneOff(
        "migration",
        "search index",
        ("migration", "elasticsearch"),
        "migration-search-index",
        "migrated the products search index to a new mapping",
        (
            (
                "curl -s -X PUT https://search.internal:9200/products-v7 -H 'Content-Type: application/json' "
                "-d @mapping.json",
                '{"acknowledged": true}',
            ),
            (
                "curl -s -X POST https://search.internal:9200/_reindex -H 'Content-Type: application/json' "
                "-d @reindex.json",
                '{"took": 512344, "total": 1200345}',
            ),
            ("curl -s -X POST https://search.internal:9200/_aliases -d @swap-alias.json", '{"acknowledged": true}'),
        ),
    ),
    OneOff(
        "scaling",
        "redis cache",
        ("scaling", "redis", "elasticache"),
        "scaling-redis-cache",
        "scaled the redis cache cluster to cache.r6g.xlarge",
        (
            (
                "aws elasticache modify-replication-group --replication-group-id sessions-redis "
                "--cache-node-type cache.r6g.xlarge --apply-immediately",
                '{"Status": "modifying"}',
            ),
            ("aws elasticache wait replication-group-available --replication-group-id sessions-redis", ""),
        ),
    ),
)


# ---------------------------------------------------------------- runs


@dataclass(frozen=True)
class Call:
    command: str
    output: str
    operation: str
    seconds: float
    exit_code: int = 0
    step: str = ""
    """The truth step this call performs ("" for noise and fixes)."""
    wrapped: bool = False
    continued: bool = False
    comment: str = ""


@dataclass
class RunRecord:
    procedure: str
    index: int
    day: date
    clock: time
    values: dict[str, str]
    calls: list[Call]
    total_seconds: float
    note: bool
    steps_done: list[str]
    failures: list[str] = field(default_factory=list)
    path: str = ""


_NOISE = (
    ("ls -la", "total 48\ndrwxr-xr-x  9 dev dev 4096 .\n-rw-r--r--  1 dev dev 1204 README.md"),
    ("pwd", "/home/dev/src/app"),
    ("git status", "On branch main\nYour branch is up to date with 'origin/main'.\n\nnothing to commit"),
    ("git log --oneline -5", "4c1d2e9 fix: retry on 429\n8a7b6c5 chore: bump deps"),
    ("cat README.md", "# app\n\nSee docs/"),
    ("clear", ""),
    (
        "aws sts get-caller-identity",
        '{\n    "Account": "123456789012",\n    "Arn": "arn:aws:sts::123456789012:assumed-role/dev"\n}',
    ),
)
_COMMENTS = ("# double-check before touching prod", "# as in the runbook", "# takes a while", "# retry if flaky")


@dataclass(frozen=True)
class Hardness:
    """How rough the runs are: noise and typos typed between steps, how often independent steps swap."""

    noise_rate: float = 0.15
    typo_rate: float = 0.04
    swap_scale: float = 1.0


STANDARD = Hardness()
HARD = Hardness(noise_rate=0.35, typo_rate=0.12, swap_scale=2.5)


def _scatter(rng: random.Random, mean: float) -> float:
    value = mean * rng.lognormvariate(0.0, 0.25)
    if rng.random() < 0.04:
        value *= rng.uniform(3.0, 6.0)
    return round(max(0.1, value), 1)


def _order(procedure: Procedure, rng: random.Random, swap_scale: float = 1.0) -> list[StepSpec]:
    steps = list(procedure.steps)
    index = 0
    while index < len(steps) - 1:
        if steps[index].swap_next and rng.random() < min(0.5, steps[index].swap_next * swap_scale):
            steps[index], steps[index + 1] = steps[index + 1], steps[index]
            index += 2
        else:
            index += 1
    return steps


def simulate_run(
    procedure: Procedure, index: int, rng: random.Random, note: bool, hardness: Hardness = STANDARD
) -> RunRecord:
    """One run of a procedure: what was typed, printed and how long it took (nothing written yet)."""
    values = {name: _value(kind, rng) for name, kind in procedure.variables.items()}
    day = START_DAY + timedelta(days=rng.randrange(SPAN_DAYS))
    clock = time(rng.randint(7, 22), rng.randint(0, 59), rng.randint(0, 59))
    calls: list[Call] = []
    done: list[str] = []
    failures: list[str] = []
    modes = {mode.step: mode for mode in procedure.failures}
    for spec in _order(procedure, rng, hardness.swap_scale):
        if spec.optional and rng.random() >= spec.rate:
            continue
        if rng.random() < hardness.noise_rate:
            command, output = rng.choice(_NOISE)
            calls.append(Call(command, output, "Look around", _scatter(rng, 1.0)))
        if procedure.typo[0] and rng.random() < hardness.typo_rate:
            calls.append(Call(procedure.typo[0], procedure.typo[1], "Run command", 0.3, exit_code=127))
        wrapped = rng.random() < spec.wrapper
        continued = rng.random() < spec.continuation
        comment = rng.choice(_COMMENTS) if rng.random() < 0.1 else ""
        command = render(spec.command, values)
        mode = modes.get(spec.key)
        if mode is not None and rng.random() < mode.rate:
            failures.append(mode.key)
            calls.append(
                Call(
                    command,
                    render(mode.error, values),
                    spec.operation,
                    _scatter(rng, 3.0),
                    mode.exit_code,
                    spec.key,
                    wrapped,
                    continued,
                )
            )
            for fix in mode.fixes:
                calls.append(Call(render(fix, values), "", "Fix: " + mode.title, _scatter(rng, 8.0)))
        calls.append(
            Call(
                command,
                render(spec.output, values),
                spec.operation,
                _scatter(rng, spec.mean_seconds),
                0,
                spec.key,
                wrapped,
                continued,
                comment,
            )
        )
        done.append(spec.key)
    gaps = sum(rng.uniform(4.0, 25.0) for _ in calls)
    total = round(sum(call.seconds for call in calls) + gaps)
    return RunRecord(procedure.name, index, day, clock, values, calls, float(total), note, done, failures)


# ---------------------------------------------------------------- writing


def _fence(text: str, language: str = "") -> str:
    return f"```{language}\n{text}\n```"


def _continued(command: str) -> str:
    """Break a long command at its flags with backslash continuations."""
    parts = re.split(r" (?=--?[a-z])", command)
    if len(parts) < 3:
        return command
    head, rest = parts[0], parts[1:]
    lines = [head + " " + rest[0], *rest[1:]]
    return " \\\n  ".join(lines)


def _typed(call: Call) -> str:
    command = (WRAPPER if call.wrapped else "") + call.command
    return _continued(command) if call.continued else command


def _squashed(call: Call) -> str:
    return (WRAPPER if call.wrapped else "") + call.command


def _duration_text(rng: random.Random, seconds: float) -> str:
    if rng.random() < 0.08:
        return "{if measurable}"
    whole = round(seconds)
    if seconds < 10:
        return f"{seconds:.1f}s"
    if whole < 60:
        return f"{whole}s"
    minutes, rest = divmod(whole, 60)
    style = rng.random()
    if style < 0.6:
        return f"{minutes}m {rest:02d}s"
    if style < 0.8:
        return f"{minutes} min {rest} s"
    return f"00:{minutes:02d}:{rest:02d}"


def _total_text(rng: random.Random, seconds: float) -> str:
    if rng.random() < 0.1:
        return "{total duration}"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s" if rng.random() < 0.7 else f"{minutes} min {rest} s"


def execution_text(procedure: Procedure, run: RunRecord, rng: random.Random) -> str:
    context = render(procedure.context, run.values)
    lines = [
        "---",
        "mode: execution",
        f"date: {run.day.isoformat()}",
        f"time: {run.clock.strftime('%H:%M:%S')}",
        f"context: {context}",
        f"session_id: sess-{run.day.strftime('%Y%m%d')}-{run.index:03d}",
        f"tags: [{', '.join(procedure.tags)}]",
        "---",
        "",
        f"# Execution Observation: {context}",
        "",
        "## Tool Calls",
        "",
    ]
    moment = datetime.combine(run.day, run.clock)
    for call in run.calls:
        typed = _typed(call)
        body = f"{call.comment}\n{typed}" if call.comment else typed
        lines += [
            f"### Bash - {moment.strftime('%H:%M:%S')}",
            f"**Operation**: {call.operation}",
            "**Input**:",
            _fence(body, rng.choice(("bash", "sh"))),
            "**Output**:",
            _fence(call.output or "(no output)"),
            f"**Duration**: {_duration_text(rng, call.seconds)}",
            "",
        ]
        moment += timedelta(seconds=call.seconds + rng.uniform(4, 25))
    lines += ["## Side Effects", "", "**Commands Executed**:"]
    for call in run.calls:
        outcome = "failed" if call.exit_code else "ok"
        lines.append(f"- {_squashed(call)} - {call.exit_code} - {outcome}")
    lines += ["", "## Resource Consumption", "", f"**Time**: {_total_text(rng, run.total_seconds)}", ""]
    return "\n".join(lines)


def note_text(procedure: Procedure, run: RunRecord, rng: random.Random) -> str:
    title = render(procedure.note_title, run.values)
    minutes = max(1, round(run.total_seconds / 60))
    lines = [f"# {title}", "", f"Did it by hand from my laptop, took about {minutes} minutes.", ""]
    block: list[str] = []
    for call in run.calls:
        if call.command in {command for command, _ in _NOISE} and rng.random() < 0.7:
            continue
        typed = _typed(call)
        block.append("$ " + typed.replace("\n", "\n"))
        if call.output:
            block.extend(call.output.split("\n")[:4])
        if call.exit_code or rng.random() < 0.3:
            lines += [_fence("\n".join(block), "console"), ""]
            lines.append("That failed, fixed it and went on:" if call.exit_code else "Then:")
            lines.append("")
            block = []
    if block:
        lines += [_fence("\n".join(block), "console"), ""]
    lines.append("All good afterwards.")
    return "\n".join(lines) + "\n"


def failure_text(procedure: Procedure, mode: FailureMode, day: date, clock: time, values: dict[str, str]) -> str:
    command = next(render(step.command, values) for step in procedure.steps if step.key == mode.step)
    return "\n".join(
        [
            "---",
            "mode: failure",
            f"date: {day.isoformat()}",
            f"time: {clock.strftime('%H:%M:%S')}",
            f"context: {mode.title}",
            "severity: medium",
            "resolved: yes",
            "environment: production",
            f"tags: [{', '.join(procedure.tags)}]",
            "---",
            "",
            f"# Failure Observation: {mode.title}",
            "",
            "## Symptoms Observed",
            "",
            "The command failed during the procedure.",
            "",
            "## Error Messages",
            "",
            "### Error 1",
            _fence(render(mode.error, values)),
            "",
            "## Input State",
            "",
            "**What was attempted**:",
            _fence(command, "bash"),
            "",
        ]
    )


def journal_text(procedure: Procedure, mode: FailureMode, day: date, values: dict[str, str]) -> str:
    fixes = "\n".join(render(fix, values) for fix in mode.fixes)
    return "\n".join(
        [
            "---",
            f"title: {mode.title}",
            "category: error",
            f"date: {day.isoformat()}",
            "resolved: yes",
            f"tags: [{', '.join(procedure.tags)}]",
            "---",
            "",
            f"# {mode.title}",
            "",
            "## Symptoms",
            "",
            "**What went wrong?**",
            "",
            _fence(render(mode.error, values)),
            "",
            "## Root Cause",
            "",
            mode.cause,
            "",
            "## Solution",
            "",
            "**Code/Config Changes**:",
            _fence(f"# what fixed it\n{fixes}", "bash"),
            "",
            "## Prevention",
            "",
            "- [ ] Add a check to the runbook.",
            "",
        ]
    )


# ---------------------------------------------------------------- corpus


@dataclass(frozen=True)
class TruthStep:
    key: str
    command: str
    optional: bool
    rate: float
    mean_seconds: float


@dataclass(frozen=True)
class TruthFailure:
    key: str
    fixes: tuple[str, ...]
    occurrences: int


@dataclass(frozen=True)
class ProcedureTruth:
    name: str
    operation_type: str
    scope: str
    steps: tuple[TruthStep, ...]
    samples: tuple[dict[str, str], ...]
    """Variable values of a few runs, to check a template against real commands."""
    median_total_seconds: float
    failures: tuple[TruthFailure, ...]
    runs: int
    notes: int


@dataclass(frozen=True)
class OneOffTruth:
    operation_type: str
    scope: str
    path: str


@dataclass(frozen=True)
class CorpusTruth:
    root: Path
    procedures: tuple[ProcedureTruth, ...]
    one_offs: tuple[OneOffTruth, ...]
    runs: tuple[RunRecord, ...]


def _unique(path: Path) -> Path:
    candidate, counter = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{counter}{path.suffix}")
        counter += 1
    return candidate


def _write(root: Path, relative: str, text: str) -> str:
    path = _unique(root / relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path.relative_to(root).as_posix()


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def write_corpus(
    root: Path,
    runs_per_procedure: int,
    seed: int = 7,
    procedures: tuple[Procedure, ...] = PROCEDURES,
    note_share: float = 0.2,
    one_offs: tuple[OneOff, ...] = ONE_OFFS,
    hardness: Hardness = STANDARD,
) -> CorpusTruth:
    """Write a corpus under ``root/.claude`` and return what is true about it."""
    rng = random.Random(seed)
    truths: list[ProcedureTruth] = []
    all_runs: list[RunRecord] = []
    for procedure in procedures:
        notes = round(runs_per_procedure * note_share)
        flags = [True] * notes + [False] * (runs_per_procedure - notes)
        rng.shuffle(flags)
        runs: list[RunRecord] = []
        for index, note in enumerate(flags):
            run = simulate_run(procedure, index, rng, note, hardness)
            if note:
                relative = f".claude/observations/{run.day.isoformat()}-{procedure.slug}-notes.md"
                run.path = _write(root, relative, note_text(procedure, run, rng))
            else:
                stamp = run.clock.strftime("%H%M%S")
                relative = f".claude/observations/{run.day.isoformat()}/execution-{stamp}-{procedure.slug}.md"
                run.path = _write(root, relative, execution_text(procedure, run, rng))
            runs.append(run)
        occurrences: Counter[str] = Counter()
        for run in runs:
            for key in run.failures:
                occurrences[key] += 1
                mode = next(mode for mode in procedure.failures if mode.key == key)
                if rng.random() < mode.observation_rate:
                    day = run.day.isoformat()
                    stamp = run.clock.strftime("%H%M%S")
                    _write(
                        root,
                        f".claude/observations/{day}/failure-{stamp}-{procedure.slug}-{key}.md",
                        failure_text(procedure, mode, run.day, run.clock, run.values),
                    )
        for mode in procedure.failures:
            for _ in range(mode.journals if occurrences[mode.key] else 0):
                values = {name: _value(kind, rng) for name, kind in procedure.variables.items()}
                day = START_DAY + timedelta(days=rng.randrange(SPAN_DAYS))
                _write(
                    root,
                    f".claude/journals/error/{day.isoformat()}-{procedure.slug}-{mode.key}.md",
                    journal_text(procedure, mode, day, values),
                )
        truths.append(
            ProcedureTruth(
                name=procedure.name,
                operation_type=procedure.operation_type,
                scope=procedure.scope,
                steps=tuple(
                    TruthStep(step.key, step.command, step.optional, step.rate, step.mean_seconds)
                    for step in procedure.steps
                ),
                samples=tuple(run.values for run in runs[:3]),
                median_total_seconds=_median([run.total_seconds for run in runs]),
                failures=tuple(
                    TruthFailure(mode.key, mode.fixes, occurrences[mode.key]) for mode in procedure.failures
                ),
                runs=len(runs),
                notes=sum(run.note for run in runs),
            )
        )
        all_runs.extend(runs)
    one_off_truths: list[OneOffTruth] = []
    for one_off in one_offs:
        day = START_DAY + timedelta(days=rng.randrange(SPAN_DAYS))
        procedure = Procedure(
            name=one_off.slug,
            operation_type=one_off.operation_type,
            scope=one_off.scope,
            tags=one_off.tags,
            slug=one_off.slug,
            context=one_off.context,
            note_title=one_off.context,
            variables={},
            steps=tuple(StepSpec(f"s{i}", "Run command", c, o, 5.0) for i, (c, o) in enumerate(one_off.commands)),
        )
        run = simulate_run(procedure, 0, rng, False)
        run.day = day
        relative = f".claude/observations/{day.isoformat()}/execution-120000-{one_off.slug}.md"
        path = _write(root, relative, execution_text(procedure, run, rng))
        one_off_truths.append(OneOffTruth(one_off.operation_type, one_off.scope, path))
    return CorpusTruth(root, tuple(truths), tuple(one_off_truths), tuple(all_runs))
