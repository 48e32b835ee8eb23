import time

from runbook_synth.shell import (
    is_console_language,
    is_noise,
    is_shell_block,
    is_shell_language,
    looks_like_command,
    program_of,
    split_block,
    strip_wrappers,
    words,
)


def test_console_block_splits_prompts_and_output() -> None:
    block = (
        '$ aws lambda update-function-code \\\n    --function-name report_worker\n{\n  "State": "Active"\n}\n$ ls\na b'
    )
    commands = split_block(block, console=True)
    assert [c.command for c in commands] == [
        "aws lambda update-function-code --function-name report_worker",
        "ls",
    ]
    assert commands[0].output == '{\n  "State": "Active"\n}'
    assert commands[1].line_offset == 5


def test_bash_block_drops_comments_and_keeps_expected_lines() -> None:
    block = (
        "# build the image\ndocker build -t api:abc1234 .  # tag by sha\n# Expected: Successfully built\n\nmake deploy"
    )
    commands = split_block(block)
    assert [c.command for c in commands] == ["docker build -t api:abc1234 .", "make deploy"]
    assert commands[0].expected == "Successfully built"
    assert commands[1].line_offset == 4


def test_hash_inside_quotes_is_not_a_comment() -> None:
    assert split_block("echo 'a # b' # c")[0].command == "echo 'a # b'"


def test_progress_output_is_not_a_prompt() -> None:
    commands = split_block("$ npm ci\n100% |#####| done\nadded 1200 packages", console=True)
    assert [c.command for c in commands] == ["npm ci"]
    assert "100%" in commands[0].output


def test_wrappers_are_stripped_for_comparison() -> None:
    assert (
        strip_wrappers("ENV=prod doppler run -- aws lambda wait function-updated") == "aws lambda wait function-updated"
    )
    assert strip_wrappers("doppler run --config prd -- terraform apply") == "terraform apply"
    assert program_of("sudo time docker ps") == "docker"


def test_noise_commands() -> None:
    assert is_noise("ls -la") and is_noise("git status") and is_noise("pwd")
    assert not is_noise("cat out.json | jq .") and not is_noise("git push origin main")


def test_words_keep_quotes() -> None:
    assert words('aws logs filter --filter-pattern "Task timed out" --x') == [
        "aws",
        "logs",
        "filter",
        "--filter-pattern",
        '"Task timed out"',
        "--x",
    ]


def test_unterminated_continuation_and_garbage_never_raise() -> None:
    assert split_block("docker build \\") == [split_block("docker build")[0]]
    assert [(c.command, c.line_offset) for c in split_block("\x00\x00\n\\\n$")] == [("\x00\x00", 0), ("$", 2)]


# --- commands through a real bash grammar -------------------------------------------------------------------


def test_sql_in_mysql_e_over_several_lines_is_one_command() -> None:
    block = """# find the stuck jobs
mysql -h db.internal -u ops -p -e "
SELECT id, status, updated_at
FROM jobs
WHERE status = 'processing'
  AND updated_at < NOW() - INTERVAL 1 HOUR;
"
mysql -h db.internal -u ops -p -e "UPDATE jobs SET status = 'queued' WHERE id = 42;"
"""
    commands = split_block(block)
    assert [c.command for c in commands] == [
        'mysql -h db.internal -u ops -p -e "\nSELECT id, status, updated_at\nFROM jobs\n'
        "WHERE status = 'processing'\n  AND updated_at < NOW() - INTERVAL 1 HOUR;\n\"",
        "mysql -h db.internal -u ops -p -e \"UPDATE jobs SET status = 'queued' WHERE id = 42;\"",
    ]
    assert [(c.line_offset, c.line_count) for c in commands] == [(1, 6), (7, 1)]


def test_heredoc_keeps_its_body_and_the_next_command_its_line() -> None:
    block = """cat <<'EOF' > values.yaml
replicas: 3
# this is yaml, not a shell comment
image: api:abc1234
EOF
helm upgrade api ./chart -f values.yaml"""
    commands = split_block(block)
    assert [c.command for c in commands] == [
        "cat <<'EOF' > values.yaml\nreplicas: 3\n# this is yaml, not a shell comment\nimage: api:abc1234\nEOF",
        "helm upgrade api ./chart -f values.yaml",
    ]
    assert commands[1].line_offset == 5


def test_multi_line_python_c_is_one_command() -> None:
    block = """python3 -c "
import json
state = json.load(open('function.json'))['Configuration']['State']
print(state)
"
aws lambda wait function-updated --function-name report_worker"""
    commands = split_block(block)
    assert len(commands) == 2
    assert commands[0].command.startswith('python3 -c "\nimport json\n')
    assert commands[0].command.endswith('print(state)\n"')
    assert commands[1].line_offset == 5


def test_if_then_fi_over_lines_is_one_command_without_its_comments() -> None:
    block = """if ! systemctl is-active --quiet nginx; then
  # it crashed again
  sudo systemctl restart nginx   # restart it
fi
curl -sf http://localhost/health"""
    commands = split_block(block)
    assert [c.command for c in commands] == [
        "if ! systemctl is-active --quiet nginx; then\n  sudo systemctl restart nginx\nfi",
        "curl -sf http://localhost/health",
    ]
    assert commands[1].line_offset == 4


def test_for_case_and_function_are_one_command_each() -> None:
    block = """for host in web-1 web-2 web-3; do
  ssh "$host" 'sudo systemctl reload nginx'
done
case "$ENVIRONMENT" in
  prod) export AWS_PROFILE=prod ;;
  *) export AWS_PROFILE=dev ;;
esac
drain() {
  kubectl drain "$1" --ignore-daemonsets --delete-emptydir-data
}
(cd infra && terraform plan -out plan.tfplan)
{ date; uptime; } > status.txt"""
    commands = split_block(block)
    assert [c.command.split("\n")[0] for c in commands] == [
        "for host in web-1 web-2 web-3; do",
        'case "$ENVIRONMENT" in',
        "drain() {",
        "(cd infra && terraform plan -out plan.tfplan)",
        "{ date; uptime; } > status.txt",
    ]
    assert [c.line_offset for c in commands] == [0, 3, 7, 10, 11]
    assert commands[0].command.endswith("\ndone")


def test_git_commit_with_a_bulleted_message_is_one_command() -> None:
    block = """git add src/worker.py
git commit -m "Fix retry storm in report worker

- back off exponentially between attempts
- log the attempt number"
git push origin fix/retry-storm"""
    commands = split_block(block)
    assert [c.command.split("\n")[0] for c in commands] == [
        "git add src/worker.py",
        'git commit -m "Fix retry storm in report worker',
        "git push origin fix/retry-storm",
    ]
    assert '- log the attempt number"' in commands[1].command
    assert not looks_like_command("- back off exponentially between attempts")


def test_continuations_are_joined_with_one_space() -> None:
    block = "docker build \\\n    --platform linux/amd64 \\\n    -t api:abc1234 . &&\n  docker push api:abc1234 |\n  tee push.log"
    assert [c.command for c in split_block(block)] == [
        "docker build --platform linux/amd64 -t api:abc1234 . && docker push api:abc1234 | tee push.log"
    ]


def test_statements_on_one_line_stay_together() -> None:
    commands = split_block("cd infra; terraform init\nterraform apply -auto-approve")
    assert [c.command for c in commands] == ["cd infra; terraform init", "terraform apply -auto-approve"]


def test_angle_bracket_placeholders_are_words_not_redirections() -> None:
    block = "for pod in <pod-a> <pod-b>; do\n  kubectl logs <namespace>/$pod\ndone"
    assert [c.command for c in split_block(block)] == [block]
    assert looks_like_command("kubectl logs <pod-name>")


def test_bullets_arrows_and_diagrams_in_a_bash_fence_are_not_commands() -> None:
    block = """kubectl rollout undo deployment/api -n prod
- wait until every pod is Ready
client -> api-gateway -> lambda
┌─────┐
│ api │
kubectl rollout status deployment/api -n prod"""
    commands = split_block(block)
    assert [c.command for c in commands] == [
        "kubectl rollout undo deployment/api -n prod",
        "kubectl rollout status deployment/api -n prod",
    ]
    assert commands[0].output == "- wait until every pod is Ready\nclient -> api-gateway -> lambda\n┌─────┐\n│ api │"


def test_a_broken_quote_costs_only_its_own_line() -> None:
    block = "kubectl get pods -n prod\necho \"it's broken\nkubectl rollout restart deployment/api -n prod"
    commands = split_block(block)
    assert [(c.command, c.line_offset) for c in commands] == [
        ("kubectl get pods -n prod", 0),
        ("echo \"it's broken", 1),
        ("kubectl rollout restart deployment/api -n prod", 2),
    ]


def test_console_prompts_with_host_and_continuation_lines() -> None:
    block = """ubuntu@ip-10-0-1-12:~$ cat <<EOF > /tmp/probe.sh
> curl -sf http://localhost:8080/health
> EOF
ubuntu@ip-10-0-1-12:~$ npm run build

> api@1.4.0 build
> tsc -p .

[me@bastion ~]$ psql "$DATABASE_URL" -c 'select 1'
 ?column?
----------
        1"""
    commands = split_block(block)
    assert [c.command for c in commands] == [
        "cat <<EOF > /tmp/probe.sh\ncurl -sf http://localhost:8080/health\nEOF",
        "npm run build",
        "psql \"$DATABASE_URL\" -c 'select 1'",
    ]
    assert [c.line_offset for c in commands] == [0, 3, 8]
    assert commands[1].output == "> api@1.4.0 build\n> tsc -p ."
    assert commands[2].output.endswith("        1")


def test_root_prompt_in_a_console_block() -> None:
    block = "# apt-get update\nHit:1 http://archive.ubuntu.com/ubuntu jammy InRelease\n# systemctl restart nginx\n"
    commands = split_block(block, console=True)
    assert [c.command for c in commands] == ["apt-get update", "systemctl restart nginx"]
    assert commands[0].output.startswith("Hit:1")


def test_diagram_in_an_untagged_fence_is_not_shell() -> None:
    diagram = """┌────────┐      ┌──────────┐
│  API   │ ───► │  Worker  │
└────────┘      └──────────┘"""
    ascii_diagram = "client -> api-gateway -> lambda\n+--------+\n| queue  |\n+--------+"
    assert not is_shell_block("", diagram)
    assert not is_shell_block("", ascii_diagram)
    assert is_shell_block("", "aws sqs purge-queue --queue-url $QUEUE_URL\n./scripts/replay.sh dlq")
    assert is_shell_block("console", "$ ls") and not is_shell_block("sql", "SELECT 1;")


def test_fence_languages() -> None:
    for shell in ("bash", "sh", "shell", "zsh", "console", "shell-session", "terminal", "Bash"):
        assert is_shell_language(shell), shell
    for other in ("sql", "python", "json", "yaml", "text", "diff", "hcl", "ini", "toml", "log", "mermaid", ""):
        assert not is_shell_language(other), other
    assert is_console_language("console") and is_console_language("shell-session")
    assert not is_console_language("bash")


def test_looks_like_command_only_for_commands_of_plausible_programs() -> None:
    commands = [
        "aws lambda update-function-code --function-name report_worker",
        "$ kubectl get pods -n prod",
        "./scripts/rotate-keys.sh",
        "bin/rails db:migrate",
        "dr deploy prod",
        "mytool --dry-run",
        "sudo systemctl restart nginx",
        "grep -r TimeoutError logs/",
        "export AWS_PROFILE=prod",
    ]
    not_commands = [
        "report_worker",
        "terraform",
        "restart the service",
        "api -> worker -> db",
        "request → queue",
        "=> 200 OK",
        "│ api │",
        "+--------+",
        "| step | command |",
        "- Bump the timeout to 30s",
        "1. Roll back the deploy",
        "/etc/nginx/nginx.conf",
        "Then restart it.",
    ]
    assert [c for c in commands if not looks_like_command(c)] == []
    assert [c for c in not_commands if looks_like_command(c)] == []


def test_ten_thousand_commands_split_quickly() -> None:
    block = "\n".join(f"aws s3 cp s3://backups/db-{i}.sql.gz ./restore/ --region us-east-1" for i in range(10_000))
    started = time.perf_counter()
    commands = split_block(block)
    elapsed = time.perf_counter() - started
    assert len(commands) == 10_000 and commands[-1].line_offset == 9_999
    assert elapsed < 5, f"{elapsed:.2f}s"  # about a second on one core; quadratic would take minutes


def test_long_blocks_keep_statements_whole_across_parse_windows() -> None:
    manifest = "\n".join(f"  key_{i}: value_{i}" for i in range(1_000))
    block = "\n".join(
        [
            *(f"aws s3 cp s3://backups/part-{i} ." for i in range(398)),
            "if ! aws s3 ls s3://backups/done; then",
            "  aws s3 cp done s3://backups/done",
            "fi; echo finished",
            f"cat <<'EOF' > config.yaml\n{manifest}\nEOF",
            "kubectl apply -f config.yaml",
        ]
    )
    commands = split_block(block)
    assert len(commands) == 398 + 3
    assert commands[398].command == (
        "if ! aws s3 ls s3://backups/done; then\n  aws s3 cp done s3://backups/done\nfi; echo finished"
    )
    assert commands[399].command.count("\n") == 1_001 and commands[399].line_offset == 401
    assert (commands[400].command, commands[400].line_offset) == ("kubectl apply -f config.yaml", 1_403)


def test_a_block_of_prose_tagged_bash_is_still_fast() -> None:
    block = "\n".join(f"Then we restart worker {i} )" for i in range(10_000))
    started = time.perf_counter()
    commands = split_block(block)
    assert len(commands) == 10_000
    assert time.perf_counter() - started < 5


# --- terminal sessions pasted into text-like or untagged fences ------------------------------------------------


def test_text_fence_with_dollar_prompts_is_a_transcript() -> None:
    block = "$ kubectl -n payments get pods\nNAME   READY\napi-1  1/1\n$ kubectl -n payments delete pod api-1\n"
    assert is_shell_block("text", block) and is_shell_block("txt", block) and is_shell_block("output", block)
    commands = split_block(block)
    assert [(c.command, c.line_offset, c.output) for c in commands] == [
        ("kubectl -n payments get pods", 0, "NAME   READY\napi-1  1/1"),
        ("kubectl -n payments delete pod api-1", 3, ""),
    ]


def test_text_fence_with_user_at_host_prompts_keeps_each_commands_output() -> None:
    block = """ops@bastion:~$ kubectl -n payments get pods
NAME                        READY   STATUS    RESTARTS   AGE
payments-7d9c9b7f6d-2xkqp   1/1     Running   0          3d
ops@bastion:~$ kubectl -n payments rollout restart deploy/payments
deployment.apps/payments restarted"""
    assert is_shell_block("text", block)
    commands = split_block(block)
    assert [c.command for c in commands] == [
        "kubectl -n payments get pods",
        "kubectl -n payments rollout restart deploy/payments",
    ]
    assert commands[0].output.splitlines()[1].startswith("payments-7d9c9b7f6d-2xkqp")
    assert commands[1].output == "deployment.apps/payments restarted"


def test_text_fence_with_angle_prompts_is_a_transcript() -> None:
    block = """> az postgres flexible-server show --resource-group rg-data --name pg-prod --query state -o tsv
Ready
> flyway -configFiles=conf/prod.conf info
| Versioned | 277 | add invoice totals | Pending |"""
    for language in ("text", "plaintext", "output", "terminal", "console", ""):
        assert is_shell_block(language, block), language
    commands = split_block(block)
    assert [(c.command, c.line_offset, c.output) for c in commands] == [
        ("az postgres flexible-server show --resource-group rg-data --name pg-prod --query state -o tsv", 0, "Ready"),
        ("flyway -configFiles=conf/prod.conf info", 2, "| Versioned | 277 | add invoice totals | Pending |"),
    ]
    # one `> ` line is enough when it opens the block
    assert [c.command for c in split_block("> kubectl get pods -n prod\nNAME   READY")] == ["kubectl get pods -n prod"]


def test_every_kind_of_prompt_in_a_text_fence() -> None:
    prompts = ["$ ", "% ", "user@host:~$ ", "[me@host dir]$ ", "(venv) $ ", "❯ ", "root@host:/# ", "PS C:\\> ", "PS> "]
    for prompt in prompts:
        block = f"{prompt}systemctl restart nginx\nok\n{prompt}journalctl -u nginx -n 5\n-- No entries --"
        assert is_shell_block("text", block), prompt
        commands = split_block(block)
        assert [(c.command, c.output) for c in commands] == [
            ("systemctl restart nginx", "ok"),
            ("journalctl -u nginx -n 5", "-- No entries --"),
        ], prompt


def test_text_fence_without_prompts_stays_output() -> None:
    for block in (
        "kubectl rollout restart deploy/api -n prod\nkubectl rollout status deploy/api -n prod",
        "kubectl get pods -n prod\nNAME   READY\napi-1  1/1",
        "Ready\n| Versioned | 277 | add invoice totals | Pending |",
        "> We saw the error again yesterday.\n> Please restart the service.",
        "> api@1.4.0 build\n> tsc -p .",
        "> GET /health HTTP/1.1\n> Host: api.example.com\n> Accept: */*\n< HTTP/1.1 200 OK",
        "Deploy finished\nsee the run log\n> kubectl get pods -n prod\ndone",
    ):
        for language in ("text", "txt", "plain", "plaintext", "output"):
            assert not is_shell_block(language, block), (language, block)


def test_code_fences_with_prompts_are_never_commands() -> None:
    angle = "> SELECT id FROM jobs WHERE status = 'stuck';\n> kubectl get pods -n prod\n> kubectl get svc -n prod"
    dollar = "$ kubectl get pods -n prod\nNAME   READY"
    for language in ("sql", "yaml", "json", "python", "hcl", "diff", "log", "mermaid", "ini"):
        assert not is_shell_block(language, angle), language
        assert not is_shell_block(language, dollar), language


def test_angle_line_after_an_unfinished_command_continues_it() -> None:
    block = """> kubectl -n prod exec api-0 -- sh -c "nc -z db 5432 &&
> echo reachable"
reachable
> docker build \\
>   -t api:abc1234 .
Successfully built
> for host in web-1 web-2; do
>   ssh "$host" uptime
> done
 10:00 up 3 days"""
    assert is_shell_block("text", block)
    commands = split_block(block)
    assert [(c.command, c.line_offset, c.output) for c in commands] == [
        ('kubectl -n prod exec api-0 -- sh -c "nc -z db 5432 &&\necho reachable"', 0, "reachable"),
        ("docker build -t api:abc1234 .", 3, "Successfully built"),
        ('for host in web-1 web-2; do\n  ssh "$host" uptime\ndone', 6, " 10:00 up 3 days"),
    ]


def test_angle_lines_stay_continuations_or_output_where_they_are_not_the_prompt() -> None:
    # bash's own continuation prompt after an unprompted first line: still one `for` loop of a script
    loop = 'for host in web-1 web-2; do\n> ssh "$host" uptime\n> done'
    assert [c.command for c in split_block(loop)] == [c.command for c in split_block(loop, console=False)]
    heredoc = "cat <<EOF > notes.md\n> kubectl get pods\n> kubectl get svc\nEOF"
    assert [c.command for c in split_block(heredoc)] == [heredoc]
    # where `$ ` is the prompt, `> ` lines are output (npm's) and continuations
    block = '$ npm run build\n> api@1.4.0 build\n> tsc -p .\n$ git commit -m "one\n> two"\n'
    assert [(c.command, c.output) for c in split_block(block, console=True)] == [
        ("npm run build", "> api@1.4.0 build\n> tsc -p ."),
        ('git commit -m "one\ntwo"', ""),
    ]
    # with `> ` prompts, a `> ` line the output quotes is output
    quoted = "> kubectl -n prod logs api-0 --tail 2\n> Retrying in 5s.\nconnection refused"
    assert [(c.command, c.output) for c in split_block(quoted)] == [
        ("kubectl -n prod logs api-0 --tail 2", "> Retrying in 5s.\nconnection refused")
    ]
