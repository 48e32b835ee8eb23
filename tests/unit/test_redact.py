"""Redaction: literal input -> literal output for every kind, false-positive guards, shape, findings.

Fake secrets are assembled from pieces so this file does not itself look like a leak to scanners.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbook_synth.errors import ConfigError
from runbook_synth.models import RedactionFinding
from runbook_synth.redact import RedactedText, RedactionRules, redact_text

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


def test_two_megabytes_is_fast() -> None:
    lines = [
        f"2024-01-15T10:23:{i % 60:02d}Z INFO req={i:032x} path=/api/v1/users/{i} status=200 key=value"
        for i in range(20_000)
    ]
    lines[7_000] = f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET} && ./deploy.sh"
    text = "\n".join(lines)
    text = (text + "\n") * (2_000_000 // len(text) + 1)
    redact_text("warm up", "a.md")
    start = time.perf_counter()
    result = redact_text(text, "big.log")
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0
    assert AWS_SECRET not in result.text
    assert result.text.count("\n") == text.count("\n")


def test_pathological_runs_do_not_hang() -> None:
    for text in ("eyJ" * 200_000, "-" * 500_000, "password=" * 50_000, "\x00" * 300_000, "://:" * 100_000):
        start = time.perf_counter()
        result = redact_text(text, "a.md")
        assert time.perf_counter() - start < 2.0
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
