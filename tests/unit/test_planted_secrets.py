"""Planted secrets: every form in tests/data/secrets/planted.jsonl is masked whole, with no piece left.

The forms are data so the end-to-end tests over CLI outputs can plant the same values; the ordinary
commands below must come out byte for byte unchanged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from runbook_synth.redact import RedactionRules, redact_path, redact_text

PLANTED_FILE = Path(__file__).parents[1] / "data" / "secrets" / "planted.jsonl"


@dataclass(frozen=True)
class Planted:
    form: str
    text: str
    secret: str


def load_planted() -> list[Planted]:
    lines = PLANTED_FILE.read_text(encoding="utf-8").splitlines()
    return [Planted(**json.loads(line)) for line in lines if line.strip()]


PLANTED = load_planted()


def pieces(secret: str) -> list[str]:
    """The whole value, and for 12+ characters its first, middle and last 12: none may survive."""
    if len(secret) < 12:
        return [secret]
    middle = (len(secret) - 12) // 2
    return [secret, secret[:12], secret[middle : middle + 12], secret[-12:]]


def leaks(output: str, secret: str) -> list[str]:
    return [piece for piece in pieces(secret) if piece in output]


# How the pipeline joins a command written over `\` (or PowerShell `) continuation lines.
_CONTINUATION = re.compile(r"[ \t]*(?:\\|(?<=[ \t])`)[ \t]*\r?\n[ \t]*")


def test_the_fixture_has_at_least_60_distinct_forms_of_real_looking_values() -> None:
    forms = [p.form for p in PLANTED]
    assert len(forms) >= 60
    assert len(set(forms)) == len(forms)
    for planted in PLANTED:
        assert planted.secret in planted.text, planted.form
        assert len(planted.secret) >= 12, planted.form
    assert len({len(p.secret) for p in PLANTED}) >= 15


@pytest.mark.parametrize("planted", PLANTED, ids=[p.form for p in PLANTED])
def test_planted_secret_is_masked_whole(planted: Planted) -> None:
    result = redact_text(planted.text, "notes/run.md")
    assert leaks(result.text, planted.secret) == []
    assert "{" in result.text and result.findings
    assert result.text.count("\n") == planted.text.count("\n")
    assert planted.secret not in repr(result.findings)


@pytest.mark.parametrize("planted", PLANTED, ids=[p.form for p in PLANTED])
def test_planted_secret_is_masked_by_our_rules_alone(planted: Planted) -> None:
    result = redact_text(planted.text, "notes/run.md", RedactionRules(use_detect_secrets=False))
    assert leaks(result.text, planted.secret) == []


@pytest.mark.parametrize("planted", PLANTED, ids=[p.form for p in PLANTED])
def test_planted_secret_is_masked_in_the_joined_command(planted: Planted) -> None:
    joined = _CONTINUATION.sub(" ", planted.text)
    assert leaks(redact_text(joined, "notes/run.md").text, planted.secret) == []


@pytest.mark.parametrize("planted", PLANTED, ids=[p.form for p in PLANTED])
def test_redacting_the_output_again_changes_nothing(planted: Planted) -> None:
    once = redact_text(planted.text, "notes/run.md")
    twice = redact_text(once.text, "notes/run.md")
    assert twice.text == once.text
    assert twice.findings == ()


# Token formats, which may end up in a file name (`execution-1-<token>.md`).
PATH_FORM_NAMES = {
    "vault_login_hvs",
    "langfuse_secret_key",
    "aws_access_key_id",
    "github_pat_classic",
    "github_pat_fine",
    "gitlab_pat",
    "stripe_live",
    "openai_project_key",
    "anthropic_key",
    "npm_token",
    "huggingface_token",
    "docker_hub_pat",
}
PATH_FORMS = [p for p in PLANTED if p.form in PATH_FORM_NAMES]


@pytest.mark.parametrize("planted", PATH_FORMS, ids=[p.form for p in PATH_FORMS])
@pytest.mark.parametrize("template", ["execution-1-{}.md", "notes/{}", "journals/2026-11-23/run_{}.md", "{}.md"])
def test_a_token_in_a_file_name_is_masked(planted: Planted, template: str) -> None:
    path = template.format(planted.secret)
    shown = redact_path(path)
    assert leaks(shown, planted.secret) == []
    assert shown.endswith(".md") == path.endswith(".md")
    assert shown.count("/") == path.count("/")


def test_path_forms_are_all_in_the_fixture() -> None:
    assert len(PATH_FORMS) == len(PATH_FORM_NAMES)


UNCHANGED = [
    'mysql -h db -u app -e "SELECT id, name FROM users LIMIT 10" app',
    "mysql -u root -p app < dump.sql",
    "mysql -P 3306 -h 127.0.0.1 -u root -p",
    "docker run -d -p 8080:80 --name web nginx:1.25",
    "docker run -p 5432:5432 -e POSTGRES_PASSWORD=$PG_PASS postgres:16",
    "ssh -p 22 deploy@10.0.3.14",
    "scp -P 2222 build.tar.gz deploy@bastion:/tmp/",
    "zip -r release.zip dist/",
    "unzip -p bundle.zip manifest.json | jq .",
    'git commit -m "Rotate the DB password via SSM, not by hand"',
    "kubectl -n prod rollout status deployment/api",
    "redis-cli -h cache.internal -p 6379 INFO replication",
    "mongosh --host db1 --port 27017 -u admin -p --authenticationDatabase admin",
    'mongosh "mongodb://db1:27017/app" -u admin -p',
    'sqlcmd -S sql01 -E -Q "SELECT 1" -p',
    "htpasswd -c /etc/nginx/.htpasswd admin",
    "htpasswd -v /etc/nginx/.htpasswd admin",
    "keytool -list -v -keystore truststore.jks",
    "ssh-keygen -t ed25519 -N '' -f ~/.ssh/id_ed25519",
    'ssh-keygen -t rsa -b 4096 -N "" -C ci@acme',
    "ssh-keygen -lf ~/.ssh/id_ed25519.pub",
    "7z x backup.7z -o/srv/restore",
    "7z a -p backup.7z /srv/data",
    "openssl s_client -connect api.internal:443 -servername api.internal",
    "openssl rsa -in enc.key -passin env:KEY_PASS -out plain.key",
    "openssl rsa -in enc.key -passin file:/run/secrets/key_pass -out plain.key",
    "openssl enc -d -aes-256-cbc -in db.sql.enc -out db.sql -kfile /run/secrets/k",
    "gh secret set NPM_TOKEN < token.txt",
    "gh secret list --repo acme/api",
    "gh pr create --title fix --body 'Bump the lambda timeout to 30s'",
    "aws ssm get-parameter --name /prod/api/db_password --with-decryption --query Parameter.Value",
    "aws ssm put-parameter --name /prod/api/replicas --type String --value 3 --overwrite",
    "aws ssm put-parameter --name /prod/api/db_password --value file://pw.txt --type SecureString",
    "vault login -method=oidc role=admin",
    "vault login -method=userpass username=ops",
    "vault login",
    "vault login -address https://vault.internal:8200 -method=github",
    "vault login -namespace admin -method=oidc",
    "az login --use-device-code",
    "az login --identity",
    "smbclient -L fs01 -N",
    "smbclient //fs01/backups -U svc_backup",
    "curl -u admin https://grafana.internal/api/health",
    'curl -u "$GRAFANA_USER:$GRAFANA_PASS" https://grafana.internal/api/health',
    "curl -sS https://api.internal:8443/v1/status",
    "docker pull localhost:5000/app@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "npm install git+https://github.com/acme/lib.git#v1.2.0",
    "https://registry.npmjs.org:443/@acme/pkg",
    "echo $DOCKER_PASS | docker login -u ci --password-stdin ghcr.io",
    "docker login ghcr.io",
    "sshpass -e ssh deploy@host",
    "java -Dspring.profiles.active=prod -Dserver.port=8080 -jar app.jar",
    "java -Dspring.datasource.password=${DB_PASSWORD} -jar app.jar",
    "Password: !Ref DbPassword",
    "db_password: !secret db_password",
    "password: *dbpw",
    "password: !vault |",
    "| Setting | Description |",
    "| DB_PASSWORD | The password of the app user, from SSM |",
    "| api_key | required |",
    "│ NAME        │ VALUE        │ NOTE │",
    "token_duration       768h",
    'token_policies       ["default"]',
    "Key         Value",
    '{"Name": "/prod/api/replicas", "Type": "String", "Value": "3"}',
    '{"name": "LOG_LEVEL", "value": "info"}',
    '"Value": "${DB_PASSWORD}"',
    "- Access Key ID: see the vault entry",
    "- Step 2: rotate the password",
    "* **Owner**: platform-team",
    "rabbitmqctl add_user metrics",
    "rabbitmqctl list_users",
    "net start w32time",
    "ldapsearch -x -H ldap://ldap.corp -b dc=corp '(uid=jdoe)'",
    "ldapsearch -x -W -D cn=admin,dc=corp -b dc=corp",
    "lftp -u deploy sftp://files.partner.com",
    "skopeo copy docker://quay.io/acme/api:1.4 docker://registry.internal/api:1.4",
    """curl -H 'Content-Type: application/json' -d '{"replicas": 3}' https://api.internal/scale""",
    "aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin "
    "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    "docker build \\\n  -t api:1.4 \\\n  -f Dockerfile \\\n  .",
    "mysql -h db.internal \\\n  -u root \\\n  -p \\\n  app < schema.sql",
]


@pytest.mark.parametrize("text", UNCHANGED)
def test_ordinary_commands_stay_unchanged(text: str) -> None:
    result = redact_text(text, "notes/run.md")
    assert result.text == text
    assert result.findings == ()


@pytest.mark.parametrize(
    "path",
    [
        ".claude/observations/2026-09-10/execution-143152-deployed-lambda.md",
        ".claude/journals/2026-11-02-token-rotation-failed.md",
        "archive/2026-Q3/execution-090000-rotate-api-key.md",
    ],
)
def test_ordinary_paths_stay_unchanged(path: str) -> None:
    assert redact_path(path) == path
