"""Property tests: whatever the text, parsers return a result or raise our own error, never anything else."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbook_synth.durations import parse_duration
from runbook_synth.errors import RunbookSynthError
from runbook_synth.ingest import markdown
from runbook_synth.ingest.local import parse_source
from runbook_synth.normalize import command_key, error_key, template_commands
from runbook_synth.shell import split_block, words

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
def test_tokenizer_never_raises_and_commands_are_single_line(text: str) -> None:
    for console in (None, True, False):
        for command in split_block(text, console=console):
            assert "\n" not in command.command and command.command == command.command.strip()
    words(text)
    command_key(text)
    error_key(text)


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
