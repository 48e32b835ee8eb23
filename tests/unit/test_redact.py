"""Redaction: literal input -> literal output for every kind, false-positive guards, shape, findings.

Fake secrets are assembled from pieces so this file does not itself look like a leak to scanners.
"""

from __future__ import annotations

import importlib
import logging
import re
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbook_synth import redact
from runbook_synth.credential_rules import CREDENTIAL_RULES, CredentialRule, ValueForm
from runbook_synth.errors import ConfigError
from runbook_synth.models import RedactionFinding
from runbook_synth.redact import RedactedText, RedactionRules, redact_path, redact_text

AWS_ID = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
SESSION = "IQoJb3JpZ2luX2VjEJr//////////" + "wEaCXVzLWVhc3QtMSJHMEUCIQDexample"
GHP = "ghp_" + "0123456789abcdefghijABCDEFGHIJ012345"
GH_PAT = (
    "github_pat_" + "11ABCDEFG0123456789_" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg"
)
GLPAT = "glpat-" + "AbCdEfGhIjKlMnOpQrSt"
SLACK = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    + ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)
STRIPE = "sk_" + "live_" + "0123456789abcdefABCDEFGH"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
NO_DS = RedactionRules(use_detect_secrets=False)


def red(text: str, rules: RedactionRules = NO_DS) -> str:
    return redact_text(text, "notes/x.md", rules).text


CASES = [
    # AWS
    (f"export AWS_ACCESS_KEY_ID={AWS_ID}", "export AWS_ACCESS_KEY_ID={aws_access_key_id}"),
    (f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}", "export AWS_SECRET_ACCESS_KEY={aws_secret_access_key}"),
    (f"aws_secret_access_key = {AWS_SECRET}", "aws_secret_access_key = {aws_secret_access_key}"),
    (f'"SecretAccessKey": "{AWS_SECRET}",', '"SecretAccessKey": "{aws_secret_access_key}",'),
    (
        f"aws configure set aws_secret_access_key {AWS_SECRET}",
        "aws configure set aws_secret_access_key {aws_secret_access_key}",
    ),
    (f"AWS_SESSION_TOKEN={SESSION}", "AWS_SESSION_TOKEN={aws_session_token}"),
    (f'"SessionToken": "{SESSION}"', '"SessionToken": "{aws_session_token}"'),
    # GitHub, GitLab, Slack
    (f"export GITHUB_TOKEN={GHP}", "export GITHUB_TOKEN={github_token}"),
    (f"gh auth status -t {GH_PAT}", "gh auth status -t {github_token}"),
    (
        f"git clone https://x-access-token:{GHP}@github.com/o/r",
        "git clone https://x-access-token:{github_token}@github.com/o/r",
    ),
    (
        f'curl -H "PRIVATE-TOKEN: {GLPAT}" https://gitlab/api',
        'curl -H "PRIVATE-TOKEN: {gitlab_token}" https://gitlab/api',
    ),
    (f"SLACK_BOT={SLACK}", "SLACK_BOT={slack_token}"),
    (
        "curl -d @m.json https://hooks.slack.com/services/T00000000/B00000000/" + "X" * 24,
        "curl -d @m.json https://hooks.slack.com/services/{slack_webhook}",
    ),
    # JWT, Stripe
    (f"id_token={JWT} ok", "id_token={jwt} ok"),
    (f"echo {JWT}", "echo {jwt}"),
    (f"stripe login --api-key {STRIPE}", "stripe login --api-key {stripe_key}"),
    # URLs
    ("psql postgres://app:hunter2@db/app", "psql postgres://app:{password}@db/app"),
    ("redis-cli -u redis://:s3cret@cache:6379/0", "redis-cli -u redis://:{password}@cache:6379/0"),
    (
        "jdbc:mysql://db:3306/app?user=app&password=s3cret&ssl=true",
        "jdbc:mysql://db:3306/app?user=app&password={password}&ssl=true",
    ),
    ("curl -u admin:hunter2 https://x/api", "curl -u admin:{password} https://x/api"),
    # Authorization headers
    (
        'curl -H "Authorization: Bearer abc123def456ghi789" https://api',
        'curl -H "Authorization: Bearer {token}" https://api',
    ),
    (
        "curl -H 'Authorization: Basic dXNlcjpwYXNzd29yZA==' https://api",
        "curl -H 'Authorization: Basic {token}' https://api",
    ),
    ("Authorization: token 0123456789abcdef0123", "Authorization: token {token}"),
    (f"Authorization: Bearer {JWT}", "Authorization: Bearer {jwt}"),
    # flags and -p
    ("psql --password hunter2 --host db", "psql --password {password} --host db"),
    ("app --password=hunter2", "app --password={password}"),
    ("vault login --token s.AbCdEf123456", "vault login --token {token}"),
    ("tool --secret 'x y z' --api-key \"k-123\"", "tool --secret '{secret}' --api-key \"{api_key}\""),
    (
        "oidc --client-secret s3cr3t --db-password=pw1",
        "oidc --client-secret {client_secret} --db-password={db_password}",
    ),
    ("mysql -u root -pS3cret db", "mysql -u root -p{password} db"),
    ("mysqldump -h db -u root -p'S3 cret' app > a.sql", "mysqldump -h db -u root -p'{password}' app > a.sql"),
    ("docker login -u AWS -p eyJwYXlsb2FkIjoiQUJDIn0abcdef 1.dkr.ecr", "docker login -u AWS -p {password} 1.dkr.ecr"),
    ("sshpass -p 'pa ss' ssh host", "sshpass -p '{password}' ssh host"),
    (
        "openssl pkcs12 -export -passout pass:s3cret -out a.p12",
        "openssl pkcs12 -export -passout pass:{password} -out a.p12",
    ),
    # variables and keys
    ("export FOO_TOKEN=abcd1234", "export FOO_TOKEN={foo_token}"),
    ("FOO_PASSWORD=hunter2 ./run.sh", "FOO_PASSWORD={foo_password} ./run.sh"),
    ("password: hunter2", "password: {password}"),
    ('  db_password: "hunter 2"  # prod', '  db_password: "{db_password}"  # prod'),
    ('{"api_key": "abc123xyz", "user": "me"}', '{"api_key": "{api_key}", "user": "me"}'),
    ("{'clientSecret': 'abc'}", "{'clientSecret': '{client_secret}'}"),
    ("db.password = hunter2", "db.password = {db_password}"),
    ("Server=db;User Id=sa;Password=S3cr3t!;Database=app", "Server=db;User Id=sa;Password={password};Database=app"),
    (
        "kubectl create secret generic db --from-literal=password=hunter2",
        "kubectl create secret generic db --from-literal=password={password}",
    ),
    ("-e DB_PASS=hunter2", "-e DB_PASS={db_pass}"),
    (
        '"SecretString": "{\\"username\\":\\"admin\\",\\"password\\":\\"hunter2\\"}"',
        '"SecretString": "{\\"username\\":\\"admin\\",\\"password\\":\\"{password}\\"}"',
    ),
    ('curl -H "X-Api-Key: abc123" https://api', 'curl -H "X-Api-Key: {x_api_key}" https://api'),
    ("AccountKey: " + "Zm9vYmFy" * 11, "AccountKey: {account_key}"),
    ("--key 8f3kXq92LmZpW7vNc4TbYs1R", "--key {key}"),
    ("machine api.example.com login me password hunter2", "machine api.example.com login me password {password}"),
    ('echo "::add-mask::supersecret"', 'echo "::add-mask::{secret}"'),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_masks_each_kind_keeping_the_shape(text: str, expected: str) -> None:
    assert red(text) == expected


UNCHANGED = [
    "aws lambda update-function-code --function-name report_worker --image-uri "
    f"123456789012.dkr.ecr.us-east-1.amazonaws.com/telegram-api@sha256:{SHA}",
    f"docker pull nginx@sha256:{SHA}",
    "docker run -p 8080:80 nginx",
    "docker run -u 1000:1000 -p 80:80 img",
    "git log -p",
    "mysql -u root -p db",
    "ssh -p 2222 host",
    "terraform force-unlock 6f1c2b4a-1234-4cde-9abc-0123456789ab",
    "git checkout 3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
    """aws dynamodb delete-item --table-name tf-locks --key '{"LockID": {"S": "bucket/path"}}'""",
    "aws s3api get-object --bucket b --key reports/2024/q1.csv out.csv",
    "aws secretsmanager get-secret-value --secret-id prod/db/password",
    "echo $PASS | docker login --password-stdin -u AWS 1.dkr.ecr",
    "KeyName: web-server",
    "primary_key: id",
    "token_type: Bearer",
    "NextToken: abc123",
    "max_tokens: 100",
    "secretName: db-creds",
    "PASSWORD=${DB_PASSWORD}",
    "PASSWORD=$DB_PASSWORD",
    "TOKEN=$(vault read -field=token secret/x)",
    "password: <your-password>",
    "password: ***",
    "token: REDACTED",
    "password: ''",
    "password: null",
    "enabled: true",
    "PWD=/home/ubuntu/app",
    "ansible-playbook --private-key ./deploy.pem site.yml",
    "ssh -i ~/.ssh/id_rsa user@host",
    "postgres://app@db/app and https://example.com:8443/path",
    "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
    "https://hooks.slack.com/services/{slack_webhook}",
    "The password policy requires rotation; see the runbook.",
    "-----BEGIN CERTIFICATE-----",
    "",
]


@pytest.mark.parametrize("text", UNCHANGED)
def test_leaves_ordinary_text_alone(text: str) -> None:
    result = redact_text(text, "x.md")
    assert result.text == text
    assert result.findings == ()


def test_private_key_block_keeps_markers_and_line_count() -> None:
    body1 = "MIIEowIBAAKCAQEAx4UbaDzY3fJmLbqpZ0yA7oTQYkYHhPK3hqB5nFZd4FZr8Gj1"
    body2 = "Kx9LmZpW7vNc4TbYs1RaBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdefgh"
    text = (
        "cat > key.pem <<KEY\n"
        "-----BEGIN RSA PRIVATE KEY-----\n"
        f"{body1}\n"
        f"  {body2}\n"
        "\n"
        "-----END RSA PRIVATE KEY-----\n"
        "KEY\n"
    )
    result = redact_text(text, "k.md", first_line=10)
    assert result.text == (
        "cat > key.pem <<KEY\n"
        "-----BEGIN RSA PRIVATE KEY-----\n"
        "{private_key}\n"
        "  {private_key}\n"
        "\n"
        "-----END RSA PRIVATE KEY-----\n"
        "KEY\n"
    )
    assert result.findings == (RedactionFinding("k.md", 12, "private_key"),)


def test_private_key_on_one_line_with_escapes() -> None:
    text = (
        '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC'
        '\\nAbCdEf==\\n-----END PRIVATE KEY-----\\n", "client_email": "a@b.iam"}'
    )
    assert red(text) == (
        '{"private_key": "-----BEGIN PRIVATE KEY-----\\n{private_key}\\n-----END PRIVATE KEY-----\\n",'
        ' "client_email": "a@b.iam"}'
    )


def test_private_key_without_end_marker_stops_at_the_last_key_line() -> None:
    text = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9u\n(truncated)\n"
    assert red(text) == "-----BEGIN OPENSSH PRIVATE KEY-----\n{private_key}\n(truncated)\n"


def test_findings_name_path_line_and_kind_never_the_value() -> None:
    text = f"step 1\nexport AWS_ACCESS_KEY_ID={AWS_ID}\n\npsql postgres://app:hunter2@db/app\r\nmysql -pS3cret\n"
    result = redact_text(text, "notes/run.md", first_line=5)
    assert result.findings == (
        RedactionFinding("notes/run.md", 6, "aws_access_key_id"),
        RedactionFinding("notes/run.md", 8, "password"),
        RedactionFinding("notes/run.md", 9, "password"),
    )
    for secret in (AWS_ID, "hunter2", "S3cret"):
        assert secret not in repr(result)
    assert result.text.count("\n") == text.count("\n")
    assert result.text.splitlines() == [
        "step 1",
        "export AWS_ACCESS_KEY_ID={aws_access_key_id}",
        "",
        "psql postgres://app:{password}@db/app",
        "mysql -p{password}",
    ]


def test_allowlist_keeps_listed_values() -> None:
    rules = RedactionRules(allowlist=("not-a-secret", AWS_ID))
    text = f"export API_TOKEN=not-a-secret\nexport AWS_ACCESS_KEY_ID={AWS_ID}\nexport B_TOKEN=real1"
    result = redact_text(text, "a.md", rules)
    assert (
        result.text == f"export API_TOKEN=not-a-secret\nexport AWS_ACCESS_KEY_ID={AWS_ID}\nexport B_TOKEN={{b_token}}"
    )
    assert [f.kind for f in result.findings] == ["b_token"]


def test_extra_patterns_mask_the_match_or_the_secret_group() -> None:
    rules = RedactionRules(
        extra_patterns=(
            ("Ticket ID", r"SEC-\d{4,}"),
            ("pin", r"PIN (?P<secret>\d{4})\b"),
            ("block", r"BEGIN\nMIDDLE\nEND"),
        )
    )
    text = "opened SEC-12345 today\ncard PIN 1234 ok\nBEGIN\nMIDDLE\nEND\n"
    result = redact_text(text, "a.md", rules)
    assert result.text == "opened {ticket_id} today\ncard PIN {pin} ok\n{block}\n{block}\n{block}\n"
    assert [(f.line, f.kind) for f in result.findings] == [(1, "ticket_id"), (2, "pin"), (3, "block")]


def test_invalid_extra_pattern_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="broken"):
        redact_text("x", "a.md", RedactionRules(extra_patterns=(("broken", "(unclosed"),)))


def test_detect_secrets_is_a_second_opinion() -> None:
    twilio = "AC" + "0123456789abcdef" * 2
    text = f"export TWILIO_SID_X={twilio}\nnothing here\n"
    assert red(text) == text
    result = redact_text(text, "a.md")
    assert result.text == "export TWILIO_SID_X={twilio_api_key}\nnothing here\n"
    assert result.findings == (RedactionFinding("a.md", 1, "twilio_api_key"),)


def test_redacting_twice_changes_nothing() -> None:
    for text, _ in CASES:
        once = redact_text(text, "a.md")
        twice = redact_text(once.text, "a.md")
        assert twice.text == once.text
        assert twice.findings == ()


def test_pathological_runs_do_not_hang() -> None:
    for text in ("eyJ" * 200_000, "-" * 500_000, "password=" * 50_000, "\x00" * 300_000, "://:" * 100_000):
        start = time.perf_counter()
        result = redact_text(text, "a.md")
        assert time.perf_counter() - start < 30.0, "a hang guard, not a speed target (that is `make bench`)"
        assert result.text.count("\n") == text.count("\n")


_FRAGMENTS = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["\x00", "\r\n", "\n", "\r", "\u2028", "\x0b", "\x1c", "=", ":", "@", '"', "'", " -p", " --"]),
    st.sampled_from(["password", "token", "AKIA", "eyJ", "-----BEGIN RSA PRIVATE KEY-----", "://u:", "{x}", "mysql"]),
)
_TEXT = st.lists(_FRAGMENTS, max_size=60).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXT, huge=st.integers(min_value=0, max_value=3))
def test_never_raises_and_keeps_every_line(text: str, huge: int) -> None:
    if huge == 3:
        text = text + "x" * 70_000 + text
    result = redact_text(text, "p.md")
    assert isinstance(result, RedactedText)
    assert result.text.count("\n") == text.count("\n")
    assert len(result.text.splitlines()) == len(text.splitlines())
    for finding in result.findings:
        assert 1 <= finding.line <= text.count("\n") + 1


# ---------------------------------------------------------------------------------------------------------
# Issue 8: credential flags of other CLIs, continuation lines, CLI output shapes, documents, file names.

PW = "Xk9mP2qR7w"

NEW_CASES = [
    # the credential-flag table (credential_rules.py)
    (
        f"java -Dspring.datasource.password={PW} -jar app.jar",
        "java -Dspring.datasource.password={spring_datasource_password} -jar app.jar",
    ),
    (
        f"keytool -importcert -file ca.crt -keystore trust.jks -storepass {PW} -noprompt",
        "keytool -importcert -file ca.crt -keystore trust.jks -storepass {password} -noprompt",
    ),
    (f"redis-cli -h cache -p 6379 -a {PW} PING", "redis-cli -h cache -p 6379 -a {password} PING"),
    ("mongosh --host db1 -u admin -p 'Xk9 mP2qR7w'", "mongosh --host db1 -u admin -p '{password}'"),
    (
        f"az login --service-principal -u app-id -p {PW} --tenant t1",
        "az login --service-principal -u app-id -p {password} --tenant t1",
    ),
    (f'sqlcmd -S sql01 -U sa -P {PW} -Q "SELECT 1"', 'sqlcmd -S sql01 -U sa -P {password} -Q "SELECT 1"'),
    (f"htpasswd -bc /etc/nginx/.htpasswd admin {PW}", "htpasswd -bc /etc/nginx/.htpasswd admin {password}"),
    (f"smbclient //fs01/b -U 'CORP\\svc%{PW}' -c ls", "smbclient //fs01/b -U 'CORP\\svc%{password}' -c ls"),
    ("vault login " + "hvs." + "CAESIJqYf7tQk2nR8mZp0LxWvB3s", "vault login {vault_token}"),
    ("vault login s.Xk9mP2qR7wAbCdEfGhIjKl", "vault login {vault_token}"),
    (
        f"openssl pkcs12 -export -out b.p12 -password pass:{PW}",
        "openssl pkcs12 -export -out b.p12 -password pass:{password}",
    ),
    (f"openssl enc -aes-256-cbc -in a -out a.enc -k {PW}", "openssl enc -aes-256-cbc -in a -out a.enc -k {password}"),
    (f"zip -r -P {PW} logs.zip logs/", "zip -r -P {password} logs.zip logs/"),
    (f"7z a -p{PW} -mhe=on b.7z data/", "7z a -p{password} -mhe=on b.7z data/"),
    (f"ssh-keygen -t ed25519 -N '{PW}' -f deploy_key", "ssh-keygen -t ed25519 -N '{passphrase}' -f deploy_key"),
    (f"gh secret set SENTRY_TOKEN --body {PW}", "gh secret set SENTRY_TOKEN --body {secret}"),
    (
        f"aws ssm put-parameter --name /prod/db/password --type SecureString --value {PW}",
        "aws ssm put-parameter --name /prod/db/password --type SecureString --value {secret}",
    ),
    (f"curl --oauth2-bearer {PW}AbCdEf https://api", "curl --oauth2-bearer {token} https://api"),
    (f"curl -u 'deploy:{PW}' https://nexus", "curl -u 'deploy:{password}' https://nexus"),
    (f"rabbitmqctl add_user metrics {PW}", "rabbitmqctl add_user metrics {password}"),
    (
        f"ldapsearch -x -D cn=admin,dc=corp -w {PW} -b dc=corp",
        "ldapsearch -x -D cn=admin,dc=corp -w {password} -b dc=corp",
    ),
    (
        f"skopeo copy --src-creds robot:{PW} docker://a docker://b",
        "skopeo copy --src-creds robot:{password} docker://a docker://b",
    ),
    (
        f"kubectl exec -it mysql-0 -- bash -c \"mysql -uroot -p{PW} -e 'SHOW DATABASES'\"",
        "kubectl exec -it mysql-0 -- bash -c \"mysql -uroot -p{password} -e 'SHOW DATABASES'\"",
    ),
    (f'{{"cmd": "docker login -u ci -p {PW} ghcr.io"}}', '{"cmd": "docker login -u ci -p {password} ghcr.io"}'),
    # CLI output: SSM, terraform, ECS/k8s env, vault kv get, docker config
    (
        f'{{"Name": "/prod/db/password", "Type": "SecureString", "Value": "{PW}"}}',
        '{"Name": "/prod/db/password", "Type": "SecureString", "Value": "{password}"}',
    ),
    (
        f'{{"Name": "/prod/app/signing", "Type": "SecureString", "Value": "{PW}"}}',
        '{"Name": "/prod/app/signing", "Type": "SecureString", "Value": "{secret}"}',
    ),
    (
        f'{{"db_password": {{"sensitive": true, "type": "string", "value": "{PW}"}}}}',
        '{"db_password": {"sensitive": true, "type": "string", "value": "{db_password}"}}',
    ),
    (f"- name: DB_PASSWORD\n  value: {PW}", "- name: DB_PASSWORD\n  value: {db_password}"),
    (
        f"Key         Value\n---         -----\npassword    {PW}\nusername    app",
        "Key         Value\n---         -----\npassword    {password}\nusername    app",
    ),
    ('"auth": "Y2ktYm90OlhrOW1QMnFSN3c="', '"auth": "{auth}"'),
    (
        "  .dockerconfigjson: eyJhdXRocyI6eyJnaGNyLmlvIjp7ImF1dGgiOiJZMmt0In19fQ==",
        "  .dockerconfigjson: {docker_config}",
    ),
    # headers and URLs
    (f"Authorization:\u00a0Bearer {PW}AbCdEf", "Authorization:\u00a0Bearer {token}"),
    ("postgres://app:Xk9m/P2qR7w@db:5432/app", "postgres://app:{password}@db:5432/app"),
    ("postgres://app:p@ss@db/app", "postgres://app:{password}@db/app"),
    # YAML tags and anchors
    (f"db_password: &pw {PW}", "db_password: &pw {db_password}"),
    (f"db_password: !!str {PW}", "db_password: !!str {db_password}"),
    (f"password: !tag {PW}", "password: !tag {password}"),
    (f"password: !{PW}", "password: {password}"),
    # token formats
    ("LANGFUSE_SECRET=" + "sk-lf-" + "1f88f508-0335-41a2-bd71-6cd2236c8883", "LANGFUSE_SECRET={langfuse_secret_key}"),
    ("public: " + "pk-lf-" + "1f88f508-0335-41a2-bd71-6cd2236c8883", "public: {langfuse_public_key}"),
    # documents: markdown tables, doppler tables, bullets
    (f"| DB_PASSWORD | {PW} |", "| DB_PASSWORD | {db_password} |"),
    (f"| prod | `API_TOKEN` | `{PW}` |", "| prod | `API_TOKEN` | `{api_token}` |"),
    (f"│ DB_PASSWORD │ {PW} │         │", "│ DB_PASSWORD │ {db_password} │         │"),
    (f"- Secret Key: {PW}AbCdEf", "- Secret Key: {secret_key}"),
    (f"* **Admin password**: {PW}", "* **Admin password**: {admin_password}"),
    (f"1. API token: `{PW}`", "1. API token: `{api_token}`"),
]


@pytest.mark.parametrize(("text", "expected"), NEW_CASES)
def test_masks_the_forms_of_issue_8_keeping_the_shape(text: str, expected: str) -> None:
    assert red(text) == expected


CONTINUED = [
    (
        f"docker login \\\n  -u ci \\\n  -p {PW} \\\n  ghcr.io",
        "docker login \\\n  -u ci \\\n  -p {password} \\\n  ghcr.io",
    ),
    (f"mysql -h db \\\n  -u root \\\n  -p{PW} \\\n  app", "mysql -h db \\\n  -u root \\\n  -p{password} \\\n  app"),
    (
        f"curl -X POST \\\r\n  -u admin:{PW} \\\r\n  https://grafana/api",
        "curl -X POST \\\r\n  -u admin:{password} \\\r\n  https://grafana/api",
    ),
    (f"$ docker login \\\n>   -p {PW} ghcr.io", "$ docker login \\\n>   -p {password} ghcr.io"),
    (
        f"helm repo add acme https://charts \\\n  --password \\\n  {PW}",
        "helm repo add acme https://charts \\\n  --password \\\n  {password}",
    ),
    (f"sqlcmd -S sql01 `\n  -U sa `\n  -P {PW}", "sqlcmd -S sql01 `\n  -U sa `\n  -P {password}"),
]


@pytest.mark.parametrize(("text", "expected"), CONTINUED)
def test_commands_over_continuation_lines_are_masked_raw_and_joined(text: str, expected: str) -> None:
    assert red(text) == expected
    joined = re.sub(r"[ \t]*(?:\\|`)\r?\n>?[ \t]*", " ", text)
    assert PW not in red(joined)
    assert red(joined) == re.sub(r"[ \t]*(?:\\|`)\r?\n>?[ \t]*", " ", expected)


def test_a_continued_command_reports_the_line_of_the_secret() -> None:
    text = f"notes\n```\ndocker login \\\n  -u ci \\\n  -p {PW} \\\n  ghcr.io\n```\n"
    result = redact_text(text, "n.md", NO_DS, first_line=3)
    assert result.findings == (RedactionFinding("n.md", 7, "password"),)


def test_credential_rules_are_data_a_new_cli_is_one_line() -> None:
    text = f"acmectl deploy --pin {PW} --region eu"
    assert red(text) == text
    rules = RedactionRules(
        use_detect_secrets=False,
        credential_rules=(*CREDENTIAL_RULES, CredentialRule("acmectl deploy", "--pin", ValueForm.NEXT)),
    )
    assert red(text, rules) == "acmectl deploy --pin {password} --region eu"


def test_a_flag_counts_only_after_its_program_and_subcommand() -> None:
    assert red(f"docker run -p {PW} img login") == f"docker run -p {PW} img login"
    assert red(f"redis-cli -p {PW}") == f"redis-cli -p {PW}"
    assert red(f"sqlcmd -S db -p {PW}") == f"sqlcmd -S db -p {PW}"


def test_yaml_that_fails_to_parse_echoes_no_secret() -> None:
    frontmatter = f"title: rotate\npassword: !tag {PW}\napi_key: !{PW}\n"
    redacted = red(frontmatter)
    with pytest.raises(yaml.YAMLError) as raised:
        yaml.safe_load(redacted)
    assert PW not in str(raised.value)
    assert PW not in redacted


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("execution-1-" + GHP + ".md", "execution-1-{github_token}.md"),
        (
            ".claude/observations/2026-11-23/run_" + AWS_ID + ".md",
            ".claude/observations/2026-11-23/run_{aws_access_key_id}.md",
        ),
        ("notes/" + GLPAT + "/x.md", "notes/{gitlab_token}/x.md"),
        (
            ".claude/observations/2026-09-10/execution-143152-deployed-lambda.md",
            ".claude/observations/2026-09-10/execution-143152-deployed-lambda.md",
        ),
    ],
)
def test_redact_path_masks_a_secret_in_a_file_name(path: str, expected: str) -> None:
    assert redact_path(path, NO_DS) == expected


def test_a_detect_secrets_plugin_that_fails_to_load_is_reported_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_import = importlib.import_module

    def broken_twilio(name: str, package: str | None = None) -> object:
        if name == "detect_secrets.plugins.twilio":
            raise ImportError("No module named 'detect_secrets.plugins.twilio'")
        return real_import(name, package)

    redact._ds_plugins.cache_clear()
    monkeypatch.setattr(importlib, "import_module", broken_twilio)
    try:
        with caplog.at_level(logging.WARNING, logger="runbook_synth.redact"):
            redact_text("export A=1\n", "a.md")
            redact_text("export B=2\n", "b.md")
        warnings = [r for r in caplog.records if "detect-secrets" in r.getMessage()]
        assert len(warnings) == 1
        assert "TwilioKeyDetector" in warnings[0].getMessage()
        assert "1 of 17" in warnings[0].getMessage()
    finally:
        monkeypatch.undo()
        redact._ds_plugins.cache_clear()


def test_last_line_of_a_continued_command_followed_by_another_is_searched_joined() -> None:
    text = (
        "helm repo add acme https://charts.acme.io \\\n  --username ci --password \\\n  zIsEw=phqx76.RJ\n"
        "keytool -import \\\n  -keystore trust.jks \\\n  -storepass xLZtINLRjBv0rGgIkkBb\n"
    )
    result = redact_text(text, "a.md")
    assert "zIsEw" not in result.text and "xLZtINLR" not in result.text
    assert result.text.count("\n") == text.count("\n")
