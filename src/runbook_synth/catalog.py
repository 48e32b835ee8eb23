"""Catalogues of tools and vocabularies, as data in one place each: what a tool needs installed, which
verbs of a tool only read, which commands watch a system, and how environments are spelled."""

from __future__ import annotations

import re

TOOL_PREREQUISITES: dict[str, str] = {
    "aws": "AWS CLI v2 configured for the target account",
    "docker": "Docker (daemon running)",
    "terraform": "Terraform CLI",
    "kubectl": "kubectl with the cluster context",
    "helm": "Helm",
    "gh": "GitHub CLI (`gh`) authenticated",
    "doppler": "Doppler CLI configured for the environment",
    "psql": "PostgreSQL client (`psql`)",
    "pg_dump": "PostgreSQL client tools (`pg_dump`)",
    "mysql": "MySQL client",
    "npm": "Node.js and npm",
    "npx": "Node.js and npm",
    "yarn": "Yarn",
    "pnpm": "pnpm",
    "alembic": "Alembic (project virtualenv)",
    "pytest": "Python test environment (`pytest`)",
    "python": "Python",
    "python3": "Python",
    "dr": "Project CLI (`dr`)",
    "jq": "jq",
    "curl": "curl",
    "sam": "AWS SAM CLI",
    "cdk": "AWS CDK",
    "gcloud": "Google Cloud SDK",
    "az": "Azure CLI",
    "redis-cli": "redis-cli",
    "openssl": "OpenSSL",
    "certbot": "certbot",
    "eksctl": "eksctl",
    "argocd": "Argo CD CLI",
    "vault": "Vault CLI",
}
"""A program a step runs → what must be installed and configured to run it."""

ACCESS_NEEDS: dict[str, str] = {
    "gh": "GitHub (access to the repository's Actions)",
    "doppler": "Doppler (read secrets for the environment)",
}
"""A program a step runs → the access it needs beyond having the tool (AWS is listed per service)."""

CHECK_VERBS: dict[str, frozenset[str]] = {
    "kubectl": frozenset({"get", "describe", "rollout", "logs", "top"}),
    "terraform": frozenset({"plan", "show", "output", "state", "validate"}),
    "alembic": frozenset({"current", "history", "heads", "check"}),
    "gh": frozenset({"run", "pr", "api"}),
    "docker": frozenset({"ps", "images", "inspect", "logs"}),
    "systemctl": frozenset({"status", "is-active"}),
    "helm": frozenset({"status", "list", "history"}),
}
"""Verbs (first argument) that only read, per program."""

AWS_CHECK_OPERATION = re.compile(r"^(?:get-|describe-|list-|head-|wait$|tail$|filter-log-events$|lookup-)")
"""AWS CLI operations that only read (`aws lambda get-function`, `aws ecs wait`)."""

AWS_MUTATING_EXCEPTIONS = frozenset({"get-login-password"})
"""Read-shaped AWS operations whose output is a credential fed to another command: not checks."""

TEST_RUNNERS = frozenset({"dr", "pytest", "npm", "make"})
"""Programs whose `test`/`smoke`/`check`/`verify` targets are checks."""

TEXT_FILTERS = frozenset(
    {"jq", "grep", "egrep", "head", "tail", "sort", "uniq", "wc", "less", "awk", "sed", "cut", "column", "tee"}
)
"""Programs that only filter text in a pipeline."""

MONITORING_COMMAND = re.compile(
    r"logs\s+tail|filter-log-events|get-metric|describe-alarms|kubectl\s+logs|kubectl\s+top|journalctl"
)
"""Commands that watch a running system; listed under Monitoring."""

ENVIRONMENT_NAMES: dict[str, str] = {
    "prod": "production",
    "prd": "production",
    "production": "production",
    "stg": "staging",
    "stage": "staging",
    "staging": "staging",
    "dev": "development",
    "develop": "development",
    "development": "development",
    "qa": "qa",
    "test": "test",
    "uat": "uat",
    "sandbox": "sandbox",
}
"""Spellings of environments → one canonical name."""

ENVIRONMENT_SPELLINGS = frozenset({"prod", "production", "prd", "staging", "stg", "dev", "development", "qa", "uat"})
"""Words that name an environment inside a command's values (not `test` or `stage`: those are verbs too)."""

CRITICAL_TYPES = frozenset({"deployment", "incident-response", "rollback"})
"""Operation types reviewed monthly by default; the others quarterly."""

COMMAND_TYPE_WORDS: dict[str, str] = {
    "deploy": "deployment",
    "release": "deployment",
    "rollback": "rollback",
    "undo": "rollback",
    "revert": "rollback",
    "downgrade": "rollback",
    "migrate": "migration",
    "alembic": "migration",
    "flyway": "migration",
    "liquibase": "migration",
    "scale": "scaling",
    "resize": "scaling",
    "autoscale": "scaling",
    "restart": "incident-response",
}
"""Verbs that CLIs use for an operation (`gcloud run deploy`, `helm rollback`, `kubectl rollout undo`,
`flyway migrate`, any `alembic` or `liquibase` command, `kubectl scale`, `gcloud container clusters
resize`, `systemctl restart`): what a run's commands say it was, weighed beside what its notes say
(`classify.operation_votes`)."""
