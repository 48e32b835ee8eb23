"""Property tests: whatever the text, parsers return a result or raise our own error, never anything else."""

from __future__ import annotations

import tree_sitter_bash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tree_sitter import Language, Parser

from runbook_synth.durations import parse_duration
from runbook_synth.errors import RunbookSynthError
from runbook_synth.ingest import markdown
from runbook_synth.ingest.local import parse_source
from runbook_synth.normalize import command_key, error_key, template_commands
from runbook_synth.shell import parses_cleanly, split_block, words

MARKDOWNISH = st.lists(
    st.sampled_from([*"-`~#*:[]{}$\\|&; \n\r\t\x00aAzZ09=/.\"'é漢", "```", "---\n", "\n## ", "**Input**:", "\n$ "]),
    max_size=120,
).map("".join)
ANY_TEXT = st.one_of(st.text(max_size=300), MARKDOWNISH)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(ANY_TEXT)
def test_markdown_helpers_never_raise(text: str) -> None:
    sections = markdown.sections(text)
    assert sections and sum(len(section.lines) for section in sections) <= text.count("\n") + 1
    markdown.blocks(text)
    markdown.prose(text)
    markdown.field(text, "Input")
    markdown.inline_code(text)


@FAST
@given(ANY_TEXT, st.sampled_from(["", "---\n", "---\nmode: execution\n---\n", "---\ntags: [a\n---\n"]))
def test_parse_source_returns_or_raises_our_error(text: str, prefix: str) -> None:
    for path in (".claude/observations/2026-09-01/execution-1-x.md", ".claude/journals/error/2026-09-01-x.md"):
        try:
            observation = parse_source(path, prefix + text)
        except RunbookSynthError:
            continue
        assert observation.path == path
        for command in observation.commands:
            assert command.provenance.line >= 0


@FAST
@given(ANY_TEXT)
def test_tokenizer_never_raises_and_commands_are_stripped_and_in_order(text: str) -> None:
    line_count = text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
    for console in (None, True, False):
        offsets = []
        for command in split_block(text, console=console):
            assert command.command and command.command == command.command.strip()
            assert command.line_count >= 1 and command.line_offset + command.line_count <= line_count
            offsets.append(command.line_offset)
        assert offsets == sorted(offsets)
    words(text)
    command_key(text)
    error_key(text)


# Statements as people paste them into bash fences; each parses on its own.
SHELL_STATEMENTS = st.sampled_from(
    [
        "aws lambda update-function-code --function-name report_worker --zip-file fileb://build.zip",
        "docker build \\\n  --platform linux/amd64 \\\n  -t api:abc1234 .",
        "kubectl rollout status deployment/api -n prod &&\n  kubectl get pods -n prod | grep api",
        "cat <<'EOF' > values.yaml\nreplicas: 3\n# yaml, not a comment\nEOF",
        "mysql -h db.internal -e \"\nSELECT id, status\nFROM jobs\nWHERE status = 'stuck';\n\"",
        "python3 -c \"\nimport json\nprint(json.load(open('f.json'))['State'])\n\"",
        "if ! systemctl is-active --quiet nginx; then\n  # restart it\n  sudo systemctl restart nginx\nfi",
        'for host in web-1 web-2; do\n  ssh "$host" uptime\ndone',
        'case "$ENV" in\n  prod) export AWS_PROFILE=prod ;;\n  *) export AWS_PROFILE=dev ;;\nesac',
        "restart_api() {\n  docker compose restart api\n}",
        "(cd infra && terraform plan -out plan.tfplan)",
        "{ date; uptime; } > status.txt",
        'git commit -m "Fix retry storm\n\n- back off exponentially\n- log the attempt"',
        "while ! curl -sf http://localhost:8080/health; do sleep 2; done",
        "export AWS_PROFILE=prod",
        "psql \"$DATABASE_URL\" -c 'select 1'  # check connectivity",
        "aws lambda invoke --function-name <function-name> out.json",
        "nohup ./scripts/replay.sh dlq > replay.log 2>&1 &",
    ]
)
SHELL_BLOCKS = st.lists(
    st.one_of(SHELL_STATEMENTS, st.sampled_from(["", "# a comment", "  # indented comment", "# Expected: ok"])),
    min_size=1,
    max_size=12,
).map("\n".join)


def _tree_sitter_errors(text: str) -> bool:
    return Parser(Language(tree_sitter_bash.language())).parse(text.encode()).root_node.has_error


@FAST
@given(SHELL_BLOCKS)
def test_splitter_emits_only_commands_that_parse(block: str) -> None:
    assert not _tree_sitter_errors(block.replace("<function-name>", "_function-name_"))
    for command in split_block(block):
        assert parses_cleanly(command.command), command.command


@FAST
@given(SHELL_BLOCKS)
def test_splitter_never_loses_a_line_and_points_at_first_lines(block: str) -> None:
    lines = block.split("\n")
    commands = split_block(block)
    covered: set[int] = set()
    for command in commands:
        covered.update(range(command.line_offset, command.line_offset + command.line_count))
        assert lines[command.line_offset].split()[0] == command.command.split()[0]
    offsets = [command.line_offset for command in commands]
    assert offsets == sorted(set(offsets))
    for index, line in enumerate(lines):
        if line.strip() and not line.strip().startswith("#"):
            assert index in covered, (index, line)


CONSOLE_TURNS = st.lists(
    st.tuples(
        st.sampled_from(["$ ", "ubuntu@ip-10-0-1-12:~$ ", "(venv) $ ", "[me@bastion ~]$ "]),
        st.sampled_from(
            [
                "kubectl get pods -n prod",
                "cat <<EOF > probe.sh\n> curl -sf localhost:8080/health\n> EOF",
                'git commit -m "Fix retry\n> \n> - back off"',
                "npm run build",
            ]
        ),
        st.lists(st.sampled_from(["NAME   READY   STATUS", "api-1  1/1     Running", "> api@1.4.0 build"]), max_size=3),
    ),
    min_size=1,
    max_size=6,
)


@FAST
@given(CONSOLE_TURNS)
def test_console_output_goes_to_the_command_above(turns: list[tuple[str, str, list[str]]]) -> None:
    lines: list[str] = []
    expected: list[tuple[int, str]] = []
    for prompt, command, output in turns:
        expected.append((len(lines), "\n".join(output)))
        lines.extend((prompt + command).split("\n"))
        lines.extend(output)
    commands = split_block("\n".join(lines))
    assert [(c.line_offset, c.output) for c in commands] == expected


@FAST
@given(ANY_TEXT)
def test_sections_partition_the_text_and_blocks_stay_inside_it(text: str) -> None:
    sections = markdown.sections(text, first_line=1)
    rebuilt = [line for section in sections for line in (*section.heading_lines, *section.lines)]
    assert rebuilt == text.split("\n")
    total = text.count("\n") + 1
    for block in markdown.blocks(text):
        assert 1 <= block.line <= total + 1


@FAST
@given(st.text(max_size=120))
def test_duration_parser_returns_a_non_negative_number_or_none(text: str) -> None:
    value = parse_duration(text)
    assert value is None or value >= 0


@FAST
@given(st.lists(st.text(max_size=80), min_size=1, max_size=5))
def test_template_miner_is_total_and_deterministic(commands: list[str]) -> None:
    instances = list(enumerate(commands))
    first = template_commands(instances)
    assert first == template_commands(instances)
    for parameter in first.parameters:
        assert "{" + parameter.name + "}" in first.template


def test_huge_line_and_nul_bytes() -> None:
    text = "---\nmode: execution\n---\n```bash\ndocker " + "x\x00" * 200_000 + "\n```\n"
    observation = parse_source(".claude/observations/x.md", text)
    assert len(observation.commands) == 1


def test_yaml_bomb_and_deep_nesting_return_or_raise_our_error() -> None:
    from runbook_synth.ingest.files import split_frontmatter

    bomb = (
        "---\na: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{chr(98 + level)}: &{chr(98 + level)} [{', '.join(['*' + chr(97 + level)] * 9)}]\n" for level in range(8)
        )
        + "tags: *i\ncontext: *i\n---\nbody\n"
    )
    document = split_frontmatter(bomb, "bomb.md")
    observation = parse_source(".claude/observations/bomb.md", bomb)
    assert observation.tags == () and observation.context == "" and document.body == "body\n"
    deep = "---\nx: " + "[" * 20_000 + "]" * 20_000 + "\n---\nbody\n"
    try:
        split_frontmatter(deep, "deep.md")
    except RunbookSynthError as error:
        assert str(error).startswith("deep.md: frontmatter")


@FAST
@given(st.text(alphabet="abcdefABCDEF0123456789 -:.xyzGHsha256TZ/_v%\n", max_size=80))
def test_mask_text_is_every_mask_in_order(text: str) -> None:
    """mask_text skips the masks a text cannot hold (no digit, no run of eight hex characters) and memoises
    short texts; the result must be what applying every mask in order gives."""
    from runbook_synth.normalize import MASKS, mask_text

    for style in ("{%s}", "<%s>"):
        expected = text
        for mask in MASKS:
            expected = mask.pattern.sub(style % mask.name, expected)
        assert mask_text(text, style) == expected
