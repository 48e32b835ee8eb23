"""Markdown through a CommonMark parser: blocks where real notes put them, headings by meaning, lines kept."""

from __future__ import annotations

import pytest

from runbook_synth.ingest import markdown
from runbook_synth.ingest.headings import (
    Meaning,
    find_meaning,
    find_meanings,
    heading_meanings_markdown_table,
    meanings_of,
)
from runbook_synth.ingest.markdown import Block

NOTE = """# Deploy report_worker

1. Build and push the image:
   - on the build box:
     ```bash
     docker build -t api:abc1234 .
     ```
   - then push it:
     ```bash
     docker push api:abc1234
     ```
2. Update the function:

~~~console
$ aws lambda update-function-code --function-name report_worker
~~~

Result
------

| Step | Command |
|------|---------|
| verify | `aws lambda get-function --function-name report_worker` |
"""


def test_fences_under_nested_list_items_and_tildes_keep_their_lines() -> None:
    # body starts on line 4 of the file (after three lines of frontmatter)
    assert markdown.blocks(NOTE, first_line=4) == [
        Block("bash", "docker build -t api:abc1234 .", 9),
        Block("bash", "docker push api:abc1234", 13),
        Block("console", "$ aws lambda update-function-code --function-name report_worker", 18),
    ]


def test_a_fence_indented_too_far_under_a_list_item_is_still_a_block() -> None:
    text = "- Roll back:\n  - pin the previous version\n        ```bash\n        helm rollback api 41\n        ```\n"
    assert markdown.blocks(text) == [Block("bash", "helm rollback api 41", 4)]
    assert markdown.inline_code(text) == []


def test_a_fence_in_a_block_quote() -> None:
    assert markdown.blocks("> Ran this:\n> ```sh\n> make deploy\n> ```\n") == [Block("sh", "make deploy", 3)]


def test_setext_and_atx_headings_of_any_level() -> None:
    titles = [(s.level, s.title, s.line) for s in markdown.sections(NOTE, first_line=4)]
    assert titles == [(0, "", 4), (1, "Deploy report_worker", 5), (2, "Result", 23)]


def test_headings_inside_code_are_not_sections() -> None:
    text = "## Steps\n```bash\n# Expected: ok\n## not a heading\n```\n## Notes\n"
    assert [s.title for s in markdown.sections(text)] == ["", "Steps", "Notes"]
    # a comment at column 0 inside a fence indented under a list item
    loose = "## Steps\n- restart:\n        ```bash\n# as root\n        systemctl restart nginx\n        ```\n"
    assert [s.title for s in markdown.sections(loose)] == ["", "Steps"]
    assert markdown.blocks(loose) == [Block("bash", "# as root\nsystemctl restart nginx", 4)]


def test_a_field_line_above_a_rule_is_not_a_heading() -> None:
    text = "**Date**: 2026-09-10\n---\n## Summary\nDeployed."
    assert [s.title for s in markdown.sections(text)] == ["", "Summary"]
    assert markdown.field(text, "Date") == "2026-09-10"


def test_sections_put_back_together_give_the_text() -> None:
    sections = markdown.sections(NOTE)
    assert markdown.section_with_children_text(sections[1], sections) == (
        "\n".join(NOTE.split("\n")[1:]),
        2,
    )


def test_tables_and_inline_code_in_them() -> None:
    [table] = markdown.tables(NOTE, first_line=4)
    assert table.header == ("Step", "Command")
    assert table.rows == (("verify", "`aws lambda get-function --function-name report_worker`"),)
    assert table.line == 24
    assert markdown.inline_code(NOTE)[-1] == ("aws lambda get-function --function-name report_worker", 22)


def test_inline_code_on_the_second_line_of_a_paragraph() -> None:
    text = "Checked the alias first\nwith `aws lambda get-alias --name live`, then\n```\n`not inline`\n```"
    assert markdown.inline_code(text) == [("aws lambda get-alias --name live", 1)]


def test_fields_and_blocks_after_a_field_ignore_code() -> None:
    template = "```markdown\n**Date**: YYYY-MM-DD\n```\n**Date**: 2026-09-10"
    assert markdown.field(template, "Date") == "2026-09-10"
    text = """**Operation**: deploy
**Input**:
```bash
echo '**Output**: not a field'
make deploy
```
**Output**:
```
done
```"""
    assert markdown.field(text, "Output") == ""
    assert markdown.blocks_after_field(text, "Input", 10) == [
        Block("bash", "echo '**Output**: not a field'\nmake deploy", 13)
    ]
    assert markdown.blocks_after_field(text, "Output", 10) == [Block("", "done", 18)]


def test_find_section_ignores_numbering_and_emphasis() -> None:
    sections = markdown.sections("## 2. **Tool Calls**\n### Bash\n## Side Effects:\n")
    found = markdown.find_section(sections, "Tool Calls")
    assert found is not None and found.title == "2. **Tool Calls**"
    side = markdown.find_section(sections, "Side Effects")
    assert side is not None and side.level == 2


def test_each_text_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    parse = markdown._PARSER.parse
    monkeypatch.setattr(markdown._PARSER, "parse", lambda src, env=None: calls.append(src) or parse(src, env))
    body = "## Symptom\nTimeouts `aws logs tail /aws/lambda/api`\n```\nTask timed out after 30.00 seconds\n```\nunique-8d1c"
    markdown.sections(body)
    markdown.blocks(body)
    markdown.field(body, "Date")
    markdown.prose(body)
    markdown.inline_code(body)
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("heading", "meaning"),
    [
        ("Symptom", Meaning.SYMPTOMS),
        ("Symptoms Observed", Meaning.SYMPTOMS),
        ("Error Messages:", Meaning.SYMPTOMS),
        ("What went wrong", Meaning.SYMPTOMS),
        ("Observed behavior", Meaning.SYMPTOMS),
        ("3. Root cause", Meaning.ROOT_CAUSE),
        ("**The Root Cause**", Meaning.ROOT_CAUSE),
        ("Identified cause", Meaning.ROOT_CAUSE),
        ("What fixed it", Meaning.FIX),
        ("Workaround (temporary)", Meaning.FIX),
        ("Step 4: Mitigation", Meaning.FIX),
        ("Lessons learned", Meaning.PREVENTION),
        ("Follow-up", Meaning.PREVENTION),
        ("Background", Meaning.CONTEXT),
    ],
)
def test_headings_by_meaning(heading: str, meaning: Meaning) -> None:
    assert meanings_of(heading) == {meaning}


def test_headings_that_only_share_a_word_mean_nothing() -> None:
    assert meanings_of("Error Handling Improvements") == frozenset()
    assert meanings_of("Fix the flaky test next sprint") == frozenset()
    assert meanings_of("Root Cause & Fix") == {Meaning.ROOT_CAUSE, Meaning.FIX}


def test_symptom_heading_found_as_symptoms() -> None:
    body = """# report_worker timeouts

## Symptom
Every request to /reports took 30s and failed.

## Errors
```
Task timed out after 30.00 seconds
```

## Root cause
The DB pool was exhausted.
"""
    sections = markdown.sections(body)
    symptoms = find_meaning(sections, Meaning.SYMPTOMS)
    assert symptoms is not None and symptoms.title == "Symptom" and symptoms.line == 4
    assert [s.title for s in find_meanings(sections, Meaning.SYMPTOMS)] == ["Symptom", "Errors"]
    cause = find_meaning(sections, Meaning.ROOT_CAUSE)
    assert cause is not None and markdown.prose(cause.text) == "The DB pool was exhausted."
    assert find_meaning(sections, Meaning.PREVENTION) is None


def test_heading_table_for_the_readme() -> None:
    table = heading_meanings_markdown_table()
    assert table.startswith("| Meaning | Headings read as it |\n|---|---|\n")
    assert "| symptoms | Symptom, Symptoms, Symptoms Observed, Error, Errors," in table
